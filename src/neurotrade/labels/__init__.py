"""Labels and their end times t1: what a model learns to predict, and how far each label looks ahead."""

from neurotrade.labels._zigzag import BUY, CLASS_NAMES, HOLD, SELL, class_balance, zigzag_labels

__all__ = ["BUY", "CLASS_NAMES", "HOLD", "SELL", "class_balance", "zigzag_labels"]
