"""Torch forms of the moving averages and what is built from them: SMA, EMA, WMA, DEMA, TEMA, TRIMA, ZLEMA, HMA,
T3, the Alligator's SMMAs, MACD, APO, PPO, TRIX, DPO and the price transforms (AVGPRICE, MEDPRICE, TYPPRICE,
WCLPRICE)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import ema, lag, rolling_weighted, seeded_scan, window_mean
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


@torch_form("sma")
def _sma(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [window_mean(x["close"], int(p["period"]))]


@torch_form("ema")
def _ema(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [ema(x["close"], int(p["period"]))]


def _wma(x: torch.Tensor, n: int) -> torch.Tensor:
    """The `wma` indicator's values (weights 1 .. n, newest heaviest), 0 before column ``n - 1``."""
    weights = torch.arange(1, n + 1, dtype=torch.float64, device=x.device) / (n * (n + 1.0) * 0.5)
    return rolling_weighted(x, weights)


@torch_form("wma")
def _wma_form(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [_wma(x["close"], int(p["period"]))]


@torch_form("dema")
def _dema(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    first = ema(x["close"], n)
    second = ema(first, n, start=n - 1)
    return [2.0 * first - second]


@torch_form("tema")
def _tema(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    first = ema(x["close"], n)
    second = ema(first, n, start=n - 1)
    third = ema(second, n, start=2 * (n - 1))
    return [3.0 * first - 3.0 * second + third]


@torch_form("trima")
def _trima(x: Inputs, p: Params) -> list[torch.Tensor]:
    # An SMA of an SMA is one window with triangular weights: 1, 2, .., 2, 1 over `period` bars.
    n = int(p["period"])
    half = n >> 1
    close = x["close"]
    ramp = torch.arange(1, n + 1, dtype=torch.float64, device=close.device)
    weights = torch.minimum(ramp, n + 1 - ramp)
    scale = (half + 1.0) ** 2 if n % 2 == 1 else (half + 1.0) * half
    return [rolling_weighted(close, weights / scale)]


@torch_form("zlema")
def _zlema(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    shift = (n - 1) // 2
    close = x["close"]
    delagged = close + (close - lag(close, shift))
    return [ema(delagged, n, start=shift)]


@torch_form("macd")
def _macd(x: Inputs, p: Params) -> list[torch.Tensor]:
    # TA-Lib seeds the fast EMA over the `fast` bars that end where the slow EMA's first value is.
    fast, slow, signal = int(p["fast"]), int(p["slow"]), int(p["signal"])
    close = x["close"]
    line = ema(close, fast, start=slow - fast) - ema(close, slow)
    trigger = ema(line, signal, start=slow - 1)
    return [line, trigger, line - trigger]


def _oscillator(x: Inputs, p: Params, percent: bool) -> list[torch.Tensor]:
    close = x["close"]
    fast_ema, slow_ema = ema(close, int(p["fast"])), ema(close, int(p["slow"]))
    if not percent:
        return [fast_ema - slow_ema]
    # TA-Lib's TA_IS_ZERO: 0 where the slow EMA is within 1e-14 of 0.
    flat = slow_ema.abs() < 1e-14
    safe = torch.where(flat, torch.ones_like(slow_ema), slow_ema)
    return [torch.where(flat, torch.zeros_like(slow_ema), ((fast_ema - slow_ema) / safe) * 100.0)]


@torch_form("apo")
def _apo(x: Inputs, p: Params) -> list[torch.Tensor]:
    return _oscillator(x, p, False)


@torch_form("ppo")
def _ppo(x: Inputs, p: Params) -> list[torch.Tensor]:
    return _oscillator(x, p, True)


@torch_form("avgprice")
def _avgprice(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [(x["high"] + x["low"] + x["close"] + x["open"]) / 4.0]


@torch_form("medprice")
def _medprice(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [(x["high"] + x["low"]) / 2.0]


@torch_form("typprice")
def _typprice(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [(x["high"] + x["low"] + x["close"]) / 3.0]


@torch_form("wclprice")
def _wclprice(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [(x["high"] + x["low"] + x["close"] * 2.0) / 4.0]


@torch_form("hma")
def _hma(x: Inputs, p: Params) -> list[torch.Tensor]:
    # WMA(isqrt(n)) of 2 * WMA(n // 2) - WMA(n); its first window starts at column n - 1, the first WMA(n), so
    # the zeros before that never reach an output past the warm-up.
    n = int(p["period"])
    close = x["close"]
    return [_wma(2.0 * _wma(close, n // 2) - _wma(close, n), math.isqrt(n))]


@torch_form("t3")
def _t3(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Six chained EMAs, EMA j starting where EMA j - 1's first value is; mixed with TA-Lib's coefficients.
    n, v = int(p["period"]), float(p["vfactor"])
    v2 = v * v
    c1 = 0.0 - v2 * v
    c2 = (v2 - c1) * 3.0
    c3 = v2 * -6.0 - (v - c1) * 3.0
    c4 = 3.0 * v2 + (3.0 * v + 1.0 - c1)
    e = [x["close"]]
    for j in range(6):
        e.append(ema(e[-1], n, start=j * (n - 1)))
    return [c4 * e[3] + c3 * e[4] + c1 * e[6] + c2 * e[5]]


def _ema_change(x: torch.Tensor, e: torch.Tensor, dx: torch.Tensor, n: int, at: int) -> torch.Tensor:
    """``e[t] - e[t - 1]`` from column ``at`` on, where ``e`` is the EMA of ``x`` with its first value at column
    ``at - 1``: ``alpha * (x[at] - e[at - 1])`` at ``at``, then the same EMA's recursion on the change ``dx`` of
    ``x`` (0 before ``at``)."""
    if at >= x.shape[1]:
        return torch.zeros_like(x)
    alpha = 2.0 / (n + 1.0)
    return seeded_scan(alpha * dx, 1.0 - alpha, alpha * (x[:, at] - e[:, at - 1]), at)


@torch_form("trix")
def _trix(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The one-bar rate of change, in percent, of a triple EMA; 0 where the previous triple EMA is 0. The kernel's
    # third / previous - 1 is formed here as change / previous, the change carried through the three EMAs from the
    # close's own change: in float32 the ratio of two EMAs near 1 keeps ~1e-7 of the price, ~1e-4 of TRIX.
    n = int(p["period"])
    close = x["close"]
    first = ema(close, n)
    second = ema(first, n, start=n - 1)
    third = ema(second, n, start=2 * (n - 1))
    change = _ema_change(close, first, close - lag(close, 1, fill=0.0), n, n)
    change = _ema_change(first, second, change, n, 2 * n - 1)
    change = _ema_change(second, third, change, n, 3 * n - 2)
    before = lag(third, 1, fill=1.0)
    zero = before == 0.0
    return [torch.where(zero, 0.0, change / torch.where(zero, 1.0, before) * 100.0)]


@torch_form("alligator")
def _alligator(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Williams' smoothed moving averages (Wilder's: alpha 1 / n, seeded with the SMA) of the median price.
    median = (x["high"] + x["low"]) / 2.0
    return [ema(median, n, alpha=1.0 / n) for n in (int(p["jaw"]), int(p["teeth"]), int(p["lips"]))]


@torch_form("dpo")
def _dpo(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Causal: the close period // 2 + 1 bars back minus the SMA of the last `period` closes.
    n = int(p["period"])
    close = x["close"]
    return [lag(close, n // 2 + 1) - window_mean(close, n)]
