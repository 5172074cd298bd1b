"""Label detectors behind one protocol: Rekognition, Rekognition Custom Labels, and a local one."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from inspector.analysis import Analysis
from inspector.criteria import DetectionRequest
from inspector.events import ObjectRef

ImageSource = ObjectRef | bytes
"""An image to analyse: an S3 object (preferred: nothing is downloaded) or the image's bytes."""


@runtime_checkable
class LabelDetector(Protocol):
    """Anything that turns an image into an `Analysis`.

    `detect` raises `ImageRejected` when the image cannot be analysed at all, `TransientError` when a retry
    may succeed; anything else it raises is treated as transient too.
    """

    name: str

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis: ...
