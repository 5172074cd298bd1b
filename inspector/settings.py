"""The function's settings: one validated model, read from environment variables or written to them."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from inspector import constants as c
from inspector._validation import describe
from inspector.criteria import Criteria
from inspector.errors import CriteriaError, SettingsError
from inspector.lines import DEFAULT_LINE, DetectorName, Line, Lines, detectors_problem

DetectorKind = DetectorName  # the name this module gave detectors before lines had several

# Lambda refuses a function whose environment variables, names and values together, exceed 4 KB.
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096
# How often the function looks for newly published criteria (a conditional GET per line, per container).
DEFAULT_CRITERIA_REFRESH_SECONDS = 60
MIN_CRITERIA_REFRESH_SECONDS = 5
MAX_CRITERIA_REFRESH_SECONDS = 900


def _prefix(value: str) -> str:
    if not value.endswith("/") or value.startswith("/"):
        raise ValueError(f"{value!r} must end with '/' and not start with one, e.g. 'images/'")
    return value


Prefix = Annotated[str, Field(min_length=2, max_length=200), AfterValidator(_prefix)]


class Settings(BaseModel):
    """Everything the inspection of one image depends on besides the image itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic_arn: str = Field(min_length=1, pattern=r"^arn:aws[a-z-]*:sns:")
    # The default line's criteria, fixed for the container's life; None when criteria are live (below).
    criteria: Criteria | None = None
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
    detector: DetectorKind = DetectorKind.REKOGNITION
    custom_labels_arn: str | None = None
    reference_model: str | None = Field(default=None, min_length=1, max_length=1024)
    # An evidence image beside the record of each FAIL and REVIEW (the photo is read from S3 for it).
    evidence: bool = True
    # The lines with a prefix (the default line is made of the settings above), without recipients; each
    # carries its criteria only when criteria are not live.
    lines: tuple[Line, ...] = ()
    # Live criteria: published under s3://<bucket>/<criteria_prefix><line>/ and read back at most every
    # criteria_refresh_seconds (see inspector.livecriteria); None: the criteria above, fixed.
    criteria_prefix: Prefix | None = None
    criteria_refresh_seconds: Annotated[int, Strict()] = Field(
        default=DEFAULT_CRITERIA_REFRESH_SECONDS,
        ge=MIN_CRITERIA_REFRESH_SECONDS,
        le=MAX_CRITERIA_REFRESH_SECONDS,
    )
    images_prefix: Prefix = c.DEFAULT_IMAGES_PREFIX
    analyzed_prefix: Prefix = c.DEFAULT_ANALYZED_PREFIX
    rejected_prefix: Prefix = c.DEFAULT_REJECTED_PREFIX
    results_prefix: Prefix = c.DEFAULT_RESULTS_PREFIX
    # Where the finished records are copied, one line each, by UTC day, for the reports' Athena table;
    # None: no copies.
    daily_prefix: Prefix | None = None
    # Presigned links live at most as long as the credentials that signed them (the function's role
    # session, a few hours), and SigV4 caps them at 7 days.
    link_expiry_seconds: Annotated[int, Strict()] = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    max_workers: Annotated[int, Strict()] = Field(default=10, ge=1, le=64)
    log_level: str = "INFO"
    metrics_namespace: str = Field(default=c.DEFAULT_METRICS_NAMESPACE, min_length=1, max_length=255)
    endpoint_url: str | None = None

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a URL ({exc})") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
        return value

    @field_validator("lines", mode="before")
    @classmethod
    def _lines_json(cls, value: Any) -> Any:
        # INSPECTOR_LINES holds the lines as JSON text.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError(f"not JSON: {exc}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _coherent(self) -> "Settings":
        # Moving an image must never re-trigger the pipeline, nor can two kinds of output share a place.
        prefixes = {
            "images_prefix": self.images_prefix,
            "analyzed_prefix": self.analyzed_prefix,
            "rejected_prefix": self.rejected_prefix,
            "results_prefix": self.results_prefix,
        }
        if self.criteria_prefix is not None:
            prefixes["criteria_prefix"] = self.criteria_prefix
        if self.daily_prefix is not None:
            prefixes["daily_prefix"] = self.daily_prefix
        names = list(prefixes)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if prefixes[a].startswith(prefixes[b]) or prefixes[b].startswith(prefixes[a]):
                    raise ValueError(
                        f"{ENV_NAMES[a]} ({prefixes[a]!r}) and {ENV_NAMES[b]} ({prefixes[b]!r}) overlap: "
                        "each prefix must be separate, or moved images would be inspected again"
                    )
        if self.criteria_prefix is None and self.criteria is None:
            raise ValueError(f"{c.ENV_CRITERIA} is required (or {c.ENV_CRITERIA_PREFIX}, for live criteria)")
        if self.criteria_prefix is not None and self.criteria is not None:
            raise ValueError(
                f"{c.ENV_CRITERIA} and {c.ENV_CRITERIA_PREFIX}: give one (fixed criteria, or live ones)"
            )
        self._coherent_detector()
        if self.reference_model is not None:
            _model_location(self.reference_model)
        if self.criteria is not None:
            self._coherent_criteria(self.criteria)
        self._coherent_lines()
        return self

    def _coherent_detector(self) -> None:
        """What the detector needs is given, and nothing it leaves unused (#11's strictness)."""
        if self.detector is DetectorKind.CUSTOM_LABELS and not self.custom_labels_arn:
            raise ValueError(f"{c.ENV_CUSTOM_LABELS_ARN} is required when {c.ENV_DETECTOR}=custom-labels")
        if self.custom_labels_arn and self.detector is not DetectorKind.CUSTOM_LABELS:
            raise ValueError(
                f"{c.ENV_CUSTOM_LABELS_ARN} is set but {c.ENV_DETECTOR}={self.detector.value} does not use "
                f"it: remove it, or set {c.ENV_DETECTOR}=custom-labels"
            )
        if self.reference_model and self.detector is not DetectorKind.REFERENCE:
            raise ValueError(
                f"{c.ENV_REFERENCE_MODEL} is set but {c.ENV_DETECTOR}={self.detector.value} does not use "
                f"it: remove it, or set {c.ENV_DETECTOR}=reference"
            )
        if self.detector is DetectorKind.REFERENCE and not self.reference_model:
            raise ValueError(
                f"{c.ENV_REFERENCE_MODEL} is required when {c.ENV_DETECTOR}=reference: the model's key "
                "in the bucket (e.g. models/widget.npz) or an s3://bucket/key address"
            )

    def _coherent_lines(self) -> None:
        for line in self.lines:
            if line.name == DEFAULT_LINE:
                raise ValueError(f"{c.ENV_LINES}: the default line is made of the {c.ENV_CRITERIA}, "
                                 f"{c.ENV_DETECTOR}... settings; name the others otherwise")  # fmt: skip
            if self.criteria_prefix is None and line.criteria is None:
                raise ValueError(
                    f"{c.ENV_LINES}: line {line.name!r} has no criteria, and criteria are not live"
                )
        try:
            self.line_table  # noqa: B018 - validates the lines together: names and prefixes
        except ValueError as exc:
            raise ValueError(f"{c.ENV_LINES}: {_first_message(exc)}") from None

    def _coherent_criteria(self, criteria: Criteria) -> None:
        if self.detector is DetectorKind.REFERENCE and not self.reference_model:
            raise ValueError(
                f"{c.ENV_REFERENCE_MODEL} is required when {c.ENV_DETECTOR}=reference: the model's key "
                "in the bucket (e.g. models/widget.npz) or an s3://bucket/key address"
            )
        problem = detectors_problem((self.detector,), criteria)
        if problem is not None:
            raise ValueError(f"{c.ENV_CRITERIA} with {c.ENV_DETECTOR}={self.detector.value}: {problem}")

    @property
    def line_table(self) -> Lines:
        """Every line: the default one (this model's criteria and detector) and `lines`."""
        default = Line(
            name=DEFAULT_LINE,
            criteria=self.criteria,
            detectors=(self.detector,),
            custom_labels_arn=self.custom_labels_arn,
            reference_model=self.reference_model,
        )
        return Lines(default=default, others=self.lines)

    @property
    def live(self) -> bool:
        """Whether criteria are read from the criteria store rather than fixed in the settings."""
        return self.criteria_prefix is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        """Read the `INSPECTOR_*` variables; raises `SettingsError` naming each bad variable."""
        document: dict[str, Any] = {}
        criteria_problem: str | None = None
        number_problems: list[str] = []
        for field, variable in ENV_NAMES.items():
            value = environ.get(variable)
            if value is None or value == "":
                continue
            if field == "criteria":
                try:
                    document[field] = Criteria.from_json(value)
                except CriteriaError as exc:
                    criteria_problem = f"{variable}: {exc}"
            elif field in _WHOLE_NUMBERS:
                # Environment variables are text: parse whole numbers here, exactly, and let the model
                # refuse anything else (`true`, `1e3`, `10.0`) as the strict number it is.
                if re.fullmatch(r"[0-9]{1,12}", value):
                    document[field] = int(value)
                else:
                    number_problems.append(
                        f"{variable}: Input should be a valid integer (a whole number), got {value!r}"
                    )
            else:
                document[field] = value
        problems: list[str] = []
        if "criteria" not in document and "criteria_prefix" not in document and criteria_problem is None:
            # Checked here too, so that it is named beside the other missing variables.
            problems.append(f"{c.ENV_CRITERIA} is required")
        try:
            settings = cls.model_validate(document)
        except ValidationError as exc:
            named = [_name_variable(line) for line in describe(exc)]
            # The model says "required" of the criteria too, at more length: once is enough.
            problems += [p for p in named if not (problems and p.startswith(f"{c.ENV_CRITERIA} is required"))]
        problems = number_problems + problems  # a refused number is left out of the document above
        if criteria_problem is not None:
            # Reported first, in place of the "required" line its absence from the document caused.
            problems = [criteria_problem] + [p for p in problems if not p.startswith(f"{c.ENV_CRITERIA} ")]
        if problems:
            prefix = "" if problems[0] == criteria_problem and len(problems) == 1 else "invalid settings: "
            raise SettingsError(prefix + "; ".join(problems))
        return settings

    def to_env(self) -> dict[str, str]:
        """The environment variables that `from_env` reads back into equal settings."""
        env: dict[str, str] = {}
        for field, variable in ENV_NAMES.items():
            value = getattr(self, field)
            if value is None:
                continue
            if isinstance(value, Criteria):
                env[variable] = value.model_dump_json(by_alias=True, exclude_defaults=True)
            elif field == "lines":
                if value:
                    env[variable] = json.dumps(
                        [line.runtime().model_dump(mode="json", by_alias=True, exclude_defaults=True)
                         for line in value],
                        separators=(",", ":"),
                    )  # fmt: skip
            elif isinstance(value, bool):
                env[variable] = "true" if value else "false"
            else:
                env[variable] = str(value)
        return env

    @property
    def layout(self) -> "Layout":
        return Layout(
            images_prefix=self.images_prefix,
            analyzed_prefix=self.analyzed_prefix,
            rejected_prefix=self.rejected_prefix,
            results_prefix=self.results_prefix,
            daily_prefix=self.daily_prefix,
        )

    def destination(self, key: str, verdict: str) -> str:
        """Where an image goes: `images/line-3/w1.jpg` -> `analyzed/failed/line-3/w1.jpg`, `rejected/...`."""
        return self.layout.destination(key, verdict)

    def daily_key(self, key: str, inspected_at: datetime) -> str:
        """Where the daily copy of an image's record goes (see `Layout.daily_key`)."""
        return self.layout.daily_key(key, inspected_at)

    def record_key(self, key: str) -> str:
        """Where an image's result record goes: `images/line-3/w1.jpg` -> `results/line-3/w1.jpg.json`."""
        return self.layout.record_key(key)

    def evidence_key(self, key: str) -> str:
        """Where an image's evidence goes, beside its record: `results/line-3/w1.jpg.evidence.jpg`."""
        return self.layout.evidence_key(key)

    def relative(self, key: str) -> str:
        """The key below the watched prefix."""
        return self.layout.relative(key)


def compact_prefix_beside(daily_prefix: str) -> str:
    """Where the closed days' compacted record files go: `compact/` beside the daily copies' prefix
    (`daily/` -> `compact/`, `qc/daily/` -> `qc/compact/`)."""
    parent = daily_prefix.rstrip("/").rpartition("/")[0]
    return f"{parent}/{c.DEFAULT_COMPACT_PREFIX}" if parent else c.DEFAULT_COMPACT_PREFIX


def compacted_marker_key(compact_prefix: str, day: str) -> str:
    """The marker that says a day's compacted file is complete: `compact/dt=2026-11-28/_SUCCESS` (Athena
    and Hive skip files whose names start with `_`)."""
    return f"{compact_prefix}dt={day}/_SUCCESS"


class Layout(BaseModel):
    """The bucket's layout: where uploads, filed images and result records live (the review commands need
    only this part of the settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    images_prefix: Prefix = c.DEFAULT_IMAGES_PREFIX
    analyzed_prefix: Prefix = c.DEFAULT_ANALYZED_PREFIX
    rejected_prefix: Prefix = c.DEFAULT_REJECTED_PREFIX
    results_prefix: Prefix = c.DEFAULT_RESULTS_PREFIX
    daily_prefix: Prefix | None = None  # the records' daily copies, for the reports; None: none kept

    def destination(self, key: str, verdict: str) -> str:
        """Where an image goes: `images/line-3/w1.jpg` -> `analyzed/failed/line-3/w1.jpg`, `rejected/...`."""
        rest = self.relative(key)
        if verdict == "REJECTED":
            return _fit(self.rejected_prefix, rest, "")
        return _fit(self.verdict_prefix(verdict), rest, "")

    def verdict_prefix(self, verdict: str) -> str:
        """The folder of a judged verdict: `analyzed/review/` for REVIEW."""
        folder = {"PASS": "passed", "FAIL": "failed", "REVIEW": "review"}[verdict]
        return f"{self.analyzed_prefix}{folder}/"

    def evidence_key(self, key: str) -> str:
        """Where an image's evidence goes, beside its record: `results/line-3/w1.jpg.evidence.jpg`."""
        return _fit(self.results_prefix, self.relative(key), c.EVIDENCE_SUFFIX)

    def record_key(self, key: str) -> str:
        """Where an image's result record goes: `images/line-3/w1.jpg` -> `results/line-3/w1.jpg.json`."""
        return _fit(self.results_prefix, self.relative(key), ".json")

    def daily_key(self, key: str, inspected_at: datetime) -> str:
        """Where the daily copy of an image's record goes: `daily/dt=2026-11-28/line-3/w1.jpg.json` (the
        UTC day of the inspection); raises `ValueError` when these settings keep no daily copies."""
        if self.daily_prefix is None:
            raise ValueError("no daily prefix is set")
        day = inspected_at.astimezone(UTC).strftime("%Y-%m-%d")
        return _fit(f"{self.daily_prefix}dt={day}/", self.relative(key), ".json")

    @property
    def compact_prefix(self) -> str | None:
        """Where the closed days' compacted files go (`compact_prefix_beside`); None without daily copies."""
        return None if self.daily_prefix is None else compact_prefix_beside(self.daily_prefix)

    def relative(self, key: str) -> str:
        """The key below the watched prefix."""
        if not key.startswith(self.images_prefix):
            raise ValueError(f"{key!r} is not under {self.images_prefix!r}")
        return key[len(self.images_prefix) :]


def _model_location(value: str) -> None:
    """A reference model is a key in the bucket or `s3://bucket/key`, never a folder."""
    if value.startswith("s3://"):
        bucket, _, key = value.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise ValueError(f"{c.ENV_REFERENCE_MODEL}: {value!r} is not an s3://bucket/key address")
    if value.endswith("/") or value.startswith("/"):
        raise ValueError(
            f"{c.ENV_REFERENCE_MODEL}: {value!r} must name the model object (e.g. models/widget.npz), "
            "not a folder or a local path"
        )


S3_MAX_KEY_BYTES = 1024
LONG_KEYS_FOLDER = "_long-keys/"


def _fit(prefix: str, rest: str, suffix: str) -> str:
    """`prefix + rest + suffix`, unless that is over S3's 1,024-byte key limit (the prefixes here can be
    longer than the images prefix): then a stable short name under `_long-keys/`, the hash of `rest` and
    its last characters, so the image is still filed and its record still found; the record keeps the key."""
    key = f"{prefix}{rest}{suffix}"
    # An upload already under `_long-keys/` is renamed too, so it can never take a long key's short name.
    if len(key.encode()) <= S3_MAX_KEY_BYTES and not rest.startswith(LONG_KEYS_FOLDER):
        return key
    digest = hashlib.sha256(rest.encode()).hexdigest()
    tail = rest[-40:].encode()[-60:].decode(errors="ignore").replace("/", "_")
    return f"{prefix}{LONG_KEYS_FOLDER}{digest}-{tail}{suffix}"


# Each setting's environment variable (the names are in `inspector.constants`).
ENV_NAMES: dict[str, str] = {
    "topic_arn": c.ENV_TOPIC_ARN,
    "criteria": c.ENV_CRITERIA,
    "bucket": c.ENV_BUCKET,
    "detector": c.ENV_DETECTOR,
    "custom_labels_arn": c.ENV_CUSTOM_LABELS_ARN,
    "reference_model": c.ENV_REFERENCE_MODEL,
    "evidence": c.ENV_EVIDENCE,
    "lines": c.ENV_LINES,
    "criteria_prefix": c.ENV_CRITERIA_PREFIX,
    "criteria_refresh_seconds": c.ENV_CRITERIA_REFRESH_SECONDS,
    "images_prefix": c.ENV_IMAGES_PREFIX,
    "analyzed_prefix": c.ENV_ANALYZED_PREFIX,
    "rejected_prefix": c.ENV_REJECTED_PREFIX,
    "results_prefix": c.ENV_RESULTS_PREFIX,
    "daily_prefix": c.ENV_DAILY_PREFIX,
    "link_expiry_seconds": c.ENV_LINK_EXPIRY_SECONDS,
    "max_workers": c.ENV_MAX_WORKERS,
    "log_level": c.ENV_LOG_LEVEL,
    "metrics_namespace": c.ENV_METRICS_NAMESPACE,
    "endpoint_url": c.ENV_ENDPOINT_URL,
}


def environment_size(env: Mapping[str, str]) -> int:
    """The bytes Lambda counts against its 4 KB environment limit: every name and value, UTF-8."""
    return sum(len(name.encode()) + len(value.encode()) for name, value in env.items())


def _first_message(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(describe(exc))
    return str(exc)


_WHOLE_NUMBERS = frozenset({"link_expiry_seconds", "max_workers", "criteria_refresh_seconds"})


def _name_variable(line: str) -> str:
    # describe() gives "field: message" (or a whole-model message that already names its variables).
    field, sep, message = line.partition(": ")
    if sep and field in ENV_NAMES:
        if message == "Field required":
            return f"{ENV_NAMES[field]} is required"
        return f"{ENV_NAMES[field]}: {message}"
    head = field.split("[", 1)[0].split(".", 1)[0]
    if sep and head in ENV_NAMES and head != field:
        return f"{ENV_NAMES[head]}{field[len(head) :]}: {message}"
    return line
