"""The ``live:`` section: what a paper session watches (drift, calibration) and when it retrains its model.

Left out, a session trades its bundle unwatched, as before the section existed (and the spec dumps without it).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from neurotrade.config._base import Section


class DriftSpec(Section):
    """``live.drift``: the rolling window watched and the thresholds that raise a drift flag.

    ``psi`` is the population stability index of each feature's live values over the last ``window`` bars (every
    symbol's, pooled, in a universe) against the bundle's training statistics; ``calibration`` the gap between the
    model's mean directional confidence and its hit rate over the decisions whose outcome became known in the last
    ``window`` bars (see :mod:`neurotrade.live._drift`).

    Examples
    --------
    >>> DriftSpec().window, DriftSpec().psi, DriftSpec().calibration
    (250, 0.25, 0.15)
    """

    window: Annotated[int, Field(ge=20, le=1_000_000)] = 250
    psi: Annotated[float, Field(gt=0, le=100)] = 0.25
    calibration: Annotated[float, Field(gt=0, le=1)] = 0.15


class RetrainSpec(Section):
    """``live.retrain``: retrain every ``every`` trading bars, and/or when drift is flagged (``on_drift``).

    The new bundle decides from ``delay`` bars after the retrain was started (a replay feed waits for it there, so
    replaying the same history makes the same switches; a live feed switches at the first bar boundary after the
    retrain is done, never earlier than that).

    Examples
    --------
    >>> RetrainSpec(every=100).on_drift, RetrainSpec(on_drift=True).delay
    (False, 1)
    """

    every: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    on_drift: bool = False
    delay: Annotated[int, Field(ge=1, le=1_000_000)] = 1

    @model_validator(mode="after")
    def _a_trigger(self) -> RetrainSpec:
        if self.every is None and not self.on_drift:
            raise ValueError("live.retrain needs a trigger: every: N (bars) and/or on_drift: true")
        return self


class LiveSpec(Section):
    """``live:``: drift monitoring (always on with the section) and optional retraining of a paper session.

    Examples
    --------
    >>> LiveSpec().drift.window, LiveSpec().retrain is None
    (250, True)
    """

    drift: DriftSpec = DriftSpec()
    retrain: RetrainSpec | None = None
