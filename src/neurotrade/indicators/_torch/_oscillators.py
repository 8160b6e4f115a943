"""Torch forms of the oscillators: RSI, CMO, CCI, the stochastics, Williams' %R, MOM and the ROC family."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import flat_tolerance, lag, rolling_max, rolling_min, seeded_scan, window_mean
from neurotrade.indicators._torch._forms import torch_form

__all__: list[str] = []

Inputs = Mapping[str, torch.Tensor]
Params = Mapping[str, int | float]


def _gains_losses(close: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each bar's gain and loss from the previous close (0 at the first bar)."""
    change = close - lag(close, 1)
    change[:, :1] = 0.0
    gain = change.clamp(min=0.0)
    return gain, gain - change


def _wilder(values: torch.Tensor, n: int) -> torch.Tensor:
    """Wilder's average of ``values[1:]``: the mean of the first ``n`` at column ``n``, then
    ``(avg * (n - 1) + v) / n``."""
    seed = values[:, 1 : n + 1].sum(dim=1) / n
    return seeded_scan(values / n, (n - 1.0) / n, seed, n)


def rsi_line(close: torch.Tensor, n: int) -> torch.Tensor:
    """The `rsi` indicator's values (Wilder's, from column ``n`` on; what lies before is finite and meaningless),
    which every form built on the RSI uses, as the kernels share ``rsi_next``."""
    gain, loss = _gains_losses(close)
    avg_gain, avg_loss = _wilder(gain, n), _wilder(loss, n)
    total = avg_gain + avg_loss
    moved = total > 0.0
    # 0, not 50, when the price has not moved over the window (the kernels', after TA-Lib).
    return torch.where(moved, 100.0 * (avg_gain / torch.where(moved, total, 1.0)), 0.0)


@torch_form("rsi")
def _rsi(x: Inputs, p: Params) -> list[torch.Tensor]:
    return [rsi_line(x["close"], int(p["period"]))]


@torch_form("cmo")
def _cmo(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    gain, loss = _gains_losses(x["close"])
    avg_gain, avg_loss = _wilder(gain, n), _wilder(loss, n)
    move = avg_gain + avg_loss
    moved = move > 0.0
    return [torch.where(moved, ((avg_gain - avg_loss) / torch.where(moved, move, 1.0)) * 100.0, 0.0)]


@torch_form("cci")
def _cci(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    typical = (x["high"] + x["low"] + x["close"]) / 3.0
    average = window_mean(typical, n)
    # The mean absolute deviation has no running form: n passes over shifted columns, no (S, T, n) copy.
    deviation = torch.zeros_like(typical)
    for k in range(n):
        deviation += (lag(typical, k) - average).abs()
    mean_deviation = deviation / n
    distance = typical - average
    tolerance = average.abs() * flat_tolerance(average, 1e-14)
    scaled = 0.015 * mean_deviation
    flat = (distance.abs() <= tolerance) | (mean_deviation.abs() <= tolerance) | (scaled == 0.0)
    return [torch.where(flat, 0.0, distance / torch.where(flat, 1.0, scaled))]


def _range_percent(close: torch.Tensor, highest: torch.Tensor, lowest: torch.Tensor) -> torch.Tensor:
    """Where the close sits between the extremes, 0 to 100; 0 where they coincide up to rounding (TA-Lib)."""
    diff = highest - lowest
    flat = diff.abs() <= flat_tolerance(diff, 1e-14) * (highest.abs() + lowest.abs())
    return torch.where(flat, 0.0, 100.0 * ((close - lowest) / torch.where(flat, 1.0, diff)))


def _fast_k(x: Inputs, k: int) -> torch.Tensor:
    return _range_percent(x["close"], rolling_max(x["high"], k), rolling_min(x["low"], k))


def _sma_from(values: torch.Tensor, n: int, start: int) -> torch.Tensor:
    """The SMA of ``values`` whose first meaningful column is ``start`` (earlier columns may be anything)."""
    clean = values.clone()
    clean[:, :start] = 0.0
    return window_mean(clean, n)


@torch_form("stoch")
def _stoch(x: Inputs, p: Params) -> list[torch.Tensor]:
    k, a, b = int(p["fastk"]), int(p["slowk"]), int(p["slowd"])
    slow_k = _sma_from(_fast_k(x, k), a, k - 1)
    return [slow_k, _sma_from(slow_k, b, k + a - 2)]


@torch_form("stochf")
def _stochf(x: Inputs, p: Params) -> list[torch.Tensor]:
    k, a = int(p["fastk"]), int(p["fastd"])
    fast_k = _fast_k(x, k)
    return [fast_k, _sma_from(fast_k, a, k - 1)]


@torch_form("willr")
def _willr(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    highest, lowest = rolling_max(x["high"], n), rolling_min(x["low"], n)
    diff = highest - lowest
    flat = diff.abs() <= flat_tolerance(diff, 1e-14) * (highest.abs() + lowest.abs())
    value = -100.0 * ((highest - x["close"]) / torch.where(flat, 1.0, diff))
    # Clipped to [-100, 0] like TA-Lib, for closes outside the bars' range; 0 where the window has no range.
    return [torch.where(flat, 0.0, value.clamp(min=-100.0, max=0.0))]


def _lagged(x: Inputs, p: Params, mode: str) -> list[torch.Tensor]:
    close = x["close"]
    before = lag(close, int(p["period"]), fill=1.0)
    if mode == "mom":
        return [close - before]
    zero = before == 0.0
    safe = torch.where(zero, 1.0, before)
    if mode == "roc":
        value = ((close / safe) - 1.0) * 100.0
    elif mode == "rocp":
        value = (close - safe) / safe
    elif mode == "rocr":
        value = close / safe
    else:
        value = (close / safe) * 100.0
    # TA-Lib's ROC family is 0 where the earlier close is 0.
    return [torch.where(zero, 0.0, value)]


for _mode in ("mom", "roc", "rocp", "rocr", "rocr100"):
    torch_form(_mode)(functools.partial(_lagged, mode=_mode))
