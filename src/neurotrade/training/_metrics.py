"""Classification metrics on a window: what the model got right, how confident it was, and whether it collapsed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, class_names: tuple[str, ...]) -> dict[str, Any]:
    """Accuracy, log loss, expected calibration error, per-class precision/recall/F1 and the confusion matrix,
    JSON-ready.

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
        "ece": expected_calibration_error(y_true, proba),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """How far the model's confidence is from its accuracy, on average (Guo et al., 2017).

    Each sample's confidence is its largest class probability. The confidences are cut into ``bins`` bins of
    equal width over (0, 1] (``(0, 0.1], (0.1, 0.2], ...`` for 10); the ECE is the mean, weighted by the share of
    samples in each bin, of ``|accuracy - mean confidence|`` within the bin. 0 is perfectly calibrated; a model
    that says 90 % and is right half the time scores 0.4.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.2, 0.8]])
    >>> round(expected_calibration_error(np.array([0, 1, 1, 1]), proba), 3)
    0.3
    """
    if bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins}")
    y_true = np.asarray(y_true, dtype=np.int64)
    if len(y_true) == 0:
        return 0.0
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    # Bin b holds confidences in (b / bins, (b + 1) / bins]; a confidence of exactly 0 (impossible) joins bin 0.
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = np.abs(
        np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
        - np.bincount(which, weights=confidence, minlength=bins)
    )
    return float(gap.sum() / len(y_true))


# Thresholds of collapse_warnings, in one place so the docstring and the messages agree.
ONE_CLASS_SHARE = 0.95
OVERCONFIDENT = 0.99
OVERCONFIDENT_NO_SKILL = 0.97
NO_SKILL_MARGIN = 0.02


def collapse_warnings(
    y_true: np.ndarray,
    proba: np.ndarray,
    x: np.ndarray | None,
    *,
    class_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
) -> list[str]:
    """Signs that a model has collapsed rather than learned, one sentence each (an empty list when none).

    - **one class**: one class is predicted for more than 95 % of the samples;
    - **degenerate inputs**: a feature of ``x`` is constant, or NaN somewhere, over the samples (for windows
      ``(samples, lookback, features)``, over every row of every window);
    - **extreme confidence**: the mean largest probability is above 0.99, or above 0.97 while the accuracy is
      within 2 points of always answering the most common class (confident, yet no better than the base rate).

    Parameters
    ----------
    y_true
        Class indices.
    proba
        ``(samples, classes)`` probabilities.
    x
        The model's inputs on the same samples, or None to skip the input checks.
    class_names, feature_names
        Names used in the messages (indices otherwise).

    Examples
    --------
    >>> proba = np.tile([0.03, 0.01, 0.96], (100, 1)); x = np.c_[np.arange(100.0), np.ones(100)]
    >>> for w in collapse_warnings(np.r_[np.zeros(50), np.full(50, 2)], proba, x, feature_names=["a", "b"]):
    ...     print(w)
    the model predicts class 2 for 100.0 % of the 100 samples: it has collapsed onto one class; try class_weights: balanced, a lower learning rate or more informative features
    input feature 'b' is constant (1) over the samples: it carries no information; check its indicator and fuzzy sets
    """  # noqa: E501
    y_true = np.asarray(y_true, dtype=np.int64)
    n = len(y_true)
    if n == 0:
        return []
    n_classes = proba.shape[1]
    classes = list(class_names) if class_names is not None else [f"class {i}" for i in range(n_classes)]
    warnings: list[str] = []
    predicted = np.bincount(proba.argmax(axis=1), minlength=n_classes)
    top = int(predicted.argmax())
    share = predicted[top] / n
    if share > ONE_CLASS_SHARE:
        warnings.append(
            f"the model predicts {classes[top]} for {100 * share:.1f} % of the {n} samples: it has collapsed onto "
            "one class; try class_weights: balanced, a lower learning rate or more informative features"
        )
    if x is not None:
        warnings += _input_warnings(np.asarray(x, dtype=np.float64), feature_names)
    confidence = float(proba.max(axis=1).mean())
    accuracy = float((proba.argmax(axis=1) == y_true).mean())
    majority = float(np.bincount(y_true, minlength=n_classes).max() / n)
    if confidence > OVERCONFIDENT:
        warnings.append(
            f"the mean confidence is {confidence:.3f} (above {OVERCONFIDENT}): the probabilities are saturated; "
            "add dropout or weight_decay, or stop earlier"
        )
    elif confidence > OVERCONFIDENT_NO_SKILL and accuracy <= majority + NO_SKILL_MARGIN:
        warnings.append(
            f"the mean confidence is {confidence:.3f} while the accuracy ({accuracy:.3f}) is no better than "
            f"always answering the most common class ({majority:.3f}): the model is sure of answers it gets wrong"
        )
    return warnings


def _input_warnings(x: np.ndarray, feature_names: Sequence[str] | None) -> list[str]:
    rows = x.reshape(-1, x.shape[-1])  # (samples * lookback, F)
    names = list(feature_names) if feature_names is not None else [str(i) for i in range(rows.shape[1])]
    warnings = []
    nan = np.isnan(rows)
    for j in np.flatnonzero(nan.any(axis=0)):
        warnings.append(
            f"input feature {names[j]!r} is NaN in {int(nan[:, j].sum())} of {len(rows)} rows: features must be "
            "complete after warm-up; find where it comes from rather than filling it"
        )
    finite = ~nan.any(axis=0)
    constant = finite & (rows.max(axis=0, initial=-np.inf) == rows.min(axis=0, initial=np.inf))
    for j in np.flatnonzero(constant):
        warnings.append(
            f"input feature {names[j]!r} is constant ({rows[0, j]:g}) over the samples: it carries no information; "
            "check its indicator and fuzzy sets"
        )
    return warnings
