"""Volume indicators: OBV, the accumulation/distribution line, its oscillator (ADOSC) and MFI.

Each is written once as an update over a small float64 state and follows TA-Lib 0.8's arithmetic
operation by operation (its EMAs in ADOSC are fused multiply-adds, its money-flow sums are running
sums reset to exactly 0 once a whole window has had no money flow), so values agree with TA-Lib to
the last bit. OBV and AD are running totals from the first bar given: like TA-Lib's, their level
depends on where the series starts, only their changes carry information.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma
from neurotrade.indicators._params import Greater, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


@njit(cache=True, error_model="numpy", inline="always")
def _ad_step(ad, high, low, close, volume):
    """Add one bar's money-flow volume to the accumulation/distribution line (none for a bar without range)."""
    span = high - low
    if span > 0.0:
        return (((close - low) - (high - close)) / span) * volume + ad
    return ad


# --- OBV ------------------------------------------------------------------------------------------
# State: bars seen, previous close, OBV. The first bar's OBV is its own volume.
_OBV_COUNT = 0
_OBV_CLOSE = 1
_OBV_VALUE = 2


@njit(cache=True, error_model="numpy")
def _obv_init(params):
    return np.zeros(_OBV_VALUE + 1)


@njit(cache=True, error_model="numpy")
def _obv_update(state, params, bars, out):
    count, prev, obv = state[_OBV_COUNT], state[_OBV_CLOSE], state[_OBV_VALUE]
    rows = bars.shape[0]
    if rows == 0:
        return
    start = 0
    if count == 0.0:
        obv = bars[0, 1]
        prev = bars[0, 0]
        out[0, 0] = obv
        start = 1
    for row in range(start, rows):
        close, volume = bars[row, 0], bars[row, 1]
        # -1, 0 or +1 times the volume, without a branch the data would mispredict; adding or
        # subtracting the volume this way is exact.
        direction = (1.0 if close > prev else 0.0) - (1.0 if close < prev else 0.0)
        obv += direction * volume
        prev = close
        out[row, 0] = obv
    state[_OBV_COUNT], state[_OBV_CLOSE], state[_OBV_VALUE] = count + rows, prev, obv


# --- AD -------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _ad_init(params):
    return np.zeros(1)


@njit(cache=True, error_model="numpy")
def _ad_update(state, params, bars, out):
    ad = state[0]
    for row in range(bars.shape[0]):
        ad = _ad_step(ad, bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3])
        out[row, 0] = ad
    state[0] = ad


# --- ADOSC ----------------------------------------------------------------------------------------
# Chaikin's oscillator: two EMAs of the AD line, both seeded with its first value (not an SMA), each
# step one fused multiply-add `(1 - k) * ema + k * ad`. State: bars seen, AD, fast EMA, slow EMA.
_ADOSC_COUNT = 0
_ADOSC_AD = 1
_ADOSC_FAST = 2
_ADOSC_SLOW = 3


@njit(cache=True, error_model="numpy")
def _adosc_init(params):
    return np.zeros(_ADOSC_SLOW + 1)


@njit(cache=True, error_model="numpy")
def _adosc_update(state, params, bars, out):
    fast, slow = params[0], params[1]
    k_fast = 2.0 / (fast + 1.0)
    k_slow = 2.0 / (slow + 1.0)
    keep_fast = 1.0 - k_fast
    keep_slow = 1.0 - k_slow
    first = max(fast, slow) - 1.0
    count, ad = state[_ADOSC_COUNT], state[_ADOSC_AD]
    fast_ema, slow_ema = state[_ADOSC_FAST], state[_ADOSC_SLOW]
    rows = bars.shape[0]
    row = 0
    while row < rows and count < first:
        ad = _ad_step(ad, bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3])
        if count == 0.0:
            fast_ema = ad
            slow_ema = ad
        else:
            fast_ema = fma(keep_fast, fast_ema, k_fast * ad)
            slow_ema = fma(keep_slow, slow_ema, k_slow * ad)
        out[row, 0] = np.nan
        count += 1.0
        row += 1
    for r in range(row, rows):
        ad = _ad_step(ad, bars[r, 0], bars[r, 1], bars[r, 2], bars[r, 3])
        fast_ema = fma(keep_fast, fast_ema, k_fast * ad)
        slow_ema = fma(keep_slow, slow_ema, k_slow * ad)
        out[r, 0] = fast_ema - slow_ema
    state[_ADOSC_COUNT], state[_ADOSC_AD] = count + (rows - row), ad
    state[_ADOSC_FAST], state[_ADOSC_SLOW] = fast_ema, slow_ema


# --- MFI ------------------------------------------------------------------------------------------
# Running sums of the positive and negative money flow (typical price * volume, signed by the
# typical price's move) over the last `period` bars, the bar leaving the window subtracted before
# the new one is added. A move within rounding of the typical prices (TA-Lib 0.8's relative test)
# carries no flow; once `period` bars in a row had none, both sums are set to exactly 0. State:
# bars seen, previous typical price, the two sums, bars in the current run without flow, position
# of the next write, then the rings of positive and of negative flows.
_MFI_COUNT = 0
_MFI_TYPICAL = 1
_MFI_POS = 2
_MFI_NEG = 3
_MFI_ZEROS = 4
_MFI_HEAD = 5
_MFI_RINGS = 6


@njit(cache=True, error_model="numpy")
def _mfi_init(params):
    return np.zeros(_MFI_RINGS + 2 * int(params[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _money_flow(typical, prev, volume):
    """Return the bar's ``(flow, positive, negative)`` money flow; all 0 for a move within rounding."""
    move = typical - prev
    flow = volume * typical
    # Selects rather than branches: the sign of the move is a coin flip the CPU would mispredict.
    flow = flow if np.abs(move) > 1e-14 * (np.abs(typical) + np.abs(prev)) else 0.0
    negative = flow if move < 0.0 else 0.0
    positive = 0.0 if move < 0.0 else flow
    return flow, positive, negative


@njit(cache=True, error_model="numpy", inline="always")
def _mfi_value(pos_sum, neg_sum):
    total = pos_sum + neg_sum
    if total > 0.0:
        # Rounding can leave the positive sum a hair outside [0, total]; TA-Lib clips it.
        share = 0.0 if pos_sum < 0.0 else min(total, pos_sum)
        return 100.0 * (share / total)
    return 0.0


@njit(cache=True, error_model="numpy")
def _mfi_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_MFI_RINGS:]
    pos_ring, neg_ring = rings[:size], rings[size:]
    count, prev = state[_MFI_COUNT], state[_MFI_TYPICAL]
    pos_sum, neg_sum = state[_MFI_POS], state[_MFI_NEG]
    zeros, head = state[_MFI_ZEROS], int(state[_MFI_HEAD])
    rows = bars.shape[0]
    row = 0
    while row < rows and count <= n:
        typical = (bars[row, 0] + bars[row, 1] + bars[row, 2]) / 3.0
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t > 0.0:
            flow, positive, negative = _money_flow(typical, prev, bars[row, 3])
            pos_sum += positive
            neg_sum += negative
            pos_ring[head] = positive
            neg_ring[head] = negative
            head = head + 1 if head + 1 < size else 0
            if flow == 0.0:
                zeros += 1.0
                if zeros >= n:
                    pos_sum = 0.0
                    neg_sum = 0.0
                    zeros = n
            else:
                zeros = 0.0
            if t == n:
                out[row, 0] = _mfi_value(pos_sum, neg_sum)
        prev = typical
        row += 1
    for r in range(row, rows):
        typical = (bars[r, 0] + bars[r, 1] + bars[r, 2]) / 3.0
        # The bar leaving the window goes before the new one comes in, as in TA-Lib.
        pos_sum -= pos_ring[head]
        neg_sum -= neg_ring[head]
        flow, positive, negative = _money_flow(typical, prev, bars[r, 3])
        prev = typical
        pos_sum += positive
        neg_sum += negative
        pos_ring[head] = positive
        neg_ring[head] = negative
        head = head + 1 if head + 1 < size else 0
        if flow == 0.0:
            zeros += 1.0
            # A whole window without money flow: the sums are exactly 0, not rounding residue.
            if zeros >= n:
                pos_sum = 0.0
                neg_sum = 0.0
                zeros = n
        else:
            zeros = 0.0
        out[r, 0] = _mfi_value(pos_sum, neg_sum)
    state[_MFI_COUNT], state[_MFI_TYPICAL] = count + (rows - row), prev
    state[_MFI_POS], state[_MFI_NEG] = pos_sum, neg_sum
    state[_MFI_ZEROS], state[_MFI_HEAD] = zeros, head


register(
    IndicatorInfo(
        name="obv",
        description="On-balance volume: the running total of volume, added on up closes, subtracted on down.",
        params=(),
        inputs=("close", "volume"),
        outputs=("obv",),
        talib="OBV",
        definition="Granville's OBV, starting from the first bar's volume: + volume when the close rises, "
        "- volume when it falls, unchanged when it does not move.",
    ),
    init=_obv_init,
    update=_obv_update,
    lookback=lambda p: 0,
    talib_args={},
)

register(
    IndicatorInfo(
        name="ad",
        description="Chaikin accumulation/distribution line: running total of close-location-weighted volume.",
        params=(),
        inputs=("high", "low", "close", "volume"),
        outputs=("ad",),
        talib="AD",
        definition="Running sum from 0 of ((close - low) - (high - close)) / (high - low) * volume; a bar "
        "without range adds nothing.",
    ),
    init=_ad_init,
    update=_ad_update,
    lookback=lambda p: 0,
    talib_args={},
)

register(
    IndicatorInfo(
        name="adosc",
        description="Chaikin A/D oscillator: fast EMA minus slow EMA of the accumulation/distribution line.",
        params=(
            period(3, "bars in the fast EMA of the AD line", name="fast"),
            period(10, "bars in the slow EMA of the AD line; must exceed fast", name="slow"),
        ),
        inputs=("high", "low", "close", "volume"),
        outputs=("adosc",),
        talib="ADOSC",
        definition="EMA(AD, fast) - EMA(AD, slow) with k = 2 / (period + 1), both EMAs seeded with the first AD value.",
    ),
    init=_adosc_init,
    update=_adosc_update,
    lookback=lambda p: int(p["slow"]) - 1,
    constraints=(Greater("slow", "fast"),),
    talib_args={"fast": "fastperiod", "slow": "slowperiod"},
)

register(
    IndicatorInfo(
        name="mfi",
        description="Money flow index: volume-weighted RSI of the typical price, 0 to 100.",
        params=(period(14),),
        inputs=("high", "low", "close", "volume"),
        outputs=("mfi",),
        talib="MFI",
        definition="100 * positive flow / (positive + negative flow) over `period` bars, the flow being "
        "typical price (high + low + close) / 3 times volume, positive when the typical price rose, "
        "negative when it fell; 0 when no money flowed.",
    ),
    init=_mfi_init,
    update=_mfi_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)
