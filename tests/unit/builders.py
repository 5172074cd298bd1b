"""Builders of raw Rekognition responses (shaped exactly as boto3 returns them) and of criteria."""

from __future__ import annotations

from typing import Any

from inspector import Analysis, Criteria, ObjectRef

RESPONSE_METADATA = {
    "RequestId": "5c1e0a3b-0000-4000-8000-000000000000",
    "HTTPStatusCode": 200,
    "HTTPHeaders": {"content-type": "application/x-amz-json-1.1"},
    "RetryAttempts": 0,
}


def box(left: float = 0.1, top: float = 0.2, width: float = 0.1, height: float = 0.1) -> dict[str, float]:
    """A raw BoundingBox: ratios of the image's width and height."""
    return {"Width": width, "Height": height, "Left": left, "Top": top}


def instance(confidence: float, *, left: float = 0.1) -> dict[str, Any]:
    """A raw located instance of a general label."""
    return {"BoundingBox": box(left=left), "Confidence": confidence}


def label(
    name: str,
    confidence: float,
    *,
    aliases: tuple[str, ...] = (),
    parents: tuple[str, ...] = (),
    instances: tuple[float, ...] = (),
) -> dict[str, Any]:
    """A raw DetectLabels label; `instances` are the confidences of its located occurrences."""
    return {
        "Name": name,
        "Confidence": confidence,
        "Instances": [instance(c, left=0.05 * i) for i, c in enumerate(instances)],
        "Parents": [{"Name": p} for p in parents],
        "Aliases": [{"Name": a} for a in aliases],
        "Categories": [{"Name": "Tools and Machinery"}],
    }


def detect_labels(
    *labels: dict[str, Any],
    quality: dict[str, float] | None = None,
    model_version: str = "3.0",
) -> dict[str, Any]:
    """A raw DetectLabels response; `quality` (PascalCase keys) adds ImageProperties."""
    response: dict[str, Any] = {"Labels": list(labels), "LabelModelVersion": model_version}
    if quality is not None:
        response["ImageProperties"] = {
            "Quality": quality,
            "DominantColors": [
                {
                    "Red": 40,
                    "Green": 80,
                    "Blue": 180,
                    "HexCode": "#2850b4",
                    "CSSColor": "royalblue",
                    "SimplifiedColor": "blue",
                    "PixelPercent": 52.3,
                }
            ],
        }
    response["ResponseMetadata"] = RESPONSE_METADATA
    return response


def custom_label(name: str, confidence: float, *, located: bool = True, left: float = 0.1) -> dict[str, Any]:
    """A raw DetectCustomLabels detection; a located one carries Geometry as Rekognition sends it."""
    detection: dict[str, Any] = {"Name": name, "Confidence": confidence}
    if located:
        detection["Geometry"] = {
            "BoundingBox": box(left=left),
            "Polygon": [{"X": left, "Y": 0.2}, {"X": left + 0.1, "Y": 0.2}, {"X": left + 0.1, "Y": 0.3}],
        }
    return detection


def detect_custom_labels(*detections: dict[str, Any]) -> dict[str, Any]:
    """A raw DetectCustomLabels response."""
    return {"CustomLabels": list(detections), "ResponseMetadata": RESPONSE_METADATA}


def analysis(*labels: dict[str, Any], quality: dict[str, float] | None = None) -> Analysis:
    """An analysis built from a raw DetectLabels response with these labels."""
    return Analysis.from_detect_labels(detect_labels(*labels, quality=quality))


def criteria(**document: Any) -> Criteria:
    """Criteria from a document written as keyword arguments (camelCase keys, as users write them)."""
    return Criteria.from_document(document)


def object_ref(key: str = "images/line3/widget-0001.jpg") -> ObjectRef:
    """An uploaded image, as parsed from an S3 event."""
    return ObjectRef(bucket="widget-images", key=key, raw_key=key, size=48213, etag="9b2cf535f27731c9")
