"""neurotrade as a service (the ``serve`` extra: ``pip install 'neurotrade[serve]'``): a FastAPI app over the
workspace, listening on 127.0.0.1 unless told otherwise, with an API key for everything but ``/health``.

Strategies are validated, training runs, backtests and searches run as jobs (queued in SQLite, run by worker
processes, surviving a restart as ``interrupted``), models are listed, shown, verified and deleted, ``/predict``
runs the decision engine on posted bars, and the paper sessions' state is read.
"""

from neurotrade.serve._app import create_app
from neurotrade.serve._db import Database
from neurotrade.serve._keys import check_key, create_key, list_keys, revoke_key
from neurotrade.serve._settings import ServeSettings

__all__ = ["Database", "ServeSettings", "check_key", "create_app", "create_key", "list_keys", "revoke_key"]
