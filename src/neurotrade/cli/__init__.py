"""The ``neurotrade`` command line."""

from neurotrade.cli._app import main

__all__ = ["main"]
