"""Torch forms of the oscillators: RSI, CMO, CCI, the stochastics (STOCHRSI too), Williams' %R, MOM and the ROC
family, Aroon, ULTOSC, BOP, RMI, TTF and PGO."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import torch

from neurotrade.indicators._torch._core import (
    ema,
    flat_tolerance,
    lag,
    rolling_max,
    rolling_min,
    rolling_sum,
    seeded_scan,
    window_mean,
)
from neurotrade.indicators._torch._forms import torch_form
from neurotrade.indicators._torch._volatility import true_range

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


@torch_form("stochrsi")
def _stochrsi(x: Inputs, p: Params) -> list[torch.Tensor]:
    # STOCHF of the RSI (its high, low and close), the extremes over RSI values from column `period` on.
    n, k, d = int(p["period"]), int(p["fastk"]), int(p["fastd"])
    rsi = rsi_line(x["close"], n)
    fast_k = _range_percent(rsi, rolling_max(rsi, k), rolling_min(rsi, k))
    return [fast_k, _sma_from(fast_k, d, n + k - 1)]


def _bars_since_extremes(high: torch.Tensor, low: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bars since the highest high and since the lowest low of the last ``n + 1`` bars, ties to the latest bar
    (TA-Lib's): n + 1 passes over shifted columns, each keeping the newer bar unless the older is strictly better."""
    best_high, best_low = high, low
    since_high, since_low = torch.zeros_like(high), torch.zeros_like(low)
    for k in range(1, n + 1):
        older_high, older_low = lag(high, k), lag(low, k)
        higher, lower = older_high > best_high, older_low < best_low
        best_high = torch.where(higher, older_high, best_high)
        best_low = torch.where(lower, older_low, best_low)
        since_high = torch.where(higher, float(k), since_high)
        since_low = torch.where(lower, float(k), since_low)
    return since_high, since_low


@torch_form("aroon")
def _aroon(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    since_high, since_low = _bars_since_extremes(x["high"], x["low"], n)
    factor = 100.0 / n
    return [factor * (n - since_low), factor * (n - since_high)]


@torch_form("aroonosc")
def _aroonosc(x: Inputs, p: Params) -> list[torch.Tensor]:
    n = int(p["period"])
    since_high, since_low = _bars_since_extremes(x["high"], x["low"], n)
    # The kernel's bar of the highest minus bar of the lowest: the same whole number of bars.
    return [(100.0 / n) * (since_low - since_high)]


@torch_form("ultosc")
def _ultosc(x: Inputs, p: Params) -> list[torch.Tensor]:
    # Buying pressure over true range in three windows weighted 4:2:1 by length (TA-Lib sorts the periods); a
    # window whose range sum is 0 leaves its term out. Column 0 has no previous close: its terms are 0 (and no
    # output's window reaches it).
    short, middle, long = sorted((int(p["fast"]), int(p["medium"]), int(p["slow"])))
    low, close = x["low"], x["close"]
    pressure = close - torch.minimum(low, lag(close, 1))
    pressure[:, :1] = 0.0
    span = true_range(x)
    total = torch.zeros_like(close)
    for weight, n in ((4.0, short), (2.0, middle), (1.0, long)):
        ranges = rolling_sum(span, n)
        ranged = ranges > 0.0
        total = total + torch.where(ranged, weight * (rolling_sum(pressure, n) / torch.where(ranged, ranges, 1.0)), 0.0)
    return [100.0 * (total / 7.0)]


@torch_form("bop")
def _bop(x: Inputs, p: Params) -> list[torch.Tensor]:
    span = x["high"] - x["low"]
    ranged = span > 0.0
    return [torch.where(ranged, (x["close"] - x["open"]) / torch.where(ranged, span, 1.0), 0.0)]


@torch_form("rmi")
def _rmi(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The RSI of the `momentum`-bar change: Wilder's averages seeded with the mean of the first `period` gains
    # and losses (columns m .. m + n - 1); 50 where nothing moved.
    n, m = int(p["period"]), int(p["momentum"])
    close = x["close"]
    change = close - lag(close, m)
    change[:, :m] = 0.0
    gain = change.clamp(min=0.0)
    loss = gain - change
    at = m + n - 1
    if at >= close.shape[1]:
        return [torch.zeros_like(close)]
    keep = (n - 1.0) / n
    up = seeded_scan(gain / n, keep, gain[:, m : at + 1].sum(dim=1) / n, at)
    down = seeded_scan(loss / n, keep, loss[:, m : at + 1].sum(dim=1) / n, at)
    total = up + down
    moved = total > 0.0
    return [torch.where(moved, 100.0 * up / torch.where(moved, total, 1.0), 50.0)]


@torch_form("ttf")
def _ttf(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The trend trigger factor: the last n bars' extremes against the n bars before them.
    n = int(p["period"])
    new_high, new_low = rolling_max(x["high"], n), rolling_min(x["low"], n)
    old_high, old_low = lag(new_high, n), lag(new_low, n)
    buy, sell = new_high - old_low, old_high - new_low
    total = buy + sell
    positive = total > 0.0
    return [torch.where(positive, (buy - sell) / (0.5 * torch.where(positive, total, 1.0)) * 100.0, 0.0)]


@torch_form("pgo")
def _pgo(x: Inputs, p: Params) -> list[torch.Tensor]:
    # The close's distance from its SMA in units of the EMA of the true range (seeded with the mean of the first
    # n true ranges, columns 1 .. n). The distance is the mean of close - close[t - k]: each difference of
    # neighbouring prices is exact, so a flat window gives exactly 0 in any dtype (close - SMA in float32 would
    # leave an ulp of the price, divided by an ATR that has decayed towards 0).
    n = int(p["period"])
    close = x["close"]
    gap = torch.zeros_like(close)
    for k in range(1, n):
        gap += close - lag(close, k)
    gap = gap / n
    average_range = ema(true_range(x), n, start=1)
    positive = average_range > 0.0
    return [torch.where(positive, gap / torch.where(positive, average_range, 1.0), 0.0)]
