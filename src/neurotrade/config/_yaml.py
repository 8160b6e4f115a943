"""YAML with positions: the parsed document plus the line of every key, so errors can point at the file.

A strategy file is small, so before PyYAML builds anything the document's events are read once and held to budgets
(nesting depth, values after expanding aliases, digits of an integer): an "alias bomb" of a few hundred bytes, or
thousands of nested brackets, would otherwise exhaust memory or the interpreter's recursion limit instead of
giving a located error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from neurotrade.errors import ConfigError

Path_ = tuple[str | int, ...]

MAX_DEPTH = 64  # nested mappings and lists; a strategy needs about six
MAX_VALUES = 100_000  # values in the document once every alias is expanded; a strategy has a few hundred
MAX_INT_DIGITS = 100  # Python refuses to convert more than 4,300 digits, and no setting takes more than 20

_INT_TAG = "tag:yaml.org,2002:int"


class StrategyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e-3`` as a number as YAML 1.2 and JSON do (YAML 1.1 wants ``1.0e-3``)."""


# Without this, `learning_rate: 1e-3` is the text "1e-3", and a bundle's spec.json (where json writes 1e-06) would
# not read back under strict number fields.
StrategyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


@dataclass(frozen=True)
class LocatedDocument:
    """A parsed YAML document and the 1-based line of each key path in it."""

    data: Any
    lines: dict[Path_, int]
    source: str

    def line_of(self, path: Path_) -> int:
        """Line of the deepest prefix of ``path`` that exists in the file (1 for the document itself)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


def format_path(path: Path_) -> str:
    """``('model', 'hidden', 0)`` -> ``model.hidden[0]``.

    Examples
    --------
    >>> format_path(("model", "hidden", 0)), format_path(())
    ('model.hidden[0]', '(top level)')
    """
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_yaml(text: str, source: str) -> LocatedDocument:
    """Parse ``text``; raise :class:`ConfigError` naming ``source:line`` for syntax errors, duplicate keys, and
    documents past the budgets (:data:`MAX_DEPTH`, :data:`MAX_VALUES` with aliases expanded, :data:`MAX_INT_DIGITS`).

    Examples
    --------
    >>> doc = parse_yaml("name: x\\ndata:\\n  symbol: MSFT\\n", "x.yaml")
    >>> doc.data["data"]["symbol"], doc.line_of(("data", "symbol"))
    ('MSFT', 3)
    >>> parse_yaml("a: &a [1, 1]\\nb: &b [*a, *a]\\nc: [*b, *b]\\n", "x.yaml").data["c"]
    [[[1, 1], [1, 1]], [[1, 1], [1, 1]]]
    """
    try:
        _check_budgets(text, source)
        root = yaml.compose(text, Loader=StrategyLoader)
        data = yaml.load(text, Loader=StrategyLoader)  # a SafeLoader subclass: plain data only
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{source}:{line}: not valid YAML: {problem}") from e
    lines: dict[Path_, int] = {}
    duplicates: list[str] = []
    if root is not None:
        _walk(root, (), lines, duplicates, source)
    if duplicates:
        raise ConfigError(duplicates)
    return LocatedDocument(data=data, lines=lines, source=source)


@dataclass
class _Open:
    """A mapping or list whose end event has not come yet."""

    path: Path_
    mapping: bool
    anchor: str | None
    values_before: int  # the document's expanded value count when it opened
    deepest: int  # the deepest nesting reached inside it, aliases expanded
    next_is_key: bool = True
    key: str | int = "?"
    index: int = -1


def _check_budgets(text: str, source: str) -> None:
    """Read the events once (PyYAML's parser keeps its own stack, so this never recurses) and refuse the document
    as soon as it passes a budget; the error names the line and key path where it did."""
    resolver = StrategyLoader("")
    stack: list[_Open] = []
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) of what it names, expanded
    values = 0

    def refuse(event: yaml.Event, path: Path_, message: str) -> ConfigError:
        shown = format_path(path[:8]) + ("..." if len(path) > 8 else "")
        return ConfigError(f"{source}:{event.start_mark.line + 1} {shown}: {message}")

    for event in yaml.parse(text, Loader=StrategyLoader):
        if isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                sizes[done.anchor] = (values - done.values_before, done.deepest - len(stack))
            if stack:
                stack[-1].deepest = max(stack[-1].deepest, done.deepest)
            continue
        if not isinstance(event, yaml.NodeEvent):
            continue
        path, is_key = _node_path(stack)
        if is_key and isinstance(event, yaml.ScalarEvent):
            stack[-1].key = event.value
            path = (*path, event.value)
        if isinstance(event, yaml.AliasEvent):
            if any(frame.anchor == event.anchor for frame in stack):
                raise refuse(
                    event, path, f"alias *{event.anchor} is used inside the value it names; write the value out"
                )
            count, depth = sizes.get(event.anchor, (1, 0))  # an unknown anchor: PyYAML reports it below
            values += count
            if values > MAX_VALUES:
                raise refuse(
                    event,
                    path,
                    f"alias *{event.anchor} expands the document past {MAX_VALUES:,} values (aliases of aliases "
                    "multiply); write the values out or use fewer nested aliases",
                )
            if len(stack) + depth > MAX_DEPTH:
                raise refuse(event, path, f"alias *{event.anchor} nests values more than {MAX_DEPTH} levels deep")
            if stack:
                stack[-1].deepest = max(stack[-1].deepest, len(stack) + depth)
            continue
        values += 1
        if values > MAX_VALUES:
            raise refuse(event, path, f"the document holds more than {MAX_VALUES:,} values; a strategy is far smaller")
        if isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
            # Hex, octal and binary digits count too: 0xfff... is as long as it is written, past its prefix.
            body = event.value.lstrip("+-")
            body = body[2:] if body[:2].lower() in ("0x", "0o", "0b") else body
            digits = sum(c.isalnum() for c in body)
            if tag == _INT_TAG and digits > MAX_INT_DIGITS:
                raise refuse(
                    event,
                    path,
                    f"an integer of {digits:,} digits is far beyond what any setting accepts (at most "
                    f"{MAX_INT_DIGITS} digits are read); check the value",
                )
            if event.anchor is not None:
                sizes[event.anchor] = (1, 0)
            continue
        # The start of a mapping or a list.
        if len(stack) + 1 > MAX_DEPTH:
            raise refuse(event, path, f"values nest more than {MAX_DEPTH} levels deep; a strategy needs a handful")
        stack.append(_Open(path, isinstance(event, yaml.MappingStartEvent), event.anchor, values - 1, len(stack) + 1))


def _node_path(stack: list[_Open]) -> tuple[Path_, bool]:
    """The key path of the node whose event comes next and whether it is a mapping's key; advances the enclosing
    collection past it (a mapping's nodes alternate key, value)."""
    if not stack:
        return (), False
    top = stack[-1]
    if not top.mapping:
        top.index += 1
        return (*top.path, top.index), False
    top.next_is_key = not top.next_is_key
    if not top.next_is_key:  # it was expecting a key
        return top.path, True
    return (*top.path, top.key), False


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], duplicates: list[str], source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            child = (*path, key)
            if key in seen:
                where = ".".join(str(p) for p in child)
                duplicates.append(
                    f"{source}:{line} {where}: duplicate key (first given at line {seen[key]}); keep only one"
                )
            seen[key] = line
            lines[child] = line
            _walk(value_node, child, lines, duplicates, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, duplicates, source)
