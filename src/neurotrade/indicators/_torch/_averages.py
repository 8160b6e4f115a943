"""Torch forms of the moving averages and what is built from them: SMA, EMA, WMA, DEMA, TEMA, TRIMA, ZLEMA,
MACD, APO, PPO and the price transforms (AVGPRICE, MEDPRICE, TYPPRICE, WCLPRICE)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import ema, lag, rolling_weighted, window_mean
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


@torch_form("wma")
def _wma(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    close = x["close"]
    weights = torch.arange(1, n + 1, dtype=torch.float64, device=close.device) / (n * (n + 1.0) * 0.5)
    return [rolling_weighted(close, weights)]


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
