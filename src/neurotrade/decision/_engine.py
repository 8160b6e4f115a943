"""The live decision engine: a saved bundle turned into one decision per new bar, exactly as the batch run decided.

bar ─▶ FeatureStream (indicators, memberships, context, lags, coarser timeframes once closed)
    ─▶ check against the bundle's resolved_features ─▶ scaler.json ─▶ the model's float64 copy (last ``lookback``
       rows for a window model) ─▶ softmax and every head (return, volatility, regime latent -> change score)
    ─▶ DecisionRules (threshold, meta side, spacing, edge, trades per day, size) ─▶ exits (stops) ─▶ Decision

The model runs in float64 on the CPU, one row (or window) per bar, exactly as the batch run's ``predict_proba``
runs it on a whole window: float32 would round differently by batch shape and CPU (see ``training._inference``).
A bar costs only what it changes: the stream advances small states in place, the scaler writes into the model's
preallocated input, and the model runs on that one row (``_forward.py``); no DataFrame or Series is built.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade import indicators
from neurotrade.config import Strategy
from neurotrade.decision._forward import OneRowForward
from neurotrade.decision._rules import BarView, DecisionRules, RuleState
from neurotrade.decision._stream import FeatureStream
from neurotrade.decision._volatility import RealisedVolatility
from neurotrade.errors import FeatureError, ModelError
from neurotrade.features import Standardizer
from neurotrade.labels import CLASS_NAMES
from neurotrade.models import RegimeChangeScore, build_network
from neurotrade.store import Bundle, bundle_strategy
from neurotrade.training import inference_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What the engine decided at one bar.

    Attributes
    ----------
    time
        The bar's time (its open time, as every bar is labelled).
    features
        The feature row, in ``resolved_features`` order (NaN while warming up).
    proba
        Class probabilities ``(SELL, HOLD, BUY)``, or ``None`` while warming up.
    signal
        ``"SELL"``, ``"HOLD"`` or ``"BUY"`` after the filters, or ``None`` while warming up.
    target
        The target position after this bar (1 long, 0 flat, -1 short): to be filled at the next bar's open.
    size
        The share of equity an entry on this decision takes (``decisions.sizing``; 0 when vetoed or flat).
    reason
        Why that size, or why the change was vetoed.
    side
        The primary signal's side (meta-labelling), else None.
    outputs
        The model's other heads at this bar: ``pred_return``, ``pred_vol``, ``regime_change`` (when it has them).
    held
        With exits in the spec, shorts or leverage: the side the backtest would hold at the end of this bar after
        its fill, its stops and a margin call (which close a position the target still wants); else None.
    exit_reason
        What closed a position inside this bar (``stop_loss``, ``take_profit``, ``trailing_stop``, ``atr_stop``,
        ``margin_call``), if anything.
    """

    time: pd.Timestamp
    features: np.ndarray
    proba: np.ndarray | None
    signal: str | None
    target: int
    size: float = 0.0
    reason: str = ""
    side: int | None = None
    outputs: dict[str, float] = field(default_factory=dict)
    held: int | None = None
    exit_reason: str | None = None

    @property
    def ready(self) -> bool:
        """Whether the engine had every feature (and a full window) to decide at this bar."""
        return self.proba is not None


class DecisionEngine:
    """Streaming features -> scaler -> model -> filtered signal, one bar at a time, equal to the batch path.

    Build it with :meth:`from_bundle`, then call :meth:`update` with each new bar, from the first bar of a history
    long enough to warm every indicator up (as the batch run started from the first bar of its data).

    Parameters
    ----------
    strategy
        The resolved spec the model was trained with.
    model
        The trained network (put in eval mode here). The engine runs a float64 copy of it made here: changing
        ``model``'s weights later does not change the engine's decisions; build a new engine instead.
    scaler
        The fitted scaler of the model's training rows.
    resolved_features
        The ordered feature names the model was trained on; the engine's own must equal them.
    rules
        The decision rules (default: the spec's ``decisions`` section, with what its bundle fitted).
    primary
        Meta-labelling: the primary signal's stream (:class:`neurotrade._primary.PrimaryStream`), else None.

    Attributes
    ----------
    inference_model
        The float64 CPU copy of ``model`` that :meth:`update` runs (:func:`neurotrade.training.inference_copy`):
        a plain MLP as its layers' own torch ops on a preallocated row (the module's result bit for bit, without
        the cost of ``nn.Module.__call__``, so hooks on it are not called), any other model as a module.
    position
        The position the next decision starts from: the previous target, or what the caller sets (a live broker's
        actual position).

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade import run, load_bundle
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> home = tempfile.mkdtemp()
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\ntraining: {epochs: 2}\\n")
    >>> _ = run(spec, home=home)
    >>> engine = DecisionEngine.from_bundle(load_bundle("doc", home=home))
    >>> decisions = [engine.update(bar) for _, bar in synthetic_ohlcv(20, seed=2).iterrows()]
    >>> decisions[13].ready, decisions[14].ready, decisions[14].proba.shape
    (False, True, (3,))
    """

    def __init__(
        self,
        strategy: Strategy,
        model: torch.nn.Module,
        scaler: Standardizer,
        resolved_features: list[str],
        rules: DecisionRules | None = None,
        primary: Any = None,
        *,
        _inference: torch.nn.Module | None = None,
    ) -> None:
        self.strategy = strategy
        self.stream = FeatureStream(strategy)
        if self.stream.names != list(resolved_features):
            raise FeatureError(_mismatch(self.stream.names, list(resolved_features)))
        if not hasattr(scaler, "mean_") or len(scaler.mean_) != len(resolved_features):
            raise FeatureError(
                f"the scaler holds statistics of {len(getattr(scaler, 'mean_', []))} features, the model reads "
                f"{len(resolved_features)}; the bundle's scaler.json and features.json disagree: retrain the model"
            )
        self.resolved_features = list(resolved_features)
        self.model = model.eval()
        self.inference_model = _inference if _inference is not None else inference_copy(model)
        self.scaler = scaler
        self.windows = getattr(model, "input_kind", "rows") != "rows"
        self.lookback = int(getattr(model, "lookback", 1))
        self.heads = tuple(getattr(model, "heads", ()))
        self._forward = OneRowForward(
            self.inference_model, len(self.resolved_features), self.lookback, self.windows, self.heads
        )
        # A fitted Standardizer scales in place into the model's input: the same two float64 operations as its
        # transform(), without the array it allocates and the checks done once here.
        self._scale = (scaler.mean_, scaler.scale_) if type(scaler) is Standardizer else None
        d = strategy.decisions
        self.rules = rules or DecisionRules(d.confidence_threshold, d.allow_short)
        self.primary = primary
        self._change = RegimeChangeScore(strategy.model.change_window) if "latent" in self.heads else None
        self._volatility = RealisedVolatility(d.volatility_span)
        bt = strategy.backtest
        # Stops, and the margin call a short or a levered long can meet: the backtest closes such positions inside
        # the bar, and the engine says so.
        self._tracks_exits = bt.exits or d.allow_short or d.max_leverage > 1
        self._atr = indicators.stream("atr", period=bt.atr_stop.period) if bt.atr_stop is not None else None
        self.start_account()
        self._rows = 0  # scaled rows in the model's input (a window fills up over its first lookback bars)
        self._warm = False

    def start_account(self) -> None:
        """Start trading here, flat, with the backtest's initial cash and fresh rules (no spacing or daily count
        carried in), as a backtest's window does. Indicator and feature streams keep their history.

        The engine starts an account when it is built, so by default ``Decision.held`` and the filters count from
        the first bar fed; call this at the bar a backtest (or a paper account) starts trading, after warming the
        streams up on the history before it.
        """
        self.state = RuleState()
        self._exits = None
        if self._tracks_exits:
            from neurotrade.backtest import CostModel, ExitTracker

            bt = self.strategy.backtest
            self._exits = ExitTracker(
                bt.fill,
                stop_loss_pct=bt.stop_loss_pct,
                take_profit_pct=bt.take_profit_pct,
                trailing_stop_pct=bt.trailing_stop_pct,
                atr_stop_multiple=bt.atr_stop.multiple if bt.atr_stop is not None else None,
                costs=CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct),
                initial_cash=bt.initial_cash,
            )

    @property
    def position(self) -> int:
        """The position the next decision starts from: the previous target, or what the caller set."""
        return self.state.position

    @position.setter
    def position(self, value: int) -> None:
        self.state = self.state.holding(int(value))

    def fresh(self) -> DecisionEngine:
        """A new engine of the same bundle, as if just built: its own feature streams, rule state and input
        buffers, sharing this one's float64 model copy, which no decision changes (it runs in eval mode without
        gradients), so many engines may use it at once, from several threads. A meta-labelling engine is refused:
        its primary stream is built from the bundle (use :meth:`from_bundle`).

        Examples
        --------
        >>> import tempfile
        >>> from neurotrade import run, load_bundle
        >>> from neurotrade.config import parse_strategy
        >>> from neurotrade.data import synthetic_ohlcv
        >>> home = tempfile.mkdtemp()
        >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
        ...                       "nn_inputs: {indicators: [rsi_14]}\\ntraining: {epochs: 2}\\n")
        >>> _ = run(spec, home=home)
        >>> template = DecisionEngine.from_bundle(load_bundle("doc", home=home))
        >>> a, b = template.fresh(), template.fresh()
        >>> bars = [bar for _, bar in synthetic_ohlcv(20, seed=2).iterrows()]
        >>> [a.update(bar).signal for bar in bars] == [b.update(bar).signal for bar in bars]
        True
        >>> a.inference_model is template.inference_model
        True
        """
        if self.primary is not None:
            raise ValueError("a meta-labelling engine's primary stream is built from its bundle: use from_bundle")
        return type(self)(
            self.strategy, self.model, self.scaler, self.resolved_features, self.rules, _inference=self.inference_model
        )

    @classmethod
    def from_bundle(cls, bundle: Bundle, *, rules: DecisionRules | None = None, **filters: Any) -> DecisionEngine:
        """Rebuild the model, scaler and feature list a bundle holds, and check they fit together.

        Parameters
        ----------
        bundle
            A loaded bundle (:func:`neurotrade.load_bundle`).
        rules
            Decision rules to use instead of the bundle's (the spec's ``decisions`` with the expected move,
            horizon and bars per year its run fitted and saved in ``decisions.json``).
        **filters
            Filters on top of those rules: ``min_bars_between_signals``, ``max_trades_per_day``, ``min_edge_pct``,
            and for the latter ``expected_move_pct`` (default: the bundle's fitted one; for a bundle without it,
            a zigzag label's ``threshold_pct``); the round-trip cost comes
            from the spec's ``backtest`` section (twice commission plus slippage).

        Raises
        ------
        ModelError
            If the weights do not fit the model the spec describes.
        FeatureError
            If the features the spec computes are not the bundle's ``resolved_features``, in the same order.
        """
        docs = bundle.documents
        for name in ("spec", "features", "scaler"):
            if name not in docs:
                raise ModelError(f"bundle {bundle.ref.name} has no {name}.json; it cannot be run by the engine")
        strategy = bundle_strategy(bundle)  # a spec that no longer validates is a located StoreError
        features = list(docs["features"]["resolved_features"])
        model = build_network(strategy, n_inputs=len(features))
        try:
            model.load_state_dict(dict(bundle.weights))
        except RuntimeError as e:
            raise ModelError(
                f"bundle {bundle.ref.name}: the weights do not fit a {strategy.model.type} model over "
                f"{len(features)} features ({e}); the bundle was written by another version: retrain it"
            ) from e
        fitted = docs.get("decisions")
        if rules is not None:
            base = rules
        elif isinstance(fitted, dict) and "expected_move_pct" in fitted:
            base = DecisionRules.from_spec(
                strategy,
                expected_move_pct=float(fitted["expected_move_pct"]),
                periods_per_year=float(fitted["periods_per_year"]),
                horizon=fitted["horizon"],
                expected_loss_pct=fitted.get("expected_loss_pct"),
            )
        else:  # a bundle saved before the rules were fitted per fold: the spec's plain rules
            base = DecisionRules(strategy.decisions.confidence_threshold, strategy.decisions.allow_short)
        if filters:
            if "min_edge_pct" in filters and not base.expected_move_pct:
                # A bundle that fitted no expected move (saved before issue 10): the zigzag's threshold stands in.
                labels = strategy.labels
                filters.setdefault("expected_move_pct", float(getattr(labels, "threshold_pct", 0.0)))
                bt = strategy.backtest
                filters.setdefault("round_trip_cost_pct", 2.0 * (bt.commission_pct + bt.slippage_pct))
            unknown = set(filters) - {"min_bars_between_signals", "min_edge_pct", "expected_move_pct"}
            unknown -= {"round_trip_cost_pct", "max_trades_per_day"}
            if unknown:
                raise ModelError(
                    f"unknown filter(s) {sorted(unknown)}; the engine knows min_bars_between_signals, "
                    "max_trades_per_day, min_edge_pct, expected_move_pct and round_trip_cost_pct"
                )
            base = replace(base, **filters)
        primary = None
        if getattr(strategy.labels, "meta", None) is not None:
            from neurotrade._primary import PrimaryStream

            primary = PrimaryStream(strategy, home=bundle.ref.path.parent.parent.parent)
        return cls(strategy, model, Standardizer.from_dict(docs["scaler"]), features, base, primary)

    def update(
        self, bar: Mapping[str, Any], *, time: pd.Timestamp | None = None, position: int | None = None
    ) -> Decision:
        """Add the next bar and decide: the returned target is to be filled at the next bar's open.

        Parameters
        ----------
        bar
            ``open, high, low, close, volume`` and the bar's (open) time: a ``time`` key, the ``time`` argument,
            or a pandas Series named by its time (a row of ``bars.iterrows()``).
        time
            The bar's time, when ``bar`` does not carry it.
        position
            The position actually held now, when the caller knows it better than the engine's last target: the
            rules start from it (and count it as a change for their spacing). The exit tracker keeps following what
            the backtest would hold; a live broker's own fills are the truth for the account.

        Raises
        ------
        FeatureError
            If a bar comes out of order, or a feature is NaN after the warm-up (a gap or bad value in the bars).
        """
        stamp = _time_of(bar, time)
        if position is not None:
            self.position = int(position)
        row = self.stream.update(stamp, bar)
        # Streams that every bar advances, warm or not, exactly as the batch run computed them over all bars.
        realised = self._volatility.update(float(bar["close"]))
        atr = self._atr.update(bar)["atr"] if self._atr is not None else math.nan
        side = self.primary.update(bar, time=stamp) if self.primary is not None else None
        # A NaN anywhere makes the sum NaN (the sum alone costs a third of isnan().any(), which then tells a NaN
        # from an inf - inf apart).
        if math.isnan(row.sum()) and np.isnan(row).any():
            if self._warm:
                missing = [n for n, v in zip(self.resolved_features, row, strict=True) if math.isnan(v)]
                raise FeatureError(
                    f"features {missing} are NaN at {stamp} after their warm-up; the input bars have a gap or a "
                    "value the indicator cannot use. neurotrade does not fill features: fix the data"
                )
            return self._held(Decision(stamp, row, None, None, self.position, side=side), bar, atr)
        self._warm = True
        self._push(row)
        if self._rows < self.lookback:
            return self._held(Decision(stamp, row, None, None, self.position, side=side), bar, atr)
        proba, heads = self._forward()
        outputs = {}
        if "ret" in heads:
            outputs["pred_return"] = float(heads["ret"])
        if "vol" in heads:
            outputs["pred_vol"] = float(heads["vol"])
        if self._change is not None:
            outputs["regime_change"] = self._change.update(np.asarray(heads["latent"], dtype=np.float64))
        view = BarView(
            proba,
            time=stamp,
            side=side,
            pred_return=outputs.get("pred_return", math.nan),
            pred_vol=outputs.get("pred_vol", math.nan),
            realised_vol=realised,
        )
        step = self.rules.decide(view, self.state)
        self.state = step.state
        decision = Decision(
            stamp, row, proba, CLASS_NAMES[step.signal], step.target, step.size, step.reason, side, outputs
        )
        return self._held(decision, bar, atr)

    def _held(self, decision: Decision, bar: Mapping[str, Any], atr: float) -> Decision:
        """With exits in the spec: what the backtest would hold after this bar, stops included."""
        if self._exits is None:
            return decision
        held, reason = self._exits.update(
            float(bar["open"]),
            float(bar["high"]),
            float(bar["low"]),
            float(bar["close"]),
            decision.target,
            atr=atr,
            size=decision.size if decision.ready else 1.0,
        )
        return replace(decision, held=held, exit_reason=reason)

    def _push(self, row: np.ndarray) -> None:
        """Scale the row into the model's input: the last row of a window, after moving the others one back."""
        x = self._forward.inputs  # (1, F) or (1, L, F)
        if self.windows:
            x[0, :-1] = x[0, 1:]  # NumPy copies through a buffer where the two overlap
            target = x[0, -1]
        else:
            target = x[0]
        if self._scale is not None:
            mean, scale = self._scale
            np.subtract(row, mean, out=target)
            np.divide(target, scale, out=target)
        else:
            target[:] = self.scaler.transform(row)
        self._rows = min(self._rows + 1, self.lookback)


def _time_of(bar: Mapping[str, Any], time: pd.Timestamp | None) -> pd.Timestamp:
    if time is None and "time" in bar:
        time = bar["time"]
    if time is not None:
        return time if isinstance(time, pd.Timestamp) else pd.Timestamp(time)
    name = getattr(bar, "name", None)
    if isinstance(name, pd.Timestamp):
        return name
    raise FeatureError("the bar has no time: pass a 'time' key, the time= argument, or a Series named by its time")


def _mismatch(engine: list[str], bundle: list[str]) -> str:
    missing = [n for n in bundle if n not in engine]
    extra = [n for n in engine if n not in bundle]
    if missing or extra:
        return (
            f"the strategy computes features that differ from the bundle's resolved_features: missing {missing}, "
            f"unexpected {extra}; the bundle's spec and features.json disagree: retrain the model"
        )
    first = next(i for i, (a, b) in enumerate(zip(engine, bundle, strict=True)) if a != b)
    return (
        f"the strategy computes the bundle's features in another order (position {first}: {engine[first]!r} where "
        f"the model expects {bundle[first]!r}); features are never reordered: retrain the model"
    )
