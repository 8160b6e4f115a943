"""Torch forms of the volume indicators: OBV, the accumulation/distribution line (AD), its oscillator (ADOSC),
MFI and CMF.

OBV and AD are running totals from each symbol's first bar, as in the kernels (their level depends on where the
bars start); they are blocked scans with a decay of 1 (:func:`linear_scan`), whose sums of at most 64 terms per
level keep float32 within 1e-4 over long series where a sequential cumulative sum would drift.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import ema, lag, linear_scan, rolling_sum
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def _money_flow_volume(x: Inputs) -> torch.Tensor:
    """Each bar's ((close - low) - (high - close)) / (high - low) * volume; 0 for a bar without range."""
    high, low, close = x["high"], x["low"], x["close"]
    span = high - low
    ranged = span > 0.0
    return torch.where(ranged, (((close - low) - (high - close)) / torch.where(ranged, span, 1.0)) * x["volume"], 0.0)


def _ad_line(x: Inputs) -> torch.Tensor:
    return linear_scan(_money_flow_volume(x), 1.0)


@torch_form("obv")
def _obv(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The first bar's volume, then + volume on an up close, - volume on a down close.
    close, volume = x["close"], x["volume"]
    before = lag(close, 1)
    step = torch.where(close > before, volume, torch.where(close < before, -volume, 0.0))
    step[:, :1] = volume[:, :1]
    return [linear_scan(step, 1.0)]


@torch_form("ad")
def _ad(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [_ad_line(x)]


@torch_form("adosc")
def _adosc(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Two EMAs of the AD line seeded with its first value (TA-Lib's, not an SMA).
    ad = _ad_line(x)
    fast, slow = int(p["fast"]), int(p["slow"])
    return [ema(ad, 1, alpha=2.0 / (fast + 1.0)) - ema(ad, 1, alpha=2.0 / (slow + 1.0))]


@torch_form("mfi")
def _mfi(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Money flow (typical price * volume) signed by the typical price's move, summed over the last n bars; a move
    # within rounding of the typical prices (TA-Lib's relative test) carries none, and a window without any is 0.
    n = int(p["period"])
    typical = (x["high"] + x["low"] + x["close"]) / 3.0
    before = lag(typical, 1)
    move = typical - before
    flow = x["volume"] * typical
    # The kernels' 1e-14 in every dtype: equal bars give equal typical prices (move exactly 0) in float32 too,
    # while a float32-scaled tolerance (5e-6) would silence real moves of a few hundredths of a percent.
    moved = move.abs() > 1e-14 * (typical.abs() + before.abs())
    moved[:, :1] = False
    flow = torch.where(moved, flow, 0.0)
    positive = rolling_sum(torch.where(move < 0.0, 0.0, flow), n)
    total = positive + rolling_sum(torch.where(move < 0.0, flow, 0.0), n)
    flowing = total > 0.0
    share = positive.clamp(min=0.0).minimum(total)
    return [torch.where(flowing, 100.0 * (share / torch.where(flowing, total, 1.0)), 0.0)]


@torch_form("cmf")
def _cmf(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Money-flow volume over volume in the window; 0 for a window in which nothing traded.
    n = int(p["period"])
    volume = x["volume"]
    total = rolling_sum(volume, n)
    idle = rolling_sum((volume == 0.0).to(volume.dtype), n) >= n
    return [torch.where(idle, 0.0, rolling_sum(_money_flow_volume(x), n) / torch.where(idle, 1.0, total))]
