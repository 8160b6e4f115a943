"""Classification metrics on a window: what the model got right, and how confident it was."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, class_names: tuple[str, ...]) -> dict[str, Any]:
    """Accuracy, log loss, per-class precision/recall/F1 and the confusion matrix, JSON-ready.

    Parameters
    ----------
    y_true
        Class indices.
    proba
        ``(samples, classes)`` probabilities.
    class_names
        Names in class-index order.

    Examples
    --------
    >>> m = classification_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]), ("SELL", "BUY"))
    >>> m["accuracy"], m["confusion_matrix"]
    (1.0, [[1, 0], [0, 1]])
    """
    labels = list(range(len(class_names)))
    y_true = np.asarray(y_true, dtype=np.int64)
    if len(y_true) == 0:
        return {"samples": 0}
    y_pred = proba.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "predicted": int((y_pred == i).sum()),
        }
        for i, name in enumerate(class_names)
    }
    counts = np.bincount(y_true, minlength=len(class_names))
    return {
        "samples": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # The accuracy of always answering the most common class: the bar a model has to clear.
        "majority_class": class_names[int(counts.argmax())],
        "majority_rate": float(counts.max() / len(y_true)),
        "log_loss": float(log_loss(y_true, np.clip(proba, 1e-12, 1.0), labels=labels)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
