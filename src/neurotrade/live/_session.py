"""The paper loop: a feed's bars through the gate, the decision engine and the paper broker, one committed step
per time.

For one symbol every accepted bar is a step. A universe steps time by time: the bars of one time are collected
until every symbol has one or a later time arrives, then decided together (as the backtest's engine steps over
the union of the symbols' times).

Within a trading step the order of events is the backtest's: the broker settles the previous close's orders at
this bar's open and runs the stops through it, the engine decides at the close, the broker takes the new targets
for the next open; then everything is committed in one transaction (:mod:`neurotrade.live._state`).

Resuming after a kill. The broker's account is plain numbers, committed with every step, and is restored from
the last one. The engine is not stored: it is rebuilt by replaying the session's stored bars through a fresh
engine built from the same bundle. Storing it would mean serialising every indicator's numba state, feature
lags, coarser-timeframe buffers, window rows and rule state across ``decision/`` and ``indicators/``, a second
source of truth that could drift from the code; the replay instead rests on the contract that streaming equals
batch (replaying the same bars gives the same state, bit for bit), and it is checked: every replayed decision
must equal the stored one, or the session refuses to go on. It costs about a millisecond per stored bar at each
restart. The feed then resumes just after the cursor committed with the last step (a replay or a followed file:
exactly; a websocket: from the time it asks for, skipping what the session already traded).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy
from neurotrade.decision import Decision
from neurotrade.errors import BacktestError, StoreError
from neurotrade.live._bars import BarGate, FeedBar, Rejection
from neurotrade.live._broker import BarEvents, Order, TargetOrder
from neurotrade.live._crash import CrashPoints
from neurotrade.live._engines import SessionEngine, bundle_identity, trace_row
from neurotrade.live._feed import Feed
from neurotrade.live._paper_broker import PaperBroker
from neurotrade.live._state import SessionStore, StepRecord, stamp
from neurotrade.store import Bundle, load_bundle

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: Probabilities of a replayed decision must match the stored ones this closely (they come from the same float64
#: code, so they are equal in practice; a different BLAS could move the last bits).
_REPLAY_ATOL = 1e-9


@dataclass(frozen=True)
class PaperStep:
    """What one time did, as the loop reports it to ``on_step`` (the hook for monitors: drift, calibration).

    Attributes
    ----------
    seq
        The step's number in the session (from 1, warm-up steps included).
    time
        The bars' time.
    phase
        ``warmup`` (before ``start``: the engine warms up, nothing trades) or ``trading``.
    bars
        Symbol -> the bar of this time.
    decisions
        Symbol -> the engine's :class:`~neurotrade.decision.Decision` (its ``features`` row and ``proba``).
    events
        The account's fills, trades, settled orders and value at this close; None when it did not trade here.
    orders
        The orders made at this close, for the next open.
    engine
        The bundle that decided.
    replay
        True while a resumed session replays its stored bars to rebuild the engine: nothing is traded or
        committed then, and ``events`` is None.
    rejected
        Bars rejected so far.
    drift
        The ``live.drift`` flags raised at this bar (``kind``, ``feature``, ``value``, ``threshold``).
    """

    seq: int
    time: pd.Timestamp
    phase: str
    bars: dict[str, FeedBar]
    decisions: dict[str, Decision]
    events: BarEvents | None
    orders: list[Order]
    engine: str
    replay: bool = False
    rejected: int = 0
    drift: tuple[dict[str, Any], ...] = ()


@dataclass
class PaperSummary:
    """What a run of the loop did.

    Attributes
    ----------
    session_dir
        The session's folder (``state.sqlite``, the trace and metrics).
    resumed
        Whether it went on from an earlier run (``replayed`` stored bars rebuilt the engine).
    steps, new_steps
        Steps committed in all, and by this run.
    rejected
        Bars rejected in all.
    equity, cash, positions
        The account at the last close (None before trading started).
    metrics
        The session's ``metrics.json`` (None when the folder was not written).
    """

    session_dir: Path
    resumed: bool
    replayed: int
    steps: int
    new_steps: int
    rejected: int
    equity: float | None
    cash: float | None
    positions: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] | None = None


class PaperSession:
    """A paper trading session: a strategy's saved model trading a feed's bars on a paper broker, crash-safe.

    The state lives in ``HOME/paper/SESSION/state.sqlite``; running the same session again (after a stop, a
    crash or ``kill -9``) goes on from its last committed bar. Bars before ``start`` warm the engine up, as
    ``neurotrade backtest --from`` does; trading starts flat at the first bar at or after it.

    Parameters
    ----------
    strategy
        The strategy (a :class:`~neurotrade.config.Strategy` or its YAML file): its bundle decides, its
        ``backtest`` section sets the costs, cash and stops (as ``neurotrade backtest``), its ``data`` section
        names the symbol or the universe traded.
    feed
        Where bars come from (:class:`~neurotrade.live.ReplayFeed`, :class:`~neurotrade.live.FollowFeed`,
        :class:`~neurotrade.live.WebSocketFeed`).
    model
        The bundle: ``latest`` (the newest of the data's timeframe) or a version such as ``1d_v3``. A resumed
        session keeps the bundle it started with.
    session
        The session's name (its folder under ``HOME/paper``); default: the strategy's name.
    start, end
        Trade from the first bar at or after ``start``; stop after the last bar at or before ``end``.
    home
        The workspace.
    on_step
        Called after each step is committed (and with ``replay=True`` for each stored step replayed on resume),
        with a :class:`PaperStep`.
    on_rejection
        Called with each :class:`~neurotrade.live.Rejection`.
    write_files
        Write the session folder's files at the end of :meth:`run` (the database is written either way).

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade import run
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.live import ReplayFeed
    >>> home = tempfile.mkdtemp()
    >>> spec = parse_strategy("name: pdoc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nmodel: {hidden: [4]}\\ntraining: {epochs: 1}\\n")
    >>> _ = run(spec, home=home, progress=False)
    >>> feed = ReplayFeed.from_strategy(spec, home=home)
    >>> out = PaperSession(spec, feed, home=home, start="2001-06-01", write_files=False).run()
    >>> out.steps, out.rejected, out.session_dir.name
    (600, 0, 'pdoc')
    """

    def __init__(
        self,
        strategy: Strategy | str | Path,
        feed: Feed,
        *,
        model: str = "latest",
        session: str | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        home: str | Path | None = None,
        on_step: Callable[[PaperStep], None] | None = None,
        on_rejection: Callable[[Rejection], None] | None = None,
        write_files: bool = True,
    ) -> None:
        self.spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
        self.feed = feed
        self.model = model
        self.home = resolve_home(home)
        self.name = session or self.spec.name
        if not _NAME.match(self.name):
            raise StoreError(
                f"session name {self.name!r} cannot name a folder: use letters, digits, '_', '.' and '-' (starting "
                "with a letter or digit), e.g. --session trend-live"
            )
        self.dir = self.home / "paper" / self.name
        self.start = None if start is None else _utc(start)
        self.end = None if end is None else _utc(end)
        self.on_step = on_step
        self.on_rejection = on_rejection
        self.write_files = write_files
        self.crash = CrashPoints()
        self._switch_to: tuple[Bundle, str] | None = None

    # --- the hook for model switches (drift and retraining) -------------------------------------------------------

    def switch_engine(self, bundle: Bundle | str, note: str = "") -> None:
        """Decide with another bundle from the next bar on (a bar boundary: never inside a step).

        The new engine is warmed up on every bar the session has stored (as the first was), then decides the next
        bar; the switch is committed with that bar, and a resumed session replays it at the same bar. The request
        itself is committed at once, so a session stopped before its next bar carries it out when it goes on. The
        bundle must decide for the same symbols (a retrained version of the same strategy).

        Parameters
        ----------
        bundle
            A loaded bundle, or a name ``load_bundle`` takes (``strategy/1d_v4``).
        note
            Why (recorded with the switch).
        """
        if getattr(self, "store", None) is None:
            raise StoreError("switch_engine switches a running session's model: call it from on_step, during run()")
        if isinstance(bundle, str):
            bundle = load_bundle(self.home / "models", bundle)
        self.store.set_meta({"pending_switch": {"bundle": bundle.ref.name, "note": note}})
        self._switch_to = (bundle, note)

    # --- running -------------------------------------------------------------------------------------------------

    def run(self) -> PaperSummary:
        """Trade the feed until it ends (or ``end`` is passed), committing each step; then write the session folder.

        Raises
        ------
        StoreError
            The session exists with other settings (another strategy, bundle, start or costs), or its stored bars
            no longer replay to the decisions it committed.
        BacktestError
            The strategy cannot be paper traded as it is (``fill: same_close``), or its bundle does not fit it.
        """
        from filelock import FileLock, Timeout

        self.dir.mkdir(parents=True, exist_ok=True)
        # One process trades a session at a time; the lock is the operating system's, so it dies with its holder
        # (a killed session can be restarted at once).
        lock = FileLock(self.dir / "session.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout as e:
            raise StoreError(
                f"paper session {self.name} is being traded by another process ({self.dir}); stop that one first, or "
                "name another session with --session NAME"
            ) from e
        try:
            return self._run()
        finally:
            lock.release()

    def _run(self) -> PaperSummary:
        self.store = SessionStore(self.dir / "state.sqlite")
        try:
            resumed = self._open()
            first_seq = self.seq
            try:
                self._loop()
            finally:
                if self.retrainer is not None:
                    self.retrainer.close()  # a retrain still running is started again when the session resumes
                if self.write_files:
                    from neurotrade.live._files import write_session_folder

                    metrics = write_session_folder(self.dir, home=self.home, store=self.store, crash=self.crash)
                else:
                    metrics = None
            last = self.store.last_trading_step()
            return PaperSummary(
                self.dir,
                resumed,
                self.replayed,
                self.seq,
                self.seq - first_seq,
                self.rejected,
                None if last is None else float(last["equity"]),
                None if last is None else float(last["cash"]),
                {} if last is None else dict(last["positions"]),
                metrics,
            )
        finally:
            self.store.close()
            self.store = None  # type: ignore[assignment]

    def _open(self) -> bool:
        """Create the session, or take it up again: settings checked, engine replayed, account restored."""
        meta = self.store.meta()
        resumed = "strategy" in meta
        if resumed:
            bundle = self._check_resume(meta)
            spec = Strategy.model_validate(meta["spec"])
        else:
            bundle, symbols = _session_bundle(self.spec, self.model, self.home)
            spec = self.spec
            broker = PaperBroker.for_strategy(spec, symbols, universe=len(bundle.documents["features"].get(
                "symbols") or []) > 0)  # fmt: skip
            self.store.set_meta({
                "strategy": spec.name, "bundle": bundle.ref.name, "bundle_path": str(bundle.ref.path),
                "bundle_identity": bundle_identity(bundle), "symbols": symbols, "universe": broker.universe,
                "start": None if self.start is None else self.start.isoformat(), "broker": broker.config(),
                "spec": spec.model_dump(mode="json"), "feed": self.feed.name,
                "created": pd.Timestamp.now("UTC").isoformat(),
            })  # fmt: skip
            meta = self.store.meta()
        self.meta = meta
        self.run_spec = spec
        self.symbols = list(meta["symbols"])
        self.universe = bool(meta["universe"])
        self.start = None if meta["start"] is None else pd.Timestamp(meta["start"])
        self.top_k = spec.portfolio.selection == "top_k"
        self.bundle = bundle
        self.broker = PaperBroker.from_config(meta["broker"])
        self.gate = BarGate(self.symbols, default_symbol=None if self.universe else self.symbols[0],
                            timezone=spec.data.timezone)  # fmt: skip
        bt = spec.backtest
        self.atr_multiple = None if self.universe or bt.atr_stop is None else float(bt.atr_stop.multiple)
        self.seq = 0
        self.last_time: pd.Timestamp | None = None
        self.trading = False
        self.replayed = 0
        self._live_setup(spec, bundle)
        self.engine = self._replay(bundle)
        last = self.store.last_trading_step()
        if last is not None:
            self.broker.restore(last["account"])
        step = self.store.last_step()
        if step is not None:
            self.seq, self.last_time = int(step["seq"]), stamp(step["time"])
            if self.universe:  # a symbol's bar of a time already decided comes too late
                self.gate.floor = self.last_time + pd.Timedelta(1, "ns")
        self.rejected = self.store.count_rejected()
        pending = meta.get("pending_switch")
        if pending is not None:  # asked for after the last committed bar: it takes effect at the next one
            self._switch_to = (load_bundle(self.home / "models", pending["bundle"]), pending["note"])
        if self.retrainer is not None:
            self.retrainer.start()  # a retrain in flight when the session stopped: started again
        if resumed:
            log.info("session %s: resumed after %d stored steps (%d bars replayed through the engine)",
                     self.name, self.seq, self.replayed)  # fmt: skip
        return resumed

    def _check_resume(self, meta: dict[str, Any]) -> Bundle:
        """The session's own bundle, after checking that this run asks for the same session."""
        where = f"session {self.name} ({self.dir})"
        if meta["strategy"] != self.spec.name:
            raise StoreError(f"{where} trades strategy {meta['strategy']!r}, not {self.spec.name!r}; name another "
                             "session with --session NAME")  # fmt: skip
        bundle = load_bundle(self.home / "models", meta["bundle"])
        if bundle_identity(bundle) != meta["bundle_identity"]:
            raise StoreError(f"{where}: bundle {meta['bundle']} changed since the session started; its decisions "
                             "cannot be replayed. Start a new session (--session NAME)")  # fmt: skip
        if self.model != "latest":
            wanted, _ = _session_bundle(self.spec, self.model, self.home)
            if wanted.ref.name != meta["bundle"]:
                raise StoreError(f"{where} trades bundle {meta['bundle']}, not {wanted.ref.name}; a session keeps "
                                 "its model: start a new session (--session NAME) to trade another")  # fmt: skip
        else:
            newest = _latest_name(self.spec, self.home)
            if newest is not None and newest != meta["bundle"]:
                log.info("%s goes on with %s; the newest bundle, %s, would need a new session", where,
                         meta["bundle"], newest)  # fmt: skip
        recorded = meta["start"]
        if self.start is not None and (recorded is None or pd.Timestamp(recorded) != self.start):
            raise StoreError(f"{where} started trading at {recorded or 'its first bar'}, not {self.start}; resume "
                             "it without --from (or with the same), or start a new session")  # fmt: skip
        theirs = Strategy.model_validate(meta["spec"])
        for section in ("backtest", "portfolio"):
            if getattr(theirs, section).model_dump() != getattr(self.spec, section).model_dump():
                raise StoreError(f"{where} was started with other {section} settings than {self.spec.name}'s now "
                                 f"(costs, cash, stops or sizing); trading on would not be one account's record. Put "
                                 f"them back, or start a new session (--session NAME)")  # fmt: skip
        return bundle

    def _replay(self, bundle: Bundle) -> SessionEngine:
        """A fresh engine fed every stored bar (checking each stored decision), switching where the session did."""
        switches = {int(row["time"]): row["bundle"] for row in self.store.table("switches")}
        stored: dict[int, list[dict[str, Any]]] = {}
        for row in self.store.decisions():
            stored.setdefault(int(row["time"]), []).append(row)
        engine = SessionEngine(bundle, self.symbols)
        history: list[tuple[pd.Timestamp, dict[str, FeedBar]]] = []
        for seq, (time_ns, group) in enumerate(self.store.bars(), start=1):
            time = stamp(time_ns)
            bars = {b.symbol: b for b in group}
            if time_ns in switches:
                switched = load_bundle(self.home / "models", switches[time_ns])
                engine = self._warm(switched, history)
                self._live_switched(switched)
            trading = self._trading_at(time)
            if trading and not self.trading:
                engine.start_account()
                self.trading = True
            for bar in group:
                self.gate.accept(bar)
            decisions = engine.step(time, {s: b.prices() for s, b in bars.items()})
            self._atr_distance(bars)
            if trading:
                _check_replayed(decisions, stored.get(time_ns, []), time, self.universe, self.dir)
            flags = self._live_observe(seq, time, "trading" if trading else "warmup", bars, decisions, history,
                                       replay=True)  # fmt: skip
            history.append((time, bars))
            self.replayed += len(group)
            if self.on_step is not None:
                self.on_step(PaperStep(seq, time, "trading" if trading else "warmup", bars, decisions, None, [],
                                       engine.name, replay=True, drift=tuple(f.row() for f in flags)))  # fmt: skip
        self._history = history
        return engine

    def _warm(self, bundle: Bundle, history: list[tuple[pd.Timestamp, dict[str, FeedBar]]]) -> SessionEngine:
        """A new engine from ``bundle``, fed the bars of ``history`` (its account started where the session's was)."""
        engine = SessionEngine(bundle, self.symbols)
        started = False
        for time, bars in history:
            if self._trading_at(time) and not started:
                engine.start_account()
                started = True
            engine.step(time, {s: b.prices() for s, b in bars.items()})
        return engine

    def _trading_at(self, time: pd.Timestamp) -> bool:
        return self.start is None or time >= self.start

    def _loop(self) -> None:
        """Read the feed to its end (or past ``end``), one committed step per time."""
        last = self.store.last_step()
        same_feed = last is not None and last["feed"] == self.feed.name and last["cursor"] is not None
        cursor = last["cursor"] if same_feed else None
        # Without a cursor to resume from (another feed, or a websocket), the bars the session already traded are
        # skipped while the feed catches up, rather than rejected one by one.
        catching_up = last is not None and not same_feed
        pending: dict[str, FeedBar] = {}
        pending_time: pd.Timestamp | None = None
        before = cursor  # the cursor just before the item being read
        try:
            for item in self.feed.items(after=cursor, since=self.last_time):
                verdict = self.gate.check(item.raw)
                if isinstance(verdict, Rejection):
                    if catching_up and verdict.time is not None and self.last_time is not None \
                            and verdict.time <= self.last_time:  # fmt: skip
                        before = item.cursor
                        continue
                    self._reject(verdict)
                    before = item.cursor
                    continue
                catching_up = False
                bar = verdict
                if self.end is not None and bar.time > self.end:
                    break
                if not self.universe:
                    self._step(bar.time, {bar.symbol: bar}, item.cursor)
                else:
                    if pending and bar.time > pending_time:  # type: ignore[operator]
                        self._step(pending_time, pending, before)  # type: ignore[arg-type]
                        pending = {}
                    pending[bar.symbol] = bar
                    pending_time = bar.time
                    self.gate.floor = bar.time
                    if len(pending) == len(self.symbols):  # every symbol has its bar: no need to wait for the next
                        self._step(pending_time, pending, item.cursor)
                        pending = {}
                before = item.cursor
            if pending:
                self._step(pending_time, pending, before)  # type: ignore[arg-type]
        finally:
            self.feed.close()

    def _reject(self, rejection: Rejection) -> None:
        log.warning("rejected a bar of %s at %s: %s", rejection.symbol, rejection.time, rejection.reason)
        if self.store.reject(rejection):
            self.rejected += 1
        if self.on_rejection is not None:
            self.on_rejection(rejection)

    def _step(self, time: pd.Timestamp, bars: dict[str, FeedBar], cursor: Any) -> None:
        """One time: settle, decide, order, commit, report."""
        seq = self.seq + 1
        self.crash(seq, "start")
        switch = None
        if self.retrainer is not None and self._switch_to is None:
            due = self.retrainer.before_step(seq)
            if due is not None:
                self.switch_engine(*due)
        if self._switch_to is not None:
            bundle, note = self._switch_to
            self.engine = self._warm(bundle, self._history)
            self._live_switched(bundle)
            switch = (bundle.ref.name, note)
            self._switch_to = None
            log.info("session %s: %s decides from %s on (%s)", self.name, bundle.ref.name, time, note or "switched")
        trading = self._trading_at(time)
        if trading and not self.trading:
            self.engine.start_account()  # flat, fresh rules: as the backtest starts its window
            self.trading = True
        prices = {s: b.prices() for s, b in bars.items()}
        distance = self._atr_distance(bars)
        events: BarEvents | None = None
        orders: list[Order] = []
        if self.universe:
            decisions = self.engine.step(time, prices)
            # The portfolio trades the times at which some symbol could decide, as the backtest's window.
            if trading and any(d.ready for d in decisions.values()):
                events = self.broker.on_bar(time, prices)
                orders = self.broker.submit(time, {s: _portfolio_order(d, self.top_k) for s, d in decisions.items()})
        else:
            if trading:
                events = self.broker.on_bar(time, prices)
            decisions = self.engine.step(time, prices)
            if trading:
                d = decisions[self.symbols[0]]
                orders = self.broker.submit(time, {self.symbols[0]: TargetOrder(d.target, d.size, distance)})
        phase = "trading" if trading else "warmup"
        flags = self._live_observe(seq, time, phase, bars, decisions, self._history, replay=False)
        record = StepRecord(
            time, phase, self.feed.name, self.engine.name, cursor, bars=list(bars.values()), orders=orders,
            switch=switch, drift=[f.row() for f in flags], hooks=self.crash.hooks(seq),
        )  # fmt: skip
        if trading:
            record.decisions = [trace_row(d, universe=self.universe, symbol=s) for s, d in decisions.items()]
        if events is not None:
            record.bar, record.equity, record.cash = events.bar, events.equity, events.cash
            record.positions = events.positions
            record.fills, record.trades, record.settled = events.fills, events.trades, events.orders
            record.account = self.broker.state()
        self.seq = self.store.commit(record)
        self.last_time = time
        if self.universe:  # this time is decided: a bar of it that comes now comes too late
            self.gate.floor = time + pd.Timedelta(1, "ns")
        if self.retrainer is not None:  # after the commit: a retrain starts from a committed bar
            self.retrainer.after_step(self.seq, time, _bar_length(time, self._history), phase, flags, replay=False)
        self._history.append((time, bars))
        if self.on_step is not None:
            self.on_step(PaperStep(self.seq, time, record.phase, bars, decisions, events, orders, self.engine.name,
                                   rejected=self.rejected, drift=tuple(record.drift)))  # fmt: skip

    # --- drift and retraining (the strategy's live: section) -----------------------------------------------------

    def _live_setup(self, spec: Strategy, bundle: Bundle) -> None:
        """The drift monitor and the retrainer of ``live:`` (None without the section)."""
        from neurotrade.live._drift import DriftMonitor, label_horizon
        from neurotrade.live._retrain import Retrainer

        self.monitor: DriftMonitor | None = None
        self.retrainer: Retrainer | None = None
        if spec.live is None:
            return
        self._horizon = label_horizon(spec.labels)
        self.monitor = DriftMonitor(spec.live.drift, bundle.documents, self._horizon)
        if spec.live.retrain is not None:
            # A replay feed waits for a due retrain (the same history makes the same switches); a live one does not.
            wait = self.feed.name == "replay"
            self.retrainer = Retrainer(spec.live.retrain, spec, self.home, wait=wait)

    def _live_switched(self, bundle: Bundle) -> None:
        """Another bundle decides: its own training statistics are the reference from now on."""
        if self.monitor is not None:
            self.monitor.rebase(bundle.documents)
        if self.retrainer is not None:
            self.retrainer.switched()

    def _live_observe(
        self, seq: int, time: pd.Timestamp, phase: str, bars: dict[str, FeedBar], decisions: dict[str, Decision],
        history: list[tuple[pd.Timestamp, dict[str, FeedBar]]], *, replay: bool,
    ) -> list[Any]:  # fmt: skip
        """Feed the monitor one bar; the flags it raised (logged unless replayed). A replayed step also counts
        towards the retrainer's schedule, so a resumed session finds its pending retrain again."""
        if self.monitor is None:
            return []
        flags = self.monitor.observe(decisions, {s: b.close for s, b in bars.items()}, trading=phase == "trading")
        if not replay:
            for f in flags:
                log.warning("session %s: %s drift at %s%s: %.3g > %g", self.name, f.kind, time,
                            f" in {f.feature}" if f.feature else "", f.value, f.threshold)  # fmt: skip
        elif self.retrainer is not None:
            self.retrainer.after_step(seq, time, _bar_length(time, history), phase, flags, replay=True)
        return flags

    def _atr_distance(self, bars: dict[str, FeedBar]) -> float:
        """The ATR stop's distance of an entry decided at this bar (NaN: none), from the same ATR stream the
        backtest's ``atr_for_stops`` computes over the whole history."""
        if self.atr_multiple is None:
            return math.nan
        if not hasattr(self, "_atr"):
            from neurotrade import indicators

            self._atr = indicators.stream("atr", period=self.run_spec.backtest.atr_stop.period)  # type: ignore[union-attr]
        value = self._atr.update(bars[self.symbols[0]].prices())["atr"]
        return self.atr_multiple * float(value)


def _bar_length(time: pd.Timestamp, history: list[tuple[pd.Timestamp, dict[str, FeedBar]]]) -> pd.Timedelta:
    """One bar: the gap to the bar before (1 ns before there is one), so ``time + bar`` keeps ``time``'s bar."""
    return time - history[-1][0] if history else pd.Timedelta(1, "ns")


def _portfolio_order(decision: Decision, top_k: bool) -> TargetOrder:
    """A universe symbol's decision as the backtest gives it to the portfolio: its portfolio target (0 while it
    warms up) and its size (``top_k`` holds its choice at the plain fraction: size 1)."""
    ready = decision.ready
    target = int(getattr(decision, "portfolio_target", 0)) if ready else 0
    size = 1.0 if top_k else (float(decision.size) if ready else 0.0)
    return TargetOrder(target, size)


def _check_replayed(
    decisions: dict[str, Decision], stored: list[dict[str, Any]], time: pd.Timestamp, universe: bool, where: Path
) -> None:
    """A replayed time's decisions must be the ones committed: same signals, targets and sizes, probabilities
    within 1e-9."""
    if not stored:
        return  # killed between this time's bars and its decisions: nothing was committed for it
    for row in stored:
        decision = decisions.get(row["symbol"])
        if decision is None:
            raise StoreError(f"paper session {where}: replaying its bars, {row['symbol']} has no decision at {time}, "
                             "though one was committed; the stored bars are damaged: start a new session")  # fmt: skip
        mine = trace_row(decision, universe=universe, symbol=row["symbol"])
        same = all(mine[k] == row[k] for k in ("signal", "target", "size", "portfolio_target"))
        for k in ("p_sell", "p_hold", "p_buy"):
            a, b = mine[k], row[k]
            same = same and ((a is None) == (b is None)) and (a is None or abs(a - b) <= _REPLAY_ATOL)
        if not same:
            raise StoreError(
                f"paper session {where}: replaying its bars gives another decision for {row['symbol']} at {time} "
                f"({mine['signal']} target {mine['target']} size {mine['size']}) than the one committed "
                f"({row['signal']} target {row['target']} size {row['size']}); neurotrade or the bundle changed "
                "since it started. Finish it with the version that started it, or start a new session"
            )


def _session_bundle(spec: Strategy, model: str, home: Path) -> tuple[Bundle, list[str]]:
    """The bundle ``neurotrade backtest`` would trade for ``spec`` and ``model``, and the symbols it trades: the
    data's symbol, or the universe's symbols the data lists (in the bundle's order). Same checks, same errors."""
    timeframe = spec.data.timeframe
    name = f"{spec.name}/latest-{timeframe}" if model == "latest" else f"{spec.name}/{model}"
    bundle = load_bundle(home / "models", name)
    if bundle.ref.timeframe != timeframe:
        raise BacktestError(
            f"bundle {bundle.ref.name} was trained on {bundle.ref.timeframe} bars, but {spec.name}'s data is "
            f"{timeframe} (data.timeframe): its features would be computed on bars it never saw. Use a {timeframe} "
            f"bundle (see `neurotrade models list {spec.name}`), or set data.timeframe: {bundle.ref.timeframe}."
        )
    universe = list(bundle.documents.get("features", {}).get("symbols") or [])
    if universe:
        if not spec.data.is_universe:
            raise BacktestError(
                f"bundle {bundle.ref.name} is a universe's ({', '.join(universe)}), but {spec.name}'s data names one "
                f"symbol ({spec.data.instrument}): list the universe in data.symbols to trade it"
            )
        from neurotrade.data import universe_symbols

        listed = universe_symbols(spec.data.symbols, spec.data.universe, home=home)
        unknown = [s for s in listed if s not in universe]
        if unknown:
            raise BacktestError(
                f"{spec.name}'s data lists {unknown}, not in bundle {bundle.ref.name}'s universe {universe}: the model "
                "knows those symbols only; list only those in data.symbols, or train a universe with the others"
            )
        return bundle, [s for s in universe if s in listed]
    if spec.data.is_universe:
        raise BacktestError(
            f"{spec.name}'s data names a universe ({spec.data.instrument}), but bundle {bundle.ref.name} is one "
            f"symbol's: name one symbol in data.symbol to trade it, or train the universe first (`neurotrade run`)"
        )
    return bundle, [spec.data.symbol]


def _latest_name(spec: Strategy, home: Path) -> str | None:
    try:
        return load_bundle(home / "models", f"{spec.name}/latest-{spec.data.timeframe}").ref.name
    except StoreError:
        return None


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    """A ``start``/``end`` as a UTC time: a naive one is read as UTC, an aware one converted."""
    stamp_ = pd.Timestamp(value)
    return stamp_.tz_localize("UTC") if stamp_.tzinfo is None else stamp_.tz_convert("UTC")
