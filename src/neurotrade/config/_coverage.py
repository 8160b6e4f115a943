"""Warn when the fuzzy sets of an indicator output leave part of its range uncovered.

A gap is legal (a strategy may care only about the extremes of an RSI), so it is a logged warning located at
the ``fuzzy_sets`` entry, not an error: the researcher sees it on ``validate`` and decides.
"""

from __future__ import annotations

import logging

import numpy as np

from neurotrade import indicators
from neurotrade.config._errors import located
from neurotrade.config._references import Resolved
from neurotrade.config._spec import Strategy
from neurotrade.config._yaml import LocatedDocument
from neurotrade.fuzzy import coverage_gaps

logger = logging.getLogger(__name__)


def warn_uncovered(doc: LocatedDocument, strategy: Strategy, refs: Resolved) -> list[str]:
    """Log a WARNING for each output whose fuzzy sets leave part of its range uncovered.

    The range is the output's ``bounds`` when the indicator registry knows them (RSI and ADX: 0 to 100), else
    the span of the sets' own breakpoints, within which only gaps between sets count.

    Parameters
    ----------
    doc
        The parsed YAML, for the file and line of each ``fuzzy_sets`` entry.
    strategy
        The validated spec, with ``fuzzy_sets`` keyed as written in the file.
    refs
        What the reference checks resolved: each key's canonical output and each indicator's type.

    Returns
    -------
    list of str
        The warnings logged, e.g. ``x.yaml:14 fuzzy_sets.rsi_14: no set covers 39.9-60.1 (of 0-100); ...``.

    Examples
    --------
    >>> from neurotrade.config._references import check_references
    >>> from neurotrade.config._yaml import parse_yaml
    >>> doc = parse_yaml("name: x\\nindicators: {rsi_14: {}}\\nfuzzy_sets:\\n  rsi_14: {hi: [60, 70, 100, 100]}\\n",
    ...                  "x.yaml")
    >>> warn_uncovered(doc, Strategy.model_validate(doc.data), check_references(doc))
    ['x.yaml:4 fuzzy_sets.rsi_14: no set covers 0-60.1 (of 0-100); widen a neighbouring set or add one there']
    """
    warnings: list[str] = []
    for source, specs in strategy.fuzzy_sets.items():
        canonical = refs.fuzzy_sources.get(source)
        if canonical is None:
            continue
        key, _, output = canonical.partition(".")
        indicator = refs.indicators.get(key)
        if indicator is None:
            continue
        info = indicators.get(indicator["type"])
        bounds = info.bounds.get(output or info.outputs[0])
        sets = [spec.to_fuzzy_set(name) for name, spec in specs.items()]
        span, gaps = coverage_gaps(sets, within=bounds)
        if not gaps:
            continue
        where = ", ".join(_interval(lo, hi) for lo, hi in gaps)
        message = f"no set covers {where} (of {_interval(*span)}); widen a neighbouring set or add one there"
        warnings.append(located(doc, ("fuzzy_sets", source), message))
        logger.warning("%s", warnings[-1])
    return warnings


def _interval(lo: float, hi: float) -> str:
    """``45-55``; ``-0.5 to 0.5`` once a sign would make the dash ambiguous. As many digits as tell them apart."""
    for digits in range(4, 18):
        left, right = _number(lo, digits), _number(hi, digits)
        if left != right:
            break
    return f"{left} to {right}" if lo < 0 or hi < 0 else f"{left}-{right}"


def _number(value: float, digits: int) -> str:
    return np.format_float_positional(value + 0.0, precision=digits, unique=False, fractional=False, trim="-")
