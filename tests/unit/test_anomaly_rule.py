"""The reference detector reports one label, Anomaly: wherever its detectors meet criteria, criteria with no
rule that can fail on it are refused (every defect would PASS), and the message says what to add."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from inspector.criteria import Criteria
from inspector.errors import SettingsError
from inspector.lines import ANOMALY_RULE_HINT, DetectorName, Line, detectors_problem
from inspector.livecriteria.documents import RefusedDocument, accept, new_version
from inspector.settings import Settings

QUALITY_ONLY = Criteria.from_document({"quality": {"minSharpness": 40}})
ANOMALY = Criteria.from_document({"quality": {"minSharpness": 40}, "forbid": [{"label": "Anomaly"}]})
WHO = "arn:aws:iam::123456789012:user/qc"


def reference_line(*detectors: DetectorName) -> Line:
    return Line(name="widgets", prefix="line-4/", detectors=detectors, reference_model="models/w.npz")


@pytest.mark.parametrize(
    "detectors",
    [
        (DetectorName.REFERENCE,),
        (DetectorName.REFERENCE, DetectorName.REKOGNITION),
        (DetectorName.REKOGNITION, DetectorName.REFERENCE),
        (DetectorName.LOCAL, DetectorName.REFERENCE),
    ],
    ids=["alone", "then-rekognition", "after-rekognition", "with-local"],
)
def test_every_set_of_detectors_holding_reference_needs_a_forbid_on_anomaly(detectors: Any) -> None:
    problem = detectors_problem(detectors, QUALITY_ONLY)

    assert problem is not None
    assert ANOMALY_RULE_HINT in problem
    assert detectors_problem(detectors, ANOMALY) is None


def test_a_line_with_such_seed_criteria_is_refused() -> None:
    with pytest.raises(ValueError, match="line 'widgets': the reference detector reports one label"):
        Line(
            name="widgets",
            prefix="line-4/",
            detectors=(DetectorName.REFERENCE,),
            reference_model="models/w.npz",
            criteria=QUALITY_ONLY,
        )


def test_publishing_such_live_criteria_for_a_reference_line_is_refused() -> None:
    line = reference_line(DetectorName.REKOGNITION, DetectorName.REFERENCE)
    at = datetime(2026, 11, 29, tzinfo=UTC)

    with pytest.raises(RefusedDocument, match="no rule forbids it"):
        new_version(line, QUALITY_ONLY, version=1, who=WHO, at=at)
    good = new_version(line, ANOMALY, version=1, who=WHO, at=at)
    assert ANOMALY.fingerprint == good.fingerprint


def test_the_function_never_takes_up_such_a_document_written_into_the_store_by_hand() -> None:
    line = reference_line(DetectorName.REFERENCE)
    document = {
        "line": "widgets",
        "version": 2,
        "fingerprint": QUALITY_ONLY.fingerprint,
        "criteria": QUALITY_ONLY.canonical(),
        "publishedBy": WHO,
        "publishedAt": "2026-11-29T00:00:00Z",
    }

    with pytest.raises(RefusedDocument, match="no rule forbids it"):
        accept(json.dumps(document), line, where="criteria/widgets/000002.json")


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [{"name": "w", "prefix": "w/", "detectors": ["reference"], "referenceModel": "models/w.npz",
          "criteria": QUALITY_ONLY.canonical()}],
    ],
    ids=["default-line", "a-line"],
)  # fmt: skip
def test_the_function_settings_refuse_it_on_the_default_line_and_on_a_line(lines: list[Any]) -> None:
    environ = {
        "INSPECTOR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:verdicts",
        "INSPECTOR_BUCKET": "widget-factory-images",
        "INSPECTOR_CRITERIA": json.dumps(QUALITY_ONLY.canonical() if not lines else ANOMALY.canonical()),
        "INSPECTOR_DETECTOR": "reference",
        "INSPECTOR_REFERENCE_MODEL": "models/w.npz",
        "INSPECTOR_LINES": json.dumps(lines),
    }

    with pytest.raises(SettingsError, match="no rule forbids it"):
        Settings.from_env(environ)
