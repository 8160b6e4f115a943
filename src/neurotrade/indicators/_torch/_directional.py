"""Torch forms of Wilder's directional movement: +DM, -DM, +DI, -DI, DX, ADX and ADXR.

As in the kernels: over the first ``period - 1`` moves the movements and true ranges are summed, then each sum
becomes Wilder's ``s - s / n + new``. DX cannot be formed where the range sum is not positive or both DIs are 0
(TA-Lib's ``TA_IS_ZERO``); DX then repeats its last value and the ADX skips the bar, which makes the ADX's
decay depend on the bar (:func:`masked_scan`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import lag, masked_scan, seeded_scan
from neurotrade.indicators._torch._forms import torch_form
from neurotrade.indicators._torch._volatility import true_range

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def directional_movements(x: Inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Each bar's +DM and -DM: the larger positive move only (0 at the first bar)."""
    high, low = x["high"], x["low"]
    diff_plus = high - lag(high, 1)
    diff_minus = lag(low, 1) - low
    minus = torch.where((diff_minus > 0.0) & (diff_plus < diff_minus), diff_minus, 0.0)
    plus = torch.where((diff_plus > 0.0) & (diff_plus > diff_minus), diff_plus, 0.0)
    plus[:, :1] = 0.0
    minus[:, :1] = 0.0
    return plus, minus


def _wilder_sum(values: torch.Tensor, n: int) -> torch.Tensor:
    """The plain sum of ``values[1:n]`` at column ``n - 1``, then ``s - s / n + v``."""
    seed = values[:, 1:n].sum(dim=1)
    return seeded_scan(values, (n - 1.0) / n, seed, n - 1)


def _sums(x: Inputs, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    plus, minus = directional_movements(x)
    return _wilder_sum(plus, n), _wilder_sum(minus, n), _wilder_sum(true_range(x), n)


def _dx(x: Inputs, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """DX where it can be formed, and where that is."""
    plus_dm, minus_dm, tr_sum = _sums(x, n)
    ranged = tr_sum > 0.0
    safe_tr = torch.where(ranged, tr_sum, 1.0)
    minus_di = minus_dm / safe_tr * 100.0
    plus_di = plus_dm / safe_tr * 100.0
    total = minus_di + plus_di
    formed = ranged & ~(total.abs() < 1e-14)
    dx = torch.where(formed, (minus_di - plus_di).abs() / torch.where(formed, total, 1.0) * 100.0, 0.0)
    return dx, formed


def _adx(x: Inputs, n: int) -> torch.Tensor:
    dx, formed = _dx(x, n)
    formed = formed.clone()
    formed[:, :n] = False  # DX counts from bar `period` on
    first = 2 * n - 1
    out = torch.zeros_like(dx)
    if first >= dx.shape[1]:
        return out
    # The mean of the DXs formed over bars period .. 2 * period - 1, then Wilder's average of the formed ones.
    seed = torch.where(formed[:, n : first + 1], dx[:, n : first + 1], 0.0).sum(dim=1) / n
    # y = (y * (n - 1) + dx) / n on the formed bars after the seed: decay (n - 1) / n, input dx / n; the seed bar
    # counts as formed with input `seed` (from y = 0).
    inputs = dx[:, first:] / n
    inputs[:, 0] = seed
    active = formed[:, first:].clone()
    active[:, 0] = True
    out[:, first:] = masked_scan(inputs, (n - 1.0) / n, active)
    return out


def _di(x: Inputs, p: Params, plus: bool) -> list[torch.Tensor]:
    plus_dm, minus_dm, tr_sum = _sums(x, int(p["period"]))
    dm = plus_dm if plus else minus_dm
    ranged = tr_sum > 0.0
    return [torch.where(ranged, dm / torch.where(ranged, tr_sum, 1.0) * 100.0, 0.0)]


def _dm(x: Inputs, p: Params, plus: bool) -> list[torch.Tensor]:
    plus_dm, minus_dm = directional_movements(x)
    return [_wilder_sum(plus_dm if plus else minus_dm, int(p["period"]))]


for _name, _form, _plus in (
    ("plus_di", _di, True),
    ("minus_di", _di, False),
    ("plus_dm", _dm, True),
    ("minus_dm", _dm, False),
):
    torch_form(_name)(functools.partial(_form, plus=_plus))


@torch_form("dx")
def _dx_form(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    dx, formed = _dx(x, n)
    # Where DX cannot be formed it repeats the last one formed (0 before the first): carry the column of the
    # latest formed bar forward with a running maximum of column numbers.
    formed = formed.clone()
    formed[:, :n] = False
    columns = torch.arange(dx.shape[1], device=dx.device).expand_as(dx)
    latest = torch.cummax(torch.where(formed, columns, -1), dim=1).values
    carried = torch.gather(dx, 1, latest.clamp(min=0))
    return [torch.where(latest >= 0, carried, 0.0)]


@torch_form("adx")
def _adx_form(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [_adx(x, int(p["period"]))]


@torch_form("adxr")
def _adxr(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    adx = _adx(x, n)
    return [(adx + lag(adx, n - 1)) * 0.5]
