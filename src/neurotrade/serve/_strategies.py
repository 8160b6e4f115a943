"""Strategies as the API receives them: YAML text checked by the same loader as ``neurotrade validate``, its
problems split into line, key path and message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from neurotrade.errors import ConfigError
from neurotrade.serve._errors import ApiError
from neurotrade.serve._schemas import Problem, StrategySource

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


def check(text: str, home: Path) -> tuple[Strategy | None, list[Problem]]:
    """The resolved strategy, or every problem (relative data paths are the workspace's).

    Examples
    --------
    >>> spec, problems = check("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n", Path("."))
    >>> spec.name, problems
    ('x', [])
    >>> [p.path for p in check("name: x\\nsplit: {folds: 0}\\n", Path("."))[1]]
    ['nn_inputs', 'split.folds']
    """
    from neurotrade.config import parse_strategy

    try:
        return parse_strategy(text, source=SOURCE, base_dir=home), []
    except ConfigError as e:
        return None, [problem(p) for p in e.problems]


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
