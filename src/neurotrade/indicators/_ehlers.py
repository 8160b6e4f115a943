"""John Ehlers' filters and cycle indicators, and Jurik's RSX: recursive oscillators beyond TA-Lib.

Each is written once as an update over a small float64 state, following the published
EasyLanguage (or MQL) code statement by statement, so that the values are the author's and the
reference definitions in ``tests/indicators/reference/ehlers_ref.py`` can be checked line by line
against the source. Where the published code starts a recursion from zero (EasyLanguage variables
begin at 0), the seed used here is stated in the indicator's ``definition``.

The rolling extremes the Fisher transform needs come from :func:`rolling_max` (van Herk / Gil &
Werman, amortised O(1) per bar); ``_composite`` uses the same helper for the Schaff trend cycle.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._params import Greater, Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

# Ratios of differences between recursive filter stages (L0 - L1, ...) measure only rounding once
# a flat market has let the stages converge; below this fraction of the price level they count as 0.
FLAT = 1e-12


# --- rolling maximum ----------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def rolling_max(buffer, position, prefix, x):
    """Add ``x`` to a running maximum over the last ``len(buffer)`` values.

    Returns ``(position, prefix, maximum)``. This is van Herk's and Gil & Werman's algorithm (M. van
    Herk, Pattern Recognition Letters 13, 1992; J. Gil and M. Werman, IEEE PAMI 15, 1993): the
    series is cut into blocks as long as the window; ``buffer[:position]`` holds the current
    block's values and ``prefix`` their maximum, ``buffer[position:]`` the previous block's suffix
    maxima, so the window's maximum is ``max(prefix, buffer[position + 1])``. When a block is full
    it is turned into its suffix maxima in place. Two comparisons per value and no data-dependent
    branch: on random walks 4-20x faster than a monotonic deque, and O(1) amortised on any input.
    ``buffer`` starts filled with ``-inf`` and ``position`` at 0. A running minimum is the running
    maximum of ``-x`` (negation is exact).
    """
    last = buffer.shape[0] - 1
    buffer[position] = x
    prefix = x if position == 0 else max(prefix, x)
    if position == last:
        for k in range(last - 1, -1, -1):
            buffer[k] = max(buffer[k], buffer[k + 1])
        return 0, prefix, prefix
    return position + 1, prefix, max(prefix, buffer[position + 1])


# --- Laguerre RSI -------------------------------------------------------------------------------
# State: bars seen, the four Laguerre stages, the last RSI (kept while nothing moves).
_LAG_COUNT = 0
_LAG_L0 = 1
_LAG_L1 = 2
_LAG_L2 = 3
_LAG_L3 = 4
_LAG_RSI = 5


@njit(cache=True, error_model="numpy")
def _laguerre_rsi_init(params):
    state = np.zeros(_LAG_RSI + 1)
    state[_LAG_RSI] = 0.5
    return state


@njit(cache=True, error_model="numpy")
def _laguerre_rsi_update(state, params, bars, out):
    gamma = params[0]
    count, rsi = state[_LAG_COUNT], state[_LAG_RSI]
    l0, l1, l2, l3 = state[_LAG_L0], state[_LAG_L1], state[_LAG_L2], state[_LAG_L3]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        if count == 0.0:
            # Every stage starts at the first close: Ehlers' zeros would be a transient of the
            # whole price level.
            l0 = l1 = l2 = l3 = x
            count = 1.0
            out[row, 0] = np.nan
            continue
        p0, p1, p2 = l0, l1, l2
        l0 = (1.0 - gamma) * x + gamma * p0
        l1 = -gamma * l0 + p0 + gamma * l1
        l2 = -gamma * l1 + p1 + gamma * l2
        l3 = -gamma * l2 + p2 + gamma * l3
        cu = 0.0
        cd = 0.0
        if l0 >= l1:
            cu = l0 - l1
        else:
            cd = l1 - l0
        if l1 >= l2:
            cu = cu + l1 - l2
        else:
            cd = cd + l2 - l1
        if l2 >= l3:
            cu = cu + l2 - l3
        else:
            cd = cd + l3 - l2
        if cu + cd > FLAT * np.abs(l0):
            rsi = cu / (cu + cd)
        out[row, 0] = rsi
        count += 1.0
    state[_LAG_COUNT], state[_LAG_RSI] = count, rsi
    state[_LAG_L0], state[_LAG_L1], state[_LAG_L2], state[_LAG_L3] = l0, l1, l2, l3


# --- RSX ----------------------------------------------------------------------------------------
# State: bars seen, 100 x the previous close, then the twelve filter stages of the published code
# (f28 ... f80): three double-smoothing stages of the momentum and three of its absolute value.
_RSX_COUNT = 0
_RSX_PREV = 1
_RSX_F = 2
_RSX_STAGES = 12


@njit(cache=True, error_model="numpy")
def _rsx_init(params):
    return np.zeros(_RSX_F + _RSX_STAGES)


@njit(cache=True, error_model="numpy")
def _rsx_update(state, params, bars, out):
    n = params[0]
    warm = max(n - 1.0, 5.0)
    a = 3.0 / (n + 2.0)
    b = 1.0 - a
    count, prev = state[_RSX_COUNT], state[_RSX_PREV]
    f = state[_RSX_F:]
    f28, f30, f38, f40, f48, f50 = f[0], f[1], f[2], f[3], f[4], f[5]
    f58, f60, f68, f70, f78, f80 = f[6], f[7], f[8], f[9], f[10], f[11]
    for row in range(bars.shape[0]):
        f8 = 100.0 * bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t == 0.0:
            prev = f8
            continue
        v8 = f8 - prev
        prev = f8
        f28 = b * f28 + a * v8
        f30 = a * f28 + b * f30
        vc = f28 * 1.5 - f30 * 0.5
        f38 = b * f38 + a * vc
        f40 = a * f38 + b * f40
        v10 = f38 * 1.5 - f40 * 0.5
        f48 = b * f48 + a * v10
        f50 = a * f48 + b * f50
        v14 = f48 * 1.5 - f50 * 0.5
        f58 = b * f58 + a * np.abs(v8)
        f60 = a * f58 + b * f60
        v18 = f58 * 1.5 - f60 * 0.5
        f68 = b * f68 + a * v18
        f70 = a * f68 + b * f70
        v1c = f68 * 1.5 - f70 * 0.5
        f78 = b * f78 + a * v1c
        f80 = a * f78 + b * f80
        v20 = f78 * 1.5 - f80 * 0.5
        if t < warm:
            continue
        if v20 > 1e-10:
            value = (v14 / v20 + 1.0) * 50.0
            out[row, 0] = min(max(value, 0.0), 100.0)
        else:
            out[row, 0] = 50.0
    state[_RSX_COUNT], state[_RSX_PREV] = count, prev
    f[0], f[1], f[2], f[3], f[4], f[5] = f28, f30, f38, f40, f48, f50
    f[6], f[7], f[8], f[9], f[10], f[11] = f58, f60, f68, f70, f78, f80


# --- Fisher transform ---------------------------------------------------------------------------
# State: bars seen, Value1, the Fisher value, position and prefix of the rolling maximum and of the
# rolling minimum (as a maximum of -price), then their buffers (`period` each).
_FISH_COUNT = 0
_FISH_VALUE = 1
_FISH_FISH = 2
_FISH_MAX_AT = 3
_FISH_MAX_PREFIX = 4
_FISH_MIN_AT = 5
_FISH_MIN_PREFIX = 6
_FISH_BUFFERS = 7


@njit(cache=True, error_model="numpy")
def _fisher_init(params):
    state = np.zeros(_FISH_BUFFERS + 2 * int(params[0]))
    state[_FISH_BUFFERS:] = -np.inf
    return state


@njit(cache=True, error_model="numpy")
def _fisher_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    count, value, fish = state[_FISH_COUNT], state[_FISH_VALUE], state[_FISH_FISH]
    max_at, max_prefix = int(state[_FISH_MAX_AT]), state[_FISH_MAX_PREFIX]
    min_at, min_prefix = int(state[_FISH_MIN_AT]), state[_FISH_MIN_PREFIX]
    highs = state[_FISH_BUFFERS : _FISH_BUFFERS + size]
    lows = state[_FISH_BUFFERS + size :]
    for row in range(bars.shape[0]):
        price = (bars[row, 0] + bars[row, 1]) / 2.0
        t = count
        count += 1.0
        max_at, max_prefix, highest = rolling_max(highs, max_at, max_prefix, price)
        min_at, min_prefix, negated = rolling_max(lows, min_at, min_prefix, -price)
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        if t < n - 1.0:
            continue
        lowest = -negated
        # A window without range puts the price at its middle.
        position = (price - lowest) / (highest - lowest) if highest > lowest else 0.5
        value = 0.66 * (position - 0.5) + 0.67 * value
        if value > 0.99:
            value = 0.999
        elif value < -0.99:
            value = -0.999
        trigger = fish
        fish = 0.5 * np.log((1.0 + value) / (1.0 - value)) + 0.5 * fish
        if t >= n:
            out[row, 0] = fish
            out[row, 1] = trigger
    state[_FISH_COUNT], state[_FISH_VALUE], state[_FISH_FISH] = count, value, fish
    state[_FISH_MAX_AT], state[_FISH_MAX_PREFIX] = max_at, max_prefix
    state[_FISH_MIN_AT], state[_FISH_MIN_PREFIX] = min_at, min_prefix


# --- Cyber cycle --------------------------------------------------------------------------------
# State: bars seen, the last three median prices, the last two smoothed prices, the last two cycles.
_CC_COUNT = 0
_CC_P1 = 1
_CC_P2 = 2
_CC_P3 = 3
_CC_S1 = 4
_CC_S2 = 5
_CC_C1 = 6
_CC_C2 = 7


@njit(cache=True, error_model="numpy")
def _cyber_cycle_init(params):
    return np.zeros(_CC_C2 + 1)


@njit(cache=True, error_model="numpy")
def _cyber_cycle_update(state, params, bars, out):
    alpha = params[0]
    k1 = (1.0 - 0.5 * alpha) * (1.0 - 0.5 * alpha)
    k2 = 2.0 * (1.0 - alpha)
    k3 = (1.0 - alpha) * (1.0 - alpha)
    count = state[_CC_COUNT]
    p1, p2, p3 = state[_CC_P1], state[_CC_P2], state[_CC_P3]
    s1, s2 = state[_CC_S1], state[_CC_S2]
    c1, c2 = state[_CC_C1], state[_CC_C2]
    for row in range(bars.shape[0]):
        price = (bars[row, 0] + bars[row, 1]) / 2.0
        t = count
        count += 1.0
        smooth = (price + 2.0 * p1 + 2.0 * p2 + p3) / 6.0
        cycle = 0.0
        if t >= 6.0:
            cycle = k1 * (smooth - 2.0 * s1 + s2) + k2 * c1 - k3 * c2
        elif t >= 2.0:
            # Ehlers' seed for the first bars: a plain second difference of the price.
            cycle = (price - 2.0 * p1 + p2) / 4.0
        if t >= 6.0:
            out[row, 0] = cycle
            out[row, 1] = c1
        else:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
        p3, p2, p1 = p2, p1, price
        s2, s1 = s1, smooth
        c2, c1 = c1, cycle
    state[_CC_COUNT] = count
    state[_CC_P1], state[_CC_P2], state[_CC_P3] = p1, p2, p3
    state[_CC_S1], state[_CC_S2] = s1, s2
    state[_CC_C1], state[_CC_C2] = c1, c2


# --- two-pole high-pass (roofing filter, decycler) ------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def _highpass_alpha(hp_period):
    """Ehlers' alpha1 of the two-pole high-pass, from ``Cosine(.707*360 / HPPeriod)`` in degrees."""
    angle = 0.707 * 2.0 * np.pi / hp_period
    return (np.cos(angle) + np.sin(angle) - 1.0) / np.cos(angle)


# State: bars seen, the last two closes, the last two high-pass values, the last two filter values.
_ROOF_COUNT = 0
_ROOF_X1 = 1
_ROOF_X2 = 2
_ROOF_HP1 = 3
_ROOF_HP2 = 4
_ROOF_F1 = 5
_ROOF_F2 = 6


@njit(cache=True, error_model="numpy")
def _roofing_init(params):
    return np.zeros(_ROOF_F2 + 1)


@njit(cache=True, error_model="numpy")
def _roofing_update(state, params, bars, out):
    alpha1 = _highpass_alpha(params[0])
    # The super smoother's coefficients with the constants of the published code (1.414, 3.14159).
    a1 = np.exp(-1.414 * 3.14159 / params[1])
    b1 = 2.0 * a1 * np.cos(1.414 * np.pi / params[1])
    c2 = b1
    c3 = -a1 * a1
    c1 = 1.0 - c2 - c3
    count = state[_ROOF_COUNT]
    x1, x2 = state[_ROOF_X1], state[_ROOF_X2]
    hp1, hp2 = state[_ROOF_HP1], state[_ROOF_HP2]
    f1, f2 = state[_ROOF_F1], state[_ROOF_F2]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        hp = 0.0
        filt = 0.0
        if t >= 2.0:
            hp = (
                (1.0 - alpha1 / 2.0) * (1.0 - alpha1 / 2.0) * (x - 2.0 * x1 + x2)
                + 2.0 * (1.0 - alpha1) * hp1
                - (1.0 - alpha1) * (1.0 - alpha1) * hp2
            )
            filt = c1 * (hp + hp1) / 2.0 + c2 * f1 + c3 * f2
            out[row, 0] = filt
        else:
            out[row, 0] = np.nan
        x2, x1 = x1, x
        hp2, hp1 = hp1, hp
        f2, f1 = f1, filt
    state[_ROOF_COUNT] = count
    state[_ROOF_X1], state[_ROOF_X2] = x1, x2
    state[_ROOF_HP1], state[_ROOF_HP2] = hp1, hp2
    state[_ROOF_F1], state[_ROOF_F2] = f1, f2


# State: bars seen, the last two closes, the last two high-pass values.
_DEC_COUNT = 0
_DEC_X1 = 1
_DEC_X2 = 2
_DEC_HP1 = 3
_DEC_HP2 = 4


@njit(cache=True, error_model="numpy")
def _decycler_init(params):
    return np.zeros(_DEC_HP2 + 1)


@njit(cache=True, error_model="numpy")
def _decycler_update(state, params, bars, out):
    alpha1 = _highpass_alpha(params[0])
    count = state[_DEC_COUNT]
    x1, x2 = state[_DEC_X1], state[_DEC_X2]
    hp1, hp2 = state[_DEC_HP1], state[_DEC_HP2]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        hp = 0.0
        if t >= 2.0:
            hp = (
                (1.0 - alpha1 / 2.0) * (1.0 - alpha1 / 2.0) * (x - 2.0 * x1 + x2)
                + 2.0 * (1.0 - alpha1) * hp1
                - (1.0 - alpha1) * (1.0 - alpha1) * hp2
            )
            out[row, 0] = x - hp
        else:
            out[row, 0] = np.nan
        x2, x1 = x1, x
        hp2, hp1 = hp1, hp
    state[_DEC_COUNT] = count
    state[_DEC_X1], state[_DEC_X2] = x1, x2
    state[_DEC_HP1], state[_DEC_HP2] = hp1, hp2


register(
    IndicatorInfo(
        name="laguerre_rsi",
        description="Ehlers' Laguerre RSI: an RSI of four Laguerre filter stages, from 0 to 1.",
        params=(Param("gamma", float, 0.5, 0.0, 0.99, "Laguerre damping; larger is smoother and slower"),),
        inputs=("close",),
        outputs=("laguerre_rsi",),
        talib=None,
        definition=(
            "John F. Ehlers, 'Time Warp - Without Space Travel' (2004; also chapter 14 of Cybernetic "
            "Analysis for Stocks and Futures, Wiley 2004). L0 = (1 - gamma)*close + gamma*L0[1]; "
            "L1 = -gamma*L0 + L0[1] + gamma*L1[1]; L2, L3 likewise down the chain. CU sums the rises "
            "L0 - L1, L1 - L2, L2 - L3 where the earlier stage is >= the later, CD the falls; "
            "RSI = CU / (CU + CD). Seed: all four stages start at the first close (Ehlers' code starts "
            "them at 0), so the first bar has no value. When CU + CD is 0 (or below 1e-12 of L0, where "
            "it measures only rounding) the previous value is kept, as in Ehlers' code; 0.5 before any."
        ),
    ),
    init=_laguerre_rsi_init,
    update=_laguerre_rsi_update,
    lookback=lambda p: 1,
)

register(
    IndicatorInfo(
        name="rsx",
        description="Jurik's RSX: a noise-free RSI from cascaded double smoothing, 0 to 100.",
        params=(period(14, "length; the smoothing factor is 3 / (period + 2)"),),
        inputs=("close",),
        outputs=("rsx",),
        talib=None,
        definition=(
            "Jurik Research's RSX in the formulation published as the MetaTrader indicator RSX.mq4 "
            "(and its TradingView port 'Jurik RSX' by everget). With a = 3/(period + 2), b = 1 - a and "
            "the momentum v = 100*(close - close[1]), each of three stages maps its input u to "
            "1.5*s - 0.5*r with s = b*s[1] + a*u and r = a*s + b*r[1]; the three stages are applied "
            "to v and, separately, to |v|. RSX = 50*(smoothed v / smoothed |v| + 1), clipped to "
            "[0, 100], and 50 where the smoothed |v| is at most 1e-10. Every stage starts at 0 on the "
            "second bar (the first has no momentum), and the first max(period - 1, 5) bars are the "
            "warm-up, as in the published code (which prints 50 there)."
        ),
    ),
    init=_rsx_init,
    update=_rsx_update,
    lookback=lambda p: max(int(p["period"]) - 1, 5),
)

register(
    IndicatorInfo(
        name="fisher",
        description="Ehlers' Fisher transform of the median price's place in its range, and its trigger.",
        params=(period(10, "bars in the high/low range of the median price"),),
        inputs=("high", "low"),
        outputs=("fisher", "trigger"),
        talib=None,
        definition=(
            "John F. Ehlers, 'Using the Fisher Transform', Technical Analysis of Stocks & Commodities, "
            "November 2002. With price = (high + low)/2 and its highest H and lowest L over `period` "
            "bars: Value1 = .66*((price - L)/(H - L) - .5) + .67*Value1[1], set to .999 above .99 and "
            "to -.999 below -.99 (as published); Fisher = .5*ln((1 + Value1)/(1 - Value1)) + "
            ".5*Fisher[1]; Trigger = Fisher[1]. Seed: Value1 and Fisher are 0 before the first full "
            "window, the first Fisher is computed there and both outputs start one bar later. A window "
            "with H = L places the price at its middle ((price - L)/(H - L) = .5)."
        ),
    ),
    init=_fisher_init,
    update=_fisher_update,
    lookback=lambda p: int(p["period"]),
)

register(
    IndicatorInfo(
        name="cyber_cycle",
        description="Ehlers' cyber cycle: a high-pass filtered smoothed median price, and its trigger.",
        params=(Param("alpha", float, 0.07, 0.0, 1.0, "smoothing factor of the high-pass", exclusive_minimum=True),),
        inputs=("high", "low"),
        outputs=("cycle", "trigger"),
        talib=None,
        definition=(
            "John F. Ehlers, Cybernetic Analysis for Stocks and Futures (Wiley, 2004), chapter 4. With "
            "price = (high + low)/2 and Smooth = (price + 2*price[1] + 2*price[2] + price[3])/6: "
            "Cycle = (1 - alpha/2)**2*(Smooth - 2*Smooth[1] + Smooth[2]) + 2*(1 - alpha)*Cycle[1] - "
            "(1 - alpha)**2*Cycle[2]; Trigger = Cycle[1]. Seed, as published ('If CurrentBar < 7'): "
            "on bars 2 to 5 Cycle = (price - 2*price[1] + price[2])/4; the recursion and both outputs "
            "start at bar 6, where Trigger is the last seeded value."
        ),
    ),
    init=_cyber_cycle_init,
    update=_cyber_cycle_update,
    lookback=lambda p: 6,
)

register(
    IndicatorInfo(
        name="roofing",
        description="Ehlers' roofing filter: a two-pole high-pass followed by a super smoother.",
        params=(
            period(48, "cut-off of the high-pass: longer cycles are removed", name="hp_period"),
            period(10, "cut-off of the super smoother: shorter cycles are removed", name="lp_period"),
        ),
        inputs=("close",),
        outputs=("roofing",),
        talib=None,
        definition=(
            "John F. Ehlers, Cycle Analytics for Traders (Wiley, 2013), the roofing filter. "
            "alpha1 = (cos(.707*360/hp_period) + sin(.707*360/hp_period) - 1)/cos(.707*360/hp_period) "
            "(degrees); HP = (1 - alpha1/2)**2*(close - 2*close[1] + close[2]) + 2*(1 - alpha1)*HP[1] - "
            "(1 - alpha1)**2*HP[2]; a1 = exp(-1.414*3.14159/lp_period), b1 = 2*a1*cos(1.414*180/lp_period), "
            "c2 = b1, c3 = -a1**2, c1 = 1 - c2 - c3; Filt = c1*(HP + HP[1])/2 + c2*Filt[1] + c3*Filt[2]. "
            "Seed: HP and Filt are 0 on the first two bars (EasyLanguage's initial values); the output "
            "starts at bar 2, the first bar with a second difference."
        ),
    ),
    init=_roofing_init,
    update=_roofing_update,
    lookback=lambda p: 2,
    constraints=(Greater("hp_period", "lp_period"),),
)

register(
    IndicatorInfo(
        name="decycler",
        description="Ehlers' simple decycler: the close minus its two-pole high-pass, a low-lag trend line.",
        params=(period(125, "cut-off of the high-pass: shorter cycles are removed", name="hp_period"),),
        inputs=("close",),
        outputs=("decycler",),
        talib=None,
        definition=(
            "John F. Ehlers, 'Decyclers', Technical Analysis of Stocks & Commodities, September 2015 "
            "(the simple decycler). HP is the two-pole high-pass of the roofing filter, "
            "alpha1 = (cos(.707*360/hp_period) + sin(.707*360/hp_period) - 1)/cos(.707*360/hp_period) "
            "(degrees), HP = (1 - alpha1/2)**2*(close - 2*close[1] + close[2]) + 2*(1 - alpha1)*HP[1] - "
            "(1 - alpha1)**2*HP[2]; Decycler = close - HP. Seed: HP is 0 on the first two bars; the "
            "output starts at bar 2."
        ),
    ),
    init=_decycler_init,
    update=_decycler_update,
    lookback=lambda p: 2,
)


# --- Adaptive Laguerre filter ---------------------------------------------------------------------
# State: bars seen, the four Laguerre stages, the filter, alpha, the number of normalised errors, the
# heads of the two rings, then a ring of the last `period` errors and one of the last 5 normalised
# errors.
_AL_COUNT = 0
_AL_STAGES = 1
_AL_FILTER = 5
_AL_ALPHA = 6
_AL_SEEN = 7
_AL_DIFF_HEAD = 8
_AL_NORM_HEAD = 9
_AL_RINGS = 10
_AL_MEDIAN = 5


@njit(cache=True, error_model="numpy")
def _adaptive_laguerre_init(params):
    return np.zeros(_AL_RINGS + int(params[0]) + _AL_MEDIAN)


@njit(cache=True, error_model="numpy")
def _adaptive_laguerre_update(state, params, bars, out):
    size = int(params[0])
    diffs = state[_AL_RINGS : _AL_RINGS + size]
    norms = state[_AL_RINGS + size :]
    ordered = np.empty(_AL_MEDIAN)
    count, filt, alpha, seen = state[_AL_COUNT], state[_AL_FILTER], state[_AL_ALPHA], state[_AL_SEEN]
    l0, l1, l2, l3 = state[_AL_STAGES], state[_AL_STAGES + 1], state[_AL_STAGES + 2], state[_AL_STAGES + 3]
    diff_head, norm_head = int(state[_AL_DIFF_HEAD]), int(state[_AL_NORM_HEAD])
    for row in range(bars.shape[0]):
        price = (bars[row, 0] + bars[row, 1]) / 2.0
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t == 0.0:
            l0 = l1 = l2 = l3 = filt = price
            continue
        diff = np.abs(price - filt)
        diffs[diff_head] = diff
        diff_head = diff_head + 1 if diff_head + 1 < size else 0
        if t >= size:
            highest, lowest = diffs[0], diffs[0]
            for i in range(1, size):
                highest = max(highest, diffs[i])
                lowest = min(lowest, diffs[i])
            spread = highest - lowest
            norms[norm_head] = (diff - lowest) / spread if spread > 0.0 else 0.0
            norm_head = norm_head + 1 if norm_head + 1 < _AL_MEDIAN else 0
            seen += 1.0
            if seen >= _AL_MEDIAN and spread > 0.0:
                ordered[:] = norms
                ordered.sort()
                alpha = ordered[_AL_MEDIAN // 2]
        keep = 1.0 - alpha
        p0, p1, p2 = l0, l1, l2
        l0 = alpha * price + keep * l0
        l1 = -keep * l0 + p0 + keep * l1
        l2 = -keep * l1 + p1 + keep * l2
        l3 = -keep * l2 + p2 + keep * l3
        filt = (l0 + 2.0 * l1 + 2.0 * l2 + l3) / 6.0
        if seen >= _AL_MEDIAN:
            out[row, 0] = filt
    state[_AL_COUNT], state[_AL_FILTER], state[_AL_ALPHA], state[_AL_SEEN] = count, filt, alpha, seen
    state[_AL_STAGES], state[_AL_STAGES + 1], state[_AL_STAGES + 2], state[_AL_STAGES + 3] = l0, l1, l2, l3
    state[_AL_DIFF_HEAD], state[_AL_NORM_HEAD] = diff_head, norm_head


register(
    IndicatorInfo(
        name="adaptive_laguerre",
        description="Ehlers' adaptive Laguerre filter of the median price: its damping follows its own error.",
        params=(period(20, "bars of filter error whose range normalises the current error"),),
        inputs=("high", "low"),
        outputs=("filter",),
        talib=None,
        definition=(
            "John F. Ehlers, 'Time Warp - Without Space Travel' (2002) and Cybernetic Analysis for Stocks and "
            "Futures (2004), the adaptive Laguerre filter. Price = (high + low)/2, Diff = |Price - Filt[1]|, HH "
            "and LL the highest and lowest Diff of the last `period` bars, alpha = Median((Diff - LL)/(HH - LL), "
            "5) when HH > LL (else alpha is kept), L0 = alpha*Price + (1 - alpha)*L0[1], Li = -(1 - alpha)*L(i-1) "
            "+ L(i-1)[1] + (1 - alpha)*Li[1] for i = 1..3, Filt = (L0 + 2*L1 + 2*L2 + L3)/6. Seed: the stages and "
            "Filt start at the first bar's price and alpha at 0 (the published code's initial value, which holds "
            "the filter until alpha is known); an error is normalised once `period` errors exist, and the "
            "output starts with the fifth."
        ),
    ),
    init=_adaptive_laguerre_init,
    update=_adaptive_laguerre_update,
    lookback=lambda p: int(p["period"]) + 4,
)
