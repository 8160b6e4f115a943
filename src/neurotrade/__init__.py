"""neurotrade: neural trading strategies from one YAML file, without look-ahead."""

from __future__ import annotations

from neurotrade.errors import NeurotradeError

__version__ = "0.1.0"

__all__ = ["NeurotradeError", "__version__"]
