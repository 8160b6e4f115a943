"""Reading a run folder (and its model bundle) into one object the report renders.

Only ``metrics.json`` and ``equity.parquet`` are required; every other input is optional and the report leaves out
the sections it would feed. Nothing here fits or recomputes a model: the report shows what the run saved.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurotrade._stages import load_bars, symbol_spec
from neurotrade.config import DataSpec
from neurotrade.data import symbol_seed
from neurotrade.errors import ConfigError, NeurotradeError, StoreError

log = logging.getLogger(__name__)

REQUIRED = ("metrics.json", "equity.parquet")


@dataclass
class RunData:
    """Everything a report can show about one run; optional parts are ``None`` (or empty) when absent.

    ``bars`` are the run's OHLCV bars over its trading window when the bundle's spec could load them;
    ``bars_note`` then is empty, otherwise it says why the price chart is missing. ``paths`` holds one equity
    column per CPCV path (``path_1``, ...); ``forecasts`` the regression heads' forecasts beside what was realised.

    A universe run (:attr:`universe`) has no single ``bars``: ``symbol_bars`` holds each symbol's bars over the
    trading window instead, and ``exposure`` each symbol's signed position value over the equity at every close.
    """

    run_dir: Path
    metrics: dict[str, Any]
    equity: pd.DataFrame
    trades: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None
    bundle_dir: Path | None = None
    training: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    bars: pd.DataFrame | None = None
    bars_note: str = ""
    calibration: dict[str, Any] | None = None
    importance: dict[str, float] | None = None
    attention: dict[str, np.ndarray] = field(default_factory=dict)
    latent: pd.DataFrame | None = None
    paths: pd.DataFrame | None = None
    forecasts: pd.DataFrame | None = None
    exposure: pd.DataFrame | None = None
    symbol_bars: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def universe(self) -> bool:
        """Whether this is a universe run: its ``aggregate`` is a portfolio of ``metrics["symbols"]``."""
        return is_universe(self.metrics)


def is_universe(metrics: dict[str, Any]) -> bool:
    """Whether ``metrics.json`` is a universe run's: ``aggregate.universe`` or per-symbol ``symbols`` metrics.

    Examples
    --------
    >>> is_universe({"aggregate": {"universe": {"symbols": ["A", "B"]}}}), is_universe({"aggregate": {}})
    (True, False)
    """
    return "universe" in (metrics.get("aggregate") or {}) or isinstance(metrics.get("symbols"), dict)


def read_run(run_dir: str | Path, *, bundle_dir: str | Path | None = None) -> RunData:
    """Read a run folder written by ``neurotrade run`` (and the model bundle it names) for the report.

    Parameters
    ----------
    run_dir
        ``runs/<strategy>/<tf>_vN`` in a workspace: ``metrics.json`` and ``equity.parquet`` are required;
        ``trades.parquet``, ``decisions.parquet``, ``calibration.json``, ``importance.json``, ``attention.json``
        (or ``attention.npz``), ``latent.parquet``, ``paths.parquet`` (CPCV), ``forecasts.parquet`` and (a
        universe run) ``exposure.parquet`` are read when present. A paper session's folder
        (``HOME/paper/SESSION``) has the same files, and its own ``bars.parquet`` for the price chart.
    bundle_dir
        The model bundle whose ``training.json`` and ``spec.json`` to use. Default: ``bundle_path`` in
        ``metrics.json``, when that folder exists.

    Returns
    -------
    RunData

    Raises
    ------
    StoreError
        When the folder or a required file is missing or unreadable.

    Examples
    --------
    >>> read_run("no/such/run")
    Traceback (most recent call last):
    ...
    neurotrade.errors.StoreError: run folder no/such/run does not exist; pass the folder `neurotrade run` printed ...
    """
    run_dir = Path(run_dir)
    _check_folder(run_dir)
    metrics = _json(run_dir / "metrics.json")
    data = RunData(run_dir=run_dir, metrics=metrics, equity=_parquet(run_dir / "equity.parquet"))
    if (run_dir / "trades.parquet").is_file():
        data.trades = _parquet(run_dir / "trades.parquet")
    if (run_dir / "decisions.parquet").is_file():
        data.decisions = _parquet(run_dir / "decisions.parquet")
    if (run_dir / "calibration.json").is_file():
        data.calibration = _json(run_dir / "calibration.json")
    if (run_dir / "importance.json").is_file():
        document = _json(run_dir / "importance.json")
        data.importance = {str(k): float(v) for k, v in document.get("log_loss_increase", document).items()}
    data.attention = _attention(run_dir)
    if (run_dir / "latent.parquet").is_file():
        data.latent = _parquet(run_dir / "latent.parquet")
    if (run_dir / "paths.parquet").is_file():
        data.paths = _parquet(run_dir / "paths.parquet")
    if (run_dir / "forecasts.parquet").is_file():
        data.forecasts = _parquet(run_dir / "forecasts.parquet")
    if (run_dir / "exposure.parquet").is_file():
        data.exposure = _parquet(run_dir / "exposure.parquet")

    if bundle_dir is None and metrics.get("bundle_path"):
        named = Path(metrics["bundle_path"])
        if named.is_dir():
            bundle_dir = named
        else:
            log.warning("the run's bundle %s is gone; the report leaves out what only the bundle holds", named)
    if bundle_dir is not None:
        bundle_dir = Path(bundle_dir)
        if not bundle_dir.is_dir():
            raise StoreError(f"bundle folder {bundle_dir} does not exist; pass the folder of a saved model bundle")
        data.bundle_dir = bundle_dir
        if (bundle_dir / "training.json").is_file():
            data.training = _json(bundle_dir / "training.json")
        if (bundle_dir / "spec.json").is_file():
            data.spec = _json(bundle_dir / "spec.json")
    if (run_dir / "bars.parquet").is_file():  # a paper session's folder holds the bars it traded
        _own_bars(data, _parquet(run_dir / "bars.parquet"))
    elif data.universe:
        data.symbol_bars, data.bars_note = _universe_bars(data)
    else:
        data.bars, data.bars_note = _bars(data)
    return data


def _own_bars(data: RunData, bars: pd.DataFrame) -> None:
    """The price chart's bars from the folder's own ``bars.parquet`` (``symbol`` column), over the equity's window."""
    window = data.equity.index
    inside = bars.loc[(bars.index >= window[0]) & (bars.index <= window[-1])]
    if data.universe:
        data.symbol_bars = {str(s): f.drop(columns="symbol") for s, f in inside.groupby("symbol", sort=False)}
    elif len(inside):
        data.bars = inside.drop(columns="symbol", errors="ignore")
    if not len(inside):
        data.bars_note = "the folder's bars.parquet does not cover its equity's window"


def _check_folder(run_dir: Path) -> None:
    if not run_dir.is_dir():
        hint = ""
        if run_dir.parent.is_dir():
            close = difflib.get_close_matches(run_dir.name, [p.name for p in run_dir.parent.iterdir() if p.is_dir()])
            if close:
                hint = f"; did you mean {run_dir.parent / close[0]}?"
        raise StoreError(
            f"run folder {run_dir} does not exist; pass the folder `neurotrade run` printed "
            f"(runs/<strategy>/<timeframe>_vN in the workspace){hint}"
        )
    missing = [name for name in REQUIRED if not (run_dir / name).is_file()]
    if missing:
        raise StoreError(
            f"{run_dir} is not a complete run folder: {', '.join(missing)} missing; "
            "run the strategy again with `neurotrade run` to write it"
        )


def _json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoreError(f"cannot read {path}: {e}; run the strategy again to rewrite it") from e
    if not isinstance(document, dict):
        raise StoreError(f"{path} holds a JSON {type(document).__name__}, expected an object; rewrite it")
    return document


def _parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read {path}: {e}; run the strategy again to rewrite it") from e


def _attention(run_dir: Path) -> dict[str, np.ndarray]:
    """Named attention arrays, each ``(..., T, T)``: ``attention.json``'s ``mean`` or every array in the npz."""
    if (run_dir / "attention.npz").is_file():
        path = run_dir / "attention.npz"
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {name: np.asarray(archive[name], dtype=np.float64) for name in archive.files}
        except (OSError, ValueError) as e:
            raise StoreError(f"cannot read {path}: {e}; run the strategy again to rewrite it") from e
    if (run_dir / "attention.json").is_file():
        document = _json(run_dir / "attention.json")
        return {
            name: np.asarray(value, dtype=np.float64)
            for name, value in document.items()
            if isinstance(value, list) and np.asarray(value).ndim >= 2
        }
    return {}


def _bars(data: RunData) -> tuple[pd.DataFrame | None, str]:
    """The bars over the trading window, loaded as the bundle's spec says, or ``None`` and the reason."""
    if data.spec is None or "data" not in data.spec:
        return None, "the run's model bundle (and so its data spec) is not available"
    try:
        spec = DataSpec.model_validate(data.spec["data"])
        # The workspace home is three levels up: <home>/runs/<strategy>/<tf>_vN.
        home = data.run_dir.resolve().parents[2]
        bars = load_bars(spec, home=home, seed=int(data.spec.get("seed", 0)))
    except (NeurotradeError, ValueError, OSError) as e:
        reason = e.problems[0] if isinstance(e, ConfigError) and e.problems else str(e).splitlines()[0]
        return None, f"the bars could not be loaded ({reason})"
    window = data.equity.index
    bars = bars.loc[(bars.index >= window[0]) & (bars.index <= window[-1])]
    if bars.empty:
        return None, (
            f"the bars the bundle's spec loads do not cover the run's window {window[0]} .. {window[-1]} "
            "(the data source changed since the run)"
        )
    return bars, ""


def _universe_bars(data: RunData) -> tuple[dict[str, pd.DataFrame], str]:
    """Each traded symbol's bars over the portfolio's window, loaded as the run loaded them, or none and why.

    The symbols and their order come from ``metrics.json`` (what the run traded), not from the workspace's
    ``universes.yaml`` as it is now; a synthetic symbol's seed depends on its position in that order.
    """
    if data.spec is None or "data" not in data.spec:
        return {}, "the run's model bundle (and so its data spec) is not available"
    universe = data.metrics.get("aggregate", {}).get("universe", {})
    symbols = [str(s) for s in universe.get("symbols") or data.metrics.get("symbols") or {}]
    traded = set(universe.get("traded") or symbols)
    window = data.equity.index
    out: dict[str, pd.DataFrame] = {}
    try:
        # The saved spec carries the default `symbol` beside `symbols`, which the universe's own spec refuses.
        spec = DataSpec.model_validate({k: v for k, v in data.spec["data"].items() if k != "symbol"})
        home = data.run_dir.resolve().parents[2]
        seed = int(data.spec.get("seed", 0))
        for position, symbol in enumerate(symbols):
            if symbol not in traded:
                continue
            bars = load_bars(symbol_spec(spec, symbol), home=home, seed=symbol_seed(seed, position))
            bars = bars.loc[(bars.index >= window[0]) & (bars.index <= window[-1])]
            if not bars.empty:
                out[symbol] = bars
    except (NeurotradeError, ValueError, OSError) as e:
        reason = e.problems[0] if isinstance(e, ConfigError) and e.problems else str(e).splitlines()[0]
        return {}, f"the bars could not be loaded ({reason})"
    if not out:
        return {}, (
            f"the bars the bundle's spec loads do not cover the run's window {window[0]} .. {window[-1]} "
            "(the data source changed since the run)"
        )
    return out, ""
