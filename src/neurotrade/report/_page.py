"""``write_report``: one self-contained HTML page per run, readable offline.

plotly.js is embedded once, in the first figure; the others reference the global ``Plotly`` it defines. Sections
whose inputs the run folder lacks are left out, and the page says which were left out, so an absent chart is
never mistaken for an empty one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from neurotrade.report import _figures as figures
from neurotrade.report import _universe as universe
from neurotrade.report._cpcv import cpcv_parts
from neurotrade.report._cpcv import headline as cpcv_headline
from neurotrade.report._forecasts import forecast_parts
from neurotrade.report._html import format_value, table
from neurotrade.report._reading import RunData, read_run
from neurotrade.report._sizing import exit_reasons_table, sizing_parts

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
FOLD_COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades")
# Said in words under the summary table rather than as rows that only the strategy's column could fill.
DEFLATED_KEYS = frozenset({"deflated_sharpe_excess", "deflated_sharpe_absolute", "trials", "trials_source"})
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1320px;padding:16px 24px;
color:#222}
h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;margin-top:0}.note{color:#8a5a00;background:#fff6e0;padding:6px 10px;border-radius:4px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}th,td{padding:4px 10px;
border-bottom:1px solid #eee;text-align:right}td{white-space:nowrap}.scroll{overflow-x:auto}
th:first-child,td:first-child{text-align:left}thead th{background:#f6f6f6}
ol.rules li{font-family:ui-monospace,Menlo,monospace;font-size:13px;margin:2px 0}
"""


def write_report(run_dir: Path, *, bundle_dir: Path | None = None) -> Path:
    """Write ``report.html`` into a run folder: one file, plotly embedded, no network requests.

    Sections: summary (strategy beside buy-and-hold and the baselines), equity and drawdown, price with the
    trades marked (or the decisions when the bars cannot be loaded), per-fold metrics, learning curves, confusion
    matrix; and, when the run folder or bundle holds them, calibration, feature importance, attention maps, the
    regime latent, ensemble weights and fuzzy rules.

    A universe run (``metrics.json`` with ``aggregate.universe``) shows its shared-cash portfolio instead: the
    run's warnings first, the portfolio beside equal-weight buy-and-hold and the baselines' portfolios, its
    equity and drawdown, a table of each symbol (alone, and its contribution inside the portfolio), the
    contributions and the exposure by symbol over time, and each symbol's price with its trades (a menu picks
    the symbol); then the folds and the pooled model as for one symbol.

    Parameters
    ----------
    run_dir
        A run folder written by ``neurotrade run`` (``runs/<strategy>/<tf>_vN``).
    bundle_dir
        The model bundle for the learning curves and the bars' spec; default: ``bundle_path`` in the run's
        ``metrics.json``.

    Returns
    -------
    Path
        The report file, ``run_dir / "report.html"``.

    Raises
    ------
    StoreError
        When the run folder or one of its files is missing or unreadable.

    Examples
    --------
    >>> import pandas as pd, json
    >>> run = Path("runs/demo/1d_v1"); run.mkdir(parents=True)
    >>> idx = pd.date_range("2024-01-01", periods=3, tz="UTC", name="time")
    >>> pd.DataFrame({"strategy": [1.0, 1.1, 1.05], "buy_and_hold": [1.0, 0.9, 1.2]}, idx).to_parquet(
    ...     run / "equity.parquet")
    >>> _ = (run / "metrics.json").write_text(json.dumps({"aggregate": {"strategy": {"sharpe": 1.2}}}))
    >>> write_report(run).name
    'report.html'
    """
    data = read_run(run_dir, bundle_dir=bundle_dir)
    sections, skipped = _sections(data)
    body = []
    first_figure = True
    for title, parts in sections:
        rendered = []
        for part in parts:
            if isinstance(part, go.Figure):
                rendered.append(
                    part.to_html(
                        full_html=False,
                        include_plotlyjs=first_figure,
                        config={"displaylogo": False, "responsive": True},
                    )
                )
                first_figure = False
            else:
                rendered.append(part)
        body.append(f"<section><h2>{html.escape(title)}</h2>\n" + "\n".join(rendered) + "</section>")
    if skipped:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in skipped)
        body.append(f"<section><h2>Not in this run</h2><ul>{items}</ul></section>")
    name = _name(data)
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(name)}: neurotrade report</title><style>{CSS}</style></head><body>\n"
        f"<h1>{html.escape(name)}</h1><p class='meta'>{html.escape(_meta(data))}</p>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    out = Path(run_dir) / REPORT_NAME
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    log.debug("wrote %s (%d sections, %d left out)", out, len(sections), len(skipped))
    return out


def _name(data: RunData) -> str:
    paper = data.metrics.get("paper")
    if paper:
        return f"{(data.spec or {}).get('name', data.run_dir.name)} (paper session {paper.get('session', '?')})"
    if data.spec and data.spec.get("name"):
        return f"{data.spec['name']} ({data.run_dir.name})"
    return f"{data.run_dir.parent.name} ({data.run_dir.name})"


def _meta(data: RunData) -> str:
    window = data.metrics.get("aggregate", {}).get("window", {})
    parts = []
    paper = data.metrics.get("paper")
    if paper:
        parts.append(
            f"paper traded {window.get('first', '?')[:10]} to {window.get('last', '?')[:10]} on {paper['feed']}"
        )
    elif window:
        parts.append(f"out of sample {window.get('first', '?')[:10]} to {window.get('last', '?')[:10]}")
    if data.universe:
        symbols = data.metrics.get("aggregate", {}).get("universe", {}).get("symbols") or data.metrics["symbols"]
        parts.append(f"universe of {len(symbols)} symbols, one shared-cash portfolio")
    if data.metrics.get("bundle"):
        parts.append(f"model bundle {data.metrics['bundle']}")
    model = data.metrics.get("model", {})
    if model.get("type"):
        parts.append(f"model {model['type']}")
    return " · ".join(parts)


Section = tuple[str, list[Any]]


def _sections(data: RunData) -> tuple[list[Section], list[str]]:
    sections, skipped = _universe_head(data) if data.universe else _single_head(data)
    _model_sections(data, sections, skipped)
    return sections, skipped


def _single_head(data: RunData) -> tuple[list[Section], list[str]]:
    """One symbol's sections: summary, equity, CPCV paths, price and trades, sizing, forecasts."""
    aggregate = data.metrics.get("aggregate", {})
    sections: list[Section] = []
    skipped: list[str] = []

    summary = _summary_table(aggregate, names={"strategy": "paper"} if data.metrics.get("paper") else None)
    cpcv = aggregate.get("cpcv")
    if summary:
        # With CPCV the strategy column is one path of many: say so before anyone reads it as the result.
        headline = [f"<p class='note'>{html.escape(cpcv_headline(cpcv))}</p>"] if cpcv else []
        headline += paper_notes(data.metrics.get("paper"))
        sections.append(("Summary", [*headline, summary, *_deflated_note(aggregate.get("strategy", {}))]))
    else:
        skipped.append("summary: metrics.json has no aggregate strategy metrics")
    sections.append(("Equity and drawdown", [figures.equity_figure(data.equity)]))
    if cpcv:
        sections.append(("CPCV paths", cpcv_parts(cpcv, data.paths)))

    if data.bars is not None:
        sections.append(("Price and trades", [figures.price_figure(data.bars, data.trades)]))
    else:
        note = f"<p class='note'>No price chart: {html.escape(data.bars_note)}. Showing the decisions instead.</p>"
        if data.decisions is not None:
            sections.append(("Decisions", [note, figures.decisions_figure(data.decisions, data.equity)]))
        else:
            skipped.append(f"price and decisions: {data.bars_note}, and decisions.parquet is missing")
    if data.trades is not None and len(data.trades):
        sections[-1][1].append(_trades_summary(data.trades))
        if "exit_reason" in data.trades.columns:
            sections[-1][1].append(exit_reasons_table(data.trades))

    sizing = sizing_parts(aggregate.get("sizing"), data.decisions)
    if sizing:
        sections.append(("Position sizing", sizing))
    forecasts = forecast_parts(aggregate.get("forecasts"), data.forecasts, data.decisions)
    if forecasts:
        sections.append(("Forecasts (test windows)", forecasts))

    return sections, skipped


def _universe_head(data: RunData) -> tuple[list[Section], list[str]]:
    """A universe's sections: the portfolio (warnings first), its equity, each symbol's record and contribution,
    exposure over time and each symbol's price. One symbol's price, decision and sizing charts would show one
    symbol as if it were the run, or stack every symbol's trace on one time axis: they are left out."""
    aggregate = data.metrics.get("aggregate", {})
    symbols = data.metrics.get("symbols") or {}
    sections: list[Section] = []
    skipped: list[str] = []

    portfolio: list[Any] = [
        *paper_notes(data.metrics.get("paper")),
        *universe.warnings_note(aggregate.get("warnings", [])),
        universe.settings_text(aggregate.get("universe", {}), data.spec),
    ]
    summary = _summary_table(aggregate, names=universe.SUMMARY_NAMES)
    if summary:
        portfolio += [summary, *_deflated_note(aggregate.get("strategy", {}))]
    else:
        skipped.append("portfolio summary: metrics.json has no aggregate strategy metrics")
    if data.trades is not None and len(data.trades):
        portfolio.append(_trades_summary(data.trades))
        if "exit_reason" in data.trades.columns:
            portfolio.append(exit_reasons_table(data.trades))
    sections.append(("Portfolio", portfolio))
    sections.append(("Portfolio equity and drawdown", [universe.portfolio_figure(data.equity)]))
    if symbols:
        sections.append(("Per symbol", [universe.symbols_table(symbols, aggregate), universe.SYMBOLS_NOTE]))
        sections.append(("Contribution by symbol", [universe.contribution_figure(symbols)]))
    else:
        skipped.append("per symbol: metrics.json has no per-symbol metrics")
    if data.exposure is not None and len(data.exposure.columns):
        gross = data.equity["gross_exposure"] if "gross_exposure" in data.equity.columns else None
        sections.append(("Exposure over time", [universe.exposure_figure(data.exposure, gross)]))
    else:
        skipped.append("exposure over time: no exposure.parquet in the run folder")
    price = universe.price_parts(data.symbol_bars, data.trades)
    if price:
        sections.append(("Price and trades by symbol", price))
    else:
        skipped.append(f"price and trades by symbol: {data.bars_note}")
    skipped.append(
        "decision and entry-size charts: not drawn for a universe; every symbol's decision trace is in "
        "decisions.parquet (column symbol)"
    )
    return sections, skipped


def _model_sections(data: RunData, sections: list[Section], skipped: list[str]) -> None:
    """The sections one symbol and a universe share: folds, learning, classification and the model's insides."""
    aggregate = data.metrics.get("aggregate", {})
    folds = _folds_table(data.metrics.get("folds", []))
    if folds:
        sections.append(("Per fold", [folds]))

    histories = _histories(data)
    if histories:
        sections.append(("Learning curves", [figures.learning_figure(histories)]))
    else:
        skipped.append("learning curves: no training history in metrics.json folds or the bundle's training.json")

    classification = aggregate.get("classification", {})
    if classification.get("confusion_matrix"):
        classes = list(classification.get("per_class", {})) or [
            str(i) for i in range(len(classification["confusion_matrix"]))
        ]
        sections.append(
            ("Confusion matrix (test windows)", [figures.confusion_figure(classification["confusion_matrix"], classes)])
        )
    else:
        skipped.append("confusion matrix: metrics.json has no aggregate classification")

    if data.calibration and data.calibration.get("bins"):
        sections.append(("Calibration (validation rows)", [figures.calibration_figure(data.calibration["bins"])]))
    else:
        skipped.append("calibration: no calibration.json in the run folder")
    if data.importance:
        sections.append(("Feature importance (validation rows)", [figures.importance_figure(data.importance)]))
    else:
        skipped.append("feature importance: no importance.json in the run folder")
    if data.attention:
        sections.append(("Attention (test window)", [figures.attention_figure(data.attention)]))
    if data.latent is not None and len(data.latent):
        sections.append(("Regime latent (test windows)", [figures.latent_figure(data.latent)]))
    model = data.metrics.get("model", {})
    if model.get("member_weights"):
        sections.append(("Ensemble", [figures.weights_figure(model["member_weights"])]))
    if model.get("rules"):
        items = "".join(f"<li>{html.escape(str(rule))}</li>" for rule in model["rules"])
        sections.append(("Fuzzy rules (strongest first)", [f"<ol class='rules'>{items}</ol>"]))
    warnings = aggregate.get("warnings", [])
    if warnings:
        items = "".join(f"<li>{html.escape(str(w))}</li>" for w in warnings)
        sections.append(
            ("Warnings", [f"<details><summary>{len(warnings)} warnings</summary><ul>{items}</ul></details>"])
        )


def _summary_table(aggregate: Mapping[str, Any], *, names: Mapping[str, str] | None = None) -> str:
    """Metrics down, models across: strategy (with meta-labelling: primary + meta, then the primary signal alone),
    buy-and-hold, then each baseline; classification rows last. ``names`` renames columns (a universe's
    ``strategy`` is its portfolio)."""
    columns: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = []
    primary = aggregate.get("primary")
    if aggregate.get("strategy"):
        name = "primary + meta" if primary else "strategy"
        columns.append((name, aggregate["strategy"], aggregate.get("classification", {})))
    if aggregate.get("backtest"):  # a paper session, beside the backtest of the same bars
        columns.append(("backtest, same bars", aggregate["backtest"], {}))
    if primary:
        columns.append(("primary alone", primary, {}))
    if aggregate.get("buy_and_hold"):
        columns.append(("buy and hold", aggregate["buy_and_hold"], {}))
    for name, baseline in aggregate.get("baselines", {}).items():
        columns.append(
            (f"{name.replace('_', ' ')} baseline", baseline.get("strategy", {}), baseline.get("classification", {}))
        )
    if not columns:
        return ""
    keys: list[str] = []
    for _, trading, _ in columns:
        keys += [
            k for k, v in trading.items() if k not in keys and k not in DEFLATED_KEYS and not isinstance(v, dict | list)
        ]
    rows = [(k.replace("_", " "), [format_value(k, trading.get(k)) for _, trading, _ in columns]) for k in keys]
    for key in ("accuracy", "log_loss", "ece"):
        if any(key in cls for _, _, cls in columns):
            rows.append(
                (f"classifier {key.replace('_', ' ')}", [format_value(key, cls.get(key)) for _, _, cls in columns])
            )
    rename = names or {}
    return table(["metric", *[rename.get(name, name) for name, _, _ in columns]], rows)


def paper_notes(paper: Mapping[str, Any] | None) -> list[str]:
    """A paper session in words: its feed and bars, the bars it rejected, model switches, and whether it traded
    exactly what the backtest of the same bars trades (HTML; nothing for a run).

    Examples
    --------
    >>> paper_notes({"session": "s", "feed": "replay", "steps": 500, "bars": 500, "rejected": 2,
    ...              "parity": {"matches": True, "trades": 30}})[1]
    '<p>The paper trades are exactly the 30 trades of the backtest of the same bars.</p>'
    """
    if not paper:
        return []
    text = (
        f"Paper session <b>{html.escape(str(paper.get('session')))}</b> on {html.escape(str(paper.get('feed')))}: "
        f"{paper.get('bars')} bars in {paper.get('steps')} steps, {paper.get('rejected', 0)} rejected (never "
        "traded; listed in rejected.parquet). Positions still open are closed at the last close here, as a backtest "
        "closes them at the end of its data."
    )
    notes = [f"<p>{text}</p>"]
    parity = paper.get("parity")
    if parity and parity.get("matches"):
        notes.append(
            f"<p>The paper trades are exactly the {parity['trades']} trades of the backtest of the same bars.</p>"
        )
    elif parity:
        notes.append(
            "<p class='note'>The paper trades differ from the backtest of the same bars: "
            f"{html.escape(str(parity.get('difference')))}. {html.escape(str(parity.get('note') or ''))}</p>"
        )
    elif paper.get("backtest"):
        notes.append(f"<p>Backtest of the same bars {html.escape(str(paper['backtest']))}.</p>")
    for flag in paper.get("drift") or []:
        what = f"PSI of {flag['feature']}" if flag.get("feature") else f"{flag['kind']} gap"
        notes.append(
            f"<p class='note'>Drift at {html.escape(str(flag['time']))}: {html.escape(what)} {flag['value']:.3g} "
            f"above {flag['threshold']:g} (model {html.escape(str(flag.get('bundle')))}).</p>"
        )
    for switch in paper.get("switches") or []:
        notes.append(
            f"<p>From {html.escape(str(switch['time']))} the model is {html.escape(str(switch['bundle']))} "
            f"({html.escape(str(switch.get('note') or 'switched'))}).</p>"
        )
    return notes


def _deflated_note(strategy: Mapping[str, Any]) -> list[str]:
    """The deflated Sharpe ratios in words: the excess over buy-and-hold first, the absolute one beside it, and
    how many trials were counted, from where."""
    if "trials" not in strategy:
        return []
    excess, absolute = strategy.get("deflated_sharpe_excess"), strategy.get("deflated_sharpe_absolute")
    text = (
        f"Deflated Sharpe ratio of the excess return over buy-and-hold: <b>{format_value('dsr', excess)}</b> "
        f"(absolute, against zero: {format_value('dsr', absolute)}), counting {int(strategy['trials'])} trial(s) "
        f"({html.escape(str(strategy.get('trials_source', 'given')))}). It is the probability that the true Sharpe "
        "ratio beats what the best of that many configurations without skill would show by luck."
    )
    return [f"<p>{text}</p>"]


def _folds_table(folds: Sequence[Mapping[str, Any]]) -> str:
    """One row per fold (CPCV: per split); the decision layer's fitted expected move and horizon, and the primary
    signal's return alone, only when some fold has them."""
    if not folds:
        return ""
    fitted = any(fold.get("decisions") for fold in folds)
    primary = any(fold.get("primary") for fold in folds)
    pooled = any("symbols" in fold for fold in folds)  # a universe: samples of every symbol, one portfolio
    header = ["fold", "test window", *(["symbols"] if pooled else [])]
    header += ["train samples", "test samples", "best epoch", "test accuracy", "test log loss"]
    header += [k.replace("_", " ") for k in FOLD_COLUMNS] + ["buy & hold return"]
    if primary:
        header.append("primary alone return")
    if fitted:
        header += ["expected move", "horizon (bars)"]
    rows = []
    for fold in folds:
        window = fold.get("window", {})
        split = fold.get("split", {})
        test = fold.get("classification", {}).get("test", {})
        strategy = fold.get("strategy", {})
        cells = [
            html.escape(f"{window.get('first', '?')[:10]} to {window.get('last', '?')[:10]}"),
            *([format_value("symbols", fold.get("symbols"))] if pooled else []),
            format_value("samples", split.get("train", {}).get("samples")),
            format_value("samples", split.get("test", {}).get("samples")),
            format_value("best_epoch", fold.get("training", {}).get("best_epoch")),
            format_value("accuracy", test.get("accuracy")),
            format_value("log_loss", test.get("log_loss")),
            *[format_value(k, strategy.get(k)) for k in FOLD_COLUMNS],
            format_value("total_return", fold.get("buy_and_hold", {}).get("total_return")),
        ]
        if primary:
            cells.append(format_value("total_return", (fold.get("primary") or {}).get("total_return")))
        if fitted:
            decisions = fold.get("decisions") or {}
            move = decisions.get("expected_move_pct")
            # Saved in percent already: formatted here rather than as a fraction by format_value.
            cells.append("–" if move is None else f"{move:.3f}%")
            cells.append(format_value("horizon", decisions.get("horizon")))
        rows.append((str(fold.get("fold", len(rows) + 1)), cells))
    return table(header, rows)


def _trades_summary(trades: Any) -> str:
    wins = int((trades["pnl"] > 0).sum())
    longs = int((trades["side"] == "long").sum())
    return (
        f"<p>{len(trades)} trades ({longs} long, {len(trades) - longs} short), {wins} winners; "
        f"total P&amp;L {trades['pnl'].sum():,.2f} after {trades['costs'].sum():,.2f} costs.</p>"
    )


def _histories(data: RunData) -> dict[str, list[dict[str, Any]]]:
    """Each fold's history from metrics.json when the run saved them, else the bundle's (last fold's) one."""
    out = {
        f"fold {fold.get('fold', i + 1)}": fold["training"]["history"]
        for i, fold in enumerate(data.metrics.get("folds", []))
        if fold.get("training", {}).get("history")
    }
    if not out and data.training and data.training.get("history"):
        label = f"fold {data.training['fold']}" if "fold" in data.training else "model"
        out[label] = data.training["history"]
    return out
