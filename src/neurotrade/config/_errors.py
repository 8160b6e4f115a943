"""Turn pydantic's validation errors into lines a researcher can act on.

Each line reads ``file:line key.path: what is wrong, got <value>``. The constraint in the message comes from the
field's declaration in ``_spec.py`` (so it is written once), unknown keys get a "did you mean", and pydantic's
internal union labels are removed from the key path.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ValidationError

from neurotrade.config._yaml import LocatedDocument, Path_, format_path

FRIENDLY_PATTERNS = {
    r"^[A-Za-z][A-Za-z0-9_-]*$": "a name that starts with a letter and uses only letters, digits, '_' and '-'",
    r"^[1-9][0-9]*(m|h|d|w)$": "a timeframe such as 1m, 15m, 1h, 4h, 1d or 1w",
    r"^[A-Za-z0-9._-]+$": "a symbol made of letters, digits, '.', '_' and '-'",
}


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close to ``word``, else ``""``.

    Examples
    --------
    >>> suggest("perod", ["period", "fast"])
    "; did you mean 'period'?"
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def located(doc: LocatedDocument, path: Path_, message: str) -> str:
    """One error line: ``file:line key.path: message``."""
    return f"{doc.source}:{doc.line_of(path)} {format_path(path)}: {message}"


def pydantic_problems(error: ValidationError, doc: LocatedDocument, root: type[BaseModel]) -> list[str]:
    """Every pydantic error as a located, readable line (one line per key path)."""
    seen: dict[Path_, str] = {}
    for err in error.errors():
        path = _clean_path(err["loc"], doc.data, err["type"])
        message = _message(err, path, doc.data, root)
        if path in seen:  # several branches of a union failed on one value: one line is enough
            continue
        seen[path] = message
    return [located(doc, path, message) for path, message in seen.items()]


def _clean_path(loc: tuple[Any, ...], data: Any, kind: str) -> Path_:
    """Drop the union-branch labels pydantic puts in ``loc``: keep only steps that exist in the data.

    The last step may be absent from the data when a key is missing or unknown; otherwise an absent step is a
    pydantic label (``'triangular'``, ``"literal['all']"``) and is dropped.
    """
    out: list[str | int] = []
    node = data
    for i, step in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(node, dict) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_dict or in_list:
            out.append(step)
            node = node[step]
        elif last and kind in ("missing", "extra_forbidden"):
            out.append(step)
    return tuple(out)


def _message(err: dict[str, Any], path: Path_, data: Any, root: type[BaseModel]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {value!r}"
    if kind == "missing":
        return "this key is required"
    if kind == "extra_forbidden":
        model = model_at(root, path[:-1], data)
        allowed = sorted(model.model_fields) if model else []
        hint = suggest(str(path[-1]), allowed) or (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        return f"unknown key {path[-1]!r}{hint}"
    if kind == "literal_error":
        expected = _literal_choices(root, path, data)
        hint = suggest(str(value), expected) if isinstance(value, str) else ""
        choices = ", ".join(repr(c) for c in expected) if expected else ctx.get("expected", "")
        return f"must be one of {choices}{got}{hint}"
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", "")).replace("'", "").split(", ")
        return (
            f"unknown {ctx.get('discriminator', 'type')} {ctx.get('tag')!r}{suggest(str(ctx.get('tag')), tags)}; "
            + (f"must be one of {ctx.get('expected_tags')}")
        )
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind.startswith(("int_", "float_", "greater_", "less_", "bool_", "finite_")) or kind in ("int_type",):
        return f"must be {_describe(kind, root, path, data, ctx)}{got}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"must be {FRIENDLY_PATTERNS.get(pattern, f'text matching {pattern}')}{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values{got}"
    if kind == "list_type":
        return f"must be a list{got}"
    if kind in ("string_type",):
        return f"must be text{got}"
    msg = err["msg"]
    return f"{msg[:1].lower()}{msg[1:]}{got}"


def _describe(kind: str, root: type[BaseModel], path: Path_, data: Any, ctx: dict[str, Any]) -> str:
    """``an integer >= 2``, ``a number > 0 and <= 1``, ``true or false`` ... from the field's declaration."""
    if kind.startswith("bool_"):
        return "true or false"
    bounds: dict[str, Any] = {k: ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx}
    annotation: Any = None
    metadata: list[Any] = []
    item = bool(path) and isinstance(path[-1], int)  # an item of a list field: its declaration is the list's
    field_path = path[:-1] if item else path
    parent = model_at(root, field_path[:-1], data) if field_path else None
    if parent is not None and isinstance(field_path[-1], str) and field_path[-1] in parent.model_fields:
        field = parent.model_fields[field_path[-1]]
        annotation, metadata = _optional_member(field.annotation, list(field.metadata))
        if item and get_origin(annotation) is list:
            annotation, metadata = _optional_member(get_args(annotation)[0], [])
    for meta in metadata:
        for name, cls in (("ge", at.Ge), ("gt", at.Gt), ("le", at.Le), ("lt", at.Lt)):
            if isinstance(meta, cls):
                bounds[name] = _number(getattr(meta, name))
    integer = kind.startswith("int_") or annotation is int
    noun = "an integer" if integer else ("a finite number" if kind == "finite_number" else "a number")
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']} to {bounds['le']}"
    ops = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
    parts = [f"{op} {bounds[name]}" for name, op in ops if name in bounds]
    return noun + (" " + " and ".join(parts) if parts else "")


def _optional_member(tp: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The declared type and its constraints, through ``Annotated[...]`` and ``X | None`` (whose constraints
    pydantic leaves on X rather than on the field)."""
    members = _members(tp)
    if len(members) == 1 and get_origin(_strip_none(tp)) is Annotated:
        extra = get_args(_strip_none(tp))[1:]
        metadata = metadata + [m for meta in extra for m in getattr(meta, "metadata", [meta])]
    return (members[0] if len(members) == 1 else _unwrap(tp)), metadata


def _strip_none(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        rest = [a for a in get_args(tp) if a is not type(None)]
        return rest[0] if len(rest) == 1 else tp
    return tp


def _number(bound: Any) -> Any:
    """A bound as the message shows it: ``1e+15`` rather than ``1000000000000000.0``."""
    return f"{bound:g}" if isinstance(bound, float) and abs(bound) >= 1e6 else bound


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(tp) if a is not type(None)]
    return [tp]


def _pick_model(tp: Any, node: Any) -> Any:
    """The union member a node was meant to be: the model whose tag literal matches the node's tag."""
    members = _members(tp)
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if len(members) == 1 or not models:
        return members[0]
    for model in models:
        for tag in ("type", "shape", "method"):
            field = model.model_fields.get(tag)
            if field is not None and isinstance(node, dict) and node.get(tag) in get_args(field.annotation):
                return model
    if isinstance(node, dict):  # no tag given: the member whose fields the node's keys match best
        return max(models, key=lambda model: len(set(model.model_fields) & set(node)))
    return models[0]


def model_at(root: type[BaseModel], path: Path_, data: Any) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``path`` (None if it is not a model)."""
    tp: Any = root
    node = data
    for step in path:
        tp = _pick_model(tp, node)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(step))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return None
        node = node.get(step) if isinstance(node, dict) else (node[step] if isinstance(node, list) else None)
    tp = _pick_model(tp, node)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _literal_choices(root: type[BaseModel], path: Path_, data: Any) -> list[Any]:
    while path and isinstance(path[-1], int):  # an item of a list field: the choices are the field's
        path = path[:-1]
    parent = model_at(root, path[:-1], data) if path else None
    if parent is None or not isinstance(path[-1], str) or path[-1] not in parent.model_fields:
        return []
    tp = parent.model_fields[path[-1]].annotation
    for member in _members(tp):
        if get_origin(member) is list:
            member = _unwrap(get_args(member)[0])
        if get_origin(member) is Literal:
            return list(get_args(member))
    return []
