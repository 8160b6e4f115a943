"""Torch forms of the channels and bands: Keltner, Donchian, Ichimoku, the acceleration bands, the vortex
indicator and Chaikin's volatility.

Rolling extremes are exact (any order of comparisons finds the same extreme), so Donchian and Ichimoku equal the
kernels bit for bit; the rest agree to rounding.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import ema, lag, rolling_max, rolling_min, rolling_sum, window_mean
from neurotrade.indicators._torch._forms import torch_form
from neurotrade.indicators._torch._volatility import true_range, wilder_atr

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


@torch_form("keltner")
def _keltner(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The EMA of the close, plus and minus a multiple of TA-Lib's ATR.
    middle = ema(x["close"], int(p["period"]))
    width = wilder_atr(x, int(p["atr_period"])) * float(p["multiplier"])
    return [middle + width, middle, middle - width]


def _midrange(x: Inputs, n: int) -> torch.Tensor:
    return (rolling_max(x["high"], n) + rolling_min(x["low"], n)) / 2.0


@torch_form("donchian")
def _donchian(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    upper, lower = rolling_max(x["high"], n), rolling_min(x["low"], n)
    return [upper, (upper + lower) / 2.0, lower]


@torch_form("ichimoku")
def _ichimoku(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Unshifted, as the kernel (causal): the senkou spans are the values a chart would plot ahead.
    tenkan, kijun = _midrange(x, int(p["tenkan"])), _midrange(x, int(p["kijun"]))
    return [tenkan, kijun, (tenkan + kijun) / 2.0, _midrange(x, int(p["senkou"]))]


@torch_form("accbands")
def _accbands(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    high, low = x["high"], x["low"]
    spread = 4.0 * (high - low) / (high + low)
    return [window_mean(high * (1.0 + spread), n), window_mean(x["close"], n), window_mean(low * (1.0 - spread), n)]


@torch_form("vortex")
def _vortex(x: Inputs, p: Params) -> list[torch.Tensor]:
    # |high - previous low| and |low - previous high| over the true range, summed over the window (t >= n, so
    # the first bar, whose terms are 0 here, never enters); 0 for a window without any true range.
    n = int(p["period"])
    high, low = x["high"], x["low"]
    plus = (high - lag(low, 1)).abs()
    minus = (low - lag(high, 1)).abs()
    tr = true_range(x)
    still = rolling_sum((tr == 0.0).to(tr.dtype), n) >= n
    tr_sum = torch.where(still, 1.0, rolling_sum(tr, n))
    return [
        torch.where(still, 0.0, rolling_sum(plus, n) / tr_sum),
        torch.where(still, 0.0, rolling_sum(minus, n) / tr_sum),
    ]


@torch_form("chaikin_volatility")
def _chaikin_volatility(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The rate of change over `roc_period` bars of the EMA of the range; 0 where the earlier EMA is 0.
    n, r = int(p["period"]), int(p["roc_period"])
    average = ema(x["high"] - x["low"], n)
    before = lag(average, r, fill=1.0)
    zero = before == 0.0
    return [torch.where(zero, 0.0, ((average / torch.where(zero, 1.0, before)) - 1.0) * 100.0)]
