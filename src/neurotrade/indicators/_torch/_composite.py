"""Torch forms of the composite indicators: LazyBear's WaveTrend (three seeded EMAs and an SMA), the awesome
oscillator, the true strength index, KST and Heikin-Ashi."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._ehlers import FLAT
from neurotrade.indicators._torch._core import ema, flat_tolerance, lag, seeded_scan, window_mean
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def wave_trend_line(x: Inputs, channel: int, average: int) -> torch.Tensor:
    """LazyBear's wt1 (the EMA of the channel index) as the kernels compute it; 0 before column
    ``2 * channel + average - 3``, its first value."""
    ap = (x["high"] + x["low"] + x["close"]) / 3.0
    esa = ema(ap, channel)
    # Each EMA starts on the first bar its input exists (esa's at channel - 1, d's one channel later).
    d = ema((ap - esa).abs(), channel, start=channel - 1)
    # A flat market leaves only rounding in ap - esa and d: its channel index is 0. The kernel tests d alone;
    # on a flat stretch its sequential EMA lands on ap exactly (ap - esa == 0, so ci == 0) while d still decays
    # above the guard, where this form's esa (a sum in another order) is a few ulps off ap and ci would be
    # rounding over d. Counting ap - esa within rounding of esa as 0 follows the kernel there, and elsewhere
    # changes ci by less than the rounding it removes.
    moved = (ap - esa).abs() > flat_tolerance(esa, 1e-14) * esa.abs()
    steep = (d > flat_tolerance(d, FLAT) * esa.abs()) & moved
    ci = torch.where(steep, (ap - esa) / (0.015 * torch.where(steep, d, 1.0)), 0.0)
    start = 2 * channel - 2
    ci[:, :start] = 0.0
    return ema(ci, average, start=start)


@torch_form("wavetrend")
def _wavetrend(x: Inputs, p: Params) -> list[torch.Tensor]:
    wt1 = wave_trend_line(x, int(p["channel"]), int(p["average"]))
    return [wt1, window_mean(wt1, int(p["signal"]))]


@torch_form("ao")
def _ao(x: Inputs, p: Params) -> list[torch.Tensor]:
    median = (x["high"] + x["low"]) / 2.0
    return [window_mean(median, int(p["fast"])) - window_mean(median, int(p["slow"]))]


@torch_form("tsi")
def _tsi(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Double-smoothed momentum over double-smoothed absolute momentum, from the second bar's change; each EMA
    # starts where its input's first value is. 0 where the denominator is (a start without a single move).
    first, second, signal = int(p["long"]), int(p["short"]), int(p["signal"])
    close = x["close"]
    momentum = close - lag(close, 1)
    momentum[:, :1] = 0.0
    twice = ema(ema(momentum, first, start=1), second, start=first)
    twice_abs = ema(ema(momentum.abs(), first, start=1), second, start=first)
    positive = twice_abs > 0.0
    tsi = torch.where(positive, 100.0 * (twice / torch.where(positive, twice_abs, 1.0)), 0.0)
    return [tsi, ema(tsi, signal, start=first + second - 1)]


@torch_form("kst")
def _kst(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Four SMAs of rates of change weighted 1 to 4, and their SMA. The kernel multiplies by the reciprocal of the
    # earlier close (one rounding more than a division); so does this form.
    close = x["close"]
    kst = torch.zeros_like(close)
    for i in range(1, 5):
        shift, width = int(p[f"roc{i}"]), int(p[f"sma{i}"])
        rate = ((close * (1.0 / lag(close, shift, fill=1.0))) - 1.0) * 100.0
        rate[:, :shift] = 0.0
        kst = kst + float(i) * window_mean(rate, width)
    first = max(int(p[f"roc{i}"]) + int(p[f"sma{i}"]) for i in range(1, 5)) - 1
    kst[:, :first] = 0.0
    return [kst, window_mean(kst, int(p["signal"]))]


@torch_form("heikin_ashi")
def _heikin_ashi(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The open is a linear recursion: (open + close) / 2 of the first bar, then the mean of the previous
    # Heikin-Ashi open and close.
    o, h, lo, c = x["open"], x["high"], x["low"], x["close"]
    ha_close = (o + h + lo + c) / 4.0
    ha_open = seeded_scan(0.5 * lag(ha_close, 1), 0.5, (o[:, 0] + c[:, 0]) / 2.0, 0)
    return [
        ha_open,
        torch.maximum(h, torch.maximum(ha_open, ha_close)),
        torch.minimum(lo, torch.minimum(ha_open, ha_close)),
        ha_close,
    ]
