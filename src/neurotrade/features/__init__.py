"""Features: nn_inputs -> resolved_features, computed causally, warm-up dropped, scaled on training rows only."""

from neurotrade.features._build import (
    FeatureMatrix,
    align_to_finer,
    build_features,
    compute_indicators,
    context_features,
    feature_frame,
    feature_timeframes,
    fuzzy_memberships,
    resolve_features,
)
from neurotrade.features._cache import FeatureCache
from neurotrade.features._scaler import Standardizer
from neurotrade.features._windows import window_rows, windows

__all__ = [
    "FeatureCache",
    "FeatureMatrix",
    "Standardizer",
    "align_to_finer",
    "build_features",
    "compute_indicators",
    "context_features",
    "feature_frame",
    "feature_timeframes",
    "fuzzy_memberships",
    "resolve_features",
    "window_rows",
    "windows",
]
