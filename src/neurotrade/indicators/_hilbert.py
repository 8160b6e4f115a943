"""Ehlers' Hilbert-transform studies as TA-Lib computes them: HT_DCPERIOD, HT_DCPHASE, HT_PHASOR, HT_SINE,
HT_TRENDLINE and MAMA/FAMA.

John Ehlers, *Rocket Science for Traders* (Wiley, 2001), chapters 6-10, and "MESA Adaptive Moving Averages",
Technical Analysis of Stocks & Commodities, September 2001. TA-Lib's implementation is the definition here: the
algorithm was learnt from TA-Lib's C source (``ta_HT_DCPERIOD.c``, ``ta_MAMA.c``, ...) and its arithmetic from the
behaviour of the installed TA-Lib 0.8, which evaluates the smoothers with fused multiply-adds; the values agree
with it to the last bit. No code is copied.

One kernel serves all six. Every bar feeds a four-bar WMA of the input, ``(4 x + 3 x1 + 2 x2 + x3) / 10``, kept as
TA-Lib keeps it (a running sum and a running sum of the sum). From bar 12 (MAMA, HT_DCPERIOD, HT_PHASOR) or bar 37
(the studies that need 63 bars of warm-up) the smoothed price goes through Ehlers' homodyne discriminator: four
Hilbert FIR filters (detrender, Q1, jI, jQ; coefficients 0.0962 and 0.5769, scaled by 0.075 * period + 0.54),
each keeping separate delay lines for even and odd bars, as TA-Lib does, since its filters skip a bar. Smoothed I2
and Q2 give the real and imaginary parts, whose angle gives the cycle period (clamped to 0.67-1.5 times the last
one and to 6-50 bars, then smoothed). MAMA adapts an EMA's factor to the phase change; the trendline averages
the input over the smoothed period; the phase and sine come from a DFT of the smoothed price over that period.
Warm-up: 32 bars, or 63 for HT_DCPHASE, HT_SINE and HT_TRENDLINE (TA-Lib's lookback with no unstable period:
its values are computed from bar 0 onwards, as these are, so they agree from the first value).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma
from neurotrade.indicators._params import Param
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

_A = 0.0962
_B = 0.5769
_DEGREES = 180.0 / math.pi
_RADIANS = 1.0 / _DEGREES
_TWO_PI = 2.0 * math.pi
_RING = 50  # the longest smoothed period, hence the longest window the trendline and the DFT read

# What the kernel reports.
_DCPERIOD = 0
_PHASOR = 1
_MAMA = 2
_TRENDLINE = 3
_SINE = 4
_DCPHASE = 5

# State: scalars, then the four Hilbert filters (10 each: odd and even delay lines of 3, the last
# output term and the last input, for odd and even bars), then rings of the last 50 smoothed prices
# and of the last 50 inputs.
_COUNT = 0
_WMA_SUB = 1  # running sum of the last four inputs (TA-Lib's periodWMASub)
_WMA_SUM = 2  # 4 x + 3 x1 + 2 x2 + x3 in waiting (periodWMASum)
_TRAILING = 3  # the input that leaves the four-bar sum next
_HILBERT_IDX = 4
_PERIOD = 5
_SMOOTH_PERIOD = 6
_PREV_I2 = 7
_PREV_Q2 = 8
_RE = 9
_IM = 10
_I1_ODD_3 = 11  # the detrender three (odd) bars back, used on odd bars
_I1_EVEN_3 = 12
_I1_ODD_2 = 13
_I1_EVEN_2 = 14
_MAMA_VALUE = 15
_FAMA_VALUE = 16
_PREV_PHASE = 17
_ITREND_1 = 18
_ITREND_2 = 19
_ITREND_3 = 20
_DC_PHASE = 21
_SMOOTH_HEAD = 22
_RAW_HEAD = 23
_FILTERS = 24
_SMOOTH_RING = _FILTERS + 40
_RAW_RING = _SMOOTH_RING + _RING
_SIZE = _RAW_RING + _RING


@njit(cache=True, error_model="numpy")
def _ht_init(params):
    return np.zeros(_SIZE)


@njit(cache=True, error_model="numpy", inline="always")
def _hilbert(state, k, even, slot, value, scale):
    """One Hilbert FIR step of filter ``k`` on its even or odd delay line (TA-Lib's DO_HILBERT_EVEN/ODD)."""
    base = _FILTERS + 10 * k
    line = base + 3 * even + slot
    term = _A * value
    out = -state[line]
    state[line] = term
    out += term
    out -= state[base + 6 + even]
    last = _B * state[base + 8 + even]
    state[base + 6 + even] = last
    out += last
    state[base + 8 + even] = value
    return out * scale


@njit(cache=True, error_model="numpy", inline="always")
def _ht_run(state, params, bars, out, kind):
    start = 37.0 if kind >= _TRENDLINE else 12.0
    first = 63.0 if kind >= _TRENDLINE else 32.0
    smooth_ring = state[_SMOOTH_RING:_RAW_RING]
    raw_ring = state[_RAW_RING:]
    count, wma_sub, wma_sum, trailing = state[_COUNT], state[_WMA_SUB], state[_WMA_SUM], state[_TRAILING]
    slot, period, smooth_period = int(state[_HILBERT_IDX]), state[_PERIOD], state[_SMOOTH_PERIOD]
    prev_i2, prev_q2, re, im = state[_PREV_I2], state[_PREV_Q2], state[_RE], state[_IM]
    i1_odd_3, i1_even_3 = state[_I1_ODD_3], state[_I1_EVEN_3]
    i1_odd_2, i1_even_2 = state[_I1_ODD_2], state[_I1_EVEN_2]
    mama, fama, prev_phase = state[_MAMA_VALUE], state[_FAMA_VALUE], state[_PREV_PHASE]
    itrend_1, itrend_2, itrend_3 = state[_ITREND_1], state[_ITREND_2], state[_ITREND_3]
    dc_phase, smooth_head, raw_head = state[_DC_PHASE], int(state[_SMOOTH_HEAD]), int(state[_RAW_HEAD])
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        for col in range(out.shape[1]):
            out[row, col] = np.nan
        raw_ring[raw_head] = x
        raw_head = raw_head + 1 if raw_head + 1 < _RING else 0
        # The four-bar WMA: TA-Lib seeds its two sums with the first three inputs (weights 1, 2, 3).
        if t < 3.0:
            wma_sub += x
            wma_sum += x * (t + 1.0)
            continue
        wma_sub += x
        wma_sub -= trailing
        wma_sum += x * 4.0
        back = raw_head - 4  # the input three bars before this one
        trailing = raw_ring[back + _RING if back < 0 else back]
        smoothed = wma_sum * 0.1
        wma_sum -= wma_sub
        if t < start:
            continue
        scale = fma(period, 0.075, 0.54)
        smooth_ring[smooth_head] = smoothed
        # TA-Lib's filters alternate delay lines with the parity of the bar's index.
        if int(t) % 2 == 0:
            detrender = _hilbert(state, 0, 1, slot, smoothed, scale)
            q1 = _hilbert(state, 1, 1, slot, detrender, scale)
            ji = _hilbert(state, 2, 1, slot, i1_even_3, scale)
            jq = _hilbert(state, 3, 1, slot, q1, scale)
            slot = slot + 1 if slot < 2 else 0
            q2 = fma(0.2, q1 + ji, 0.8 * prev_q2)
            i2 = fma(0.2, i1_even_3 - jq, 0.8 * prev_i2)
            i1 = i1_even_3
            i1_odd_3 = i1_odd_2
            i1_odd_2 = detrender
        else:
            detrender = _hilbert(state, 0, 0, slot, smoothed, scale)
            q1 = _hilbert(state, 1, 0, slot, detrender, scale)
            ji = _hilbert(state, 2, 0, slot, i1_odd_3, scale)
            jq = _hilbert(state, 3, 0, slot, q1, scale)
            q2 = fma(0.2, q1 + ji, 0.8 * prev_q2)
            i2 = fma(0.2, i1_odd_3 - jq, 0.8 * prev_i2)
            i1 = i1_odd_3
            i1_even_3 = i1_even_2
            i1_even_2 = detrender
        if kind == _PHASOR and t >= first:
            out[row, 0] = i1
            out[row, 1] = q1
        if kind == _MAMA:
            # The smoothing factor: the fast limit divided by the phase change (at least 1 degree), floored
            # at the slow limit; FAMA follows MAMA at half that factor.
            phase = math.atan(q1 / i1) * _DEGREES if i1 != 0.0 else 0.0
            delta = prev_phase - phase
            prev_phase = phase
            alpha = params[0]
            if delta > 1.0:
                alpha = params[0] / delta
                if alpha < params[1]:
                    alpha = params[1]
            mama = fma(1.0 - alpha, mama, alpha * x)
            alpha *= 0.5
            fama = fma(1.0 - alpha, fama, alpha * mama)
            if t >= first:
                out[row, 0] = mama
                out[row, 1] = fama
        re = fma(0.8, re, 0.2 * fma(i2, prev_i2, q2 * prev_q2))
        im = fma(0.8, im, 0.2 * (i2 * prev_q2 - q2 * prev_i2))
        prev_q2 = q2
        prev_i2 = i2
        last = period
        if im != 0.0 and re != 0.0:
            period = 360.0 / (math.atan(im / re) * _DEGREES)
        if period > 1.5 * last:
            period = 1.5 * last
        if period < 0.67 * last:
            period = 0.67 * last
        if period < 6.0:
            period = 6.0
        elif period > 50.0:
            period = 50.0
        period = fma(period, 0.2, 0.8 * last)
        smooth_period = fma(smooth_period, 0.67, 0.33 * period)
        if kind == _DCPERIOD and t >= first:
            out[row, 0] = smooth_period
        if kind >= _TRENDLINE:
            bars_in_cycle = int(smooth_period + 0.5)
        if kind == _TRENDLINE:
            # The mean input over the dominant cycle, then a four-bar WMA of those means.
            total = 0.0
            at = raw_head - 1
            for _ in range(bars_in_cycle):
                total += raw_ring[at + _RING if at < 0 else at]
                at -= 1
            if bars_in_cycle > 0:
                total = total / bars_in_cycle
            trend = (4.0 * total + 3.0 * itrend_1 + 2.0 * itrend_2 + itrend_3) / 10.0
            itrend_3 = itrend_2
            itrend_2 = itrend_1
            itrend_1 = total
            if t >= first:
                out[row, 0] = trend
        if kind >= _SINE:
            # A one-cycle DFT of the smoothed price, newest first, gives the dominant cycle's phase.
            real = 0.0
            imag = 0.0
            at = smooth_head
            for i in range(bars_in_cycle):
                angle = (i * _TWO_PI) / bars_in_cycle
                price = smooth_ring[at]
                real += math.sin(angle) * price
                imag += math.cos(angle) * price
                at = _RING - 1 if at == 0 else at - 1
            if np.abs(imag) > 0.0:
                dc_phase = math.atan(real / imag) * _DEGREES
            elif np.abs(imag) <= 0.01:
                if real < 0.0:
                    dc_phase -= 90.0
                elif real > 0.0:
                    dc_phase += 90.0
            dc_phase += 90.0
            dc_phase += 360.0 / smooth_period  # the WMA's one-bar lag
            if imag < 0.0:
                dc_phase += 180.0
            if dc_phase > 315.0:
                dc_phase -= 360.0
            if t >= first:
                if kind == _DCPHASE:
                    out[row, 0] = dc_phase
                else:
                    out[row, 0] = math.sin(dc_phase * _RADIANS)
                    out[row, 1] = math.sin((dc_phase + 45.0) * _RADIANS)
        smooth_head = smooth_head + 1 if smooth_head + 1 < _RING else 0
    state[_COUNT], state[_WMA_SUB], state[_WMA_SUM], state[_TRAILING] = count, wma_sub, wma_sum, trailing
    state[_HILBERT_IDX], state[_PERIOD], state[_SMOOTH_PERIOD] = slot, period, smooth_period
    state[_PREV_I2], state[_PREV_Q2], state[_RE], state[_IM] = prev_i2, prev_q2, re, im
    state[_I1_ODD_3], state[_I1_EVEN_3], state[_I1_ODD_2], state[_I1_EVEN_2] = i1_odd_3, i1_even_3, i1_odd_2, i1_even_2
    state[_MAMA_VALUE], state[_FAMA_VALUE], state[_PREV_PHASE] = mama, fama, prev_phase
    state[_ITREND_1], state[_ITREND_2], state[_ITREND_3] = itrend_1, itrend_2, itrend_3
    state[_DC_PHASE], state[_SMOOTH_HEAD], state[_RAW_HEAD] = dc_phase, smooth_head, raw_head


@njit(cache=True, error_model="numpy")
def _ht_dcperiod_update(state, params, bars, out):
    _ht_run(state, params, bars, out, _DCPERIOD)


@njit(cache=True, error_model="numpy")
def _ht_phasor_update(state, params, bars, out):
    _ht_run(state, params, bars, out, _PHASOR)


@njit(cache=True, error_model="numpy")
def _mama_update(state, params, bars, out):
    _ht_run(state, params, bars, out, _MAMA)


@njit(cache=True, error_model="numpy")
def _ht_trendline_update(state, params, bars, out):
    _ht_run(state, params, bars, out, _TRENDLINE)


@njit(cache=True, error_model="numpy")
def _ht_sine_update(state, params, bars, out):
    _ht_run(state, params, bars, out, _SINE)


@njit(cache=True, error_model="numpy")
def _ht_dcphase_update(state, params, bars, out):
    _ht_run(state, params, bars, out, _DCPHASE)


_SOURCE = "John Ehlers, Rocket Science for Traders (2001), as TA-Lib computes it"

register(
    IndicatorInfo(
        name="ht_dcperiod",
        description="Hilbert transform dominant cycle period, in bars (6 to 50).",
        params=(),
        inputs=("close",),
        outputs=("dcperiod",),
        talib="HT_DCPERIOD",
        definition="The period of the homodyne discriminator (360 / the angle of the smoothed I2 Q2 phasor's "
        "product with its previous value), clamped to 0.67-1.5 times the previous period and to 6-50 bars, "
        f"smoothed by 0.2 and then by 0.33 ({_SOURCE}).",
        bounds={"dcperiod": (0.0, 50.0)},
    ),
    init=_ht_init,
    update=_ht_dcperiod_update,
    lookback=lambda p: 32,
    talib_args={},
)

register(
    IndicatorInfo(
        name="ht_dcphase",
        description="Hilbert transform dominant cycle phase, in degrees.",
        params=(),
        inputs=("close",),
        outputs=("dcphase",),
        talib="HT_DCPHASE",
        definition="The phase of a one-cycle DFT of the smoothed price over the dominant cycle period "
        f"(`ht_dcperiod`), plus 90 degrees and the WMA's one-bar lag, wrapped above 315 ({_SOURCE}).",
    ),
    init=_ht_init,
    update=_ht_dcphase_update,
    lookback=lambda p: 63,
    talib_args={},
)

register(
    IndicatorInfo(
        name="ht_phasor",
        description="Hilbert transform phasor components: the in-phase and quadrature parts of the detrended price.",
        params=(),
        inputs=("close",),
        outputs=("inphase", "quadrature"),
        talib="HT_PHASOR",
        definition="I1 (the detrended smoothed price three bars back) and Q1 (the Hilbert transform of the "
        f"detrender), scaled by 0.075 * period + 0.54 ({_SOURCE}).",
    ),
    init=_ht_init,
    update=_ht_phasor_update,
    lookback=lambda p: 32,
    talib_args={},
)

register(
    IndicatorInfo(
        name="ht_sine",
        description="Hilbert transform sine wave: the sine of the dominant cycle phase and its 45-degree lead.",
        params=(),
        inputs=("close",),
        outputs=("sine", "leadsine"),
        talib="HT_SINE",
        definition=f"sin(phase) and sin(phase + 45 degrees) of `ht_dcphase` ({_SOURCE}).",
        bounds={"sine": (-1.0, 1.0), "leadsine": (-1.0, 1.0)},
    ),
    init=_ht_init,
    update=_ht_sine_update,
    lookback=lambda p: 63,
    talib_args={},
)

register(
    IndicatorInfo(
        name="ht_trendline",
        description="Hilbert transform instantaneous trendline (Ehlers' iTrend).",
        params=(),
        inputs=("close",),
        outputs=("trendline",),
        talib="HT_TRENDLINE",
        definition="A four-bar WMA (4, 3, 2, 1) of the mean close over the last round(dominant cycle period) "
        f"bars, the period being `ht_dcperiod`'s ({_SOURCE}).",
    ),
    init=_ht_init,
    update=_ht_trendline_update,
    lookback=lambda p: 63,
    talib_args={},
)


def _limit(name: str, default: float, description: str) -> Param:
    return Param(name, float, default, 0.01, 0.99, description)


register(
    IndicatorInfo(
        name="mama",
        description="MESA adaptive moving average (MAMA) and its following average (FAMA).",
        params=(
            _limit("fast_limit", 0.5, "largest smoothing factor (when the phase stands still)"),
            _limit("slow_limit", 0.05, "smallest smoothing factor"),
        ),
        inputs=("close",),
        outputs=("mama", "fama"),
        talib="MAMA",
        definition="An EMA whose factor is fast_limit / (the phase change of the Hilbert phasor, at least 1 "
        "degree), floored at slow_limit: mama = a * close + (1 - a) * mama; FAMA follows MAMA with a / 2. Both "
        "start at 0 from bar 12, as TA-Lib's, so the first values after the warm-up still carry that start "
        "(John Ehlers, MESA Adaptive Moving Averages, Technical Analysis of Stocks & Commodities, September 2001).",
    ),
    init=_ht_init,
    update=_mama_update,
    lookback=lambda p: 32,
    talib_args={"fast_limit": "fastlimit", "slow_limit": "slowlimit"},
)
