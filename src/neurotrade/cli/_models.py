"""``neurotrade models``: list, inspect, verify, delete and export saved model bundles."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.columns import Columns
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from neurotrade.cli._app import app
from neurotrade.cli._context import console, err_console, state
from neurotrade.errors import StoreError

# The store (torch, safetensors) is imported inside the commands, so `neurotrade --help` starts at once.
if TYPE_CHECKING:
    from neurotrade.store import Bundle, BundleRef

models_app = typer.Typer(
    help="List, inspect, verify, delete and export the model bundles saved in the workspace.",
    no_args_is_help=True,
)

# Shown first in `models show`, in this order; any other document follows alphabetically.
_LEADING_DOCUMENTS = ("spec", "resolved_features", "metrics")
_MAX_FEATURES = 60
_MAX_TENSORS = 12
_MAX_METRICS = 40
_MAX_LIST_ITEMS = 6
_MAX_DEPTH = 3


@models_app.command("list")
def list_command(
    ctx: typer.Context,
    strategy: Annotated[str | None, typer.Argument(help="Only this strategy's bundles.", show_default=False)] = None,
) -> None:
    """List saved bundles, oldest first, with the strategy's out-of-sample numbers from each run."""
    from neurotrade.store import list_bundles

    models_dir = state(ctx).home / "models"
    refs = list_bundles(models_dir, strategy)
    if not refs:
        console.print(
            f"No model bundles in {escape(str(models_dir))} yet; train a strategy to save one.", soft_wrap=True
        )
        return
    values = {ref.name: _list_values(ref) for ref in refs}
    # A column nobody has a number for (bundles not saved by `neurotrade run`) is left out.
    shown = [i for i in range(len(LIST_COLUMNS)) if any(v[i] is not None for v in values.values())]

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Created (UTC)")  # the one column that may wrap (date over time) on a narrow terminal
    table.add_column("Latest", justify="center", no_wrap=True)
    for i in shown:
        table.add_column(LIST_COLUMNS[i].header, justify="right", no_wrap=True)
    for ref in refs:
        row = [ref.name, _created_minutes(ref.created_at), _latest_mark(ref)]
        row += [LIST_COLUMNS[i].render(values[ref.name][i]) for i in shown]
        table.add_row(*(escape(cell) for cell in row))
    caption = []
    if shown:
        caption.append(
            "Out of sample (every fold's test window, chained): the strategy's accuracy, total return and Sharpe; "
            "B&H Sharpe is buy-and-hold's on the same bars."
        )
    if any(ref.is_latest_of_timeframe and not ref.is_latest for ref in refs):
        caption.append(
            "Latest: * the strategy's newest bundle; (tf) the newest of its timeframe, which `neurotrade backtest` "
            "trades on data of that timeframe."
        )
    table.caption = "\n".join(caption) or None
    console.print(table)


@models_app.command("show")
def show_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(help=_NAME_HELP, show_default=False),
    ],
) -> None:
    """Verify a bundle, then show its files, weights and documents."""
    from neurotrade.store import load_bundle

    bundle = load_bundle(state(ctx).home / "models", name)
    ref = bundle.ref
    latest = " [green](latest)[/]" if ref.is_latest else ""
    if ref.is_latest_of_timeframe and not ref.is_latest:
        latest = f" [green](latest {escape(ref.timeframe)})[/]"
    console.print(f"[bold]{escape(ref.name)}[/]{latest}")
    console.print(f"  path     {escape(str(ref.path))}")
    console.print(f"  created  {escape(_created(ref.created_at))} UTC")
    files = bundle.manifest.get("files", {})
    console.print(f"  verified [green]{_count(len(files), 'file')}, sizes and sha256 as in the manifest[/]")

    console.print(_files_table(files))
    total = sum(t.numel() for t in bundle.weights.values())
    console.print(f"[bold]Weights[/]: {_count(len(bundle.weights), 'tensor')}, {_count(total, 'parameter')}")
    console.print(_weights_table(bundle))
    for doc_name in _document_order(bundle.documents):
        console.print()
        console.print(_render_document(doc_name, bundle.documents[doc_name]))


_NAME_HELP = (
    "'strategy' (its newest), 'strategy/latest-1d' (its newest 1d bundle), 'strategy/1d_v2', 'strategy/v2', or a "
    "bundle directory."
)


class ExportFormat(enum.StrEnum):
    """The formats `models export` writes."""

    onnx = "onnx"


@models_app.command("verify")
def verify_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=_NAME_HELP, show_default=False)],
) -> None:
    """Check every file of a bundle against its manifest (size and sha256) and parse its weights and documents."""
    from neurotrade.store import load_bundle

    bundle = load_bundle(state(ctx).home / "models", name)
    files = bundle.manifest.get("files", {})
    console.print(
        f"[green]verified[/] {escape(bundle.ref.name)}: {_count(len(files), 'file')}, sizes and sha256 as in "
        f"the manifest ({escape(str(bundle.ref.path))})",
        soft_wrap=True,
    )


@models_app.command("delete")
def delete_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The version to delete: 'strategy/1d_v2' or 'strategy/v2'.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> None:
    """Delete one bundle version; `latest` moves to the newest version left."""
    from neurotrade.store import delete_bundle, list_bundles

    models_dir = state(ctx).home / "models"
    if not yes:
        try:
            sure = typer.confirm(f"Delete the model bundle {name}? This cannot be undone", default=False)
        except typer.Abort:  # no answer (standard input closed): a mistake of the caller's, not a bug
            raise StoreError(f"nothing deleted: no answer to the confirmation; pass --yes to delete {name}") from None
        if not sure:
            console.print("Nothing deleted.")
            return  # the user said no: that is a fine outcome, not an error
    ref = delete_bundle(models_dir, name)
    console.print(f"deleted {escape(ref.name)}", soft_wrap=True)
    left = list_bundles(models_dir, ref.strategy)
    latest = next((r.name for r in left if r.is_latest), None)
    if latest is None:
        console.print(f"{escape(ref.strategy)} has no bundles left.")
    elif ref.is_latest:
        console.print(f"latest now names {escape(latest)}")


@models_app.command("export")
def export_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=_NAME_HELP, show_default=False)],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="The file format.")] = ExportFormat.onnx,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="The file to write. Default: ./{strategy}_{timeframe}_v{N}.onnx", show_default=False
        ),
    ] = None,
) -> None:
    """Export a bundle's network (ONNX) with its scaler statistics beside it, and check it against torch.

    The graph reads standardised features; the scaler's mean and scale are in {stem}.preprocess.json.
    """
    from neurotrade.store import check_onnx, export_onnx, load_bundle, preprocess_path

    bundle = load_bundle(state(ctx).home / "models", name)
    ref = bundle.ref
    path = out if out is not None else Path(f"{ref.strategy}_{ref.timeframe}_v{ref.version}.{fmt.value}")
    written = export_onnx(bundle, path)
    worst = check_onnx(bundle, written)
    console.print(f"exported {escape(ref.name)} to {escape(str(written))}", soft_wrap=True)
    console.print(f"  scaler statistics  {escape(str(preprocess_path(written)))}", soft_wrap=True)
    heads = json.loads(preprocess_path(written).read_text()).get("outputs", [])
    checked = ", ".join(name for name in heads if name != "logits") or "probabilities"
    console.print(
        f"  checked            onnxruntime {checked} within {worst:.2g} of torch's on 64 random inputs",
        soft_wrap=True,
    )


@dataclass(frozen=True)
class ListColumn:
    """One metric column of `models list`: its header, the key path in ``metrics.json`` it shows, its format."""

    header: str
    path: tuple[str, ...]
    percent: bool = False

    def render(self, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:+.1%}" if self.percent else f"{value:.3g}"


# Exact key paths, never a search for a key named "sharpe": buy-and-hold's and the baselines' Sharpe ratios sit
# beside the strategy's in metrics.json, and the first match by name was buy-and-hold's.
LIST_COLUMNS = (
    ListColumn("Accuracy", ("aggregate", "classification", "accuracy")),
    ListColumn("Return", ("aggregate", "strategy", "total_return"), percent=True),
    ListColumn("Sharpe", ("aggregate", "strategy", "sharpe")),
    ListColumn("B&H\nSharpe", ("aggregate", "buy_and_hold", "sharpe")),
)


def _list_values(ref: BundleRef) -> list[float | None]:
    from neurotrade.store import read_document

    try:
        metrics = read_document(ref, "metrics", missing_ok=True)
    except StoreError as e:
        # One damaged bundle should not hide the others; `models show` gives the full verdict.
        err_console.print(f"[yellow]warning:[/] {escape(str(e))}", highlight=False)
        metrics = None
    return [_at(metrics, column.path) for column in LIST_COLUMNS]


def _at(document: Any, path: tuple[str, ...]) -> float | None:
    """The finite number at ``path`` in ``document``, or None."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    if isinstance(document, int | float) and not isinstance(document, bool) and math.isfinite(document):
        return float(document)
    return None


def _latest_mark(ref: BundleRef) -> str:
    if ref.is_latest:
        return "*"
    return f"({ref.timeframe})" if ref.is_latest_of_timeframe else ""


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        yield prefix, float(value)


def _created(created_at: str) -> str:
    return created_at.replace("T", " ").removesuffix("Z")


def _created_minutes(created_at: str) -> str:
    # Seconds add little in a listing and cost the table its fit in 80 columns.
    return _created(created_at)[:16]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024**2:.1f} MiB"


def _files_table(files: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Files", title_justify="left")
    table.add_column("File", no_wrap=True)
    table.add_column("Size", justify="right")
    table.add_column("sha256", style="dim")
    for file_name in sorted(files):
        entry = files[file_name]
        table.add_row(escape(file_name), _size(entry["size"]), entry["sha256"][:12])
    return table


def _weights_table(bundle: Bundle) -> Table:
    weights = bundle.weights
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Tensor", no_wrap=True)
    table.add_column("Shape")
    table.add_column("dtype")
    for tensor_name in list(weights)[:_MAX_TENSORS]:
        tensor = weights[tensor_name]
        shape = " x ".join(str(d) for d in tensor.shape) or "scalar"
        table.add_row(escape(tensor_name), shape, str(tensor.dtype).removeprefix("torch."))
    if len(weights) > _MAX_TENSORS:
        table.add_row(f"... and {len(weights) - _MAX_TENSORS} more", "", "")
    return table


def _document_order(documents: dict[str, Any]) -> list[str]:
    leading = [d for d in _LEADING_DOCUMENTS if d in documents]
    return leading + sorted(d for d in documents if d not in _LEADING_DOCUMENTS)


def _render_document(name: str, value: Any) -> Any:
    if name == "resolved_features":
        features = _feature_names(value)
        if features is not None:
            return _features_view(features)
    if name == "metrics" and isinstance(value, dict):
        flat = list(_flatten(value, ""))
        if flat:
            return _metrics_table(flat)
    if _fits_inline(value):
        return f"[bold]{escape(name)}[/]: {escape(_inline(value))}"
    tree = Tree(f"[bold]{escape(name)}[/]")
    _grow(tree, value, depth=1)
    return tree


def _feature_names(value: Any) -> list[str] | None:
    """The feature names, whether the document is the list itself or a dict holding it."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, dict):
        for key in ("resolved_features", "features", "names"):
            if key in value:
                return _feature_names(value[key])
    return None


def _features_view(features: list[str]) -> Tree:
    tree = Tree(f"[bold]resolved_features[/] ({len(features)})")
    shown = [escape(f) for f in features[:_MAX_FEATURES]]
    if len(features) > _MAX_FEATURES:
        shown.append(f"... and {len(features) - _MAX_FEATURES} more")
    if shown:
        tree.add(Columns(shown, padding=(0, 2)))
    return tree


def _metrics_table(flat: list[tuple[str, float]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="metrics", title_justify="left")
    table.add_column("Metric", no_wrap=True)
    table.add_column("Value", justify="right")
    for path, value in flat[:_MAX_METRICS]:
        table.add_row(escape(path), f"{value:.6g}")
    if len(flat) > _MAX_METRICS:
        table.add_row(f"... and {len(flat) - _MAX_METRICS} more", "")
    return table


def _grow(tree: Tree, value: Any, depth: int) -> None:
    """Add ``value`` under ``tree``: dicts branch, short lists of scalars stay on one line."""
    if isinstance(value, dict):
        for key, item in value.items():
            label = f"[cyan]{escape(str(key))}[/]"
            if _fits_inline(item) or depth >= _MAX_DEPTH:
                tree.add(f"{label}: {escape(_inline(item))}")
            else:
                _grow(tree.add(label), item, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value[:_MAX_LIST_ITEMS]):
            if _is_scalar(item) or depth >= _MAX_DEPTH:
                tree.add(f"[{i}] {escape(_inline(item))}")
            else:
                _grow(tree.add(f"[{i}]"), item, depth + 1)
        if len(value) > _MAX_LIST_ITEMS:
            tree.add(f"... and {len(value) - _MAX_LIST_ITEMS} more")
    else:
        tree.add(escape(_inline(value)))


def _fits_inline(value: Any) -> bool:
    return _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(v) for v in value))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _inline(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # str() keeps 2.0 looking like a float; .6g only tames long fractions.
        text = str(value)
        return text if len(text) <= 12 else f"{value:.6g}"
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    if all(_is_scalar(v) for v in value):
        items = [_inline(v) for v in value[:_MAX_LIST_ITEMS]]
        more = f", ... (+{len(value) - _MAX_LIST_ITEMS})" if len(value) > _MAX_LIST_ITEMS else ""
        return f"[{', '.join(items)}{more}]"
    return f"[{len(value)} items]"


app.add_typer(models_app, name="models")
