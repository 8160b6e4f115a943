"""Features: nn_inputs -> resolved_features, computed causally, warm-up dropped, scaled on training rows only."""

from neurotrade.features._build import (
    FeatureMatrix,
    align_to_finer,
    build_features,
    compute_indicator_panels,
    compute_indicators,
    context_features,
    feature_frame,
    feature_timeframes,
    fuzzy_memberships,
    resolve_features,
)
from neurotrade.features._cache import FeatureCache
from neurotrade.features._cross_section import (
    add_universe_features,
    cross_section_columns,
    rank_pct,
    symbol_columns,
    zscore,
)
from neurotrade.features._scaler import Standardizer
from neurotrade.features._windows import window_rows, windows

__all__ = [
    "FeatureCache",
    "FeatureMatrix",
    "Standardizer",
    "add_universe_features",
    "align_to_finer",
    "build_features",
    "compute_indicator_panels",
    "compute_indicators",
    "context_features",
    "cross_section_columns",
    "feature_frame",
    "feature_timeframes",
    "fuzzy_memberships",
    "rank_pct",
    "resolve_features",
    "symbol_columns",
    "window_rows",
    "windows",
    "zscore",
]
