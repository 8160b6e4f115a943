"""The networks, behind one factory keyed by ``model.type`` (and :func:`build_network` for a whole strategy, return
heads included), the baselines that run beside them, and the regime-change score of the regime model's latents."""

# The model modules register their builders when imported.
from neurotrade.models import _baselines, _ensemble, _neuro_fuzzy, _regime, _sequence  # noqa: F401
from neurotrade.models._baselines import LogisticBaseline, LorentzianKNN
from neurotrade.models._ensemble import Ensemble
from neurotrade.models._mlp import MLP
from neurotrade.models._multitask import ReturnHeadModel, build_network
from neurotrade.models._neuro_fuzzy import NeuroFuzzy
from neurotrade.models._regime import RegimeModel
from neurotrade.models._regime_score import RegimeChangeScore, regime_change_score
from neurotrade.models._registry import build_model, model_types, register_model
from neurotrade.models._sequence import ConvNet, RecurrentNet, TransformerNet, WindowModel

__all__ = [
    "MLP",
    "ConvNet",
    "Ensemble",
    "LogisticBaseline",
    "LorentzianKNN",
    "NeuroFuzzy",
    "RecurrentNet",
    "RegimeChangeScore",
    "RegimeModel",
    "ReturnHeadModel",
    "TransformerNet",
    "WindowModel",
    "build_model",
    "build_network",
    "model_types",
    "regime_change_score",
    "register_model",
]
