"""Seeded synthetic OHLCV bars with a known, learnable structure, for tests and examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurotrade.data._frame import INDEX_NAME, OHLCV_COLUMNS, TIME_UNIT, validate_ohlcv
from neurotrade.data._timeframe import parse_timeframe
from neurotrade.errors import DataError

__all__ = ["synthetic_ohlcv"]

# Regime 0 is calm and mean-reverting, regime 1 volatile and trending.
_STAY = (0.99, 0.97)  # chance of keeping the regime from one bar to the next
_SIGMA = (0.01, 0.02)  # per-bar standard deviation of the log return's noise
_KAPPA = 0.4  # calm regime: share of the gap to the moving anchor closed per bar
_ANCHOR_SPAN = 20  # the anchor is an exponential moving average of the log close over ~20 bars
_DRIFT = 0.002  # volatile regime: size of the per-bar drift, its sign drawn when the regime starts
_START_PRICE = 100.0


def synthetic_ohlcv(
    n_bars: int = 2000, *, seed: int = 0, start: str = "2000-01-03", timeframe: str = "1d"
) -> pd.DataFrame:
    """Synthetic OHLCV bars from a two-regime model with a planted, learnable signal.

    The model, bar by bar (``x`` is the log close, ``a`` an exponential moving average of ``x`` over
    about 20 bars, updated after each bar, so it only knows the past):

    - A hidden Markov chain switches between a **calm** regime (kept with probability 0.99 per bar,
      about three quarters of the time) and a **volatile** one (kept with probability 0.97).
    - Calm: ``x[t] - x[t-1] = -0.4 * (x[t-1] - a[t-1]) + 0.01 * e[t]``: prices are pulled back toward
      their moving average, so a close far above it (high RSI, high Bollinger position) tends to be
      followed by falling prices over the next bars, and the reverse below it. This is the signal.
    - Volatile: ``x[t] - x[t-1] = d + 0.02 * e[t]``, with a drift ``d = +-0.002`` whose sign is drawn
      when the regime starts: trends that mean reversion gets wrong, recognisable by their volatility.
    - ``e`` is standard normal noise. The open is the previous close moved by a small overnight gap,
      high and low extend beyond the body by half-normal wicks scaled to the regime's volatility, and
      volume is log-normal, larger in the volatile regime and on big moves.

    Times: business days (Monday to Friday) for ``1d``, Mondays for ``1w``, consecutive bars for
    intraday timeframes; each is a bar's open time in UTC. The parameters are per bar, whatever the
    timeframe. The same arguments give the same frame on every platform that NumPy's PCG64 supports.

    Parameters
    ----------
    n_bars
        Number of bars (at least 1).
    seed
        Seed of the random generator.
    start
        Date (or time) of the first bar, read as UTC.
    timeframe
        One of ``1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w``.

    Returns
    -------
    pandas.DataFrame
        An OHLCV frame (see :func:`validate_ohlcv`).

    Examples
    --------
    >>> df = synthetic_ohlcv(500, seed=1)
    >>> len(df), str(df.index[0].date()), df.equals(synthetic_ohlcv(500, seed=1))
    (500, '2000-01-03', True)
    """
    if int(n_bars) != n_bars or n_bars < 1:
        raise DataError(f"n_bars must be a positive integer, got {n_bars!r}.")
    n = int(n_bars)
    tf = parse_timeframe(timeframe)
    rng = np.random.default_rng(seed)
    switch = rng.random(n)
    noise = rng.standard_normal(n)
    drift_sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    gap_noise = rng.standard_normal(n)
    wicks = np.abs(rng.standard_normal((n, 2)))
    volume_noise = rng.standard_normal(n)

    regime = np.empty(n, dtype=np.int64)
    ret = np.empty(n)
    alpha = 2.0 / (_ANCHOR_SPAN + 1)
    x = anchor = 0.0
    state, drift = 0, 0.0
    # A recursion through the anchor: each return depends on the path so far, so this loops over bars.
    for t in range(n):
        if t > 0 and switch[t] > _STAY[state]:
            state = 1 - state
            drift = _DRIFT * drift_sign[t]
        pull = -_KAPPA * (x - anchor) if state == 0 else drift
        r = pull + _SIGMA[state] * noise[t]
        x += r
        anchor += alpha * (x - anchor)
        regime[t], ret[t] = state, r

    sigma = np.asarray(_SIGMA)[regime]
    close = _START_PRICE * np.exp(np.cumsum(ret))
    prev_close = np.concatenate(([_START_PRICE], close[:-1]))
    open_ = prev_close * np.exp(0.2 * sigma * gap_noise)
    high = np.maximum(open_, close) * np.exp(0.5 * sigma * wicks[:, 0])
    low = np.minimum(open_, close) * np.exp(-0.5 * sigma * wicks[:, 1])
    volume = np.round(1e6 * np.exp(0.3 * volume_noise + 0.5 * regime + 10.0 * np.abs(ret)))

    df = pd.DataFrame(
        dict(zip(OHLCV_COLUMNS, (open_, high, low, close, volume), strict=True)),
        index=_times(start, n, tf.name, tf.delta),
    )
    validate_ohlcv(df, source="synthetic_ohlcv")
    return df


def _times(start: str, n: int, timeframe: str, delta: pd.Timedelta) -> pd.DatetimeIndex:
    try:
        first = pd.Timestamp(start)
    except ValueError as e:
        raise DataError(f"cannot read start={start!r} as a date; write it as '2000-01-03'.") from e
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    if timeframe == "1d":
        index = pd.bdate_range(first, periods=n)
    elif timeframe == "1w":
        index = pd.date_range(first, periods=n, freq="W-MON")
    else:
        index = pd.date_range(first, periods=n, freq=delta)
    return pd.DatetimeIndex(index, name=INDEX_NAME).as_unit(TIME_UNIT)
