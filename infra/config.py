"""The stack's settings (`inspector:*` keys), validated with the library's own models before any resource."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from inspector import constants
from inspector._validation import describe
from inspector.criteria import Criteria
from inspector.engine import Verdict
from inspector.errors import InspectorError, SettingsError
from inspector.settings import DetectorKind, Settings

NAMESPACE = "inspector"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip

# The SQS visibility timeout must be at least six times the function timeout (AWS's guidance for SQS
# event sources), so that a message is not redelivered while a slow invocation still works on it.
VISIBILITY_TIMEOUT_FACTOR = 6  # 6 x Lambda's 900 s maximum stays under SQS's 12-hour maximum
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time for a person to look before messages expire


def _email(value: str) -> str:
    if len(value) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


Email = Annotated[str, AfterValidator(_email)]


class StackConfigError(InspectorError, ValueError):
    """A stack config key is missing or invalid; the message names it as `inspector:<key>`."""


class _Spec(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="forbid", frozen=True
    )


class Recipient(_Spec):
    """An email subscription of the QC group's topic; `only` filters on the verdict (all when left out)."""

    email: Email
    only: list[Verdict] | None = Field(default=None, min_length=1)


class StackConfig(_Spec):
    """Every `inspector:*` stack setting, with its default. The README's settings reference lists them."""

    criteria: Criteria
    notify: list[Recipient] = Field(default_factory=list)
    ops_notify: list[Email] = Field(default_factory=list)
    # The local detector reads pixels with Pillow, which the function's bundle lacks: local mode only.
    detector: Literal["rekognition", "custom-labels"] = "rekognition"
    custom_labels_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:rekognition:")
    images_prefix: str = constants.DEFAULT_IMAGES_PREFIX
    analyzed_prefix: str = constants.DEFAULT_ANALYZED_PREFIX
    rejected_prefix: str = constants.DEFAULT_REJECTED_PREFIX
    results_prefix: str = constants.DEFAULT_RESULTS_PREFIX
    glacier_after_days: int = Field(default=30, ge=1, le=3650)
    architecture: Literal["arm64", "x86_64"] = "arm64"
    python_version: Literal["3.12", "3.13"] = "3.13"
    memory_mb: int = Field(default=512, ge=128, le=10240)
    timeout_seconds: int = Field(default=60, ge=5, le=900)
    batch_size: int = Field(default=10, ge=1, le=10)
    batching_window_seconds: int = Field(default=0, ge=0, le=300)
    max_concurrency: int = Field(default=5, ge=2, le=1000)
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    log_retention_days: int = 30
    oldest_message_alarm_seconds: int = Field(default=900, ge=60)
    force_destroy: bool = False
    link_expiry_seconds: int = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _coherent(self) -> StackConfig:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"inspector:logRetentionDays: {self.log_retention_days} is not a CloudWatch retention period "
                f"(one of {', '.join(map(str, LOG_RETENTION_DAYS))})"
            )
        try:
            self.settings(topic_arn="arn:aws:sns:us-east-1:000000000000:placeholder", bucket="placeholder")
        except SettingsError as exc:
            raise ValueError(_config_names(str(exc))) from None
        return self

    @property
    def visibility_timeout_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.timeout_seconds

    def settings(self, *, topic_arn: str, bucket: str) -> Settings:
        """The function's settings (its `INSPECTOR_*` environment) for this stack."""
        document = {
            "topic_arn": topic_arn,
            "bucket": bucket,
            "criteria": self.criteria,
            "detector": DetectorKind(self.detector),
            "custom_labels_arn": self.custom_labels_arn,
            "images_prefix": self.images_prefix,
            "analyzed_prefix": self.analyzed_prefix,
            "rejected_prefix": self.rejected_prefix,
            "results_prefix": self.results_prefix,
            "link_expiry_seconds": self.link_expiry_seconds,
            "max_workers": self.batch_size,
            "log_level": self.log_level,
        }
        try:
            return Settings.model_validate(document)
        except ValidationError as exc:
            raise SettingsError("; ".join(describe(exc))) from None


def load(values: Mapping[str, Any]) -> StackConfig:
    """Validate the `inspector:*` config (keys without the namespace; values as Pulumi gives them: strings,
    JSON for objects and lists). Raises `StackConfigError` naming each bad key."""
    document = {key: _decode(value) for key, value in values.items()}
    if "criteria" not in document:
        raise StackConfigError(
            "inspector:criteria is required: set it with `pulumi config set --path inspector:criteria...` "
            "or in Pulumi.<stack>.yaml"
        )
    try:
        return StackConfig.model_validate(document)
    except ValidationError as exc:
        problems = [_config_names(line) for line in describe(exc)]
        raise StackConfigError("invalid stack config: " + "; ".join(problems)) from None


def _decode(value: Any) -> Any:
    # Pulumi hands objects and lists to the program as JSON text, and scalars as plain text, which the
    # models parse themselves ("45" -> 45, "true" -> True; "3.12" stays a version, not a float).
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_ENV_TO_KEY = {
    constants.ENV_TOPIC_ARN: "inspector:notify",
    constants.ENV_CRITERIA: "inspector:criteria",
    constants.ENV_BUCKET: "inspector:bucket",
    constants.ENV_DETECTOR: "inspector:detector",
    constants.ENV_CUSTOM_LABELS_ARN: "inspector:customLabelsArn",
    constants.ENV_IMAGES_PREFIX: "inspector:imagesPrefix",
    constants.ENV_ANALYZED_PREFIX: "inspector:analyzedPrefix",
    constants.ENV_REJECTED_PREFIX: "inspector:rejectedPrefix",
    constants.ENV_RESULTS_PREFIX: "inspector:resultsPrefix",
    constants.ENV_LINK_EXPIRY_SECONDS: "inspector:linkExpirySeconds",
    constants.ENV_MAX_WORKERS: "inspector:batchSize",
    constants.ENV_LOG_LEVEL: "inspector:logLevel",
}
_SNAKE_TO_KEY = {
    "images_prefix": "inspector:imagesPrefix",
    "analyzed_prefix": "inspector:analyzedPrefix",
    "rejected_prefix": "inspector:rejectedPrefix",
    "results_prefix": "inspector:resultsPrefix",
    "custom_labels_arn": "inspector:customLabelsArn",
}


def _config_names(line: str) -> str:
    """Speak of stack config keys (`inspector:imagesPrefix`), not of fields or environment variables."""
    for env, key in _ENV_TO_KEY.items():
        line = line.replace(env, key)
    for field, key in _SNAKE_TO_KEY.items():
        line = re.sub(rf"\b{field}\b", key, line)
    head, sep, rest = line.partition(": ")
    if sep and not head.startswith("inspector:") and re.fullmatch(r"[A-Za-z]+([.\[].*)?", head):
        line = f"inspector:{head}: {rest}"
    return line


def read_pulumi_config() -> dict[str, Any]:
    """Every `inspector:*` key of the running stack, without the namespace, typos included (so that
    `load` can refuse an unknown key instead of silently ignoring it)."""
    import pulumi.runtime.config as runtime_config  # noqa: PLC0415 - keeps this module free of pulumi

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix): value for key, value in values.items() if key.startswith(prefix)}
