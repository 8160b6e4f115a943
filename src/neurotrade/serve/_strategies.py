"""Strategies as the API receives them: YAML text checked by the same loader as ``neurotrade validate``, its
problems split into line, key path and message.

A strategy sent to the server is run by the server's user, so the files it names must lie in the workspace: the
CLI reads any file its user can, but an API key must not open the server's other files (``data.path:
/etc/passwd`` would be read and its first rows quoted in the job's error) or write stores anywhere on its disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from neurotrade.errors import ConfigError
from neurotrade.serve._errors import ApiError
from neurotrade.serve._schemas import Problem, StrategySource
from neurotrade.serve._settings import SERVE_DIR

if TYPE_CHECKING:
    from neurotrade.config import Strategy

SOURCE = "strategy"
_PROBLEM_RE = re.compile(
    rf"^{SOURCE}:(?P<line>\d+):? (?:(?P<path>[A-Za-z_][A-Za-z0-9_.\[\]-]*): )?(?P<message>.*)$", re.DOTALL
)


def problem(text: str) -> Problem:
    """One located problem line (``strategy:4 nn_inputs.indicators[1]: ...``) as its parts.

    Examples
    --------
    >>> problem("strategy:4 nn_inputs.indicators[1]: 'macd' is not an indicator output")
    Problem(line=4, path='nn_inputs.indicators[1]', message="'macd' is not an indicator output")
    >>> problem("something else").message
    'something else'
    """
    m = _PROBLEM_RE.match(text)
    if m is None:
        return Problem(message=text)
    return Problem(line=int(m["line"]), path=m["path"], message=m["message"])


# The keys that name files on the server's disk: the bars read, the MLflow store and the study storage written.
LOCAL_KEYS = (("data", "path"), ("tracking", "mlflow"), ("search", "storage"))


def _local_file(value: str, key: tuple[str, ...], home: Path) -> Path | None:
    """The file ``value`` of ``key`` names on this machine, or None for a server's URL. data.path is taken from
    the workspace when relative; a store's relative path stays relative (its folder is the opening process's)."""
    if key == ("data", "path"):
        path = Path(value).expanduser()
        return path if path.is_absolute() else home / path
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme.startswith("sqlite"):  # SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// in memory
        rest = value.split(":", 1)[1].split("?", 1)[0]
        text = rest[3:] if rest.startswith("///") else ""
        if text in ("", ":memory:"):
            return None
    elif scheme == "file":
        text = unquote(parts.path)
    elif len(scheme) <= 1:  # a bare path (or a Windows drive letter)
        text = value
    else:
        return None
    return Path(text).expanduser()


def outside_workspace(text: str, home: Path) -> list[Problem]:
    """A problem for each file the strategy names outside the workspace ``home`` or in the server's own folder
    (see :data:`LOCAL_KEYS`), found in the YAML as written, before any file is looked at (so the answer never says
    whether a file out there exists). Paths are compared as written, and one with a ``..`` part is refused: links
    the workspace's owner made are followed (a data folder linked into the workspace is meant to be read), but
    ``..`` after such a link would climb out of the folder it points to, since the loader resolves the link first.

    Examples
    --------
    >>> [p.path for p in outside_workspace("data: {source: file, path: ../../etc/passwd}\\n", Path("/srv/ws"))]
    ['data.path']
    >>> outside_workspace("data: {source: file, path: bars/aapl.csv}\\ntracking: {mlflow: http://mlflow:5000}\\n",
    ...                   Path("/srv/ws"))
    []
    >>> [p.path for p in outside_workspace("tracking: {mlflow: 'sqlite:////srv/ws/serve/s.db'}\\n", Path("/srv/ws"))]
    ['tracking.mlflow']
    """
    from neurotrade.config._yaml import parse_yaml

    try:
        doc = parse_yaml(text, SOURCE)
    except ConfigError:
        return []  # the loader reports it
    root = Path(os.path.normpath(home.absolute()))
    problems = []
    for key in LOCAL_KEYS:
        value: Any = doc.data
        for part in key:
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str):
            continue
        where = _local_file(value, key, home)
        if where is None:
            continue
        dotted, bars = ".".join(key), key == ("data", "path")
        fix = (
            "put the bars in the workspace and give their path relative to it"
            if bars
            else f"leave {dotted} out (the workspace's own store), or give a path in the workspace or a server's URL"
        )
        climbs = ".." in where.parts
        where = Path(os.path.normpath(where))
        if climbs:
            message = (
                f"{value!r} climbs with '..', which after a link in the workspace leads out of it; a strategy sent "
                f"to the server names its files without '..': {fix}"
            )
        elif not where.is_absolute():
            message = f"{value!r} is a relative path, whose folder depends on the process that opens it: {fix}"
        elif not where.is_relative_to(root):
            message = (
                f"{value!r} is outside the server's workspace, and a strategy sent to the server may only name files "
                f"in it: {fix}"
            )
        elif where.is_relative_to(root / SERVE_DIR):
            message = f"{value!r} is in the server's own folder ({SERVE_DIR}/, its keys and jobs): {fix}"
        else:
            continue
        problems.append(Problem(line=doc.line_of(key), path=dotted, message=message))
    return problems


def check(text: str, home: Path) -> tuple[Strategy | None, list[Problem]]:
    """The resolved strategy, or every problem (relative data paths are the workspace's; no file outside it may
    be named, see :func:`outside_workspace`).

    Examples
    --------
    >>> spec, problems = check("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n", Path("."))
    >>> spec.name, problems
    ('x', [])
    >>> [p.path for p in check("name: x\\nsplit: {folds: 0}\\n", Path("."))[1]]
    ['nn_inputs', 'split.folds']
    """
    from neurotrade.config import parse_strategy

    outside = outside_workspace(text, home)
    try:
        spec = parse_strategy(text, source=SOURCE, base_dir=home)
    except ConfigError as e:
        # The loader's own word on those keys ("no such file ...") would tell whether a file out there exists.
        named = {p.path for p in outside}
        problems = [*outside, *(p for p in map(problem, e.problems) if p.path not in named)]
        return None, sorted(problems, key=lambda p: p.line or 0)
    return (None, outside) if outside else (spec, [])


def load(source: StrategySource, home: Path) -> tuple[str, Strategy]:
    """The YAML text and resolved strategy a job request names, or a 422 naming the first problem."""
    if source.example is not None:
        from neurotrade._examples import example_names, example_strategy

        if source.example not in example_names():
            raise ApiError(
                422,
                f"no packaged example {source.example!r}; the examples are {', '.join(example_names())}",
                field="body.example",
            )
        text = example_strategy(source.example).read_text(encoding="utf-8")
    else:
        assert source.strategy is not None
        text = source.strategy
    spec, problems = check(text, home)
    if spec is None:
        first = problems[0]
        where = f"line {first.line}: " if first.line else ""
        more = f" (and {len(problems) - 1} more; POST /strategies/validate lists them)" if len(problems) > 1 else ""
        field = "body.strategy" + (f".{first.path}" if first.path else "")
        raise ApiError(422, f"the strategy is not valid: {where}{first.message}{more}", field=field)
    return text, spec
