"""The handbook's indicators beyond TA-Lib, written plainly from their published definitions.

RMI, DV2, PGO, TTF, the inverse Fisher RSI, ASH, Waddah Attar's explosion, Wilder's ASI, Fibonacci retracement
levels, Ehlers' adaptive Laguerre filter, the Lorentzian classifier's normalised features and VuManChu's Ciphers.
Per-bar formulas are pandas/NumPy; windowed sums are left-to-right loops over each window (as the kernels sum
them, so the two agree operation for operation); recursions are plain loops with the seeds stated in each
indicator's ``definition``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _frame(bars: pd.DataFrame, **columns: np.ndarray) -> pd.DataFrame:
    """The outputs, all NaN until the last of them is ready."""
    frame = pd.DataFrame(columns, index=bars.index)
    return frame.where(frame.notna().all(axis=1))


def _sum(values) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


def _ema(values: np.ndarray, n: int) -> np.ndarray:
    """EMA with alpha = 2/(n + 1), seeded with the mean of its first n inputs (leading NaN skipped)."""
    out = np.full(len(values), np.nan)
    alpha = 2 / (n + 1)
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid) < n:
        return out
    start = valid[0]
    value = _sum(values[start : start + n]) / n
    out[start + n - 1] = value
    for t in range(start + n, len(values)):
        value = value + alpha * (values[t] - value)
        out[t] = value
    return out


def _rsi(close: np.ndarray, n: int) -> np.ndarray:
    """TA-Lib's RSI (the `rsi` indicator): means of the first n gains and losses, then Wilder's smoothing."""
    out = np.full(len(close), np.nan)
    inverse = 1.0 / n
    gain_sum = loss_sum = 0.0
    for t in range(1, len(close)):
        change = close[t] - close[t - 1]
        gain = change if change > 0 else 0.0
        loss = gain - change
        if t <= n:
            gain_sum += gain
            loss_sum += loss
            if t < n:
                continue
            gain_sum *= inverse
            loss_sum *= inverse
        else:
            gain_sum = (gain_sum * (n - 1.0) + gain) * inverse
            loss_sum = (loss_sum * (n - 1.0) + loss) * inverse
        total = gain_sum + loss_sum
        out[t] = 100.0 * (gain_sum / total) if total > 0 else 0.0
    return out


def _true_range(bars: pd.DataFrame) -> np.ndarray:
    high, low, prev = bars["high"], bars["low"], bars["close"].shift(1)
    ranges = pd.concat([high - low, (prev - high).abs(), (prev - low).abs()], axis=1)
    return ranges.max(axis=1, skipna=False).to_numpy()  # none on the first bar: it has no previous close


def rmi(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Altman (1993): Wilder's averages of the rises and falls of close - close[t - momentum]."""
    n, m = p["period"], p["momentum"]
    close = bars["close"].to_numpy()
    out = np.full(len(close), np.nan)
    change = close[m:] - close[:-m] if len(close) > m else np.array([])
    up = down = 0.0
    for k, c in enumerate(change, start=1):
        gain = c if c > 0 else 0.0
        loss = gain - c
        if k <= n:
            up, down = up + gain, down + loss
            if k < n:
                continue
            up, down = up / n, down / n
        else:
            up = (up * (n - 1.0) + gain) / n
            down = (down * (n - 1.0) + loss) / n
        out[m + k - 1] = 100.0 * up / (up + down) if up + down > 0 else 50.0
    return _frame(bars, rmi=out)


def dv2(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Varadi (2009): percent rank of the mean of close/((high + low)/2) - 1 among the previous values."""
    n, lookback = p["period"], p["lookback"]
    ratio = (bars["close"] / ((bars["high"] + bars["low"]) / 2.0) - 1.0).to_numpy()
    mean = np.full(len(ratio), np.nan)
    for t in range(n - 1, len(ratio)):
        mean[t] = _sum(ratio[t - n + 1 : t + 1]) / n
    out = np.full(len(ratio), np.nan)
    for t in range(n - 1 + lookback, len(ratio)):
        out[t] = 100.0 * np.sum(mean[t - lookback : t] < mean[t]) / lookback
    return _frame(bars, dv2=out)


def pgo(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Johnson: (close - SMA) / EMA(true range)."""
    n = p["period"]
    close = bars["close"].to_numpy()
    atr = _ema(_true_range(bars), n)
    out = np.full(len(close), np.nan)
    for t in range(n, len(close)):
        gap = close[t] - _sum(close[t - n + 1 : t + 1]) / n
        out[t] = gap / atr[t] if atr[t] > 0 else 0.0
    return _frame(bars, pgo=out)


def ttf(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Pee (2004): buy power against sell power over the last two windows of n bars."""
    n = p["period"]
    highest, lowest = bars["high"].rolling(n).max(), bars["low"].rolling(n).min()
    buy = highest - lowest.shift(n)
    sell = highest.shift(n) - lowest
    total = buy + sell
    out = ((buy - sell) / (0.5 * total) * 100.0).where(total > 0, 0.0).where(total.notna())
    return _frame(bars, ttf=out.to_numpy())


def ifisher_rsi(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Ehlers (2004): (exp(2v) - 1)/(exp(2v) + 1) of v = WMA(0.1 * (RSI - 50))."""
    m = p["wma"]
    v1 = 0.1 * (_rsi(bars["close"].to_numpy(), p["period"]) - 50.0)
    out = np.full(len(v1), np.nan)
    weights = m * (m + 1.0) / 2.0
    for t in range(len(v1)):
        window = v1[t - m + 1 : t + 1] if t >= m - 1 else []
        if len(window) < m or np.isnan(window).any():
            continue
        total = 0.0
        for i, v in enumerate(window):
            total += (i + 1.0) * v
        e = math.exp(2.0 * (total / weights))
        out[t] = (e - 1.0) / (e + 1.0)
    return _frame(bars, ifisher=out)


def ash(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Absolute strength, RSI mode: EMAs of (|d| + d)/2 and (|d| - d)/2 of the one-bar change d."""
    d = bars["close"].diff().to_numpy()
    bulls, bears = 0.5 * (np.abs(d) + d), 0.5 * (np.abs(d) - d)
    n, m = p["period"], p["smooth"]
    return _frame(bars, bulls=_ema(_ema(bulls, n), m), bears=_ema(_ema(bears, n), m))


def waddah_attar(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Waddah Attar (2006), LazyBear's Pine version: MACD change, Bollinger width, 3.7 ATR(100)."""
    close = bars["close"].to_numpy()
    macd = _ema(close, p["fast"]) - _ema(close, p["slow"])
    trend = (macd - np.r_[np.nan, macd[:-1]]) * p["sensitivity"]
    n = p["channel"]
    explosion = np.full(len(close), np.nan)
    for t in range(n - 1, len(close)):
        window = close[t - n + 1 : t + 1]
        mean = _sum(window) / n
        deviation = math.sqrt(_sum((x - mean) * (x - mean) for x in window) / n)
        explosion[t] = (mean + p["mult"] * deviation) - (mean - p["mult"] * deviation)
    tr = _true_range(bars).copy()
    tr[:1] = (bars["high"] - bars["low"]).to_numpy()[:1]  # Pine's ta.tr(true) on the first bar
    dead = np.full(len(close), np.nan)
    if len(tr) >= 100:
        rma = _sum(tr[:100]) / 100.0
        dead[99] = rma
        for t in range(100, len(tr)):
            rma = rma + (tr[t] - rma) / 100.0
            dead[t] = rma
    first = max(p["slow"], n - 1, 99)
    valid = np.arange(len(close)) >= first
    up = np.where(valid, np.where(trend >= 0, trend, 0.0), np.nan)
    down = np.where(valid, np.where(trend < 0, -trend, 0.0), np.nan)
    return _frame(bars, trend_up=up, trend_down=down, explosion=explosion, dead_zone=dead * 3.7)


def asi(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Wilder (1978): the running sum of the swing index, T = limit percent of the previous close."""
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    out = np.full(len(c), np.nan)
    total = 0.0
    for t in range(1, len(c)):
        cy, oy = c[t - 1], o[t - 1]
        a, b, span, body = abs(h[t] - cy), abs(lo[t] - cy), h[t] - lo[t], abs(cy - oy)
        if a >= b and a >= span:
            r = a - 0.5 * b + 0.25 * body
        elif b >= a and b >= span:
            r = b - 0.5 * a + 0.25 * body
        else:
            r = span + 0.25 * body
        limit = p["limit"] / 100.0 * cy
        if r > 0 and limit > 0:
            total += 50.0 * (c[t] - cy + 0.5 * (c[t] - o[t]) + 0.25 * (cy - oy)) / r * max(a, b) / limit
        out[t] = total
    return _frame(bars, asi=out)


def fib_retracement(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Retracements of the rolling swing: down from the high after an up-swing, up from the low after a down."""
    n = p["period"]
    high, low = bars["high"].to_numpy(), bars["low"].to_numpy()
    columns = {name: np.full(len(high), np.nan) for name in ("level_236", "level_382", "level_500")}
    columns |= {name: np.full(len(high), np.nan) for name in ("level_618", "level_786", "direction")}
    for t in range(n - 1, len(high)):
        highs, lows = high[t - n + 1 : t + 1], low[t - n + 1 : t + 1]
        top, bottom = highs.max(), lows.min()
        up = np.flatnonzero(highs == top)[-1] >= np.flatnonzero(lows == bottom)[-1]
        for ratio, name in zip((0.236, 0.382, 0.5, 0.618, 0.786), list(columns)[:5], strict=True):
            columns[name][t] = top - ratio * (top - bottom) if up else bottom + ratio * (top - bottom)
        columns["direction"][t] = 1.0 if up else -1.0
    return _frame(bars, **columns)


def adaptive_laguerre(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Ehlers (2002): a Laguerre filter whose alpha is the median of 5 normalised filter errors."""
    n = p["period"]
    price = ((bars["high"] + bars["low"]) / 2.0).to_numpy()
    out = np.full(len(price), np.nan)
    if not len(price):
        return _frame(bars, filter=out)
    l0 = l1 = l2 = l3 = filt = price[0]
    alpha = 0.0
    diffs: list[float] = []
    norms: list[float] = []
    for t in range(1, len(price)):
        diff = abs(price[t] - filt)
        diffs.append(diff)
        if t >= n:
            window = diffs[-n:]
            highest, lowest = max(window), min(window)
            norms.append((diff - lowest) / (highest - lowest) if highest > lowest else 0.0)
            if len(norms) >= 5 and highest > lowest:
                alpha = float(np.median(norms[-5:]))
        keep = 1.0 - alpha
        p0, p1, p2 = l0, l1, l2
        l0 = alpha * price[t] + keep * l0
        l1 = -keep * l0 + p0 + keep * l1
        l2 = -keep * l1 + p1 + keep * l2
        l3 = -keep * l2 + p2 + keep * l3
        filt = (l0 + 2.0 * l1 + 2.0 * l2 + l3) / 6.0
        if len(norms) >= 5:
            out[t] = filt
    return _frame(bars, filter=out)


def _normalized(values: np.ndarray) -> np.ndarray:
    """MLExtensions' normalize(src, 0, 1): within the range of every value so far."""
    out = np.full(len(values), np.nan)
    low, high = math.inf, -math.inf
    for t, v in enumerate(values):
        if np.isnan(v):
            continue
        low, high = min(low, v), max(high, v)
        out[t] = (v - low) / max(high - low, 1e-9)
    return out


def lorentzian_rsi(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """n_rsi: rescale(EMA(RSI), 0, 100, 0, 1)."""
    return _frame(bars, rsi=_ema(_rsi(bars["close"].to_numpy(), p["period"]), p["smooth"]) / 100.0)


def lorentzian_cci(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """n_cci: normalize(EMA(CCI(close)), 0, 1), CCI = (x - SMA) / (0.015 * mean absolute deviation)."""
    n = p["period"]
    close = bars["close"].to_numpy()
    cci = np.full(len(close), np.nan)
    for t in range(n - 1, len(close)):
        window = close[t - n + 1 : t + 1]
        mean = _sum(window) / n
        deviation = _sum(abs(x - mean) for x in window) / n
        cci[t] = (close[t] - mean) / (0.015 * deviation) if deviation > 1e-12 * abs(mean) else 0.0
    return _frame(bars, cci=_normalized(_ema(cci, p["smooth"])))


def lorentzian_wt(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """n_wt: normalize(wt1 - SMA(wt1, 4), 0, 1) of LazyBear's WaveTrend of hlc3."""
    ap = ((bars["high"] + bars["low"] + bars["close"]) / 3).to_numpy()
    esa = _ema(ap, p["channel"])
    d = _ema(np.abs(ap - esa), p["channel"])
    ci = np.full(len(ap), np.nan)
    ready = ~np.isnan(d)
    flat = d[ready] <= 1e-12 * np.abs(esa[ready])
    ci[ready] = np.where(flat, 0.0, (ap[ready] - esa[ready]) / (0.015 * np.where(flat, 1.0, d[ready])))
    wt1 = _ema(ci, p["average"])
    wt2 = np.full(len(ap), np.nan)
    for t in range(3, len(ap)):
        window = wt1[t - 3 : t + 1]
        if not np.isnan(window).any():
            wt2[t] = _sum(window) / 4
    return _frame(bars, wt=_normalized(wt1 - wt2))


def lorentzian_adx(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """n_adx: the script's ADX (Wilder's running sums from 0, Pine's ta.rma of DX), rescaled to 0-1."""
    n = p["period"]
    high, low = bars["high"].to_numpy(), bars["low"].to_numpy()
    tr = _true_range(bars)
    out = np.full(len(high), np.nan)
    s_tr = s_plus = s_minus = seed = rma = 0.0
    for t in range(1, len(high)):
        up, down = high[t] - high[t - 1], low[t - 1] - low[t]
        plus = max(up, 0.0) if up > down else 0.0
        minus = max(down, 0.0) if down > up else 0.0
        s_tr = s_tr - s_tr / n + tr[t]
        s_plus = s_plus - s_plus / n + plus
        s_minus = s_minus - s_minus / n + minus
        di_plus = s_plus / s_tr * 100.0 if s_tr > 0 else 0.0
        di_minus = s_minus / s_tr * 100.0 if s_tr > 0 else 0.0
        dx = abs(di_plus - di_minus) / (di_plus + di_minus) * 100.0 if di_plus + di_minus > 0 else 0.0
        if t <= n:
            seed += dx
            if t == n:
                rma = seed / n
                out[t] = rma / 100.0
        else:
            rma = (1.0 / n) * dx + (1.0 - 1.0 / n) * rma
            out[t] = rma / 100.0
    return _frame(bars, adx=out)


def _wavetrend(bars: pd.DataFrame, channel: int, average: int, ma: int) -> tuple[np.ndarray, np.ndarray]:
    """LazyBear's WaveTrend of hlc3: wt1 = EMA of the channel index, wt2 = SMA(wt1, ma)."""
    ap = ((bars["high"] + bars["low"] + bars["close"]) / 3).to_numpy()
    esa = _ema(ap, channel)
    d = _ema(np.abs(ap - esa), channel)
    ci = np.full(len(ap), np.nan)
    ready = ~np.isnan(d)
    flat = d[ready] <= 1e-12 * np.abs(esa[ready])
    ci[ready] = np.where(flat, 0.0, (ap[ready] - esa[ready]) / (0.015 * np.where(flat, 1.0, d[ready])))
    wt1 = _ema(ci, average)
    wt2 = np.full(len(ap), np.nan)
    for t in range(ma - 1, len(ap)):
        window = wt1[t - ma + 1 : t + 1]
        if not np.isnan(window).any():
            wt2[t] = _sum(window) / ma
    return wt1, wt2


def _shift(x: np.ndarray) -> np.ndarray:
    return np.r_[np.nan, x[:-1]]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pine's cross(a, b): from either side on this bar."""
    pa, pb = _shift(a), _shift(b)
    return ((a > b) & (pa <= pb)) | ((a < b) & (pa >= pb))


def _signal(fired: np.ndarray, ready: np.ndarray) -> np.ndarray:
    return np.where(ready, fired.astype(float), np.nan)


def cipher_b(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """VuManChu Cipher B (2020): WaveTrend waves, their difference, the RSI+MFI area, buy and sell dots."""
    wt1, wt2 = _wavetrend(bars, p["channel"], p["average"], p["ma"])
    body, span = (bars["close"] - bars["open"]).to_numpy(), (bars["high"] - bars["low"]).to_numpy()
    ratio = np.where(span > 0, body / np.where(span > 0, span, 1.0) * p["mfi_mult"], 0.0)
    n = p["mfi_period"]
    rsi_mfi = np.full(len(ratio), np.nan)
    for t in range(n - 1, len(ratio)):
        rsi_mfi[t] = _sum(ratio[t - n + 1 : t + 1]) / n - 2.5
    ready = ~np.isnan(_shift(wt2)) & ~np.isnan(rsi_mfi)
    cross = _cross(wt1, wt2)
    return _frame(
        bars,
        wt1=np.where(ready, wt1, np.nan),
        wt2=wt2,
        vwap=wt1 - wt2,
        rsi_mfi=rsi_mfi,
        buy=_signal(cross & (wt2 - wt1 <= 0) & (wt2 <= -53), ready),
        sell=_signal(cross & (wt2 - wt1 >= 0) & (wt2 >= 53), ready),
    )


def cipher_a(bars: pd.DataFrame, p: dict) -> pd.DataFrame:
    """VuManChu Cipher A (2020): the EMA ribbon, WaveTrend waves, EMA crossovers and WaveTrend diamonds."""
    close = bars["close"].to_numpy()
    lengths = (5, 11, 15, 18, 21, 24, 28, 34)
    emas = {f"ema{n}": _ema(close, n) for n in lengths}
    wt1, wt2 = _wavetrend(bars, p["channel"], p["average"], p["ma"])
    ready = ~np.isnan(_shift(wt2)) & ~np.isnan(_shift(emas["ema34"]))
    e2, e8 = emas["ema11"], emas["ema34"]
    cross = _cross(wt1, wt2)
    return _frame(
        bars,
        **{name: np.where(ready, values, np.nan) for name, values in emas.items()},
        wt1=wt1,
        wt2=wt2,
        long_ema=_signal((e2 > e8) & (_shift(e2) <= _shift(e8)), ready),
        short_ema=_signal((e8 > e2) & (_shift(e8) <= _shift(e2)), ready),
        red_diamond=_signal(cross & (wt2 - wt1 >= 0), ready),
        green_diamond=_signal(cross & (wt2 - wt1 <= 0), ready),
    )


REFERENCES = {
    "rmi": rmi,
    "dv2": dv2,
    "pgo": pgo,
    "ttf": ttf,
    "ifisher_rsi": ifisher_rsi,
    "ash": ash,
    "waddah_attar": waddah_attar,
    "asi": asi,
    "fib_retracement": fib_retracement,
    "adaptive_laguerre": adaptive_laguerre,
    "lorentzian_rsi": lorentzian_rsi,
    "lorentzian_cci": lorentzian_cci,
    "lorentzian_wt": lorentzian_wt,
    "lorentzian_adx": lorentzian_adx,
    "cipher_a": cipher_a,
    "cipher_b": cipher_b,
}
