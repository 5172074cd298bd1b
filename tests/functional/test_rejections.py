"""Inputs that cannot be analysed: filed under rejected/ with the reason, one REJECTED email, no retry."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

import inspector.pipeline
from inspector.detectors.rekognition import RekognitionDetector
from inspector.engine import Verdict
from inspector.testing import FakeDetector, rejecting
from tests.functional.world import BUCKET, PASS_LABELS, World, image_bytes, jpeg, png

MIB = 2**20
TEXT = b"Widget 42 passed, said the operator. This is not a picture.\n"


def assert_rejected(world: World, key: str, rest: str, reason: str) -> None:
    """The image is at rejected/<rest>, its record names `reason`, and one REJECTED email went out."""
    assert [f"rejected/{rest}", f"results/{rest}.json"] == world.keys()
    record = world.record(key)
    assert Verdict.REJECTED == record.verdict
    assert reason == record.rejection
    assert f"rejected/{rest}" == record.destination
    assert record.notified_at is not None
    assert record.analysis is None
    assert () == record.findings
    assert "REJECTED" == world.metadata(f"rejected/{rest}")["inspector-verdict"]
    (email,) = world.emails()
    assert "REJECTED" == email.attributes["verdict"]
    assert f"Rejected: {reason}\n" in email.body


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        pytest.param("empty.jpg", b"", "empty file (0 bytes)", id="zero-bytes"),
        pytest.param("notes.jpg", TEXT, "not a JPEG or PNG image (text)", id="text-named-jpg"),
        pytest.param("anim.gif", image_bytes("GIF"), "not a JPEG or PNG image (GIF)", id="gif"),
        pytest.param(
            "gif-named.jpg", image_bytes("GIF"), "not a JPEG or PNG image (GIF)", id="gif-named-jpg"
        ),
        pytest.param(
            "tiny.png",
            png((60, 60)),
            "image is 60x60 px; Rekognition needs at least 80 px per side",
            id="png-under-80px",
        ),
        pytest.param(
            "strip.png",
            png((400, 79)),
            "image is 400x79 px; Rekognition needs at least 80 px per side",
            id="png-one-side-under-80px",
        ),
        pytest.param(
            "huge.jpg",
            jpeg()[:3] + bytes(15 * MIB + 1 - 3),
            "file is 15,728,641 bytes; Rekognition reads at most 15,728,640 bytes (15 MiB) from S3",
            id="over-15-mib",
        ),
    ],
)
def test_what_the_cheap_checks_catch_is_rejected_without_calling_the_detector(
    world: World, name: str, data: bytes, reason: str
) -> None:
    key = f"images/line-3/{name}"
    world.upload(key, data)
    detector = FakeDetector(default=PASS_LABELS)

    response = world.run(world.processor(detector))

    assert {"batchItemFailures": []} == response
    assert [] == detector.calls
    assert_rejected(world, key, f"line-3/{name}", reason)
    assert data == world.body(f"rejected/line-3/{name}")


def test_the_size_limit_is_rekognitions_15_mib(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check at a lowered limit: an ordinary JPEG just over it is rejected, one at it is not."""
    at_limit, over_limit = jpeg(), jpeg((130, 130))
    assert len(at_limit) < len(over_limit)
    monkeypatch.setattr(inspector.pipeline, "REKOGNITION_MAX_S3_OBJECT_BYTES", len(at_limit))
    world.upload("images/at.jpg", at_limit)
    world.upload("images/over.jpg", over_limit)
    detector = FakeDetector(default=PASS_LABELS)

    world.run(world.processor(detector))

    assert ["images/at.jpg"] == detector.keys()
    assert Verdict.PASS == world.record("images/at.jpg").verdict
    assert Verdict.REJECTED == world.record("images/over.jpg").verdict


def test_a_truncated_jpeg_passes_the_sniff_and_is_rejected_when_rekognition_refuses_it(world: World) -> None:
    real = jpeg()
    truncated = real[: len(real) * 40 // 100]
    world.upload("images/line-3/cut.jpg", truncated)
    client = world.session.client("rekognition")

    with Stubber(client) as stubber:
        stubber.add_client_error(
            "detect_labels",
            service_error_code="InvalidImageFormatException",
            service_message="Request has invalid image format",
            http_status_code=400,
        )
        response = world.run(world.processor(RekognitionDetector(client)))
        stubber.assert_no_pending_responses()

    assert {"batchItemFailures": []} == response
    reason = "Rekognition cannot read this image format (Request has invalid image format)"
    assert_rejected(world, "images/line-3/cut.jpg", "line-3/cut.jpg", reason)


def test_a_jpeg_under_80_px_is_rejected_when_rekognition_refuses_it(world: World) -> None:
    """The sniff reads no JPEG dimensions: the detector is asked, and its refusal is final."""
    world.upload("images/line-3/thumb.jpg", jpeg((60, 60)))
    client = world.session.client("rekognition")

    with Stubber(client) as stubber:
        stubber.add_client_error(
            "detect_labels",
            service_error_code="InvalidParameterException",
            service_message="Request has invalid parameters",
            http_status_code=400,
            expected_params={
                # The very version inspected (the bucket is versioned), never a newer upload.
                "Image": {
                    "S3Object": {
                        "Bucket": BUCKET,
                        "Name": "images/line-3/thumb.jpg",
                        "Version": world.version("images/line-3/thumb.jpg"),
                    }
                },
                "Features": ["GENERAL_LABELS"],
                "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Widget", "Scratch"]}},
                "MinConfidence": 80.0,
            },
        )
        response = world.run(world.processor(RekognitionDetector(client)))
        stubber.assert_no_pending_responses()

    assert {"batchItemFailures": []} == response
    reason = (
        "Rekognition refused the image (too small, or otherwise unusable) (Request has invalid parameters)"
    )
    assert_rejected(world, "images/line-3/thumb.jpg", "line-3/thumb.jpg", reason)


def test_a_detector_refusal_is_final_and_not_retried(world: World) -> None:
    world.upload("images/corrupt.jpg", jpeg()[:200])
    detector = FakeDetector(default=rejecting("the image data is corrupt"))

    response = world.run(world.processor(detector))

    assert {"batchItemFailures": []} == response
    assert 0 == world.queued()
    assert ["images/corrupt.jpg"] == detector.keys()
    assert_rejected(world, "images/corrupt.jpg", "corrupt.jpg", "the image data is corrupt")
