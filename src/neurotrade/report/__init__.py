"""The HTML report of a run: one self-contained page with its tables and plotly figures."""

from neurotrade.report._page import write_report
from neurotrade.report._reading import RunData, read_run
from neurotrade.report._study import write_study_report

__all__ = ["RunData", "read_run", "write_report", "write_study_report"]
