"""YAML with positions: the parsed document plus the line of every key, so errors can point at the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from neurotrade.errors import ConfigError

Path_ = tuple[str | int, ...]


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


def parse_yaml(text: str, source: str) -> LocatedDocument:
    """Parse ``text``; raise :class:`ConfigError` naming ``source:line`` for syntax errors and duplicate keys.

    Examples
    --------
    >>> doc = parse_yaml("name: x\\ndata:\\n  symbol: MSFT\\n", "x.yaml")
    >>> doc.data["data"]["symbol"], doc.line_of(("data", "symbol"))
    ('MSFT', 3)
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
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
