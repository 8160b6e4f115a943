"""Standardisation fitted on the training window only, kept as JSON statistics."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from neurotrade.errors import FeatureError

log = logging.getLogger(__name__)


class Standardizer:
    """Subtract the training mean and divide by the training standard deviation, per feature.

    Follows the scikit-learn estimator contract: ``fit`` learns ``mean_`` and ``scale_``; using it before
    ``fit`` raises. A feature that is constant over the training window keeps scale 1 (it is only centred), and
    a warning names it: such a feature carries no information the model could learn from.

    Examples
    --------
    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[2.0, 6.0]])).tolist()
    [[0.0, 1.0]]
    >>> Standardizer.from_dict(s.to_dict()).scale_.tolist()
    [1.0, 1.0]
    """

    def __init__(self, feature_names: list[str] | None = None) -> None:
        self.feature_names = feature_names

    def fit(self, x: np.ndarray) -> Standardizer:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) == 0:
            raise FeatureError(f"cannot fit a scaler on an array of shape {x.shape}; need (samples, features)")
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        constant = std == 0
        if constant.any():
            names = self.feature_names or [str(i) for i in range(x.shape[1])]
            log.warning("features constant over the training window: %s", [names[i] for i in np.flatnonzero(constant)])
        self.scale_ = np.where(constant, 1.0, std)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise FeatureError("this Standardizer is not fitted yet; call fit() on the training rows first")
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != self.mean_.shape[0]:
            raise FeatureError(f"expected {self.mean_.shape[0]} features, got {x.shape[-1]}")
        return (x - self.mean_) / self.scale_

    def to_dict(self) -> dict[str, Any]:
        """The statistics as JSON-ready lists."""
        if not hasattr(self, "mean_"):
            raise FeatureError("this Standardizer is not fitted yet; nothing to save")
        return {"features": self.feature_names, "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, stats: dict[str, Any]) -> Standardizer:
        """Rebuild a fitted scaler from :meth:`to_dict`'s output."""
        out = cls(stats.get("features"))
        out.mean_ = np.asarray(stats["mean"], dtype=np.float64)
        out.scale_ = np.asarray(stats["scale"], dtype=np.float64)
        return out
