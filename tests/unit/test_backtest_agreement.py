"""Backtest against people's decisions: agreement, escapes, false rejects and REVIEW load, per line."""

from __future__ import annotations

from datetime import UTC, datetime

from inspector.analysis import Analysis
from inspector.commands.backtest import backtest, text
from inspector.criteria import Criteria
from inspector.engine import Verdict, evaluate
from inspector.events import ObjectRef
from inspector.records import Decision, ResultRecord
from inspector.testing import labels

AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
IN_FORCE = Criteria.from_document({"minConfidence": 90, "reviewMargin": 10, "require": [{"label": "Widget"}]})
TRIED = Criteria.from_document({"minConfidence": 80, "require": [{"label": "Widget"}]})


def record(name: str, confidence: float, line: str, person: Verdict | None = None) -> ResultRecord:
    analysis = Analysis.from_detect_labels(labels(("Widget", confidence)))
    key = f"images/{line}/{name}"
    ref = ObjectRef(bucket="widgets", key=key, raw_key=key, etag="e")
    judged = ResultRecord.judged(ref, analysis, evaluate(analysis, IN_FORCE), inspected_at=AT)
    decisions = (
        () if person is None else (Decision(who="arn:qc", at=AT, before=judged.verdict, after=person),)
    )
    return judged.model_copy(update={"line": line, "decisions": decisions})


RECORDS = [
    record("w1.jpg", 95, "line-a", Verdict.FAIL),  # in force PASS: escape; tried PASS: escape
    record("w2.jpg", 85, "line-a", Verdict.PASS),  # in force REVIEW; tried PASS: agrees
    record("w3.jpg", 50, "line-a", Verdict.PASS),  # FAIL under both: a false reject twice
    record("w4.jpg", 85, "line-b", Verdict.FAIL),  # in force REVIEW; tried PASS: escape
    record("w5.jpg", 95, "line-b"),  # nobody decided: only the REVIEW load counts it
]


def test_agreement_with_people_is_counted_per_line_for_the_criteria_in_force_and_tried() -> None:
    report = backtest(iter((r.image.key, r) for r in RECORDS), TRIED)

    lines = report.to_json()["lines"]
    assert {
        "judged": 3,
        "review_load": {"in_force": 1, "tried": 0},
        "in_force": {"decided": 3, "agree": 0, "escapes": 1, "false_rejects": 1, "review": 1},
        "tried": {"decided": 3, "agree": 1, "escapes": 1, "false_rejects": 1, "review": 0},
    } == lines["line-a"]
    assert {
        "judged": 2,
        "review_load": {"in_force": 1, "tried": 0},
        "in_force": {"decided": 1, "agree": 0, "escapes": 0, "false_rejects": 0, "review": 1},
        "tried": {"decided": 1, "agree": 0, "escapes": 1, "false_rejects": 0, "review": 0},
    } == lines["line-b"]


def test_the_text_report_has_a_row_per_line_and_criteria() -> None:
    report = backtest(iter((r.image.key, r) for r in RECORDS), TRIED)

    out = text(report, show=5).splitlines()

    assert "agreement with people's decisions (4 decided record(s)) and REVIEW load, per line:" in out
    rows = [line.split() for line in out if line.startswith(("  line-", "          "))]
    assert ["line-a", "in", "force", "3", "0", "1", "1", "1", "1", "of", "3", "(33%)"] in rows
    assert ["tried", "3", "1", "1", "1", "0", "0", "of", "3", "(0%)"] in rows


def test_a_later_decision_overrides_an_earlier_one_as_the_peoples_verdict() -> None:
    first = record("w1.jpg", 95, "line-a", Verdict.FAIL)
    again = Decision(who="arn:qc2", at=AT, before=Verdict.FAIL, after=Verdict.PASS)
    overridden = first.model_copy(update={"decisions": (*first.decisions, again)})

    report = backtest(iter([("k", overridden)]), TRIED)

    assert 1 == report.lines["line-a"].in_force.agree
