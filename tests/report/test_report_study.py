"""The study report, read from Optuna studies written here directly in the layout `neurotrade tune` stores."""

from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from neurotrade.errors import StoreError
from neurotrade.report import write_study_report

DISTRIBUTIONS = {
    "training.learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    "model.hidden": CategoricalDistribution([0, 1]),  # an index into CHOICES
    "indicators.rsi_14.period": IntDistribution(5, 30),
}
CHOICES = {"model.hidden": [[32, 16], [64, 32]]}
NODES = ("a1b2c3d4e5f6a7b8c9d0", "ffee00112233445566778899")
# (learning rate, hidden index, rsi period, objective): values with more digits than the page shows.
COMPLETE = [
    (0.00012345, 0, 7, 0.412341),
    (0.0031416, 1, 22, 0.915926),
    (0.0009871, 1, 14, -0.123456),
    (0.0056789, 0, 28, 0.661803),
    (0.0002222, 1, 9, 0.271828),
]
SPACE = {"training.learning_rate": {"loguniform": [1e-4, 1e-2]}}
STRATEGY = {"name": "planted", "search": {"trials": 12, "space": SPACE}}
HOLDOUT = {
    "fraction": 0.2,
    "start": "2023-03-01T00:00:00+00:00",
    "end": "2023-12-29T00:00:00+00:00",
    "bars": 180,
    "dataset": "ab" * 32,
}


def _folds(value: float, n: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "fold": k,
            "sharpe": value + 0.3 + 0.01234 * k,
            "buy_and_hold_sharpe": 0.3,
            "excess_sharpe": value + 0.01234 * k,
            "log_loss": 1.05,
            "accuracy": 0.4,
            "total_return": 0.05 * k,
        }
        for k in range(1, n + 1)
    ]


def _aggregate(value: float) -> dict[str, Any]:
    return {
        "sharpe": value + 0.345678,
        "buy_and_hold_sharpe": 0.345678,
        "excess_sharpe": value,
        "log_loss": 1.0 - value / 10,
        "accuracy": 0.41,
        "total_return": 0.1,
        "max_drawdown": -0.08,
        "dsr": 0.5 + value / 3,
        "trials_counted": 9,
    }


def _complete(lr: float, hidden: int, period: int, value: float, node: str = NODES[0]) -> Any:
    return create_trial(
        state=TrialState.COMPLETE,
        value=value,
        params={"training.learning_rate": lr, "model.hidden": hidden, "indicators.rsi_14.period": period},
        distributions=DISTRIBUTIONS,
        user_attrs={
            "folds": _folds(value),
            "aggregate": _aggregate(value),
            "choices": CHOICES,
            "node": node,
            "seconds": 12.5,
        },
    )


def _pruned(after: int) -> Any:
    return create_trial(
        state=TrialState.PRUNED,
        params={"training.learning_rate": 0.001, "model.hidden": 0, "indicators.rsi_14.period": 11},
        distributions=DISTRIBUTIONS,
        intermediate_values={k: -1.0 for k in range(1, after + 1)},
        user_attrs={"folds": _folds(-1.0, after), "choices": CHOICES, "node": NODES[1], "pruned_after_fold": after},
    )


def _failed() -> Any:
    return create_trial(
        state=TrialState.FAIL,
        params={"training.learning_rate": 0.002, "model.hidden": 1, "indicators.rsi_14.period": 19},
        distributions=DISTRIBUTIONS,
        user_attrs={"node": NODES[1]},
    )


def _confirmation(trial: int, looks: int, sharpe: float) -> dict[str, Any]:
    return {
        "time": f"2024-01-0{looks}T10:00:00+00:00",
        "trial": trial,
        "params": {"training.learning_rate": 0.0031416, "model.hidden": 1, "indicators.rsi_14.period": 22},
        "metrics": {
            "sharpe": sharpe,
            "buy_and_hold_sharpe": 0.2468,
            "excess_sharpe": sharpe - 0.2468,
            "total_return": 0.0731,
            "buy_and_hold_return": 0.0456,
            "max_drawdown": -0.0512,
            "log_loss": 1.0123,
            "accuracy": 0.4321,
            "dsr": 0.7777,
            "trials_counted": 17,
        },
        "looks": looks,
        "run_dir": f"runs/planted/1d_v{looks}",
    }


def make_study(
    home: Path,
    name: str,
    trials: list[Any],
    *,
    objective: str = "excess_sharpe",
    confirmations: list[dict[str, Any]] | None = None,
    storage: str | None = None,
) -> str:
    """A study in the layout `neurotrade tune` writes; returns its storage URL."""
    folder = home / "studies" / name
    folder.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{folder / 'study.sqlite'}"
    direction = "minimize" if objective == "log_loss" else "maximize"
    study = optuna.create_study(storage=url, study_name=name, direction=direction)
    study.set_user_attr("strategy", STRATEGY)
    study.set_user_attr("objective", objective)
    study.set_user_attr("direction", direction)
    study.set_user_attr("holdout", HOLDOUT)
    study.set_user_attr("trials_target", 12)
    if confirmations is not None:
        study.set_user_attr("confirmations", confirmations)
    for trial in trials:
        study.add_trial(trial)
    return url


class _Tables(HTMLParser):
    """Every table on the page as rows of cell texts (the header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def find_table(page: str, first: str) -> list[dict[str, str]]:
    """The table whose first header cell is ``first``, as one dict per body row keyed by header."""
    for rows in tables(page):
        if rows and rows[0] and rows[0][0] == first:
            return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    raise AssertionError(f"no table headed {first!r}")


def summary(page: str) -> dict[str, str]:
    return {row[""]: row["value"] for row in find_table(page, "")}


@pytest.fixture
def full(tmp_path: Path) -> tuple[Path, str]:
    trials = [_complete(*row, node=NODES[i % 2]) for i, row in enumerate(COMPLETE)]
    trials[2:2] = [_pruned(1), _failed(), _pruned(2)]  # trial numbers: 0, 1, (2 pruned, 3 failed, 4 pruned), 5, 6, 7
    make_study(tmp_path, "wide", trials, confirmations=[_confirmation(1, 1, 1.2345)])
    return tmp_path, "wide"


def test_summary_counts_every_state_and_the_holdout(full: tuple[Path, str]) -> None:
    home, name = full
    out = write_study_report(home, name)
    assert out == home / "studies" / name / "report.html"
    page = out.read_text(encoding="utf-8")
    facts = summary(page)
    assert facts["strategy"] == "planted"
    assert facts["objective"].startswith("excess_sharpe") and "maximize" in facts["objective"]
    assert (facts["trials asked"], facts["trials complete"]) == ("12", "5")
    assert (facts["trials pruned"], facts["trials failed"]) == ("2", "1")
    assert facts["best trial"] == "1 (0.916)"
    assert facts["trials counted in the DSR (search)"] == "9"
    assert facts["trials counted in the DSR (latest confirmation)"] == "17"
    assert facts["holdout window"] == f"{HOLDOUT['start']} to {HOLDOUT['end']}"
    assert (facts["holdout bars"], facts["holdout share of history"]) == ("180", "20%")
    assert facts["holdout dataset sha256"] == HOLDOUT["dataset"]
    assert facts["holdout looks"] == "1"
    assert "class='warning'" not in page  # one look: nothing to warn about
    assert "Failed trials (no result, never ranked): 3." in page


def test_top_table_matches_the_stored_trials(full: tuple[Path, str]) -> None:
    home, name = full
    page = write_study_report(home, name).read_text(encoding="utf-8")
    top = find_table(page, "rank")
    stored = {t.number: t for t in optuna.load_study(study_name=name, storage=_url(home, name)).get_trials()}
    complete = [t for t in stored.values() if t.state == TrialState.COMPLETE]
    expected = sorted(complete, key=lambda t: -t.value)
    assert [row["trial"] for row in top] == [
        f"{t.number} (confirmed)" if t.number == 1 else str(t.number) for t in expected
    ]
    assert [row["rank"] for row in top] == [str(i) for i in range(1, 6)]
    for row, trial in zip(top, expected, strict=True):
        hidden = CHOICES["model.hidden"][trial.params["model.hidden"]]
        assert row["model.hidden"] == str(hidden)  # the list, never the index
        assert row["training.learning_rate"] == f"{trial.params['training.learning_rate']:.4g}"
        assert row["indicators.rsi_14.period"] == str(trial.params["indicators.rsi_14.period"])
        assert float(row["excess sharpe"]) == pytest.approx(trial.value, abs=5e-4)
        for fold in trial.user_attrs["folds"]:
            assert float(row[f"fold {fold['fold']} excess Sharpe"]) == pytest.approx(fold["excess_sharpe"], abs=5e-4)
        aggregate = trial.user_attrs["aggregate"]
        assert float(row["aggregate Sharpe"]) == pytest.approx(aggregate["sharpe"], abs=5e-4)
        assert float(row["buy & hold Sharpe"]) == pytest.approx(aggregate["buy_and_hold_sharpe"], abs=5e-4)
        assert float(row["DSR"]) == pytest.approx(aggregate["dsr"], abs=5e-4)
    # Pruned and failed trials are listed with their state, never ranked.
    listed = {row["trial"]: row for row in find_table(page, "trial")}
    assert listed["3"]["state"] == "failed (killed in flight, no result)" and listed["3"]["excess sharpe"] == "–"
    pruned = listed["2"]
    assert (pruned["state"], pruned["pruned after fold"], pruned["folds evaluated"]) == ("pruned", "1", "1")
    assert listed["4"]["pruned after fold"] == "2"
    nodes = {row["Ray node"]: row["trials"] for row in find_table(page, "Ray node")}
    assert nodes == {NODES[0]: "3", NODES[1]: "5"}


def test_confirmation_sits_beside_the_search_time_metrics(full: tuple[Path, str]) -> None:
    home, name = full
    page = write_study_report(home, name).read_text(encoding="utf-8")
    rows = {row["metric"]: row for row in find_table(page, "metric")}
    search, holdout = "trial 1: search (folds)", "trial 1: holdout, look 1"
    aggregate = _aggregate(COMPLETE[1][3])
    assert float(rows["sharpe"][search]) == pytest.approx(aggregate["sharpe"], abs=5e-4)
    assert float(rows["dsr"][search]) == pytest.approx(aggregate["dsr"], abs=5e-4)
    assert rows["buy and hold return"][search] == "–"  # the search does not record it: shown as missing, not 0
    assert (rows["sharpe"][holdout], rows["excess sharpe"][holdout]) == ("1.234", "0.988")
    assert (rows["total return"][holdout], rows["buy and hold return"][holdout]) == ("7.31%", "4.56%")
    assert (rows["max drawdown"][holdout], rows["accuracy"][holdout]) == ("-5.12%", "43.21%")
    assert (rows["trials counted"][search], rows["trials counted"][holdout]) == ("9", "17")
    assert "model.hidden = [64, 32]" in page
    assert "runs/planted/1d_v1" in page
    assert "Not confirmed yet" not in page


def test_page_is_offline_with_every_figure(full: tuple[Path, str]) -> None:
    home, name = full
    page = write_study_report(home, name).read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*src=[\"']?(https?:)?//", page)
    assert page.count("plotly.js v") == 1  # embedded once, the other figures reuse it
    assert page.count('class="plotly-graph-div"') == 3  # history, importances, parallel coordinates
    assert "parcoords" in page
    importances = {row["parameter"]: float(row["importance"]) for row in find_table(page, "parameter")}
    assert set(importances) == set(DISTRIBUTIONS)
    assert sum(importances.values()) == pytest.approx(1.0, abs=2e-3)  # shares, rounded to 3 decimals each


def test_parallel_coordinates_show_choice_values(full: tuple[Path, str]) -> None:
    home, name = full
    page = write_study_report(home, name).read_text(encoding="utf-8")
    assert '"ticktext":["[32, 16]","[64, 32]"]' in page
    assert '"label":"training.learning_rate (log)"' in page


def test_minimised_objective_ranks_lowest_first(tmp_path: Path) -> None:
    trials = [_complete(lr, h, p, 1.0 - v / 10) for lr, h, p, v in COMPLETE]
    make_study(tmp_path, "loss", trials, objective="log_loss")
    page = write_study_report(tmp_path, "loss").read_text(encoding="utf-8")
    top = find_table(page, "rank")
    values = [float(row["log loss"]) for row in top]
    assert values == sorted(values) and top[0]["trial"] == "1"
    assert "lowest objective first" in page
    assert "minimize" in summary(page)["objective"]


def test_a_single_trial_has_no_importances_and_is_not_confirmed(tmp_path: Path) -> None:
    make_study(tmp_path, "one", [_complete(*COMPLETE[0])])
    page = write_study_report(tmp_path, "one").read_text(encoding="utf-8")
    assert "Parameter importances need at least 2 complete trials; this study has 1." in page
    assert "Not confirmed yet: run <code>neurotrade confirm one</code>" in page
    assert summary(page)["holdout looks"] == "0"
    assert len(find_table(page, "rank")) == 1


def test_identical_trials_give_no_importances(tmp_path: Path) -> None:
    make_study(tmp_path, "same", [_complete(*COMPLETE[0]), _complete(*COMPLETE[0][:3], 0.5)])
    page = write_study_report(tmp_path, "same").read_text(encoding="utf-8")
    assert "every complete trial used the same values" in page


def test_a_holdout_looked_at_twice_is_a_loud_warning(tmp_path: Path) -> None:
    confirmations = [_confirmation(1, 1, 1.2345), _confirmation(1, 2, 0.5)]
    make_study(tmp_path, "twice", [_complete(*row) for row in COMPLETE], confirmations=confirmations)
    page = write_study_report(tmp_path, "twice").read_text(encoding="utf-8")
    assert "<p class='warning'>Warning: this holdout has been looked at 2 times." in page
    assert summary(page)["holdout looks"] == "2"
    header = tables(page)[[t[0][0] for t in tables(page)].index("metric")][0]
    assert header == ["metric", "trial 1: search (folds)", "trial 1: holdout, look 1", "trial 1: holdout, look 2"]
    rows = {row["metric"]: row for row in find_table(page, "metric")}
    assert rows["sharpe"]["trial 1: holdout, look 2"] == "0.500"


def test_a_study_with_no_complete_trial_still_reports(tmp_path: Path) -> None:
    make_study(tmp_path, "early", [_pruned(1), _failed()])
    page = write_study_report(tmp_path, "early").read_text(encoding="utf-8")
    facts = summary(page)
    assert (facts["trials complete"], facts["trials pruned"], facts["trials failed"]) == ("0", "1", "1")
    assert "best trial" not in facts
    assert "No complete trial yet" in page
    assert "this study has 0" in page


def test_any_storage_url_is_read_and_the_report_lands_in_the_workspace(tmp_path: Path) -> None:
    elsewhere = tmp_path / "db" / "optuna.db"
    elsewhere.parent.mkdir()
    url = make_study(tmp_path, "remote", [_complete(*row) for row in COMPLETE[:2]], storage=f"sqlite:///{elsewhere}")
    (tmp_path / "studies" / "remote").rmdir()  # nothing of it in the workspace yet
    out = write_study_report(tmp_path, "remote", storage=url)
    assert out == tmp_path / "studies" / "remote" / "report.html"
    assert summary(out.read_text(encoding="utf-8"))["trials complete"] == "2"


def test_a_missing_study_names_what_exists(tmp_path: Path) -> None:
    make_study(tmp_path, "momentum", [_complete(*COMPLETE[0])])
    with pytest.raises(StoreError, match=r"no study 'momentun'.*Did you mean 'momentum'\?.*Studies there: momentum"):
        write_study_report(tmp_path, "momentun")
    url = _url(tmp_path, "momentum")
    with pytest.raises(StoreError, match=r"no study 'other' in the storage sqlite:///.*Studies there: momentum\."):
        write_study_report(tmp_path, "other", storage=url)
    missing = tmp_path / "nowhere.sqlite"
    with pytest.raises(StoreError, match=r"the storage sqlite:///.*nowhere.sqlite does not exist"):
        write_study_report(tmp_path, "momentum", storage=f"sqlite:///{missing}")
    assert not missing.exists()  # reading never creates an empty storage
    with pytest.raises(StoreError, match=r"'\.\./x' is not a study name"):
        write_study_report(tmp_path, "../x")
    assert not (tmp_path / "studies" / "momentun").exists()


def test_a_file_that_is_not_a_storage_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "studies" / "junk"
    folder.mkdir(parents=True)
    (folder / "study.sqlite").write_text("not a database")
    with pytest.raises(StoreError, match=r"cannot open the Optuna storage sqlite:///.*junk/study.sqlite for study"):
        write_study_report(tmp_path, "junk")


def _url(home: Path, name: str) -> str:
    return f"sqlite:///{home / 'studies' / name / 'study.sqlite'}"


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(
    not CHROMIUM.is_file() and not os.environ.get("CI"),
    reason="/usr/bin/chromium is missing (install Debian's chromium package to run this)",
)
def test_page_draws_every_figure_in_a_browser_offline(full: tuple[Path, str], tmp_path: Path) -> None:
    page = write_study_report(*full)
    args = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # a page that needs the network shows it as an error
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # Parallel coordinates draw with WebGL, which headless chromium emulates and says so: anything else is an error.
    console = [
        line
        for line in done.stderr.splitlines()
        if "CONSOLE" in line and "WebGL" not in line and "GL Driver Message" not in line
    ]
    assert console == [], "\n".join(console)
    assert len(re.findall(r'class="main-svg"', done.stdout)) >= 3  # plotly replaced each figure's div
    assert 'class="parcoords"' in done.stdout  # the WebGL figure drew its axes


def test_the_dsr_shown_is_the_one_recomputed_with_the_studys_final_trial_count(tmp_path: Path) -> None:
    """A trial's run measured its DSR with the trials counted so far; the study's ``deflated`` attribute holds
    every DSR recomputed with the final count, and that is the number the page shows."""
    import optuna

    storage = f"sqlite:///{tmp_path / 'studies' / 'late' / 'study.sqlite'}"
    (tmp_path / "studies" / "late").mkdir(parents=True)
    study = optuna.create_study(study_name="late", storage=storage, direction="maximize")
    study.set_user_attr("objective", "excess_sharpe")
    study.set_user_attr("direction", "maximize")
    distribution = {"training.learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    for number, value in enumerate((0.4, 0.6)):
        aggregate = {"sharpe": 1.0, "buy_and_hold_sharpe": 0.5, "dsr": 0.9, "trials_counted": number + 1}
        study.add_trial(
            optuna.trial.create_trial(
                params={"training.learning_rate": 1e-3 * (number + 1)},
                distributions=distribution,
                value=value,
                user_attrs={"aggregate": aggregate, "folds": []},
            )
        )
    study.set_user_attr("deflated", {"trials_counted": 7, "by_trial": {"0": 0.123, "1": 0.456}})
    from neurotrade.report import write_study_report

    page = write_study_report(tmp_path, "late").read_text()
    assert "0.456" in page and "0.123" in page and ">0.900<" not in page
    assert "trials counted in the DSR (search)" in page and ">7<" in page


def test_looks_by_other_studies_at_the_same_holdout_are_counted(tmp_path: Path) -> None:
    """Another study (or configuration) confirmed on the same holdout: this study's report says so too."""
    import optuna

    from neurotrade.report import write_study_report
    from neurotrade.store import TrialLedger

    (tmp_path / "studies" / "mine").mkdir(parents=True)
    storage = f"sqlite:///{tmp_path / 'studies' / 'mine' / 'study.sqlite'}"
    study = optuna.create_study(study_name="mine", storage=storage, direction="maximize")
    study.set_user_attr("holdout", {"fraction": 0.2, "start": "2012-01-03", "end": "2013-01-03", "bars": 250,
                                    "dataset": "sha"})  # fmt: skip
    distribution = {"training.learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    study.add_trial(optuna.trial.create_trial(params={"training.learning_rate": 1e-3}, distributions=distribution,
                                              value=0.5, user_attrs={"aggregate": {}, "folds": []}))  # fmt: skip
    ledger = TrialLedger(tmp_path)
    ledger.record_look("sha", "2012-01-03", study="theirs", spec={"seed": 1})
    ledger.record_look("sha", "2012-01-03", study="theirs", spec={"seed": 2})
    page = write_study_report(tmp_path, "mine").read_text()
    assert "this holdout has been looked at 2 times" in page
