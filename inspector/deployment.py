"""How one pipeline is deployed: the settings a Pulumi stack and the local mode both build from.

The Pulumi program reads them from `inspector:*` stack config (`infra/config.py`); the local mode uses
them to provision its embedded AWS with the same queue, redrive and visibility settings. Pure: pydantic
only.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from inspector import constants
from inspector._validation import StrictSpec, describe
from inspector.criteria import Criteria
from inspector.engine import Verdict
from inspector.errors import SettingsError
from inspector.notification import KIND_DIGEST
from inspector.settings import ENV_NAMES, DetectorKind, Settings

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip

# The SQS visibility timeout is six times the function timeout (AWS's guidance for SQS event sources), so a
# message is not delivered again while a slow invocation still works on it. 6 x Lambda's 900 s maximum
# stays under SQS's 12-hour maximum.
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time for a person to look before messages expire


def _email(value: str) -> str:
    if len(value) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


Email = Annotated[str, AfterValidator(_email)]
# Numbers and switches must be written as such: `forceDestroy: "yes"` or `memoryMb: true` is refused.
# (Pulumi hands scalars to the program as text; `infra.config` turns exactly `true`/`false` and whole
# numbers back into their types before these models see them.)
Flag = Annotated[bool, Strict()]
Whole = Annotated[int, Strict()]  # every number setting below also has both bounds (the README lists them)
# SQS keeps a message 4 days by default (the queue's retention): an older age can never be reached.
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600


class _Spec(StrictSpec):
    pass


class Recipient(_Spec):
    """An email subscription of the QC group's topic.

    `immediate`: one email per inspected image, of the verdicts in `only` (every verdict when left out);
    `digest`: the daily digest of each line. Either, or both.
    """

    email: Email
    only: list[Verdict] | None = Field(default=None, min_length=1)
    immediate: Flag = True
    digest: Flag = False

    @model_validator(mode="after")
    def _receives_something(self) -> Recipient:
        if not self.immediate and not self.digest:
            raise ValueError(f"{self.email} would receive nothing: set immediate or digest")
        if self.only is not None and not self.immediate:
            raise ValueError(f"{self.email}: `only` filters immediate emails, but immediate is false")
        return self

    def filter_policy(self) -> dict[str, Any] | None:
        """The SNS filter policy (on message attributes) of this subscription; None: every message.

        Verdict emails carry `kind: inspection` and `verdict`, the review desk's decisions `kind: decision`
        and `verdict`, digests `kind: digest` and `line` (no `verdict`).
        """
        everything_but_digests = {"kind": [{"anything-but": [KIND_DIGEST]}]}
        verdicts = {"verdict": [v.value for v in self.only]} if self.only else everything_but_digests
        if not self.digest:
            return verdicts
        if not self.immediate:
            return {"kind": [KIND_DIGEST]}
        return {"$or": [verdicts, {"kind": [KIND_DIGEST]}]} if self.only else None

    @model_validator(mode="after")
    def _once(self) -> Recipient:
        if self.only is not None and len(set(self.only)) != len(self.only):
            raise ValueError("only: a verdict is listed twice; list each once")
        return self


class Deployment(_Spec):
    """Every setting of one deployed pipeline, with its default (the README's settings reference)."""

    criteria: Criteria
    notify: list[Recipient] = Field(default_factory=list)
    ops_notify: list[Email] = Field(default_factory=list)
    # The local detector is refused by the stack (infra/config.py): local mode only.
    detector: Literal["rekognition", "custom-labels", "local", "reference"] = "rekognition"
    custom_labels_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:rekognition:")
    # The reference model: a key in the bucket (e.g. models/widget.npz) or s3://bucket/key.
    reference_model: str | None = None
    evidence: Flag = True  # an evidence image beside the record of each FAIL and REVIEW
    images_prefix: str = constants.DEFAULT_IMAGES_PREFIX
    analyzed_prefix: str = constants.DEFAULT_ANALYZED_PREFIX
    rejected_prefix: str = constants.DEFAULT_REJECTED_PREFIX
    results_prefix: str = constants.DEFAULT_RESULTS_PREFIX
    daily_prefix: str | None = constants.DEFAULT_DAILY_PREFIX
    reports_prefix: str = Field(default=constants.DEFAULT_REPORTS_PREFIX, pattern=r"^[^/].*/$")
    # EventBridge Scheduler expression, in UTC; the digest covers the UTC day before the one it runs on.
    digest_schedule: str = Field(default="cron(0 6 * * ? *)", pattern=r"^(cron|rate)\(.+\)$")
    glacier_after_days: Whole = Field(default=30, ge=1, le=3650)
    # Days an original's bytes stay (a noncurrent version under the images prefix) after it was filed.
    originals_retention_days: Whole = Field(default=30, ge=1, le=3650)
    architecture: Literal["arm64", "x86_64"] = "arm64"
    python_version: Literal["3.12", "3.13"] = "3.13"
    memory_mb: Whole = Field(default=512, ge=128, le=10240)
    timeout_seconds: Whole = Field(default=60, ge=5, le=900)
    batch_size: Whole = Field(default=10, ge=1, le=10)
    batching_window_seconds: Whole = Field(default=0, ge=0, le=300)
    max_concurrency: Whole = Field(default=5, ge=2, le=1000)
    max_receive_count: Whole = Field(default=5, ge=1, le=1000)
    log_retention_days: Whole = 30
    oldest_message_alarm_seconds: Whole = Field(default=900, ge=60, le=QUEUE_RETENTION_SECONDS)
    force_destroy: Flag = False
    link_expiry_seconds: Whole = Field(default=24 * 3600, ge=60, le=7 * 24 * 3600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("daily_prefix", mode="before")
    @classmethod
    def _no_daily_copies(cls, value: object) -> object:
        # Stack config hands scalars over as text: "" or "null" turns the daily copies (and reports) off.
        return None if value in ("", "null") else value

    @model_validator(mode="after")
    def _coherent(self) -> Deployment:
        emails = [recipient.email.casefold() for recipient in self.notify]
        for i, email in enumerate(emails):
            if email in emails[:i]:
                raise ValueError(
                    f"notify[{emails.index(email)}] and notify[{i}]: both are {self.notify[i].email}; "
                    "give each address once (with `only` listing every verdict it should get)"
                )
        ops = [email.casefold() for email in self.ops_notify]
        for i, email in enumerate(ops):
            if email in ops[:i]:
                raise ValueError(
                    f"opsNotify[{ops.index(email)}] and opsNotify[{i}]: both are {self.ops_notify[i]}; "
                    "give each address once"
                )
        if self.custom_labels_arn is not None and self.detector != "custom-labels":
            raise ValueError(
                f"customLabelsArn is set but detector is {self.detector!r}, which does not use it: "
                "remove customLabelsArn, or set detector to custom-labels"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"logRetentionDays: {self.log_retention_days} is not a CloudWatch retention period "
                f"(one of {', '.join(map(str, LOG_RETENTION_DAYS))})"
            )
        try:
            self.settings(topic_arn="arn:aws:sns:us-east-1:000000000000:placeholder", bucket="placeholder")
        except SettingsError as exc:
            raise ValueError(_field_names(str(exc))) from None
        for name, prefix in (
            ("imagesPrefix", self.images_prefix),
            ("analyzedPrefix", self.analyzed_prefix),
            ("rejectedPrefix", self.rejected_prefix),
            ("resultsPrefix", self.results_prefix),
            ("dailyPrefix", self.daily_prefix),
        ):
            if prefix and (prefix.startswith(self.reports_prefix) or self.reports_prefix.startswith(prefix)):
                raise ValueError(f"reportsPrefix ({self.reports_prefix!r}) and {name} ({prefix!r}) overlap")
        return self

    @property
    def visibility_timeout_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.timeout_seconds

    @property
    def redrive_policy(self) -> dict[str, object]:
        """The queue's redrive policy, but for the DLQ's ARN (`deadLetterTargetArn`)."""
        return {"maxReceiveCount": self.max_receive_count}

    def settings(self, *, topic_arn: str, bucket: str, endpoint_url: str | None = None) -> Settings:
        """The function's settings (its `INSPECTOR_*` environment) for this deployment."""
        document = {
            "topic_arn": topic_arn,
            "bucket": bucket,
            "criteria": self.criteria,
            "detector": DetectorKind(self.detector),
            "custom_labels_arn": self.custom_labels_arn,
            "reference_model": self.reference_model,
            "evidence": self.evidence,
            "images_prefix": self.images_prefix,
            "analyzed_prefix": self.analyzed_prefix,
            "rejected_prefix": self.rejected_prefix,
            "results_prefix": self.results_prefix,
            "daily_prefix": self.daily_prefix,
            "link_expiry_seconds": self.link_expiry_seconds,
            "max_workers": self.batch_size,
            "log_level": self.log_level,
            "endpoint_url": endpoint_url,
        }
        try:
            return Settings.model_validate(document)
        except ValidationError as exc:
            raise SettingsError("; ".join(describe(exc))) from None


# The function's settings that a deployment sets under another name; the rest share the name, camelCased.
_RENAMED = {"topic_arn": "notify", "max_workers": "batchSize"}
_SETTING_TO_FIELD = {name: _RENAMED.get(name, to_camel(name)) for name in ENV_NAMES}


def _field_names(line: str) -> str:
    """Speak of this model's fields (`imagesPrefix`), not of the function's environment variables."""
    for name, env in sorted(ENV_NAMES.items(), key=lambda item: -len(item[1])):
        line = line.replace(env, _SETTING_TO_FIELD[name])
    for name, field in _SETTING_TO_FIELD.items():
        line = re.sub(rf"\b{name}\b", field, line) if "_" in name else line
    return line
