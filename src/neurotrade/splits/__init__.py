"""Splits that cannot leak: chronological windows, walk-forward folds and combinatorial purged cross-validation,
all with purge (by label end time t1) and embargo."""

from neurotrade.splits._chronological import Split, chronological_split
from neurotrade.splits._cpcv import CPCV, combinatorial_purged_cv, cpcv_fold_splits
from neurotrade.splits._pooled import PooledSplit, pooled_splits
from neurotrade.splits._walk_forward import walk_forward_splits

__all__ = [
    "CPCV",
    "PooledSplit",
    "Split",
    "chronological_split",
    "combinatorial_purged_cv",
    "cpcv_fold_splits",
    "pooled_splits",
    "walk_forward_splits",
]
