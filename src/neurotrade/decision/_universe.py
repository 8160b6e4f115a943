"""The live decision engine of a universe: one pooled model deciding for every symbol, bar by bar, as the batch run.

At each time, for the symbols that have a bar then::

    bar ─▶ that symbol's FeatureStream (its own indicators, context, lags) ─▶ cross-section over the symbols whose
           row is warmed up at this bar (features.rank_pct / zscore on the 1 x symbols row) ─▶ one-hot symbol columns
        ─▶ check against the bundle's resolved_features ─▶ pooled or per-symbol scaler ─▶ the model on the ready rows
        ─▶ DecisionRules with each symbol's own state ─▶ portfolio targets (top_k over the bar's scores) ─▶ Decisions

Each symbol keeps its own streams and rule state: a symbol trades exactly as it would alone, on its own bars, and
reads the others only through the cross-section of the bar it is deciding at (causal by construction).
"""

from __future__ import annotations

import difflib
import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade.config import Strategy
from neurotrade.decision._engine import Decision, _mismatch
from neurotrade.decision._rules import BarView, DecisionRules, RuleState
from neurotrade.decision._stream import FeatureStream
from neurotrade.decision._volatility import RealisedVolatility
from neurotrade.errors import FeatureError, ModelError
from neurotrade.features import Standardizer, cross_section_columns, rank_pct, symbol_columns, zscore
from neurotrade.labels import BUY, CLASS_NAMES, SELL
from neurotrade.models import RegimeChangeScore, build_network
from neurotrade.store import Bundle, bundle_strategy
from neurotrade.training import inference_copy

log = logging.getLogger(__name__)

_CROSS = {"rank": rank_pct, "zscore": zscore}  # the batch's row-wise functions (features._cross_section)


@dataclass(frozen=True)
class UniverseDecision(Decision):
    """A :class:`~neurotrade.decision.Decision` of one symbol of a universe.

    ``target`` is what the rules decide for the symbol on its own (the run's ``decisions.parquet`` ``target``);
    ``portfolio_target`` is the position the shared-cash portfolio is to hold in it after this bar: the same
    with ``portfolio.selection: all``, the ``top_k`` choice over this bar's scores otherwise (0 while warming up).
    ``held`` and ``exit_reason`` stay None: a universe has no intra-bar exits (its spec refuses them), and what
    the shared cash allows is the portfolio's to say (:func:`neurotrade.backtest.simulate_portfolio`).

    Attributes
    ----------
    symbol
        The symbol decided for.
    portfolio_target
        The target position in the portfolio (1 long, 0 flat, -1 short), filled at the symbol's next bar's open.
    """

    symbol: str = ""
    portfolio_target: int = 0


class _SymbolState:
    """One symbol's streams and memory: features, realised volatility, the model's recent rows, rules, regime."""

    def __init__(self, strategy: Strategy, lookback: int, latent: bool) -> None:
        self.stream = FeatureStream(strategy)
        self.volatility = RealisedVolatility(strategy.decisions.volatility_span)
        self.rows: deque[np.ndarray] = deque(maxlen=lookback)
        self.change = RegimeChangeScore(strategy.model.change_window) if latent else None
        self.rules = RuleState()
        self.warm = False


class UniverseEngine:
    """A universe bundle's model deciding for every symbol at each time, equal to the batch run's decisions.

    Build it with :meth:`from_bundle`, then call :meth:`step` with each time's bars (those of the symbols that
    have one), from the first bar of each symbol's history (so its indicators warm up as in training).

    Parameters
    ----------
    strategy
        The resolved spec the model was trained with (its ``data`` names a universe).
    model
        The trained network; the engine runs a float64 copy of it made here.
    scalers
        Symbol -> the fitted scaler its rows are standardised with (the same one for every symbol when the run
        scaled ``pooled``).
    resolved_features
        The ordered feature names the model was trained on: each symbol's own, then the cross-sectional ones,
        then the one-hot symbol columns; the engine's own must equal them.
    symbols
        The universe, in the run's order (the order of the cross-section's row and of the one-hot columns).
    rules
        The decision rules (default: the spec's ``decisions`` section's plain ones).

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade import run, load_bundle
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> home = tempfile.mkdtemp()
    >>> spec = parse_strategy("name: udoc\\ndata: {source: synthetic, symbols: [A, B], bars: 600}\\n"
    ...     "indicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14], cross_section: {rank: [rsi_14]}}\\n"
    ...     "training: {epochs: 2}\\n")
    >>> _ = run(spec, home=home, progress=False)
    >>> engine = UniverseEngine.from_bundle(load_bundle("udoc", home=home))
    >>> a, b = synthetic_ohlcv(20, seed=1), synthetic_ohlcv(20, seed=2)
    >>> steps = [engine.step(t, {"A": a.loc[t], "B": b.loc[t]}) for t in a.index]
    >>> steps[13]["A"].ready, steps[14]["A"].ready
    (False, True)
    >>> float(steps[14]["A"].features[-1] + steps[14]["B"].features[-1])  # their RSIs ranked: 0 and 1
    1.0
    """

    def __init__(
        self,
        strategy: Strategy,
        model: torch.nn.Module,
        scalers: Mapping[str, Standardizer],
        resolved_features: list[str],
        symbols: list[str],
        rules: DecisionRules | None = None,
    ) -> None:
        if not symbols:
            raise ModelError("a universe engine needs at least one symbol")
        if len(set(symbols)) != len(symbols):
            raise ModelError(f"the universe names a symbol twice: {symbols}")
        missing = [s for s in symbols if s not in scalers]
        if missing:
            raise ModelError(f"no scaler for symbol(s) {missing}; give one per symbol (the same one when pooled)")
        self.strategy = strategy
        self.symbols = list(symbols)
        self.resolved_features = list(resolved_features)
        own = FeatureStream(strategy).names  # the names each symbol's stream computes
        self._cross: list[tuple[int, Any]] = []
        for source, _, kind in cross_section_columns(strategy):
            if source not in own:
                raise FeatureError(
                    f"nn_inputs.cross_section.{kind}: {source!r} is not one of the features each symbol computes "
                    f"({', '.join(own)}); the bundle's spec cannot be run: retrain the model"
                )
            self._cross.append((own.index(source), _CROSS[kind]))
        names = own + [name for _, name, _ in cross_section_columns(strategy)]
        self._onehot = strategy.nn_inputs.symbol_embedding
        if self._onehot:
            names += symbol_columns(self.symbols)
        if names != self.resolved_features:
            raise FeatureError(_mismatch(names, self.resolved_features))
        for s in self.symbols:
            width = len(getattr(scalers[s], "mean_", []))
            if width != len(self.resolved_features):
                raise FeatureError(
                    f"the scaler of {s} holds statistics of {width} features, the model reads "
                    f"{len(self.resolved_features)}; the bundle's scaler(s) and features.json disagree: retrain it"
                )
        self.scalers = dict(scalers)
        self.model = model.eval()
        self.inference_model = inference_copy(model)
        self.windows = getattr(model, "input_kind", "rows") != "rows"
        self.lookback = int(getattr(model, "lookback", 1))
        self.heads = tuple(getattr(model, "heads", ()))
        d = strategy.decisions
        self.rules = rules or DecisionRules(d.confidence_threshold, d.allow_short)
        p = strategy.portfolio
        self.top_k = p.top_k if p.selection == "top_k" else None
        self._state = {s: _SymbolState(strategy, self.lookback, "latent" in self.heads) for s in self.symbols}
        self._column = {s: j for j, s in enumerate(self.symbols)}

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, rules: DecisionRules | None = None) -> UniverseEngine:
        """Rebuild a universe bundle's model, scaler(s), symbols and feature list, and check they fit together.

        Parameters
        ----------
        bundle
            A loaded bundle of a universe run (its ``features.json`` names the ``symbols``).
        rules
            Decision rules to use instead of the bundle's (the spec's ``decisions`` with the expected move,
            horizon and bars per year its run fitted on the last fold and saved in ``decisions.json``).

        Raises
        ------
        ModelError
            If the bundle is not a universe's, or its weights do not fit the model the spec describes.
        FeatureError
            If the features the spec computes are not the bundle's ``resolved_features``, in the same order.
        """
        docs = bundle.documents
        for name in ("spec", "features", "scaler"):
            if name not in docs:
                raise ModelError(f"bundle {bundle.ref.name} has no {name}.json; it cannot be run by the engine")
        symbols = docs["features"].get("symbols")
        if not symbols:
            raise ModelError(
                f"bundle {bundle.ref.name} is a single symbol's (its features.json names no symbols); run it with "
                "DecisionEngine.from_bundle, or `neurotrade backtest` which picks the engine"
            )
        strategy = bundle_strategy(bundle)
        features = list(docs["features"]["resolved_features"])
        model = build_network(strategy, n_inputs=len(features))
        try:
            model.load_state_dict(dict(bundle.weights))
        except RuntimeError as e:
            raise ModelError(
                f"bundle {bundle.ref.name}: the weights do not fit a {strategy.model.type} model over "
                f"{len(features)} features ({e}); the bundle was written by another version: retrain it"
            ) from e
        if docs.get("scalers"):
            scalers = {s: Standardizer.from_dict(docs["scalers"][s]) for s in symbols if s in docs["scalers"]}
        elif strategy.nn_inputs.scaling == "per_symbol":
            raise ModelError(
                f"bundle {bundle.ref.name} was trained with nn_inputs.scaling: per_symbol but holds no per-symbol "
                "scalers (scalers.json); it was written by another version: retrain it"
            )
        else:
            pooled = Standardizer.from_dict(docs["scaler"])
            scalers = dict.fromkeys(symbols, pooled)
        return cls(strategy, model, scalers, features, list(symbols), rules or _bundle_rules(strategy, docs))

    def start_account(self) -> None:
        """Start trading here, every symbol flat with fresh rules (no spacing or daily count carried in), as each
        fold of the run started its window. Feature streams keep their history."""
        for state in self._state.values():
            state.rules = RuleState()

    @property
    def streams(self) -> dict[str, FeatureStream]:
        """Each symbol's own feature stream (its per-symbol features, before the cross-section)."""
        return {s: state.stream for s, state in self._state.items()}

    @property
    def positions(self) -> dict[str, int]:
        """Each symbol's position the next decision starts from (the rules' last target)."""
        return {s: state.rules.position for s, state in self._state.items()}

    def step(self, time: pd.Timestamp, bars: Mapping[str, Mapping[str, Any]]) -> dict[str, UniverseDecision]:
        """Add the bars of one time and decide for every symbol that has one.

        Parameters
        ----------
        time
            The bars' (open) time, tz-aware UTC.
        bars
            Symbol -> its bar at ``time`` (``open, high, low, close, volume``); a symbol without a bar at this time
            (not listed yet, halted, delisted) is left out, never filled.

        Returns
        -------
        dict
            Symbol -> :class:`UniverseDecision`, for the symbols of ``bars``, in the universe's order.

        Raises
        ------
        FeatureError
            If a symbol is not in the bundle's universe, a bar comes out of order, or a feature is NaN after its
            warm-up (a gap or bad value in that symbol's bars).
        """
        stamp = pd.Timestamp(time)
        unknown = [s for s in bars if s not in self._column]
        if unknown:
            raise FeatureError(_unknown_symbols(unknown, self.symbols))
        present = [s for s in self.symbols if s in bars]
        own: dict[str, np.ndarray] = {}
        realised: dict[str, float] = {}
        for s in present:
            state, bar = self._state[s], bars[s]
            row = state.stream.update(stamp, bar)
            realised[s] = state.volatility.update(float(bar["close"]))
            if np.isnan(row).any():
                if state.warm:
                    names = state.stream.names
                    missing = [n for n, v in zip(names, row, strict=True) if math.isnan(v)]
                    raise FeatureError(
                        f"{s}: features {missing} are NaN at {stamp} after their warm-up; its bars have a gap or a "
                        "value the indicator cannot use. neurotrade does not fill features: fix the data"
                    )
            else:
                state.warm = True
            own[s] = row
        warm = [s for s in present if self._state[s].warm]
        full = self._rows(own, warm)
        ready = []
        for s in warm:
            state = self._state[s]
            state.rows.append(self.scalers[s].transform(full[s]))
            if len(state.rows) == self.lookback:
                ready.append(s)
        outputs = self._outputs(ready)
        chosen = self._select(outputs) if self.top_k is not None else None
        decisions: dict[str, UniverseDecision] = {}
        for s in present:
            state = self._state[s]
            if s not in outputs:
                decisions[s] = UniverseDecision(stamp, full[s], None, None, state.rules.position, symbol=s)
                continue
            proba, heads = outputs[s]
            extra = {}
            if "ret" in heads:
                extra["pred_return"] = float(heads["ret"])
            if "vol" in heads:
                extra["pred_vol"] = float(heads["vol"])
            if state.change is not None:
                extra["regime_change"] = state.change.update(np.asarray(heads["latent"], dtype=np.float64))
            view = BarView(
                proba,
                time=stamp,
                pred_return=extra.get("pred_return", math.nan),
                pred_vol=extra.get("pred_vol", math.nan),
                realised_vol=realised[s],
            )
            decided = self.rules.decide(view, state.rules)
            state.rules = decided.state
            decisions[s] = UniverseDecision(
                stamp,
                full[s],
                proba,
                CLASS_NAMES[decided.signal],
                decided.target,
                decided.size,
                decided.reason,
                None,
                extra,
                symbol=s,
                portfolio_target=decided.target if chosen is None else chosen[s],
            )
        return decisions

    def _rows(self, own: dict[str, np.ndarray], warm: list[str]) -> dict[str, np.ndarray]:
        """Each present symbol's whole feature row: its own, the cross-section over the warm symbols, one-hot."""
        extra = np.full((len(own), len(self._cross)), np.nan)
        if self._cross and warm:
            panel = np.full((1, len(self.symbols)), np.nan)  # (1, S): the batch's panel row at this bar
            at = [self._column[s] for s in warm]
            for k, (source, function) in enumerate(self._cross):
                panel[:] = np.nan
                panel[0, at] = [own[s][source] for s in warm]
                values = function(panel)[0]
                for i, s in enumerate(own):
                    if s in warm:
                        extra[i, k] = values[self._column[s]]
        out = {}
        for i, (s, row) in enumerate(own.items()):
            parts = [row, extra[i]]
            if self._onehot:
                onehot = np.zeros(len(self.symbols))
                onehot[self._column[s]] = 1.0
                parts.append(onehot)
            out[s] = np.concatenate(parts)
        return out

    def _outputs(self, ready: list[str]) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """The class probabilities and other heads of every ready symbol, the model run once on all of them."""
        if not ready:
            return {}
        rows = [self._state[s].rows for s in ready]
        # (N, L, F) for a window model, else (N, F): each ready symbol's own recent rows.
        x = np.stack([np.stack(r) for r in rows]) if self.windows else np.stack([r[-1] for r in rows])
        with torch.no_grad():
            inputs = torch.as_tensor(x, dtype=torch.float64)
            out = self.inference_model.outputs(inputs) if self.heads else {"logits": self.inference_model(inputs)}
        proba = torch.softmax(out["logits"], dim=-1).numpy()  # (N, C)
        heads = {name: out[name].numpy() for name in self.heads}
        return {s: (proba[i], {name: v[i] for name, v in heads.items()}) for i, s in enumerate(ready)}

    def _select(self, outputs: dict[str, Any]) -> dict[str, int]:
        """``portfolio.selection: top_k``: the portfolio targets of this bar from its scores, P(BUY) - P(SELL)."""
        from neurotrade.backtest import top_k_targets

        assert self.top_k is not None
        scores = np.full((len(self.symbols), 1), np.nan)  # (S, 1): the batch's scores at this bar
        for s, (proba, _) in outputs.items():
            scores[self._column[s], 0] = proba[BUY] - proba[SELL]
        chosen = top_k_targets(scores, self.top_k, allow_short=self.strategy.decisions.allow_short)[:, 0]
        return {s: int(chosen[j]) for j, s in enumerate(self.symbols)}


def _bundle_rules(strategy: Strategy, docs: Mapping[str, Any]) -> DecisionRules:
    """The rules a bundle's run fitted (``decisions.json``), as :meth:`DecisionEngine.from_bundle` reads them."""
    fitted = docs.get("decisions")
    if isinstance(fitted, dict) and "expected_move_pct" in fitted:
        return DecisionRules.from_spec(
            strategy,
            expected_move_pct=float(fitted["expected_move_pct"]),
            periods_per_year=float(fitted["periods_per_year"]),
            horizon=fitted["horizon"],
            expected_loss_pct=fitted.get("expected_loss_pct"),
        )
    return DecisionRules(strategy.decisions.confidence_threshold, strategy.decisions.allow_short)


def _unknown_symbols(unknown: list[str], symbols: list[str]) -> str:
    hints = []
    for s in unknown:
        close = difflib.get_close_matches(str(s), symbols, n=1)
        hints.append(f"{s!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"bars of {', '.join(hints)}, not in the bundle's universe {symbols}: the model was trained on those "
        "symbols only (their cross-section, one-hot columns and scalers); trade them, or train a universe that "
        "lists the others"
    )
