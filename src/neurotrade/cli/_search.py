"""``neurotrade tune`` and ``neurotrade confirm``: parse, call neurotrade.search, render."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from neurotrade._examples import resolve_strategy
from neurotrade.cli._app import app
from neurotrade.cli._context import console, state


def _eta(started: float, done: int, total: int) -> str:
    if not done or done >= total:
        return ""
    left = (time.perf_counter() - started) / done * (total - done)
    return f", about {left / 60:.0f} min left" if left >= 90 else f", about {left:.0f} s left"


@app.command("tune")
def tune_command(
    ctx: typer.Context,
    strategy: Annotated[Path, typer.Argument(help="Strategy YAML with a search: section.", show_default=False)],
    trials: Annotated[
        int | None, typer.Option(min=1, help="Finished trials the study should hold. Default: search.trials.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Trials at once. Default: Ray's CPUs / search.cpus.")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="A running Ray cluster (auto, or HOST:PORT). Default: a local Ray started for the search."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="The study's name. Default: the strategy's name.")] = None,
    track: Annotated[
        bool | None,
        typer.Option(
            "--track/--no-track",
            help="Log the study to MLflow (a parent run, each trial nested). Default: the spec's tracking: section.",
        ),
    ] = None,
    track_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (implies --track). Default: workspace/mlflow.db.")
    ] = None,
) -> None:
    """Search the strategy's search.space: Optuna samples each trial, Ray runs the trials (a local Ray, or any
    cluster with --address), the last search.holdout of the history locked away from every trial. The study is
    kept in the workspace (or search.storage), so a killed tune resumes where it stopped when run again: trials
    in flight are marked failed, the rest are run. Writes the study report; confirm the best configuration on
    the holdout, once, with `neurotrade confirm STUDY`."""
    from neurotrade.search import tune

    started = time.perf_counter()

    def show(event: Any) -> None:
        if event.stage == "trial" and event.done is not None and event.total:
            eta = _eta(started, event.done, event.total)
            console.print(f"[{event.done}/{event.total}] {escape(event.message)}{eta}", highlight=False)
        else:
            console.print(f"· {escape(event.message)}", highlight=False)

    outcome = tune(
        resolve_strategy(strategy),
        home=state(ctx).home,
        trials=trials,
        workers=workers,
        address=address,
        study=study,
        progress=show,
        track=track_uri if track_uri and track is not False else track,
    )
    table = Table(title=f"study {escape(outcome.study)}", title_justify="left", show_header=False)
    table.add_row("trials", f"{outcome.complete} complete, {outcome.pruned} pruned, {outcome.failed} failed")
    table.add_row("trials counted in the DSR", str(outcome.trials_counted))
    h = outcome.holdout
    table.add_row("locked holdout", f"{h.start[:10]} → {h.end[:10]} ({h.bars} bars, {h.fraction:.0%}), never loaded")
    if outcome.best is not None:
        table.add_row("best trial", f"{outcome.best['trial']} (objective {outcome.best['objective']:.4f})")
        for key, value in outcome.best["params"].items():
            table.add_row(f"  {escape(key)}", escape(str(value)))
    console.print(table)
    if outcome.report is not None:
        console.print(f"report  {escape(str(outcome.report))}", highlight=False, soft_wrap=True)
    console.print(f"next    neurotrade confirm {escape(outcome.study)}", highlight=False)


@app.command("confirm")
def confirm_command(
    ctx: typer.Context,
    study: Annotated[str, typer.Argument(help="The study's name (see workspace/studies).", show_default=False)],
    trial: Annotated[int | None, typer.Option(help="Confirm this trial. Default: the best complete one.")] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Look at a holdout that was looked at before (every report says so).")
    ] = False,
    storage: Annotated[str | None, typer.Option(help="The study's storage URL, if not in the workspace.")] = None,
) -> None:
    """Evaluate the study's chosen configuration on its locked holdout, once: train on the history before it,
    trade the holdout, and record the look in the workspace ledger. A second look at the same holdout is refused
    unless --again is given, and then every later report says how many times the holdout was looked at."""
    from neurotrade.search import confirm

    outcome = confirm(study, home=state(ctx).home, trial=trial, again=again, storage=storage, progress=None)
    table = Table(title=f"study {escape(study)}: trial {outcome.trial} on the locked holdout", title_justify="left")
    for column in ("metric", "in the search (walk-forward)", "on the holdout"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for key in ("sharpe", "buy_and_hold_sharpe", "excess_sharpe", "total_return", "max_drawdown", "accuracy", "dsr"):
        a, b = outcome.search.get(key), outcome.holdout.get(key)
        table.add_row(key.replace("_", " "), _number(key, a), _number(key, b))
    console.print(table)
    console.print(f"deflated Sharpe ratio counts {outcome.trials_counted} trials (the study's and the ledger's)")
    if outcome.looks > 1:
        console.print(f"[bold red]this holdout has now been looked at {outcome.looks} times[/]")
    console.print(f"run     {escape(str(outcome.run.run_dir))}", highlight=False, soft_wrap=True)


@app.command("study")
def study_command(
    ctx: typer.Context,
    study: Annotated[str, typer.Argument(help="The study's name (see workspace/studies).", show_default=False)],
    storage: Annotated[str | None, typer.Option(help="The study's storage URL, if not in the workspace.")] = None,
) -> None:
    """Write the study's report (optimisation history, parameter importances, parallel coordinates, the top
    configurations with their fold metrics and DSR, the confirmation) and print its path."""
    from neurotrade.report import write_study_report

    path = write_study_report(state(ctx).home, study, storage=storage)
    console.print(escape(str(path)), highlight=False, soft_wrap=True)


def _number(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key in ("total_return", "max_drawdown"):
        return f"{100 * value:+.2f} %"
    return f"{value:.3f}"
