"""Several detectors on one image: one request to each, their analyses merged into one."""

from __future__ import annotations

from collections.abc import Sequence

from inspector.analysis import Analysis, merge
from inspector.criteria import DetectionRequest
from inspector.detectors import ImageSource, LabelDetector
from inspector.errors import ImageRejected


class CombinedDetector:
    """Asks each detector once, in order, and merges the answers (`inspector.analysis.merge`).

    The detectors run one after the other: each is a call of its own (Rekognition, a model in memory), and
    the function already runs the records of a batch in parallel. An image one of them refuses is refused
    (the reason names that detector); a transient failure of any fails the whole inspection, to be retried.
    """

    def __init__(self, detectors: Sequence[LabelDetector]) -> None:
        if not detectors:
            raise ValueError("CombinedDetector needs at least one detector")
        self.detectors = tuple(detectors)
        self.name = "+".join(detector.name for detector in self.detectors)

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        parts: list[tuple[str, Analysis]] = []
        for detector in self.detectors:
            try:
                parts.append((detector.name, detector.detect(image, request)))
            except ImageRejected as exc:
                if len(self.detectors) == 1:
                    raise
                raise ImageRejected(f"{detector.name}: {exc.reason}") from exc
        return merge(parts)
