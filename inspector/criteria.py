"""The QC criteria: labels that must or must not be seen, how sure the detector must be, quality, colours."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)

from inspector import documents
from inspector._validation import NAMES_A_PATH, StrictSpec, describe
from inspector.constants import REKOGNITION_MAX_FILTER_LABEL_LENGTH, REKOGNITION_MAX_INCLUSION_FILTERS
from inspector.errors import CriteriaError

DEFAULT_MIN_CONFIDENCE = 80.0
STACK_CRITERIA_KEY = "inspector:criteria"  # where a Pulumi stack file (Pulumi.<stack>.yaml) keeps them
# DetectLabels' Settings.ImageProperties.MaxDominantColors: default 10, at most 20 (API reference,
# DetectLabelsImagePropertiesSettings). Colour rules ask for the most, so a small share is not cut off.
REKOGNITION_MAX_DOMINANT_COLORS = 20
# Rekognition's SimplifiedColor names, as the local detector writes them (inspector/detectors/local.py).
# Rekognition documents "one of 12 simplified color names" without listing them; these are the ones known.
SIMPLIFIED_COLORS: tuple[str, ...] = (
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
    "grey",
)

# Numbers must be written as numbers: `true` is not 1, "90" is not 90 (strict: no coercion).
Confidence = Annotated[float, Strict(), Field(ge=0, le=100, allow_inf_nan=False)]
Percent = Annotated[float, Strict(), Field(ge=0, le=100, allow_inf_nan=False)]
InstanceCount = Annotated[int, Strict(), Field(ge=0, le=1000)]
LabelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class Count(StrictSpec):
    """Bounds on the number of located instances of a label; either bound may be left out."""

    min: InstanceCount | None = None
    max: InstanceCount | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "Count":
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if not self.min and self.max is None:
            raise ValueError(
                "min 0 without max holds for every image (a count is never below 0): "
                "give a min above 0 or a max"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


_BOTH = "an entry has either `label` (one label) or `anyOf` (a list of labels), not both: split it in two"


class RequireLabel(StrictSpec):
    """The label must be seen (and, with `count`, located that many times)."""

    _misplaced: ClassVar[dict[str, str]] = {"anyOf": _BOTH, "any_of": _BOTH}

    label: LabelName
    min_confidence: Confidence | None = None
    count: Count | None = None

    @classmethod
    def _missing_hint(cls, data: dict[str, Any]) -> list[str]:
        if "label" in data or "anyOf" in data or "any_of" in data:
            return []
        return ["each require entry needs `label` (one label) or `anyOf` (a list of labels)"]


class RequireAnyOf(StrictSpec):
    """At least one of these labels must be seen; the best of them counts."""

    _misplaced: ClassVar[dict[str, str]] = {
        "label": _BOTH,
        "count": "`count` applies to `label` entries only (an `anyOf` entry has no one label to count): "
        "add a `- label: X` entry with the count",
    }

    any_of: list[LabelName] = Field(min_length=1)
    min_confidence: Confidence | None = None


# Pydantic puts the chosen tag into every error location inside a tagged union; `describe` leaves out
# parts named "tagged-union...", so errors read require[0].minConfidence, the path the user wrote.
_LABEL = "tagged-union[label]"
_ANY_OF = "tagged-union[anyOf]"


def _requirement_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "anyOf" in value or "any_of" in value:
            # With `label` as well, or `count`, the anyOf entry names what is misplaced.
            return _ANY_OF
        # A `label` entry, or one with neither key: the label entry says which keys it lacks.
        return _LABEL
    if isinstance(value, RequireLabel):
        return _LABEL
    if isinstance(value, RequireAnyOf):
        return _ANY_OF
    return None


Requirement = Annotated[
    Annotated[RequireLabel, Tag(_LABEL)] | Annotated[RequireAnyOf, Tag(_ANY_OF)],
    Discriminator(
        _requirement_kind,
        custom_error_type="requirement_kind",
        custom_error_message="each require entry is a mapping with `label` or `anyOf` (`- label: Widget`)",
    ),
]


class Forbid(StrictSpec):
    """The label must not be seen."""

    _misplaced: ClassVar[dict[str, str]] = {
        "anyOf": "a forbid entry names one label: write one entry per label",
        "any_of": "a forbid entry names one label: write one entry per label",
        "count": "a forbid entry takes no count: any confident sighting fails the image",
    }

    label: LabelName
    min_confidence: Confidence | None = None


QualityMetric = Literal["brightness", "sharpness", "contrast"]


class Quality(StrictSpec):
    """Bounds on Rekognition's image quality measures, each 0-100."""

    min_brightness: Confidence | None = None
    max_brightness: Confidence | None = None
    min_sharpness: Confidence | None = None
    max_sharpness: Confidence | None = None
    min_contrast: Confidence | None = None
    max_contrast: Confidence | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "Quality":
        if not self.bounds():
            raise ValueError("give at least one bound, e.g. minSharpness")
        for name, _, side, value in self.bounds():
            if (side, value) in (("min", 0), ("max", 100)):
                raise ValueError(
                    f"{name} {value:g} holds for every image (the measures run from 0 to 100), "
                    "so it can never change a verdict: leave it out, or give a bound inside 0-100"
                )
        for metric in ("brightness", "sharpness", "contrast"):
            low, high = getattr(self, f"min_{metric}"), getattr(self, f"max_{metric}")
            if low is not None and high is not None and low > high:
                title = metric.capitalize()
                raise ValueError(f"min{title} ({low:g}) is greater than max{title} ({high:g})")
        return self

    def bounds(self) -> list[tuple[str, QualityMetric, Literal["min", "max"], float]]:
        """Each bound that is set: (field name as documented, metric, side, value)."""
        found: list[tuple[str, QualityMetric, Literal["min", "max"], float]] = []
        metrics: tuple[QualityMetric, ...] = ("brightness", "sharpness", "contrast")
        sides: tuple[Literal["min", "max"], ...] = ("min", "max")
        for metric in metrics:
            for side in sides:
                value = getattr(self, f"{side}_{metric}")
                if value is not None:
                    found.append((f"{side}{metric.capitalize()}", metric, side, value))
        return found


def _simplified_color(value: str) -> str:
    if value not in SIMPLIFIED_COLORS:
        raise ValueError(f"unknown colour {value!r}: use one of {', '.join(SIMPLIFIED_COLORS)}")
    return value


ColorName = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True), AfterValidator(_simplified_color)
]


class ColorRule(StrictSpec):
    """Bounds on the share of the image, in percent of its pixels, whose simplified colour is `color`."""

    color: ColorName
    min_percent: Percent | None = None
    max_percent: Percent | None = None

    @model_validator(mode="after")
    def _bounds(self) -> "ColorRule":
        low, high = self.min_percent, self.max_percent
        if low is None and high is None:
            raise ValueError("give minPercent, maxPercent or both")
        if low is not None and high is not None and low > high:
            raise ValueError(f"minPercent ({low:g}) is greater than maxPercent ({high:g})")
        if low == 0:
            raise ValueError(
                "minPercent 0 holds for every image (a share is never below 0%), so it can never change "
                "a verdict: leave it out, or give a minimum above 0"
            )
        if high == 100:
            raise ValueError(
                "maxPercent 100 holds for every image (a share is never above 100%), so it can never "
                "change a verdict: leave it out, or give a maximum below 100"
            )
        return self

    def bounds(self) -> list[tuple[str, Literal["min", "max"], float]]:
        """Each bound that is set: (field name as documented, side, percent)."""
        found: list[tuple[str, Literal["min", "max"], float]] = []
        if self.min_percent is not None:
            found.append(("minPercent", "min", self.min_percent))
        if self.max_percent is not None:
            found.append(("maxPercent", "max", self.max_percent))
        return found


class Criteria(StrictSpec):
    """A QC rule set. Build it with `Criteria.load`, `Criteria.from_document` or the constructor."""

    min_confidence: Confidence = DEFAULT_MIN_CONFIDENCE
    review_margin: Confidence = 0.0
    require: list[Requirement] = Field(default=[])
    forbid: list[Forbid] = Field(default=[])
    quality: Quality | None = None
    colors: list[ColorRule] = Field(default=[])

    @model_validator(mode="after")
    def _coherent(self) -> "Criteria":
        if not (self.require or self.forbid or self.quality or self.colors):
            raise ValueError(
                "the criteria have no rules: give at least one of require, forbid, quality, colors"
            )
        rules: list[tuple[str, RequireLabel | RequireAnyOf | Forbid]] = [
            *((f"require[{i}]", r) for i, r in enumerate(self.require)),
            *((f"forbid[{i}]", r) for i, r in enumerate(self.forbid)),
        ]
        for where, rule in rules:
            if self.threshold(rule) == 0:
                own = (
                    "its minConfidence" if rule.min_confidence is not None else "the criteria's minConfidence"
                )
                outcome = (
                    "every image meets it (no confidence is below 0)"
                    if where.startswith("require")
                    else "every image violates it (no confidence is below 0), so every image would FAIL"
                )
                raise ValueError(f"{where}: {own} is 0, so {outcome}: give a threshold above 0")
            if self.review_margin > 0 and self.threshold(rule) <= self.review_margin:
                raise ValueError(
                    f"{where}: its minConfidence ({self.threshold(rule):g}) is not above reviewMargin "
                    f"({self.review_margin:g}), so an absent label would count as uncertain and every image "
                    "would go to REVIEW"
                )
        forbidden = {rule.label.casefold(): i for i, rule in enumerate(self.forbid)}
        for i, rule in enumerate(self.require):
            names = [rule.label] if isinstance(rule, RequireLabel) else rule.any_of
            clashes = [n for n in names if n.casefold() in forbidden]
            if clashes and len(clashes) == len(names):
                j = forbidden[clashes[0].casefold()]
                raise ValueError(
                    f"require[{i}] and forbid[{j}]: {clashes[0]!r} is both required and forbidden, "
                    "so no image could pass"
                )
        self._coherent_colors()
        return self

    def _coherent_colors(self) -> None:
        first: dict[str, int] = {}
        for i, rule in enumerate(self.colors):
            if rule.color in first:
                raise ValueError(
                    f"colors[{first[rule.color]}] and colors[{i}]: both are about {rule.color}; "
                    "give its minPercent and maxPercent in one entry"
                )
            first[rule.color] = i
            # A share of 0 is always >= a minPercent of 0, so only a positive one can be uncertain.
            if self.review_margin > 0 and rule.min_percent and rule.min_percent <= self.review_margin:
                raise ValueError(
                    f"colors[{i}]: its minPercent ({rule.min_percent:g}) is not above reviewMargin "
                    f"({self.review_margin:g}), so an image without any {rule.color} would count as "
                    "uncertain and go to REVIEW instead of failing"
                )
            margin_reaches_100 = rule.max_percent is not None and rule.max_percent + self.review_margin >= 100
            if self.review_margin > 0 and margin_reaches_100:
                raise ValueError(
                    f"colors[{i}]: its maxPercent ({rule.max_percent:g}) plus reviewMargin "
                    f"({self.review_margin:g}) reaches 100%, so no image could fail it (at most it "
                    "goes to REVIEW): lower maxPercent or reviewMargin"
                )
        total = sum(rule.min_percent or 0.0 for rule in self.colors)
        if total > 100:
            raise ValueError(
                f"colors: the minPercent bounds add up to {total:g}%, more than the whole image, "
                "so no image could pass"
            )

    # --- construction ---------------------------------------------------------------------------

    @classmethod
    def from_document(cls, document: Any) -> "Criteria":
        """Validate a parsed criteria document (a dict); raises `CriteriaError` naming each bad field."""
        if document is None:
            message = (
                "the criteria are empty: write at least one rule, e.g. `require: [{label: Widget}]` "
                "(see the README's criteria reference)"
            )
            raise CriteriaError(message, problems=[f"(document): {message}"])
        if not isinstance(document, dict):
            kind = "a list" if isinstance(document, list) else f"a single value ({document!r:.40})"
            message = (
                f"criteria must be a mapping of settings (`key: value` lines such as `minConfidence: 90`), "
                f"got {kind}"
            )
            raise CriteriaError(message, problems=[f"(document): {message}"])
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            # Every line names a path; a check of the whole document names it as such.
            problems = [p if NAMES_A_PATH.match(p) else f"(document): {p}" for p in describe(exc)]
            raise CriteriaError("invalid criteria: " + "; ".join(problems), problems=problems) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> "Criteria":
        """Validate a JSON criteria document; a key repeated in one object is refused."""
        try:
            document = documents.parse_json(text, source="criteria document")
        except documents.DocumentError as exc:
            raise CriteriaError(str(exc)) from None
        return cls.from_document(document)

    @classmethod
    def load(cls, path: str | Path) -> "Criteria":
        """Read a criteria file: JSON (`.json`) or YAML (any other suffix; needs PyYAML). A Pulumi stack file
        (`Pulumi.<stack>.yaml`) gives the criteria under its `inspector:criteria` key."""
        path = Path(path)
        try:
            document = documents.read(path, what="criteria file")
        except documents.DocumentError as exc:
            raise CriteriaError(str(exc)) from None
        if (
            isinstance(document, dict)
            and set(document) == {"config"}
            and isinstance(document["config"], dict)
        ):
            config = document["config"]
            if STACK_CRITERIA_KEY not in config:
                raise CriteriaError(f"{path} is a Pulumi stack file without `{STACK_CRITERIA_KEY}`")
            try:
                return cls.from_document(config[STACK_CRITERIA_KEY])
            except CriteriaError as exc:
                raise CriteriaError(f"{STACK_CRITERIA_KEY}: {exc}", problems=exc.problems) from None
        return cls.from_document(document)

    # --- what the rules mean -------------------------------------------------------------------

    def threshold(self, rule: RequireLabel | RequireAnyOf | Forbid) -> float:
        """The rule's minimum confidence `t`: its own, else the criteria's."""
        return self.min_confidence if rule.min_confidence is None else rule.min_confidence

    def label_names(self) -> list[str]:
        """Every label a rule names, first spelling kept, without case-insensitive repeats."""
        seen: dict[str, str] = {}
        for rule in self.require:
            for name in [rule.label] if isinstance(rule, RequireLabel) else rule.any_of:
                seen.setdefault(name.casefold(), name)
        for forbid in self.forbid:
            seen.setdefault(forbid.label.casefold(), forbid.label)
        return list(seen.values())

    def detection_request(self) -> "DetectionRequest":
        """What a detector must be asked for these criteria to be judged, and nothing more."""
        rules: list[RequireLabel | RequireAnyOf | Forbid] = [*self.require, *self.forbid]
        floor = min((max(0.0, self.threshold(r) - self.review_margin) for r in rules), default=None)
        return DetectionRequest(
            labels=tuple(self.label_names()),
            min_confidence=floor,
            image_properties=self.quality is not None or bool(self.colors),
            max_dominant_colors=REKOGNITION_MAX_DOMINANT_COLORS if self.colors else None,
        )

    def canonical(self) -> dict[str, Any]:
        """The criteria in one canonical JSON form: same meaning, same form, whatever was written."""
        document = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        # Always spell out the thresholds, so that a change of library default shows in the fingerprint.
        document["minConfidence"] = self.min_confidence
        document["reviewMargin"] = self.review_margin
        return document

    @property
    def fingerprint(self) -> str:
        """A short stable hash of the canonical form, recorded with every verdict."""
        canonical = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


_FILTER_NAME = re.compile(r"[A-Za-z0-9àâèçñó'-_(). ]*")  # Rekognition's pattern for LabelInclusionFilters


class DetectionRequest(BaseModel):
    """The detector request criteria compile to: which labels, how low a confidence, which properties."""

    model_config = ConfigDict(frozen=True)

    labels: tuple[str, ...]
    min_confidence: float | None = Field(
        default=None,
        description="Lowest confidence any rule can use (t - reviewMargin); None when no rule names a label.",
    )
    image_properties: bool
    max_dominant_colors: int | None = Field(
        default=None,
        ge=0,
        le=REKOGNITION_MAX_DOMINANT_COLORS,
        description="How many dominant colours to ask for; None leaves Rekognition's default (10).",
    )

    @property
    def inclusion_filter(self) -> tuple[str, ...]:
        """Labels to restrict DetectLabels to; empty when Rekognition could not accept them as a filter.

        An empty filter asks for every label, which is always safe: nothing a rule needs is cut.
        """
        fits = len(self.labels) <= REKOGNITION_MAX_INCLUSION_FILTERS and all(
            len(name) <= REKOGNITION_MAX_FILTER_LABEL_LENGTH and _FILTER_NAME.fullmatch(name)
            for name in self.labels
        )
        return self.labels if fits else ()

    def covers(self, other: "DetectionRequest") -> bool:
        """Whether an analysis made for this request holds everything `other` asks for.

        Then criteria that compile to `other` can be judged from that analysis without a new recognition:
        every label `other` names was asked for (by name, or because every label was), at a confidence
        floor no higher than `other`'s, and the image properties `other` needs were asked for too, with at
        least as many dominant colours.
        """
        if other.labels:
            if not self.labels:
                return False  # general labels were not asked for at all
            asked = {name.casefold() for name in self.inclusion_filter}
            if asked and not {name.casefold() for name in other.labels} <= asked:
                return False
            floor = self.min_confidence if self.min_confidence is not None else 0.0
            if other.min_confidence is not None and floor > other.min_confidence:
                return False
        if other.image_properties:
            if not self.image_properties:
                return False
            # Rekognition's default is 10 dominant colours when none is asked for.
            if (other.max_dominant_colors or 10) > (self.max_dominant_colors or 10):
                return False
        return True

    def detect_labels_params(self) -> dict[str, Any]:
        """Keyword arguments for boto3 `detect_labels`, without `Image`. Never sets MaxLabels."""
        features: list[str] = []
        settings: dict[str, Any] = {}
        params: dict[str, Any] = {}
        if self.labels:
            features.append("GENERAL_LABELS")
            if self.inclusion_filter:
                settings["GeneralLabels"] = {"LabelInclusionFilters": list(self.inclusion_filter)}
            if self.min_confidence is not None:
                params["MinConfidence"] = self.min_confidence
        if self.image_properties:
            features.append("IMAGE_PROPERTIES")
            if self.max_dominant_colors is not None:
                settings["ImageProperties"] = {"MaxDominantColors": self.max_dominant_colors}
        params["Features"] = features
        if settings:
            params["Settings"] = settings
        return params
