"""The networks, behind one factory keyed by ``model.type``."""

from neurotrade.models._factory import build_model
from neurotrade.models._mlp import MLP

__all__ = ["MLP", "build_model"]
