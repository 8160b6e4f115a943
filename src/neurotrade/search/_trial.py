"""One trial of a study, as Ray runs it: the sampled spec, cut at the holdout, through ``neurotrade.run``.

Each fold is reported as it finishes (so Ray's scheduler can stop a trial whose first folds trail the others);
the last report carries ``final: True`` and the trial's whole record. A trial is an ordinary run of the
workspace: it has its bundle, run folder and report, and the trial ledger counts it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# A Sharpe ratio is undefined when the equity never moves (no trade): for ranking, such a trial earned nothing.
_NO_SHARPE = 0.0
# A log loss that could not be measured ranks below any that could.
_NO_LOG_LOSS = 1e6


def objective_value(summary: dict[str, Any], objective: str) -> float:
    """The number a trial (or one fold of it) is ranked by; ``dsr`` ranks folds by their excess Sharpe.

    Examples
    --------
    >>> objective_value({"sharpe": 1.2, "buy_and_hold_sharpe": 0.7, "excess_sharpe": 0.5}, "excess_sharpe")
    0.5
    >>> objective_value({"sharpe": None, "buy_and_hold_sharpe": 0.7, "excess_sharpe": None}, "excess_sharpe")
    -0.7
    """

    def number(value: Any, default: float) -> float:
        return default if value is None or not math.isfinite(value) else float(value)

    if objective == "log_loss":
        return number(summary.get("log_loss"), _NO_LOG_LOSS)
    if objective == "dsr" and summary.get("dsr") is not None:
        return float(summary["dsr"])
    sharpe = number(summary.get("sharpe"), _NO_SHARPE)
    if objective == "sharpe":
        return sharpe
    return sharpe - number(summary.get("buy_and_hold_sharpe"), _NO_SHARPE)


def aggregate_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """A run's out-of-sample aggregate in the study's terms (see ``neurotrade.search._study``): the fold summary's
    numbers (``pipeline._summary``) over the whole chained window, with buy-and-hold's return, the drawdown and
    the run's own DSR and trial count."""
    from neurotrade.pipeline import _summary

    aggregate = metrics["aggregate"]
    strategy, held = aggregate["strategy"], aggregate["buy_and_hold"]
    return _summary(strategy, held, aggregate.get("classification", {})) | {
        "buy_and_hold_return": held.get("total_return"),
        "max_drawdown": strategy.get("max_drawdown"),
        "dsr": strategy.get("deflated_sharpe_excess"),
        "trials_counted": strategy.get("trials"),
    }


def excess_returns(run_dir: Path) -> list[float]:
    """The per-bar returns of the run's out-of-sample equity minus buy-and-hold's, for the study's deflated
    Sharpe ratios (recomputed with the final trial count when the study ends)."""
    equity = pd.read_parquet(run_dir / "equity.parquet")
    strategy = equity["strategy"].pct_change()
    held = equity["buy_and_hold"].pct_change()
    values = (strategy - held).iloc[1:].to_numpy(dtype=np.float64)
    return [float(v) for v in values if math.isfinite(v)]


def deflated(returns: list[float], trials: int) -> float | None:
    """The deflated Sharpe ratio of per-bar excess returns over ``trials`` trials; None when it is undefined.

    Examples
    --------
    >>> deflated([0.01, -0.02, 0.015, 0.0, 0.005], 1) is not None, deflated([0.0, 0.0, 0.0], 3)
    (True, None)
    """
    from neurotrade import backtest

    values = np.asarray(returns, dtype=np.float64)
    if len(values) <= 2 or not np.isfinite(values).all() or np.ptp(values) == 0:
        return None
    return backtest.deflated_sharpe_ratio(values, max(1, int(trials)))


def run_trial(
    config: dict[str, Any],
    *,
    base: dict[str, Any],
    study: str,
    holdout_start: str,
    home: str,
    objective: str,
    cpus: float,
    shared: tuple[str, Any] | None = None,
    track: tuple[str, str] | None = None,
    dsr_trials: int | None = None,
) -> None:
    """Ray Tune's function trainable: run the trial ``config`` (Optuna's parameters and ``__trial``, its number)
    and report each fold, then the whole trial. ``shared`` is a feature cache key and its matrix, when no
    dimension changes the features: built once by the driver and read here from Ray's object store. ``track``
    is an MLflow URI and the study's parent run id: the trial's run is logged as a nested run."""
    import ray
    from ray import tune

    import neurotrade
    from neurotrade._threads import configure_threads
    from neurotrade.config import Strategy
    from neurotrade.config._search import with_values
    from neurotrade.search._space import spec_values

    configure_threads(max(1, int(cpus)))  # this worker's pools sized to the CPUs Ray gave the trial
    if shared is not None:  # the features every trial shares, built once by the driver (Ray's object store)
        from neurotrade.features._cache import share_features

        share_features(*shared)
    started = time.perf_counter()
    number = int(config["__trial"])
    params = {k: v for k, v in config.items() if not k.startswith("__")}
    strategy = Strategy.model_validate(base)
    values = spec_values(strategy, params) | {"data.end": holdout_start, "name": f"{study}-trial{number}"}
    spec = with_values(strategy, values, source=f"study {study}, trial {number}")
    folds: list[dict[str, Any]] = []

    def report_fold(k: int, summary: dict[str, Any]) -> None:
        folds.append({"fold": k, **summary})
        tune.report({"objective": objective_value(summary, objective), "fold": k, "final": False, "folds": folds})

    result = neurotrade.run(spec, home=home, progress=False, on_fold=report_fold, track=False)
    if track is not None:  # nested under the study's MLflow run (the driver opened it)
        from neurotrade import tracking

        uri, parent = track
        tags = {"neurotrade.study": study, "neurotrade.trial": str(number)}
        tracking.log_run(result, uri, home=Path(home), parent_run_id=parent, tags=tags)
    aggregate = aggregate_summary(result.metrics)
    returns = excess_returns(result.run_dir)
    if dsr_trials is not None:
        # Every trial deflated by the same count (the study's target plus what the ledger held when it began), so
        # `objective: dsr` ranks trials by merit, not by how early they ran (the run's own DSR counts the trials
        # before it). The study recomputes them all with its final count when it ends.
        aggregate |= {"dsr": deflated(returns, dsr_trials), "trials_counted": dsr_trials}
    tune.report(
        {
            "objective": objective_value(aggregate, objective),
            "fold": len(folds),
            "final": True,
            "folds": folds,
            "aggregate": aggregate,
            "excess_returns": returns,
            "node": ray.get_runtime_context().get_node_id(),
            "seconds": time.perf_counter() - started,
            "run_dir": str(result.run_dir),
            "bundle": result.bundle.name,
        }
    )
