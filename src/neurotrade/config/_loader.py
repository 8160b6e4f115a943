"""Load a strategy from YAML: parse with positions, validate every section, resolve references.

All problems are collected before raising, so ``neurotrade validate`` shows every error at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from neurotrade.config._coverage import warn_uncovered
from neurotrade.config._errors import pydantic_problems, suggest
from neurotrade.config._references import Resolved, check_references
from neurotrade.config._search import search_problems
from neurotrade.config._size import check_model_size
from neurotrade.config._spec import IndicatorSpec, Strategy
from neurotrade.config._units import warn_price_units
from neurotrade.config._yaml import LocatedDocument, parse_yaml
from neurotrade.data import parse_timeframe
from neurotrade.errors import ConfigError

STRATEGY_SUFFIXES = (".yaml", ".yml")


def load_strategy(path: str | os.PathLike[str]) -> Strategy:
    """Read and validate a strategy YAML file.

    Parameters
    ----------
    path
        The YAML file. A relative ``data.path`` inside it is taken relative to the file's folder.

    Returns
    -------
    Strategy
        The resolved spec: every indicator has its ``type`` and all parameters, every reference is canonical.

    Raises
    ------
    ConfigError
        Listing every problem as ``file:line key.path: message``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
    >>> _ = f.write_text("name: demo\\nindicators: {rsi_14: {period: 14}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> load_strategy(f).indicators["rsi_14"].type
    'rsi'
    """
    file = Path(path)
    if not file.is_file():
        hint = ""
        if file.parent.is_dir():
            names = [p.name for p in file.parent.iterdir() if p.suffix in STRATEGY_SUFFIXES]
            hint = suggest(file.name, names)
        raise ConfigError(f"{file}: no such strategy file{hint}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{file}: cannot read the file: {e}") from e
    return parse_strategy(text, source=str(path), base_dir=file.parent)


def parse_strategy(text: str, *, source: str = "<string>", base_dir: Path | None = None) -> Strategy:
    """Validate a strategy given as YAML text; see :func:`load_strategy`.

    Examples
    --------
    >>> parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n").name
    'x'
    """
    doc = parse_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{source}:1: a strategy must be a mapping of sections (name, data, indicators, ...)")
    problems: list[str] = []
    strategy: Strategy | None = None
    try:
        strategy = Strategy.model_validate(doc.data)
    except ValidationError as e:
        problems += pydantic_problems(e, doc, Strategy)
    refs = check_references(doc)
    problems += refs.problems
    problems += _check_data_path(doc, base_dir)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: _line_number(p, source)))
    assert strategy is not None  # no problems means pydantic accepted it
    resolved = _resolve(strategy, refs, base_dir)
    # Sized on the resolved spec: `timeframes: all` and the fuzzy sets decide how many inputs the network has.
    too_large = check_model_size(doc, resolved)
    if too_large:
        raise ConfigError(too_large)
    searched = search_problems(resolved)
    if searched:
        line = doc.line_of(("search",))
        raise ConfigError([f"{source}:{line} {problem}" for problem in searched])
    warn_uncovered(doc, strategy, refs)
    warn_price_units(doc, strategy, refs)
    return resolved


def _line_number(problem: str, source: str) -> int:
    head = problem[len(source) + 1 :].split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


def _check_data_path(doc: LocatedDocument, base_dir: Path | None) -> list[str]:
    data = doc.data.get("data")
    if not isinstance(data, dict) or data.get("source") != "file" or not isinstance(data.get("path"), str):
        return []
    line = doc.line_of(("data", "path"))
    if "{symbol}" in data["path"]:  # one file per symbol of a universe: each listed one must exist
        symbols = data.get("symbols")
        if not isinstance(symbols, list):
            return []  # a named universe is resolved in the workspace, when the run loads it
        missing = [
            str(_resolve_path(data["path"].replace("{symbol}", str(s)), base_dir))
            for s in symbols
            if not _resolve_path(data["path"].replace("{symbol}", str(s)), base_dir).is_file()
        ]
        if not missing:
            return []
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return [f"{doc.source}:{line} data.path: no such file {', '.join(repr(m) for m in missing[:3])}{more}"]
    path = _resolve_path(data["path"], base_dir)
    if path.is_file():
        return []
    return [f"{doc.source}:{line} data.path: no such file {str(path)!r}"]


def _resolve_path(path: str, base_dir: Path | None) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() or base_dir is None else (base_dir / p)


STANDARD_TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")


def _timeframes(wanted: Any, base: str) -> list[str]:
    """The feature timeframes, canonical and finest first; ``None`` is the data's own, ``all`` every coarser one."""
    base_tf = parse_timeframe(base)
    if wanted is None:
        return [base_tf.name]
    if wanted == "all":
        names = [base_tf.name, *(t for t in STANDARD_TIMEFRAMES if parse_timeframe(t).delta > base_tf.delta)]
    else:
        names = [parse_timeframe(t).name for t in wanted]
    return sorted(dict.fromkeys(names), key=lambda t: parse_timeframe(t).delta)


def _resolve(strategy: Strategy, refs: Resolved, base_dir: Path | None) -> Strategy:
    """Fill in indicator types and defaults, and spell every reference canonically."""
    indicators = {key: IndicatorSpec(**body) for key, body in refs.indicators.items()}
    fuzzy_sets = {refs.fuzzy_sources[source]: sets for source, sets in strategy.fuzzy_sets.items()}
    nn = strategy.nn_inputs
    fuzzy_inputs: Any = nn.fuzzy
    if isinstance(nn.fuzzy, list):
        fuzzy_inputs = []
        for ref in nn.fuzzy:
            source, set_name = ref.rsplit(".", 1)
            fuzzy_inputs.append(f"{refs.fuzzy_sources[source]}.{set_name}")
    nn_inputs = nn.model_copy(
        update={
            "fuzzy": fuzzy_inputs,
            "indicators": [refs.outputs[ref] for ref in nn.indicators],
            "timeframes": _timeframes(nn.timeframes, strategy.data.timeframe),
        }
    )
    data = strategy.data
    if data.path is not None:
        data = data.model_copy(update={"path": str(_resolve_path(data.path, base_dir).resolve())})
    labels = strategy.labels
    meta = getattr(labels, "meta", None)
    if meta is not None:
        side = meta.side
        refs_update = {k: refs.outputs[v] for k in ("fast", "slow", "indicator") if (v := getattr(side, k)) is not None}
        if refs_update:
            labels = labels.model_copy(
                update={"meta": meta.model_copy(update={"side": side.model_copy(update=refs_update)})}
            )
    return strategy.model_copy(
        update={
            "indicators": indicators,
            "fuzzy_sets": fuzzy_sets,
            "nn_inputs": nn_inputs,
            "data": data,
            "labels": labels,
        }
    )
