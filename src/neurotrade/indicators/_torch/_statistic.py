"""Torch forms of the rolling statistics: the linear regression family (LINEARREG, its slope, intercept and angle,
TSF), CORREL and BETA.

The kernels keep running sums (about a shift, recentred by TA-Lib's rules); these forms take each window's sums
directly, the regression's as two weighted windows and the moments from deviations to the window's own mean
(two passes, as ``variance``), so their values agree to rounding. Where a kernel reports 0 for a window without
variance, "without variance" is a variance within rounding of the window's sum of squares (see ``_varies``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import lag, rolling_sum, rolling_weighted, window_mean
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def _regression(x: Inputs, p: Params, mode: str) -> list[torch.Tensor]:
    # Least squares over the last n closes with x counting bars back (newest 0, oldest n - 1), in TA-Lib's terms.
    n = int(p["period"])
    close = x["close"]
    sum_x = 0.5 * ((n - 1.0) * n)
    divisor = sum_x * sum_x - ((2.0 * n - 1.0) * ((n - 1.0) * n)) / 6.0 * n
    sum_y = rolling_sum(close, n)
    weights = torch.arange(n - 1, -1, -1, dtype=torch.float64, device=close.device)  # oldest first
    sum_xy = rolling_weighted(close, weights)
    m = (n * sum_xy - sum_y * sum_x) / divisor
    if mode == "slope":
        return [m]
    if mode == "angle":
        return [torch.atan(m) * (180.0 / math.pi)]
    b = (sum_y - m * sum_x) / n
    if mode == "intercept":
        return [b]
    return [m * (n - 1.0 if mode == "end" else float(n)) + b]


for _name, _mode in (
    ("linearreg_slope", "slope"),
    ("linearreg_intercept", "intercept"),
    ("linearreg", "end"),
    ("tsf", "forecast"),
    ("linearreg_angle", "angle"),
):
    torch_form(_name)(functools.partial(_regression, mode=_mode))


def _moments(
    a: torch.Tensor, b: torch.Tensor, n: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Over each window of ``n`` columns: the sums of squared deviations of ``a`` and ``b`` from their window
    means, the sum of products of those deviations, and the raw sums of squares of ``a`` and ``b``."""
    mean_a, mean_b = window_mean(a, n), window_mean(b, n)
    var_a, var_b, cov = torch.zeros_like(a), torch.zeros_like(a), torch.zeros_like(a)
    for k in range(n):  # n passes over shifted columns, no (S, T, n) copy
        da, db = lag(a, k) - mean_a, lag(b, k) - mean_b
        var_a += da * da
        var_b += db * db
        cov += da * db
    return var_a, var_b, cov, rolling_sum(a * a, n), rolling_sum(b * b, n)


def _varies(variance: torch.Tensor, squares: torch.Tensor) -> torch.Tensor:
    """Whether a window has a variance beyond rounding: more than ``(100 eps) ** 2`` of its sum of squares.

    The kernels test 1e-14 of their sum of squares about a shift near the window's values, a scale that moves
    with their recentring; about 0 it would call windows of highs 2e-7 apart flat. A window of one value has a
    two-pass variance of a few ulps squared of its mean, ``n * (eps * mean) ** 2``: both tests call it flat, and
    both see variance in any window whose values spread by more than ~1e-9 of their level.
    """
    return variance > (100.0 * torch.finfo(variance.dtype).eps) ** 2 * squares


@torch_form("correl")
def _correl(x: Inputs, p: Params) -> list[torch.Tensor]:
    var_x, var_y, cov, squares_x, squares_y = _moments(x["high"], x["low"], int(p["period"]))
    product = var_x * var_y
    formed = _varies(var_x, squares_x) & _varies(var_y, squares_y) & (product > 0.0)
    r = cov / torch.where(formed, product, 1.0).sqrt()
    return [torch.where(formed, r.clamp(min=-1.0, max=1.0), 0.0)]


def _returns(price: torch.Tensor) -> torch.Tensor:
    """One-bar returns, 0 after a zero price and at column 0."""
    before = lag(price, 1, fill=0.0)
    zero = before == 0.0
    return torch.where(zero, 0.0, (price - before) / torch.where(zero, 1.0, before))


@torch_form("beta")
def _beta(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The slope of the low's returns on the high's over the last n returns (columns t - n + 1 .. t, t >= n).
    var_x, _, cov, squares_x, _ = _moments(_returns(x["high"]), _returns(x["low"]), int(p["period"]))
    formed = _varies(var_x, squares_x)
    return [torch.where(formed, cov / torch.where(formed, var_x, 1.0), 0.0)]
