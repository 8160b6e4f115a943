"""Versioned, verified model bundles: ``{models_dir}/{strategy}/{timeframe}_v{N}/``.

A bundle holds ``weights.safetensors``, JSON documents (spec, resolved features, scaler statistics,
metrics ...) and a ``manifest.json`` with the sha256 and size of every other file. Loading verifies
every file first; nothing is ever unpickled. A bundle's network can be rebuilt from it and exported to
ONNX, with the scaler statistics beside the graph as JSON.
"""

from neurotrade.store._bundle import (
    Bundle,
    BundleRef,
    list_bundles,
    load_bundle,
    read_document,
    save_bundle,
    verify_bundle,
)
from neurotrade.store._delete import delete_bundle
from neurotrade.store._ledger import TrialLedger, configuration_hash
from neurotrade.store._onnx import check_onnx, export_onnx, preprocess_path, rebuild_model
from neurotrade.store._spec import bundle_strategy

__all__ = [
    "Bundle",
    "BundleRef",
    "TrialLedger",
    "bundle_strategy",
    "check_onnx",
    "configuration_hash",
    "delete_bundle",
    "export_onnx",
    "list_bundles",
    "load_bundle",
    "preprocess_path",
    "read_document",
    "rebuild_model",
    "save_bundle",
    "verify_bundle",
]
