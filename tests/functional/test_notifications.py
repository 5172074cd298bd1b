"""The email the QC group gets: SNS subject, body and attributes, and a filter policy on the verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests  # moto's mock_aws answers it in-process too

from inspector.aws import make_client
from inspector.engine import Verdict
from inspector.testing import FakeDetector
from tests.functional.world import (
    BUCKET,
    CRITERIA,
    FAIL_LABELS,
    PASS_LABELS,
    REVIEW_LABELS,
    World,
    image_bytes,
    jpeg,
)

MET = "ok require[0] Widget: expected confidence >= 90 (review from 80), observed 98.5 -> met"
CLEAR = "ok forbid[0] Scratch: expected confidence < 90 (review from 80), observed 0 -> clear"
VIOLATED = "forbid[0] Scratch: expected confidence < 90 (review from 80), observed 95.4 -> violated"
UNCERTAIN = "require[0] Widget: expected confidence >= 90 (review from 80), observed 85 -> uncertain"


def assert_clean_subject(subject: str) -> None:
    """What SNS accepts as a Subject: printable ASCII, one line, at most 100 characters."""
    assert subject.isascii()
    assert subject.isprintable()
    assert "\n" not in subject
    assert "\r" not in subject
    assert 0 < len(subject) <= 100


@pytest.mark.parametrize(
    ("data", "answer", "verdict", "lines", "absent"),
    [
        pytest.param(
            jpeg(),
            PASS_LABELS,
            Verdict.PASS,
            ["Findings:", f"  {MET}", f"  {CLEAR}", "Labels seen (confidence):", "  Widget: 98.5"],
            ["Why:", "Rejected:"],
            id="pass",
        ),
        pytest.param(
            jpeg(),
            FAIL_LABELS,
            Verdict.FAIL,
            ["Why:", f"  - {VIOLATED}", f"  {MET}", f"  XX {VIOLATED}", "  Widget: 98.5", "  Scratch: 95.4"],
            ["Rejected:"],
            id="fail",
        ),
        pytest.param(
            jpeg(),
            REVIEW_LABELS,
            Verdict.REVIEW,
            ["Why:", f"  - {UNCERTAIN}", f"  ?? {UNCERTAIN}", f"  {CLEAR}", "  Widget: 85.0"],
            ["Rejected:"],
            id="review",
        ),
        pytest.param(
            image_bytes("GIF"),
            PASS_LABELS,
            Verdict.REJECTED,
            [
                "Rejected: not a JPEG or PNG image (GIF)",
                "The image could not be analysed; no criteria were applied.",
            ],
            ["Why:", "Findings:", "Labels seen"],
            id="rejected",
        ),
    ],
)
def test_the_email_says_what_was_decided_and_why(  # noqa: PLR0917 - one parametrized table
    world: World, data: bytes, answer: dict[str, Any], verdict: Verdict, lines: list[str], absent: list[str]
) -> None:
    world.upload("images/line-3/w1.jpg", data)
    # The production client configuration: SigV4 links addressed to the bucket's own host.
    processor = world.processor(FakeDetector(default=answer), s3=make_client("s3"))

    world.run(processor)

    destination = world.record("images/line-3/w1.jpg").destination
    assert destination is not None
    (email,) = world.emails()
    assert f"QC {verdict}: w1.jpg (line-3)" == email.subject
    assert_clean_subject(email.subject)
    assert {
        "kind": "inspection",
        "verdict": verdict.value,
        "criteria": CRITERIA.fingerprint,
    } == email.attributes
    body = email.body.splitlines()
    assert f"Verdict: {verdict}" == body[0]
    assert f"Image: s3://{BUCKET}/images/line-3/w1.jpg" == body[1]
    assert f"Filed under: s3://{BUCKET}/{destination}" == body[2]
    assert f"Criteria fingerprint: {CRITERIA.fingerprint}" in body
    for line in lines:
        assert line in body
    for text in absent:
        assert text not in email.body

    link = body[3].removeprefix("Link (valid 1 day): ")
    assert link.startswith(f"https://{BUCKET}.s3.amazonaws.com/{destination}?")
    assert "X-Amz-Expires=86400" in link
    assert data == requests.get(link, timeout=5).content


@pytest.mark.parametrize(
    ("name", "start", "shown"),
    [
        pytest.param(
            ("widget-é-" * 100)[:881] + ".jpg",
            "QC FAIL: widget-e-widget-e-",
            ("widget-é-" * 100)[:881] + ".jpg",
            id="900-char-key",
        ),
        pytest.param(
            "漢字" * 100 + ".jpg",
            "QC FAIL: " + ("HanZi" * 20)[:88] + "...",
            "漢字" * 100 + ".jpg",
            id="cjk-name",
        ),
        pytest.param("名前.jpg", "QC FAIL: MingQian.jpg (linea-3)", "名前.jpg", id="cjk-short-name-kept"),
        pytest.param(
            "w\u200b1\u00a0\u2028tab\there.jpg",
            "QC FAIL: w1 tab here.jpg (linea-3)",
            "w\\u200b1\\xa0\\u2028tab\\there.jpg",
            id="format-and-control-characters",
        ),
        pytest.param(
            "w1.jpg\nVerdict: PASS",
            "QC FAIL: w1.jpg Verdict: PASS (linea-3)",
            "w1.jpg\\nVerdict: PASS",
            id="line-break-forging-a-line",
        ),
    ],
)
def test_the_subject_stays_clean_ascii_whatever_the_key(
    world: World, name: str, start: str, shown: str
) -> None:
    key = f"images/línea-3/{name}"
    world.upload(key, jpeg())

    response = world.run(world.processor(FakeDetector(default=FAIL_LABELS)))

    assert {"batchItemFailures": []} == response  # SNS (moto) refuses a Subject over 100 characters
    (email,) = world.emails()
    assert_clean_subject(email.subject)
    assert email.subject.startswith(start)
    lines = email.body.splitlines()
    assert f"Image: s3://{BUCKET}/images/línea-3/{shown}" == lines[1]
    assert ["Verdict: FAIL"] == [line for line in lines if line.startswith("Verdict:")]


def test_a_filter_policy_on_the_verdict_attribute_delivers_only_failures(world: World) -> None:
    failures_url = world.sqs.create_queue(QueueName="qc-failures")["QueueUrl"]
    failures_arn = world.sqs.get_queue_attributes(QueueUrl=failures_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    world.sns.subscribe(
        TopicArn=world.topic_arn,
        Protocol="sqs",
        Endpoint=failures_arn,
        Attributes={"FilterPolicy": json.dumps({"verdict": ["FAIL", "REJECTED"]})},
    )
    world.upload("images/pass.jpg", jpeg())
    world.upload("images/fail.jpg", jpeg())
    world.upload("images/review.jpg", jpeg())
    world.upload("images/reject.jpg", image_bytes("GIF"))
    detector = FakeDetector(
        {"images/pass.jpg": PASS_LABELS, "images/fail.jpg": FAIL_LABELS, "images/review.jpg": REVIEW_LABELS}
    )

    world.run(world.processor(detector))

    assert ["FAIL", "PASS", "REJECTED", "REVIEW"] == sorted(e.attributes["verdict"] for e in world.emails())
    delivered = [json.loads(m["Body"]) for m in world.receive(failures_url)]
    assert ["QC FAIL: fail.jpg", "QC REJECTED: reject.jpg"] == sorted(n["Subject"] for n in delivered)
    assert ["FAIL", "REJECTED"] == sorted(n["MessageAttributes"]["verdict"]["Value"] for n in delivered)
