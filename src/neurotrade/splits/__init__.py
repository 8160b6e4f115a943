"""Splits that cannot leak: chronological windows with purge (by label end time t1) and embargo."""

from neurotrade.splits._chronological import Split, chronological_split

__all__ = ["Split", "chronological_split"]
