"""One walk-forward fold, start to finish: fit on its training rows, stop on its validation rows, trade its test
window; then the folds' results chained into one out-of-sample record.

Everything fitted here (scaler, tercile thresholds, class weights, fuzzy sets' starting points, the regime model's
target scales, the network, the baselines) sees the fold's training rows only; validation rows only stop training.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade import backtest, labels
from neurotrade._resume import split_record
from neurotrade._stages import fold_targets, regime_targets, scale_features
from neurotrade.config import Strategy
from neurotrade.decision import DecisionRules
from neurotrade.errors import ConfigError, SplitError
from neurotrade.features import Standardizer
from neurotrade.models import LogisticBaseline, LorentzianKNN, build_network, regime_change_score
from neurotrade.splits import Split
from neurotrade.store import BundleRef
from neurotrade.training import (
    EpochReport,
    TrainResult,
    classification_metrics,
    collapse_warnings,
    predict_outputs,
    predict_proba,
    seed_everything,
    train_classifier,
)

log = logging.getLogger(__name__)

CLASSES = labels.CLASS_NAMES
BASELINES = ("logistic", "lorentzian_knn")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for a progress display: a stage starting, or an epoch finished (``epoch`` set).

    ``done`` and ``total`` count training epochs over the whole run (seeds x folds x networks x epochs), so one
    bar with an ETA can cover all of it; a fit that stops early counts as its full epochs when it ends.
    """

    stage: str
    message: str
    epoch: EpochReport | None = None
    done: int | None = None
    total: int | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class Trading:
    """A set of probabilities over a fold's trading window, turned into signals and a backtest.

    ``trace`` holds the other per-bar columns of the decision trace: the entry size and why, and whichever model
    outputs and inputs the rules read (primary side, predicted return and volatility, regime-change score).
    """

    proba: np.ndarray
    signals: np.ndarray
    targets: np.ndarray
    result: backtest.BacktestResult
    classification: dict[str, Any]
    trace: dict[str, np.ndarray] = field(default_factory=dict)
    # A CPCV split's test groups, each traded on its own: (start, stop) -> its Trading, for assembling paths.
    parts: dict[tuple[int, int], Trading] = field(default_factory=dict)


@dataclass
class Fold:
    """What one fold produced: its model and scaler, its out-of-sample decisions and backtests."""

    index: int
    split: Split
    model: torch.nn.Module
    scaler: Standardizer
    quantiles: labels.QuantileClasses | None
    y: np.ndarray
    training: TrainResult
    classification: dict[str, Any]
    window: pd.DatetimeIndex
    network: Trading
    benchmark: Trading
    baselines: dict[str, Trading] = field(default_factory=dict)
    primary: Trading | None = None
    warnings: list[str] = field(default_factory=list)
    readout: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    decisions: dict[str, float] = field(default_factory=dict)


def train_fold(
    index: int,
    split: Split,
    bars: pd.DataFrame,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    spec: Strategy,
    *,
    seed: int,
    say: ProgressCallback,
    checkpoints: Path | None = None,
    resume: bool = False,
    identity: dict[str, Any] | None = None,
    context: pd.DataFrame | None = None,
    per_year: float = 252.0,
) -> Fold:
    """Fit one fold and trade its test window (see the module docstring for what is fitted where).

    ``identity`` (the data's fingerprint, the features) is written into each checkpoint with this fold's sample
    positions, so a resume can only continue weights trained on exactly these rows. ``context`` holds what the
    decision rules and the backtest read per bar besides the model (:func:`neurotrade._stages.decision_context`);
    ``per_year`` annualises a volatility target.
    """
    times = frame.index
    y, quantiles = fold_targets(table, split)
    x, scaler = scale_features(frame, split.train)
    lookback = network_lookback(spec, x.shape[1], seed)
    first = lookback - 1
    if split.segments is not None:
        _check_cpcv_reach(split, first, spec)
    train, val, test = fold_rows(split, lookback)
    end = len(times) if split.trading_end is None else split.trading_end + 1
    scored = scored_rows(split, first, len(times))
    weights = fold_class_weights(y[train], table) if spec.training.class_weights == "balanced" else None
    outcomes = regime_targets(bars, times, table["t1"])

    model, training = fit_network(
        index,
        spec,
        x,
        y,
        train,
        val,
        seed=seed,
        say=say,
        extras=outcomes,
        quantiles=quantiles,
        weights=weights,
        checkpoints=checkpoints,
        resume=resume,
        identity={**(identity or {}), "split": split_record(split)},
    )

    # Every row up to the last one this fold trains, stops or trades on (a CPCV split trains after its test groups).
    upto = max(end, *(int(rows.max()) + 1 for rows in (train, val, test) if len(rows)))
    outputs = _outputs(model, x, np.arange(first, upto), len(times), spec)
    outputs |= {"realised_return": outcomes["ret"], "realised_vol": outcomes["vol"]}
    proba = outputs["proba"]
    classification = {
        name: classification_metrics(y[rows].astype(np.int64), proba[rows], CLASSES)
        for name, rows in (("train", train), ("validation", val), ("test", test))
    }
    window = times[scored]
    if "side" in table:
        decided = _meta_win_loss_pct(outcomes["ret"], table["side"].to_numpy(), y, train)
    else:
        decided = _up_down_pct(outcomes["ret"], y, train)
    decided["horizon"] = _horizon(table, train)
    trader = FoldTrader(spec, bars, times, context, per_year, **decided)

    def trade(p: np.ndarray, heads: dict[str, np.ndarray] | None = None) -> Trading:
        trading = trader.trade(p, heads or {}, scored, split.segments)
        trading.classification = classification_metrics(y[test].astype(np.int64), p[test], CLASSES)
        return trading

    network = trade(proba, outputs)
    known, also = neighbours_known(table["t1"], split, val)
    baselines = {name: trade(p) for name, p in _baselines(x, y, times, known, train, also, first).items()}
    warnings = collapse_warnings(
        y[test].astype(np.int64), proba[test], x[test], class_names=CLASSES, feature_names=list(frame.columns)
    )
    for warning in warnings:
        log.warning("fold %d: %s", index + 1, warning)
    readout = _readout(model, x, val, test, scored, times, y, proba, list(frame.columns), seed)
    return Fold(
        index=index,
        split=split,
        model=model,
        scaler=scaler,
        quantiles=quantiles,
        y=y,
        training=training,
        classification=classification,
        window=window,
        network=network,
        benchmark=trader.benchmark(scored, split.segments),
        primary=trader.primary(scored, split.segments),
        baselines=baselines,
        warnings=warnings,
        readout=readout,
        outputs=outputs,
        decisions=decided,
    )


def network_lookback(spec: Strategy, n_inputs: int, seed: int) -> int:
    """How many rows one sample of the spec's network reads (1 for a row model, its window for a sequence one)."""
    seed_everything(seed)
    return int(getattr(build_network(spec, n_inputs=n_inputs), "lookback", 1))


def fit_network(
    index: int,
    spec: Strategy,
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    *,
    seed: int,
    say: ProgressCallback,
    extras: dict[str, np.ndarray],
    quantiles: labels.QuantileClasses | None,
    weights: np.ndarray | None,
    checkpoints: Path | None,
    resume: bool,
    identity: dict[str, Any],
) -> tuple[torch.nn.Module, TrainResult]:
    """Build the spec's network (seeded) and train it on rows ``train`` of ``x``, stopping on rows ``val``; an
    ensemble trains each member alone first, then its combiner over the frozen members. Returned on the CPU."""
    seed_everything(seed)
    model = build_network(spec, n_inputs=x.shape[1])
    wanted = extras if _needs_extras(model) else None

    def fit(net: torch.nn.Module, name: str) -> TrainResult:
        _prepare(net, x, train, wanted, quantiles)
        path = None if checkpoints is None else checkpoints / f"fold{index + 1}_{name}.pt"
        return train_classifier(
            net,
            x,
            y[train].astype(np.int64),
            x,
            y[val].astype(np.int64),
            spec.training,
            seed=seed,
            class_weights=weights,
            train_positions=train,
            val_positions=val,
            extras_train=_select(wanted, train, net),
            extras_val=_select(wanted, val, net),
            checkpoint=path,
            resume_from=path if resume and path is not None and path.is_file() else None,
            identity=identity,
            progress=lambda report: say(
                ProgressEvent("train", f"fold {index + 1} {name}: epoch {report.epoch}", report)
            ),
        )

    members = getattr(model, "members", None)
    if members is not None:
        for i, member in enumerate(members):
            fit(member, f"member{i + 1}")
        model.freeze_members()
    training = fit(model, "model")
    model.cpu()
    return model, training


def _check_cpcv_reach(split: Split, first: int, spec: Strategy) -> None:
    """Under CPCV a training sample can follow a test group; the rows a sample's input reads (a window model's
    lookback, the lags of nn_inputs.lookback_periods) must not reach back into the group, so the embargo has to
    cover them. And every test group must hold a row the model can score."""
    reach = first + spec.nn_inputs.lookback_periods
    if spec.split.embargo < reach:
        raise ConfigError(
            f"split.embargo is {spec.split.embargo} bars, but each sample's input reads {reach} earlier rows "
            f"(model lookback {first + 1}, nn_inputs.lookback_periods {spec.nn_inputs.lookback_periods}): under "
            "CPCV a training sample just after a test group would read the group's rows; set split.embargo to at "
            f"least {reach}"
        )
    times = split.times
    for start, stop in split.segments or ():
        if stop <= first:
            raise SplitError(
                f"the CPCV test group {times[start].date()} to {times[stop - 1].date()} has {stop - start} rows, all "
                f"before the model's first full window ({first + 1} rows of lookback); use fewer groups or a "
                "shorter lookback"
            )


def fold_class_weights(y_train: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """Balanced class weights of a fold's training targets; a meta label is act (BUY) or pass (HOLD), never SELL."""
    return labels.class_weights(y_train, len(CLASSES), absent=(labels.SELL,) if "side" in table else ())


def scored_rows(split: Split, first: int, n: int) -> np.ndarray:
    """The rows a fold trades: its trading window, or each test group of a CPCV split (never a row before the
    model's first full window).

    Examples
    --------
    >>> times = pd.date_range("2020-01-01", periods=8, freq="D", tz="UTC")
    >>> split = Split(np.array([0]), np.array([1]), np.array([2, 6]), {}, 2, {}, {}, times, 6, ((2, 4), (5, 7)))
    >>> scored_rows(split, 0, 8).tolist()
    [2, 3, 5, 6]
    """
    if split.segments is not None:
        return np.concatenate([np.arange(max(start, first), stop) for start, stop in split.segments])
    end = n if split.trading_end is None else split.trading_end + 1
    return np.arange(max(split.trading_start, first), end)


class FoldTrader:
    """Turns per-bar model outputs into decisions and a backtest over rows of the feature frame, exactly as the
    live engine would: the rules read only the bar's outputs and context, the backtest fills at the next open.

    A CPCV split's test groups are traded one by one (flat at each group's start) and chained; a path through
    several splits' groups is traded as one stretch (:mod:`neurotrade._paths`).
    """

    def __init__(
        self,
        spec: Strategy,
        bars: pd.DataFrame,
        times: pd.DatetimeIndex,
        context: pd.DataFrame | None,
        per_year: float,
        *,
        expected_move_pct: float,
        horizon: float,
        expected_loss_pct: float | None = None,
    ) -> None:
        self.spec, self.bars, self.times = spec, bars, times
        self.context = context.loc[times] if context is not None else pd.DataFrame(index=times)
        bt = spec.backtest
        self.costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
        self.rules = DecisionRules.from_spec(
            spec,
            expected_move_pct=expected_move_pct,
            periods_per_year=per_year,
            horizon=horizon,
            expected_loss_pct=expected_loss_pct,
        )

    def trade(
        self,
        proba: np.ndarray,
        heads: dict[str, np.ndarray],
        rows: np.ndarray,
        segments: tuple[tuple[int, int], ...] | None = None,
    ) -> Trading:
        """Decide and backtest ``rows`` (positions in the frame); ``proba`` and ``heads`` are full-length."""
        return _per_part(rows, segments, lambda part: self._trade_stretch(proba, heads, part))

    def _trade_stretch(self, proba: np.ndarray, heads: dict[str, np.ndarray], rows: np.ndarray) -> Trading:
        times = self.times[rows]
        nan = np.full(len(rows), np.nan)
        side = self.side(rows)
        realised = self.context["realised_vol"].to_numpy()[rows] if "realised_vol" in self.context else nan
        pred_return = heads["ret"][rows] if "ret" in heads else nan
        pred_vol = heads["vol"][rows] if "vol" in heads else nan
        signals, targets, sizes, reasons = self.rules.apply_all(
            proba[rows], times=times, side=side, pred_return=pred_return, pred_vol=pred_vol, realised_vol=realised
        )
        result = self.simulate(rows, targets, sizes)
        trace: dict[str, np.ndarray] = {"size": sizes, "size_reason": np.asarray(reasons, dtype=object)}
        if side is not None:
            trace["side"] = side
        for name in ("ret", "vol", "regime_change"):
            if name in heads:
                trace[_TRACE_NAMES[name]] = heads[name][rows]
        return Trading(proba[rows], signals, targets, result, {}, trace)

    def side(self, rows: np.ndarray) -> np.ndarray | None:
        """The primary side at ``rows`` (meta-labelling), else None."""
        return self.context["side"].to_numpy()[rows].astype(np.int64) if "side" in self.context else None

    def simulate(self, rows: np.ndarray, targets: np.ndarray, sizes: np.ndarray | None) -> backtest.BacktestResult:
        """The backtest of ``targets`` over ``rows`` with the spec's costs, sizes and exits."""
        bt = self.spec.backtest
        return backtest.simulate(
            self.bars.loc[self.times[rows]],
            targets,
            fill=bt.fill,
            costs=self.costs,
            initial_cash=bt.initial_cash,
            fraction=bt.fraction,
            size=sizes,
            stop_loss_pct=bt.stop_loss_pct,
            take_profit_pct=bt.take_profit_pct,
            trailing_stop_pct=bt.trailing_stop_pct,
            atr=self.context["atr"].to_numpy()[rows] if bt.atr_stop is not None else None,
            atr_stop_multiple=bt.atr_stop.multiple if bt.atr_stop is not None else None,
        )

    def benchmark(self, rows: np.ndarray, segments: tuple[tuple[int, int], ...] | None = None) -> Trading:
        """Buy-and-hold over the same rows (each test group on its own for a CPCV split), with the same costs."""
        bt = self.spec.backtest

        def hold(part: np.ndarray) -> Trading:
            bars = self.bars.loc[self.times[part]]
            result = backtest.buy_and_hold(bars, costs=self.costs, initial_cash=bt.initial_cash, fill=bt.fill)
            ones = np.ones(len(part), dtype=np.int64)
            return Trading(np.full((len(part), len(CLASSES)), np.nan), ones * labels.BUY, ones, result, {})

        return _per_part(rows, segments, hold)

    def primary(self, rows: np.ndarray, segments: tuple[tuple[int, int], ...] | None = None) -> Trading | None:
        """The primary signal of meta-labelling traded alone (its side, fixed size, the same costs and exits)."""
        if "side" not in self.context:
            return None

        def alone(part: np.ndarray) -> Trading:
            side = self.side(part)
            assert side is not None
            signals = np.select([side > 0, side < 0], [labels.BUY, labels.SELL], labels.HOLD)
            result = self.simulate(part, side, self._primary_sizes(part, side))
            return Trading(np.full((len(part), len(CLASSES)), np.nan), signals, side, result, {})

        return _per_part(rows, segments, alone)

    def _primary_sizes(self, rows: np.ndarray, side: np.ndarray) -> np.ndarray | None:
        """The primary alone is sized as primary + meta is wherever that needs no model: a volatility target over
        the realised volatility; otherwise (fixed, or confidence and Kelly, which need the meta model's
        probabilities) at the fixed fraction, which the run's warnings then name."""
        if self.spec.decisions.sizing != "volatility_target":
            return None
        realised = self.context["realised_vol"].to_numpy()[rows]
        sizer = self.rules.sizer
        return np.array(
            [
                sizer.size(int(d) or 1, 1.0, 0.0, base=0.5, realised_vol=v)[0]
                for d, v in zip(side, realised, strict=True)
            ]
        )


def _per_part(
    rows: np.ndarray, segments: tuple[tuple[int, int], ...] | None, trade: Callable[[np.ndarray], Trading]
) -> Trading:
    """``trade`` over ``rows``, or over each CPCV test group on its own, chained (flat at each group's start)."""
    if segments is None:
        return trade(rows)
    traded = {(a, b): trade(part) for a, b in segments if len(part := rows[(rows >= a) & (rows < b)])}
    return chain_trading(list(traded.values()), parts=traded)


def chain_trading(traded: list[Trading], *, parts: dict[tuple[int, int], Trading] | None = None) -> Trading:
    """Several stretches' decisions and backtests as one record, the backtests chained (each starts flat)."""
    if len(traded) == 1 and not parts:
        return traded[0]
    return Trading(
        proba=np.concatenate([t.proba for t in traded]),
        signals=np.concatenate([t.signals for t in traded]),
        targets=np.concatenate([t.targets for t in traded]),
        result=backtest.chain([t.result for t in traded]),
        classification={},
        trace={k: np.concatenate([t.trace[k] for t in traded]) for k in traded[0].trace},
        parts=parts or {},
    )


_TRACE_NAMES = {"ret": "pred_return", "vol": "pred_vol", "regime_change": "regime_change"}


def _up_down_pct(returns: np.ndarray, y: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """The average up move of the training rows labelled BUY and down move of those labelled SELL, in percent of
    the log return to each label's end, for the expected-edge filter; fitted on the fold's training rows only.
    Kept apart because barriers need not be symmetric (a triple barrier's profit-take and stop-loss); a class with
    no training row takes the other's move (or 0 when neither has one)."""
    moves = returns[train]
    up_rows = (y[train] == labels.BUY) & np.isfinite(moves)
    down_rows = (y[train] == labels.SELL) & np.isfinite(moves)
    up = float(100.0 * max(moves[up_rows].mean(), 0.0)) if up_rows.any() else None
    down = float(100.0 * max(-moves[down_rows].mean(), 0.0)) if down_rows.any() else None
    up = up if up is not None else (down or 0.0)
    down = down if down is not None else up
    return {"expected_move_pct": up, "expected_loss_pct": down}


def _meta_win_loss_pct(returns: np.ndarray, side: np.ndarray, y: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """A meta model's bets: the average win of the training bets that reached their profit-take (act) and the
    average loss of those that did not (pass), in percent of the side's log return; fitted on training rows only.
    Averaging only the winners' moves, and treating a loss as the same size, would misstate the edge whenever the
    barriers are not symmetric."""
    bet = side[train] * returns[train]
    ok = np.isfinite(bet) & (side[train] != 0)
    won = ok & (y[train] == labels.BUY)
    lost = ok & (y[train] == labels.HOLD)
    win = float(100.0 * bet[won].mean()) if won.any() else 0.0
    loss = float(100.0 * max(-bet[lost].mean(), 0.0)) if lost.any() else win
    return {"expected_move_pct": max(win, 0.0), "expected_loss_pct": loss}


def _horizon(table: pd.DataFrame, train: np.ndarray) -> float:
    """The average number of bars from a training sample to its label's end (t1): the horizon of a predicted
    return, for Kelly sizing."""
    times = table.index
    ends = pd.DatetimeIndex(table["t1"].iloc[train])
    decided = ~ends.isna()
    if not decided.any():
        return 1.0
    start = train[decided]
    stop = times.get_indexer(ends[decided])
    inside = stop >= 0
    return float(max(np.mean(stop[inside] - start[inside]), 1.0)) if inside.any() else 1.0


def fold_rows(split: Split, lookback: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The samples a fold trains on, stops early on and tests: the split's own, less the first ``lookback - 1``
    rows, which a window model cannot see. The audit checks these very rows against the purge and embargo.

    Examples
    --------
    >>> times = pd.date_range("2020-01-01", periods=6, freq="D", tz="UTC")
    >>> split = Split(np.array([0, 1, 2]), np.array([3]), np.array([5]), {}, 5, {}, {}, times)
    >>> [rows.tolist() for rows in fold_rows(split, 2)]
    [[1, 2], [3], [5]]
    """
    first = lookback - 1
    train, val, test = (rows[rows >= first] for rows in (split.train, split.validation, split.test))
    return train, val, test


def _readout(
    model: torch.nn.Module,
    x: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    scored: np.ndarray,
    times: pd.DatetimeIndex,
    y: np.ndarray,
    proba: np.ndarray,
    feature_names: list[str],
    seed: int,
) -> dict[str, Any]:
    """What can be read off the fold's model, for the report.

    The diagnostics a researcher might tune on (permutation importance, calibration) come from the fold's
    validation rows, never its test window: looking at test-window importances and then changing the features is
    fitting to the test. Ensemble member weights, transformer attention and the regime latent describe how the
    model behaved while trading its test window, and the report labels them as such.
    """
    out: dict[str, Any] = {
        "importance": permutation_importance(model, x, val, y[val], feature_names, seed=seed),
        "validation": {"y": y[val].astype(np.int64), "proba": proba[val]},
    }
    if not len(test):
        return out
    with torch.no_grad():
        if hasattr(model, "member_weights"):
            out["member_weights"] = [float(w) for w in model.member_weights(_inputs(model, x, test)).mean(dim=0)]
        if hasattr(model, "attention_weights"):
            last = test[-min(64, len(test)) :]
            attention = model.attention_weights(_inputs(model, x, last)).mean(dim=1)  # (layers, heads, T, T)
            out["attention"] = attention.numpy().round(6).tolist()
        if hasattr(model, "latent"):
            latent = model.latent(_inputs(model, x, scored)).numpy()  # (S, Z)
            out["latent"] = {"times": [t.isoformat() for t in times[scored]], "values": latent.round(6).tolist()}
    return out


def permutation_importance(
    model: torch.nn.Module,
    x: np.ndarray,
    rows: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    *,
    seed: int,
) -> dict[str, float]:
    """How much the log loss on ``rows`` rises when one feature's values are shuffled among those rows.

    Shuffling breaks the feature's link to the labels while keeping its distribution; a window model sees the
    shuffled column in every row its windows read. The run computes it on each fold's validation rows.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> imp = permutation_importance(MLP(2, 3, [4]), np.random.default_rng(0).normal(size=(50, 2)),
    ...                              np.arange(50), np.zeros(50, int), ["a", "b"], seed=0)
    >>> sorted(imp)
    ['a', 'b']
    """
    if not len(rows):
        return {}
    rng = np.random.default_rng(seed)
    lookback = int(getattr(model, "lookback", 1))
    span = np.arange(max(int(rows.min()) - lookback + 1, 0), int(rows.max()) + 1)
    base = _log_loss(predict_proba(model, x, rows), y)
    out = {}
    for j, name in enumerate(feature_names):
        shuffled = x.copy()
        shuffled[span, j] = x[rng.permutation(span), j]
        out[name] = float(_log_loss(predict_proba(model, shuffled, rows), y) - base)
    return out


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y.astype(np.int64)], 1e-12, 1.0))))


def _inputs(model: torch.nn.Module, x: np.ndarray, rows: np.ndarray) -> torch.Tensor:
    """The model's inputs for these sample rows: the rows themselves, or the windows ending at them."""
    if getattr(model, "input_kind", "rows") == "rows":
        return torch.as_tensor(x[rows], dtype=torch.float32)  # (B, F)
    lookback = model.lookback
    gathered = x[rows[:, None] - lookback + 1 + np.arange(lookback)]  # (B, L, F)
    return torch.as_tensor(gathered, dtype=torch.float32)


def _needs_extras(model: torch.nn.Module) -> bool:
    nets = [model, *getattr(model, "members", [])]
    return any(hasattr(net, "fit_target_scale") for net in nets)


def _prepare(
    net: torch.nn.Module,
    x: np.ndarray,
    train: np.ndarray,
    extras: dict[str, np.ndarray] | None,
    quantiles: labels.QuantileClasses | None = None,
) -> None:
    """What a model fits from the training rows before training: fuzzy sets' starting points, target scales, the
    tercile edges a regression head turns into class probabilities."""
    if hasattr(net, "init_from"):
        net.init_from(x[train])
    if hasattr(net, "fit_target_scale") and extras is not None:
        net.fit_target_scale({name: values[train] for name, values in extras.items()})
    if hasattr(net, "set_class_edges") and quantiles is not None:
        lower, upper = (float(v) for v in quantiles.thresholds_)
        net.set_class_edges(lower, upper)


def _select(
    extras: dict[str, np.ndarray] | None, rows: np.ndarray, net: torch.nn.Module
) -> dict[str, np.ndarray] | None:
    if extras is None or not hasattr(net, "loss"):
        return None
    return {name: values[rows] for name, values in extras.items()}


def _outputs(model: torch.nn.Module, x: np.ndarray, rows: np.ndarray, n: int, spec: Strategy) -> dict[str, np.ndarray]:
    """Every output of the model on ``rows`` as full-length arrays (NaN elsewhere): ``proba`` and the heads it has
    (``ret``, ``vol``, ``latent``), and for a latent the regime-change score over these rows in time order."""
    found = predict_outputs(model, x, rows)
    out: dict[str, np.ndarray] = {}
    for name, values in found.items():
        full = np.full((n, *values.shape[1:]), np.nan)
        full[rows] = values
        out[name] = full
    if "latent" in found:
        score = np.full(n, np.nan)
        score[rows] = regime_change_score(found["latent"], spec.model.change_window)
        out["regime_change"] = score
    return out


def neighbours_known(t1: pd.Series, split: Split, val: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """When each sample may serve the kNN baseline as a neighbour, and which rows besides the training ones may.

    Walk-forward: training and validation rows, each once its label is known (t1 before the bar). Under CPCV the
    network trains on groups after the test groups too, so the baseline may use every training row from the
    start, and (as the network) no validation row: that one only stops training.
    """
    if split.segments is None:
        return t1, val
    return pd.Series(t1.index[0] - pd.Timedelta(1, "ns"), index=t1.index), val[:0]


def _baselines(
    x: np.ndarray,
    y: np.ndarray,
    times: pd.DatetimeIndex,
    t1: pd.Series,
    train: np.ndarray,
    val: np.ndarray,
    first: int,
    rows: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The baselines' probabilities on every row from ``first`` on (or on ``rows``: what a universe trades and
    scores), fitted like the network.

    Logistic regression learns from the training rows. The Lorentzian kNN may use any row of the training and
    validation windows as a neighbour, but only once that row's label is known (its t1 is before the bar being
    classified): nothing a live system would not have had. A CPCV split passes ``t1`` as known from the start, so
    the kNN uses every purged training row, later groups included, as the network does.
    """
    rows = np.arange(first, len(times)) if rows is None else rows
    logistic = LogisticBaseline().fit(x[train], y[train].astype(np.int64))
    known = np.union1d(train, val)
    knn = LorentzianKNN(k=8).fit(x[known], y[known].astype(np.int64), times[known], t1.iloc[known])
    out = {}
    for name, p in (
        ("logistic", logistic.predict_proba(x[rows])),
        ("lorentzian_knn", knn.predict_proba(x[rows], times[rows])),
    ):
        full = np.full((len(times), len(CLASSES)), np.nan)
        full[rows] = p
        out[name] = full
    return out


@dataclass
class Record:
    """One out-of-sample path over every traded bar once: the network's decisions and backtest beside buy-and-hold,
    the baselines and (meta-labelling) the primary signal alone, over the same bars, with the fold (or CPCV split)
    that decided each bar and each trade."""

    network: Trading
    benchmark: Trading
    baselines: dict[str, Trading]
    primary: Trading | None
    fold_of_bar: np.ndarray
    fold_of_trade: np.ndarray


def out_of_sample(folds: list[Fold], per_year: float) -> tuple[Record, dict[str, Any] | None]:
    """The run's out-of-sample record: the folds' test windows chained (walk-forward, chronological), or for
    CPCV the backtest path whose Sharpe ratio is the median of all paths (not the best), with the paths' summary.

    A CPCV path takes, for every group in time order, the decisions of one of the splits that tested it (de Prado,
    2018, 12.4): C(N-1, k-1) paths, each a complete out-of-sample history; each group starts flat.
    """
    if folds[0].split.segments is None:
        return _record(folds, [(f, None) for f in folds]), None
    paths = cpcv_paths(folds)
    records = [_record(folds, [(folds[i], segment) for segment, i in path]) for path in paths]
    rows = []
    for number, record in enumerate(records, start=1):
        perf = backtest.performance(record.network.result, periods_per_year=per_year)
        rows.append({"path": number, **{k: perf.get(k) for k in _PATH_METRICS}})
    sharpes = np.array([r["sharpe"] if r["sharpe"] is not None else np.nan for r in rows], dtype=np.float64)
    ruined = np.array([r["ruined"] is not None for r in rows])
    order = np.argsort(np.where(np.isfinite(sharpes) & ~ruined, sharpes, -np.inf), kind="stable")
    shown = int(order[(len(order) - 1) // 2])  # the lower median: never the flattering side of the middle
    finite = sharpes[np.isfinite(sharpes) & ~ruined]
    summary = {
        "groups": len(paths[0]),
        "test_groups": len(folds[0].split.segments),
        "splits": len(folds),
        "paths": rows,
        "shown_path": shown + 1,
        # mean, spread and extremes over the paths that have a Sharpe ratio; a ruined path (a margin call) has
        # none, is counted apart and ranks below every other; the median and positive share are over all paths.
        "sharpe": {
            "mean": float(finite.mean()) if len(finite) else None,
            "std": float(finite.std(ddof=1)) if len(finite) > 1 else None,
            "min": None if ruined.any() or not len(finite) else float(finite.min()),
            "median": rows[shown]["sharpe"],
            "max": float(finite.max()) if len(finite) else None,
            # Over every path: one with no Sharpe (no trades, or ruined) is not a positive one.
            "positive_share": float((finite > 0).sum() / len(sharpes)),
            "undefined": int((~np.isfinite(sharpes) & ~ruined).sum()),
            "ruined": int(ruined.sum()),
        },
        "equity": {f"path_{i + 1}": r.network.result.equity for i, r in enumerate(records)},
    }
    return records[shown], summary


_PATH_METRICS = ("sharpe", "total_return", "max_drawdown", "trades", "ruined")


def cpcv_paths(folds: list[Fold]) -> list[list[tuple[tuple[int, int], int]]]:
    """For every CPCV path, each group (in time order) with the index of the fold whose model trades it."""
    segments = sorted({segment for f in folds for segment in (f.split.segments or ())})
    owners = {g: [i for i, f in enumerate(folds) if g in (f.split.segments or ())] for g in segments}
    return [[(g, owners[g][p]) for g in segments] for p in range(len(owners[segments[0]]))]


def _record(folds: list[Fold], pieces: list[tuple[Fold, tuple[int, int] | None]]) -> Record:
    def pick(get: Callable[[Fold], Trading | None]) -> Trading | None:
        chosen = []
        for fold, segment in pieces:
            trading = get(fold)
            if trading is None:
                return None
            if segment is not None:
                if segment not in trading.parts:
                    continue
                trading = trading.parts[segment]
            chosen.append(trading)
        return chain_trading(chosen)

    network = pick(lambda f: f.network)
    benchmark = pick(lambda f: f.benchmark)
    assert network is not None and benchmark is not None
    baselines = {name: pick(lambda f, n=name: f.baselines[n]) for name in BASELINES}
    pieces_traded = [
        (fold.index + 1, fold.network if segment is None else fold.network.parts.get(segment))
        for fold, segment in pieces
    ]
    pieces_traded = [(k, t) for k, t in pieces_traded if t is not None]
    return Record(
        network=network,
        benchmark=benchmark,
        baselines={k: v for k, v in baselines.items() if v is not None},
        primary=pick(lambda f: f.primary),
        fold_of_bar=np.concatenate([np.full(len(t.proba), k) for k, t in pieces_traded]),
        # chain() drops the trades of every window after a ruined one (a margin call): those come last, so the
        # chained trades are a prefix of the windows' own.
        fold_of_trade=np.concatenate([np.full(len(t.result.trades), k) for k, t in pieces_traded])[
            : len(network.result.trades)
        ],
    )


def evaluate(
    folds: list[Fold],
    per_year: float,
    *,
    trials: int = 1,
    trials_source: str = "given",
    outcome: tuple[Record, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """Per-fold and aggregate out-of-sample metrics: classification on the test labels, the out-of-sample record's
    backtests (:func:`out_of_sample`), and the deflated Sharpe ratio of its path given how many configurations
    were tried. ``outcome`` is :func:`out_of_sample` of the folds when the caller already has it.

    The headline deflated Sharpe ratio is that of the strategy's *excess* return over buy-and-hold on the same
    bars: on a trending market buy-and-hold alone scores near 1 against zero, so a model that only rides the trend
    would look skilled. The absolute one (against zero) is kept beside it under its own name.
    """
    record, paths = outcome if outcome is not None else out_of_sample(folds, per_year)
    chained = record.network.result
    benchmark = record.benchmark.result
    deflated = _deflated(chained.equity, trials)
    excess = _deflated(chained.equity, trials, benchmark=benchmark.equity)
    y_test = np.concatenate([f.y[_tested(f)] for f in folds]).astype(np.int64)
    proba_test = np.concatenate([f.network.proba[f.window.get_indexer(f.split.times[_tested(f)])] for f in folds])
    baselines = {}
    for name in BASELINES:
        p = np.concatenate([f.baselines[name].proba[f.window.get_indexer(f.split.times[_tested(f)])] for f in folds])
        baselines[name] = {
            "classification": classification_metrics(y_test, p, CLASSES),
            "strategy": backtest.performance(record.baselines[name].result, periods_per_year=per_year),
        }
    per_fold = []
    for f in folds:
        entry = {
            "fold": f.index + 1,
            "window": {"first": f.window[0].isoformat(), "last": f.window[-1].isoformat()},
            "split": f.split.summary(),
            "training": {
                "best_epoch": f.training.best_epoch,
                "stopped_early": f.training.stopped_early,
                "history": f.training.history,
            },
            "classification": f.classification,
            "labels": {
                name: labels.class_balance(pd.Series(f.y[rows]))
                for name, rows in (
                    ("train", f.split.train),
                    ("validation", f.split.validation),
                    ("test", f.split.test),
                )
            },
            "signals": _signal_counts(f.network.signals),
            "strategy": backtest.performance(f.network.result, periods_per_year=per_year),
            "buy_and_hold": backtest.performance(f.benchmark.result, periods_per_year=per_year),
            "baselines": {
                name: backtest.performance(f.baselines[name].result, periods_per_year=per_year) for name in BASELINES
            },
            "decisions": f.decisions,
            "warnings": f.warnings,
        }
        if f.primary is not None:
            entry["primary"] = backtest.performance(f.primary.result, periods_per_year=per_year)
        per_fold.append(entry)
    aggregate: dict[str, Any] = {
        "window": {"first": folds[0].window[0].isoformat(), "last": folds[-1].window[-1].isoformat()},
        "periods_per_year": per_year,
        "test_samples": len(y_test),
        "classification": classification_metrics(y_test, proba_test, CLASSES),
        "signals": _signal_counts(record.network.signals),
        "strategy": {
            **backtest.performance(chained, periods_per_year=per_year),
            "deflated_sharpe_excess": excess,
            "deflated_sharpe_absolute": deflated,
            "trials": trials,
            "trials_source": trials_source,
        },
        "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
        "baselines": baselines,
        "warnings": [f"fold {f.index + 1}: {w}" for f in folds for w in f.warnings],
    }
    if paths is not None:
        window = record.network.result.equity.index
        aggregate["window"] = {"first": window[0].isoformat(), "last": window[-1].isoformat()}
        aggregate["cpcv"] = {k: v for k, v in paths.items() if k != "equity"}
    if record.primary is not None:
        aggregate["primary"] = backtest.performance(record.primary.result, periods_per_year=per_year)
    forecasts = _forecast_quality(folds)
    if forecasts:
        aggregate["forecasts"] = forecasts
    if "size" in record.network.trace:
        aggregate["sizing"] = _sizing_summary(record.network)
    return {"aggregate": aggregate, "folds": per_fold}


def _forecast_quality(folds: list[Fold]) -> dict[str, Any]:
    """How the regression heads' forecasts on the test samples compare with what happened (known later): the
    predicted return's correlation with and direction hit rate on the realised one, and the volatility forecast's
    mean absolute error, on every fold's labelled test samples."""
    out: dict[str, Any] = {}
    for head, realised in (("ret", "realised_return"), ("vol", "realised_vol")):
        if head not in folds[0].outputs:
            continue
        pred = np.concatenate([f.outputs[head][_tested(f)] for f in folds])
        real = np.concatenate([f.outputs[realised][_tested(f)] for f in folds])
        ok = np.isfinite(pred) & np.isfinite(real)
        pred, real = pred[ok], real[ok]
        if len(pred) < 3:
            continue
        corr = float(np.corrcoef(pred, real)[0, 1]) if pred.std() > 0 and real.std() > 0 else None
        entry: dict[str, Any] = {
            "samples": len(pred),
            "correlation": corr,
            "mae": float(np.abs(pred - real).mean()),
        }
        if head == "ret":
            entry["direction_hit_rate"] = float((np.sign(pred) == np.sign(real)).mean())
        out["return" if head == "ret" else "volatility"] = entry
    return out


def _sizing_summary(trading: Trading) -> dict[str, Any]:
    """The entry sizes the rules gave on the bars where the position changed to a side, and how many were vetoed."""
    targets = trading.targets
    previous = np.concatenate([[0], targets[:-1]])
    entries = (targets != 0) & (targets != previous)
    sizes = trading.trace["size"][entries].astype(np.float64)
    reasons = trading.trace["size_reason"]
    vetoed = int(sum(1 for r in reasons if str(r).startswith("vetoed")))
    return {
        "entries": int(entries.sum()),
        "mean_size": float(sizes.mean()) if len(sizes) else None,
        "max_size": float(sizes.max()) if len(sizes) else None,
        "vetoed_bars": vetoed,
    }


def _deflated(equity: pd.Series, trials: int, *, benchmark: pd.Series | None = None) -> float | None:
    """The deflated Sharpe ratio of the per-bar returns of ``equity`` (minus ``benchmark``'s on the same bars);
    None when there are too few returns or they do not vary."""
    if (equity <= 0).any():  # a ruined path (margin call): returns through zero have no Sharpe ratio
        return None
    returns = equity.pct_change().iloc[1:]
    if benchmark is not None:
        returns = returns - benchmark.pct_change().reindex(returns.index)
    values = returns.to_numpy(dtype=np.float64)
    if len(values) <= 2 or not np.isfinite(values).all() or values.std() == 0:
        return None
    return backtest.deflated_sharpe_ratio(values, trials)


def _tested(fold: Fold) -> np.ndarray:
    """The fold's labelled test samples that its model scored (a window model skips rows before its first window)."""
    rows = fold.split.test
    # DatetimeIndex.isin hashes the int64 times; np.isin on tz-aware times compares Python objects pair by pair,
    # which made evaluation quadratic in history (benchmarks/scale.py: 12.6 s of a 10,000-bar run).
    return rows[fold.split.times[rows].isin(fold.window)]


def _signal_counts(signals: np.ndarray) -> dict[str, int]:
    return {name: int((signals == i).sum()) for i, name in enumerate(CLASSES)}


def write_run_folder(
    run_dir: Path,
    ref: BundleRef,
    metrics: dict[str, Any],
    folds: list[Fold],
    frame: pd.DataFrame,
    outcome: tuple[Record, dict[str, Any] | None] | None = None,
) -> pd.DataFrame:
    """metrics.json, and per-bar tables over every fold's out-of-sample window (with a ``fold`` column); the
    decision trace holds each bar's features, probabilities, signal, target and the position held.

    Version numbers are never reused, so a folder already at ``run_dir`` can only be the leftover of a bundle
    deleted by hand with its strategy folder; its files (an old report's sections, an old attention map) must not
    pass for this run's, so it is cleared first.
    """
    if run_dir.exists():
        log.warning("clearing %s: it holds the files of an earlier run whose bundle is gone", run_dir)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    summary = {"bundle": ref.name, "bundle_path": str(ref.path), **metrics}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    record, paths = outcome if outcome is not None else out_of_sample(folds, metrics["aggregate"]["periods_per_year"])
    strategy = record.network.result
    trades = strategy.trades.assign(fold=record.fold_of_trade)
    trades.to_parquet(run_dir / "trades.parquet")
    equity = {"strategy": strategy.equity, "buy_and_hold": record.benchmark.result.equity}
    for name, trading in record.baselines.items():
        equity[name] = trading.result.equity
    if record.primary is not None:
        equity["primary"] = record.primary.result.equity
    columns = {**equity, "position": strategy.position, "fold": record.fold_of_bar}
    pd.DataFrame(columns).to_parquet(run_dir / "equity.parquet")
    if paths is not None:
        pd.DataFrame(paths["equity"]).to_parquet(run_dir / "paths.parquet")
    network = record.network
    decisions = pd.DataFrame(
        network.proba, index=strategy.equity.index, columns=[f"p_{name.lower()}" for name in CLASSES]
    )
    decisions["signal"] = [CLASSES[s] for s in network.signals]
    decisions["target"] = network.targets
    for name, values in network.trace.items():
        decisions[name] = values
    decisions["position"] = strategy.position.to_numpy()
    decisions["fold"] = record.fold_of_bar
    decisions = decisions.join(frame.loc[decisions.index])
    decisions.to_parquet(run_dir / "decisions.parquet")
    _write_forecasts(run_dir, folds)
    _write_readouts(run_dir, folds)
    return trades


def _write_forecasts(run_dir: Path, folds: list[Fold]) -> None:
    """forecasts.parquet: on every fold's traded bars, the regression heads' forecasts beside the outcomes they
    forecast (known only at the label's end t1, so kept out of the decision trace) and the regime-change score."""
    heads = [h for h in ("ret", "vol", "regime_change") if h in folds[0].outputs]
    if not heads:
        return
    frames = []
    for f in folds:
        rows = f.split.times.get_indexer(f.window)
        table = {_TRACE_NAMES[h]: f.outputs[h][rows] for h in heads}
        if "ret" in heads:
            table["realised_return"] = f.outputs["realised_return"][rows]
        if "vol" in heads:
            table["realised_vol"] = f.outputs["realised_vol"][rows]
        frames.append(pd.DataFrame(table, index=f.window).assign(fold=f.index + 1))
    pd.concat(frames).to_parquet(run_dir / "forecasts.parquet")


def _write_readouts(run_dir: Path, folds: list[Fold]) -> None:
    """The report's optional inputs: calibration and feature importance (from the folds' validation rows),
    attention maps and the regime latent (from the test windows)."""
    y = np.concatenate([f.readout["validation"]["y"] for f in folds])
    proba = np.concatenate([f.readout["validation"]["proba"] for f in folds])
    curve = {"rows": "validation", **calibration_curve(y, proba)}
    (run_dir / "calibration.json").write_text(json.dumps(curve, indent=2) + "\n")
    importance = {
        name: float(np.mean([f.readout["importance"][name] for f in folds if name in f.readout["importance"]]))
        for name in folds[-1].readout["importance"]
    }
    ranked = dict(sorted(importance.items(), key=lambda item: -item[1]))
    importance_doc = {"rows": "validation", "log_loss_increase": ranked}
    (run_dir / "importance.json").write_text(json.dumps(importance_doc, indent=2) + "\n")
    last = folds[-1].readout
    if "attention" in last:
        attention = {"fold": len(folds), "rows": "test", "mean": last["attention"]}
        (run_dir / "attention.json").write_text(json.dumps(attention) + "\n")
    if "latent" in folds[0].readout:
        frames = [
            pd.DataFrame(
                f.readout["latent"]["values"],
                index=pd.DatetimeIndex(f.readout["latent"]["times"], name="time"),
                columns=[f"z{i}" for i in range(len(f.readout["latent"]["values"][0]))],
            ).assign(fold=f.index + 1)
            for f in folds
        ]
        pd.concat(frames).to_parquet(run_dir / "latent.parquet")


def calibration_curve(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Confidence (the largest probability) against accuracy, in equal-width bins, with the count in each.

    Examples
    --------
    >>> curve = calibration_curve(np.array([0, 1]), np.array([[0.9, 0.1], [0.6, 0.4]]), bins=5)
    >>> [(b["confidence"], b["accuracy"], b["count"]) for b in curve["bins"]]
    [(0.6, 0.0, 1), (0.9, 1.0, 1)]
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            out.append(
                {
                    "confidence": round(float(confidence[inside].mean()), 6),
                    "accuracy": round(float(correct[inside].mean()), 6),
                    "count": int(inside.sum()),
                }
            )
    return {"bins": out, "samples": len(y)}
