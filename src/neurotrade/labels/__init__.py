"""Labels and their end times t1: what a model learns to predict, and how far each label looks ahead."""

from neurotrade.labels._forward import QuantileClasses, forward_returns
from neurotrade.labels._triple_barrier import causal_volatility, triple_barrier_labels
from neurotrade.labels._weights import class_weights
from neurotrade.labels._zigzag import BUY, CLASS_NAMES, HOLD, SELL, class_balance, zigzag_labels

__all__ = [
    "BUY",
    "CLASS_NAMES",
    "HOLD",
    "SELL",
    "QuantileClasses",
    "causal_volatility",
    "class_balance",
    "class_weights",
    "forward_returns",
    "triple_barrier_labels",
    "zigzag_labels",
]
