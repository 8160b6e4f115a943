"""Torch form of LazyBear's WaveTrend (the `wavetrend` indicator): three seeded EMAs and an SMA."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._ehlers import FLAT
from neurotrade.indicators._torch._core import ema, flat_tolerance, window_mean
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
