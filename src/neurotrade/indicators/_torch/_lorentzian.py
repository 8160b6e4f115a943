"""Torch forms of the Lorentzian classifier's normalised features: its RSI, CCI, ADX and WaveTrend.

As in the kernels (``indicators._lorentzian``): the RSI and the ADX are rescaled from 0-100 by a constant, the
CCI and the WaveTrend difference are divided by the range of every value seen so far, a running minimum and
maximum from the feature's first value (:func:`normalized`), which depends on where each symbol's bars start
exactly as the kernel's state does. Every EMA is the kernels' (seeded with the mean of its first inputs).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._ehlers import FLAT
from neurotrade.indicators._torch._composite import wave_trend_line
from neurotrade.indicators._torch._core import ema, flat_tolerance, lag, linear_scan, seeded_scan, window_mean
from neurotrade.indicators._torch._directional import directional_movements
from neurotrade.indicators._torch._forms import torch_form
from neurotrade.indicators._torch._oscillators import rsi_line
from neurotrade.indicators._torch._volatility import true_range

__all__ = ["normalized"]

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]

_SPAN = 1e-9  # normalize()'s floor on the range, the kernels' (10e-10 in the script)
_SIGNAL = 4  # n_wt's SMA of wt1


def normalized(values: torch.Tensor, first: int) -> torch.Tensor:
    """MLExtensions' ``normalize(src, 0, 1)`` from column ``first`` on: each value within the range of the values
    from ``first`` to its own column, ``(v - min) / max(max - min, 1e-9)``; 0 before ``first``.

    Examples
    --------
    >>> import torch
    >>> normalized(torch.tensor([[9.0, 2.0, 4.0, 3.0]], dtype=torch.float64), 1).tolist()
    [[0.0, 0.0, 1.0, 0.5]]
    """
    out = torch.zeros_like(values)
    if first >= values.shape[1]:
        return out
    tail = values[:, first:]
    low = torch.cummin(tail, dim=1).values
    high = torch.cummax(tail, dim=1).values
    out[:, first:] = (tail - low) / (high - low).clamp(min=_SPAN)
    return out


@torch_form("lorentzian_rsi")
def _n_rsi(x: Inputs, p: Params) -> list[torch.Tensor]:
    n, m = int(p["period"]), int(p["smooth"])
    # The EMA's first input is the RSI's first value, at column n.
    return [ema(rsi_line(x["close"], n), m, start=n) / 100.0]


@torch_form("lorentzian_cci")
def _n_cci(x: Inputs, p: Params) -> list[torch.Tensor]:
    n, m = int(p["period"]), int(p["smooth"])
    close = x["close"]
    mean = window_mean(close, n)
    spread = torch.zeros_like(close)
    for k in range(n):  # the mean absolute deviation: n passes over shifted columns, no (S, T, n) copy
        spread += (lag(close, k) - mean).abs()
    deviation = spread / n
    # The kernel's guard (a flat window leaves only rounding in close - mean and its deviation: CCI 0): 1e-12 of
    # the mean, or in float32 a few of its ulps (1e-12 scaled to float32 would be 5e-4, a real if small move).
    steep = deviation > max(FLAT, flat_tolerance(mean, 1e-14)) * mean.abs()
    cci = torch.where(steep, (close - mean) / (0.015 * torch.where(steep, deviation, 1.0)), 0.0)
    cci[:, : n - 1] = 0.0
    return [normalized(ema(cci, m, start=n - 1), n + m - 2)]


@torch_form("lorentzian_adx")
def _n_adx(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The script's own ADX: Wilder's running sums s - s / n + v from 0 (the first bar adds nothing: its
    # movements and true range are 0 here), DIs, DX, then Pine's ta.rma of DX seeded at column n with the
    # mean of the DX of columns 1 .. n.
    n = int(p["period"])
    keep = 1.0 - 1.0 / n
    plus, minus = directional_movements(x)
    tr_sum = linear_scan(true_range(x), keep)
    plus_sum, minus_sum = linear_scan(plus, keep), linear_scan(minus, keep)
    ranged = tr_sum > 0.0
    safe_tr = torch.where(ranged, tr_sum, 1.0)
    di_plus = torch.where(ranged, plus_sum / safe_tr * 100.0, 0.0)
    di_minus = torch.where(ranged, minus_sum / safe_tr * 100.0, 0.0)
    both = di_plus + di_minus
    formed = both > 0.0
    dx = torch.where(formed, (di_plus - di_minus).abs() / torch.where(formed, both, 1.0) * 100.0, 0.0)
    seed = dx[:, 1 : n + 1].sum(dim=1) / n
    return [seeded_scan(dx / n, keep, seed, n) / 100.0]


@torch_form("lorentzian_wt")
def _n_wt(x: Inputs, p: Params) -> list[torch.Tensor]:
    channel, average = int(p["channel"]), int(p["average"])
    wt1 = wave_trend_line(x, channel, average)
    # wt1 - SMA(wt1, 4), from the fourth wt1 on; wt1 is 0 before its first value, so no window reaches back.
    first = 2 * channel + average - 3 + _SIGNAL - 1
    return [normalized(wt1 - window_mean(wt1, _SIGNAL), first)]
