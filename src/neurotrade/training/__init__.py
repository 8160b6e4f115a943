"""Training: device choice, seeding, the trainer (rows and windows, schedules, checkpoints), metrics and
collapse checks, and the seed-variance summary."""

from neurotrade.training._checkpoint import load_checkpoint
from neurotrade.training._device import seed_everything, select_device
from neurotrade.training._inference import REPLAY_ATOL, inference_copy, predict_outputs, predict_proba
from neurotrade.training._losses import focal_loss
from neurotrade.training._metrics import classification_metrics, collapse_warnings, expected_calibration_error
from neurotrade.training._schedule import PlateauScheduler, cosine_lr
from neurotrade.training._seeds import summarize_seeds
from neurotrade.training._trainer import EpochReport, TrainResult, make_optimizer, train_classifier

__all__ = [
    "REPLAY_ATOL",
    "EpochReport",
    "PlateauScheduler",
    "TrainResult",
    "classification_metrics",
    "collapse_warnings",
    "cosine_lr",
    "expected_calibration_error",
    "focal_loss",
    "inference_copy",
    "load_checkpoint",
    "make_optimizer",
    "predict_outputs",
    "predict_proba",
    "seed_everything",
    "select_device",
    "summarize_seeds",
    "train_classifier",
]
