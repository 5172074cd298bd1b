"""Test doubles for code that uses inspector: detectors that answer what you choose.

moto's Rekognition answers "Mobile Phone" whatever the image, so tests of QC scenarios need these.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from inspector.analysis import Analysis
from inspector.criteria import DetectionRequest
from inspector.detectors import ImageSource
from inspector.errors import ImageRejected, TransientError
from inspector.events import ObjectRef

Answer = Analysis | Mapping[str, Any] | BaseException


def labels(*pairs: tuple[str, float], quality: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A raw DetectLabels response: `labels(("Widget", 98.0), quality={"Sharpness": 80})`."""
    response: dict[str, Any] = {
        "Labels": [{"Name": name, "Confidence": confidence} for name, confidence in pairs],
        "LabelModelVersion": "3.0",
    }
    if quality is not None:
        response["ImageProperties"] = {"Quality": dict(quality)}
    return response


class FakeDetector:
    """A `LabelDetector` that answers from a table, and records every call.

    Answers are chosen by key (`answers={"images/w1.jpg": labels(("Widget", 99))}`), then by the `by`
    function, then `default`. An answer may be an `Analysis`, a raw DetectLabels response, or an exception
    to raise (`ImageRejected("too small")`, `TransientError("throttled")`).
    """

    name = "fake"

    def __init__(
        self,
        answers: Mapping[str, Answer] | None = None,
        *,
        default: Answer | None = None,
        by: Callable[[ImageSource], Answer | None] | None = None,
    ) -> None:
        self.answers = dict(answers or {})
        self.default = default
        self.by = by
        self.calls: list[tuple[ImageSource, DetectionRequest]] = []
        self._lock = threading.Lock()

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        with self._lock:
            self.calls.append((image, request))
        key = image.key if isinstance(image, ObjectRef) else None
        answer = self.answers.get(key) if key is not None else None
        if answer is None and self.by is not None:
            answer = self.by(image)
        if answer is None:
            answer = self.default
        if answer is None:
            raise TransientError(f"FakeDetector has no answer for {key or 'these bytes'}")
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, Analysis):
            return answer
        return Analysis.from_detect_labels(answer)

    def keys(self) -> list[str]:
        """The object keys detect was called for, in call order."""
        return [image.key for image, _ in self.calls if isinstance(image, ObjectRef)]


def rejecting(reason: str) -> ImageRejected:
    """An answer that makes `FakeDetector` refuse the image as Rekognition would."""
    return ImageRejected(reason)


def sequence(answers: Iterable[Answer]) -> Callable[[ImageSource], Answer | None]:
    """A `by` function giving the answers in turn (then None): e.g. a throttle, then labels."""
    queue = list(answers)
    lock = threading.Lock()

    def next_answer(_: ImageSource) -> Answer | None:
        with lock:
            return queue.pop(0) if queue else None

    return next_answer


# --- result records for reports -------------------------------------------------------------------------

_REPORT_CRITERIA: dict[str, Any] = {
    "minConfidence": 90,
    "reviewMargin": 10,
    "require": [{"label": "Widget"}, {"anyOf": ["Bolt", "Screw"]}],
    "forbid": [{"label": "Scratch", "minConfidence": 70}, {"label": "Rust"}],
    "quality": {"minSharpness": 40},
}
# Analyses that the criteria above judge PASS, FAIL (three causes, most common first) and REVIEW (two).
_ANSWERS: dict[str, list[dict[str, Any]]] = {
    "PASS": [labels(("Widget", 98.0), ("Screw", 95.0), quality={"Sharpness": 80})],
    "FAIL": [
        labels(("Widget", 97.0), ("Screw", 94.0), ("Scratch", 88.0), quality={"Sharpness": 75}),
        labels(("Widget", 96.0), ("Screw", 93.0), quality={"Sharpness": 12}),
        labels(("Widget", 99.0), quality={"Sharpness": 70}),
    ],
    "REVIEW": [
        labels(("Widget", 98.0), ("Screw", 95.0), ("Rust", 84.0), quality={"Sharpness": 80}),
        labels(("Widget", 85.0), ("Bolt", 96.0), quality={"Sharpness": 66}),
    ],
}


def record_document(
    key: str,
    verdict: str,
    inspected_at: Any,
    *,
    line: str | None = None,
    cause: int = 0,
    decisions: Iterable[tuple[str, str]] = (),
    bucket: str = "widget-factory-images",
) -> dict[str, Any]:
    """A stored result record as a JSON document, judged by the real engine: for report tests and benchmarks.

    `verdict` PASS, FAIL, REVIEW or REJECTED; `cause` picks one of the analyses behind a FAIL (0-2) or a
    REVIEW (0-1); `decisions` are `(before, after)` pairs, oldest first, written as the `decisions` field.
    """
    from datetime import datetime  # noqa: PLC0415

    from inspector.criteria import Criteria  # noqa: PLC0415
    from inspector.engine import evaluate  # noqa: PLC0415
    from inspector.records import ResultRecord  # noqa: PLC0415

    moment = inspected_at if isinstance(inspected_at, datetime) else datetime.fromisoformat(inspected_at)
    image = ObjectRef(bucket=bucket, key=key, raw_key=key, size=200_000, etag="0123456789abcdef")
    criteria = Criteria.model_validate(_REPORT_CRITERIA)
    if verdict == "REJECTED":
        record = ResultRecord.rejected(
            image, "not a JPEG or PNG image (GIF)", criteria=criteria.fingerprint, inspected_at=moment
        )
    else:
        options = _ANSWERS[verdict]
        analysis = Analysis.from_detect_labels(options[cause % len(options)])
        evaluation = evaluate(analysis, criteria)
        if evaluation.verdict.value != verdict:  # pragma: no cover - the table above is wrong
            raise AssertionError(f"the {verdict} example judged {evaluation.verdict}")
        record = ResultRecord.judged(image, analysis, evaluation, inspected_at=moment, detector="rekognition")
    document: dict[str, Any] = json.loads(record.to_json())
    if line is not None:
        document["line"] = line
    history = list(decisions)
    if history:
        document["decisions"] = [
            {
                "who": "arn:aws:sts::123456789012:assumed-role/qc/lead",
                "at": moment.isoformat(),
                "before": before,
                "after": after,
                "note": "checked by eye",
            }
            for before, after in history
        ]
    return document
