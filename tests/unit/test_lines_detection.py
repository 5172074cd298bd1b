"""What a stored analysis can answer (`DetectionRequest.covers`), and several detectors' answers merged."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.analysis import Analysis, merge
from inspector.criteria import Criteria, DetectionRequest
from inspector.detectors.combined import CombinedDetector
from inspector.engine import Verdict, evaluate
from inspector.errors import ImageRejected, TransientError
from inspector.testing import FakeDetector, labels


def request(**fields: Any) -> DetectionRequest:
    return DetectionRequest(**{"labels": (), "min_confidence": None, "image_properties": False, **fields})


def compiled(document: dict[str, Any]) -> DetectionRequest:
    return Criteria.from_document(document).detection_request()


@pytest.mark.parametrize(
    ("stored", "new", "covers"),
    [
        ({"require": [{"label": "Widget"}]}, {"require": [{"label": "widget", "minConfidence": 95}]}, True),
        ({"require": [{"label": "Widget"}], "minConfidence": 90}, {"require": [{"label": "Widget"}]}, False),
        (
            {"require": [{"label": "Widget"}]},
            {"require": [{"label": "Widget"}], "forbid": [{"label": "Rust"}]},
            False,
        ),
        (
            {"require": [{"label": "Widget"}], "forbid": [{"label": "Rust"}]},
            {"forbid": [{"label": "Rust"}]},
            True,
        ),
        (
            {"require": [{"label": "Widget"}]},
            {"require": [{"label": "Widget"}], "quality": {"minSharpness": 4}},
            False,
        ),
        ({"quality": {"minSharpness": 4}}, {"quality": {"maxBrightness": 90}}, True),
        ({"quality": {"minSharpness": 4}}, {"colors": [{"color": "blue", "minPercent": 40}]}, False),
        (
            {"colors": [{"color": "red", "maxPercent": 5}]},
            {"colors": [{"color": "blue", "minPercent": 40}]},
            True,
        ),
        ({"quality": {"minSharpness": 4}}, {"require": [{"label": "Widget"}]}, False),
    ],
    ids=[
        "higher-threshold-same-label",
        "lower-threshold",
        "new-label",
        "fewer-labels",
        "properties-now-needed",
        "other-quality-bound",
        "colours-need-more-colours",
        "colours-to-colours",
        "labels-never-asked",
    ],
)
def test_covers_says_whether_a_stored_analysis_answers_new_criteria(
    stored: dict[str, Any], new: dict[str, Any], covers: bool
) -> None:
    assert covers == compiled(stored).covers(compiled(new))


def test_a_request_for_every_label_covers_any_label_above_its_floor() -> None:
    everything = request(labels=tuple(f"L{i}" for i in range(101)), min_confidence=50.0)  # too many to filter

    assert () == everything.inclusion_filter
    assert everything.covers(request(labels=("Anything",), min_confidence=60.0))
    assert not everything.covers(request(labels=("Anything",), min_confidence=40.0))


def test_merge_keeps_every_label_and_the_first_detectors_image_properties() -> None:
    rekognition = Analysis.from_detect_labels(labels(("Widget", 98.0), quality={"Sharpness": 70}))
    reference = Analysis.from_detect_labels(
        labels(("Anomaly", 81.0), ("Widget", 40.0), quality={"Sharpness": 20})
    )

    merged = merge([("rekognition", rekognition), ("reference", reference)])

    assert [("Widget", 98.0), ("Anomaly", 81.0), ("Widget", 40.0)] == [
        (label.name, label.confidence) for label in merged.labels
    ]
    assert merged.quality is not None
    assert 70 == merged.quality.sharpness
    assert "rekognition=3.0; reference=3.0" == merged.model_version
    # A rule sees the most confident of two same-named labels; criteria see both detectors' labels.
    criteria = Criteria.from_document(
        {"require": [{"label": "Widget"}], "forbid": [{"label": "Anomaly", "minConfidence": 50}]}
    )
    assert Verdict.FAIL == evaluate(merged, criteria).verdict
    assert ["met", "violated"] == [f.outcome.value for f in evaluate(merged, criteria).findings]


def test_merge_takes_image_properties_from_a_later_detector_when_the_first_has_none() -> None:
    labels_only = Analysis.from_detect_labels(labels(("Widget", 98.0)))
    measured = Analysis.from_detect_labels(labels(quality={"Brightness": 55}))

    merged = merge([("custom-labels", labels_only), ("local", measured)])

    assert merged.quality is not None
    assert 55 == merged.quality.brightness


def test_a_combined_detector_asks_each_detector_once_with_the_same_request() -> None:
    first, second = (
        FakeDetector(default=labels(("Widget", 99.0))),
        FakeDetector(default=labels(("Rust", 60.0))),
    )
    first.name, second.name = "rekognition", "reference"
    wanted = request(labels=("Widget", "Rust"), min_confidence=50.0)

    analysis = CombinedDetector([first, second]).detect(b"\xff\xd8\xff", wanted)

    assert [wanted] == [r for _, r in first.calls] == [r for _, r in second.calls]
    assert ["Widget", "Rust"] == [label.name for label in analysis.labels]
    assert "rekognition+reference" == CombinedDetector([first, second]).name


def test_a_combined_detector_rejects_naming_the_detector_and_passes_transient_failures_on() -> None:
    fine = FakeDetector(default=labels(("Widget", 99.0)))
    refusing = FakeDetector(default=ImageRejected("image is 100x90 px; the model's is 640x480"))
    refusing.name = "reference"
    failing = FakeDetector(default=TransientError("throttled"))

    with pytest.raises(ImageRejected, match=r"^reference: image is 100x90 px"):
        CombinedDetector([fine, refusing]).detect(b"x", request())
    with pytest.raises(TransientError):
        CombinedDetector([fine, failing]).detect(b"x", request())
