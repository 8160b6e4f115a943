"""``neurotrade paper``: a saved model trading a live (or replayed) feed on a paper broker, crash-safe."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from neurotrade._examples import resolve_strategy
from neurotrade.cli._app import app
from neurotrade.cli._backtest import parse_date
from neurotrade.cli._context import console, state
from neurotrade.cli._run import METRIC_ROWS

if TYPE_CHECKING:
    from neurotrade.live import PaperStep, PaperSummary, Rejection

#: Plain output (not a terminal): a progress line every this many steps, besides fills and rejections.
PLAIN_EVERY = 500
#: The live view redraws at most this often (a fast replay would otherwise spend its time drawing).
REFRESH_S = 0.2


@app.command("paper")
def paper_command(
    ctx: typer.Context,
    strategy: Annotated[
        Path,
        typer.Argument(help="Strategy YAML, or a packaged example's name (its data names the symbols traded)."),
    ],
    model: Annotated[str, typer.Option("--model", help="Bundle version, e.g. 1d_v2, or latest.")] = "latest",
    feed: Annotated[
        str,
        typer.Option(
            "--feed",
            help="replay (the strategy's data), replay:PATH, follow:PATH (a CSV/Parquet file another process "
            "appends to) or ws://HOST:PORT (a JSON bar stream).",
        ),
    ] = "replay",
    session: Annotated[
        str | None,
        typer.Option("--session", help="Session name (its folder under HOME/paper). Default: the strategy's name."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First bar to trade (date); bars before it warm the engine up.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last bar to trade (date); the session stops after it.")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option("--speed", min=0.0, help="Pace a replay: this many times real time."),
    ] = None,
    idle: Annotated[
        float | None,
        typer.Option("--idle", min=0.0, help="Stop a follow or websocket feed after this many seconds without a bar."),
    ] = None,
) -> None:
    """Paper trade a saved model on a feed of closed bars: the backtest's engine, fills and costs, bar by bar.

    Each bar goes through the decision engine into a paper broker that fills as the backtest does (next open,
    commission, slippage, stops) and is committed to HOME/paper/SESSION/state.sqlite in one transaction. Killed
    at any moment, the same command goes on from the last committed bar. The session folder holds the same
    decision trace, trades and metrics as a backtest (neurotrade report SESSION_DIR shows them).
    """
    first, last = parse_date("--from", start), parse_date("--to", end)
    path = resolve_strategy(strategy)
    if ctx.find_root().params.get("threads") is None and not os.environ.get("NEUROTRADE_THREADS"):
        # Deciding one bar at a time is a product of one row (a universe: a few): one thread does it fastest, and
        # a pool of them spinning up per bar costs ten times more on a busy machine. --threads says otherwise.
        from neurotrade._threads import configure_threads

        configure_threads(1)
    from neurotrade.config import load_strategy
    from neurotrade.live import PaperSession, open_feed

    home = state(ctx).home
    spec = load_strategy(path)
    source = open_feed(feed, spec, home=home, speed=speed, idle=idle)
    view: _View = _LiveView() if console.is_terminal else _PlainView()
    paper = PaperSession(
        spec,
        source,
        model=model,
        session=session,
        start=first,
        end=last,
        home=home,
        on_step=view.step,
        on_rejection=view.rejected,
    )
    view.title = f"paper {paper.name} · {source.name}"
    try:
        with view:
            summary = paper.run()
    except KeyboardInterrupt:
        console.print(
            f"stopped; every bar up to the last one is committed. The same command goes on from there "
            f"({escape(str(paper.dir))})",
            highlight=False,
        )
        raise typer.Exit(130) from None
    for line in summary_lines(summary):
        console.print(line, highlight=False, soft_wrap=True)
    if summary.metrics and summary.metrics.get("aggregate"):
        console.print(_metrics_table(summary.metrics))


class _View:
    """Receives the loop's steps and rejections; draws nothing."""

    title = "paper"

    def __enter__(self) -> _View:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def step(self, step: PaperStep) -> None:  # pragma: no cover - overridden
        return None

    def rejected(self, rejection: Rejection) -> None:  # pragma: no cover - overridden
        return None


class _PlainView(_View):
    """Plain lines (not a terminal): fills, rejections, switches and a progress line now and then."""

    def step(self, step: PaperStep) -> None:
        if step.replay:
            return
        if step.seq % PLAIN_EVERY == 0:
            console.print(f"{step.seq} steps, last bar {step.time}", highlight=False)
        if step.events is not None:
            for fill in step.events.fills:
                console.print(
                    f"{fill.time} {fill.symbol} {fill.side} {fill.quantity:.6g} @ {fill.price:.6g}", highlight=False
                )
        for flag in step.drift:
            console.print(f"{step.time} drift: {_drift_text(flag)}", highlight=False)

    def rejected(self, rejection: Rejection) -> None:
        console.print(f"rejected {escape(rejection.symbol)} bar: {escape(rejection.reason)}", highlight=False)


class _LiveView(_View):
    """A live panel in the terminal: positions, P&L, the last decisions, rejected bars."""

    def __init__(self) -> None:
        self.last: PaperStep | None = None
        self.replayed = 0
        self.rejections = 0
        self.last_rejection = ""
        self.drifts = 0
        self.last_drift = ""
        self.drawn = 0.0
        self.live = Live(console=console, auto_refresh=False, transient=False)

    def __enter__(self) -> _LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *args: object) -> None:
        self.live.update(self._render(), refresh=True)
        self.live.__exit__(*args)  # type: ignore[arg-type]

    def step(self, step: PaperStep) -> None:
        if step.replay:
            self.replayed += len(step.bars)
        else:
            self.last = step
            self.rejections = step.rejected
        if step.drift:
            self.drifts += len(step.drift)
            self.last_drift = f"{step.time}: {_drift_text(step.drift[-1])}"
        now = time.monotonic()
        if now - self.drawn >= REFRESH_S:
            self.drawn = now
            self.live.update(self._render(), refresh=True)

    def rejected(self, rejection: Rejection) -> None:
        self.rejections += 1
        self.last_rejection = f"{rejection.symbol} {rejection.time}: {rejection.reason}"
        self.live.update(self._render(), refresh=True)

    def _render(self) -> Group:
        step = self.last
        head = Text(self.title, style="bold")
        if step is None:
            note = f" · replaying {self.replayed} stored bars" if self.replayed else " · waiting for bars"
            return Group(head + Text(note))
        head.append(f" · {step.engine} · step {step.seq} · {step.phase} · last bar {step.time}")
        parts: list[Any] = [head]
        if step.events is not None:
            e = step.events
            parts.append(Text(f"equity {e.equity:,.2f} · cash {e.cash:,.2f}"))
        table = Table(box=None, pad_edge=False)
        for column in ("symbol", "close", "position", "signal", "P(buy)", "P(sell)", "target"):
            table.add_column(column, justify="left" if column in ("symbol", "signal") else "right")
        positions = step.events.positions if step.events is not None else {}
        for symbol, decision in step.decisions.items():
            bar = step.bars.get(symbol)
            proba = decision.proba
            table.add_row(
                symbol,
                "" if bar is None else f"{bar.close:.6g}",
                f"{positions.get(symbol, 0.0):.6g}",
                decision.signal or "warm-up",
                "" if proba is None else f"{proba[2]:.3f}",
                "" if proba is None else f"{proba[0]:.3f}",
                str(decision.target),
            )
        parts.append(table)
        rejected = f"rejected bars: {self.rejections}"
        if self.last_rejection:
            rejected += f" (last: {self.last_rejection})"
        parts.append(Text(rejected, style="yellow" if self.rejections else "dim"))
        if self.drifts:
            parts.append(Text(f"drift flags: {self.drifts} (last: {self.last_drift})", style="yellow"))
        return Group(*parts)


def _drift_text(flag: dict[str, Any]) -> str:
    """A drift flag in words (``PSI of 1d_rsi_14 0.31 > 0.25``)."""
    what = f"PSI of {flag['feature']}" if flag["feature"] else f"{flag['kind']} gap"
    return f"{what} {flag['value']:.3g} > {flag['threshold']:g}"


def summary_lines(summary: PaperSummary) -> list[str]:
    """What the session did, in a few lines: steps, the account, rejections, parity with the backtest, where.

    Examples
    --------
    >>> from pathlib import Path
    >>> from neurotrade.live import PaperSummary
    >>> s = PaperSummary(Path("ws/paper/demo"), True, 500, 600, 100, 2, 101_000.0, 1_000.0, {"AAPL": 10.0},
    ...                  {"paper": {"parity": {"matches": True, "trades": 7}}})
    >>> for line in summary_lines(s):
    ...     print(line)
    session ws/paper/demo: 600 steps (100 new; resumed, 500 stored bars replayed), 2 bars rejected
    equity 101,000.00, cash 1,000.00, holding AAPL 10
    parity: the paper trades are exactly the backtest's 7 over the same bars
    """
    resumed = f"; resumed, {summary.replayed} stored bars replayed" if summary.resumed else ""
    lines = [
        f"session {escape(str(summary.session_dir))}: {summary.steps} steps ({summary.new_steps} new{resumed}), "
        f"{summary.rejected} bars rejected"
    ]
    if summary.equity is not None:
        held = ", ".join(f"{escape(s)} {u:.6g}" for s, u in summary.positions.items() if u)
        lines.append(
            f"equity {summary.equity:,.2f}, cash {summary.cash:,.2f}" + (f", holding {held}" if held else ", flat")
        )
    else:
        lines.append("not trading yet: every bar so far was before --from")
    paper = (summary.metrics or {}).get("paper", {})
    aggregate = (summary.metrics or {}).get("aggregate") or {}
    if aggregate.get("in_sample"):
        lines.append(
            f"[bold yellow]in sample:[/] the model was trained and stopped on data up to "
            f"{aggregate['trained_until'][:10]}; these bars say nothing about how it trades unseen ones"
        )
    parity = paper.get("parity")
    if parity:
        if parity["matches"]:
            lines.append(f"parity: the paper trades are exactly the backtest's {parity['trades']} over the same bars")
        else:
            lines.append(
                f"[bold red]parity: the paper trades differ from the backtest's:[/] {escape(parity['difference'])}"
                + (f" ({escape(parity['note'])})" if parity.get("note") else "")
            )
    elif paper.get("backtest"):
        lines.append(f"backtest of the same bars {escape(paper['backtest'])}")
    return lines


def _metrics_table(metrics: dict[str, Any]) -> Table:
    aggregate = metrics["aggregate"]
    window = aggregate["window"]
    table = Table(title=f"paper traded {window['first'][:10]} → {window['last'][:10]}", title_justify="left")
    table.add_column("metric")
    columns = [("paper", aggregate["strategy"])]
    if aggregate.get("backtest"):
        columns.append(("backtest, same bars", aggregate["backtest"]))
    columns.append(("buy & hold", aggregate["buy_and_hold"]))
    for name, _ in columns:
        table.add_column(name, justify="right")
    for label, key, fmt in METRIC_ROWS:
        table.add_row(label, *[fmt(values.get(key)) for _, values in columns])
    return table
