"""``neurotrade confirm``: the chosen configuration of a study, evaluated on the locked holdout, once.

The configuration trains on the history before the holdout (its validation share stopping it early, purged at
the border) and trades the holdout; the workspace ledger records the look. A second look at the same holdout is
refused unless asked for, and then every report says how many times the holdout was looked at: a holdout
looked at twice is a validation set, not a test.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurotrade._folds import ProgressCallback
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy
from neurotrade.errors import ConfigError
from neurotrade.search._holdout import locate_holdout
from neurotrade.search._study import best_trial, load_study, storage_url


@dataclass
class ConfirmOutcome:
    """The confirmation: which trial, its search-time and holdout metrics, how many looks the holdout has had
    (this one included), the trials its deflated Sharpe ratio counts, and the run it made."""

    study: str
    trial: int
    params: dict[str, Any]
    search: dict[str, Any]
    holdout: dict[str, Any]
    looks: int
    trials_counted: int
    run: Any


def confirm(
    study: str,
    *,
    home: str | Path | None = None,
    trial: int | None = None,
    again: bool = False,
    storage: str | None = None,
    progress: ProgressCallback | bool | None = False,
) -> ConfirmOutcome:
    """Evaluate a study's best complete trial (or ``trial``) on its locked holdout and record the look.

    Raises ``ConfigError`` when the holdout was looked at before and ``again`` is not set, or when the data
    changed since the study ran.
    """
    import neurotrade
    from neurotrade.config._search import with_values
    from neurotrade.report import write_study_report
    from neurotrade.search._deflate import trials_counted
    from neurotrade.search._space import spec_values
    from neurotrade.search._trial import aggregate_summary
    from neurotrade.store import TrialLedger

    home_dir = resolve_home(home)
    the_study = load_study(home_dir, study, storage)
    attrs = the_study.user_attrs
    base = Strategy.model_validate(attrs["strategy"])
    stored = attrs["holdout"]
    ledger = TrialLedger(home_dir)
    before = ledger.looks(stored["dataset"], stored["start"])
    if before and not again:
        raise ConfigError(
            f"the holdout of study {study!r} (from {stored['start'][:10]}) has been looked at {before} time(s) "
            "already; a second look makes it a validation set. Pass --again to look anyway: every later report "
            "will say how many times it was looked at"
        )
    holdout = locate_holdout(base, home_dir)
    if holdout.dataset != stored["dataset"] or holdout.start != stored["start"]:
        raise ConfigError(
            f"the data of study {study!r} changed since it ran (its holdout began {stored['start']}, the data now "
            f"gives {holdout.start}); confirm on the data the study searched, or run a new study"
        )
    chosen = best_trial(the_study) if trial is None else _trial(the_study, trial)
    values = spec_values(base, chosen.params)
    counted = trials_counted(the_study, base, holdout, home_dir)
    assert base.search is not None
    validation = getattr(base.split, "validation", 0.2)
    before_share = 1.0 - base.search.holdout
    split = {
        "method": "chronological",
        "train": before_share * (1.0 - validation),
        "validation": before_share * validation,
        "test": base.search.holdout,
        "embargo": base.split.embargo,
        "test_start": holdout.start,
    }
    values |= {"name": f"{study}-confirm", "split": split, "backtest.trials": counted}
    spec = with_values(base, values, source=f"study {study}, confirmation of trial {chosen.number}")
    by_hand = ledger.trials(holdout.dataset)  # runs on the full data, whose test windows may cover the holdout
    # The look is recorded before the run: a kill after its numbers appear must not leave a look uncounted.
    looks = ledger.record_look(stored["dataset"], stored["start"], study=study, spec=spec.model_dump(mode="json"))
    result = neurotrade.run(spec, home=home_dir, progress=progress)
    metrics = aggregate_summary(result.metrics)
    _say_looks(result, looks, by_hand)
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "trial": chosen.number,
        "params": values_for_record(values),
        "metrics": metrics,
        "looks": looks,
        "run_dir": str(result.run_dir),
    }
    the_study.set_user_attr("confirmations", [*attrs.get("confirmations", []), record])
    write_study_report(home_dir, study, storage=storage_url(home_dir, study, storage) if storage else None)
    return ConfirmOutcome(
        study=study,
        trial=chosen.number,
        params=spec_values(base, chosen.params),
        search=_searched(the_study, chosen),
        holdout=metrics,
        looks=looks,
        trials_counted=counted,
        run=result,
    )


def _searched(study: Any, chosen: Any) -> dict[str, Any]:
    """The chosen trial's search-time aggregate, its DSR the one the study recomputed with its final count."""
    out = dict(chosen.user_attrs.get("aggregate", {}))
    deflated = study.user_attrs.get("deflated") or {}
    if str(chosen.number) in deflated.get("by_trial", {}):
        out |= {"dsr": deflated["by_trial"][str(chosen.number)], "trials_counted": deflated.get("trials_counted")}
    return out


def _trial(study: Any, number: int) -> Any:
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            if t.state != TrialState.COMPLETE:
                raise ConfigError(f"trial {number} of study {study.study_name!r} did not complete ({t.state.name})")
            return t
    raise ConfigError(f"study {study.study_name!r} has no trial {number}")


def values_for_record(values: dict[str, Any]) -> dict[str, Any]:
    """The searched values only (not the confirmation's own name, split and trial count)."""
    return {k: v for k, v in values.items() if k not in ("name", "split", "backtest.trials")}


def _say_looks(result: Any, looks: int, by_hand: int) -> None:
    """Put the holdout's look count in the confirmation run's metrics and report, loudly when above one, and say
    when configurations were run by hand on the full data (their test windows may have covered the holdout)."""
    from neurotrade.report import write_report

    path = result.run_dir / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["holdout_looks"] = looks
    warnings = []
    if looks > 1:
        warnings.append(
            f"this holdout has been looked at {looks} times: results on it are no longer out of sample in the "
            "strict sense (each look could have steered the choice)"
        )
    if by_hand:
        warnings.append(
            f"{by_hand} configuration(s) were run on the full data before this confirmation (the ledger counts them "
            "in the DSR): if their test windows covered the holdout, it was seen before"
        )
    for warning in reversed(warnings):
        metrics["aggregate"]["warnings"].insert(0, warning)
        result.metrics["aggregate"]["warnings"].insert(0, warning)
    result.metrics["holdout_looks"] = looks
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(metrics, indent=2))
    tmp.replace(path)
    write_report(result.run_dir, bundle_dir=result.bundle.path)
