"""Torch forms of Ehlers' two-pole filters: the roofing filter and the simple decycler.

The two-pole high-pass ``HP = g * (x - 2 x[1] + x[2]) + 2 (1 - alpha1) HP[1] - (1 - alpha1) ** 2 HP[2]`` has a
double real pole at ``r = 1 - alpha1`` (negative for the shortest periods), so it is two first-order blocked
scans with decay ``r`` in a row; the roofing filter's super smoother has complex conjugate poles
(:func:`two_pole_scan`). Both start from zeros on the first two bars, as the kernels (EasyLanguage's initial
values): the second difference is 0 there, which leaves every recursion at 0 until bar 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from neurotrade.indicators._torch._core import lag, linear_scan, two_pole_scan
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def _highpass(close: torch.Tensor, hp_period: float) -> torch.Tensor:
    angle = 0.707 * 2.0 * np.pi / hp_period
    alpha1 = (math.cos(angle) + math.sin(angle) - 1.0) / math.cos(angle)
    pole = 1.0 - alpha1
    # The second difference as a difference of neighbouring differences (each exact), 0 on the first two bars.
    before = lag(close, 1)
    change = close - before
    second = change - (before - lag(close, 2))
    second[:, :2] = 0.0
    gain = (1.0 - alpha1 / 2.0) * (1.0 - alpha1 / 2.0)
    return gain * linear_scan(linear_scan(second, pole), pole)


@torch_form("decycler")
def _decycler(x: Inputs, p: Params) -> list[torch.Tensor]:
    close = x["close"]
    return [close - _highpass(close, float(p["hp_period"]))]


@torch_form("roofing")
def _roofing(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The super smoother's coefficients with the constants of the published code (1.414, 3.14159), as the kernel.
    lp_period = float(p["lp_period"])
    a1 = math.exp(-1.414 * 3.14159 / lp_period)
    c2 = 2.0 * a1 * math.cos(1.414 * np.pi / lp_period)
    c3 = -a1 * a1
    c1 = 1.0 - c2 - c3
    hp = _highpass(x["close"], float(p["hp_period"]))
    return [two_pole_scan(c1 * (hp + lag(hp, 1)) / 2.0, c2, c3)]
