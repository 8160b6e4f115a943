"""``/predict``: bars in, the decision engine's decision out, with a small LRU of loaded engines.

Loading a bundle (hashing every file, rebuilding the network) costs far more than a decision, so a loaded engine is
kept per bundle, fresh, as a template; each request gets a new engine built from the template's parts (its own
feature streams, rules state and input buffers; the template's float64 model copy, which no decision changes, is
shared rather than copied again: a copy cost more than a decision), fed the request's bars from the first, exactly as
``DecisionEngine.from_bundle(bundle)`` in-process would be. A bundle version never changes once saved (a deleted
version's number is never reused), so a bundle's name is its cache key; a deleted bundle leaves the cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from neurotrade.serve._errors import ApiError

if TYPE_CHECKING:
    from neurotrade.decision import Decision, DecisionEngine
    from neurotrade.store import Bundle


@dataclass
class _Loaded:
    bundle: Bundle
    template: DecisionEngine
    path: Path


class EngineCache:
    """Up to ``size`` loaded engines, least recently used first out.

    Examples
    --------
    >>> cache = EngineCache(Path("/nonexistent/models"), size=2)
    >>> len(cache), cache.size
    (0, 2)
    """

    def __init__(self, models_dir: Path, size: int) -> None:
        self.models_dir, self.size = Path(models_dir), size
        self._engines: OrderedDict[str, _Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._engines)

    def forget(self, name: str) -> None:
        """Drop a bundle's engine (after the bundle was deleted)."""
        with self._lock:
            self._engines.pop(name, None)

    def is_cheap(self, name: str) -> bool:
        """Whether the bundle ``name`` (as given: a full name, not an alias) is loaded and decides in microseconds
        a bar: a plain MLP on the engine's one-row path, without a meta-labelling primary (whose engine is rebuilt
        from its bundle, files hashed, per request). Window models and ensembles cost ~0.5 ms a bar."""
        loaded = self._cached(name)
        if loaded is None:
            return False
        t = loaded.template
        return t.primary is None and bool(t._forward.fast)

    def engine(self, name: str) -> tuple[str, DecisionEngine]:
        """A fresh engine for the bundle ``name`` means, and that bundle's full name."""
        from neurotrade.decision import DecisionEngine
        from neurotrade.serve._bundles import resolve_ref

        loaded = self._cached(name)
        if loaded is None:
            ref = resolve_ref(self.models_dir, name)
            loaded = self._cached(ref.name) or self._load(ref.name)
        t = loaded.template
        if t.primary is not None:  # the primary side's stream is built from the bundle: build the whole engine
            return loaded.bundle.ref.name, DecisionEngine.from_bundle(loaded.bundle)
        return loaded.bundle.ref.name, t.fresh()

    def _cached(self, name: str) -> _Loaded | None:
        with self._lock:
            loaded = self._engines.get(name)
            if loaded is None:
                return None
            if not loaded.path.is_dir():  # deleted behind the server's back (the CLI)
                del self._engines[name]
                return None
            self._engines.move_to_end(name)
            return loaded

    def _load(self, name: str) -> _Loaded:
        import torch

        from neurotrade.decision import DecisionEngine
        from neurotrade.errors import StoreError
        from neurotrade.store import load_bundle

        # One request's one-row model gains nothing from a thread pool; concurrency comes from the requests.
        torch.set_num_threads(1)
        try:
            bundle = load_bundle(self.models_dir, name)
        except StoreError as e:  # it exists (resolved just before) but fails verification
            raise ApiError(409, str(e), field="body.model") from e
        if bundle.documents.get("features", {}).get("symbols"):
            raise ApiError(
                422,
                f"bundle {name} is a universe's: it decides for several symbols at once, and /predict takes one "
                "symbol's bars; trade it with `neurotrade backtest` or a paper session",
                field="body.model",
            )
        loaded = _Loaded(bundle, DecisionEngine.from_bundle(bundle), bundle.ref.path)
        with self._lock:
            self._engines[name] = loaded
            self._engines.move_to_end(name)
            while len(self._engines) > self.size:
                self._engines.popitem(last=False)
        return loaded


def decide(engine: DecisionEngine, bars: list[dict[str, Any]], position: int | None) -> Decision:
    """Feed ``bars`` (dicts with ``time`` and OHLCV, oldest first) through ``engine``; the last bar's decision.

    ``position`` is the position actually held before the last bar, when the caller knows it.
    """
    decision = None
    last = len(bars) - 1
    for i, bar in enumerate(bars):
        decision = engine.update(bar, time=pd.Timestamp(bar["time"]), position=position if i == last else None)
    assert decision is not None
    return decision
