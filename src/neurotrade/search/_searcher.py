"""Ray Tune's Optuna searcher, recording each trial in the study the way the study report reads it."""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback
from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule, TrialScheduler
from ray.tune.search.optuna import OptunaSearch

from neurotrade._folds import ProgressCallback, ProgressEvent

log = logging.getLogger(__name__)

# What a trial's final report carries into the study (the rest of the report is Ray's bookkeeping).
_RECORDED = ("folds", "aggregate", "excess_returns", "node", "seconds", "run_dir", "bundle")


def _nested(result: dict[str, Any], key: str) -> dict[str, Any]:
    """Ray Tune flattens a result's dicts (``aggregate/sharpe``); the study keeps them whole."""
    if key in result:
        return result
    prefix = f"{key}/"
    inner = {k.removeprefix(prefix): v for k, v in result.items() if k.startswith(prefix)}
    return {**result, key: inner} if inner else result


class StudySearch(OptunaSearch):
    """``OptunaSearch`` whose trials carry their number to the trainable (``__trial``, so a trial's run is named
    after it) and leave their record in the study: a trial stopped by the scheduler after some folds is PRUNED
    (never ranked: its value is that of its first folds only), one that raised is FAIL, one that reported its
    final result is COMPLETE with its folds, aggregate metrics, node and wall time as user attributes."""

    def __init__(self, *args: Any, choices: dict[str, list[Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices = choices
        self._folds: dict[str, list[dict[str, Any]]] = {}

    def better(self, a: float, b: float) -> bool:
        """Whether objective ``a`` beats ``b`` in this study's direction."""
        return a < b if self._mode == "min" else a > b

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        config = super().suggest(trial_id)
        if not isinstance(config, dict):
            return config
        ot_trial = self._ot_trials[trial_id]
        if self._choices:
            ot_trial.set_user_attr("choices", self._choices)
        return {**config, "__trial": ot_trial.number}

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if result.get("final") or trial_id in self._completed_trials:
            return
        self._folds[trial_id] = list(result.get("folds", []))
        step = int(result.get("fold", 0))
        if step in self._ot_trials[trial_id].storage.get_trial(self._ot_trials[trial_id]._trial_id).intermediate_values:
            return  # Tune may hand the same fold's result on twice
        try:
            self._ot_trials[trial_id].report(float(result["objective"]), step)
        except (KeyError, TypeError, ValueError) as error:  # an intermediate value is only for the record
            log.debug("trial %s: fold result not recorded: %s", trial_id, error)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        from optuna.trial import TrialState

        if trial_id in self._completed_trials:
            return
        ot_trial = self._ot_trials[trial_id]
        result = result or {}
        if result.get("final") and not error:
            result = _nested(result, "aggregate")
            for key in _RECORDED:
                if key in result:
                    ot_trial.set_user_attr(key, result[key])
            self._ot_study.tell(ot_trial, float(result["objective"]), state=TrialState.COMPLETE)
        elif error:
            self._ot_study.tell(ot_trial, state=TrialState.FAIL)
        else:
            # The result that stopped the trial is not handed to on_trial_result: it carries the last folds.
            folds = list(result.get("folds") or self._folds.get(trial_id, []))
            ot_trial.set_user_attr("folds", folds)
            ot_trial.set_user_attr("pruned_after_fold", len(folds))
            self._ot_study.tell(ot_trial, state=TrialState.PRUNED)
        self._completed_trials.add(trial_id)


class TrialProgress(Callback):
    """Tells the caller each finished trial: how many of the asked are done and the best so far, for an ETA."""

    def __init__(self, say: ProgressCallback, total: int, searcher: StudySearch) -> None:
        self.say, self.total, self.searcher = say, total, searcher
        self.done = 0
        self.best: float | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Ray pickles the Tuner's callbacks for a restore we never use; the caller's display (a console with its
        # locks) and the searcher stay out of that copy.
        return {"total": self.total, "done": self.done, "best": self.best}

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done += 1
        result = trial.last_result or {}
        value = result.get("objective") if result.get("final") else None
        if value is not None and (self.best is None or self.searcher.better(value, self.best)):
            self.best = value
        state = f"done, objective {value:.3f}" if value is not None else "pruned"
        best = f"{self.best:.3f}" if self.best is not None else "-"
        self.say(ProgressEvent("trial", f"trial {state}; best so far {best}", done=self.done, total=self.total))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done += 1
        message = "trial failed (its error is in the study's Ray logs)"
        self.say(ProgressEvent("trial", message, done=self.done, total=self.total))


class _LastFoldRuns:
    """A scheduler on the folds that never stops a trial which has reported its last fold (or its final result):
    a stop there would leave a trial without its complete result."""

    def __init__(self, *args: Any, folds: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._folds = folds

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if result.get("final") or int(result.get("fold", 0)) >= self._folds:
            return TrialScheduler.CONTINUE
        return super().on_trial_result(tune_controller, trial, result)  # type: ignore[misc]


class FoldMedianRule(_LastFoldRuns, MedianStoppingRule):
    """Ray's median stopping rule on the folds, without its pauses: while too few trials have reached a fold to
    compare, a trial goes on (a paused trial has no checkpoint here, so Ray would start its run over); a trial
    that has reported its last fold is never stopped."""

    def _on_insufficient_samples(self, tune_controller: Any, trial: Any, time: float) -> str:
        return TrialScheduler.CONTINUE


class FoldHalving(_LastFoldRuns, ASHAScheduler):
    """Successive halving on the folds; a trial that has reported its last fold is never stopped (Ray's rung at
    ``max_t`` would otherwise stop every trial before its final result, leaving no complete trial)."""
