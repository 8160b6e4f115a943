"""One face for the two decision engines: a time's bars in, each symbol's decision out.

A single symbol's bundle decides through :class:`~neurotrade.decision.DecisionEngine`, a universe's through
:class:`~neurotrade.decision.UniverseEngine`, exactly as ``neurotrade backtest`` drives them (``update`` with the
bar and its time; ``step`` with the bars of one time; ``start_account`` at the first bar traded).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from neurotrade.decision import Decision, DecisionEngine, UniverseEngine
from neurotrade.errors import BacktestError
from neurotrade.store import Bundle


class SessionEngine:
    """A bundle's engine for the symbols a session trades.

    Parameters
    ----------
    bundle
        The loaded bundle.
    symbols
        The symbols traded: one (a single symbol's bundle), or those of a universe's bundle in its order.

    Attributes
    ----------
    universe
        Whether the bundle is a universe's.
    name
        The bundle's name (``strategy/1d_v3``).
    identity
        The sha256 of the bundle's manifest: which exact files decided.
    """

    def __init__(self, bundle: Bundle, symbols: list[str]) -> None:
        self.bundle = bundle
        self.symbols = list(symbols)
        self.name = bundle.ref.name
        self.identity = bundle_identity(bundle)
        universe = bundle.documents.get("features", {}).get("symbols")
        self.universe = bool(universe)
        self.engine: DecisionEngine | UniverseEngine
        if self.universe:
            self.engine = UniverseEngine.from_bundle(bundle)
        else:
            if len(self.symbols) != 1:
                raise BacktestError(f"bundle {self.name} is one symbol's, but the session names {self.symbols}")
            self.engine = DecisionEngine.from_bundle(bundle)

    def start_account(self) -> None:
        """Start trading here: flat, fresh rules, the streams keeping their history (as the backtest's window)."""
        self.engine.start_account()

    def step(self, time: pd.Timestamp, bars: Mapping[str, Mapping[str, float]]) -> dict[str, Decision]:
        """The decisions at ``time`` for the symbols of ``bars`` (in the universe's order)."""
        if isinstance(self.engine, UniverseEngine):
            return dict(self.engine.step(time, bars))
        symbol = self.symbols[0]
        return {symbol: self.engine.update(bars[symbol], time=time)}


def bundle_identity(bundle: Bundle) -> str:
    """The sha256 of a bundle's manifest (every file's sha256 and size): the same only for the same files.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> len(bundle_identity(SimpleNamespace(manifest={"files": {}})))
    64
    """
    return hashlib.sha256(json.dumps(bundle.manifest.get("files", {}), sort_keys=True).encode()).hexdigest()


def trace_row(decision: Decision, *, universe: bool, symbol: str) -> dict[str, Any]:
    """A decision as the backtest's decision trace has it (``neurotrade backtest``'s ``decisions`` rows), and the
    columns the session stores it in.

    Examples
    --------
    >>> import numpy as np
    >>> d = Decision(pd.Timestamp("2024-01-02", tz="UTC"), np.zeros(1), np.array([0.2, 0.3, 0.5]), "BUY", 1, 0.5,
    ...              "confidence")
    >>> row = trace_row(d, universe=False, symbol="A")
    >>> row["signal"], row["p_buy"], row["side"], row["portfolio_target"]
    ('BUY', 0.5, None, None)
    """
    proba = decision.proba
    return {
        "symbol": symbol,
        "signal": decision.signal or "WARMUP",
        "target": int(decision.target),
        "size": float(decision.size),
        "size_reason": decision.reason,
        "p_sell": None if proba is None else float(proba[0]),
        "p_hold": None if proba is None else float(proba[1]),
        "p_buy": None if proba is None else float(proba[2]),
        "side": None if universe or decision.side is None else int(decision.side),
        "portfolio_target": int(getattr(decision, "portfolio_target", 0)) if universe else None,
        "outputs": {k: float(v) for k, v in decision.outputs.items()},
    }
