"""Performance metrics of a backtest, as plain JSON-ready numbers."""

from __future__ import annotations

import difflib
import math
import re
from statistics import NormalDist

import numpy as np
import pandas as pd

from neurotrade.backtest._result import BacktestResult, PortfolioResult
from neurotrade.errors import BacktestError

__all__ = ["deflated_sharpe_ratio", "observed_periods_per_year", "performance", "periods_per_year"]

# Trading days a year and trading hours a day per calendar. Equities: NYSE-style 252 sessions
# of 6.5 hours (09:30-16:00); crypto trades around the clock every day.
_CALENDARS = {
    "equity": (252.0, 6.5),
    "crypto": (365.0, 24.0),
    "24/7": (365.0, 24.0),
}
_TIMEFRAME = re.compile(r"^(\d+)(m|h|d|w)$")
_MINUTES = {"m": 1.0, "h": 60.0}


def periods_per_year(timeframe: str, *, calendar: str = "equity") -> float:
    """How many bars of ``timeframe`` a year holds, to annualise returns and volatility.

    ``calendar="equity"`` counts 252 trading days of 6.5 trading hours; ``"crypto"`` and
    ``"24/7"`` count 365 days of 24 hours. Intraday bars divide the trading day evenly
    (``1h`` on equities: 252 * 6.5 = 1638), which slightly undercounts bar lengths that do not
    divide the session (a ``4h`` equity session gives 1.625 bars a day, not the 2 bars a resampler
    would produce). Daily bars give the days per year, ``Nd`` a fraction of that, and weekly bars
    52 on equities (a trading week) and 365 / 7 around the clock.

    Parameters
    ----------
    timeframe
        ``<count><unit>`` with unit ``m`` (minutes), ``h``, ``d`` or ``w``: ``1m, 5m, 1h, 4h, 1d, 1w``.
    calendar
        ``"equity"``, ``"crypto"`` or ``"24/7"``.

    Returns
    -------
    float
        Bars per year.

    Raises
    ------
    BacktestError
        For a timeframe or calendar it does not know.

    Examples
    --------
    >>> periods_per_year("1d"), periods_per_year("1d", calendar="crypto")
    (252.0, 365.0)
    >>> periods_per_year("1h")
    1638.0
    """
    if calendar not in _CALENDARS:
        close = difflib.get_close_matches(str(calendar), list(_CALENDARS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BacktestError(f"unknown calendar {calendar!r}; choose one of {', '.join(map(repr, _CALENDARS))}{hint}")
    match = _TIMEFRAME.match(timeframe) if isinstance(timeframe, str) else None
    if match is None or int(match.group(1)) == 0:
        raise BacktestError(
            f"cannot read timeframe {timeframe!r}; write <count><unit> with unit m, h, d or w, "
            "e.g. '5m', '1h', '1d', '1w'"
        )
    count, unit = int(match.group(1)), match.group(2)
    days, hours = _CALENDARS[calendar]
    if unit in _MINUTES:
        return days * hours * 60.0 / (count * _MINUTES[unit])
    if unit == "d":
        return days / count
    weeks = 52.0 if calendar == "equity" else days / 7.0
    return weeks / count


def observed_periods_per_year(index: pd.DatetimeIndex) -> float:
    """Bars per year as the data itself shows them: bar intervals over the elapsed years.

    This follows the market's real calendar (about 252 for daily equities with their holidays, 365 for a 24/7
    market, whatever a session's intraday bars come to) where a fixed calendar would guess. Use it over a long
    history, not a short window, so one holiday-heavy month does not move it.

    Examples
    --------
    >>> days = pd.date_range("2020-01-01", periods=731, freq="D", tz="UTC")
    >>> round(observed_periods_per_year(days), 2)
    365.25
    >>> round(observed_periods_per_year(pd.bdate_range("2020-01-01", "2021-12-31", tz="UTC")), 1)
    261.2
    """
    if len(index) < 2:
        raise BacktestError(f"need at least two bars to measure bars per year, got {len(index)}")
    years = (index[-1] - index[0]) / pd.Timedelta(days=365.25)
    if years <= 0:
        raise BacktestError("the bars span no time; cannot measure bars per year")
    return (len(index) - 1) / years


def performance(
    result: BacktestResult | PortfolioResult, *, periods_per_year: float
) -> dict[str, float | int | str | None]:
    """Summarise a backtest in numbers that JSON can hold (no NaN, no infinity).

    Per-bar returns are taken from the equity at each close, starting from ``initial_cash``,
    so there is one return per bar. A value that is undefined for the result (no trades, no
    variation) is ``None``, never NaN or infinity.

    A path whose equity reaches zero or less at some close is **ruined** (a margin call, see
    :func:`~neurotrade.backtest.simulate`): returns through zero have no meaning, so ``volatility``,
    ``sharpe``, ``sortino`` and ``calmar`` are None, ``annual_return`` is -1.0, ``total_return`` and
    ``max_drawdown`` are what the equity says (-1.0 or below), and ``ruined`` names the first close at
    which the equity was at or below zero. Rank ruined results below every other, whatever their other
    numbers.

    Parameters
    ----------
    result
        What :func:`~neurotrade.backtest.simulate` or :func:`~neurotrade.backtest.simulate_portfolio`
        returned.
    periods_per_year
        Bars per year, e.g. from :func:`periods_per_year`.

    Returns
    -------
    dict
        - ``total_return``: final equity / initial cash - 1.
        - ``annual_return``: compound annual growth over the bars, taking ``len(equity)`` bars as
          ``len(equity) / periods_per_year`` years; -1.0 when the equity ends at or below zero, or is ruined.
        - ``volatility``: sample standard deviation (ddof=1) of the per-bar returns times
          ``sqrt(periods_per_year)``; None with fewer than two bars, or ruined.
        - ``sharpe``: mean / standard deviation (ddof=1) of per-bar returns times
          ``sqrt(periods_per_year)``, risk-free rate 0; None when the deviation is 0, or ruined.
        - ``sortino``: mean per-bar return / ``sqrt(mean(min(r, 0)^2))`` times
          ``sqrt(periods_per_year)``; None when no return is negative, or ruined.
        - ``max_drawdown``: the deepest fall from a running peak of the equity (initial cash
          included), as a fraction <= 0, e.g. -0.23; -1.0 or below when ruined.
        - ``calmar``: ``annual_return / |max_drawdown|``; None when the equity never fell, or ruined.
        - ``max_drawdown_bars``: the longest spell of consecutive bars with equity below its running
          peak (the longest drawdown, not necessarily the deepest one's length).
        - ``win_rate``: trades with pnl > 0 over all trades (those closed at the end included);
          None without trades.
        - ``profit_factor``: gross profit / gross loss of the trades; None when there is no losing
          trade (the ratio would be infinite) or no trade at all.
        - ``expectancy``: mean pnl per trade, in cash (after costs); None without trades.
        - ``turnover``: traded notional (fill price times quantity, over every fill) divided by the mean
          equity, per year: ``notional / mean(equity) * periods_per_year / len(equity)``. A strategy that
          buys and sells its whole equity once a year has a turnover of 2.
        - ``trades``: number of trades; ``avg_bars_held``: their mean ``bars_held`` (None without
          trades).
        - ``exposure``: fraction of bars whose close held a non-zero position (in any symbol, for a
          portfolio).
        - ``final_equity``: the last equity value.
        - ``ruined``: only for a ruined path: the time of the first close whose equity is <= 0, as an
          ISO 8601 string. The key is absent otherwise.

    Raises
    ------
    BacktestError
        When ``periods_per_year`` is not a positive number.

    Examples
    --------
    >>> import pandas as pd
    >>> from neurotrade.backtest import buy_and_hold
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="time")
    >>> px = [10.0, 10.0, 12.0, 9.0]
    >>> bars = pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=idx)
    >>> stats = performance(buy_and_hold(bars, initial_cash=100.0), periods_per_year=252)
    >>> round(stats["total_return"], 6), round(stats["max_drawdown"], 6), stats["trades"]
    (-0.1, -0.25, 1)
    >>> "ruined" in stats
    False

    Five times the equity short from 10, and the price doubles: margin-called, ruined.

    >>> import numpy as np
    >>> from neurotrade.backtest import simulate
    >>> bars["close"] = bars["high"] = [10.0, 10.0, 12.0, 20.0]
    >>> short = simulate(bars, -np.ones(4), initial_cash=100.0, size=np.full(4, 5.0))
    >>> stats = performance(short, periods_per_year=252)
    >>> stats["ruined"], stats["sharpe"], stats["total_return"], stats["max_drawdown"]
    ('2024-01-03T00:00:00+00:00', None, -1.0, -1.0)
    """
    ppy = periods_per_year
    if isinstance(ppy, bool) or not isinstance(ppy, int | float) or not (math.isfinite(ppy) and ppy > 0):
        raise BacktestError(
            f"periods_per_year must be a number > 0, got {ppy!r}; "
            "use neurotrade.backtest.periods_per_year('1d') for daily bars"
        )
    initial = float(result.initial_cash)
    equity = result.equity.to_numpy(dtype=np.float64)
    path = np.concatenate(([initial], equity))
    n = equity.size

    with np.errstate(divide="ignore", invalid="ignore"):
        returns = path[1:] / path[:-1] - 1.0
    final = float(equity[-1])
    total_return = final / initial - 1.0
    years = n / ppy
    broke = np.flatnonzero(equity <= 0.0)
    ruined = bool(broke.size)
    annual_return = -1.0 if final <= 0 or ruined else (final / initial) ** (1.0 / years) - 1.0

    volatility = sharpe = sortino = None
    # A return through zero (or from a negative equity) is no return: a ruined path has no ratios.
    if n >= 2 and not ruined and np.all(np.isfinite(returns)):
        mean = float(returns.mean())
        std = float(returns.std(ddof=1))
        volatility = std * math.sqrt(ppy)
        if std > 0:
            sharpe = mean / std * math.sqrt(ppy)
        downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
        if downside > 0:
            sortino = mean / downside * math.sqrt(ppy)

    peak = np.maximum.accumulate(path)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, path / peak - 1.0, 0.0)
    max_drawdown = float(drawdown.min())

    trades = result.trades
    n_trades = len(trades)
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    win_rate = profit_factor = avg_bars_held = None
    if n_trades:
        win_rate = float(np.count_nonzero(pnl > 0) / n_trades)
        gross_loss = float(-pnl[pnl < 0].sum())
        if gross_loss > 0:
            profit_factor = float(pnl[pnl > 0].sum()) / gross_loss
        avg_bars_held = float(trades["bars_held"].mean())

    if isinstance(result, PortfolioResult):
        held = (result.positions.to_numpy() != 0.0).any(axis=1)
    else:
        held = result.position.to_numpy() != 0.0
    exposure = float(np.count_nonzero(held) / n)

    calmar = annual_return / -max_drawdown if max_drawdown < 0 and not ruined else None
    expectancy = float(pnl.mean()) if n_trades else None
    fills = result.fills
    notional = 0.0
    if len(fills):
        notional = float(
            (fills["price"].to_numpy(dtype=np.float64) * fills["quantity"].to_numpy(dtype=np.float64)).sum()
        )
    mean_equity = float(equity.mean())
    turnover = notional / mean_equity * ppy / n if mean_equity > 0 else None

    stats: dict[str, float | int | str | None] = {
        "total_return": total_return,
        "annual_return": annual_return,
        "volatility": volatility,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": max_drawdown,
        "calmar": calmar,
        "max_drawdown_bars": _longest_run(drawdown < 0),
        "win_rate": win_rate,
        "profit_factor": profit_factor,
        "expectancy": expectancy,
        "turnover": turnover,
        "trades": n_trades,
        "avg_bars_held": avg_bars_held,
        "exposure": exposure,
        "final_equity": final,
    }
    if ruined:
        # Added only when it happened, so that reports listing every key show no empty "ruined" row.
        stats["ruined"] = result.equity.index[int(broke[0])].isoformat()
    return {key: _finite_or_none(value) for key, value in stats.items()}


def deflated_sharpe_ratio(
    returns: pd.Series | np.ndarray,
    n_trials: int,
    *,
    sharpe_variance: float | None = None,
) -> float:
    """Probability that the true Sharpe ratio beats the best of ``n_trials`` strategies without skill.

    The deflated Sharpe ratio of Bailey and Lopez de Prado (2014, "The Deflated Sharpe Ratio: Correcting
    for Selection Bias, Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5)).
    Trying many strategies and keeping the best inflates its Sharpe ratio; the DSR asks how likely the
    observed one is to exceed what the best of ``N = n_trials`` zero-skill trials would show by luck:

    .. math::

        SR_0 = \\sqrt{V}\\,\\big((1-\\gamma)\\,\\Phi^{-1}(1 - 1/N) + \\gamma\\,\\Phi^{-1}(1 - 1/(N e))\\big)

        DSR = \\Phi\\left(\\frac{(\\widehat{SR} - SR_0)\\sqrt{T - 1}}
              {\\sqrt{1 - \\gamma_3 \\widehat{SR} + \\frac{\\gamma_4 - 1}{4}\\widehat{SR}^2}}\\right)

    with :math:`\\widehat{SR}` the per-period (not annualised) Sharpe ratio of the ``T`` returns
    (mean over standard deviation, ddof=1), :math:`\\gamma_3` their skewness and :math:`\\gamma_4` their
    kurtosis (3 for a normal distribution; both population moments), :math:`\\gamma` the Euler-Mascheroni
    constant and :math:`V` the variance of the Sharpe ratios across the trials. With ``n_trials=1`` the
    benchmark :math:`SR_0` is 0 and the DSR is the probabilistic Sharpe ratio.

    Parameters
    ----------
    returns
        Per-bar returns of the chosen strategy (e.g. ``equity.pct_change().dropna()``), at least 3, finite.
    n_trials
        How many strategies (configurations, seeds, feature sets...) were tried before this one was chosen, >= 1.
    sharpe_variance
        Variance of the per-period Sharpe ratios of those trials. When omitted, ``1 / (T - 1)``: the variance of
        a Sharpe ratio estimated on ``T`` normal returns whose true Sharpe ratio is 0, i.e. trials that differ by
        luck alone. Pass the measured variance when the trials' results are at hand.

    Returns
    -------
    float
        A probability in [0, 1]; above 0.95 is the usual bar for "unlikely to be luck".

    Raises
    ------
    BacktestError
        For fewer than 3 returns, non-finite ones, returns without variation, or a bad ``n_trials`` or
        ``sharpe_variance``.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(0).normal(0.001, 0.01, 1_000)
    >>> one, many = deflated_sharpe_ratio(r, 1), deflated_sharpe_ratio(r, 100)
    >>> round(one, 3), round(many, 3)
    (0.953, 0.198)
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials < 1:
        raise BacktestError(f"n_trials must be an integer >= 1 (how many strategies were tried), got {n_trials!r}")
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1 or values.size < 3:
        raise BacktestError(f"returns must be 1-D with at least 3 values, got shape {values.shape}")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise BacktestError(
            f"returns must be finite, but position {int(bad[0])} is {float(values[bad[0]])!r}; "
            "drop the leading NaN of pct_change() with .dropna()"
        )
    t = values.size
    std = float(values.std(ddof=1))
    # Identical values can leave a rounding residue in the deviation, so test the spread itself.
    if np.ptp(values) == 0:
        raise BacktestError("returns do not vary, so their Sharpe ratio is undefined")
    sharpe = float(values.mean()) / std
    centred = values - values.mean()
    m2 = float(np.mean(centred**2))
    skew = float(np.mean(centred**3)) / m2**1.5
    kurtosis = float(np.mean(centred**4)) / m2**2
    if sharpe_variance is None:
        variance = 1.0 / (t - 1)
    else:
        if isinstance(sharpe_variance, bool) or not isinstance(sharpe_variance, int | float):
            raise BacktestError(f"sharpe_variance must be a number >= 0, got {sharpe_variance!r}")
        variance = float(sharpe_variance)
        if not (math.isfinite(variance) and variance >= 0):
            raise BacktestError(f"sharpe_variance must be a finite number >= 0, got {sharpe_variance!r}")
    normal = NormalDist()
    if n_trials == 1:
        benchmark = 0.0
    else:
        euler = 0.5772156649015329
        benchmark = math.sqrt(variance) * (
            (1.0 - euler) * normal.inv_cdf(1.0 - 1.0 / n_trials)
            + euler * normal.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
        )
    denominator = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if denominator <= 0:
        raise BacktestError(
            "the returns' skewness and kurtosis make the Sharpe ratio's variance estimate non-positive; "
            "use more returns"
        )
    return normal.cdf((sharpe - benchmark) * math.sqrt(t - 1) / math.sqrt(denominator))


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True."""
    if not flags.any():
        return 0
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def _finite_or_none(value: float | int | str | None) -> float | int | str | None:
    # Overflowing compounding on absurd inputs must not leak inf/NaN into JSON reports.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
