"""Retraining a paper session's model on the history so far, in another process, switched in at a bar boundary.

A retrain is ``neurotrade.run`` of the session's strategy with ``data.end`` one bar after the bar that triggered it
(``data.end`` keeps only the bars strictly before it, in every stage: the retrain sees the history up to and
including that bar, never a later one). It runs in a spawned process, so the loop goes on trading meanwhile.

When the new bundle decides. The retrain is due ``live.retrain.delay`` bars after its trigger (default 1: the next
bar). A replay feed waits there for the retrain to finish, so replaying the same history with the same settings
makes the same switches at the same bars. A live feed (a followed file, a websocket) never waits: it switches at
the first bar boundary at or after the due bar at which the retrain is done. Either way the switch goes through
:meth:`~neurotrade.live.PaperSession.switch_engine` and is committed with its bar.

A retrain in flight when the session stops is started again when the session resumes (its trigger is found again
by replaying the stored steps, and no switch was committed for it).
"""

from __future__ import annotations

import logging
from multiprocessing import get_context
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

import pandas as pd

from neurotrade.config import Strategy
from neurotrade.config._live import RetrainSpec

log = logging.getLogger(__name__)


def retrain_spec(spec: Strategy, end: pd.Timestamp) -> Strategy:
    """``spec`` trained on the bars strictly before ``end`` only.

    Examples
    --------
    >>> retrain_spec(Strategy(name="demo"), pd.Timestamp("2020-01-02", tz="UTC")).data.end
    '2020-01-02T00:00:00+00:00'
    """
    body = spec.model_dump(mode="json")
    body["data"] = {**body["data"], "end": pd.Timestamp(end).isoformat()}
    return Strategy.model_validate(body)


def _train(body: dict[str, Any], home: str) -> str:
    """The spawned process: train, return the bundle's name (``strategy/1d_v4``)."""
    from neurotrade import run

    return run(Strategy.model_validate(body), home=home, progress=False).bundle.name


class Retrainer:
    """Decides when a session retrains, runs the retrain in another process and says when to switch.

    Parameters
    ----------
    spec
        The ``live.retrain`` section.
    strategy
        The session's strategy (what is retrained).
    home
        The workspace (where the new bundle is saved).
    wait
        Wait for a due retrain (a replay feed); else switch when it is done.

    Examples
    --------
    >>> r = Retrainer(RetrainSpec(every=2), Strategy(name="demo"), Path("."), wait=True)
    >>> t = pd.Timestamp("2020-01-01", tz="UTC")
    >>> [r.after_step(s, t, pd.Timedelta("1D"), "trading", [], replay=True) for s in (1, 2)], r.due
    ([False, True], 3)
    """

    def __init__(self, spec: RetrainSpec, strategy: Strategy, home: Path, *, wait: bool) -> None:
        self.spec = spec
        self.strategy = strategy
        self.home = Path(home)
        self.wait = wait
        self.count = 0  # trading bars since the last trigger
        self.due: int | None = None  # the step from which the pending retrain's bundle may decide
        self.trigger: tuple[str, str] | None = None  # the pending retrain's data.end and why
        self.job: AsyncResult[str] | None = None
        self.pool: Pool | None = None

    def after_step(
        self, seq: int, time: pd.Timestamp, bar: pd.Timedelta, phase: str, flags: list[Any], *, replay: bool
    ) -> bool:
        """Count a committed (or replayed) step; start a retrain when one is due. Returns whether it triggered."""
        if phase != "trading":
            return False
        self.count += 1
        if self.due is not None:
            return False  # one retrain at a time
        why = None
        if self.spec.every is not None and self.count >= self.spec.every:
            why = f"every {self.spec.every} bars"
        elif self.spec.on_drift and flags:
            why = "drift: " + ", ".join(sorted({f.feature or f.kind for f in flags}))
        if why is None:
            return False
        self.count = 0
        self.due = seq + self.spec.delay
        self.trigger = ((time + bar).isoformat(), f"retrained on the bars to {time.isoformat()} ({why})")
        if not replay:
            self.start()
        return True

    def start(self) -> None:
        """Start the pending retrain in another process (when none runs)."""
        if self.trigger is None or self.job is not None:
            return
        end, note = self.trigger
        log.info("retraining %s on the bars before %s (%s)", self.strategy.name, end, note)
        # spawn: a fresh interpreter (no forked torch threads or open SQLite handles of the session), kept for the
        # session's later retrains (importing torch and neurotrade again would cost seconds each time).
        if self.pool is None:
            self.pool = get_context("spawn").Pool(1)
        body = retrain_spec(self.strategy, pd.Timestamp(end)).model_dump(mode="json")
        self.job = self.pool.apply_async(_train, (body, str(self.home)))

    def before_step(self, seq: int) -> tuple[str, str] | None:
        """The bundle to decide from this step on, and why; None: keep the current one."""
        if self.due is None or seq < self.due or self.job is None:
            return None
        if not self.wait and not self.job.ready():
            return None
        try:
            name = self.job.get()
        except Exception as e:  # a failed retrain keeps the model trading; it is said, not fatal
            log.error("retraining %s failed (%s: %s); the session goes on with its model", self.strategy.name,
                      type(e).__name__, e)  # fmt: skip
            self.job = None
            self.due = self.trigger = None
            return None
        note = self.trigger[1] if self.trigger is not None else "retrained"
        self.job = None
        return name, note

    def switched(self) -> None:
        """A switch was made (or replayed): the pending retrain is over (a retrain started again on resume for a
        switch that was asked for but not yet committed is ended too)."""
        if self.job is not None:
            self.close()
        self.due = self.trigger = None

    def close(self) -> None:
        """End the retrain's process (done, or abandoned as the session stops: a resumed session starts it again)."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        self.pool = self.job = None
