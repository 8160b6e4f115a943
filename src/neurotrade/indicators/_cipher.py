"""VuManChu Cipher A and B: the open-source imitations of Market Cipher, from their published Pine scripts.

vumanchu, "VuManChu Cipher A" and "VuManChu Cipher B + Divergences" (TradingView, 2020, Pine v4, MPL 2.0), built
on LazyBear's WaveTrend. Cipher B plots the WaveTrend waves (wt1, wt2, and their difference, which the script
calls its VWAP), the "RSI+MFI area" (an SMA of each bar's body over its range) and dots where the waves cross in
the overbought or oversold zone; Cipher A an eight-EMA ribbon with crossover signals and WaveTrend diamonds.
These are the numeric parts of both; the higher-timeframe, divergence and colour logic is left out (it needs
other timeframes or looks back at pivots confirmed later). Each is written once as an update over a small
float64 state. The exponential averages are seeded with the mean of their first inputs (``_composite._ema``)
and the WaveTrend is the `wavetrend` indicator's; a crossing needs the previous bar's values, so every output
waits for it. Signals are 1.0 on the bar where they fire, else 0.0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._composite import _ema
from neurotrade.indicators._ehlers import FLAT
from neurotrade.indicators._params import Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

_OVERBOUGHT = 53.0  # both scripts' WaveTrend level 1
_OVERSOLD = -53.0
_POS_Y = 2.5  # Cipher B's "MFI Area Y Pos"
_RIBBON = (5.0, 11.0, 15.0, 18.0, 21.0, 24.0, 28.0, 34.0)  # Cipher A's EMA lengths


@njit(cache=True, error_model="numpy", inline="always")
def _wave(wt, ap, channel, average):
    """One bar of LazyBear's WaveTrend up to wt1 on ``wt[:9]`` (three EMAs' seen, sum, value); NaN while seeding."""
    a_channel, a_average = 2.0 / (channel + 1.0), 2.0 / (average + 1.0)
    wt[0], wt[1], wt[2], esa = _ema(wt[0], wt[1], wt[2], channel, a_channel, ap)
    if np.isnan(esa):
        return np.nan
    wt[3], wt[4], wt[5], d = _ema(wt[3], wt[4], wt[5], channel, a_channel, np.abs(ap - esa))
    if np.isnan(d):
        return np.nan
    ci = (ap - esa) / (0.015 * d) if d > FLAT * np.abs(esa) else 0.0
    wt[6], wt[7], wt[8], wt1 = _ema(wt[6], wt[7], wt[8], average, a_average, ci)
    return wt1


@njit(cache=True, error_model="numpy", inline="always")
def _ring_mean(ring, head):
    size = ring.shape[0]
    total = 0.0
    for i in range(size):
        slot = head + i
        total += ring[slot - size if slot >= size else slot]
    return total / size


@njit(cache=True, error_model="numpy", inline="always")
def _crossed(a, b, prev_a, prev_b):
    """Pine's cross(a, b): a crossed b from either side on this bar."""
    return (a > b and prev_a <= prev_b) or (a < b and prev_a >= prev_b)


# --- Cipher B -------------------------------------------------------------------------------------
# State: bars seen, the number of wt1 values, the heads of the two rings, the previous wt1 and wt2,
# the WaveTrend's EMAs (9), then a ring of the last `ma` wt1 values and one of the last `mfi_period`
# body / range ratios.
_CB_COUNT = 0
_CB_SEEN = 1
_CB_WT_HEAD = 2
_CB_MFI_HEAD = 3
_CB_PREV_WT1 = 4
_CB_PREV_WT2 = 5
_CB_WAVE = 6
_CB_RINGS = 15


@njit(cache=True, error_model="numpy")
def _cipher_b_init(params):
    return np.zeros(_CB_RINGS + int(params[2]) + int(params[3]))


@njit(cache=True, error_model="numpy")
def _cipher_b_update(state, params, bars, out):
    channel, average, ma, mfi_period, mfi_mult = params[0], params[1], params[2], params[3], params[4]
    size = int(ma)
    wave = state[_CB_WAVE:_CB_RINGS]
    wt_ring = state[_CB_RINGS : _CB_RINGS + size]
    mfi_ring = state[_CB_RINGS + size :]
    count, seen = state[_CB_COUNT], state[_CB_SEEN]
    wt_head, mfi_head = int(state[_CB_WT_HEAD]), int(state[_CB_MFI_HEAD])
    prev_wt1, prev_wt2 = state[_CB_PREV_WT1], state[_CB_PREV_WT2]
    for row in range(bars.shape[0]):
        o, h, lo, c = bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3]
        t = count
        count += 1.0
        for col in range(6):
            out[row, col] = np.nan
        span = h - lo
        mfi_ring[mfi_head] = (c - o) / span * mfi_mult if span > 0.0 else 0.0
        mfi_head = mfi_head + 1 if mfi_head + 1 < mfi_ring.shape[0] else 0
        wt1 = _wave(wave, (h + lo + c) / 3.0, channel, average)
        if np.isnan(wt1):
            continue
        wt_ring[wt_head] = wt1
        wt_head = wt_head + 1 if wt_head + 1 < size else 0
        seen += 1.0
        if seen < ma:
            continue
        wt2 = _ring_mean(wt_ring, wt_head)
        if seen > ma and t >= mfi_period - 1.0:
            cross = _crossed(wt1, wt2, prev_wt1, prev_wt2)
            out[row, 0] = wt1
            out[row, 1] = wt2
            out[row, 2] = wt1 - wt2
            out[row, 3] = _ring_mean(mfi_ring, mfi_head) - _POS_Y
            out[row, 4] = 1.0 if cross and wt2 - wt1 <= 0.0 and wt2 <= _OVERSOLD else 0.0
            out[row, 5] = 1.0 if cross and wt2 - wt1 >= 0.0 and wt2 >= _OVERBOUGHT else 0.0
        prev_wt1, prev_wt2 = wt1, wt2
    state[_CB_COUNT], state[_CB_SEEN] = count, seen
    state[_CB_WT_HEAD], state[_CB_MFI_HEAD] = wt_head, mfi_head
    state[_CB_PREV_WT1], state[_CB_PREV_WT2] = prev_wt1, prev_wt2


# --- Cipher A -------------------------------------------------------------------------------------
# State: bars seen, the number of wt1 values, the wt ring head, the previous wt1, wt2, EMA 11 and
# EMA 34, the WaveTrend's EMAs (9), the ribbon's eight EMAs (seen, sum, value each), then a ring of
# the last `ma` wt1 values.
_CA_COUNT = 0
_CA_SEEN = 1
_CA_HEAD = 2
_CA_PREV = 3
_CA_WAVE = 7
_CA_RIBBON = 16
_CA_RING = 40


@njit(cache=True, error_model="numpy")
def _cipher_a_init(params):
    return np.zeros(_CA_RING + int(params[2]))


@njit(cache=True, error_model="numpy")
def _cipher_a_update(state, params, bars, out):
    channel, average, ma = params[0], params[1], params[2]
    size = int(ma)
    wave = state[_CA_WAVE:_CA_RIBBON]
    ribbon = state[_CA_RIBBON:_CA_RING]
    ring = state[_CA_RING:]
    prev = state[_CA_PREV:_CA_WAVE]
    emas = np.empty(8)
    count, seen, head = state[_CA_COUNT], state[_CA_SEEN], int(state[_CA_HEAD])
    first = _RIBBON[7]  # the longest EMA's first value is at bar 33; a crossing needs one more
    for row in range(bars.shape[0]):
        h, lo, c = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        for col in range(14):
            out[row, col] = np.nan
        for k in range(8):
            n = _RIBBON[k]
            j = 3 * k
            ribbon[j], ribbon[j + 1], ribbon[j + 2], emas[k] = _ema(
                ribbon[j], ribbon[j + 1], ribbon[j + 2], n, 2.0 / (n + 1.0), c
            )
        wt1 = _wave(wave, (h + lo + c) / 3.0, channel, average)
        wt2 = np.nan
        if not np.isnan(wt1):
            ring[head] = wt1
            head = head + 1 if head + 1 < size else 0
            seen += 1.0
            if seen >= ma:
                wt2 = _ring_mean(ring, head)
        if seen > ma and t >= first:
            for k in range(8):
                out[row, k] = emas[k]
            out[row, 8] = wt1
            out[row, 9] = wt2
            ema11, ema34 = emas[1], emas[7]
            # Pine's crossover(a, b): a > b now and a <= b on the bar before.
            out[row, 10] = 1.0 if ema11 > ema34 and prev[2] <= prev[3] else 0.0
            out[row, 11] = 1.0 if ema34 > ema11 and prev[3] <= prev[2] else 0.0
            cross = _crossed(wt1, wt2, prev[0], prev[1])
            out[row, 12] = 1.0 if cross and wt2 - wt1 >= 0.0 else 0.0
            out[row, 13] = 1.0 if cross and wt2 - wt1 <= 0.0 else 0.0
        prev[0], prev[1], prev[2], prev[3] = wt1, wt2, emas[1], emas[7]
    state[_CA_COUNT], state[_CA_SEEN], state[_CA_HEAD] = count, seen, head


def _wave_params(average: int) -> tuple[Param, ...]:
    return (
        period(9, "bars in the WaveTrend's channel EMAs", name="channel"),
        period(average, "bars in the EMA of the channel index (wt1)", name="average"),
        period(3, "bars in the SMA of wt1 (wt2)", name="ma"),
    )


_SCRIPTS = "vumanchu, VuManChu Cipher A and VuManChu Cipher B + Divergences, TradingView, 2020 (Pine v4)"

register(
    IndicatorInfo(
        name="cipher_b",
        description="VuManChu Cipher B: WaveTrend waves, their difference, the RSI+MFI area and buy/sell dots.",
        params=(
            *_wave_params(12),
            period(60, "bars in the RSI+MFI area's SMA", name="mfi_period"),
            Param("mfi_mult", float, 150.0, 0.0, None, "RSI+MFI area multiplier", True),
        ),
        inputs=("open", "high", "low", "close"),
        outputs=("wt1", "wt2", "vwap", "rsi_mfi", "buy", "sell"),
        talib=None,
        definition="wt1 = EMA((hlc3 - EMA(hlc3, channel)) / (0.015 * EMA(|hlc3 - EMA(hlc3, channel)|, channel)), "
        "average), wt2 = SMA(wt1, ma), vwap = wt1 - wt2 (LazyBear's WaveTrend, as `wavetrend`); rsi_mfi = "
        "SMA((close - open) / (high - low) * mfi_mult, mfi_period) - 2.5 (a bar without range adds 0); buy = 1 "
        "where wt1 crosses wt2 upwards (wt2 - wt1 <= 0) with wt2 <= -53, sell = 1 where it crosses downwards "
        f"with wt2 >= 53 ({_SCRIPTS}).",
        bounds={"buy": (0.0, 1.0), "sell": (0.0, 1.0)},
    ),
    init=_cipher_b_init,
    update=_cipher_b_update,
    lookback=lambda p: max(2 * int(p["channel"]) + int(p["average"]) + int(p["ma"]) - 3, int(p["mfi_period"]) - 1),
)

register(
    IndicatorInfo(
        name="cipher_a",
        description="VuManChu Cipher A: an eight-EMA ribbon of the close, WaveTrend waves and their signals.",
        params=_wave_params(13),
        inputs=("high", "low", "close"),
        outputs=(
            "ema5",
            "ema11",
            "ema15",
            "ema18",
            "ema21",
            "ema24",
            "ema28",
            "ema34",
            "wt1",
            "wt2",
            "long_ema",
            "short_ema",
            "red_diamond",
            "green_diamond",
        ),
        talib=None,
        definition="EMAs of the close over 5, 11, 15, 18, 21, 24, 28 and 34 bars (the script's defaults), wt1 and "
        "wt2 of LazyBear's WaveTrend of hlc3 (as `cipher_b`); long_ema = 1 where EMA 11 crosses over EMA 34, "
        "short_ema where EMA 34 crosses over EMA 11, red_diamond where wt1 and wt2 cross with wt2 - wt1 >= 0, "
        f"green_diamond where they cross with wt2 - wt1 <= 0 ({_SCRIPTS}).",
        bounds={name: (0.0, 1.0) for name in ("long_ema", "short_ema", "red_diamond", "green_diamond")},
    ),
    init=_cipher_a_init,
    update=_cipher_a_update,
    lookback=lambda p: max(34, 2 * int(p["channel"]) + int(p["average"]) + int(p["ma"]) - 3),
)
