"""Checks that reach across sections: indicator types and parameters, and the names that fuzzy sets and
``nn_inputs`` refer to.

They run on the raw YAML data (not the validated model) so that one ``validate`` reports these problems together
with the structural ones. Every problem is located at the key path that caused it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from neurotrade import indicators
from neurotrade.config._errors import located, suggest
from neurotrade.config._yaml import LocatedDocument
from neurotrade.data import parse_timeframe
from neurotrade.errors import DataError, IndicatorError

INDICATOR_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Resolved:
    """What the checks learned: each indicator's type and full parameters, and canonical output names."""

    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # any accepted spelling -> canonical column name
    fuzzy_sources: dict[str, str] = field(default_factory=dict)  # fuzzy_sets key as written -> canonical
    problems: list[str] = field(default_factory=list)


def check_references(doc: LocatedDocument) -> Resolved:
    """Resolve and check the cross-section references of a parsed strategy document."""
    data = doc.data if isinstance(doc.data, dict) else {}
    out = Resolved()
    _check_indicators(doc, data.get("indicators"), out)
    _check_fuzzy_sets(doc, data.get("fuzzy_sets"), out)
    _check_nn_inputs(doc, data.get("nn_inputs"), data.get("fuzzy_sets"), out)
    _check_timeframes(doc, data.get("nn_inputs"), data.get("data"), out)
    _check_primary_side(doc, data.get("labels"), out)
    return out


def _check_primary_side(doc: LocatedDocument, section: Any, out: Resolved) -> None:
    """A meta-labelling rule reads indicator outputs declared in ``indicators``."""
    meta = section.get("meta") if isinstance(section, dict) else None
    side = meta.get("side") if isinstance(meta, dict) else None
    if not isinstance(side, dict):
        return
    for key in ("fast", "slow", "indicator"):
        ref = side.get(key)
        if isinstance(ref, str) and ref not in out.outputs:
            out.problems.append(located(doc, ("labels", "meta", "side", key), _not_an_output(ref, out)))


def _check_timeframes(doc: LocatedDocument, section: Any, data_section: Any, out: Resolved) -> None:
    """Feature timeframes must be the data's own or coarser: finer bars cannot be made from coarser ones."""
    section = section if isinstance(section, dict) else {}
    wanted = section.get("timeframes")
    base_name = data_section.get("timeframe", "1d") if isinstance(data_section, dict) else "1d"
    try:
        base = parse_timeframe(base_name)
    except DataError:
        return  # the structural check reports the data timeframe
    if not isinstance(wanted, list):
        return
    for i, name in enumerate(wanted):
        try:
            tf = parse_timeframe(name)
        except DataError as e:
            out.problems.append(located(doc, ("nn_inputs", "timeframes", i), str(e)))
            continue
        if tf.delta < base.delta:
            out.problems.append(
                located(
                    doc,
                    ("nn_inputs", "timeframes", i),
                    f"{tf.name} is finer than the data's timeframe {base.name}; features can only use the data's "
                    "timeframe and coarser ones",
                )
            )


def _check_indicators(doc: LocatedDocument, section: Any, out: Resolved) -> None:
    if not isinstance(section, dict):
        return
    known = [info.name for info in indicators.available()]
    for key, body in section.items():
        path = ("indicators", key)
        if not isinstance(key, str) or not INDICATOR_KEY.match(key):
            out.problems.append(
                located(
                    doc,
                    path,
                    "indicator names use lower-case letters, digits and '_', starting with a letter",
                )
            )
            continue
        body = body if body is not None else {}
        if not isinstance(body, dict):
            continue  # the structural check reports it
        kind = body.get("type")
        if kind is None:
            prefix = key.split("_")[0]
            if prefix not in known:
                hint = suggest(prefix, known)
                out.problems.append(
                    located(
                        doc,
                        path,
                        f"cannot tell which indicator {key!r} is{hint}; add `type: <indicator>` "
                        f"(available: {', '.join(known)})",
                    )
                )
                continue
            kind = prefix
        if not isinstance(kind, str) or kind not in known:
            out.problems.append(located(doc, (*path, "type"), f"unknown indicator {kind!r}{suggest(str(kind), known)}"))
            continue
        if isinstance(body.get("params"), dict) and set(body) <= {"type", "params"}:
            params = body["params"]  # the resolved form a bundle's spec.json holds
        else:
            params = {k: v for k, v in body.items() if k != "type"}
        try:
            resolved, problems = indicators.check_params(kind, params)
        except IndicatorError as e:
            out.problems.append(located(doc, path, str(e)))
            continue
        for param, message in problems:
            out.problems.append(located(doc, (*path, param), message))
        misnamed = _name_disagrees_with_period(key, kind, params, resolved)
        if misnamed:
            out.problems.append(located(doc, path, misnamed))
            continue
        if not problems:
            out.indicators[key] = {"type": kind, "params": resolved}
        # Outputs are known from the type alone, so references to them are checked even when a parameter is wrong.
        info = indicators.get(kind)
        if len(info.outputs) == 1:
            out.outputs[key] = key
            out.outputs[f"{key}.{info.outputs[0]}"] = key
        else:
            for name in info.outputs:
                out.outputs[f"{key}.{name}"] = f"{key}.{name}"


def _name_disagrees_with_period(key: str, kind: str, given: dict[str, Any], resolved: dict[str, Any]) -> str | None:
    """``sma_50: {}`` would compute sma's default 20-bar average under a name that says 50, and every feature,
    report and importance table would repeat the lie: refuse a name whose number is not the period it gets by
    default, and say how to write what was meant."""
    number = key.rsplit("_", 1)[-1]
    if "period" in given or "period" not in resolved or not number.isdigit() or key.count("_") != 1:
        return None
    if int(number) == resolved["period"]:
        return None
    return (
        f"the name says {number} but {kind}'s period would be {resolved['period']} (its default); write "
        f"`{key}: {{period: {number}}}`, or name it for what it computes ({kind}_{resolved['period']})"
    )


def _check_fuzzy_sets(doc: LocatedDocument, section: Any, out: Resolved) -> None:
    if not isinstance(section, dict):
        return
    for source in section:
        canonical = out.outputs.get(str(source))
        if canonical is None:
            out.problems.append(located(doc, ("fuzzy_sets", source), _not_an_output(str(source), out)))
        elif canonical in out.fuzzy_sources.values():
            out.problems.append(
                located(
                    doc,
                    ("fuzzy_sets", source),
                    f"{canonical!r} already has fuzzy sets; merge the two entries",
                )
            )
        else:
            out.fuzzy_sources[str(source)] = canonical


def _check_nn_inputs(doc: LocatedDocument, section: Any, fuzzy_section: Any, out: Resolved) -> None:
    section = section if isinstance(section, dict) else {}
    fuzzy_section = fuzzy_section if isinstance(fuzzy_section, dict) else {}
    wanted_fuzzy = section.get("fuzzy", "all")
    wanted_raw = section.get("indicators", [])
    if isinstance(wanted_fuzzy, list):
        for i, ref in enumerate(wanted_fuzzy):
            problem = _fuzzy_ref_problem(ref, fuzzy_section)
            if problem:
                out.problems.append(located(doc, ("nn_inputs", "fuzzy", i), problem))
    if isinstance(wanted_raw, list):
        for i, ref in enumerate(wanted_raw):
            if not isinstance(ref, str) or ref not in out.outputs:
                out.problems.append(located(doc, ("nn_inputs", "indicators", i), _not_an_output(str(ref), out)))
    has_fuzzy = bool(fuzzy_section) if wanted_fuzzy == "all" else bool(wanted_fuzzy)
    if not has_fuzzy and not wanted_raw:
        out.problems.append(
            located(
                doc,
                ("nn_inputs",),
                "the network has no inputs: declare fuzzy_sets, or list indicator outputs under nn_inputs.indicators",
            )
        )


def _fuzzy_ref_problem(ref: Any, fuzzy_section: dict[str, Any]) -> str | None:
    if not isinstance(ref, str) or "." not in ref:
        return f"must name a fuzzy set as '<indicator>.<set>', e.g. 'rsi_14.oversold', got {ref!r}"
    source, set_name = ref.rsplit(".", 1)
    if source not in fuzzy_section:
        return f"no fuzzy sets are declared for {source!r}{suggest(source, list(fuzzy_section))}"
    sets = fuzzy_section[source]
    if isinstance(sets, dict) and set_name not in sets:
        return f"{source!r} has no fuzzy set {set_name!r}{suggest(set_name, list(sets))}"
    return None


def _not_an_output(ref: str, out: Resolved) -> str:
    names = sorted(out.outputs)
    hint = suggest(ref, names)
    if hint:
        return f"{ref!r} is not an indicator output{hint}"
    listing = ", ".join(names) if names else "none declared"
    return f"{ref!r} is not an indicator output (declared outputs: {listing}); declare it under `indicators`"
