"""PASS, FAIL and REVIEW end to end: moto's own S3 events in, filed image, result record and one email out."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from inspector.detectors.rekognition import RekognitionDetector
from inspector.engine import Outcome, Verdict
from inspector.testing import FakeDetector, labels
from tests.functional.world import (
    BUCKET,
    CRITERIA,
    FAIL_LABELS,
    PASS_LABELS,
    REVIEW_LABELS,
    World,
    jpeg,
    png,
)


@pytest.mark.parametrize(
    ("answer", "verdict", "folder"),
    [
        pytest.param(PASS_LABELS, Verdict.PASS, "passed", id="pass"),
        pytest.param(FAIL_LABELS, Verdict.FAIL, "failed", id="fail"),
        pytest.param(REVIEW_LABELS, Verdict.REVIEW, "review", id="review"),
    ],
)
def test_a_judged_image_is_filed_by_verdict_with_its_record_and_one_email(
    world: World, answer: dict[str, Any], verdict: Verdict, folder: str
) -> None:
    data = jpeg()
    etag = world.upload("images/line-3/w1.jpg", data)
    detector = FakeDetector(default=answer)

    response = world.run(world.processor(detector))

    destination = f"analyzed/{folder}/line-3/w1.jpg"
    assert {"batchItemFailures": []} == response
    assert [destination, "results/line-3/w1.jpg.json"] == world.keys()
    assert data == world.body(destination)
    assert ["images/line-3/w1.jpg"] == detector.keys()

    record = world.record("images/line-3/w1.jpg")
    assert verdict == record.verdict
    assert CRITERIA.fingerprint == record.criteria
    assert destination == record.destination
    assert record.notified_at is not None
    assert etag == record.image.etag
    assert len(data) == record.image.size
    assert "fake" == record.detector
    assert ["require[0]", "forbid[0]"] == [finding.rule for finding in record.findings]
    assert record.analysis is not None
    assert record.rejection is None

    metadata = world.metadata(destination)
    assert verdict.value == metadata["inspector-verdict"]
    assert CRITERIA.fingerprint == metadata["inspector-criteria"]
    assert record.inspected_at.isoformat() == metadata["inspector-inspected-at"]

    (email,) = world.emails()
    assert verdict.value == email.attributes["verdict"]
    assert f"QC {verdict}: w1.jpg (line-3)" == email.subject
    assert 0 == world.queued()


def test_findings_record_what_each_rule_expected_and_observed(world: World) -> None:
    world.upload("images/w2.jpg", jpeg())

    world.run(world.processor(FakeDetector(default=FAIL_LABELS)))

    record = world.record("images/w2.jpg")
    found = {f.rule: (f.subject, f.expected, f.observed, f.outcome) for f in record.findings}
    assert {
        "require[0]": ("Widget", "confidence >= 90 (review from 80)", 98.5, Outcome.MET),
        "forbid[0]": ("Scratch", "confidence < 90 (review from 80)", 95.4, Outcome.VIOLATED),
    } == found


def test_a_png_is_judged_like_a_jpeg(world: World) -> None:
    world.upload("images/line-4/w7.png", png(), content_type="image/png")

    world.run(world.processor(FakeDetector(default=PASS_LABELS)))

    assert ["analyzed/passed/line-4/w7.png", "results/line-4/w7.png.json"] == world.keys()
    assert (
        "image/png" == world.s3.head_object(Bucket=BUCKET, Key="analyzed/passed/line-4/w7.png")["ContentType"]
    )


def test_the_real_rekognition_detector_on_moto_passes_a_mobile_phone(world: World) -> None:
    """moto's DetectLabels answers "Mobile Phone" 99.94 for any image: criteria asking for one pass."""
    world.upload("images/phone.jpg", jpeg())
    processor = world.processor(criteria={"require": [{"label": "Mobile Phone", "minConfidence": 95}]})

    response = world.run(processor)

    assert {"batchItemFailures": []} == response
    record = world.record("images/phone.jpg")
    assert Verdict.PASS == record.verdict
    assert "rekognition" == record.detector
    assert ["analyzed/passed/phone.jpg", "results/phone.jpg.json"] == world.keys()
    assert record.analysis is not None
    assert ["Mobile Phone"] == [label.name for label in record.analysis.labels]


def test_detect_labels_is_asked_for_the_s3_object_and_only_the_labels_the_criteria_name(world: World) -> None:
    etag = world.upload("images/line-3/w3.jpg", jpeg())
    client = world.session.client("rekognition")
    expected_request = {
        # The very version inspected (the bucket is versioned): a newer upload cannot be judged for it.
        "Image": {
            "S3Object": {
                "Bucket": BUCKET,
                "Name": "images/line-3/w3.jpg",
                "Version": world.version("images/line-3/w3.jpg"),
            }
        },
        "Features": ["GENERAL_LABELS"],
        "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Widget", "Scratch"]}},
        "MinConfidence": 80.0,
    }

    with Stubber(client) as stubber:
        # Stubber compares the whole request: no Image.Bytes, no MaxLabels, nothing else.
        stubber.add_response("detect_labels", labels(("Widget", 97.0)), expected_request)
        response = world.run(world.processor(RekognitionDetector(client)))
        stubber.assert_no_pending_responses()

    assert {"batchItemFailures": []} == response
    record = world.record("images/line-3/w3.jpg")
    assert Verdict.PASS == record.verdict
    assert etag == record.image.etag


@pytest.mark.parametrize(
    ("key", "rest"),
    [
        pytest.param("images/line 3/my widget.jpg", "line 3/my widget.jpg", id="spaces"),
        pytest.param("images/a+b.jpg", "a+b.jpg", id="plus"),
        pytest.param("images/100%.jpg", "100%.jpg", id="percent"),
        pytest.param("images/%2F not a slash.jpg", "%2F not a slash.jpg", id="encoded-looking"),
        pytest.param("images/widget é 漢字.jpg", "widget é 漢字.jpg", id="unicode"),
        pytest.param("images/line 3/a+b%c/é.jpg", "line 3/a+b%c/é.jpg", id="all-nested"),
        pytest.param("images/2026/11/03/line-3/cam 2/w1.jpg", "2026/11/03/line-3/cam 2/w1.jpg", id="deep"),
    ],
)
def test_keys_are_decoded_once_and_land_at_the_matching_destination(
    world: World, key: str, rest: str
) -> None:
    world.upload(key, jpeg())
    detector = FakeDetector(default=PASS_LABELS)

    response = world.run(world.processor(detector))

    assert {"batchItemFailures": []} == response
    assert [key] == detector.keys()
    assert [f"analyzed/passed/{rest}", f"results/{rest}.json"] == world.keys()
    record = world.record(key)
    assert key == record.image.key
    assert f"analyzed/passed/{rest}" == record.destination
    (email,) = world.emails()
    assert f"s3://{BUCKET}/{key}" in email.body
