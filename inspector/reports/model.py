"""The report's numbers: built from the queries' rows by `build_report`, printed by `--json`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from inspector.reports.engines import Engine, Row
from inspector.reports.sql import Params
from inspector.reports.stats import ParetoBar, PChart, p_chart, pareto, ratio

VERDICTS = ("PASS", "FAIL", "REVIEW", "REJECTED")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Summary(_Frozen):
    """Images of one line (or of all), by the machine's verdict and by the effective verdict."""

    line: str  # a line's name, or "all"
    images: int
    judged: int  # every verdict but REJECTED
    verdicts: dict[str, int]  # the machine's
    effective: dict[str, int]  # after human decisions (REVIEW: still undecided)
    yield_rate: float | None  # effective PASS / judged
    first_pass_yield: float | None  # machine PASS / judged
    fail_rate: float | None  # effective FAIL / judged: the p-chart's proportion


class LineChart(_Frozen):
    line: str
    chart: PChart


class BacklogDay(_Frozen):
    line: str
    day: str
    images: int


class Backlog(_Frozen):
    """REVIEW images that nobody has decided yet, inspected in the 30 days to the report's end."""

    images: int
    oldest: str | None  # inspected_at of the oldest, UTC
    oldest_age_hours: float | None  # from the oldest to the report's end (or now, if earlier)
    by_day: tuple[BacklogDay, ...]


class Agreement(_Frozen):
    """The machine's PASS/FAIL against people's decisions, and how REVIEWs were decided."""

    decided: int  # machine PASS or FAIL with a human decision
    agreed: int  # of which the decision kept the verdict
    rate: float | None
    overturned: dict[str, int]  # "PASS->FAIL": images
    reviews_decided: dict[str, int]  # REVIEW -> PASS / FAIL


class Report(_Frozen):
    """Everything `inspector report` shows, for one period and one line or all."""

    since: AwareDatetime
    until: AwareDatetime
    line: str | None  # None: every line
    by: str  # "day" or "hour"
    engine: str  # "duckdb" or "athena"
    generated_at: AwareDatetime
    total: Summary
    lines: tuple[Summary, ...]
    pareto: tuple[ParetoBar, ...]
    charts: tuple[LineChart, ...]
    backlog: Backlog
    agreement: Agreement

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True)

    @property
    def out_of_control(self) -> list[tuple[str, str, float, float, float]]:
        """(line, subgroup, p, lcl, ucl) of every point outside its limits."""
        return [
            (c.line, s.label, s.p or 0.0, s.lcl or 0.0, s.ucl or 0.0)
            for c in self.charts
            for s in c.chart.out_of_control
        ]


BACKLOG_DAYS = 30  # the backlog looks this far back from the report's end, whatever its start


class Rows(_Frozen):
    """The rows of every query of one report, for every line: one round of queries serves each line."""

    params: Params
    verdicts: tuple[dict[str, Any], ...]
    subgroups: tuple[dict[str, Any], ...]
    reasons: tuple[dict[str, Any], ...]
    backlog: tuple[dict[str, Any], ...]
    agreement: tuple[dict[str, Any], ...]

    @property
    def lines(self) -> tuple[str, ...]:
        """Every line with an image in the period, or a REVIEW waiting."""
        return tuple(sorted({r["line"] for r in self.verdicts} | {r["line"] for r in self.backlog}))


def collect(engine: Engine, params: Params) -> Rows:
    """Run the report's five queries on `engine`."""
    backlog_params = replace(params, since=min(params.since, params.until - timedelta(days=BACKLOG_DAYS)))
    return Rows(
        params=params,
        verdicts=tuple(engine.query("verdicts", params)),
        subgroups=tuple(engine.query("subgroups", params)),
        reasons=tuple(engine.query("reasons", params)),
        backlog=tuple(engine.query("backlog", backlog_params)),
        agreement=tuple(engine.query("agreement", params)),
    )


def build_report(engine: Engine, params: Params, *, clock: Callable[[], datetime] | None = None) -> Report:
    """Run the report's queries on `engine` and compute its numbers."""
    return summarize(collect(engine, params), engine=engine.name, clock=clock)


def summarize(
    rows: Rows, *, engine: str, line: str | None = None, clock: Callable[[], datetime] | None = None
) -> Report:
    """The report of `rows`, for one line of them (`line`) or for what they hold."""
    now = (clock or (lambda: datetime.now(UTC)))()
    params = rows.params if line is None else replace(rows.params, line=line)

    def mine(found: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
        return [r for r in found if line is None or r["line"] == line]

    verdict_rows = mine(rows.verdicts)
    per_line: dict[str, list[Row]] = defaultdict(list)
    for row in verdict_rows:
        per_line[row["line"]].append(row)
    lines = tuple(_summary(name, found) for name, found in sorted(per_line.items()))
    total = _summary(line or "all", verdict_rows)

    by_line: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for row in mine(rows.subgroups):
        by_line[row["line"]].append((row["subgroup"], int(row["judged"]), int(row["failed"])))
    charts = tuple(LineChart(line=name, chart=p_chart(points)) for name, points in sorted(by_line.items()))

    bars = pareto(
        (f"{r['rule']} {r['subject']}", r["verdict"], int(r["occurrences"])) for r in mine(rows.reasons)
    )

    backlog_rows = mine(rows.backlog)
    as_of = min(now, params.until)
    oldest = min((str(r["oldest"]) for r in backlog_rows), default=None)
    backlog = Backlog(
        images=sum(int(r["images"]) for r in backlog_rows),
        oldest=oldest,
        oldest_age_hours=(
            round((as_of - datetime.fromisoformat(oldest)).total_seconds() / 3600, 1) if oldest else None
        ),
        by_day=tuple(BacklogDay(line=r["line"], day=r["day"], images=int(r["images"])) for r in backlog_rows),
    )

    decided = agreed = 0
    overturned: dict[str, int] = defaultdict(int)
    reviews: dict[str, int] = defaultdict(int)
    for row in mine(rows.agreement):
        images = int(row["images"])
        if row["verdict"] in {"PASS", "FAIL"}:
            decided += images
            if row["decided"] == row["verdict"]:
                agreed += images
            else:
                overturned[f"{row['verdict']}->{row['decided']}"] += images
        elif row["verdict"] == "REVIEW":
            reviews[str(row["decided"])] += images
    agreement = Agreement(
        decided=decided,
        agreed=agreed,
        rate=ratio(agreed, decided),
        overturned=dict(sorted(overturned.items())),
        reviews_decided=dict(sorted(reviews.items())),
    )
    return Report(
        since=params.since,
        until=params.until,
        line=params.line,
        by=params.by,
        engine=engine,
        generated_at=now,
        total=total,
        lines=lines,
        pareto=bars,
        charts=charts,
        backlog=backlog,
        agreement=agreement,
    )


def _summary(line: str, rows: list[Row]) -> Summary:
    verdicts = dict.fromkeys(VERDICTS, 0)
    effective = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        images = int(row["images"])
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + images
        effective[row["effective"]] = effective.get(row["effective"], 0) + images
    images = sum(verdicts.values())
    judged = images - verdicts["REJECTED"]
    return Summary(
        line=line,
        images=images,
        judged=judged,
        verdicts=verdicts,
        effective=effective,
        yield_rate=ratio(effective["PASS"], judged),
        first_pass_yield=ratio(verdicts["PASS"], judged),
        fail_rate=ratio(effective["FAIL"], judged),
    )
