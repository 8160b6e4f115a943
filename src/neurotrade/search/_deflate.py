"""Every trial's deflated Sharpe ratio, counting every trial: the study's and the workspace ledger's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurotrade.config import Strategy
from neurotrade.search._holdout import Holdout


def trials_counted(study: Any, spec: Strategy, holdout: Holdout, home: Path) -> int:
    """How many configurations were tried on the study's data before its holdout: every trial of the study
    (pruned and failed ones too: they were looked at), or the ledger's count on those bars when larger (it
    also holds runs made by hand on them), plus the configurations the ledger saw on the full data."""
    from optuna.trial import TrialState

    from neurotrade.store import TrialLedger

    ledger = TrialLedger(home)
    tried = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
    before = ledger.trials(trial_dataset(spec, holdout, home))
    return max(len(tried), before) + ledger.trials(holdout.dataset)


def trial_dataset(spec: Strategy, holdout: Holdout, home: Path) -> str:
    """The fingerprint of the bars every trial sees (the data cut at the holdout), as the ledger names it."""
    from neurotrade import data
    from neurotrade._stages import load_bars, load_universe

    cut = spec.data.model_copy(update={"end": holdout.start})
    if spec.data.is_universe:
        return data.universe_fingerprint(load_universe(cut, home=home, seed=spec.seed))
    return data.fingerprint(load_bars(cut, home=home, seed=spec.seed))


def deflate_study(study: Any, spec: Strategy, holdout: Holdout, home: Path) -> int:
    """Recompute the deflated Sharpe ratio of every complete trial's excess returns with the final trial count;
    store ``{"trials_counted": N, "by_trial": {number: dsr}}`` as the study's ``deflated`` attribute. Returns N."""
    from neurotrade.search._study import finished
    from neurotrade.search._trial import deflated

    counted = trials_counted(study, spec, holdout, home)
    complete, _, _ = finished(study)
    by_trial: dict[str, float | None] = {}
    for trial in complete:
        by_trial[str(trial.number)] = deflated(trial.user_attrs.get("excess_returns", []), counted)
    study.set_user_attr("deflated", {"trials_counted": counted, "by_trial": by_trial})
    return counted
