"""Imports every command module so each registers itself on the root app."""

from neurotrade.cli import _run  # noqa: F401
from neurotrade.cli import _models  # noqa: F401
