"""``neurotrade run`` and ``neurotrade validate``: parse, call the library, render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from neurotrade._examples import example_strategy, resolve_strategy
from neurotrade.cli._app import app
from neurotrade.cli._context import console, err_console, state
from neurotrade.errors import ConfigError

# The library (pandas, torch, numba) is imported inside the commands, so `--help` and `validate` start at once.
if TYPE_CHECKING:
    from neurotrade.pipeline import ProgressEvent, RunResult

DEFAULT_STRATEGY = Path("strategies") / "default.yaml"
MAX_WARNINGS = 5


def default_strategy() -> Path:
    """``strategies/default.yaml`` under the current folder when there is one, else the packaged default."""
    if DEFAULT_STRATEGY.is_file():
        return DEFAULT_STRATEGY
    return example_strategy("default")


@app.command("validate")
def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="Strategy YAML files, or names of packaged examples, to check.", show_default=False),
    ],
) -> None:
    """Check strategy files: print OK, or every error as file:line key.path: message."""
    from neurotrade.config import load_strategy

    failed = 0
    for file in files:
        try:
            load_strategy(resolve_strategy(file))
        except ConfigError as e:
            failed += 1
            for problem in e.problems:
                console.print(f"[red]✗[/] {escape(problem)}", highlight=False, soft_wrap=True)
        else:
            console.print(f"[green]OK[/] {escape(str(file))}", highlight=False)
    if failed:
        raise typer.Exit(code=2)


@app.command("run")
def run_command(
    ctx: typer.Context,
    strategy: Annotated[
        Path | None,
        typer.Argument(
            help="Strategy YAML, or the name of a packaged example (synthetic_lstm ...). "
            "Default: strategies/default.yaml, else the packaged default (AAPL daily, bundled data).",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue each fold's training from the checkpoints of an interrupted run."),
    ] = False,
    track: Annotated[
        bool | None,
        typer.Option(
            "--track/--no-track",
            help="Log the run to MLflow (needs pip install 'neurotrade\\[track]'): to the spec's tracking.mlflow URI, "
            "else to the workspace's store (mlflow.db, artifacts in mlruns/; open it with mlflow ui "
            "--backend-store-uri sqlite:///WORKSPACE/mlflow.db). --no-track skips the spec's tracking: section. "
            "Default: as the spec says.",
            show_default=False,
        ),
    ] = None,
    track_uri: Annotated[
        str | None,
        typer.Option(
            "--track-uri",
            metavar="URI",
            help="Log the run to this MLflow tracking URI (sqlite:///path.db, http://host:5000 ...); implies --track.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            metavar="N",
            help="Train N (seed, fold) pairs at once as Ray tasks, cores / N CPUs each (needs pip install "
            "'neurotrade\\[tune]'); each computes on this run's thread count (--threads), so the results equal the "
            "sequential run's bit for bit on the CPU. Default: 1, one after another without Ray.",
        ),
    ] = 1,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            metavar="ADDR",
            help="Run the --workers tasks on this Ray cluster (auto, or HOST:PORT of its head). Default: a local Ray.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Evaluate the strategy out of sample (walk-forward by default), beside buy-and-hold and two baselines,
    and save the last fold's model as a versioned bundle."""
    from neurotrade.config import load_strategy
    from neurotrade.pipeline import run

    home = state(ctx).home
    if track is False and track_uri:
        raise ConfigError("--no-track and --track-uri contradict each other: give one of them")
    spec = load_strategy(resolve_strategy(strategy) if strategy else default_strategy())
    # The bar, the stage lines and the log handler share stderr's console, so a warning printed mid-training
    # lands above the bar instead of being glued onto it; the summary goes to stdout.
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None, detail="")

        def show(event: ProgressEvent) -> None:
            if event.epoch is None:
                err_console.print(f"[dim]·[/] {escape(event.message)}", highlight=False)
                bar.update(task, description=event.message, total=event.total, completed=event.done or 0, detail="")
                return
            e = event.epoch
            bar.update(
                task,
                description=event.message,
                total=event.total,
                completed=event.done,
                detail=f"train {e.train_loss:.4f}  val {e.val_loss:.4f}  best {e.best_val_loss:.4f}",
            )

        result = run(
            spec,
            home=home,
            progress=show,
            resume=resume,
            track=track_uri or track,
            workers=workers,
            address=address,
        )
    render_summary(result)
    render_tracking(result, track_uri or track, home)


def render_tracking(result: RunResult, track: str | bool | None, home: Path | None) -> None:
    """One line: the MLflow run the run was logged as, or that logging it failed (the warning above says why)."""
    from neurotrade._workspace import resolve_home
    from neurotrade.tracking import display_uri, requested_uri

    uri = requested_uri(track, result.strategy, resolve_home(home))
    if uri is None:
        return
    if result.tracked:
        console.print(
            f"tracked  mlflow run {result.tracked} in {escape(display_uri(uri))}", highlight=False, soft_wrap=True
        )
    else:
        console.print(
            f"[yellow]tracked  not logged to MLflow at {escape(display_uri(uri))}[/] (the warning above says why); "
            "the run itself is saved",
            highlight=False,
            soft_wrap=True,
        )


def render_summary(result: RunResult) -> None:
    """Out-of-sample metrics of the strategy beside buy-and-hold over the same bars, per fold and chained; with
    CPCV the spread over every path, with meta-labelling the primary signal alone, and the forecasts' quality,
    the sizes and the exits when the run has them."""
    aggregate, folds = result.metrics["aggregate"], result.metrics["folds"]
    ours, hold = aggregate["strategy"], aggregate["buy_and_hold"]
    primary = aggregate.get("primary")
    cpcv = aggregate.get("cpcv")
    spec = result.strategy
    console.print()
    console.print(
        f"[bold]{escape(spec.name)}[/]  {escape(spec.data.instrument)} {escape(spec.data.timeframe)}  "
        f"{spec.split.method.replace('_', '-')} over {len(folds)} {'split' if cpcv else 'fold'}(s), out of sample "
        f"{aggregate['window']['first'][:10]} → {aggregate['window']['last'][:10]}",
        highlight=False,
    )
    baselines = aggregate.get("baselines", {})
    title = "Out-of-sample backtest (every fold's test window, chained)"
    universe = aggregate.get("universe")
    if universe:
        title = (
            f"Out-of-sample portfolio of {len(universe['symbols'])} symbols, one cash account (every fold's test "
            "window, chained); buy & hold: equal weight"
        )
    if cpcv:
        title = f"Out-of-sample backtest (CPCV: the median path {cpcv.get('shown_path')} of {len(cpcv['paths'])})"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    # Each column is filled from its own metrics below, in this order: strategy, primary alone, buy & hold, ...
    columns: list[tuple[str, dict[str, Any]]] = [("primary + meta" if primary else "strategy", ours)]
    if primary:
        columns.append(("primary alone", primary))
    columns.append(("buy & hold", hold))
    columns += [(name.replace("_", " "), b["strategy"]) for name, b in baselines.items()]
    for name, _ in columns:
        table.add_column(name, justify="right")
    for label, key, fmt in METRIC_ROWS:
        table.add_row(label, *[fmt(metrics.get(key)) for _, metrics in columns])
    console.print(table)
    for name, metrics in columns:  # a margin call leaves no Sharpe ratio: say why the cell is empty
        if metrics.get("ruined"):
            console.print(f"[bold red]ruined:[/] {name}: a margin call at {metrics['ruined'][:10]}", highlight=False)
    for line in cpcv_lines(cpcv):
        console.print(line, highlight=False)
    if len(folds) > 1:
        per_fold = Table(title="Per split" if cpcv else "Per fold", title_justify="left")
        for column in ("fold", "test window", "accuracy", "majority", "strategy", "buy & hold", "trades"):
            per_fold.add_column(column, justify="left" if column == "test window" else "right")
        for fold in folds:
            test = fold["classification"]["test"]
            per_fold.add_row(
                str(fold["fold"]),
                f"{fold['window']['first'][:10]} → {fold['window']['last'][:10]}",
                _num3(test.get("accuracy")),
                _num3(test.get("majority_rate")),
                _pct(fold["strategy"].get("total_return")),
                _pct(fold["buy_and_hold"].get("total_return")),
                _int(fold["strategy"].get("trades")),
            )
        console.print(per_fold)
    if universe:
        for line in universe_lines(universe, result.metrics.get("symbols", {})):
            console.print(line)
    if "trials" in ours:
        console.print(
            f"deflated Sharpe ratio of the excess over buy & hold {_num3(ours.get('deflated_sharpe_excess'))} "
            f"(absolute, against zero: {_num3(ours.get('deflated_sharpe_absolute'))}); the probability that the "
            f"true Sharpe beats the best of that many trials by luck. Trials counted: {ours['trials']} "
            f"({escape(str(ours.get('trials_source', 'given')))})",
            highlight=False,
        )
    signals = ", ".join(f"{name} {count}" for name, count in aggregate["signals"].items())
    console.print(
        f"signals out of sample (confidence threshold {spec.decisions.confidence_threshold:g}): {signals}",
        highlight=False,
    )
    test = aggregate["classification"]
    if test.get("samples"):
        # CPCV tests every sample in several splits: the count is of predictions, each sample's once per path.
        what = f"test predictions ({len(cpcv['paths'])} per labelled sample)" if cpcv else "labelled test samples"
        console.print(
            f"classifier on {test['samples']} {what}: accuracy {test['accuracy']:.3f} "
            f"(always {test['majority_class']}: {test['majority_rate']:.3f}), log loss {test['log_loss']:.3f}",
            highlight=False,
        )
        for name, baseline in baselines.items():
            b = baseline["classification"]
            console.print(
                f"  {name.replace('_', ' ')} baseline: accuracy {b['accuracy']:.3f}, log loss {b['log_loss']:.3f}",
                highlight=False,
            )
    for line in [*forecast_lines(aggregate.get("forecasts")), *sizing_lines(aggregate.get("sizing"), result.trades)]:
        console.print(line, highlight=False)
    seeds = result.metrics.get("seeds")
    if seeds:
        summary = seeds["aggregate"]
        console.print(
            f"over seeds {seeds['seeds']}: accuracy {_spread(summary['classification']['accuracy'])}, "
            f"Sharpe {_spread(summary['strategy']['sharpe'])}, "
            f"total return {_spread(summary['strategy']['total_return'], pct=True)}",
            highlight=False,
        )
    model = result.metrics.get("model", {})
    for rule in model.get("rules", [])[:5]:
        console.print(f"  rule: {escape(rule)}", highlight=False)
    if "member_weights" in model:
        weights = ", ".join(f"{w:.2f}" for w in model["member_weights"])
        console.print(f"  ensemble member weights (test window mean): {weights}", highlight=False)
    warnings = aggregate.get("warnings", [])
    for warning in warnings[:MAX_WARNINGS]:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if len(warnings) > MAX_WARNINGS:
        console.print(
            f"[yellow]warning:[/] … and {len(warnings) - MAX_WARNINGS} more (aggregate.warnings in metrics.json)",
            highlight=False,
        )
    console.print(f"bundle  {escape(str(result.bundle.path))}  (the last fold's model)", highlight=False)
    console.print(f"run     {escape(str(result.run_dir))}", highlight=False)
    console.print(f"report  {escape(str(result.run_dir / 'report.html'))}", highlight=False)


def universe_lines(universe: dict[str, Any], symbols: dict[str, Any]) -> list[Any]:
    """How the portfolio was held (exposure, likeness to buy-and-hold) and each symbol's numbers: traded alone
    with the whole equity beside its buy-and-hold, and what its trades added to the portfolio.

    Examples
    --------
    >>> universe = {"symbols": ["A"], "position_fraction": 0.25, "selection": "all",
    ...     "exposure": {"mean_gross": 0.3, "buy_and_hold_mean_gross": 1.0}, "correlation_with_buy_and_hold": 0.5}
    >>> print(universe_lines(universe, {})[0])
    each new position takes 25.0 % of the equity (selection: all); invested 30.0 % on average (buy & hold 100.0 %), returns correlated 0.50 with buy & hold
    """  # noqa: E501
    exposure = universe.get("exposure", {})
    lines: list[Any] = [
        f"each new position takes {_share(universe.get('position_fraction'))} of the equity (selection: "
        f"{universe.get('selection')}); invested {_share(exposure.get('mean_gross'))} on average (buy & hold "
        f"{_share(exposure.get('buy_and_hold_mean_gross'))}), returns correlated "
        f"{_num(universe.get('correlation_with_buy_and_hold'))} with buy & hold"
    ]
    if not symbols:
        return lines
    table = Table(
        title="Per symbol: alone (its decisions, the whole equity) and its P&L in the portfolio", title_justify="left"
    )
    for column in ("symbol", "accuracy", "always", "BUY", "alone", "B&H", "trades", "portfolio"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for symbol, m in symbols.items():
        signals = m.get("signals", {})
        total = sum(signals.values()) or 1
        table.add_row(
            escape(symbol),
            _num3(m["classification"].get("accuracy")),
            _num3(m["classification"].get("majority_rate")),
            f"{100 * signals.get('BUY', 0) / total:.0f}%",
            _short_pct(m["strategy"].get("total_return")),
            _short_pct(m["buy_and_hold"].get("total_return")),
            _int(m["strategy"].get("trades")),
            f"{m['contribution']['pnl_pct']:+.1f}%",
        )
    lines.append(table)
    return lines


def cpcv_lines(cpcv: dict[str, Any] | None) -> list[str]:
    """The spread of the Sharpe ratio over every CPCV path, and which path the headline numbers are.

    Examples
    --------
    >>> cpcv = {"groups": 6, "test_groups": 2, "splits": 15, "shown_path": 3, "paths": [{}] * 5,
    ...         "sharpe": {"mean": 0.5, "std": 0.25, "min": -0.1, "median": 0.45, "max": 0.9, "positive_share": 0.8}}
    >>> for line in cpcv_lines(cpcv): print(line)
    CPCV: 5 paths from 15 splits of 6 groups, 2 tested per split; path Sharpe 0.50 ± 0.25 (mean ± std)
      min -0.10, median 0.45, max 0.90; 80.0 % of paths positive
    headline: median path 3 of 5 (the table above is that path, not the best one)
    >>> cpcv["sharpe"] |= {"ruined": 2, "min": None}
    >>> print(cpcv_lines(cpcv)[2])
      2 of 5 paths ruined (a margin call): no Sharpe ratio, ranked below every other
    >>> cpcv_lines(None)
    []
    """
    if not cpcv:
        return []
    sharpe, n = cpcv.get("sharpe", {}), len(cpcv.get("paths", []))
    ruined, undefined = sharpe.get("ruined") or 0, sharpe.get("undefined") or 0
    over = f" over {n - ruined - undefined} of them" if ruined or undefined else ""
    lines = [
        f"CPCV: {n} paths from {cpcv.get('splits')} splits of {cpcv.get('groups')} groups, "
        f"{cpcv.get('test_groups')} tested per split; path Sharpe {_num(sharpe.get('mean'))} ± "
        f"{_num(sharpe.get('std'))} (mean ± std{over})",
        f"  min {_num(sharpe.get('min'))}, median {_num(sharpe.get('median'))}, max {_num(sharpe.get('max'))}; "
        f"{_share(sharpe.get('positive_share'))} of paths positive",
    ]
    if ruined:
        lines.append(f"  {ruined} of {n} paths ruined (a margin call): no Sharpe ratio, ranked below every other")
    if undefined:
        lines.append(f"  {undefined} of {n} paths without a Sharpe ratio (no trades), ranked below every other")
    lines.append(
        f"headline: median path {cpcv.get('shown_path')} of {n} (the table above is that path, not the best one)"
    )
    return lines


def forecast_lines(forecasts: dict[str, Any] | None) -> list[str]:
    """How the return and volatility forecasts did on the test samples (realised values known later).

    Examples
    --------
    >>> for line in forecast_lines({"return": {"samples": 90, "correlation": 0.12, "mae": 0.0081,
    ...                                        "direction_hit_rate": 0.54},
    ...                             "volatility": {"samples": 90, "correlation": None, "mae": 0.0032}}):
    ...     print(line)
    return forecast on 90 test samples: correlation with the realised return 0.120, direction hit rate 54.0 %, mean abs. error 0.0081
    volatility forecast on 90 test samples: correlation with the realised volatility –, mean abs. error 0.0032
    """  # noqa: E501
    lines = []
    if forecasts and "return" in forecasts:
        q = forecasts["return"]
        lines.append(
            f"return forecast on {q.get('samples')} test samples: correlation with the realised return "
            f"{_num3(q.get('correlation'))}, direction hit rate {_share(q.get('direction_hit_rate'))}, "
            f"mean abs. error {_num4g(q.get('mae'))}"
        )
    if forecasts and "volatility" in forecasts:
        q = forecasts["volatility"]
        lines.append(
            f"volatility forecast on {q.get('samples')} test samples: correlation with the realised volatility "
            f"{_num3(q.get('correlation'))}, mean abs. error {_num4g(q.get('mae'))}"
        )
    return lines


def sizing_lines(sizing: dict[str, Any] | None, trades: Any = None) -> list[str]:
    """The entries' sizes (share of equity) and the vetoed bars; the trades counted by how they ended.

    Examples
    --------
    >>> import pandas as pd
    >>> trades = pd.DataFrame({"exit_reason": ["signal", "atr_stop", "signal"]})
    >>> for line in sizing_lines({"entries": 3, "mean_size": 0.5, "max_size": 1.25, "vetoed_bars": 7}, trades):
    ...     print(line)
    sizing: 3 entries, mean size 0.50, largest 1.25 (share of equity); 7 bars vetoed
    exits: signal 2, atr_stop 1
    """
    lines = []
    if sizing:
        lines.append(
            f"sizing: {_int(sizing.get('entries'))} entries, mean size {_num(sizing.get('mean_size'))}, largest "
            f"{_num(sizing.get('max_size'))} (share of equity); {_int(sizing.get('vetoed_bars'))} bars vetoed"
        )
    if trades is not None and len(trades) and "exit_reason" in trades.columns:
        counts = trades["exit_reason"].astype(str).value_counts()
        lines.append("exits: " + ", ".join(f"{reason} {count}" for reason, count in counts.items()))
    return lines


def _spread(value: Any, *, pct: bool = False) -> str:
    """``mean ± std`` of a seed summary leaf."""
    if not isinstance(value, dict) or value.get("mean") is None:
        return "–"
    scale, unit = (100.0, " %") if pct else (1.0, "")
    return f"{scale * value['mean']:.3f} ± {scale * value['std']:.3f}{unit}"


def _num3(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _num4g(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:+.2f} %"


def _short_pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:+.1f}%"


def _share(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


def _int(value: Any) -> str:
    return "–" if value is None else str(int(value))


def _money(value: Any) -> str:
    return "–" if value is None else f"{value:,.2f}"


# The rows of every performance table: label, metric key, how to show it.
METRIC_ROWS = [
    ("total return", "total_return", _pct),
    ("annual return", "annual_return", _pct),
    ("volatility (ann.)", "volatility", _pct),
    ("Sharpe", "sharpe", _num),
    ("Sortino", "sortino", _num),
    ("max drawdown", "max_drawdown", _pct),
    ("win rate", "win_rate", _share),
    ("profit factor", "profit_factor", _num),
    ("trades", "trades", _int),
    ("exposure", "exposure", _share),
    ("final equity", "final_equity", _money),
]
