"""One router per resource; every one but health depends on the API key."""
