"""The normalized answer of a label detector, built from raw Rekognition responses."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_pascal

from inspector import documents
from inspector._validation import describe
from inspector.errors import AnalysisError


class _Part(BaseModel):
    """Reads Rekognition's PascalCase (as boto3 returns it) and our own snake_case JSON alike."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=False,
        extra="ignore",
        frozen=True,
    )


Score = float  # a 0-100 value, as Rekognition reports confidences and image qualities


class BoundingBox(_Part):
    """Ratios of the image's width and height, as Rekognition reports them."""

    width: float
    height: float
    left: float
    top: float


class DominantColor(_Part):
    red: int | None = None
    green: int | None = None
    blue: int | None = None
    hex_code: str | None = None
    css_color: str | None = Field(default=None, alias="CSSColor")
    simplified_color: str | None = None
    pixel_percent: float | None = None


class Instance(_Part):
    """One located occurrence of a label."""

    confidence: Score
    bounding_box: BoundingBox | None = None
    dominant_colors: tuple[DominantColor, ...] = ()


class Label(_Part):
    name: str
    confidence: Score
    aliases: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    instances: tuple[Instance, ...] = ()

    @field_validator("aliases", "parents", "categories", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # Rekognition nests names as [{"Name": "Vehicle"}]; our own JSON stores plain strings.
        if isinstance(value, list | tuple):
            return tuple(v["Name"] if isinstance(v, Mapping) and "Name" in v else v for v in value)
        return value

    def matches(self, name: str) -> bool:
        """True when `name` is this label's name or one of its aliases, ignoring case."""
        wanted = name.casefold()
        return self.name.casefold() == wanted or any(a.casefold() == wanted for a in self.aliases)


class ImageQuality(_Part):
    brightness: Score | None = None
    sharpness: Score | None = None
    contrast: Score | None = None


class RegionProperties(_Part):
    """Quality and colours of the image's foreground or background."""

    quality: ImageQuality | None = None
    dominant_colors: tuple[DominantColor, ...] = ()


class ImageProperties(_Part):
    quality: ImageQuality | None = None
    dominant_colors: tuple[DominantColor, ...] = ()
    foreground: RegionProperties | None = None
    background: RegionProperties | None = None


class CustomLabel(_Part):
    """One detection of a Rekognition Custom Labels model; located ones carry a bounding box."""

    name: str
    confidence: Score
    bounding_box: BoundingBox | None = None


class Analysis(_Part):
    """What a detector saw in one image: labels, custom labels, image properties and model version."""

    labels: tuple[Label, ...] = ()
    custom_labels: tuple[CustomLabel, ...] = ()
    image_properties: ImageProperties | None = None
    model_version: str | None = None

    @classmethod
    def from_detect_labels(cls, response: Mapping[str, Any]) -> "Analysis":
        """Build from a `DetectLabels` response exactly as boto3 returns it."""
        _require_mapping(response, "DetectLabels response")
        document = {
            "Labels": response.get("Labels", []),
            "ImageProperties": response.get("ImageProperties") or None,
            "model_version": response.get("LabelModelVersion"),
        }
        return _validate(cls, document, "DetectLabels response")

    @classmethod
    def from_detect_custom_labels(
        cls, response: Mapping[str, Any], *, project_version_arn: str | None = None
    ) -> "Analysis":
        """Build from a `DetectCustomLabels` response; the model version is the project version ARN."""
        _require_mapping(response, "DetectCustomLabels response")
        items = response.get("CustomLabels", [])
        if not isinstance(items, list):
            raise AnalysisError("invalid DetectCustomLabels response: CustomLabels must be a list")
        document = {
            "custom_labels": [_flatten_geometry(item) for item in items],
            "model_version": project_version_arn,
        }
        return _validate(cls, document, "DetectCustomLabels response")

    @classmethod
    def from_json(cls, text: str | bytes) -> "Analysis":
        """Load a saved analysis: a raw DetectLabels response, or this model's own JSON."""
        try:
            document = documents.parse_json(text, source="analysis")
        except documents.DocumentError as exc:
            raise AnalysisError(str(exc)) from None
        _require_mapping(document, "analysis")
        if "Labels" in document or "LabelModelVersion" in document or "ImageProperties" in document:
            return cls.from_detect_labels(document)
        if "CustomLabels" in document:
            return cls.from_detect_custom_labels(document)
        known = set(cls.model_fields) | {"Labels", "CustomLabels"}
        if not known & set(document):
            # Unknown keys are ignored on purpose (AWS adds fields), so an empty match means a wrong file,
            # which must not pass as an analysis that saw nothing.
            raise AnalysisError(
                "not a DetectLabels or DetectCustomLabels response, nor a saved analysis "
                f"(top-level keys: {', '.join(sorted(document)[:8]) or 'none'})"
            )
        return _validate(cls, document, "analysis")

    def candidate_labels(self) -> tuple[Label, ...]:
        """Every label a rule can match: general labels, then custom labels grouped by name.

        A custom label seen several times becomes one label whose confidence is the highest, with one
        instance per detection that has a bounding box, so counting rules work on custom models too.
        """
        grouped: dict[str, list[CustomLabel]] = {}
        for custom in self.custom_labels:
            grouped.setdefault(custom.name, []).append(custom)
        merged = tuple(
            Label(
                name=name,
                confidence=max(c.confidence for c in found),
                instances=tuple(
                    Instance(confidence=c.confidence, bounding_box=c.bounding_box)
                    for c in found
                    if c.bounding_box is not None
                ),
            )
            for name, found in grouped.items()
        )
        return self.labels + merged

    @property
    def quality(self) -> ImageQuality | None:
        return self.image_properties.quality if self.image_properties else None


def merge(parts: Sequence[tuple[str, Analysis]]) -> Analysis:
    """One analysis from several detectors' answers on the same image, in the line's detector order.

    - labels and custom labels: all of them, in detector order. Two detectors reporting the same name
      both stay; a rule takes the most confident match (`inspector.engine`), so neither hides the other.
    - image properties: the first detector's that reports any, whole (quality and colours are never mixed
      from two detectors, whose scales differ); later ones are ignored for properties.
    - model version: `name=version` of each detector that reports one, joined by `; `.
    """
    if len(parts) == 1:
        return parts[0][1]
    properties = next((a.image_properties for _, a in parts if a.image_properties is not None), None)
    versions = [f"{name}={a.model_version}" for name, a in parts if a.model_version]
    return Analysis(
        labels=tuple(label for _, a in parts for label in a.labels),
        custom_labels=tuple(label for _, a in parts for label in a.custom_labels),
        image_properties=properties,
        model_version="; ".join(versions) or None,
    )


def _require_mapping(document: Any, what: str) -> None:
    if not isinstance(document, Mapping):
        raise AnalysisError(f"{what} must be a JSON object, got {type(document).__name__}")


def _flatten_geometry(item: Any) -> Any:
    # DetectCustomLabels nests the box as Geometry.BoundingBox; we keep only the box.
    if isinstance(item, Mapping) and isinstance(item.get("Geometry"), Mapping):
        item = {**item, "BoundingBox": item["Geometry"].get("BoundingBox")}
    return item


def _validate(model: type[Analysis], document: Mapping[str, Any], what: str) -> Analysis:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise AnalysisError(f"invalid {what}: " + "; ".join(describe(exc))) from None
