"""Class weights that make every class count as much in the loss, however rare it is."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from neurotrade.labels._forward import _check_int
from neurotrade.labels._zigzag import CLASS_NAMES

log = logging.getLogger(__name__)


def class_weights(labels: pd.Series | np.ndarray, n_classes: int, *, absent: tuple[int, ...] = ()) -> np.ndarray:
    """Balanced class weights ``n / (n_classes * count_c)``, as scikit-learn's ``class_weight="balanced"``.

    ``n`` is the number of labels and ``count_c`` that of class c, NaN (undecided) labels left out. Weighted
    this way, every class contributes the same total weight, ``n / n_classes``, to a loss. A class with no sample
    gets weight 0, not infinity, and a warning is logged: a model cannot learn that class from these labels, so
    the label settings or the training window likely need a change.

    Parameters
    ----------
    labels
        Class numbers 0 .. n_classes - 1 (as floats or ints); NaN ones are ignored.
    n_classes
        How many classes there are, >= 2; classes absent from ``labels`` still get an entry.
    absent
        Classes that cannot occur by construction (a meta label is act or pass, never SELL): weight 0, no
        warning, and not counted among the classes that share the weight.

    Returns
    -------
    numpy.ndarray
        One float64 weight per class.

    Examples
    --------
    >>> class_weights(np.array([0, 2, 2, 2, np.nan, 1, 2, 2]), 3).round(3).tolist()
    [2.333, 2.333, 0.467]
    >>> class_weights(np.array([1, 2, 2, 2]), 3, absent=(0,)).round(3).tolist()
    [0.0, 2.0, 0.667]
    """
    n_classes = _check_int("n_classes", n_classes, 2)
    values = np.asarray(labels, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {values.shape}")
    values = values[~np.isnan(values)]
    bad = ~np.isin(values, np.arange(n_classes))
    if bad.any():
        raise ValueError(
            f"labels must be whole numbers in 0..{n_classes - 1} (or NaN) for n_classes={n_classes}; "
            f"found {sorted(set(values[bad].tolist()))[:5]}"
        )
    if values.size == 0:
        raise ValueError("no labels to weight: every label is NaN or the input is empty")
    counts = np.bincount(values.astype(np.int64), minlength=n_classes)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = values.size / ((n_classes - len(absent)) * counts[present])
    for c in np.flatnonzero(~present & ~np.isin(np.arange(n_classes), absent)):
        name = f" ({CLASS_NAMES[c]})" if n_classes == len(CLASS_NAMES) else ""
        log.warning("class %d%s has no sample among %d labels; its weight is 0", c, name, values.size)
    return weights
