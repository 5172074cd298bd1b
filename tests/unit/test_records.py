"""The result record: one inspection's audit trail, stored as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from inspector import Analysis, Outcome, ResultRecord, Verdict, evaluate
from inspector.errors import RecordError
from inspector.records import SCHEMA_VERSION
from tests.unit.builders import (
    analysis,
    criteria,
    custom_label,
    detect_custom_labels,
    label,
    object_ref,
)

INSPECTED_AT = datetime(2024, 6, 1, 10, 15, 30, 123456, tzinfo=UTC)
RULES = criteria(
    minConfidence=90,
    reviewMargin=10,
    require=[{"label": "Widget"}, {"label": "Screw", "count": {"min": 4, "max": 4}}],
    forbid=[{"label": "Rust"}],
    quality={"minSharpness": 40},
)


def _judged(seen: Analysis, **overrides: Any) -> ResultRecord:
    return ResultRecord.judged(
        object_ref(), seen, evaluate(seen, RULES), inspected_at=INSPECTED_AT, detector="rekognition"
    ).model_copy(update=overrides)


def _rejected() -> ResultRecord:
    return ResultRecord.rejected(
        object_ref("images/line3/empty.jpg"),
        "the object is empty (0 bytes)",
        criteria=RULES.fingerprint,
        inspected_at=INSPECTED_AT,
    )


PASSING = analysis(
    label("Widget", 98.0),
    label("Screw", 97.0, instances=(96.0, 95.0, 94.0, 93.0)),
    quality={"Sharpness": 70.0},
)
UNMEASURED = analysis(label("Widget", 98.0), label("Screw", 97.0, instances=(96.0, 95.0, 94.0, 93.0)))
REVIEWED = analysis(
    label("Widget", 98.0),
    label("Screw", 97.0, instances=(96.0, 95.0, 94.0, 93.0)),
    label("Rust", 84.6, aliases=("Corrosion",)),
    quality={"Sharpness": 70.0},
)


def test_judged_record_carries_the_evaluation_and_the_analysis():
    evaluation = evaluate(REVIEWED, RULES)

    record = ResultRecord.judged(
        object_ref(), REVIEWED, evaluation, inspected_at=INSPECTED_AT, detector="rekognition"
    )

    assert 1 == record.schema_version
    assert (Verdict.REVIEW, RULES.fingerprint) == (record.verdict, record.criteria)
    assert evaluation.findings == record.findings
    assert REVIEWED == record.analysis
    assert (None, None, None) == (record.rejection, record.destination, record.notified_at)
    assert evaluation == record.evaluation()


def test_rejected_record_has_a_reason_and_no_analysis():
    record = _rejected()

    assert (Verdict.REJECTED, "the object is empty (0 bytes)") == (record.verdict, record.rejection)
    assert (None, ()) == (record.analysis, record.findings)
    assert RULES.fingerprint == record.criteria


def test_record_json_names_its_schema_version_1():
    saved = json.loads(_judged(PASSING).to_json())

    assert 1 == SCHEMA_VERSION
    assert 1 == saved["schema_version"]
    assert "PASS" == saved["verdict"]
    assert RULES.fingerprint == saved["criteria"]
    assert "2024-06-01T10:15:30.123456Z" == saved["inspected_at"]


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(_judged(PASSING), id="PASS"),
        pytest.param(_judged(REVIEWED), id="REVIEW, alias match"),
        pytest.param(_judged(UNMEASURED), id="FAIL with a quality measure not reported"),
        pytest.param(
            ResultRecord.judged(
                object_ref(),
                custom := Analysis.from_detect_custom_labels(
                    detect_custom_labels(*(custom_label("Screw", 95.0, left=0.2 * i) for i in range(4))),
                    project_version_arn="arn:aws:rekognition:eu-west-1:123456789012:project/widgets/version/v1/1",
                ),
                evaluate(custom, RULES),
                inspected_at=INSPECTED_AT,
            ),
            id="custom labels",
        ),
        pytest.param(_rejected(), id="REJECTED"),
        pytest.param(
            _judged(
                PASSING,
                destination="s3://widget-images/analyzed/line3/widget-0001.jpg",
                notified_at=INSPECTED_AT + timedelta(seconds=2),
            ),
            id="moved and notified",
        ),
        pytest.param(
            _judged(PASSING, inspected_at=datetime(2024, 6, 1, 12, 15, tzinfo=timezone(timedelta(hours=2)))),
            id="non-UTC offset",
        ),
    ],
)
def test_record_round_trips_through_its_json(record: ResultRecord):
    saved = record.to_json()

    assert record == ResultRecord.from_json(saved)
    assert record == ResultRecord.from_json(saved.encode())


def test_finding_not_measured_round_trips_as_not_measured():
    record = _judged(UNMEASURED)

    restored = ResultRecord.from_json(record.to_json())

    assert Verdict.FAIL == restored.verdict
    assert [("quality.minSharpness", None, Outcome.UNMET)] == [
        (f.rule, f.observed, f.outcome) for f in restored.evaluation().reasons
    ]


def test_record_json_leaves_out_what_is_not_set():
    saved = json.loads(_rejected().to_json())

    expected = {
        "schema_version",
        "image",
        "verdict",
        "criteria",
        "findings",
        "rejection",
        "inspected_at",
        "line",
    }
    assert expected == set(saved)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        pytest.param(
            {"verdict": Verdict.REJECTED}, "rejection is set exactly when", id="REJECTED without rejection"
        ),
        pytest.param(
            {"verdict": Verdict.PASS, "rejection": "empty", "analysis": PASSING},
            "rejection is set exactly when",
            id="PASS with a rejection",
        ),
        pytest.param(
            {"verdict": Verdict.FAIL, "rejection": "corrupt", "analysis": PASSING},
            "rejection is set exactly when",
            id="FAIL with a rejection",
        ),
        pytest.param(
            {"verdict": Verdict.PASS}, "a PASS record needs the analysis", id="PASS without analysis"
        ),
        pytest.param(
            {"verdict": Verdict.FAIL}, "a FAIL record needs the analysis", id="FAIL without analysis"
        ),
        pytest.param(
            {"verdict": Verdict.REVIEW}, "a REVIEW record needs the analysis", id="REVIEW without analysis"
        ),
    ],
)
def test_inconsistent_record_is_refused(fields: dict[str, Any], words: str):
    with pytest.raises(ValidationError, match=words):
        ResultRecord(image=object_ref(), criteria=RULES.fingerprint, inspected_at=INSPECTED_AT, **fields)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"inspected_at": datetime(2024, 6, 1, 10, 15)}, id="naive inspected_at"),
        pytest.param(
            {"inspected_at": INSPECTED_AT, "notified_at": datetime(2024, 6, 1, 10, 16)},
            id="naive notified_at",
        ),
    ],
)
def test_timestamps_without_a_timezone_are_refused(fields: dict[str, Any]):
    with pytest.raises(ValidationError, match="timezone"):
        ResultRecord(
            image=object_ref(), verdict=Verdict.PASS, criteria=RULES.fingerprint, analysis=PASSING, **fields
        )


def test_judged_record_with_a_naive_timestamp_is_refused():
    with pytest.raises(ValidationError, match="timezone"):
        ResultRecord.judged(
            object_ref(),
            PASSING,
            evaluate(PASSING, RULES),
            inspected_at=datetime(2024, 6, 1, 10, 15),
        )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param({"inspected_at": "2024-06-01T10:15:30"}, "timezone", id="naive timestamp"),
        pytest.param({"schema_version": 2}, "schema_version", id="newer schema version"),
        pytest.param({"verdict": "MAYBE"}, "verdict", id="unknown verdict"),
    ],
)
def test_record_json_that_breaks_the_schema_is_refused(change: dict[str, Any], words: str):
    saved = json.loads(_judged(PASSING).to_json()) | change

    with pytest.raises(RecordError, match=words):
        ResultRecord.from_json(json.dumps(saved))


def test_record_is_frozen():
    record = _judged(PASSING)

    with pytest.raises(ValidationError, match="frozen"):
        record.verdict = Verdict.FAIL  # type: ignore[misc]
