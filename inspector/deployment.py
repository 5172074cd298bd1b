"""How one pipeline is deployed: the settings a Pulumi stack and the local mode both build from.

The Pulumi program reads them from `inspector:*` stack config (`infra/config.py`); the local mode uses
them to provision its embedded AWS with the same queue, redrive and visibility settings. Pure: pydantic
only.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, Strict, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from inspector import constants
from inspector._validation import StrictSpec, describe
from inspector.criteria import Criteria
from inspector.errors import SettingsError
from inspector.lines import DEFAULT_LINE, Email, Line, Lines, Recipient
from inspector.livecriteria.documents import CriteriaVersion, LineTable, seed_version
from inspector.settings import (
    DEFAULT_CRITERIA_REFRESH_SECONDS,
    ENV_NAMES,
    LAMBDA_ENVIRONMENT_LIMIT_BYTES,
    MAX_CRITERIA_REFRESH_SECONDS,
    MIN_CRITERIA_REFRESH_SECONDS,
    DetectorKind,
    Settings,
    compact_prefix_beside,
    environment_size,
)

__all__ = ["Deployment", "Email", "Recipient"]

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip

# The SQS visibility timeout is six times the function timeout (AWS's guidance for SQS event sources), so a
# message is not delivered again while a slow invocation still works on it. 6 x Lambda's 900 s maximum
# stays under SQS's 12-hour maximum.
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time for a person to look before messages expire


# Numbers and switches must be written as such: `forceDestroy: "yes"` or `memoryMb: true` is refused.
# (Pulumi hands scalars to the program as text; `infra.config` turns exactly `true`/`false` and whole
# numbers back into their types before these models see them.)
Flag = Annotated[bool, Strict()]
Whole = Annotated[int, Strict()]  # every number setting below also has both bounds (the README lists them)
# SQS keeps a message 4 days by default (the queue's retention): an older age can never be reached.
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600


class Deployment(StrictSpec):
    """Every setting of one deployed pipeline, with its default (the README's settings reference)."""

    criteria: Criteria  # the default line's first criteria (its seed in the live store)
    notify: list[Recipient] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)  # the lines with a prefix; the default one is above
    criteria_prefix: str = constants.DEFAULT_CRITERIA_PREFIX
    criteria_refresh_seconds: Whole = Field(
        default=DEFAULT_CRITERIA_REFRESH_SECONDS,
        ge=MIN_CRITERIA_REFRESH_SECONDS,
        le=MAX_CRITERIA_REFRESH_SECONDS,
    )
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
    # Lambda SnapStart: each published version's initialised environment (its imports) is snapshotted,
    # and a cold start restores it; the queue then drives the `live` alias of the latest version.
    snap_start: Flag = False
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
        if self.reference_model is not None and self.detector != "reference":
            # A model no detector reads would still be granted to the function's role (least privilege).
            raise ValueError(
                f"referenceModel is set but detector is {self.detector!r}, which does not use it: "
                "remove referenceModel, or set detector to reference"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"logRetentionDays: {self.log_retention_days} is not a CloudWatch retention period "
                f"(one of {', '.join(map(str, LOG_RETENTION_DAYS))})"
            )
        env = self._coherent_lines()
        size = environment_size(env) + RUNTIME_ENVIRONMENT_ALLOWANCE
        if size > LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            raise ValueError(
                f"lines: the function's environment would take about {size:,} bytes, over Lambda's "
                f"{LAMBDA_ENVIRONMENT_LIMIT_BYTES:,}: use fewer lines, or shorter names and prefixes"
            )
        for name, prefix in (
            ("imagesPrefix", self.images_prefix),
            ("analyzedPrefix", self.analyzed_prefix),
            ("rejectedPrefix", self.rejected_prefix),
            ("resultsPrefix", self.results_prefix),
            ("dailyPrefix", self.daily_prefix),
        ):
            if prefix and (prefix.startswith(self.reports_prefix) or self.reports_prefix.startswith(prefix)):
                raise ValueError(f"reportsPrefix ({self.reports_prefix!r}) and {name} ({prefix!r}) overlap")
            compact = self.compact_prefix
            if prefix and compact and (prefix.startswith(compact) or compact.startswith(prefix)):
                raise ValueError(
                    f"{name} ({prefix!r}) overlaps {compact!r}, where the compacted days go (beside "
                    "dailyPrefix)"
                )
        return self

    @property
    def compact_prefix(self) -> str | None:
        """Where the closed days' compacted files go: `compact/` beside the daily prefix; None without it."""
        return None if self.daily_prefix is None else compact_prefix_beside(self.daily_prefix)

    def _coherent_lines(self) -> dict[str, str]:
        """Check the lines and their recipients; the function's environment they make, to be measured."""
        for i, line in enumerate(self.lines):
            if line.criteria is None:
                raise ValueError(f"lines[{i}] ({line.name}): give the line its first criteria")
        try:
            env = self.settings(topic_arn=PLACEHOLDER_TOPIC_ARN, bucket=PLACEHOLDER_BUCKET).to_env()
        except SettingsError as exc:
            raise ValueError(_field_names(str(exc))) from None
        try:
            table = self.line_table
        except ValueError as exc:
            raise ValueError(_first(exc)) from None
        for i, recipient in enumerate(self.notify):
            unknown = [name for name in recipient.lines or [] if name not in table.names]
            if unknown:
                raise ValueError(
                    f"notify[{i}]: no line named {', '.join(map(repr, unknown))} "
                    f"(lines: {', '.join(table.names)})"
                )
        for line in self.lines:
            for j, recipient in enumerate(line.notify):
                if recipient.lines:
                    raise ValueError(
                        f"line {line.name!r}: notify[{j}] names lines: a line's recipients get that line's "
                        "images only (use the top-level notify for several lines)"
                    )
        return env

    @property
    def line_table(self) -> Lines:
        """Every line with its seed criteria and recipients: the default line from the top-level keys."""
        default = Line(
            name=DEFAULT_LINE,
            criteria=self.criteria,
            detectors=(DetectorKind(self.detector),),
            custom_labels_arn=self.custom_labels_arn,
            reference_model=self.reference_model,
        )
        return Lines(default=default, others=tuple(self.lines))

    def seeds(self, *, stack: str) -> list[CriteriaVersion]:
        """Each line's seed (version 0) for the criteria store: its criteria from this config."""
        return [seed_version(line, stack=stack) for line in self.line_table.all]

    def criteria_table(self) -> LineTable:
        """`lines.json` of the criteria store: the lines and the bucket's prefixes, for the commands."""
        return LineTable.of(
            self.line_table,
            images_prefix=self.images_prefix,
            results_prefix=self.results_prefix,
            analyzed_prefix=self.analyzed_prefix,
            rejected_prefix=self.rejected_prefix,
            refresh_seconds=self.criteria_refresh_seconds,
        )

    def subscriptions(self) -> list[Recipient]:
        """Every email subscription of the verdict topic: the top-level recipients (every line, or the
        lines they name), then each line's, filtered on that line."""
        found = list(self.notify)
        for line in self.lines:
            found += [r.model_copy(update={"lines": [line.name]}) for r in line.notify]
        return found

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
            # Criteria are live: the function reads each line's from the store, where the stack seeds them,
            # and none ride in its environment (Lambda's 4 KB), so the lines go without theirs.
            "criteria_prefix": self.criteria_prefix,
            "criteria_refresh_seconds": self.criteria_refresh_seconds,
            "lines": tuple(line.model_copy(update={"criteria": None, "notify": []}) for line in self.lines),
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


# What `_coherent` measures the function's environment with: the longest names AWS gives (an SNS topic ARN
# is at most ~330 characters with a 256-character name; Pulumi's are far shorter), and room for the variables
# the stack adds beside the settings (RUNTIME_ENVIRONMENT in infra/pipeline.py) and AWS_* ones Lambda sets
# itself, which do not count.
PLACEHOLDER_TOPIC_ARN = "arn:aws:sns:ap-southeast-2:000000000000:" + "t" * 80
PLACEHOLDER_BUCKET = "b" * 63
RUNTIME_ENVIRONMENT_ALLOWANCE = 128


def _first(exc: ValueError) -> str:
    return "; ".join(describe(exc)) if isinstance(exc, ValidationError) else str(exc)


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
