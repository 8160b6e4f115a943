"""The exceptions neurotrade raises on purpose.

Every error a user can fix (a bad file, a wrong key in a strategy, a tampered bundle) is a
:class:`NeurotradeError`. The CLI shows those as one message and exits 2; anything else is a bug
in neurotrade and exits 1. Each message says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BacktestError",
    "ConfigError",
    "DataError",
    "FeatureError",
    "IndicatorError",
    "ModelError",
    "NeurotradeError",
    "SplitError",
    "StoreError",
]


class NeurotradeError(Exception):
    """Base class of every error the user can act on."""


class ConfigError(NeurotradeError):
    """A strategy spec is invalid.

    Parameters
    ----------
    problems
        One line per problem, each already naming ``file:line key.path: what is wrong``.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class DataError(NeurotradeError):
    """OHLCV data breaks the contract, or cannot be read or found."""


class IndicatorError(NeurotradeError):
    """Unknown indicator, or parameters outside what it accepts."""


class FeatureError(NeurotradeError):
    """Features cannot be built, or differ from the ones a model was trained on."""


class SplitError(NeurotradeError):
    """A train/validation/test split cannot be made from the samples available."""


class ModelError(NeurotradeError):
    """A model cannot be built or trained as specified."""


class StoreError(NeurotradeError):
    """A model bundle or data store entry is missing, corrupt or tampered with."""


class BacktestError(NeurotradeError):
    """A backtest cannot be run with the inputs given."""
