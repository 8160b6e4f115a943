"""Imports every command module so each registers itself on the root app."""

from neurotrade.cli import (
    _audit,  # noqa: F401
    _backtest,  # noqa: F401
    _data,  # noqa: F401
    _indicators,  # noqa: F401
    _init,  # noqa: F401
    _models,  # noqa: F401
    _paper,  # noqa: F401
    _report,  # noqa: F401
    _run,  # noqa: F401
    _search,  # noqa: F401
    _serve,  # noqa: F401
)
