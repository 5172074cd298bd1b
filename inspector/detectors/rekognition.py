"""Amazon Rekognition detectors: DetectLabels, and DetectCustomLabels for a team's own defect model."""

from __future__ import annotations

from typing import Any

from inspector.analysis import Analysis
from inspector.aws import make_client, translate
from inspector.criteria import DetectionRequest
from inspector.detectors import ImageSource
from inspector.events import ObjectRef

# Rekognition's refusals of the image itself: terminal, never retried.
REJECTIONS = {
    "InvalidImageFormatException": "Rekognition cannot read this image format",
    "ImageTooLargeException": "the image is too large for Rekognition",
    "InvalidParameterException": "Rekognition refused the image (too small, or otherwise unusable)",
}


def image_param(image: ImageSource) -> dict[str, Any]:
    """Rekognition's `Image` argument: the S3 object itself (nothing is downloaded), or the bytes."""
    if isinstance(image, bytes):
        return {"Bytes": image}
    s3_object: dict[str, str] = {"Bucket": image.bucket, "Name": image.key}
    if image.version_id:
        s3_object["Version"] = image.version_id
    return {"S3Object": s3_object}


class RekognitionDetector:
    """DetectLabels on the S3 object, asking only what the criteria need (see `DetectionRequest`)."""

    name = "rekognition"

    def __init__(self, client: Any | None = None, *, endpoint_url: str | None = None) -> None:
        self._client = client if client is not None else make_client("rekognition", endpoint_url=endpoint_url)

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        params = request.detect_labels_params()
        params["Image"] = image_param(image)
        try:
            response = self._client.detect_labels(**params)
        except Exception as exc:
            raise translate(exc, "Rekognition DetectLabels", rejecting=REJECTIONS) from exc
        return Analysis.from_detect_labels(response)


class CustomLabelsDetector:
    """DetectCustomLabels with a trained model (project version ARN); the model must be running."""

    name = "custom-labels"

    def __init__(
        self, project_version_arn: str, client: Any | None = None, *, endpoint_url: str | None = None
    ) -> None:
        self.project_version_arn = project_version_arn
        self._client = client if client is not None else make_client("rekognition", endpoint_url=endpoint_url)

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        params: dict[str, Any] = {"ProjectVersionArn": self.project_version_arn, "Image": image_param(image)}
        if request.min_confidence is not None:
            params["MinConfidence"] = request.min_confidence
        try:
            response = self._client.detect_custom_labels(**params)
        except Exception as exc:
            raise translate(exc, "Rekognition DetectCustomLabels", rejecting=REJECTIONS) from exc
        return Analysis.from_detect_custom_labels(response, project_version_arn=self.project_version_arn)


def describe_source(image: ImageSource) -> str:
    return image.uri if isinstance(image, ObjectRef) else f"{len(image)} bytes"
