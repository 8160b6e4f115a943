"""Features: nn_inputs -> resolved_features, computed causally, warm-up dropped, scaled on training rows only."""

from neurotrade.features._build import (
    FeatureMatrix,
    build_features,
    compute_indicators,
    fuzzy_memberships,
    resolve_features,
)
from neurotrade.features._scaler import Standardizer

__all__ = [
    "FeatureMatrix",
    "Standardizer",
    "build_features",
    "compute_indicators",
    "fuzzy_memberships",
    "resolve_features",
]
