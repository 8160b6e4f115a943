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
) -> None:
    """Evaluate the strategy out of sample (walk-forward by default), beside buy-and-hold and two baselines,
    and save the last fold's model as a versioned bundle."""
    from neurotrade.config import load_strategy
    from neurotrade.pipeline import run

    home = state(ctx).home
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

        result = run(spec, home=home, progress=show, resume=resume)
    render_summary(result)


def render_summary(result: RunResult) -> None:
    """Out-of-sample metrics of the strategy beside buy-and-hold over the same bars, per fold and chained."""
    aggregate, folds = result.metrics["aggregate"], result.metrics["folds"]
    ours, hold = aggregate["strategy"], aggregate["buy_and_hold"]
    spec = result.strategy
    console.print()
    console.print(
        f"[bold]{escape(spec.name)}[/]  {escape(spec.data.instrument)} {escape(spec.data.timeframe)}  "
        f"{spec.split.method.replace('_', '-')} over {len(folds)} fold(s), out of sample "
        f"{aggregate['window']['first'][:10]} → {aggregate['window']['last'][:10]}",
        highlight=False,
    )
    baselines = aggregate.get("baselines", {})
    table = Table(title="Out-of-sample backtest (every fold's test window, chained)", title_justify="left")
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    for name in baselines:
        table.add_column(name.replace("_", " "), justify="right")
    for label, key, fmt in METRIC_ROWS:
        others = [fmt(b["strategy"].get(key)) for b in baselines.values()]
        table.add_row(label, fmt(ours.get(key)), fmt(hold.get(key)), *others)
    console.print(table)
    if len(folds) > 1:
        per_fold = Table(title="Per fold", title_justify="left")
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
        console.print(
            f"classifier on {test['samples']} labelled test samples: accuracy {test['accuracy']:.3f} "
            f"(always {test['majority_class']}: {test['majority_rate']:.3f}), log loss {test['log_loss']:.3f}",
            highlight=False,
        )
        for name, baseline in baselines.items():
            b = baseline["classification"]
            console.print(
                f"  {name.replace('_', ' ')} baseline: accuracy {b['accuracy']:.3f}, log loss {b['log_loss']:.3f}",
                highlight=False,
            )
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


def _spread(value: Any, *, pct: bool = False) -> str:
    """``mean ± std`` of a seed summary leaf."""
    if not isinstance(value, dict) or value.get("mean") is None:
        return "–"
    scale, unit = (100.0, " %") if pct else (1.0, "")
    return f"{scale * value['mean']:.3f} ± {scale * value['std']:.3f}{unit}"


def _num3(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:+.2f} %"


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
