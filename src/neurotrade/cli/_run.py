"""``neurotrade run`` and ``neurotrade validate``: parse, call the library, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from neurotrade.cli._app import app
from neurotrade.cli._context import console, state
from neurotrade.config import load_strategy
from neurotrade.errors import ConfigError
from neurotrade.pipeline import ProgressEvent, RunResult, run

DEFAULT_STRATEGY = Path("strategies") / "default.yaml"


def default_strategy() -> Path:
    """``strategies/default.yaml`` under the current folder (the repository's default strategy)."""
    if DEFAULT_STRATEGY.is_file():
        return DEFAULT_STRATEGY
    raise ConfigError(
        f"no strategy given and {DEFAULT_STRATEGY} does not exist here; pass a strategy file, e.g. "
        "`neurotrade run path/to/strategy.yaml`, or run from the repository root"
    )


@app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Strategy YAML files to check.", show_default=False)],
) -> None:
    """Check strategy files: print OK, or every error as file:line key.path: message."""
    failed = 0
    for file in files:
        try:
            load_strategy(file)
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
            help="Strategy YAML. Default: strategies/default.yaml (AAPL daily, bundled data).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the strategy's model, backtest it on the held-out test window and save a versioned bundle."""
    home = state(ctx).home
    spec = load_strategy(strategy or default_strategy())
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None, detail="")

        def show(event: ProgressEvent) -> None:
            if event.epoch is None:
                bar.update(task, description=event.message, total=None, completed=0, detail="")
                console.print(f"[dim]·[/] {escape(event.message)}", highlight=False)
                return
            e = event.epoch
            bar.update(
                task,
                description=event.message.rsplit(":", 1)[0] if ":" in event.message else "training",
                total=e.epochs,
                completed=e.epoch,
                detail=f"train {e.train_loss:.4f}  val {e.val_loss:.4f}  best {e.best_val_loss:.4f}",
            )

        result = run(spec, home=home, progress=show)
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
    table = Table(title="Out-of-sample backtest (every fold's test window, chained)", title_justify="left")
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    rows = [
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
    for label, key, fmt in rows:
        table.add_row(label, fmt(ours.get(key)), fmt(hold.get(key)))
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
    console.print(f"bundle  {escape(str(result.bundle.path))}  (the last fold's model)", highlight=False)
    console.print(f"run     {escape(str(result.run_dir))}", highlight=False)


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
