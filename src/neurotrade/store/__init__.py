"""Versioned, verified model bundles: ``{models_dir}/{strategy}/{timeframe}_v{N}/``.

A bundle holds ``weights.safetensors``, JSON documents (spec, resolved features, scaler statistics,
metrics ...) and a ``manifest.json`` with the sha256 and size of every other file. Loading verifies
every file first; nothing is ever unpickled.
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

__all__ = [
    "Bundle",
    "BundleRef",
    "list_bundles",
    "load_bundle",
    "read_document",
    "save_bundle",
    "verify_bundle",
]
