"""QC reports over the result records: counts, yield, Pareto, p-chart, review backlog; DuckDB or Athena."""

from __future__ import annotations

from inspector.reports.model import Report, build_report
from inspector.reports.sql import Params
from inspector.reports.stats import PChart, p_chart, pareto

__all__ = ["PChart", "Params", "Report", "build_report", "p_chart", "pareto"]
