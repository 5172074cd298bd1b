"""Test doubles for code that uses inspector: detectors that answer what you choose.

moto's Rekognition answers "Mobile Phone" whatever the image, so tests of QC scenarios need these.
"""

from __future__ import annotations

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
