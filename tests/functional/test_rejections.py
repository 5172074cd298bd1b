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


def cut_in_scan_after_exif_thumbnail() -> bytes:
    """A camera JPEG (an EXIF block holding a whole thumbnail JPEG, FF D9 included) cut short in its scan."""
    image, thumbnail = jpeg(), jpeg((16, 12))
    payload = b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + thumbnail
    whole = image[:2] + b"\xff\xe1" + (2 + len(payload)).to_bytes(2, "big") + payload + image[2:]
    scan = whole.index(b"\xff\xda", 4 + len(payload))
    return whole[: (scan + len(whole)) // 2]


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
            "thumb.jpg",
            jpeg((60, 60)),
            "image is 60x60 px; Rekognition needs at least 80 px per side",
            id="jpeg-under-80px",
        ),
        pytest.param(
            "cut.jpg",
            jpeg()[: len(jpeg()) * 40 // 100],
            "truncated JPEG: the file does not end with its end-of-image marker (FF D9) (cut short?)",
            id="truncated-jpeg",
        ),
        pytest.param(
            "cut-exif.jpg",
            cut_in_scan_after_exif_thumbnail(),
            "truncated JPEG: the file does not end with its end-of-image marker (FF D9) (cut short?)",
            id="truncated-jpeg-whose-exif-thumbnail-ends-in-ff-d9",
        ),
        pytest.param(
            "cut.png",
            png()[:-30],
            "truncated PNG: the file does not end with its IEND chunk (cut short?)",
            id="truncated-png",
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


def test_a_jpeg_whose_frame_header_lies_beyond_the_first_read_is_left_to_the_detector(world: World) -> None:
    """A camera's EXIF block puts the frame header (and the size) after the first 176 bytes: the size is then
    Rekognition's to judge, and its refusal is final."""
    small = jpeg((60, 60))
    exif = b"\xff\xe1" + (2 + 400).to_bytes(2, "big") + b"Exif\x00\x00" + bytes(394)
    world.upload("images/line-3/thumb.jpg", small[:2] + exif + small[2:])
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


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("plain.jpg", jpeg(), id="jpeg ending with its EOI"),
        pytest.param("plain.png", png(), id="png ending with IEND"),
        pytest.param(
            "samsung.jpg", jpeg() + b"\x00" * 40 + b"SEFH" + bytes(3000) + b"SEFT", id="samsung trailer"
        ),
        pytest.param("motion.jpg", jpeg() + b"\x00\x00\x00\x18ftypmp42" + bytes(90_000), id="mp4 after EOI"),
        pytest.param("padded.jpg", jpeg() + bytes(4096), id="zero padding"),
        pytest.param("short-trailer.jpg", jpeg() + b"\x12\x34" * 20, id="bytes after EOI"),
        pytest.param("after-iend.png", png() + b"trailing notes", id="bytes after IEND"),
    ],
)
def test_complete_files_from_real_cameras_pass_the_tail_check(world: World, name: str, data: bytes) -> None:
    world.upload(f"images/{name}", data)
    detector = FakeDetector(default=PASS_LABELS)

    world.run(world.processor(detector))

    assert [f"images/{name}"] == detector.keys()
    assert Verdict.PASS == world.record(f"images/{name}").verdict


def test_the_cheap_checks_read_at_most_192_bytes_of_an_ordinary_image(world: World) -> None:
    read: list[str] = []
    world.s3.meta.events.register(
        "provide-client-params.s3.GetObject",
        lambda params, **_: (
            read.append(params.get("Range", "whole")) if params["Key"].startswith("images/") else None
        ),
    )
    world.upload("images/w.jpg", jpeg((400, 400)))

    world.run(world.processor(FakeDetector(default=PASS_LABELS)))

    assert ["bytes=0-175", "bytes=-16"] == read


def test_a_detector_refusal_is_final_and_not_retried(world: World) -> None:
    world.upload("images/corrupt.jpg", jpeg())
    detector = FakeDetector(default=rejecting("the image data is corrupt"))

    response = world.run(world.processor(detector))

    assert {"batchItemFailures": []} == response
    assert 0 == world.queued()
    assert ["images/corrupt.jpg"] == detector.keys()
    assert_rejected(world, "images/corrupt.jpg", "corrupt.jpg", "the image data is corrupt")
