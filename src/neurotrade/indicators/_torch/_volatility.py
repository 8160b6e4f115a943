"""Torch forms of the range and volatility indicators: TRANGE, ATR, NATR, VAR, STDDEV, BBANDS, MIDPOINT, MIDPRICE."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import lag, rolling_max, rolling_min, seeded_scan, window_mean
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def true_range(x: Inputs) -> torch.Tensor:
    """Wilder's true range of every bar (column 0, which has no previous close, is 0)."""
    high, low = x["high"], x["low"]
    prev = lag(x["close"], 1)
    out = torch.maximum(torch.maximum(high - low, (prev - high).abs()), (prev - low).abs())
    out[:, :1] = 0.0
    return out


def wilder_atr(x: Inputs, n: int) -> torch.Tensor:
    """TA-Lib's ATR: the mean of the first ``n`` true ranges at column ``n``, then ``k * atr + (1 - k) * tr``."""
    tr = true_range(x)
    keep = (n - 1.0) / n
    seed = tr[:, 1 : n + 1].sum(dim=1) / n
    return seeded_scan(tr * (1.0 - keep), keep, seed, n)


@torch_form("trange")
def _trange(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [true_range(x)]


@torch_form("atr")
def _atr(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [wilder_atr(x, int(p["period"]))]


@torch_form("natr")
def _natr(x: Inputs, p: Params) -> list[torch.Tensor]:
    close = x["close"]
    zero = close == 0.0
    atr = wilder_atr(x, int(p["period"]))
    return [torch.where(zero, 0.0, (atr / torch.where(zero, 1.0, close)) * 100.0)]


def variance(close: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The window's mean and population variance, the variance from deviations to the window's own mean.

    The kernels keep running sums about a shift that they re-centre before cancellation costs more than 1e-6 of
    the mean square; two passes over the window give the variance to rounding directly, which is what lets
    float32 stay within 1e-4 of them (one pass, ``E[x^2] - E[x]^2`` in float32, loses ~1e-3 at a price of 100).
    """
    mean = window_mean(close, n)
    total = torch.zeros_like(close)
    for k in range(n):
        total += (lag(close, k) - mean).square()
    return mean, total / n


@torch_form("var")
def _var(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [variance(x["close"], int(p["period"]))[1]]


@torch_form("stddev")
def _stddev(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [variance(x["close"], int(p["period"]))[1].sqrt() * float(p["nbdev"])]


@torch_form("bbands")
def _bbands(x: Inputs, p: Params) -> list[torch.Tensor]:
    middle, var = variance(x["close"], int(p["period"]))
    deviation = var.sqrt()
    up, down = float(p["nbdev_up"]), float(p["nbdev_down"])
    return [middle + deviation * up, middle, middle - deviation * down]


@torch_form("midpoint")
def _midpoint(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    return [(rolling_max(x["close"], n) + rolling_min(x["close"], n)) / 2.0]


@torch_form("midprice")
def _midprice(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    return [(rolling_max(x["high"], n) + rolling_min(x["low"], n)) / 2.0]
