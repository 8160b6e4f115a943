"""``neurotrade models``: list, inspect, verify, delete and export saved model bundles."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.columns import Columns
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from neurotrade.cli._app import app
from neurotrade.cli._context import console, err_console, state
from neurotrade.errors import StoreError
from neurotrade.store import (
    Bundle,
    BundleRef,
    check_onnx,
    delete_bundle,
    export_onnx,
    list_bundles,
    load_bundle,
    preprocess_path,
    read_document,
)

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
    """List saved bundles, oldest first, with their headline test metrics."""
    models_dir = state(ctx).home / "models"
    refs = list_bundles(models_dir, strategy)
    if not refs:
        console.print(
            f"No model bundles in {escape(str(models_dir))} yet; train a strategy to save one.", soft_wrap=True
        )
        return
    headlines = {ref.name: _headlines(ref) for ref in refs}
    show_accuracy = any(h[0] is not None for h in headlines.values())
    show_sharpe = any(h[1] is not None for h in headlines.values())

    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Ver", justify="right")
    table.add_column("Created (UTC)", no_wrap=True)
    table.add_column("Latest", justify="center")
    if show_accuracy:
        table.add_column("Accuracy", justify="right")
    if show_sharpe:
        table.add_column("Sharpe", justify="right")
    for ref in refs:
        accuracy, sharpe = headlines[ref.name]
        row = [ref.name, str(ref.version), _created_minutes(ref.created_at), "*" if ref.is_latest else ""]
        if show_accuracy:
            row.append(_number(accuracy))
        if show_sharpe:
            row.append(_number(sharpe))
        table.add_row(*(escape(cell) for cell in row))
    if show_accuracy or show_sharpe:
        table.caption = "Metrics from metrics.json, the test split where one is recorded."
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
    bundle = load_bundle(state(ctx).home / "models", name)
    ref = bundle.ref
    latest = " [green](latest)[/]" if ref.is_latest else ""
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


_NAME_HELP = "'strategy' (latest), 'strategy/1d_v2', 'strategy/v2', or a bundle directory."


class ExportFormat(enum.StrEnum):
    """The formats `models export` writes."""

    onnx = "onnx"


@models_app.command("verify")
def verify_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=_NAME_HELP, show_default=False)],
) -> None:
    """Check every file of a bundle against its manifest (size and sha256) and parse its weights and documents."""
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
    models_dir = state(ctx).home / "models"
    if not yes and not typer.confirm(f"Delete the model bundle {name}? This cannot be undone", default=False):
        console.print("Nothing deleted.")
        raise typer.Exit(1)
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
    bundle = load_bundle(state(ctx).home / "models", name)
    ref = bundle.ref
    path = out if out is not None else Path(f"{ref.strategy}_{ref.timeframe}_v{ref.version}.{fmt.value}")
    written = export_onnx(bundle, path)
    worst = check_onnx(bundle, written)
    console.print(f"exported {escape(ref.name)} to {escape(str(written))}", soft_wrap=True)
    console.print(f"  scaler statistics  {escape(str(preprocess_path(written)))}", soft_wrap=True)
    console.print(
        f"  checked            onnxruntime probabilities within {worst:.2g} of torch's on 64 random inputs",
        soft_wrap=True,
    )


def _headlines(ref: BundleRef) -> tuple[float | None, float | None]:
    try:
        metrics = read_document(ref, "metrics", missing_ok=True)
    except StoreError as e:
        # One damaged bundle should not hide the others; `models show` gives the full verdict.
        err_console.print(f"[yellow]warning:[/] {escape(str(e))}", highlight=False)
        return None, None
    flat = dict(_flatten(metrics, "")) if isinstance(metrics, dict) else {}
    return _pick(flat, ("accuracy", "acc")), _pick(flat, ("sharpe",))


def _pick(flat: dict[str, float], names: tuple[str, ...]) -> float | None:
    """The metric whose last key names one of ``names``, preferring one recorded for the test split."""
    found = [path for path in flat if _names_metric(path, names)]
    if not found:
        return None
    found.sort(key=lambda p: ("test" not in p.lower(), p.count("."), p))
    return flat[found[0]]


def _names_metric(path: str, names: tuple[str, ...]) -> bool:
    # "accuracy", "test_accuracy", "acc" and "sharpe_ratio" count; "accumulated" does not.
    words = re.split(r"[^a-z0-9]+", path.rsplit(".", 1)[-1].lower())
    return any(n in words for n in names)


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        yield prefix, float(value)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


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
