"""What each fill costs: commission (percent and fixed) and slippage."""

from __future__ import annotations

import math
from dataclasses import dataclass

from neurotrade.errors import BacktestError

__all__ = ["CostModel"]


@dataclass(frozen=True)
class CostModel:
    """Trading costs applied to every fill.

    Parameters
    ----------
    commission_pct
        Commission in percent of the traded notional (fill price times quantity) per fill:
        ``0.05`` means 0.05 %.
    commission_fixed
        Commission in cash per fill, added to the percentage part.
    slippage_pct
        Slippage in percent of the price, always against the trader: a buy fills at
        ``price * (1 + slippage_pct / 100)``, a sell at ``price * (1 - slippage_pct / 100)``.

    Raises
    ------
    BacktestError
        When a cost is negative, not finite, or a percentage is 100 or more.

    Examples
    --------
    >>> costs = CostModel(commission_pct=0.1, slippage_pct=0.05)
    >>> costs.commission_rate, costs.slippage_rate
    (0.001, 0.0005)
    """

    commission_pct: float = 0.0
    commission_fixed: float = 0.0
    slippage_pct: float = 0.0

    def __post_init__(self) -> None:
        for name in ("commission_pct", "commission_fixed", "slippage_pct"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BacktestError(
                    f"CostModel.{name} must be a number, got {value!r} ({type(value).__name__}); pass e.g. {name}=0.1"
                )
            if not math.isfinite(value) or value < 0:
                raise BacktestError(
                    f"CostModel.{name} must be a finite number >= 0, got {value!r}; "
                    "costs are always paid by the trader, never received"
                )
        for name in ("commission_pct", "slippage_pct"):
            value = getattr(self, name)
            if value >= 100:
                raise BacktestError(
                    f"CostModel.{name} is in percent and must be below 100, got {value!r}; for 0.1 % write {name}=0.1"
                )

    @property
    def commission_rate(self) -> float:
        """``commission_pct`` as a fraction (0.05 % -> 0.0005)."""
        return self.commission_pct / 100.0

    @property
    def slippage_rate(self) -> float:
        """``slippage_pct`` as a fraction (0.05 % -> 0.0005)."""
        return self.slippage_pct / 100.0
