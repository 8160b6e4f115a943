"""Composite indicators written plainly from their published definitions.

Simple averages, shifts and rolling extremes are pandas'; the recursive parts (EMAs seeded with the
mean of their first inputs, Wilder's RSI, trailing levels, held stochastics) are plain loops.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def ema(values: np.ndarray, n: int) -> np.ndarray:
    """EMA with alpha = 2/(n + 1), seeded with the mean of its first n inputs (leading NaN skipped)."""
    out = np.full(len(values), np.nan)
    alpha = 2 / (n + 1)
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid) < n:
        return out
    start = valid[0]
    total = 0.0
    for x in values[start : start + n]:
        total += x
    value = total / n
    out[start + n - 1] = value
    for t in range(start + n, len(values)):
        value = value + alpha * (values[t] - value)
        out[t] = value
    return out


def wilder_rsi(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI: averages of the first n gains and losses, then (avg*(n - 1) + x)/n."""
    out = np.full(len(close), np.nan)
    change = np.diff(close)
    gain = np.where(change > 0, change, 0.0)
    loss = np.where(change < 0, -change, 0.0)
    if len(change) < n:
        return out
    avg_gain = avg_loss = 0.0
    for t in range(n):
        avg_gain += gain[t]
        avg_loss += loss[t]
    avg_gain /= n
    avg_loss /= n
    for t in range(n, len(close)):
        if t > n:
            avg_gain = (avg_gain * (n - 1) + gain[t - 1]) / n
            avg_loss = (avg_loss * (n - 1) + loss[t - 1]) / n
        total = avg_gain + avg_loss
        out[t] = 100 * avg_gain / total if total > 0 else 0.0
    return out


def _frame(bars: pd.DataFrame, **columns: np.ndarray) -> pd.DataFrame:
    """The outputs, all NaN until the last of them is ready."""
    frame = pd.DataFrame(columns, index=bars.index)
    return frame.where(frame.notna().all(axis=1))


def wavetrend(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """LazyBear (2014): ap = hlc3, ci = (ap - esa)/(0.015 d), wt1 = EMA(ci), wt2 = SMA(wt1)."""
    n1, n2 = params["channel"], params["average"]
    ap = ((bars["high"] + bars["low"] + bars["close"]) / 3).to_numpy()
    esa = ema(ap, n1)
    d = ema(np.abs(ap - esa), n1)
    ci = np.full(len(ap), np.nan)
    ready = ~np.isnan(d)
    flat = d[ready] <= 1e-12 * np.abs(esa[ready])
    ci[ready] = np.where(flat, 0.0, (ap[ready] - esa[ready]) / (0.015 * np.where(flat, 1.0, d[ready])))
    wt1 = pd.Series(ema(ci, n2))
    wt2 = wt1.rolling(params["signal"]).mean()
    return _frame(bars, wt1=wt1.to_numpy(), wt2=wt2.to_numpy())


def qqe(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """QQE as in Ignatov's QQE.mq4 (2006): smoothed RSI and its trailing level."""
    n, factor = params["period"], params["factor"]
    wilders_period = 2 * n - 1
    rsi_ma = ema(wilder_rsi(bars["close"].to_numpy(), n), params["smooth"])
    atr_rsi = np.abs(rsi_ma - np.r_[np.nan, rsi_ma[:-1]])
    dar = ema(ema(atr_rsi, wilders_period), wilders_period) * factor
    trail = np.full(len(rsi_ma), np.nan)
    ready = np.flatnonzero(~np.isnan(dar))
    if len(ready):
        first = ready[0]
        tr = rsi_ma[first] - dar[first]
        trail[first] = tr
        for i in range(first + 1, len(rsi_ma)):
            rsi0, rsi1 = rsi_ma[i], rsi_ma[i - 1]
            dv = tr
            if rsi0 < tr:
                tr = rsi0 + dar[i]
                if rsi1 < dv and tr > dv:
                    tr = dv
            elif rsi0 > tr:
                tr = rsi0 - dar[i]
                if rsi1 > dv and tr < dv:
                    tr = dv
            trail[i] = tr
    return _frame(bars, qqe=rsi_ma, trail=trail)


def _held_stochastic(values: np.ndarray, length: int, flat: np.ndarray, factor: float) -> np.ndarray:
    """%K of `values` over `length` bars, the last one kept where the window's range is `flat`, smoothed."""
    series = pd.Series(values)
    lowest = series.rolling(length).min().to_numpy()
    spread = series.rolling(length).max().to_numpy() - lowest
    out = np.full(len(values), np.nan)
    k = 50.0
    smoothed = math.nan
    for t in np.flatnonzero(~np.isnan(spread)):
        if spread[t] > flat[t]:
            k = ((values[t] - lowest[t]) / spread[t]) * 100
        smoothed = k if math.isnan(smoothed) else smoothed + factor * (k - smoothed)
        out[t] = smoothed
    return out


def stc(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Schaff trend cycle (LazyBear's TradingView code): a smoothed stochastic of a smoothed stochastic of MACD."""
    close = bars["close"].to_numpy()
    macd = ema(close, params["fast"]) - ema(close, params["slow"])
    pf = _held_stochastic(macd, params["cycle"], 1e-12 * close, params["factor"])
    pff = _held_stochastic(pf, params["cycle"], np.full(len(close), 1e-12 * 100), params["factor"])
    return _frame(bars, stc=pff)


def ao(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Bill Williams: SMA(median, 5) - SMA(median, 34)."""
    median = (bars["high"] + bars["low"]) / 2
    value = median.rolling(params["fast"]).mean() - median.rolling(params["slow"]).mean()
    return _frame(bars, ao=value.to_numpy())


def tsi(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Blau: 100 * EMA(EMA(m)) / EMA(EMA(|m|)), and its EMA."""
    momentum = bars["close"].diff().to_numpy()
    numerator = ema(ema(momentum, params["long"]), params["short"])
    denominator = ema(ema(np.abs(momentum), params["long"]), params["short"])
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator > 0, 100 * (numerator / denominator), 0.0)
    value[np.isnan(denominator)] = np.nan
    return _frame(bars, tsi=value, signal=ema(value, params["signal"]))


def kst(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Pring (1992): sum of i * SMA(ROC_i) for i = 1..4, and its SMA."""
    close = bars["close"]
    total = 0
    for i in range(1, 5):
        rate = (close / close.shift(params[f"roc{i}"]) - 1) * 100
        total = total + i * rate.rolling(params[f"sma{i}"]).mean()
    signal = total.rolling(params["signal"]).mean()
    return _frame(bars, kst=total.to_numpy(), signal=signal.to_numpy())


def dpo(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Causal DPO (StockCharts): the close period//2 + 1 bars ago minus the current SMA."""
    n = params["period"]
    close = bars["close"]
    return _frame(bars, dpo=(close.shift(n // 2 + 1) - close.rolling(n).mean()).to_numpy())


def _mean_rescaled_range(window: np.ndarray, size: int) -> float:
    """Hurst's R/S averaged over the chunks of `size` that end at the window's newest return.

    Each chunk's R/S is the range of its cumulative deviations from its mean (0 included) over
    their population standard deviation; chunks with a deviation below 1e-12 did not move and are
    left out (NaN when none moved).
    """
    count = len(window) // size
    chunks = window[len(window) - count * size :].reshape(count, size)
    deviations = chunks - chunks.mean(axis=1, keepdims=True)
    cumulative = np.cumsum(deviations, axis=1)
    spread = np.maximum(cumulative.max(axis=1), 0.0) - np.minimum(cumulative.min(axis=1), 0.0)
    std = np.sqrt((deviations**2).mean(axis=1))
    moved = std > 1e-12
    return float(np.mean(spread[moved] / std[moved])) if moved.any() else math.nan


def _hurst(window: np.ndarray) -> float:
    """Least-squares slope of ln(mean R/S) on ln(chunk size) for sizes len, len//2, ... >= 8."""
    sizes, ratios = [], []
    size = len(window)
    while size >= 8:
        ratio = _mean_rescaled_range(window, size)
        if not math.isnan(ratio):
            sizes.append(math.log(size))
            ratios.append(math.log(ratio))
        size //= 2
    if len(sizes) < 2:
        return 0.5
    x, y = np.array(sizes), np.array(ratios)
    return float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))


def hurst(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Rolling R/S Hurst exponent of the last `period` log returns (Mandelbrot-Wallis, Peters)."""
    n = params["period"]
    returns = np.log(bars["close"] / bars["close"].shift(1)).to_numpy()
    out = np.full(len(returns), np.nan)
    for t in range(n, len(returns)):
        out[t] = _hurst(returns[t - n + 1 : t + 1])
    return _frame(bars, hurst=out)


def heikin_ashi(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Valcu (2004): averaged candles, the first open being (open + close)/2."""
    ha_close = ((bars["open"] + bars["high"] + bars["low"] + bars["close"]) / 4).to_numpy()
    open_, close = bars["open"].to_numpy(), bars["close"].to_numpy()
    ha_open = np.empty(len(ha_close))
    for t in range(len(ha_close)):
        ha_open[t] = (open_[0] + close[0]) / 2 if t == 0 else (ha_open[t - 1] + ha_close[t - 1]) / 2
    ha_high = np.maximum(bars["high"].to_numpy(), np.maximum(ha_open, ha_close))
    ha_low = np.minimum(bars["low"].to_numpy(), np.minimum(ha_open, ha_close))
    return _frame(bars, ha_open=ha_open, ha_high=ha_high, ha_low=ha_low, ha_close=ha_close)


REFERENCES = {
    "wavetrend": wavetrend,
    "qqe": qqe,
    "stc": stc,
    "ao": ao,
    "tsi": tsi,
    "kst": kst,
    "dpo": dpo,
    "hurst": hurst,
    "heikin_ashi": heikin_ashi,
}
