"""Training: device choice, seeding, the trainer with early stopping, and classification metrics."""

from neurotrade.training._device import seed_everything, select_device
from neurotrade.training._metrics import classification_metrics
from neurotrade.training._trainer import EpochReport, TrainResult, make_optimizer, train_classifier

__all__ = [
    "EpochReport",
    "TrainResult",
    "classification_metrics",
    "make_optimizer",
    "seed_everything",
    "select_device",
    "train_classifier",
]
