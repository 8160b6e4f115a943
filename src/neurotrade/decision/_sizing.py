"""How large a new position is: a share of equity from what the model says at the bar's close, and nothing else.

Every size is capped at ``max_leverage``; a size that comes out <= 0 means the bet cannot be sized (no
volatility estimate, or no edge by Kelly's rule) and the rules veto the entry. The reason string says which
numbers made the size, so a trade in a report can be traced back to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neurotrade.errors import ConfigError

SIZING_MODES = ("fixed", "confidence", "volatility_target", "kelly")


@dataclass(frozen=True)
class Sizer:
    """The sizing rule of a strategy's ``decisions.sizing``.

    - ``fixed``: ``fraction`` of equity;
    - ``confidence``: ``max_leverage * clip((p - base) / (1 - base), 0, 1)``: 0 at a uniform guess (``base``: 1/3
      over three classes, 1/2 for a meta model's act/pass), ``max_leverage`` at certainty;
    - ``volatility_target``: the per-bar target ``target_volatility_pct / 100 / sqrt(periods_per_year)`` over the
      predicted per-bar volatility if finite, else the realised one; no estimate (NaN or <= 0) sizes nothing;
    - ``kelly``: with a finite predicted log return ``mu`` over the label horizon and a volatility (predicted, else
      realised), the continuous Kelly bet ``kelly_fraction * direction * mu / (vol**2 * horizon)``; otherwise
      the discrete one from the probabilities: ``p = p_bet / (p_bet + p_opposite)``, ``f = p - (1 - p) / payoff``,
      size ``kelly_fraction * f``, where ``payoff`` is the win over the loss of a long and ``payoff_short`` of a
      short (default: the same).

    Examples
    --------
    >>> def show(sizer, *bet, **view):
    ...     size, why = sizer.size(*bet, base=1 / 3, **view)
    ...     print(round(size, 6), "|", why)
    >>> show(Sizer("confidence", max_leverage=2.0), +1, 0.6, 0.1)  # (0.6 - 1/3) / (2/3) = 0.4, times 2
    0.8 | confidence 0.80 (p 0.60)
    >>> show(Sizer("kelly", kelly_fraction=0.5, payoff=2.0), +1, 0.5, 0.25)  # p 2/3: f = 2/3 - 1/6
    0.25 | kelly 0.25 (p 0.67, payoff 2.00)
    >>> show(Sizer("kelly", kelly_fraction=0.5), -1, 0.5, 0.2, pred_return=-0.01, pred_vol=0.05)  # 0.5*0.01/0.0025
    1.0 | kelly 1.00 (mu -0.01, vol 0.05 predicted, horizon 1; capped from 2.00 at max_leverage)
    >>> show(Sizer("volatility_target", target_volatility_pct=16.0, periods_per_year=256), -1, 0.7, 0.1,
    ...      realised_vol=0.02)  # 0.01 per bar over 0.02
    0.5 | volatility target 0.50 (vol 0.02 realised)
    >>> show(Sizer("volatility_target", periods_per_year=252), +1, 0.7, 0.1)
    0.0 | no volatility estimate (predicted or realised)
    """

    mode: str = "fixed"
    fraction: float = 1.0
    max_leverage: float = 1.0
    target_volatility_pct: float = 15.0
    periods_per_year: float | None = None
    kelly_fraction: float = 0.5
    payoff: float = 1.0
    horizon: int = 1
    payoff_short: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in SIZING_MODES:
            raise ConfigError(f"unknown sizing {self.mode!r}; choose one of {', '.join(SIZING_MODES)}")
        for name in ("fraction", "max_leverage", "target_volatility_pct", "payoff", "payoff_short"):
            value = getattr(self, name)
            if value is None:
                continue
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"sizing needs {name} > 0, got {value}")
        if not 0 < self.kelly_fraction <= 1:
            raise ConfigError(f"kelly_fraction must be in (0, 1], got {self.kelly_fraction}; 0.5 is half Kelly")
        if self.horizon < 1:
            raise ConfigError(f"the label horizon must be >= 1 bar, got {self.horizon}")
        if self.mode == "volatility_target" and not (self.periods_per_year and self.periods_per_year > 0):
            raise ConfigError(
                "volatility_target sizing needs periods_per_year > 0 (the bars in a year, to make the annual "
                f"target a per-bar one), got {self.periods_per_year}"
            )

    def size(
        self,
        direction: int,
        p: float,
        p_opposite: float,
        *,
        base: float,
        pred_return: float = math.nan,
        pred_vol: float = math.nan,
        realised_vol: float = math.nan,
    ) -> tuple[float, str]:
        """The share of equity of a bet on ``direction`` (+1 long, -1 short), and why.

        Parameters
        ----------
        direction
            +1 or -1: the side of the bet.
        p, p_opposite
            The probability of the bet's class and of the opposite one (a meta model: ``p[BUY]`` and
            ``1 - p[BUY]``).
        base
            The probability of a uniform guess, where ``confidence`` sizing starts from 0.
        pred_return, pred_vol, realised_vol
            The model's predicted log return over the label horizon and per-bar volatility, and a causal
            realised per-bar volatility; NaN where unknown.

        Returns
        -------
        tuple
            ``(size, reason)``: the size in ``[0, max_leverage]`` (0: this bet cannot be sized) and a short text.
        """
        vol, vol_source = _volatility(pred_vol, realised_vol)
        if self.mode == "fixed":
            return self._capped("fixed", self.fraction, "")
        if self.mode == "confidence":
            share = min(max((p - base) / (1.0 - base), 0.0), 1.0)
            return self._capped("confidence", self.max_leverage * share, f"p {p:.2f}")
        if self.mode == "volatility_target":
            if vol is None:
                return 0.0, "no volatility estimate (predicted or realised)"
            per_bar = self.target_volatility_pct / 100.0 / math.sqrt(self.periods_per_year or 1.0)
            return self._capped("volatility target", per_bar / vol, f"vol {vol:.4g} {vol_source}")
        if math.isfinite(pred_return) and vol is not None:
            raw = self.kelly_fraction * direction * pred_return / (vol * vol * self.horizon)
            detail = f"mu {pred_return:.4g}, vol {vol:.4g} {vol_source}, horizon {self.horizon}"
            return self._capped("kelly", raw, detail)
        total = p + p_opposite
        win = p / total if total > 0 else 0.5  # neither side has any probability: a coin toss
        payoff = self.payoff if direction > 0 or self.payoff_short is None else self.payoff_short
        raw = self.kelly_fraction * (win - (1.0 - win) / payoff)
        return self._capped("kelly", raw, f"p {win:.2f}, payoff {payoff:.2f}")

    def _capped(self, name: str, raw: float, detail: str) -> tuple[float, str]:
        size = min(max(raw, 0.0), self.max_leverage)
        notes = [detail] if detail else []
        if raw > self.max_leverage:
            notes.append(f"capped from {raw:.2f} at max_leverage")
        elif raw <= 0:
            notes.append(f"raw {raw:.2f}: no bet")
        return size, f"{name} {size:.2f}" + (f" ({'; '.join(notes)})" if notes else "")


def _volatility(pred_vol: float, realised_vol: float) -> tuple[float | None, str]:
    """The predicted volatility when the model has one, else the realised one; None when neither is usable."""
    vol, source = (pred_vol, "predicted") if math.isfinite(pred_vol) else (realised_vol, "realised")
    return (vol, source) if math.isfinite(vol) and vol > 0 else (None, source)
