"""Plain pandas definitions of the channel and trailing-level indicators (``indicators/_channels.py``).

Each follows its published source (cited in the indicator's ``definition``) as directly as pandas
allows: rolling windows for the windows, ``ewm`` for the recursive averages, and a plain Python loop
where the definition itself is a recursion over bars (SuperTrend's trailing bands, SSL's switch,
Damiani's lag suppressor). Warm-up rows are NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["REFERENCES"]


# --- shared definitions ---------------------------------------------------------------------------
def _true_range(bars: pd.DataFrame) -> pd.Series:
    """Wilder's true range; undefined on the first bar, which has no previous close."""
    prev_close = bars["close"].shift(1)
    ranges = pd.concat(
        [bars["high"] - bars["low"], (bars["high"] - prev_close).abs(), (bars["low"] - prev_close).abs()], axis=1
    )
    tr = ranges.max(axis=1)
    tr.iloc[:1] = np.nan
    return tr


def _seeded_average(x: pd.Series, n: int, alpha: float, first: int = 0) -> pd.Series:
    """An exponential average with weight ``alpha``, seeded with the mean of its first ``n`` inputs.

    The inputs start at position ``first``; the first value is at ``first + n - 1``.
    """
    out = pd.Series(np.nan, index=x.index)
    seed_at = first + n - 1
    if len(x) <= seed_at:
        return out
    tail = x.iloc[seed_at:].copy()
    tail.iloc[0] = x.iloc[first : seed_at + 1].mean()
    out.iloc[seed_at:] = tail.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def _ema(x: pd.Series, n: int) -> pd.Series:
    """TA-Lib's EMA: seeded with the SMA of the first ``n`` inputs, then ``alpha = 2 / (n + 1)``."""
    return _seeded_average(x, n, 2.0 / (n + 1.0))


def _wilder(x: pd.Series, n: int, first: int = 0) -> pd.Series:
    """Wilder's average (the SMMA): seeded with the SMA of the first ``n`` inputs, then ``alpha = 1 / n``."""
    return _seeded_average(x, n, 1.0 / n, first)


def _atr(bars: pd.DataFrame, n: int) -> pd.Series:
    """Wilder's ATR as TA-Lib computes it: true ranges from the second bar, first value at bar ``n``."""
    return _wilder(_true_range(bars), n, first=1)


def _rolling_std(x: pd.Series, n: int) -> pd.Series:
    """Population standard deviation of each window of ``n``, two passes per window; 0 for a constant one.

    pandas' online rolling std drifts by ~1e-10 relative and leaves ~1e-6 on a constant window
    after a move, which is why this one is written out.
    """
    values = x.to_numpy(dtype=np.float64)
    out = np.full(len(values), np.nan)
    if len(values) >= n:
        windows = sliding_window_view(values, n)
        chunk = 1 << 16  # bounds the temporary (chunk, n) array of deviations
        for start in range(0, len(windows), chunk):
            out[n - 1 + start : n - 1 + start + chunk] = windows[start : start + chunk].std(axis=1)
    constant = x.rolling(n).max() == x.rolling(n).min()
    return pd.Series(out, index=x.index).mask(constant, 0.0)


def _frame(bars: pd.DataFrame, **columns: pd.Series | np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}, index=bars.index
    )


# --- the indicators -------------------------------------------------------------------------------
def keltner(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Raschke's Keltner channel: EMA(close) plus/minus multiplier x ATR."""
    middle = _ema(bars["close"], p["period"])
    width = p["multiplier"] * _atr(bars, p["atr_period"])
    return _frame(bars, upper=middle + width, middle=middle.where(width.notna()), lower=middle - width)


def donchian(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Donchian: the highest high and lowest low of the last ``period`` bars, and their midpoint."""
    upper = bars["high"].rolling(p["period"]).max()
    lower = bars["low"].rolling(p["period"]).min()
    return _frame(bars, upper=upper, middle=(upper + lower) / 2, lower=lower)


def vwap(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Rolling VWAP of the typical price; a window without volume gives the plain mean typical price."""
    n = p["period"]
    typical = (bars["high"] + bars["low"] + bars["close"]) / 3
    traded = (typical * bars["volume"]).rolling(n).sum()
    volume = bars["volume"].rolling(n).sum()
    no_volume = (bars["volume"] != 0).rolling(n).sum() == 0
    return _frame(bars, vwap=(traded / volume).mask(no_volume, typical.rolling(n).mean()))


def cmf(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Chaikin money flow: the window's money-flow volume over its volume."""
    n = p["period"]
    high, low, close, volume = bars["high"], bars["low"], bars["close"], bars["volume"]
    spread = high - low
    # A bar without a range contributes no money flow (TA-Lib's AD does the same).
    multiplier = (((close - low) - (high - close)) / spread).where(spread > 0, 0.0)
    flow = (multiplier * volume).rolling(n).sum() / volume.rolling(n).sum()
    no_volume = (volume != 0).rolling(n).sum() == 0
    return _frame(bars, cmf=flow.mask(no_volume, 0.0))


def supertrend(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """SuperTrend: ATR bands around the median price that only tighten, and the flip rule."""
    atr = _atr(bars, p["period"]).to_numpy()
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    hl2 = (high + low) / 2
    basic_upper = hl2 + p["multiplier"] * atr
    basic_lower = hl2 - p["multiplier"] * atr
    line = np.full(len(bars), np.nan)
    direction = np.full(len(bars), np.nan)
    upper = lower = np.nan
    trend = -1.0
    for t in range(len(bars)):
        if np.isnan(atr[t]):
            continue
        if np.isnan(upper):  # the first bar with an ATR starts in a downtrend (TradingView's choice)
            upper, lower, trend = basic_upper[t], basic_lower[t], -1.0
        else:
            lower = basic_lower[t] if basic_lower[t] > lower or close[t - 1] < lower else lower
            upper = basic_upper[t] if basic_upper[t] < upper or close[t - 1] > upper else upper
            if trend < 0 and close[t] > upper:
                trend = 1.0
            elif trend > 0 and close[t] < lower:
                trend = -1.0
        line[t] = lower if trend > 0 else upper
        direction[t] = trend
    return _frame(bars, supertrend=line, direction=direction)


def _midpoint(bars: pd.DataFrame, n: int) -> pd.Series:
    return (bars["high"].rolling(n).max() + bars["low"].rolling(n).min()) / 2


def ichimoku(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Ichimoku's four lines, each at the bar it is computed on (no displacement, no chikou)."""
    tenkan = _midpoint(bars, p["tenkan"])
    kijun = _midpoint(bars, p["kijun"])
    senkou_b = _midpoint(bars, p["senkou"])
    ready = senkou_b.notna()
    return _frame(
        bars,
        tenkan=tenkan.where(ready),
        kijun=kijun.where(ready),
        senkou_a=((tenkan + kijun) / 2).where(ready),
        senkou_b=senkou_b,
    )


def chandelier(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """LeBeau's chandelier exit: ATR multiples below the highest high and above the lowest low."""
    width = p["multiplier"] * _atr(bars, p["atr_period"])
    highest = bars["high"].rolling(p["period"]).max()
    lowest = bars["low"].rolling(p["period"]).min()
    return _frame(bars, long_stop=highest - width, short_stop=lowest + width)


def ssl(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """SSL channel: SMAs of the highs and lows, swapped by the close's last decisive break."""
    n = p["period"]
    sma_high = bars["high"].rolling(n).mean().to_numpy()
    sma_low = bars["low"].rolling(n).mean().to_numpy()
    close = bars["close"].to_numpy()
    up = np.full(len(bars), np.nan)
    down = np.full(len(bars), np.nan)
    hlv = 0
    for t in range(n - 1, len(bars)):
        if close[t] > sma_high[t]:
            hlv = 1
        elif close[t] < sma_low[t]:
            hlv = -1
        down[t] = sma_high[t] if hlv < 0 else sma_low[t]
        up[t] = sma_low[t] if hlv < 0 else sma_high[t]
    return _frame(bars, up=up, down=down)


def ttm_squeeze(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Carter's squeeze: Bollinger Bands inside Keltner Channels, and the linear-regression momentum."""
    n = p["period"]
    close = bars["close"]
    basis = close.rolling(n).mean()
    deviation = p["bb_mult"] * _rolling_std(close, n)
    keltner_range = _true_range(bars).rolling(n).mean() * p["kc_mult"]
    squeeze_on = ((basis - deviation) > (basis - keltner_range)) & ((basis + deviation) < (basis + keltner_range))
    detrended = close - (_midpoint(bars, n) + basis) / 2
    x = np.arange(n, dtype=np.float64)
    momentum = detrended.rolling(n).apply(lambda y: np.polyval(np.polyfit(x, y, 1), n - 1), raw=True)
    ready = momentum.notna()
    return _frame(bars, squeeze_on=squeeze_on.astype(np.float64).where(ready), momentum=momentum)


def alligator(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Williams' alligator: SMMAs of the median price, not shifted forward."""
    median = (bars["high"] + bars["low"]) / 2
    jaw = _wilder(median, p["jaw"])
    ready = jaw.notna()
    return _frame(
        bars, jaw=jaw, teeth=_wilder(median, p["teeth"]).where(ready), lips=_wilder(median, p["lips"]).where(ready)
    )


def vortex(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Botes and Siepman's vortex: summed vortex movements over the summed true range."""
    n = p["period"]
    high, low = bars["high"], bars["low"]
    tr = _true_range(bars)
    tr_sum = tr.rolling(n).sum()
    still = (tr != 0).rolling(n).sum() == 0
    vi_plus = (high - low.shift(1)).abs().rolling(n).sum() / tr_sum
    vi_minus = (low - high.shift(1)).abs().rolling(n).sum() / tr_sum
    return _frame(bars, vi_plus=vi_plus.mask(still, 0.0), vi_minus=vi_minus.mask(still, 0.0))


def chaikin_volatility(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Chaikin volatility: the percentage change of the EMA of high - low over ``roc_period`` bars."""
    ema = _ema(bars["high"] - bars["low"], p["period"])
    before = ema.shift(p["roc_period"])
    change = ((ema / before) - 1.0) * 100.0
    return _frame(bars, chaikin_volatility=change.mask(before == 0, 0.0))


def damiani(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Damiani volatmeter: short/long ATR ratio with the lag suppressor, and level - short/long std ratio."""
    atr_vis = _atr(bars, p["vis_atr"]).to_numpy()
    atr_sed = _atr(bars, p["sed_atr"]).to_numpy()
    ratio = np.where(atr_sed > 0, atr_vis / np.where(atr_sed > 0, atr_sed, 1.0), 0.0)
    ratio[np.isnan(atr_sed)] = np.nan
    vol = np.full(len(bars), np.nan)
    for t in range(len(bars)):
        if np.isnan(ratio[t]):
            continue
        # vol[t - 1] and vol[t - 3] count as 0 before the first value (Pine's nz()).
        one = vol[t - 1] if t >= 1 and not np.isnan(vol[t - 1]) else 0.0
        three = vol[t - 3] if t >= 3 and not np.isnan(vol[t - 3]) else 0.0
        vol[t] = ratio[t] + p["lag"] * (one - three)
    close = bars["close"]
    std_vis = _rolling_std(close, p["vis_std"])
    std_sed = _rolling_std(close, p["sed_std"])
    anti = (std_vis / std_sed).mask(std_sed == 0, 0.0)
    threshold = p["level"] - anti
    ready = ~np.isnan(vol) & threshold.notna().to_numpy()
    return _frame(bars, vol=np.where(ready, vol, np.nan), threshold=threshold.where(ready))


REFERENCES: dict[str, Callable[[pd.DataFrame, dict], pd.DataFrame]] = {
    "keltner": keltner,
    "donchian": donchian,
    "vwap": vwap,
    "cmf": cmf,
    "supertrend": supertrend,
    "ichimoku": ichimoku,
    "chandelier": chandelier,
    "ssl": ssl,
    "ttm_squeeze": ttm_squeeze,
    "alligator": alligator,
    "vortex": vortex,
    "chaikin_volatility": chaikin_volatility,
    "damiani": damiani,
}
