"""Searching a strategy's configurations with the final holdout locked: ``tune`` runs a study (Optuna samples,
Ray Tune runs the trials), ``confirm`` evaluates the chosen configuration on the holdout, once.

Ray and Optuna are the ``tune`` extra, imported only when a search runs.
"""

from __future__ import annotations

from neurotrade.search._confirm import ConfirmOutcome, confirm
from neurotrade.search._holdout import Holdout, locate_holdout
from neurotrade.search._study import load_study, storage_url
from neurotrade.search._tune import StudyOutcome, tune

__all__ = [
    "ConfirmOutcome",
    "Holdout",
    "StudyOutcome",
    "confirm",
    "load_study",
    "locate_holdout",
    "storage_url",
    "tune",
]
