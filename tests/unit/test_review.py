"""Decisions and histories as pure functions on result records (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inspector.analysis import Analysis
from inspector.criteria import Criteria
from inspector.engine import Verdict, evaluate
from inspector.events import ObjectRef
from inspector.records import Decision, ResultRecord
from inspector.review import DecisionRefused, decide, pending, timeline
from inspector.review.decisions import notification, notified
from inspector.testing import labels

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
CRITERIA = Criteria.from_document({"minConfidence": 90, "reviewMargin": 10, "require": [{"label": "Widget"}]})
KEY = "images/line-1/w1.jpg"


def judged(confidence: float, *, at: datetime = T0, etag: str = "e1", key: str = KEY) -> ResultRecord:
    analysis = Analysis.from_detect_labels(labels(("Widget", confidence)))
    ref = ObjectRef(bucket="widgets", key=key, raw_key=key, etag=etag)
    record = ResultRecord.judged(ref, analysis, evaluate(analysis, CRITERIA), inspected_at=at)
    folder = {Verdict.PASS: "passed", Verdict.FAIL: "failed", Verdict.REVIEW: "review"}[record.verdict]
    return record.model_copy(update={"notified_at": at, "destination": f"analyzed/{folder}/line-1/w1.jpg"})


def test_a_decision_is_appended_with_the_verdict_it_replaces_and_moves_the_copy() -> None:
    record = judged(85)

    decided = decide(
        record, verdict=Verdict.FAIL, who="arn:qc", at=T0, note="  dented \n", destination="analyzed/failed/x"
    )

    (decision,) = decided.decisions
    assert (Verdict.REVIEW, Verdict.FAIL, "dented") == (decision.before, decision.after, decision.note)
    assert "analyzed/review/line-1/w1.jpg" == decision.moved_from
    assert ("analyzed/failed/x", Verdict.FAIL, Verdict.REVIEW) == (
        decided.destination,
        decided.effective_verdict,
        decided.verdict,
    )
    assert decided == ResultRecord.from_json(decided.to_json())  # stored and read back whole


@pytest.mark.parametrize(
    ("record", "verdict", "words"),
    [
        pytest.param(judged(85), Verdict.REVIEW, "PASS or FAIL, not REVIEW", id="decide-review"),
        pytest.param(judged(85), Verdict.PASS, "2,001 characters; 2,000 at most", id="note-too-long"),
        pytest.param(
            judged(85).model_copy(update={"notified_at": None, "destination": None}),
            Verdict.PASS,
            "still being inspected",
            id="not-yet-filed",
        ),
        pytest.param(
            ResultRecord.rejected(
                ObjectRef(bucket="b", key=KEY, raw_key=KEY), "empty file", criteria="c", inspected_at=T0
            ),
            Verdict.PASS,
            "was REJECTED",
            id="rejected",
        ),
    ],
)
def test_a_decision_that_cannot_apply_is_refused(record: ResultRecord, verdict: Verdict, words: str) -> None:
    note = "x" * 2001 if "characters" in words else ""
    with pytest.raises(DecisionRefused, match=words):
        decide(record, verdict=verdict, who="arn:qc", at=T0, note=note, destination="analyzed/passed/x")


def test_a_decision_record_refuses_a_review_verdict_when_read() -> None:
    with pytest.raises(ValueError, match="PASS or FAIL"):
        Decision(who="arn:qc", at=T0, before=Verdict.PASS, after=Verdict.REVIEW)


def test_pending_is_the_undecided_review_images_of_a_line_oldest_first() -> None:
    late = judged(85, at=T0 + timedelta(hours=1), key="images/b.jpg")
    early = judged(85, key="images/a.jpg").model_copy(update={"line": "line-2"})
    decided = decide(
        judged(85, key="images/c.jpg"), verdict=Verdict.PASS, who="w", at=T0, note="", destination="d"
    )

    assert [early, late] == pending([late, judged(95), early, decided])
    assert [early] == pending([late, early], line="line-2")


def test_the_timeline_keeps_each_inspections_last_state_and_orders_everything_by_time() -> None:
    first = judged(85)
    first_decided = decide(
        first, verdict=Verdict.PASS, who="arn:a", at=T0 + timedelta(minutes=5), note="ok", destination="p"
    )
    second = judged(50, at=T0 + timedelta(hours=1), etag="e2")
    # The record's versions: each write of the first inspection, then the second upload's.
    events = timeline([first, first_decided, notified(first_decided, T0), second])

    assert [
        ("inspection", Verdict.REVIEW, "e1", "analyzed/review/line-1/w1.jpg"),
        ("decision", Verdict.PASS, "e1", "p"),
        ("inspection", Verdict.FAIL, "e2", "analyzed/failed/line-1/w1.jpg"),
    ] == [(e.kind, e.verdict, e.etag, e.filed) for e in events]
    assert ("arn:a", Verdict.REVIEW, "ok") == (events[1].who, events[1].before, events[1].note)


def test_the_decision_notification_can_be_filtered_and_keeps_to_snss_subject_rules() -> None:
    key = "images/line-1/" + "é" * 200 + ".jpg"
    record = decide(
        judged(85, key=key),
        verdict=Verdict.FAIL,
        who="arn:qc",
        at=T0,
        note="line one\nline two",
        destination="f",
    )

    message = notification(record, link="https://example.invalid/x")

    assert {"kind": "decision", "verdict": "FAIL", "line": "default"} == message.attributes
    assert message.subject.startswith("QC decision FAIL: ")
    assert len(message.subject) <= 100
    assert message.subject.isascii()
    assert "  line one\n  line two" in message.body
    assert "By: arn:qc" in message.body
