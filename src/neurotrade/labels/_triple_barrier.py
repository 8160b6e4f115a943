"""Triple-barrier labels and meta-labels, with barriers scaled by a causal volatility estimate.

From bar t, a profit-taking and a stop-loss barrier are set at ``close_t * exp(+-k * vol_t)`` and a vertical
barrier ``max_holding`` bars later; the label says which barrier the closes touch first, and ``t1`` is the bar of
that touch. See M. López de Prado, *Advances in Financial Machine Learning* (Wiley, 2018), chapter 3: the
triple-barrier method (3.4), volatility-scaled barriers (3.3) and meta-labelling (3.6).

The barrier width uses only bars up to t (:func:`causal_volatility`), so a label depends on bars 0..t1 and on
nothing after t1, which is what purging with t1 relies on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numba import njit

from neurotrade.errors import DataError
from neurotrade.labels._forward import _check_close, _check_int, _times_at
from neurotrade.labels._zigzag import BUY, HOLD, SELL

# Which barrier was touched first, as the kernel reports it.
_PROFIT, _STOP, _VERTICAL = 1, -1, 0


@njit(cache=True)
def _ewm_vol_kernel(close: np.ndarray, span: int) -> np.ndarray:
    n = close.shape[0]
    out = np.full(n, np.nan)
    alpha = 2.0 / (span + 1.0)
    mean = 0.0
    var = 0.0
    for t in range(1, n):
        r = math.log(close[t] / close[t - 1])
        if t == 1:
            mean = r
        else:
            # West's incremental form of the exponentially weighted mean and (population) variance.
            d = r - mean
            mean += alpha * d
            var = (1.0 - alpha) * (var + alpha * d * d)
        if t >= span:
            out[t] = math.sqrt(var)
    return out


@njit(cache=True)
def _barrier_kernel(
    close: np.ndarray, vol: np.ndarray, side: np.ndarray, profit_take: float, stop_loss: float, max_holding: int
) -> tuple[np.ndarray, np.ndarray]:
    n = close.shape[0]
    outcome = np.zeros(n, dtype=np.int8)
    t1 = np.full(n, -1, dtype=np.int64)
    for t in range(n):
        s = side[t]
        if np.isnan(vol[t]) or not (s == 1.0 or s == -1.0):
            continue
        # A barrier with k = 0 is switched off: put it where no close can reach.
        profit = close[t] * math.exp(s * profit_take * vol[t]) if profit_take > 0 else s * np.inf
        stop = close[t] * math.exp(-s * stop_loss * vol[t]) if stop_loss > 0 else -s * np.inf
        last = min(n - 1, t + max_holding)
        for j in range(t + 1, last + 1):
            # The profit-take is checked first: both can be touched at once only when vol_t == 0.
            if (s > 0 and close[j] >= profit) or (s < 0 and close[j] <= profit):
                outcome[t] = _PROFIT
                t1[t] = j
                break
            if (s > 0 and close[j] <= stop) or (s < 0 and close[j] >= stop):
                outcome[t] = _STOP
                t1[t] = j
                break
        # The vertical barrier decides only once the whole horizon has been seen; before that, t is undecided.
        if t1[t] < 0 and t + max_holding <= n - 1:
            outcome[t] = _VERTICAL
            t1[t] = t + max_holding
    return outcome, t1


def causal_volatility(close: pd.Series, *, span: int = 20) -> pd.Series:
    """Exponentially weighted standard deviation of log returns, from bars up to t only.

    With ``r_t = log(close_t / close_(t-1))`` and ``alpha = 2 / (span + 1)``, the recursion (pandas'
    ``adjust=False`` weighting, without a small-sample bias correction) starts at ``m_1 = r_1, v_1 = 0`` and goes

    ``d = r_t - m_(t-1);  m_t = m_(t-1) + alpha * d;  v_t = (1 - alpha) * (v_(t-1) + alpha * d**2)``

    and the value at bar t is ``sqrt(v_t)``: the same as
    ``np.sqrt(np.log(close).diff().ewm(span=span, adjust=False).var(bias=True))``. The first ``span`` bars are
    warm-up and NaN, so the first value rests on ``span`` returns.

    Parameters
    ----------
    close
        Closing prices (> 0, no NaN) with the bars' DatetimeIndex.
    span
        EWM span in bars, >= 2 (a span of 1 would weigh only the latest return and give 0 everywhere).

    Returns
    -------
    pandas.Series
        Volatility per bar, in log-return units, on ``close``'s index, named ``volatility``.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC", name="time")
    >>> vol = causal_volatility(pd.Series([100.0, 101.0, 100.0, 102.0, 101.0], index=idx), span=3)
    >>> vol.round(4).tolist()
    [nan, nan, nan, 0.0121, 0.0131]
    """
    span = _check_int("span", span, 2)
    values = _check_close(close, "causal_volatility")
    return pd.Series(_ewm_vol_kernel(values, span), index=close.index, name="volatility")


def _check_aligned(name: str, series: pd.Series, close: pd.Series) -> np.ndarray:
    if not series.index.equals(close.index):
        raise DataError(
            f"triple_barrier_labels: {name} must be on close's index (same bars, same order), but its "
            f"{len(series)} rows differ from close's {len(close)}; align it first, e.g. {name}.reindex(close.index)"
        )
    return series.to_numpy(dtype=np.float64)


def _check_volatility(volatility: pd.Series, close: pd.Series) -> np.ndarray:
    values = _check_aligned("volatility", volatility, close)
    bad = np.flatnonzero(~np.isnan(values) & ~((values >= 0) & np.isfinite(values)))
    if bad.size:
        rows = ", ".join(f"{close.index[i]} ({values[i]})" for i in bad[:3])
        raise DataError(
            f"triple_barrier_labels: volatility must be finite and >= 0 (NaN marks warm-up); "
            f"{bad.size} bad row(s), first: {rows}"
        )
    return values


def _check_side(side: pd.Series, close: pd.Series) -> np.ndarray:
    values = _check_aligned("side", side, close)
    bad = np.flatnonzero(~np.isnan(values) & ~np.isin(values, (-1.0, 0.0, 1.0)))
    if bad.size:
        rows = ", ".join(f"{close.index[i]} ({values[i]})" for i in bad[:3])
        raise DataError(
            f"triple_barrier_labels: side must be +1 (long), -1 (short), 0 or NaN (no position); "
            f"{bad.size} bad row(s), first: {rows}. Use np.sign() of a signal to get a side"
        )
    return values


def _check_multiplier(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0 (0 switches that barrier off), got {value!r}")
    return float(value)


def triple_barrier_labels(
    close: pd.Series,
    *,
    profit_take: float,
    stop_loss: float,
    max_holding: int,
    volatility: pd.Series | None = None,
    span: int = 20,
    side: pd.Series | None = None,
) -> pd.DataFrame:
    """Label each bar by which of three barriers its later closes touch first (de Prado, 2018, ch. 3).

    From bar t, with ``vol_t`` the volatility known at t, the upper barrier is ``close_t * exp(profit_take *
    vol_t)``, the lower one ``close_t * exp(-stop_loss * vol_t)``, and the vertical one is bar t + max_holding.
    The first close among bars t+1 .. t+max_holding at or beyond the upper barrier makes t a BUY (2), at or
    beyond the lower one a SELL (0); ``t1`` is that bar. Touching neither makes it a HOLD (1) with
    ``t1 = t + max_holding``. A multiplier of 0 switches its barrier off.

    Near the end of the data, a bar that touched neither barrier in the bars available and whose horizon is not
    complete is undecided: label NaN, ``t1`` NaT; it is dropped, never guessed. A bar whose volatility is NaN
    (the warm-up) is undecided too.

    **Meta-labelling.** Given ``side`` (decided at t by a primary model: +1 long, -1 short, 0 or NaN none), the
    barriers follow the bet: the profit-take is above for a long and below for a short, the stop-loss opposite.
    The label is then 1 if the profit-take was touched first and 0 otherwise (stop-loss or vertical barrier):
    whether to act on the primary model's call. Bars without a side get NaN.

    Parameters
    ----------
    close
        Closing prices (> 0, no NaN) with the bars' DatetimeIndex.
    profit_take, stop_loss
        Barrier widths in units of ``vol_t`` (finite, >= 0; 0 switches the barrier off; not both 0).
    max_holding
        Most bars to hold, >= 1: the vertical barrier.
    volatility
        Barrier scale per bar on ``close``'s index, in log-return units, known at each bar's close. By default
        :func:`causal_volatility` of ``close`` with ``span``.
    span
        EWM span of the default volatility; ignored when ``volatility`` is given.
    side
        Primary model's position per bar on ``close``'s index, for meta-labelling.

    Returns
    -------
    pandas.DataFrame
        On ``close``'s index: ``label`` (float; 0 SELL, 1 HOLD, 2 BUY, or 0/1 when meta-labelling; NaN when
        undecided), ``t1`` (timestamp of the deciding bar, NaT when undecided) and ``ret`` (the log return from
        t to t1, unsigned: multiply by ``side`` for the bet's return).

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC", name="time")
    >>> close = pd.Series([100.0, 103.0, 99.0, 97.5, 98.5, 98.0], index=idx)
    >>> vol = pd.Series(0.02, index=idx)
    >>> out = triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=2, volatility=vol)
    >>> out["label"].tolist()
    [2.0, 0.0, 1.0, 1.0, nan, nan]
    >>> [t.day if pd.notna(t) else None for t in out["t1"]]
    [2, 3, 5, 6, None, None]
    >>> side = pd.Series([-1.0, -1.0, 1.0, np.nan, 1.0, 1.0], index=idx)
    >>> meta = triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=2, volatility=vol, side=side)
    >>> meta["label"].tolist()
    [0.0, 1.0, 0.0, nan, nan, nan]
    """
    profit_take = _check_multiplier("profit_take", profit_take)
    stop_loss = _check_multiplier("stop_loss", stop_loss)
    if profit_take == 0 and stop_loss == 0:
        raise ValueError(
            "profit_take and stop_loss are both 0: with no horizontal barrier every label would be HOLD; "
            "set at least one of them > 0"
        )
    max_holding = _check_int("max_holding", max_holding, 1)
    values = _check_close(close, "triple_barrier_labels")
    vol = causal_volatility(close, span=span).to_numpy() if volatility is None else _check_volatility(volatility, close)
    if side is None:
        sides = np.ones(values.shape[0])
    else:
        if profit_take == 0:
            raise ValueError("meta-labelling asks whether the profit-take is reached: profit_take must be > 0")
        sides = _check_side(side, close)

    outcome, t1_pos = _barrier_kernel(values, vol, sides, profit_take, stop_loss, max_holding)
    decided = t1_pos >= 0
    if side is None:
        codes = np.select([outcome == _PROFIT, outcome == _STOP], [BUY, SELL], HOLD).astype(np.float64)
    else:
        codes = (outcome == _PROFIT).astype(np.float64)
    label = np.where(decided, codes, np.nan)
    ret = np.full(values.shape[0], np.nan)
    ret[decided] = np.log(values[t1_pos[decided]] / values[decided])
    return pd.DataFrame({"label": label, "t1": _times_at(close.index, t1_pos), "ret": ret}, index=close.index)
