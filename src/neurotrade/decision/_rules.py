"""From class probabilities to a sized target position, one bar at a time.

The same :meth:`DecisionRules.decide` serves the backtest (looped over a window by :meth:`DecisionRules.apply_all`)
and the live :class:`~neurotrade.decision.DecisionEngine` (called once per new bar), so the two cannot disagree.
Everything a decision reads is in a :class:`BarView` (known at the bar's close) and a :class:`RuleState` (what
earlier decisions left behind); nothing else, so nothing from later bars can leak in.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from neurotrade.decision._sizing import Sizer
from neurotrade.errors import ConfigError, ModelError
from neurotrade.labels import BUY, HOLD, SELL

if TYPE_CHECKING:
    from neurotrade.config import Strategy

_SIGNAL_OF_TARGET = {1: BUY, -1: SELL, 0: HOLD}
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class BarView:
    """What the rules may read at one bar, all of it known at the bar's close.

    Attributes
    ----------
    proba
        Class probabilities, SELL / HOLD / BUY (a meta model: pass / pass / act; only ``proba[BUY]`` is read).
    time
        The bar's time (UTC; a naive time is taken as UTC), for ``max_trades_per_day``.
    side
        The primary signal's side (+1, -1, 0) when meta-labelling; None otherwise.
    pred_return
        The model's predicted log return over the label horizon; NaN when it has no return head.
    pred_vol
        The model's predicted per-bar volatility; NaN when it has none.
    realised_vol
        A causal per-bar volatility estimate (:func:`~neurotrade.decision.realised_volatility`); NaN: none.

    Examples
    --------
    >>> BarView(np.array([0.2, 0.2, 0.6]), side=1).side
    1
    """

    proba: np.ndarray
    time: pd.Timestamp | None = None
    side: int | None = None
    pred_return: float = math.nan
    pred_vol: float = math.nan
    realised_vol: float = math.nan


@dataclass(frozen=True)
class RuleState:
    """What one decision leaves for the next, as of the end of the last decided bar.

    Attributes
    ----------
    position
        The position held (-1, 0, +1).
    bars_since_change
        Decided bars since the position last changed: 0 when it changed at the last bar; None: never.
    day
        The UTC calendar day of the last bar that had a time; None before the first.
    changes_today
        Position changes the rules made on ``day``.

    Examples
    --------
    >>> RuleState(position=1, bars_since_change=4).holding(0)  # a stop closed the long outside the rules
    RuleState(position=0, bars_since_change=0, day=None, changes_today=0)
    """

    position: int = 0
    bars_since_change: int | None = None
    day: datetime.date | None = None
    changes_today: int = 0

    def holding(self, position: int) -> RuleState:
        """The state once the position really held is ``position`` (a stop fired, a manual trade): a different
        position counts as a change for ``min_bars_between_signals``, not as one of the rules' trades of the day.
        """
        if position == self.position:
            return self
        return replace(self, position=int(position), bars_since_change=0)


@dataclass(frozen=True)
class Step:
    """The decision at one bar.

    Attributes
    ----------
    signal
        The class acted on (SELL, HOLD, BUY); HOLD when nothing is acted on or a filter vetoed the change.
    target
        The position to hold after this bar (-1, 0, +1).
    size
        The share of equity an entry made on this decision takes (> 0; 0 when vetoed or flat). While a position
        is held it is the size the rules would give it now; it matters only for entries.
    reason
        Why this size, or why vetoed, in a few words.
    state
        The state to pass to the next bar's :meth:`DecisionRules.decide`.
    """

    signal: int
    target: int
    size: float
    reason: str
    state: RuleState


@dataclass(frozen=True)
class DecisionRules:
    """Signal rules: a class counts only when its probability reaches ``confidence_threshold``.

    BUY targets a long position; SELL targets flat, or short when ``allow_short``; HOLD (or no class confident
    enough) keeps the current position. With a primary ``side`` in the view (meta-labelling) the model's BUY
    probability is that of acting on the side: the target is ``side`` when it reaches the threshold, else flat
    (a short side counts only with ``allow_short``), so the position is exactly side x act.

    Two kinds of filter (all off by default) then apply to a change of position; the reason says which fired:

    - **entry filters** judge a new position only, never a move to flat (an exit is always allowed by them):
      ``min_edge_pct``, the expected edge of the new side is below this; and sizing, the ``sizer`` cannot size it
      (size <= 0: no volatility estimate, no Kelly edge). A refused entry leaves the account flat: from flat it
      stays flat, and a reversal still closes the old side (the model no longer wants it), so a veto can never
      keep a long the signal says to leave. The expected edge, in percent, is the predicted log return (times
      100) signed by the new side when the view has one, else ``(p[signal] - p[opposite]) * expected_move_pct``:
      the probability margin times the size of the move the labels stand for; with ``expected_loss_pct`` the two
      moves apart: a long's ``p[BUY] * expected_move_pct - p[SELL] * expected_loss_pct`` (the training labels'
      average up and down moves), a short's the mirror, and for a meta model
      ``p[BUY] * expected_move_pct - (1 - p[BUY]) * expected_loss_pct`` (the average win and loss of the
      training bets); less the round trip ``round_trip_cost_pct`` (twice commission plus slippage, in percent);
    - **change filters** limit how often the position changes at all, and keep the position held when they fire:
      ``min_bars_between_signals``, fewer bars than this have passed since the position last changed; and
      ``max_trades_per_day``, that many changes were already made on the bar's UTC calendar day.

    Examples
    --------
    >>> rules = DecisionRules(confidence_threshold=0.6)
    >>> rules.step(np.array([0.1, 0.2, 0.7]), position=0)
    (2, 1)
    >>> rules.step(np.array([0.5, 0.1, 0.4]), position=1)  # SELL at 0.5 is not confident enough
    (1, 1)
    >>> picky = DecisionRules(min_edge_pct=1.0, expected_move_pct=4.0, round_trip_cost_pct=0.2)
    >>> picky.step(np.array([0.2, 0.2, 0.6]), position=0)  # (0.6 - 0.2) * 4 - 0.2 = 1.4 >= 1
    (2, 1)
    >>> picky.step(np.array([0.3, 0.1, 0.6]), position=0)  # (0.6 - 0.3) * 4 - 0.2 = 1.0 ... just enough
    (2, 1)
    >>> picky.step(np.array([0.35, 0.05, 0.6]), position=0)  # 0.8 < 1: vetoed
    (1, 0)
    >>> kelly = DecisionRules(sizer=Sizer("kelly", kelly_fraction=0.5))
    >>> step = kelly.decide(BarView(np.array([0.2, 0.2, 0.6])))  # p = 0.6 / 0.8 = 0.75: f = 0.5
    >>> step.signal, step.target, round(step.size, 6), step.reason
    (2, 1, 0.25, 'kelly 0.25 (p 0.75, payoff 1.00)')
    >>> meta = DecisionRules(confidence_threshold=0.55, allow_short=True)
    >>> [meta.decide(BarView(np.array([0.4, 0.0, 0.6]), side=s)).target for s in (1, -1, 0)]
    [1, -1, 0]
    >>> meta.decide(BarView(np.array([0.5, 0.0, 0.5]), side=1), RuleState(position=1)).target  # pass: flat
    0
    >>> shorts = DecisionRules(allow_short=True, min_edge_pct=1.0, expected_move_pct=4.0, round_trip_cost_pct=0.2)
    >>> refused = shorts.decide(BarView(np.array([0.6, 0.05, 0.35])), RuleState(position=1))  # short edge 0.8 < 1
    >>> refused.signal, refused.target, refused.reason  # the long is closed, the short is not opened
    (0, 0, 'vetoed entry: expected edge 0.80% < 1.00%; flat')
    """

    confidence_threshold: float = 0.5
    allow_short: bool = False
    min_bars_between_signals: int = 0
    min_edge_pct: float | None = None
    expected_move_pct: float = 0.0
    round_trip_cost_pct: float = 0.0
    max_trades_per_day: int | None = None
    sizer: Sizer = field(default_factory=Sizer)
    expected_loss_pct: float | None = None

    def __post_init__(self) -> None:
        if self.min_bars_between_signals < 0:
            raise ConfigError(
                f"min_bars_between_signals must be >= 0, got {self.min_bars_between_signals}; 0 turns the filter off"
            )
        if self.min_edge_pct is not None and self.expected_move_pct <= 0:
            raise ConfigError(
                "min_edge_pct needs expected_move_pct > 0 (the size, in percent, of the move a BUY or SELL label "
                f"stands for), got {self.expected_move_pct}; set it, or leave min_edge_pct unset"
            )
        if self.max_trades_per_day is not None and self.max_trades_per_day < 1:
            raise ConfigError(
                f"max_trades_per_day must be >= 1, got {self.max_trades_per_day}; leave it unset for no limit"
            )

    @classmethod
    def from_spec(
        cls,
        strategy: Strategy,
        *,
        expected_move_pct: float,
        periods_per_year: float,
        horizon: int,
        expected_loss_pct: float | None = None,
    ) -> DecisionRules:
        """The rules a strategy's ``decisions`` section declares, with its backtest's costs and fraction.

        Parameters
        ----------
        strategy
            The parsed strategy.
        expected_move_pct
            The size, in percent, of the move a BUY or SELL label stands for (for ``min_expected_edge_pct``
            when the model predicts no return): e.g. the average absolute move of the training labels.
        periods_per_year
            Bars in a year, for ``volatility_target`` sizing.
        horizon
            The label horizon in bars, for Kelly sizing from a predicted return.
        expected_loss_pct
            Meta-labelling: the average loss, in percent, of the training bets that were passed (the win is
            ``expected_move_pct``); None: as large as the win.

        Examples
        --------
        >>> from neurotrade.config import Strategy
        >>> spec = Strategy.model_validate({"name": "s", "labels": {"type": "triple_barrier", "profit_take": 3,
        ...     "stop_loss": 1.5}, "decisions": {"sizing": "kelly", "max_trades_per_day": 2}})
        >>> rules = DecisionRules.from_spec(spec, expected_move_pct=2.0, periods_per_year=252, horizon=20)
        >>> rules.sizer.mode, rules.sizer.payoff, rules.max_trades_per_day, round(rules.round_trip_cost_pct, 6)
        ('kelly', 2.0, 2, 0.14)
        >>> rules.sizer.payoff_short  # a short wins at the lower barrier (stop_loss) and loses at the upper one
        0.5
        """
        d, bt, labels = strategy.decisions, strategy.backtest, strategy.labels
        payoff = payoff_short = 1.0
        if labels.type == "triple_barrier":
            payoff = labels.profit_take / labels.stop_loss
            # Meta barriers follow the bet's side; plain ones sit above (BUY) and below (SELL) whatever the bet.
            payoff_short = payoff if labels.meta is not None else labels.stop_loss / labels.profit_take
        sizer = Sizer(
            d.sizing,
            fraction=bt.fraction,
            max_leverage=d.max_leverage,
            target_volatility_pct=d.target_volatility_pct,
            periods_per_year=periods_per_year,
            kelly_fraction=d.kelly_fraction,
            payoff=payoff,
            payoff_short=payoff_short,
            horizon=horizon,
        )
        return cls(
            d.confidence_threshold,
            d.allow_short,
            min_bars_between_signals=d.min_bars_between_signals,
            min_edge_pct=d.min_expected_edge_pct,
            expected_move_pct=expected_move_pct,
            round_trip_cost_pct=2.0 * (bt.commission_pct + bt.slippage_pct),
            max_trades_per_day=d.max_trades_per_day,
            sizer=sizer,
            expected_loss_pct=expected_loss_pct,
        )

    def expected_edge_pct(
        self, proba: np.ndarray, signal: int, pred_return: float = math.nan, *, side: int | None = None
    ) -> float:
        """The expected edge, in percent after round-trip costs, of acting on ``signal`` (see the class doc).

        ``side``: a meta model's primary side (its BUY probability is then that of acting on it).

        Examples
        --------
        >>> rules = DecisionRules(expected_move_pct=2.0, round_trip_cost_pct=0.1)
        >>> rules.expected_edge_pct(np.array([0.1, 0.3, 0.6]), 2)
        0.9
        >>> round(rules.expected_edge_pct(np.array([0.1, 0.3, 0.6]), 0, pred_return=-0.004), 6)  # a short's 0.4 %
        0.3
        """
        direction = 1 if signal == BUY else -1
        if math.isfinite(pred_return):
            return float(direction * pred_return * 100.0 - self.round_trip_cost_pct)
        # A meta model's BUY probability is that of acting on the side; its complement, that of passing.
        if side is not None:
            loss = self.expected_move_pct if self.expected_loss_pct is None else self.expected_loss_pct
            gain = proba[BUY] * self.expected_move_pct - (1.0 - proba[BUY]) * loss
            return float(gain - self.round_trip_cost_pct)
        if self.expected_loss_pct is None:
            margin = proba[signal] - proba[SELL if signal == BUY else BUY]
            return float(margin * self.expected_move_pct - self.round_trip_cost_pct)
        # Fitted up and down moves: a long wins the up move with p[BUY] and loses the down move with p[SELL].
        up, down = self.expected_move_pct, self.expected_loss_pct
        gain = proba[BUY] * up - proba[SELL] * down if signal == BUY else proba[SELL] * down - proba[BUY] * up
        return float(gain - self.round_trip_cost_pct)

    def decide(self, view: BarView, state: RuleState = RuleState()) -> Step:
        """One bar: the signal, target position and entry size, given the view and the previous state.

        Raises
        ------
        ConfigError
            If ``max_trades_per_day`` is set and the view has no time.
        ModelError
            If the view's side is not -1, 0 or +1.

        Examples
        --------
        >>> rules = DecisionRules(max_trades_per_day=1)
        >>> first = rules.decide(BarView(np.array([0.1, 0.1, 0.8]), time=pd.Timestamp("2024-01-02 10:00")))
        >>> second = rules.decide(BarView(np.array([0.8, 0.1, 0.1]), time=pd.Timestamp("2024-01-02 11:00")),
        ...                       first.state)
        >>> (first.target, first.reason), (second.target, second.reason)
        ((1, 'fixed 1.00'), (1, 'vetoed: 1 trades today (max 1)'))
        """
        position = state.position
        since = None if state.bars_since_change is None else state.bars_since_change + 1
        day, changes = state.day, state.changes_today
        if view.time is not None:
            today = _utc_day(view.time)
            if today != day:
                day, changes = today, 0
        elif self.max_trades_per_day is not None:
            raise ConfigError(
                "max_trades_per_day counts position changes per UTC day: every bar needs its time (BarView.time, "
                "or times= in apply_all)"
            )
        proba = view.proba
        if view.side is None:
            signal, target = self._plain(proba, position)
            p_bet, p_opposite, base = _bet_probabilities(proba, target)
        else:
            side = _checked_side(view.side)
            act = bool(proba[BUY] >= self.confidence_threshold)
            target = side if act and (side == 1 or (side == -1 and self.allow_short)) else 0
            signal = _SIGNAL_OF_TARGET[target]
            p_bet, p_opposite, base = float(proba[BUY]), 1.0 - float(proba[BUY]), 0.5
        if target == 0:
            size, reason = 0.0, "flat"
        else:
            size, reason = self.sizer.size(
                target,
                p_bet,
                p_opposite,
                base=base,
                pred_return=view.pred_return,
                pred_vol=view.pred_vol,
                realised_vol=view.realised_vol,
            )
        if target != position and target != 0:
            refused = self._entry_veto(view, signal, size, reason)
            if refused is not None:  # no new position; a reversal still closes the old one
                signal = signal if position != 0 and view.side is None else HOLD
                target, size = 0, 0.0
                reason = f"vetoed: {refused}" if position == 0 else f"vetoed entry: {refused}; flat"
        if target != position:
            veto = self._change_veto(since, changes)
            if veto is not None:
                return Step(HOLD, position, 0.0, f"vetoed: {veto}", RuleState(position, since, day, changes))
            since, changes = 0, changes + 1
        return Step(signal, target, size, reason, RuleState(target, since, day, changes))

    def _plain(self, proba: np.ndarray, position: int) -> tuple[int, int]:
        best = int(proba.argmax())
        signal = best if proba[best] >= self.confidence_threshold else HOLD
        if signal == BUY:
            return signal, 1
        if signal == SELL:
            return signal, -1 if self.allow_short else 0
        return signal, position

    def _entry_veto(self, view: BarView, signal: int, size: float, size_reason: str) -> str | None:
        """Why a new position may not be opened (expected edge, then sizing), or None."""
        if self.min_edge_pct is not None:
            edge = self.expected_edge_pct(view.proba, signal, view.pred_return, side=view.side)
            if edge < self.min_edge_pct:
                return f"expected edge {edge:.2f}% < {self.min_edge_pct:.2f}%"
        if size <= 0:
            return size_reason
        return None

    def _change_veto(self, since: int | None, changes: int) -> str | None:
        """Why the position may not change at all on this bar (spacing, then the day's count), or None."""
        spacing = self.min_bars_between_signals
        if spacing and since is not None and since < spacing:
            return f"{since} bars since the last change (min {spacing})"
        if self.max_trades_per_day is not None and changes >= self.max_trades_per_day:
            return f"{changes} trades today (max {self.max_trades_per_day})"
        return None

    def step(self, proba: np.ndarray, position: int, bars_since_change: int | None = None) -> tuple[int, int]:
        """One bar from probabilities alone: ``(signal class, target position)``; see :meth:`decide`.

        ``bars_since_change`` counts the bars since the position last changed (1 on the bar after a change;
        ``None``: never), for ``min_bars_between_signals``: two changes are at least that many bars apart.
        """
        before = None if bars_since_change is None else bars_since_change - 1
        decided = self.decide(BarView(proba), RuleState(int(position), before))
        return decided.signal, decided.target

    def apply(self, proba: np.ndarray, *, position: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Run the rules over ``(bars, classes)`` probabilities; returns the signals and target positions.

        Examples
        --------
        >>> p = np.array([[0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.8, 0.1, 0.1]])
        >>> [a.tolist() for a in DecisionRules().apply(p)]
        [[2, 1, 0], [1, 1, 0]]
        >>> [a.tolist() for a in DecisionRules(min_bars_between_signals=3).apply(p)]
        [[2, 1, 1], [1, 1, 1]]
        """
        signals, targets, _, _ = self.apply_all(proba, position=position)
        return signals, targets

    def apply_all(
        self,
        proba: np.ndarray,
        *,
        times: Sequence | pd.DatetimeIndex | None = None,
        side: np.ndarray | None = None,
        pred_return: np.ndarray | None = None,
        pred_vol: np.ndarray | None = None,
        realised_vol: np.ndarray | None = None,
        position: int = 0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Run :meth:`decide` over a window, bar after bar, exactly as the live engine would.

        Parameters
        ----------
        proba
            ``(bars, classes)`` probabilities.
        times, side, pred_return, pred_vol, realised_vol
            One value per bar of what :class:`BarView` holds; None: not known (side None: no meta-labelling).
        position
            The position held before the first bar.

        Returns
        -------
        tuple
            ``(signals, targets, sizes, reasons)``: int64, int64 and float64 arrays, and a list of strings.

        Raises
        ------
        ModelError
            If an input has another length than ``proba``, or a side is not -1, 0 or +1.

        Examples
        --------
        >>> p = np.array([[0.1, 0.1, 0.8], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])
        >>> rules = DecisionRules(sizer=Sizer("volatility_target", target_volatility_pct=16, periods_per_year=256))
        >>> signals, targets, sizes, reasons = rules.apply_all(p, realised_vol=np.array([np.nan, 0.02, 0.02]))
        >>> targets.tolist(), sizes.tolist(), reasons[0]
        ([0, 1, 0], [0.0, 0.5, 0.0], 'vetoed: no volatility estimate (predicted or realised)')
        """
        n = len(proba)
        stamps = None if times is None else list(pd.DatetimeIndex(times))
        columns = {"times": stamps, "side": side, "pred_return": pred_return, "pred_vol": pred_vol}
        columns["realised_vol"] = realised_vol
        for name, values in columns.items():
            if values is not None and len(values) != n:
                raise ModelError(f"{name} has {len(values)} values for {n} bars of probabilities; give one per bar")
        # Plain Python floats, converted once: the same values float() would give per bar, without its cost.
        returns, vols, realised = (
            None if a is None else np.asarray(a, dtype=np.float64).tolist()
            for a in (pred_return, pred_vol, realised_vol)
        )
        signals = np.empty(n, dtype=np.int64)
        targets = np.empty(n, dtype=np.int64)
        sizes = np.empty(n, dtype=np.float64)
        reasons: list[str] = []
        state = RuleState(int(position))
        for i in range(n):
            view = BarView(
                proba[i],
                time=None if stamps is None else stamps[i],
                side=None if side is None else _checked_side(side[i], bar=i),
                pred_return=math.nan if returns is None else returns[i],
                pred_vol=math.nan if vols is None else vols[i],
                realised_vol=math.nan if realised is None else realised[i],
            )
            decided = self.decide(view, state)
            signals[i], targets[i], sizes[i] = decided.signal, decided.target, decided.size
            reasons.append(decided.reason)
            state = decided.state
        return signals, targets, sizes, reasons


def _bet_probabilities(proba: np.ndarray, target: int) -> tuple[float, float, float]:
    """The bet on ``target``'s side: its class probability, the opposite class's, and a uniform guess's."""
    if target == -1:
        return float(proba[SELL]), float(proba[BUY]), 1.0 / 3.0
    return float(proba[BUY]), float(proba[SELL]), 1.0 / 3.0


def _checked_side(value: object, bar: int | None = None) -> int:
    where = "" if bar is None else f" at bar {bar}"
    try:
        side = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        side = None
    if side not in (-1, 0, 1) or side != value:
        raise ModelError(
            f"the primary side{where} is {value}; it must be -1, 0 or +1 (0 where the primary rule has no bet)"
        )
    return side


def _utc_day(time: pd.Timestamp | datetime.datetime | str) -> datetime.date:
    """The UTC calendar day of a time; a naive time is taken as UTC, as neurotrade stores every bar time."""
    stamp = time if isinstance(time, pd.Timestamp) else pd.Timestamp(time)
    # ``value`` counts nanoseconds since 1970-01-01 UTC for aware and naive times alike: floor division by a day
    # is the UTC day, without the cost of a time-zone conversion on every bar.
    return datetime.date.fromordinal(_EPOCH_ORDINAL + stamp.value // _NS_PER_DAY)
