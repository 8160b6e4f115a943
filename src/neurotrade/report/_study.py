"""``write_study_report``: one self-contained HTML page per search study, readable offline.

The page is read from the study's Optuna storage only (the contract ``neurotrade tune`` writes): study attributes
``strategy``, ``objective``, ``direction``, ``holdout``, ``trials_target`` and ``confirmations``; each trial's
params (spec key paths; list-valued choices stored as an index, their values in the trial's ``choices``) and its
``folds``, ``aggregate``, ``node``, ``seconds`` and ``pruned_after_fold`` attributes. Only COMPLETE trials are
results: pruned ones stopped early on their folds, and failed ones (killed in flight) hold nothing, so both are
counted and listed but never ranked, charted or averaged.

The figures are built here from plain trial data rather than with ``optuna.visualization``: a list-valued choice
must show as its value (``[64, 32]``), not as the index Optuna stores, and the page keeps the run report's look.
Optuna is needed only to read the storage and to compute the parameter importances (fANOVA, seeded, so the same
study gives the same page).
"""

from __future__ import annotations

import difflib
import html
import json
import logging
import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from neurotrade.errors import StoreError
from neurotrade.report._figures import TEMPLATE
from neurotrade.report._html import format_value, table
from neurotrade.report._page import CSS

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
STORAGE_NAME = "study.sqlite"
STUDIES_DIR = "studies"
TOP = 10  # configurations in the ranking table
_INSTALL = "Install the search engines with `pip install 'neurotrade[tune]'`."
OBJECTIVES = {
    "excess_sharpe": "excess Sharpe over buy & hold",
    "sharpe": "Sharpe ratio",
    "log_loss": "log loss",
    "dsr": "deflated Sharpe ratio",
}
# The metrics a confirmation records, in the order a quant reads them; the search-time aggregate has most of them.
CONFIRM_METRICS = (
    "sharpe",
    "buy_and_hold_sharpe",
    "excess_sharpe",
    "total_return",
    "buy_and_hold_return",
    "max_drawdown",
    "log_loss",
    "accuracy",
    "dsr",
    "trials_counted",
)
STUDY_CSS = CSS + (
    ".warning{color:#fff;background:#b00020;padding:10px 14px;border-radius:4px;font-weight:600;font-size:16px}\n"
    "code{background:#f3f3f3;padding:1px 4px;border-radius:3px}\n"
)


@dataclass(frozen=True)
class TrialRow:
    """One Optuna trial as the page needs it: plain values, nothing tied to a storage session."""

    number: int
    state: str  # COMPLETE, PRUNED, FAIL, RUNNING or WAITING
    value: float | None
    params: dict[str, Any]
    attrs: dict[str, Any]


@dataclass(frozen=True)
class StudyData:
    """Everything the page shows, read once from the storage."""

    name: str
    storage: str  # the URL as shown (password hidden)
    attrs: dict[str, Any]
    direction: str
    trials: list[TrialRow]
    log_params: frozenset[str] = frozenset()
    # Each categorical dimension's choices as Optuna stores them (an index for list-valued choices).
    categorical: dict[str, list[Any]] = field(default_factory=dict)
    importances: dict[str, float] | None = None
    importance_note: str = ""
    # Looks at this holdout the workspace ledger knows of, by any study or configuration (not only this study's).
    ledger_looks: int = 0


def write_study_report(home: Path, study: str, *, storage: str | None = None) -> Path:
    """Write ``HOME/studies/NAME/report.html`` for a search study: one file, plotly embedded, no network requests.

    Sections: the summary (strategy, objective, trials complete / pruned / failed / asked, the trials counted in
    the deflated Sharpe ratio, the holdout window and how many times it was looked at, with a warning when more
    than once), the optimisation history, the parameter importances, parallel coordinates, the top 10
    configurations with their per-fold excess Sharpe and DSR, the confirmation(s) on the holdout beside the
    chosen trial's search-time metrics, and every trial with its state and node.

    Parameters
    ----------
    home
        The workspace.
    study
        The study's name (its folder under ``HOME/studies`` and its Optuna study name).
    storage
        The Optuna storage URL (any SQLAlchemy URL); default ``sqlite:///HOME/studies/NAME/study.sqlite``.

    Returns
    -------
    Path
        The report file, ``HOME/studies/NAME/report.html``.

    Raises
    ------
    StoreError
        When the study or its storage does not exist or cannot be read (the message lists the studies there), or
        Optuna is not installed.

    Examples
    --------
    >>> write_study_report(Path("."), "momentum")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurotrade.errors.StoreError: no study 'momentum' in studies (...). Studies there: none. Run `neurotrade tune ...
    """
    home = Path(home)
    data = read_study(home, study, storage=storage)
    holdout = data.attrs.get("holdout") or {}
    if holdout.get("dataset") and holdout.get("start"):
        from neurotrade.store import TrialLedger

        data = replace(data, ledger_looks=TrialLedger(home).looks(holdout["dataset"], holdout["start"]))
    page = render_page(data)
    out_dir = home / STUDIES_DIR / study
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / REPORT_NAME
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    log.debug("wrote %s (%d trials)", out, len(data.trials))
    return out


# --- reading ---------------------------------------------------------------------------------------------------


def _check_name(home: Path, study: str) -> None:
    if not study or study in {".", ".."} or Path(study).name != study or "\\" in study:
        raise StoreError(
            f"{study!r} is not a study name: a study is one folder under {home / STUDIES_DIR}; give its name alone"
        )


def _known_studies(home: Path) -> list[str]:
    root = home / STUDIES_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / STORAGE_NAME).is_file())


def _missing(study: str, where: str, known: Sequence[str], *, fix: str) -> StoreError:
    close = difflib.get_close_matches(study, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    there = ", ".join(known) if known else "none"
    return StoreError(f"no study {study!r} in {where}.{hint} Studies there: {there}. {fix}")


def read_study(home: Path, study: str, *, storage: str | None = None) -> StudyData:
    """The study's attributes and trials from its Optuna storage, plus its parameter importances.

    Parameters
    ----------
    home
        The workspace.
    study
        The study's name.
    storage
        An SQLAlchemy URL; default the study's SQLite file in the workspace.

    Returns
    -------
    StudyData
        Plain data; the storage is closed again.

    Raises
    ------
    StoreError
        A study or storage that does not exist or cannot be read, or Optuna missing.

    Examples
    --------
    >>> read_study(Path("."), "a/b")
    Traceback (most recent call last):
    ...
    neurotrade.errors.StoreError: 'a/b' is not a study name: a study is one folder under studies; give its name alone
    """
    home = Path(home)
    _check_name(home, study)
    tune_hint = "Run `neurotrade tune STRATEGY` to create one, or pass the storage URL the study was created with."
    if storage is None:
        path = home / STUDIES_DIR / study / STORAGE_NAME
        # Opening a missing SQLite file would create an empty storage: check first.
        if not path.is_file():
            raise _missing(study, f"{home / STUDIES_DIR} ({path} does not exist)", _known_studies(home), fix=tune_hint)
        storage = f"sqlite:///{path.resolve()}"
    try:
        import optuna
        from sqlalchemy.engine import make_url
    except ImportError as e:
        raise StoreError(f"cannot read study {study!r}: {e.name} is not installed. {_INSTALL}") from e

    try:
        url = make_url(storage)
    except Exception as e:  # sqlalchemy raises ArgumentError and ValueError for a malformed URL
        raise StoreError(f"cannot read study {study!r}: {storage!r} is not a storage URL ({e})") from e
    shown = url.render_as_string(hide_password=True)
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).is_file():  # opening it would create an empty storage
        raise StoreError(
            f"cannot read study {study!r}: the storage {shown} does not exist ({url.database} is missing). {tune_hint}"
        )

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        rdb = optuna.storages.RDBStorage(storage)
    except Exception as e:  # SQLAlchemy and Optuna raise many kinds for a file that is not an Optuna storage
        raise StoreError(f"cannot open the Optuna storage {shown} for study {study!r}: {e}") from e
    try:
        try:
            loaded = optuna.load_study(study_name=study, storage=rdb)
        except KeyError:
            known = [s.study_name for s in optuna.get_all_study_summaries(rdb, include_best_trial=False)]
            raise _missing(study, f"the storage {shown}", sorted(known), fix=tune_hint) from None
        return _collect(optuna, loaded, study, shown)
    finally:
        rdb.engine.dispose()  # the report holds no connection once written


def _collect(optuna: Any, loaded: Any, name: str, shown: str) -> StudyData:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import TrialState

    frozen = sorted(loaded.get_trials(deepcopy=False), key=lambda t: t.number)
    trials = [
        TrialRow(
            number=t.number,
            state=t.state.name,
            value=t.value if t.state == TrialState.COMPLETE else None,
            params=dict(t.params),
            attrs=dict(t.user_attrs),
        )
        for t in frozen
    ]
    log_params: set[str] = set()
    categorical: dict[str, list[Any]] = {}
    for t in frozen:
        for key, dist in t.distributions.items():
            if isinstance(dist, FloatDistribution | IntDistribution) and dist.log:
                log_params.add(key)
            if isinstance(dist, CategoricalDistribution):
                categorical.setdefault(key, list(dist.choices))
    attrs = dict(loaded.user_attrs)
    direction = loaded.direction.name.lower()  # what Optuna ranked by: "maximize" or "minimize"
    importances, note = _importances(optuna, loaded, [t for t in frozen if t.state == TrialState.COMPLETE])
    return StudyData(
        name=name,
        storage=shown,
        attrs=attrs,
        direction=direction,
        trials=trials,
        log_params=frozenset(log_params),
        categorical=categorical,
        importances=importances,
        importance_note=note,
    )


def _importances(optuna: Any, loaded: Any, complete: Sequence[Any]) -> tuple[dict[str, float] | None, str]:
    """fANOVA importances of the dimensions that vary among the complete trials, or why there are none.

    Optuna answers even with one trial (every importance equal) or with identical trials (numbers from noise);
    those are refused here rather than drawn as if they meant something."""
    if len(complete) < 2:
        return None, (
            f"Parameter importances need at least 2 complete trials; this study has {len(complete)}. "
            "They appear once more trials finish."
        )
    shared = set.intersection(*(set(t.params) for t in complete))
    varying = sorted(k for k in shared if len({json.dumps(t.params[k], sort_keys=True) for t in complete}) > 1)
    if not varying:
        return None, "Parameter importances need parameters that vary: every complete trial used the same values."
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's experimental and small-sample warnings: the note says enough
            result = optuna.importance.get_param_importances(loaded, evaluator=evaluator, params=varying)
    except (ValueError, RuntimeError) as e:
        return None, f"Parameter importances could not be computed: {e}"
    return {k: float(v) for k, v in result.items()}, ""


# --- values as text ----------------------------------------------------------------------------------------------


def choice_value(name: str, value: Any, choices: Mapping[str, Sequence[Any]] | None) -> Any:
    """The value a trial used for ``name``: a list-valued choice is stored as its index and looked up here.

    Examples
    --------
    >>> choice_value("model.hidden", 1, {"model.hidden": [[32, 16], [64, 32]]})
    [64, 32]
    >>> choice_value("training.learning_rate", 0.001, {"model.hidden": [[32, 16]]})
    0.001
    """
    options = (choices or {}).get(name)
    if options is not None and isinstance(value, int | float) and not isinstance(value, bool):
        index = int(value)
        if index == value and 0 <= index < len(options):
            return options[index]
    return value


def param_text(value: Any) -> str:
    """A parameter value as table text: lists as lists, floats to 4 significant digits, escaped.

    Examples
    --------
    >>> param_text([64, 32]), param_text(0.000123456), param_text(14), param_text("a<b"), param_text(None)
    ('[64, 32]', '0.0001235', '14', 'a&lt;b', '–')
    """
    if value is None:
        return "–"
    if isinstance(value, list | tuple | dict):
        return html.escape(json.dumps(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def metric_text(key: str, value: Any) -> str:
    """A metric as table text, as the run report shows it; every ``*_return`` is a percentage, and a whole count
    stored as a float is shown as a count.

    Examples
    --------
    >>> metric_text("buy_and_hold_return", 0.1234), metric_text("trials_counted", 12.0), metric_text("dsr", 0.91)
    ('12.34%', '12', '0.910')
    """
    if key.endswith("_return"):
        key = "total_return"
    if key == "trials_counted" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return format_value(key, value)


# --- the page ----------------------------------------------------------------------------------------------------


def _complete(data: StudyData) -> list[TrialRow]:
    return [t for t in data.trials if t.state == "COMPLETE" and t.value is not None]


def ranked(data: StudyData) -> list[TrialRow]:
    """Complete trials best first (ties by trial number); NaN objectives last."""
    sign = -1.0 if data.direction == "maximize" else 1.0

    def key(t: TrialRow) -> tuple[bool, float, int]:
        value = float(t.value) if t.value is not None else math.nan
        return (math.isnan(value), sign * value if not math.isnan(value) else 0.0, t.number)

    return sorted(_complete(data), key=key)


def _param_names(data: StudyData) -> list[str]:
    names: list[str] = []
    for t in data.trials:
        names += [k for k in t.params if k not in names]
    return names


def _objective(data: StudyData) -> str:
    return str(data.attrs.get("objective") or "excess_sharpe")


def _looks(confirmations: Sequence[Mapping[str, Any]]) -> int:
    if not confirmations:
        return 0
    return max(int(c.get("looks") or 0) for c in confirmations) or len(confirmations)


def render_page(data: StudyData) -> str:
    """The whole HTML page of a study (``write_study_report`` writes it)."""
    strategy = data.attrs.get("strategy") or {}
    title = f"study {data.name}"
    if strategy.get("name"):
        title += f": {strategy['name']}"
    sections = [
        ("Summary", _summary(data)),
        ("Optimisation history", _history(data)),
        ("Parameter importances", _importance_parts(data)),
        ("Parallel coordinates", _parallel(data)),
        (f"Top {TOP} configurations", _top_table(data)),
        ("Holdout confirmation", _confirmation(data)),
        ("All trials", _all_trials(data)),
    ]
    body = []
    first_figure = True
    for heading, parts in sections:
        rendered = []
        for part in parts:
            if isinstance(part, go.Figure):
                rendered.append(
                    part.to_html(
                        full_html=False,
                        include_plotlyjs=first_figure,  # plotly.js once, in the first figure
                        config={"displaylogo": False, "responsive": True},
                    )
                )
                first_figure = False
            else:
                rendered.append(part)
        body.append(f"<section><h2>{html.escape(heading)}</h2>\n" + "\n".join(rendered) + "</section>")
    meta = f"Optuna study {data.name} · storage {data.storage}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}: neurotrade study report</title><style>{STUDY_CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(meta)}</p>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _summary(data: StudyData) -> list[Any]:
    attrs = data.attrs
    strategy = attrs.get("strategy") or {}
    states = Counter(t.state for t in data.trials)
    objective = _objective(data)
    confirmations = attrs.get("confirmations") or []
    looks = max(_looks(confirmations), data.ledger_looks)
    parts: list[Any] = []
    if looks > 1:
        parts.append(
            f"<p class='warning'>Warning: this holdout has been looked at {looks} times. Every look after the first "
            "lets the holdout shape the choice of configuration, so its result is no longer an untouched "
            "out-of-sample test; treat it as one more validation window.</p>"
        )
    rows: list[tuple[str, list[str]]] = [
        ("strategy", [html.escape(str(strategy.get("name", "–")))]),
        ("objective", [html.escape(f"{objective} ({OBJECTIVES.get(objective, objective)}), {data.direction}")]),
        ("trials asked", [metric_text("trials", attrs.get("trials_target"))]),
        ("trials complete", [metric_text("trials", states.get("COMPLETE", 0))]),
        ("trials pruned", [metric_text("trials", states.get("PRUNED", 0))]),
        ("trials failed", [metric_text("trials", states.get("FAIL", 0))]),
    ]
    in_flight = states.get("RUNNING", 0) + states.get("WAITING", 0)
    if in_flight:
        rows.append(("trials running or waiting", [metric_text("trials", in_flight)]))
    best = ranked(data)
    if best:
        rows.append(("best trial", [f"{best[0].number} ({metric_text(objective, best[0].value)})"]))
    deflated = attrs.get("deflated") or {}
    counted = [t.attrs.get("aggregate", {}).get("trials_counted") for t in _complete(data)]
    counted = [c for c in counted if c is not None]
    if deflated.get("trials_counted") is not None:  # every trial's DSR recomputed with the study's final count
        rows.append(("trials counted in the DSR (search)", [metric_text("trials_counted", deflated["trials_counted"])]))
    elif counted:
        rows.append(("trials counted in the DSR (search)", [metric_text("trials_counted", max(counted))]))
    if confirmations:
        last = confirmations[-1].get("metrics", {}).get("trials_counted")
        rows.append(("trials counted in the DSR (latest confirmation)", [metric_text("trials_counted", last)]))
    holdout = attrs.get("holdout") or {}
    if holdout:
        window = f"{holdout.get('start', '?')} to {holdout.get('end', '?')}"
        rows.append(("holdout window", [html.escape(window)]))
        rows.append(("holdout bars", [metric_text("bars", holdout.get("bars"))]))
        fraction = holdout.get("fraction")
        rows.append(("holdout share of history", ["–" if fraction is None else f"{float(fraction) * 100:g}%"]))
        rows.append(("holdout dataset sha256", [html.escape(str(holdout.get("dataset", "–")))]))
    else:
        rows.append(("holdout window", ["none recorded"]))
    rows.append(("holdout looks", [metric_text("looks", looks)]))
    parts.append(table(["", "value"], rows))
    parts.append(
        "<p>Only complete trials are results. Pruned trials stopped after the fold named in the table of all trials; "
        "failed trials were killed in flight and hold no result. The DSR counts every trial on this dataset: the "
        "study's and the workspace ledger's.</p>"
    )
    if states.get("FAIL"):
        failed = ", ".join(str(t.number) for t in data.trials if t.state == "FAIL")
        parts.append(f"<p class='note'>Failed trials (no result, never ranked): {html.escape(failed)}.</p>")
    search = strategy.get("search")
    if isinstance(search, Mapping) and search:
        space = [(str(k), [html.escape(json.dumps(v, default=str))]) for k, v in search.items()]
        parts.append("<details><summary>the strategy's search section</summary>" + table(["key", "value"], space))
        parts[-1] += "</details>"
    return parts


def _history(data: StudyData) -> list[Any]:
    complete = _complete(data)
    if not complete:
        return ["<p class='note'>No complete trial yet: nothing to chart.</p>"]
    objective = _objective(data)
    maximize = data.direction == "maximize"
    numbers = [t.number for t in complete]
    values = [float(t.value) for t in complete if t.value is not None]
    best: list[float] = []
    for v in values:
        if math.isnan(v):
            best.append(best[-1] if best else math.nan)
        elif not best or math.isnan(best[-1]):
            best.append(v)
        else:
            best.append(max(best[-1], v) if maximize else min(best[-1], v))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=numbers, y=values, mode="markers", name="trial", marker={"color": "#1f77b4"}))
    fig.add_trace(go.Scatter(x=numbers, y=best, mode="lines", name="best so far", line={"shape": "hv"}))
    fig.update_layout(
        title=f"{OBJECTIVES.get(objective, objective)} by trial (complete trials)",
        template=TEMPLATE,
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        xaxis_title="trial",
        yaxis_title=objective.replace("_", " "),
    )
    return [fig]


def _importance_parts(data: StudyData) -> list[Any]:
    if not data.importances:
        return [f"<p class='note'>{html.escape(data.importance_note)}</p>"]
    items = sorted(data.importances.items(), key=lambda kv: (-kv[1], kv[0]))
    fig = go.Figure(
        go.Bar(x=[v for _, v in items][::-1], y=[k for k, _ in items][::-1], orientation="h", marker_color="#1f77b4")
    )
    fig.update_layout(
        title="fANOVA importance of each varying parameter (complete trials)",
        template=TEMPLATE,
        height=max(260, 60 + 36 * len(items)),
        margin={"l": 200, "r": 20, "t": 50, "b": 40},
        xaxis_title="share of the objective's variance",
    )
    rows = [(k, [f"{v:.3f}"]) for k, v in items]
    return [fig, table(["parameter", "importance"], rows)]


def _axis(data: StudyData, name: str, trials: Sequence[TrialRow]) -> dict[str, Any] | None:
    """One parallel-coordinates dimension; categorical axes show each choice's value, log axes their values."""
    raw = [t.params.get(name) for t in trials]
    if any(v is None for v in raw):
        return None  # a dimension some trials lack cannot be drawn through every line
    options = data.categorical.get(name)
    choices = next((t.attrs.get("choices") for t in trials if name in (t.attrs.get("choices") or {})), None)
    if options is not None:
        index = [options.index(v) if v in options else -1 for v in raw]
        labels = [param_text(choice_value(name, o, choices)) for o in options]
        ticks = list(range(len(options)))  # every choice on the axis, the untried ones too
        return {"label": name, "values": index, "range": [0, max(ticks[-1], 1)], "tickvals": ticks, "ticktext": labels}
    if choices and name in choices:  # an index stored as an int dimension
        options = list(choices[name])
        labels = [param_text(o) for o in options]
        ticks = list(range(len(options)))
        return {"label": name, "values": raw, "range": [0, max(ticks[-1], 1)], "tickvals": ticks, "ticktext": labels}
    if name in data.log_params and all(isinstance(v, int | float) and v > 0 for v in raw):
        logs = [math.log10(v) for v in raw]
        low, high = math.floor(min(logs)), math.ceil(max(logs))
        high = max(high, low + 1)  # one decade at least, so every axis has two labelled ends
        ticks = list(range(low, high + 1))
        return {
            "label": f"{name} (log)",
            "values": logs,
            "range": [low, high],
            "tickvals": ticks,
            "ticktext": [f"{10.0**k:g}" for k in ticks],
        }
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        return {"label": name, "values": raw}
    return None


def _parallel(data: StudyData) -> list[Any]:
    complete = [t for t in _complete(data) if t.value is not None and math.isfinite(t.value)]
    if not complete:
        return ["<p class='note'>No complete trial yet: nothing to chart.</p>"]
    dims = [d for d in (_axis(data, name, complete) for name in _param_names(data)) if d is not None]
    if not dims:
        return ["<p class='note'>The complete trials have no numeric or choice parameters to chart.</p>"]
    objective = _objective(data)
    values = [float(t.value) for t in complete if t.value is not None]
    dims.append({"label": objective.replace("_", " "), "values": values})
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": values,
                "colorscale": "Viridis",
                "reversescale": data.direction != "maximize",  # the best trials are bright either way
                "showscale": True,
                "colorbar": {"title": {"text": objective.replace("_", " ")}},
            },
            dimensions=dims,
        )
    )
    fig.update_layout(
        title={"text": "Parameters of each complete trial, coloured by the objective", "y": 0.97},
        template=TEMPLATE,
        height=520,
        margin={"l": 80, "r": 120, "t": 120, "b": 40},  # room for the axis names above the axes
    )
    return [fig]


def _fold_excess(trial: TrialRow) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for i, fold in enumerate(trial.attrs.get("folds") or []):
        out[int(fold.get("fold", i + 1))] = fold.get("excess_sharpe")
    return out


def _confirmed_trials(data: StudyData) -> set[int]:
    return {int(c["trial"]) for c in data.attrs.get("confirmations") or [] if c.get("trial") is not None}


def _top_table(data: StudyData) -> list[Any]:
    best = ranked(data)[:TOP]
    if not best:
        return ["<p class='note'>No complete trial yet.</p>"]
    objective = _objective(data)
    names = _param_names(data)
    folds = sorted({k for t in best for k in _fold_excess(t)})
    confirmed = _confirmed_trials(data)
    header = ["rank", "trial", *names, objective.replace("_", " ")]
    header += [f"fold {k} excess Sharpe" for k in folds]
    header += ["aggregate Sharpe", "buy & hold Sharpe", "DSR"]
    rows = []
    for rank, t in enumerate(best, start=1):
        choices = t.attrs.get("choices")
        aggregate = t.attrs.get("aggregate") or {}
        excess = _fold_excess(t)
        cells = [f"{t.number} (confirmed)" if t.number in confirmed else str(t.number)]
        cells += [param_text(choice_value(n, t.params.get(n), choices)) for n in names]
        cells.append(metric_text(objective, t.value))
        cells += [metric_text("excess_sharpe", excess.get(k)) for k in folds]
        cells += [metric_text(k, aggregate.get(k)) for k in ("sharpe", "buy_and_hold_sharpe")]
        # The DSR the study recomputed with its final trial count, else the one the trial's run measured then.
        final = (data.attrs.get("deflated") or {}).get("by_trial", {})
        cells.append(metric_text("dsr", final.get(str(t.number), aggregate.get("dsr"))))
        rows.append((str(rank), cells))
    done = len(_complete(data))
    order = "highest" if data.direction == "maximize" else "lowest"
    note = f"<p>The best {len(best)} of {done} complete trial(s), {order} objective first; Sharpe ratios are over "
    note += "the walk-forward folds (the holdout is not in them).</p>"
    return [note, table(header, rows)]


def _confirmation(data: StudyData) -> list[Any]:
    confirmations = data.attrs.get("confirmations") or []
    if not confirmations:
        command = f"neurotrade confirm {data.name}"
        return [
            f"<p class='note'>Not confirmed yet: run <code>{html.escape(command)}</code> to evaluate the chosen "
            "configuration once on the holdout.</p>"
        ]
    by_number = {t.number: t for t in data.trials}
    columns: list[tuple[str, Mapping[str, Any]]] = []
    shown: set[int] = set()
    details = []
    for i, c in enumerate(confirmations, start=1):
        number = c.get("trial")
        trial = by_number.get(int(number)) if number is not None else None
        if number is not None and int(number) not in shown:
            shown.add(int(number))
            search = (trial.attrs.get("aggregate") or {}) if trial else {}
            columns.append((f"trial {number}: search (folds)", search))
        columns.append((f"trial {number}: holdout, look {c.get('looks', i)}", c.get("metrics") or {}))
        params = c.get("params") or {}
        choices = trial.attrs.get("choices") if trial else None
        text = ", ".join(f"{k} = {param_text(choice_value(k, v, choices))}" for k, v in params.items())
        where = f" · run folder {html.escape(str(c['run_dir']))}" if c.get("run_dir") else ""
        details.append(
            f"<li>look {html.escape(str(c.get('looks', i)))} on {html.escape(str(c.get('time', '?')))}: trial "
            f"{html.escape(str(number))}{where}<br>{text or 'no parameters'}</li>"
        )
        if trial is None:
            details.append(f"<li class='note'>Trial {html.escape(str(number))} is not in this study.</li>")
    rows = [
        (key.replace("_", " "), [metric_text(key, metrics.get(key)) for _, metrics in columns])
        for key in CONFIRM_METRICS
    ]
    parts: list[Any] = [
        "<p>The search-time column is the trial's aggregate over the walk-forward folds; the holdout columns are "
        "the same configuration trained on all the searched history and traded on the holdout.</p>",
        table(["metric", *[name for name, _ in columns]], rows),
        f"<ul>{''.join(details)}</ul>",
    ]
    best = ranked(data)
    latest = confirmations[-1].get("trial")
    if best and latest is not None and int(latest) != best[0].number:
        parts.append(
            f"<p class='note'>The confirmed trial {html.escape(str(latest))} is not the study's best complete trial "
            f"now ({best[0].number}).</p>"
        )
    return parts


def _all_trials(data: StudyData) -> list[Any]:
    if not data.trials:
        return ["<p class='note'>The study has no trials yet.</p>"]
    objective = _objective(data)
    rows = []
    for t in data.trials:
        state = "failed (killed in flight, no result)" if t.state == "FAIL" else t.state.lower()
        node = t.attrs.get("node")
        rows.append(
            (
                str(t.number),
                [
                    html.escape(state),
                    metric_text(objective, t.value),
                    metric_text("folds", len(t.attrs.get("folds") or [])),
                    metric_text("fold", t.attrs.get("pruned_after_fold")),
                    html.escape(str(node)[:12]) if node else "–",
                    "–" if t.attrs.get("seconds") is None else f"{float(t.attrs['seconds']):.1f}",
                ],
            )
        )
    header = ["trial", "state", objective.replace("_", " "), "folds evaluated", "pruned after fold", "node", "seconds"]
    parts: list[Any] = [
        f"<details><summary>{len(data.trials)} trials</summary>" + table(header, rows) + "</details>",
    ]
    nodes = Counter(str(t.attrs["node"]) for t in data.trials if t.attrs.get("node"))
    if nodes:
        node_rows = [(node, [metric_text("trials", n)]) for node, n in sorted(nodes.items())]
        parts.append(table(["Ray node", "trials"], node_rows))
    return parts
