"""Statistics of two series over a rolling window: Pearson's correlation and beta.

Both follow TA-Lib 0.8's arithmetic to the last bit. Like its VAR (see ``_range``), TA-Lib 0.8 keeps
running sums of the deviations from a shift K rather than of the raw values, so that the variance is not
lost to cancellation: K starts at the window's first value, and the sums are recomputed around the
window's mean whenever the variance falls below 1e-6 of the mean square (cancellation), the value that
left the window dominated the sum of squares, or 32 * period bars have passed. Each kernel keeps a ring of
the window's values for those recomputations, so streaming and batch share every rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._params import period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

_LOSS = 1e-6  # recentre when the variance is below this share of the mean square
_EVERY = 32.0  # ... or after this many windows' worth of bars
_ZERO = 1e-14  # a variance below this share of the sum of squares is treated as 0


# --- CORREL ---------------------------------------------------------------------------------------
# Pearson's r of two inputs (TA-Lib: the high and the low). State: bars seen, the two shifts, the
# sums of dx, dy, dx**2, dy**2 and dx * dy, the squared deviations of the pair that left the window
# last (for the dominance test), the countdown, the ring head, then rings of x and y.
_CR_COUNT = 0
_CR_KX = 1
_CR_KY = 2
_CR_SX = 3
_CR_SY = 4
_CR_SXX = 5
_CR_SYY = 6
_CR_SXY = 7
_CR_OLD_X = 8
_CR_OLD_Y = 9
_CR_COUNTDOWN = 10
_CR_HEAD = 11
_CR_RINGS = 12
_CR_DOMINANCE = 1e6


@njit(cache=True, error_model="numpy")
def _correl_init(params):
    state = np.zeros(_CR_RINGS + 2 * int(params[0]))
    state[_CR_COUNTDOWN] = _EVERY * params[0]
    return state


@njit(cache=True, error_model="numpy")
def _correl_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    inverse = 1.0 / n
    ring_x, ring_y = state[_CR_RINGS : _CR_RINGS + size], state[_CR_RINGS + size :]
    count, kx, ky = state[_CR_COUNT], state[_CR_KX], state[_CR_KY]
    sx, sy, sxx, syy, sxy = state[_CR_SX], state[_CR_SY], state[_CR_SXX], state[_CR_SYY], state[_CR_SXY]
    old_x, old_y, countdown = state[_CR_OLD_X], state[_CR_OLD_Y], state[_CR_COUNTDOWN]
    head = int(state[_CR_HEAD])
    for row in range(bars.shape[0]):
        x, y = bars[row, 0], bars[row, 1]
        if count == 0.0:
            kx, ky = x, y
        ring_x[head], ring_y[head] = x, y
        head = head + 1 if head + 1 < size else 0
        count += 1.0
        dx = x - kx
        if count < n:
            dy = y - ky
            sx += dx
            sxx += dx * dx
            sxy += dx * dy
            sy += dy
            syy += dy * dy
            out[row, 0] = np.nan
            continue
        # TA-Lib's order of tests: each one short-circuits the rest (and the countdown).
        sx += dx
        sxx += dx * dx
        var_x = sxx - (sx * sx) * inverse
        var_y = 0.0
        cov = 0.0
        recentre = sxx * _LOSS > var_x
        if not recentre:
            dy = y - ky
            sy += dy
            syy += dy * dy
            var_y = syy - (sy * sy) * inverse
            recentre = syy * _LOSS > var_y or old_x > sxx * _CR_DOMINANCE or old_y > syy * _CR_DOMINANCE
            if not recentre:
                countdown -= 1.0
                recentre = countdown == 0.0
            if not recentre:
                sxy = dx * dy + sxy
                cov = sxy - (sx * sy) * inverse
        if recentre:
            # The window in time order starts at `head` (its oldest pair).
            total = 0.0
            for i in range(size):
                slot = head + i
                total += ring_x[slot - size if slot >= size else slot]
            kx = total * inverse
            total = 0.0
            for i in range(size):
                slot = head + i
                total += ring_y[slot - size if slot >= size else slot]
            ky = total * inverse
            sx = sy = sxx = syy = sxy = 0.0
            for i in range(size):
                slot = head + i
                slot = slot - size if slot >= size else slot
                ex, ey = ring_x[slot] - kx, ring_y[slot] - ky
                sx += ex
                sxx += ex * ex
                sxy += ex * ey
                sy += ey
                syy += ey * ey
            var_x = sxx - (sx * sx) * inverse
            var_y = syy - (sy * sy) * inverse
            cov = sxy - (sy * sx) * inverse
            var_x = var_x if var_x >= 0.0 else 0.0
            var_y = var_y if var_y >= 0.0 else 0.0
            countdown = _EVERY * n
        r = 0.0
        if var_x > _ZERO * sxx and var_y > _ZERO * syy:
            product = var_x * var_y
            if product > 0.0:
                r = cov / np.sqrt(product)
                if r > 1.0:
                    r = 1.0
                elif r < -1.0:
                    r = -1.0
        out[row, 0] = r
        # The oldest pair leaves the window.
        ex, ey = ring_x[head] - kx, ring_y[head] - ky
        old_x, old_y = ex * ex, ey * ey
        sx -= ex
        sy -= ey
        sxy -= ex * ey
        sxx -= old_x
        syy -= old_y
    state[_CR_COUNT], state[_CR_KX], state[_CR_KY] = count, kx, ky
    state[_CR_SX], state[_CR_SY], state[_CR_SXX], state[_CR_SYY], state[_CR_SXY] = sx, sy, sxx, syy, sxy
    state[_CR_OLD_X], state[_CR_OLD_Y], state[_CR_COUNTDOWN] = old_x, old_y, countdown
    state[_CR_HEAD] = head


# --- BETA -----------------------------------------------------------------------------------------
# The least-squares slope of the second input's one-bar returns on the first's, over `period`
# returns: (n * sum(rx*ry) - sum(rx) * sum(ry)) / (n * sum(rx**2) - sum(rx)**2). The sums are of
# deviations from shifts (the window's first return at the start, then its mean), recomputed by the
# same rules as CORREL's with a dominance ratio of 1000 and the variance tested as n * sum(dx**2) -
# sum(dx)**2. A return after a zero price is 0. State: bars seen, previous x and y, the shifts, the
# five sums, the squared deviations that left last, the countdown, the ring head, then rings of the
# returns of x and y.
_BT_COUNT = 0
_BT_PREV_X = 1
_BT_PREV_Y = 2
_BT_KX = 3
_BT_KY = 4
_BT_SX = 5
_BT_SY = 6
_BT_SXX = 7
_BT_SYY = 8
_BT_SXY = 9
_BT_OLD_X = 10
_BT_OLD_Y = 11
_BT_COUNTDOWN = 12
_BT_HEAD = 13
_BT_RINGS = 14
_BT_DOMINANCE = 1000.0


@njit(cache=True, error_model="numpy", inline="always")
def _return(price, prev):
    return (price - prev) / prev if prev != 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _beta_init(params):
    state = np.zeros(_BT_RINGS + 2 * int(params[0]))
    state[_BT_COUNTDOWN] = _EVERY * params[0]
    return state


@njit(cache=True, error_model="numpy")
def _beta_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    ring_x, ring_y = state[_BT_RINGS : _BT_RINGS + size], state[_BT_RINGS + size :]
    count, prev_x, prev_y = state[_BT_COUNT], state[_BT_PREV_X], state[_BT_PREV_Y]
    kx, ky = state[_BT_KX], state[_BT_KY]
    sx, sy, sxx, syy, sxy = state[_BT_SX], state[_BT_SY], state[_BT_SXX], state[_BT_SYY], state[_BT_SXY]
    old_x, old_y, countdown = state[_BT_OLD_X], state[_BT_OLD_Y], state[_BT_COUNTDOWN]
    head = int(state[_BT_HEAD])
    for row in range(bars.shape[0]):
        price_x, price_y = bars[row, 0], bars[row, 1]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t == 0.0:
            prev_x, prev_y = price_x, price_y
            continue
        rx, ry = _return(price_x, prev_x), _return(price_y, prev_y)
        prev_x, prev_y = price_x, price_y
        if t == 1.0:
            kx, ky = rx, ry
        ring_x[head], ring_y[head] = rx, ry
        head = head + 1 if head + 1 < size else 0
        dx, dy = rx - kx, ry - ky
        if t < n:
            sxx += dx * dx
            sx += dx
            sy += dy
            syy += dy * dy
            sxy += dx * dy
            continue
        sx += dx
        sxx += dx * dx
        n_sxx = n * sxx
        var_x = n_sxx - sx * sx
        recentre = _LOSS * n_sxx > var_x or old_x > _BT_DOMINANCE * sxx
        if not recentre:
            syy += dy * dy
            recentre = old_y > _BT_DOMINANCE * syy
            if not recentre:
                countdown -= 1.0
                recentre = countdown == 0.0
            if not recentre:
                sxy = dx * dy + sxy
                sy = dy + sy
        if recentre:
            total_x = 0.0
            total_y = 0.0
            for i in range(size):
                slot = head + i
                slot = slot - size if slot >= size else slot
                total_x += ring_x[slot]
                total_y += ring_y[slot]
            kx, ky = total_x / n, total_y / n
            sx = sy = sxx = syy = sxy = 0.0
            for i in range(size):
                slot = head + i
                slot = slot - size if slot >= size else slot
                ex, ey = ring_x[slot] - kx, ring_y[slot] - ky
                sx += ex
                sxx += ex * ex
                sy += ey
                syy += ey * ey
                sxy += ex * ey
            n_sxx = n * sxx
            var_x = n_sxx - sx * sx
            var_x = var_x if var_x >= 0.0 else 0.0
            countdown = _EVERY * n
        value = 0.0
        if var_x > n_sxx * _ZERO:
            value = (sxy * n - sx * sy) / var_x
        out[row, 0] = value
        # The oldest pair of returns leaves the window.
        ex, ey = ring_x[head] - kx, ring_y[head] - ky
        old_x, old_y = ex * ex, ey * ey
        sy -= ey
        sx -= ex
        sxy -= ex * ey
        sxx -= old_x
        syy -= old_y
    state[_BT_COUNT], state[_BT_PREV_X], state[_BT_PREV_Y] = count, prev_x, prev_y
    state[_BT_KX], state[_BT_KY] = kx, ky
    state[_BT_SX], state[_BT_SY], state[_BT_SXX], state[_BT_SYY], state[_BT_SXY] = sx, sy, sxx, syy, sxy
    state[_BT_OLD_X], state[_BT_OLD_Y], state[_BT_COUNTDOWN] = old_x, old_y, countdown
    state[_BT_HEAD] = head


register(
    IndicatorInfo(
        name="correl",
        description="Pearson's correlation of the high and the low over `period` bars, -1 to 1.",
        params=(period(30),),
        inputs=("high", "low"),
        outputs=("correl",),
        talib="CORREL",
        definition="cov(high, low) / sqrt(var(high) * var(low)) over the last `period` bars, clipped to [-1, 1]; "
        "0 where either variance is below 1e-14 of its sum of squares (a flat window). TA-Lib's CORREL takes two "
        "series and its abstract interface feeds it the high and the low; this is that use.",
        bounds={"correl": (-1.0, 1.0)},
    ),
    init=_correl_init,
    update=_correl_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="beta",
        description="Beta: the regression slope of the low's one-bar returns on the high's, over `period` returns.",
        params=(period(5, "returns in the regression"),),
        inputs=("high", "low"),
        outputs=("beta",),
        talib="BETA",
        definition="(n * sum(rx * ry) - sum(rx) * sum(ry)) / (n * sum(rx**2) - sum(rx)**2) over the last n = "
        "`period` one-bar returns rx of the high and ry of the low ((p - p[t-1]) / p[t-1]); 0 where the "
        "returns of the high do not vary. TA-Lib's BETA takes two series and its abstract interface feeds it "
        "the high and the low; this is that use.",
    ),
    init=_beta_init,
    update=_beta_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)
