"""A paper session's folder: the same files as a backtest's, read from its database, for people and the report.

``state.sqlite`` is the truth; these files are views of it, rewritten whole (each through a temporary file
renamed into place) at the end of a run and whenever ``neurotrade report`` reads the folder:

- ``decisions.parquet``: the decision trace, the columns and rows ``neurotrade backtest`` makes (``backtest_bundle``'s
  ``decisions``: probabilities, signal, target, size, reason, the other heads; a universe's with ``symbol`` and
  ``portfolio_target``);
- ``trades.parquet``, ``fills.parquet``, ``equity.parquet``: the backtest's tables, as of the last bar (the
  position still open is closed at the last close, with costs, as the backtest closes it at the end of its data;
  the session itself still holds it); equity beside buy-and-hold of the same bars, and beside the backtest of the
  same bars when it could be run (``backtest`` column);
- ``metrics.json``: the backtest's metrics (``aggregate``), the backtest of the same bars and whether the paper
  trades equal its trades (``aggregate.backtest``, ``paper.parity``), and the session (feed, bars, rejections);
- ``bars.parquet`` (every bar the session took, ``symbol`` column), ``bars/<symbol>.parquet`` (the same, one file per
  symbol, which the backtest of the same bars reads), ``orders.parquet``, ``rejected.parquet``, and for a universe
  ``exposure.parquet``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurotrade import backtest
from neurotrade.config import Strategy
from neurotrade.errors import NeurotradeError
from neurotrade.labels import CLASS_NAMES
from neurotrade.live._crash import CrashPoints
from neurotrade.live._paper_broker import PaperBroker
from neurotrade.live._state import SessionStore

log = logging.getLogger(__name__)

_PROBA = [f"p_{c.lower()}" for c in CLASS_NAMES]
_TIME_UNIT = "us"  # every frame neurotrade builds uses it (data._frame.TIME_UNIT)
_TRADE_COLUMNS = ("entry_time", "exit_time", "side", "entry_price", "exit_price", "quantity", "pnl", "return_pct",
                  "bars_held", "costs", "closed_at_end", "exit_reason")  # fmt: skip
_FILL_COLUMNS = ("time", "side", "price", "quantity", "commission", "closed_at_end")


def _times(values: Any) -> pd.DatetimeIndex:
    """Stored nanoseconds (or timestamps) as a UTC index in the unit every neurotrade frame uses."""
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ns", utc=True)).as_unit(_TIME_UNIT)


def session_decisions(store: SessionStore, *, universe: bool) -> pd.DataFrame:
    """The session's decision trace as ``neurotrade backtest`` builds it (same columns, same order, same rows)."""
    stored = store.decisions()
    times = _times([row["time"] for row in stored])
    rows = []
    for time, row in zip(times, stored, strict=True):
        proba = [np.nan if row[k] is None else row[k] for k in _PROBA]
        if universe:
            rows.append({"time": time, "symbol": row["symbol"], **dict(zip(_PROBA, proba, strict=True)),
                         "signal": row["signal"], "target": row["target"], "size": row["size"],
                         "size_reason": row["size_reason"], "portfolio_target": row["portfolio_target"],
                         **row["outputs"]})  # fmt: skip
        else:
            extra = {"size": row["size"], "size_reason": row["size_reason"], **row["outputs"]}
            if row["side"] is not None:
                extra["side"] = row["side"]
            rows.append({"time": time, **dict(zip(_PROBA, proba, strict=True)), "signal": row["signal"],
                         "target": row["target"], **extra})  # fmt: skip
    if not rows:
        return pd.DataFrame({"time": pd.DatetimeIndex([], tz="UTC"), "signal": []}).set_index("time")
    return pd.DataFrame(rows).set_index("time")


def session_result(store: SessionStore) -> backtest.BacktestResult | backtest.PortfolioResult | None:
    """The session's account as the backtest reports one: equity, positions, trades and fills at each traded bar,
    with what is still open closed at the last close (the backtest's end of data). None before trading started."""
    meta = store.meta()
    last = store.last_trading_step()
    if last is None:
        return None
    broker = PaperBroker.from_config(meta["broker"])
    broker.restore(last["account"])
    final_cash, end_fills, end_trades = broker.closing()
    steps = [s for s in store.steps() if s["bar"] is not None]
    index = _times([s["time"] for s in steps])
    equity = np.array([s["equity"] for s in steps], dtype=np.float64)
    equity[-1] = final_cash
    fills = store.table("fills")
    trades = store.table("trades")
    extra_fills = [{"time": f.time.value, "symbol": f.symbol, "side": f.side, "price": f.price,
                    "quantity": f.quantity, "commission": f.commission, "closed_at_end": True}
                   for f in end_fills]  # fmt: skip
    extra_trades = [{"symbol": t.symbol, "entry_time": t.entry_time.value, "exit_time": t.exit_time.value,
                     "side": t.side, "entry_price": t.entry_price, "exit_price": t.exit_price, "quantity": t.quantity,
                     "pnl": t.pnl, "return_pct": t.return_pct, "bars_held": t.bars_held, "costs": t.costs,
                     "closed_at_end": True, "exit_reason": t.exit_reason} for t in end_trades]  # fmt: skip
    fills = [dict(f, closed_at_end=False) for f in fills] + extra_fills
    trades = [dict(t, closed_at_end=False) for t in trades] + extra_trades
    costs = backtest.CostModel(*meta["broker"]["costs"])
    initial = float(meta["broker"]["initial_cash"])
    symbols = list(meta["symbols"])
    if not meta["universe"]:
        position = np.array([s["positions"][symbols[0]] for s in steps], dtype=np.float64)
        return backtest.BacktestResult(
            equity=pd.Series(equity, index=index, name="equity"),
            position=pd.Series(position, index=index, name="position"),
            trades=_trades_frame(trades, symbol=False),
            fills=_fills_frame(fills, symbol=False),
            initial_cash=initial,
            fill="next_open",
            costs=costs,
        )
    cash = np.array([s["cash"] for s in steps], dtype=np.float64)
    cash[-1] = final_cash
    positions = pd.DataFrame([[s["positions"][sym] for sym in symbols] for s in steps], index=index,
                             columns=pd.Index(symbols, dtype="str", name="symbol"), dtype=np.float64)  # fmt: skip
    # The backtest books fills symbol by symbol within a bar and lists them in time order.
    fills.sort(key=lambda f: f["time"])
    return backtest.PortfolioResult(
        equity=pd.Series(equity, index=index, name="equity"),
        cash=pd.Series(cash, index=index, name="cash"),
        positions=positions,
        trades=_trades_frame(trades, symbol=True),
        fills=_fills_frame(fills, symbol=True),
        initial_cash=initial,
        fill="next_open",
        costs=costs,
    )


def _trades_frame(rows: list[dict[str, Any]], *, symbol: bool) -> pd.DataFrame:
    frame = {
        "entry_time": _times([r["entry_time"] for r in rows]),
        "exit_time": _times([r["exit_time"] for r in rows]),
        "side": pd.array([r["side"] for r in rows], dtype="str"),
        **{c: np.array([r[c] for r in rows], dtype=np.float64)
           for c in ("entry_price", "exit_price", "quantity", "pnl", "return_pct")},
        "bars_held": np.array([r["bars_held"] for r in rows], dtype=np.int64),
        "costs": np.array([r["costs"] for r in rows], dtype=np.float64),
        "closed_at_end": np.array([r["closed_at_end"] for r in rows], dtype=np.bool_),
        "exit_reason": pd.array([r["exit_reason"] for r in rows], dtype="str"),
    }  # fmt: skip
    if symbol:
        frame = {"symbol": pd.array([r["symbol"] for r in rows], dtype="str"), **frame}
    return pd.DataFrame(frame)


def _fills_frame(rows: list[dict[str, Any]], *, symbol: bool) -> pd.DataFrame:
    frame = {
        "time": _times([r["time"] for r in rows]),
        "side": pd.array([r["side"] for r in rows], dtype="str"),
        **{c: np.array([r[c] for r in rows], dtype=np.float64) for c in ("price", "quantity", "commission")},
        "closed_at_end": np.array([r["closed_at_end"] for r in rows], dtype=np.bool_),
    }
    if symbol:
        frame = {"symbol": pd.array([r["symbol"] for r in rows], dtype="str"), **frame}
    return pd.DataFrame(frame)


def session_bars(store: SessionStore) -> dict[str, pd.DataFrame]:
    """Symbol -> every bar the session took (an OHLCV frame), in the session's symbol order."""
    by_symbol: dict[str, list[tuple]] = {}
    for time, group in store.bars():
        for bar in group:
            by_symbol.setdefault(bar.symbol, []).append((time, bar.open, bar.high, bar.low, bar.close, bar.volume))
    out = {}
    for symbol in store.meta()["symbols"]:
        rows = by_symbol.get(symbol, [])
        index = _times([r[0] for r in rows]).rename("time")
        columns = ("open", "high", "low", "close", "volume")
        values = {c: np.array([r[k + 1] for r in rows], dtype=np.float64) for k, c in enumerate(columns)}
        out[symbol] = pd.DataFrame(values, index=index)
    return out


def write_session_folder(
    session_dir: Path,
    *,
    home: Path | None = None,
    store: SessionStore | None = None,
    crash: CrashPoints | None = None,
    beside: bool = True,
) -> dict[str, Any]:
    """Write a paper session's folder from its database (see the module's description); returns its metrics.

    Parameters
    ----------
    session_dir
        ``HOME/paper/SESSION``, holding ``state.sqlite``.
    home
        The workspace (for the bundle and the backtest of the same bars); default: two levels up.
    store
        The session's open database (default: opened here).
    beside
        Run the backtest of the same bars beside the session (one more pass of the engine over its bars).
    """
    session_dir = Path(session_dir)
    home = Path(home) if home is not None else session_dir.resolve().parents[1]
    own = store is None
    store = store or SessionStore(session_dir / "state.sqlite", read_only=True)
    try:
        return _write(session_dir, home, store, crash or CrashPoints(""), beside)
    finally:
        if own:
            store.close()


def _write(session_dir: Path, home: Path, store: SessionStore, crash: CrashPoints, beside: bool) -> dict[str, Any]:
    meta = store.meta()
    spec = Strategy.model_validate(meta["spec"])
    universe = bool(meta["universe"])
    steps = store.steps()
    bars = session_bars(store)
    switches = store.table("switches")
    last_step = steps[-1] if steps else None
    paper = {
        "session": session_dir.name,
        "feed": last_step["feed"] if last_step else meta["feed"],
        "created": meta["created"],
        "start": meta["start"],
        "steps": len(steps),
        "bars": int(sum(len(b) for b in bars.values())),
        "first_bar": steps[0]["iso"] if steps else None,
        "last_bar": last_step["iso"] if last_step else None,
        "rejected": store.count_rejected(),
        "switches": [
            {"time": str(pd.Timestamp(s["time"], unit="ns", tz="UTC")), "bundle": s["bundle"], "note": s["note"]}
            for s in switches
        ],
        # live.drift flags, as committed with their bars (kind psi: the feature's PSI; calibration: the gap).
        "drift": [
            {
                "time": str(pd.Timestamp(d["time"], unit="ns", tz="UTC")),
                "kind": d["kind"],
                "feature": d["feature"],
                "value": d["value"],
                "threshold": d["threshold"],
                "bundle": d["engine"],
            }
            for d in store.table("drift")
        ],
        "open_positions": {},
    }
    metrics: dict[str, Any] = {"bundle": meta["bundle"], "bundle_path": meta["bundle_path"], "paper": paper}
    files: dict[str, pd.DataFrame] = {}
    all_bars = pd.concat([f.assign(symbol=s) for s, f in bars.items()]).sort_index(kind="stable") if bars else None
    if all_bars is not None:
        files["bars.parquet"] = all_bars[["symbol", "open", "high", "low", "close", "volume"]]
    files["orders.parquet"] = _orders(store)
    files["rejected.parquet"] = _rejected(store)
    result = session_result(store)
    if result is not None:
        last = store.last_trading_step()
        paper["open_positions"] = {s: u for s, u in (last["positions"] or {}).items() if u != 0.0}  # type: ignore[index]
        decisions = session_decisions(store, universe=universe)
        files["decisions.parquet"] = decisions
        files["trades.parquet"] = result.trades
        files["fills.parquet"] = result.fills
        aggregate, equity = _aggregate(spec, meta, result, decisions, bars, home)
        if beside:
            _beside(spec, meta, session_dir, bars, result, aggregate, equity, paper, home, bool(switches))
        files["equity.parquet"] = equity
        if universe:
            from neurotrade._universe import exposure

            shares = exposure(result, {s: bars[s] for s in meta["symbols"]})  # type: ignore[arg-type]
            files["exposure.parquet"] = shares
            equity["gross_exposure"] = shares.abs().sum(axis=1)
        metrics["aggregate"] = aggregate
    session_dir.mkdir(parents=True, exist_ok=True)
    first = True
    for name, frame in files.items():
        _atomic_parquet(frame, session_dir / name)
        if first:
            crash(len(steps), "files")
            first = False
    if all_bars is not None:
        for symbol, frame in bars.items():
            if len(frame):
                _atomic_parquet(frame, session_dir / "bars" / f"{symbol}.parquet")
    text = json.dumps(metrics, indent=2, allow_nan=False, default=str) + "\n"
    tmp = session_dir / "metrics.json.tmp"
    tmp.write_text(text)
    tmp.replace(session_dir / "metrics.json")
    return metrics


def _aggregate(
    spec: Strategy,
    meta: dict[str, Any],
    result: backtest.BacktestResult | backtest.PortfolioResult,
    decisions: pd.DataFrame,
    bars: dict[str, pd.DataFrame],
    home: Path,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The backtest's metrics of the session (beside buy-and-hold of the same bars) and its equity table."""
    from neurotrade._replay import _periods_per_year, _trained_until
    from neurotrade.store import read_document

    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    window = result.equity.index
    union = bars[meta["symbols"][0]].index
    for frame in bars.values():
        union = union.union(frame.index)
    if meta["universe"]:
        symbols = list(meta["symbols"])
        ready = decisions[decisions["signal"] != "WARMUP"]
        aligned = {s: bars[s].reindex(window) for s in symbols}
        # Equal-weight buy-and-hold: each symbol held over the bars it decided at, as the backtest's benchmark.
        bought = {s: np.isin(window, ready.index[ready["symbol"] == s]).astype(np.int64) for s in symbols}
        benchmark = backtest.simulate_portfolio(aligned, bought, fraction=bt.fraction / len(symbols), costs=costs,
                                                initial_cash=bt.initial_cash)  # fmt: skip
        signals = ready["signal"]
        equity = pd.DataFrame({"strategy": result.equity, "buy_and_hold": benchmark.equity,
                               "cash": result.cash})  # type: ignore[union-attr]  # fmt: skip
    else:
        benchmark = backtest.buy_and_hold(bars[meta["symbols"][0]].loc[window], costs=costs,
                                          initial_cash=bt.initial_cash, fill="next_open")  # fmt: skip
        signals = decisions["signal"]
        equity = pd.DataFrame({"strategy": result.equity, "buy_and_hold": benchmark.equity,
                               "position": result.position})  # type: ignore[union-attr]  # fmt: skip
    per_year = _periods_per_year(spec, union)
    try:
        split = read_document(Path(meta["bundle_path"]), "split", missing_ok=True) or {}
    except NeurotradeError:
        split = {}
    trained_until = _trained_until({"split": split})
    aggregate: dict[str, Any] = {
        "window": {"first": window[0].isoformat(), "last": window[-1].isoformat()},
        "in_sample": bool(trained_until is not None and window[0] <= trained_until),
        "trained_until": None if trained_until is None else trained_until.isoformat(),
        "signals": {c: int((signals == c).sum()) for c in CLASS_NAMES},
        "periods_per_year": per_year,
        "strategy": backtest.performance(result, periods_per_year=per_year),
        "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
    }
    if meta["universe"]:
        from neurotrade._universe import position_fraction

        trades = result.trades
        aggregate["universe"] = {
            "symbols": list(meta["symbols"]),
            "selection": spec.portfolio.selection,
            "position_fraction": position_fraction(spec, len(meta["symbols"])),
            "contribution": {s: {"trades": int((trades["symbol"] == s).sum()),
                                 "pnl": float(trades.loc[trades["symbol"] == s, "pnl"].sum()),
                                 "pnl_pct": 100.0 * float(trades.loc[trades["symbol"] == s, "pnl"].sum())
                                 / result.initial_cash} for s in meta["symbols"]},
        }  # fmt: skip
    return aggregate, equity


def _beside(
    spec: Strategy,
    meta: dict[str, Any],
    session_dir: Path,
    bars: dict[str, pd.DataFrame],
    result: backtest.BacktestResult | backtest.PortfolioResult,
    aggregate: dict[str, Any],
    equity: pd.DataFrame,
    paper: dict[str, Any],
    home: Path,
    switched: bool,
) -> None:
    """``neurotrade backtest`` of the session's own bars (its warm-up bars first, trading from the same bar), and
    whether the paper account traded exactly what it trades."""
    from neurotrade._replay import backtest_bundle

    folder = session_dir / "bars"
    symbols = [s for s in meta["symbols"] if len(bars.get(s, ()))]
    data = {"source": "file", "timeframe": spec.data.timeframe, "max_move": None}
    if meta["universe"]:
        data |= {"path": str(folder / "{symbol}.parquet"), "symbols": symbols}
    else:
        data |= {"path": str(folder / f"{symbols[0]}.parquet"), "symbol": symbols[0]}
    try:
        for symbol in symbols:  # the backtest reads the files, which must hold the bars now
            _atomic_parquet(bars[symbol], folder / f"{symbol}.parquet")
        same_bars = Strategy.model_validate(spec.model_dump(mode="json") | {"data": data})
        version = meta["bundle"].split("/", 1)[1]
        window = result.equity.index
        logging.getLogger("neurotrade._replay").disabled = True  # its in-sample warning is the session's own to say
        try:
            out = backtest_bundle(same_bars, model=version, start=meta["start"] or window[0], end=window[-1], home=home)
        finally:
            logging.getLogger("neurotrade._replay").disabled = False
    except (NeurotradeError, OSError, ValueError) as e:
        paper["backtest"] = f"not run: {str(e).splitlines()[0]}"
        return
    aggregate["backtest"] = out.metrics["strategy"]
    equity["backtest"] = out.result.equity.reindex(equity.index)
    ours, theirs = result.trades.reset_index(drop=True), out.result.trades.reset_index(drop=True)
    difference = first_difference(ours, theirs)
    if difference is None and not np.allclose(result.equity.to_numpy(), out.result.equity.reindex(window).to_numpy(),
                                               rtol=1e-9, atol=0.0):  # fmt: skip
        difference = "the equity differs"
    paper["parity"] = {
        "matches": difference is None,
        "difference": difference,
        "trades": len(theirs),
        "note": "the session switched models, so the backtest of its first bundle need not match" if switched else "",
    }
    paper["backtest"] = f"neurotrade backtest of the same bars with {meta['bundle']}"


def first_difference(ours: pd.DataFrame, theirs: pd.DataFrame, *, rtol: float = 1e-9) -> str | None:
    """The first way two trade (or fill) tables differ: every column, times, sides and reasons exactly, numbers
    to ``rtol`` (float64 paths on any x86-64 agree far closer); None when they match.

    Examples
    --------
    >>> a = pd.DataFrame({"side": ["long"], "pnl": [1.0]})
    >>> first_difference(a, a), first_difference(a, a.assign(pnl=2.0))
    (None, 'row 1: pnl 1.0 here, 2.0 there')
    """
    if len(ours) != len(theirs):
        return f"{len(ours)} rows here, {len(theirs)} there"
    if list(ours.columns) != list(theirs.columns):
        return f"columns {list(ours.columns)} here, {list(theirs.columns)} there"
    for column in theirs.columns:
        mine, other = ours[column].to_numpy(), theirs[column].to_numpy()
        if theirs[column].dtype.kind == "f":
            same = np.isclose(mine.astype(np.float64), other.astype(np.float64), rtol=rtol, atol=0.0, equal_nan=True)
        else:
            same = mine == other
        if not np.all(same):
            k = int(np.flatnonzero(~np.asarray(same))[0])
            return f"row {k + 1}: {column} {_plain(mine[k])!r} here, {_plain(other[k])!r} there"
    return None


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (its repr is then the plain number, or the time)."""
    return value.item() if isinstance(value, np.generic) and not isinstance(value, np.datetime64) else value


def _orders(store: SessionStore) -> pd.DataFrame:
    rows = store.table("orders")
    return pd.DataFrame({
        "time": _times([r["time"] for r in rows]),
        "symbol": pd.array([r["symbol"] for r in rows], dtype="str"),
        "target": np.array([r["target"] for r in rows], dtype=np.int64),
        "size": np.array([r["size"] for r in rows], dtype=np.float64),
        "status": pd.array([r["status"] for r in rows], dtype="str"),
        "filled_at": pd.to_datetime(pd.Series([r["filled_at"] for r in rows], dtype="Int64"), unit="ns", utc=True),
        "note": pd.array([r["note"] for r in rows], dtype="str"),
    })  # fmt: skip


def _rejected(store: SessionStore) -> pd.DataFrame:
    rows = store.table("rejected")
    return pd.DataFrame({
        "time": pd.to_datetime(pd.Series([r["time"] for r in rows], dtype="Int64"), unit="ns", utc=True),
        "symbol": pd.array([r["symbol"] for r in rows], dtype="str"),
        "reason": pd.array([r["reason"] for r in rows], dtype="str"),
        "raw": pd.array([r["raw"] for r in rows], dtype="str"),
        "seen_at": pd.array([r["seen_at"] for r in rows], dtype="str"),
    })  # fmt: skip


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write through a temporary file renamed into place: a reader (the report, the REST API) never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp)
    tmp.replace(path)
