"""Product lines: key prefixes under the images prefix, each with its own criteria, detectors, people."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

from inspector._validation import StrictSpec
from inspector.constants import KIND_DIGEST, REFERENCE_LABEL
from inspector.criteria import Criteria
from inspector.verdicts import Verdict

DEFAULT_LINE = "default"
LINE_NAME_PATTERN = r"[a-z0-9][a-z0-9-]{0,62}"


class DetectorName(StrEnum):
    """The detectors a line may run; several run on one image and their analyses merge."""

    REKOGNITION = "rekognition"  # DetectLabels
    CUSTOM_LABELS = "custom-labels"  # DetectCustomLabels with the line's model
    LOCAL = "local"  # image properties from the pixels with Pillow (local mode only)
    REFERENCE = "reference"  # the variation model trained on the line's good images


# What `detectors_problem` tells a user to add when the reference detector's label is judged by no rule.
ANOMALY_RULE_HINT = f"forbid: [{{label: {REFERENCE_LABEL}, minConfidence: 50}}]"


def detectors_problem(
    detectors: Sequence[DetectorName],
    criteria: Criteria,
    *,
    labels_elsewhere: str = "add a detector that reports labels",
) -> str | None:
    """Why `detectors` (one line's, merged) cannot judge `criteria`, or None when they can.

    The one place where detectors and criteria meet: lines (stack, function settings, local mode, the demo),
    published live criteria and `inspector analyze` all ask it. Refused: labels no detector reports, image
    properties none measures, and the reference detector with no rule that can fail on its one label
    (`Anomaly`): it would run, and every defect it found would PASS.
    """
    request = criteria.detection_request()
    names = set(detectors)
    reports_any_label = names & {DetectorName.REKOGNITION, DetectorName.CUSTOM_LABELS}
    reports_properties = names & {DetectorName.REKOGNITION, DetectorName.REFERENCE, DetectorName.LOCAL}
    which = f"{' and '.join(detectors)} {'reports' if len(detectors) == 1 else 'report'}"
    if request.labels and not reports_any_label:
        # The reference detector reports one label, its anomaly; the local one none.
        known = {REFERENCE_LABEL.casefold()} if DetectorName.REFERENCE in names else set()
        others = [name for name in request.labels if name.casefold() not in known]
        if others:
            only = f"only the label {REFERENCE_LABEL}" if known else "no labels"
            return (
                f"{which} {only}, but the criteria name labels "
                f"({', '.join(others[:5])}): use quality and colour rules"
                + (f" and {REFERENCE_LABEL}" if known else "")
                + f" only, or {labels_elsewhere}"
            )
    if request.image_properties and not reports_properties:
        kinds = [
            k for k, on in (("quality", criteria.quality is not None), ("colors", criteria.colors)) if on
        ]
        return (
            f"{which} no image properties, "
            f"but the criteria have {' and '.join(kinds)} rules: remove them, or add the rekognition, "
            "reference or local detector"
        )
    if DetectorName.REFERENCE in names and not any(
        rule.label.casefold() == REFERENCE_LABEL.casefold() for rule in criteria.forbid
    ):
        return (
            f"the reference detector reports one label, {REFERENCE_LABEL}, but no rule forbids it, so "
            f"every defect it finds would PASS: add `{ANOMALY_RULE_HINT}` to the criteria "
            "(50 is the model's calibrated threshold)"
        )
    return None


def _email(value: str) -> str:
    if len(value) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _line_prefix(value: str) -> str:
    if not value.endswith("/") or value.startswith("/") or "//" in value:
        raise ValueError(
            f"{value!r} must end with '/', not start with one, and have no empty folder, e.g. 'line-1/'"
        )
    return value


Email = Annotated[str, AfterValidator(_email)]
LineName = Annotated[str, StringConstraints(pattern=f"^{LINE_NAME_PATTERN}$")]
LinePrefix = Annotated[str, StringConstraints(min_length=2, max_length=200), AfterValidator(_line_prefix)]


class Recipient(StrictSpec):
    """An email subscription of the QC group's topic.

    `immediate`: one email per inspected image, of the verdicts in `only` (every verdict when left out);
    `digest`: the daily digest of each line. Either, or both. `lines`: only these lines' emails and
    digests (every line when left out).
    """

    email: Email
    only: list[Verdict] | None = Field(default=None, min_length=1)
    immediate: Annotated[bool, Strict()] = True
    digest: Annotated[bool, Strict()] = False
    lines: list[LineName] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _once(self) -> "Recipient":
        if not self.immediate and not self.digest:
            raise ValueError(f"{self.email} would receive nothing: set immediate or digest")
        if self.only is not None and not self.immediate:
            raise ValueError(f"{self.email}: `only` filters immediate emails, but immediate is false")
        if self.only is not None and len(set(self.only)) != len(self.only):
            raise ValueError("only: a verdict is listed twice; list each once")
        if self.lines is not None and len(set(self.lines)) != len(self.lines):
            raise ValueError("lines: a line is listed twice; list each once")
        return self

    def filter_policy(self) -> dict[str, Any] | None:
        """The SNS filter policy (on message attributes) of this subscription; None: every message.

        Verdict emails carry `kind: inspection`, `verdict` and `line`, the review desk's decisions
        `kind: decision` and `verdict`, digests `kind: digest` and `line` (no `verdict`).
        """
        everything_but_digests = {"kind": [{"anything-but": [KIND_DIGEST]}]}
        verdicts = {"verdict": [v.value for v in self.only]} if self.only else everything_but_digests
        if not self.digest:
            policy: dict[str, Any] | None = verdicts
        elif not self.immediate:
            policy = {"kind": [KIND_DIGEST]}
        else:
            policy = {"$or": [verdicts, {"kind": [KIND_DIGEST]}]} if self.only else None
        if not self.lines:
            return policy
        line = {"line": list(self.lines)}
        if policy is None:
            return line
        if "$or" in policy:
            return {"$or": [{**branch, **line} for branch in policy["$or"]]}
        return {**policy, **line}


class Line(StrictSpec):
    """One product line: a key prefix below the images prefix and what judging its images takes.

    `criteria` is the line's first (seed) criteria; once criteria are live, the published ones replace it
    (`inspector criteria publish`). The default line has no prefix: it takes every key under no line's.
    """

    name: LineName
    prefix: LinePrefix | None = None
    criteria: Criteria | None = None
    detectors: tuple[DetectorName, ...] = Field(default=(DetectorName.REKOGNITION,), min_length=1)
    reference_model: str | None = Field(default=None, min_length=1)
    custom_labels_arn: str | None = Field(default=None, pattern=r"^arn:")
    notify: list[Recipient] = Field(default=[])

    @model_validator(mode="after")
    def _coherent(self) -> "Line":
        if self.name == DEFAULT_LINE and self.prefix is not None:
            raise ValueError("the default line takes the keys under no line's prefix: give it no prefix")
        if self.name != DEFAULT_LINE and self.prefix is None:
            raise ValueError(f"line {self.name!r}: give it a prefix below the images prefix, e.g. 'line-1/'")
        if len(set(self.detectors)) != len(self.detectors):
            raise ValueError(f"line {self.name!r}: a detector is named twice in {list(self.detectors)}")
        if DetectorName.CUSTOM_LABELS in self.detectors and not self.custom_labels_arn:
            raise ValueError(f"line {self.name!r}: the custom-labels detector needs customLabelsArn")
        if DetectorName.REFERENCE in self.detectors and not self.reference_model:
            raise ValueError(f"line {self.name!r}: the reference detector needs referenceModel")
        # A setting no detector of the line reads is a mistake to say, not to ignore: the model would still
        # be granted to the function's role, and whoever wrote it believes it is used.
        for setting, value, detector in (
            ("customLabelsArn", self.custom_labels_arn, DetectorName.CUSTOM_LABELS),
            ("referenceModel", self.reference_model, DetectorName.REFERENCE),
        ):
            if value is not None and detector not in self.detectors:
                raise ValueError(
                    f"line {self.name!r}: {setting} is set but its detectors ({', '.join(self.detectors)}) "
                    f"do not use it: remove {setting}, or add {detector.value} to detectors"
                )
        if self.criteria is not None:
            problem = self.problem_with(self.criteria)
            if problem:
                raise ValueError(problem)
        return self

    def problem_with(self, criteria: Criteria) -> str | None:
        """Why this line's detectors cannot judge `criteria`, or None when they can.

        The live criteria store refuses a published document for the same reasons the stack refuses a seed.
        """
        problem = detectors_problem(self.detectors, criteria)
        return None if problem is None else f"line {self.name!r}: {problem}"

    def owns(self, relative_key: str) -> bool:
        """Whether a key below the images prefix is under this line's prefix (never true of the default)."""
        return self.prefix is not None and relative_key.startswith(self.prefix)

    def runtime(self) -> "Line":
        """This line as the function needs it: no recipients (SNS filters for them), criteria kept."""
        return self.model_copy(update={"notify": []})


class Lines(BaseModel):
    """Every line of a deployment: the default one and those with a prefix, which never overlap."""

    model_config = ConfigDict(frozen=True)

    default: Line
    others: tuple[Line, ...] = ()

    @model_validator(mode="after")
    def _separate(self) -> "Lines":
        if self.default.name != DEFAULT_LINE:
            raise ValueError(f"the default line is named {DEFAULT_LINE!r}, not {self.default.name!r}")
        seen: dict[str, Line] = {}
        for line in self.others:
            if line.name == DEFAULT_LINE:
                raise ValueError(
                    f"a line named {DEFAULT_LINE!r} is the default line: give the others another name"
                )
            if line.name in seen:
                raise ValueError(f"two lines are named {line.name!r}")
            seen[line.name] = line
        for i, a in enumerate(self.others):
            for b in self.others[i + 1 :]:
                assert a.prefix is not None  # noqa: S101 - Line guarantees it
                assert b.prefix is not None  # noqa: S101
                if a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix):
                    inner, outer = (a, b) if a.prefix.startswith(b.prefix) else (b, a)
                    raise ValueError(
                        f"lines {a.name!r} ({a.prefix!r}) and {b.name!r} ({b.prefix!r}) overlap: a key such "
                        f"as {inner.prefix}w1.jpg would belong to both {inner.name!r} and {outer.name!r}"
                    )
        return self

    @classmethod
    def of(cls, lines: Sequence[Line]) -> "Lines":
        """From a list holding exactly one line named `default` and any number of others."""
        defaults = [line for line in lines if line.name == DEFAULT_LINE]
        if len(defaults) != 1:
            raise ValueError(f"expected exactly one line named {DEFAULT_LINE!r}, found {len(defaults)}")
        return cls(default=defaults[0], others=tuple(line for line in lines if line.name != DEFAULT_LINE))

    @property
    def all(self) -> tuple[Line, ...]:
        """Every line, the default one first."""
        return (self.default, *self.others)

    def __len__(self) -> int:
        return 1 + len(self.others)

    @property
    def names(self) -> list[str]:
        return [line.name for line in self.all]

    def named(self, name: str) -> Line:
        """The line called `name`; `KeyError` naming the lines there are."""
        for line in self.all:
            if line.name == name:
                return line
        raise KeyError(f"no line named {name!r} (lines: {', '.join(self.names)})")

    def for_key(self, relative_key: str) -> Line:
        """The line a key below the images prefix belongs to: `line-1/w1.jpg` -> line-1; else the default."""
        for line in self.others:
            if line.owns(relative_key):
                return line
        return self.default

    def foreign_prefixes(self, line: Line) -> list[str]:
        """The prefixes of the other lines: what `line`'s keys are not under (the default line's are all)."""
        return [other.prefix for other in self.others if other.name != line.name and other.prefix is not None]
