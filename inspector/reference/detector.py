"""The reference detector: a trained variation model behind the `LabelDetector` protocol."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from inspector.analysis import Analysis, BoundingBox, Instance, Label
from inspector.criteria import DetectionRequest
from inspector.detectors import ImageSource
from inspector.detectors.local import DEFAULT_MAX_COLORS, LocalDetector
from inspector.detectors.local import properties as measure
from inspector.reference.core import Scored, Scorer
from inspector.reference.imaging import decode
from inspector.reference.model import ReferenceModel

LABEL: Final = "Anomaly"
MODEL_VERSION_PREFIX: Final = "reference-1"


class ReferenceDetector:
    """Finds departures from a trained `ReferenceModel`, answering like Rekognition's DetectLabels.

    The analysis carries one label, `Anomaly`, whose confidence is 50 at the model's calibrated threshold
    (higher: surer), with one instance per defective region (best first, at most the model's
    `max_regions`), each with a `BoundingBox` in ratios of the photo, in the photo's own frame (EXIF
    orientation applied); and the local detector's quality and colour measures, taken on the photo at
    the model's working resolution. `Anomaly` is always reported, even at confidence 0, so the record
    shows how close a good part came.

    Parameters
    ----------
    model : ReferenceModel or callable returning one
        A callable is called once, on the first image (the function loads its model from S3 lazily,
        so a cold start does not pay for it); its result is kept.
    s3_client : boto3 S3 client, optional
        Downloads images given as `ObjectRef` (one is made on first use when left out).

    Raises (from `detect`)
    ----------------------
    ImageRejected
        Not JPEG or PNG, unreadable, or not the size the model was trained on (both sizes named).
    """

    name = "reference"

    def __init__(
        self,
        model: ReferenceModel | Callable[[], ReferenceModel],
        s3_client: Any | None = None,
        *,
        endpoint_url: str | None = None,
        max_colors: int = DEFAULT_MAX_COLORS,
    ) -> None:
        self._source = model
        self._scorer: Scorer | None = Scorer(model) if isinstance(model, ReferenceModel) else None
        self._lock = threading.Lock()
        self._fetcher = LocalDetector(s3_client, endpoint_url=endpoint_url, max_colors=max_colors)
        self.max_colors = max_colors

    @property
    def scorer(self) -> Scorer:
        """The model's scorer, loading the model first when it was given as a callable."""
        if self._scorer is None:
            with self._lock:
                if self._scorer is None:
                    source = self._source
                    model = source if isinstance(source, ReferenceModel) else source()
                    self._scorer = Scorer(model)
        return self._scorer

    @property
    def model(self) -> ReferenceModel:
        return self.scorer.model

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        analysis, _ = self.examine(self._fetcher.fetch(image), properties=request.image_properties)
        return analysis

    def examine(self, data: bytes, *, properties: bool = True) -> tuple[Analysis, Scored]:
        """The analysis of a photo's bytes, and the scoring behind it (regions, heat map, motion).

        The quality and colour measures are taken only when `properties` is set (the criteria have
        quality or colour rules), as Rekognition returns them only when asked.
        """
        scorer = self.scorer
        photo = decode(data, reduce=scorer.model.reduce)
        scored = scorer.score(photo)
        instances = tuple(
            Instance(
                confidence=finding.confidence,
                bounding_box=BoundingBox(
                    left=finding.box[0], top=finding.box[1], width=finding.box[2], height=finding.box[3]
                ),
            )
            for finding in scored.findings
        )
        label = Label(name=LABEL, confidence=scored.confidence, instances=instances)
        return (
            Analysis(
                labels=(label,),
                image_properties=measure(photo.image, max_colors=self.max_colors) if properties else None,
                model_version=f"{MODEL_VERSION_PREFIX}:{scorer.fingerprint}",
            ),
            scored,
        )
