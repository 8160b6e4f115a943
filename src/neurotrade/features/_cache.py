"""A feature cache in the workspace, keyed by what the features depend on and verified on every load.

The key hashes the bars' fingerprint, the spec sections that shape the features and the package version (a new
kernel may change values), so a stale entry is simply never found. An entry whose file no longer matches its
recorded sha256 (a partial write, a disk error, a hand edit) is reported and rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

from neurotrade import data
from neurotrade.config import Strategy
from neurotrade.features._build import FeatureMatrix

log = logging.getLogger(__name__)

# Matrices handed to this process ready-made (a search's trials get one from Ray's object store, built once by
# the driver), by cache key: found before the disk is read.
_SHARED: dict[str, FeatureMatrix] = {}


def share_features(key: str, matrix: FeatureMatrix) -> None:
    """Make ``matrix`` the feature cache's entry for ``key`` in this process, without touching the disk.

    A search builds the features its trials share once and ships them through Ray's object store; each trial
    process registers them here, so ``load_or_build`` finds them instead of reading or rebuilding.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> from neurotrade.features import build_features
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> bars, cache = synthetic_ohlcv(300, seed=1), FeatureCache(tempfile.mkdtemp())
    >>> share_features(cache.key(bars, spec), build_features(bars, spec))
    >>> _ = cache.load_or_build(bars, spec, build_features)
    >>> cache.hits
    1
    """
    _SHARED[key] = matrix


class FeatureCache:
    """Feature matrices stored as Parquet under ``{home}/cache/features``.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> from neurotrade.features import build_features
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> bars = synthetic_ohlcv(300, seed=1)
    >>> first = cache.load_or_build(bars, spec, build_features)
    >>> again = cache.load_or_build(bars, spec, build_features)
    >>> cache.hits, again.frame.equals(first.frame)
    (1, True)
    """

    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.root = Path(home) / "cache" / "features"
        self.hits = 0

    def key(self, bars: pd.DataFrame, strategy: Strategy) -> str:
        """The cache key of these bars under this strategy's feature settings."""
        shaping = strategy.model_dump(mode="json", include={"indicators", "fuzzy_sets", "nn_inputs"})
        shaping["timeframe"] = strategy.data.timeframe
        if strategy.indicators_device != "cpu":
            # Torch forms give other last bits than the kernels: a key of their own where they run (and an
            # `indicators_device: cuda` without CUDA fails here, before any work).
            from neurotrade.indicators._torch import resolve_device

            device = resolve_device(strategy.indicators_device)
            if device is not None:
                shaping["indicators_device"] = device.type
        payload = json.dumps(
            {"bars": data.fingerprint(bars), "spec": shaping, "version": metadata.version("neurotrade")}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def load_or_build(
        self, bars: pd.DataFrame, strategy: Strategy, build: Callable[[pd.DataFrame, Strategy], FeatureMatrix]
    ) -> FeatureMatrix:
        """The cached matrix when a verified entry exists, else ``build(bars, strategy)``, stored for next time."""
        key = self.key(bars, strategy)
        cached = _SHARED.get(key) or self._load(key)
        if cached is not None:
            self.hits += 1
            return cached
        built = build(bars, strategy)
        self._store(key, built)
        return built

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.parquet", self.root / f"{key}.json"

    def _load(self, key: str) -> FeatureMatrix | None:
        table, meta_path = self._paths(key)
        if not (table.is_file() and meta_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
            content = table.read_bytes()
            if hashlib.sha256(content).hexdigest() != meta["sha256"]:
                raise ValueError("sha256 mismatch")
            frame = pd.read_parquet(table)
            if list(frame.columns) != meta["resolved_features"]:
                raise ValueError("columns differ from the recorded features")
        except (OSError, ValueError, KeyError) as e:
            log.warning("feature cache entry %s is corrupt (%s); rebuilding it", table.name, e)
            return None
        return FeatureMatrix(frame=frame, resolved_features=meta["resolved_features"], warmup_bars=meta["warmup_bars"])

    def _store(self, key: str, matrix: FeatureMatrix) -> None:
        table, meta_path = self._paths(key)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        os.close(fd)
        matrix.frame.to_parquet(tmp)
        digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
        Path(tmp).replace(table)
        meta = {"sha256": digest, "resolved_features": matrix.resolved_features, "warmup_bars": matrix.warmup_bars}
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(meta, f)
        Path(tmp).replace(meta_path)
