"""MLflow tracking of runs and search trials (the ``track`` extra: ``pip install 'neurotrade[track]'``).

``neurotrade run --track`` (or ``tracking: {mlflow: URI}`` in the spec) logs each saved run to an MLflow store:
the flattened spec as params, the aggregate and per-fold metrics, ``report.html`` and ``metrics.json``, and tags
naming the bundle and its sha256. With no URI, the store is ``mlflow.db`` in the workspace (artifacts under
``mlruns/``). A study's trials are logged nested under the study's own run (:func:`start_study_run`).
MLflow is imported only when something is logged.
"""

from neurotrade.tracking._flatten import flatten_params, run_metrics
from neurotrade.tracking._mlflow import (
    display_uri,
    end_study_run,
    log_run,
    requested_uri,
    require_mlflow,
    start_study_run,
    track_result,
    tracking_uri,
)

__all__ = [
    "display_uri",
    "end_study_run",
    "flatten_params",
    "log_run",
    "requested_uri",
    "require_mlflow",
    "run_metrics",
    "start_study_run",
    "track_result",
    "tracking_uri",
]
