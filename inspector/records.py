"""The result record: what one inspection saw and decided, stored as JSON beside the images."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from inspector import documents
from inspector._validation import describe
from inspector.analysis import Analysis
from inspector.criteria import DetectionRequest
from inspector.engine import Evaluation, Finding, Verdict
from inspector.errors import RecordError
from inspector.events import ObjectRef

SCHEMA_VERSION: Literal[1] = 1
DECIDABLE = (Verdict.PASS, Verdict.FAIL)  # what a person can decide
NOTE_MAX = 2000  # characters of a decision's note


class Decision(BaseModel):
    """A person's decision on an inspected image: who (the caller's AWS identity), when, and what."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    who: str = Field(min_length=1)  # the STS caller identity ARN of the reviewer
    at: AwareDatetime
    before: Verdict  # the effective verdict the decision replaced
    after: Verdict  # PASS or FAIL
    note: str = Field(default="", max_length=NOTE_MAX)
    # Where the filed copy was before the decision moved it (None: it did not move). A re-filing that a
    # crash interrupted is finished from here (`inspector.review`).
    moved_from: str | None = None
    notified_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _decidable(self) -> "Decision":
        if self.after not in DECIDABLE:
            raise ValueError(f"a decision is PASS or FAIL, not {self.after}")
        return self


class ResultRecord(BaseModel):
    """One inspection's audit record: the object, the analysis, the criteria fingerprint and the verdict.

    `schema_version` changes whenever a reader of older records would misread a newer one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    image: ObjectRef
    verdict: Verdict
    criteria: str  # the criteria fingerprint
    findings: tuple[Finding, ...] = ()
    analysis: Analysis | None = None  # None when the image was rejected before analysis
    rejection: str | None = None  # why the image could not be analysed; set exactly when REJECTED
    detector: str | None = None
    destination: str | None = None  # where the image goes, once it was notified
    inspected_at: AwareDatetime
    notified_at: AwareDatetime | None = None
    line: str = "default"  # the product line the image belongs to (inspector.lines, docs/design.md)
    criteria_version: int | None = None  # the version of the line's live criteria (0: the stack's seed)
    # What the detectors were asked for: the analysis holds nothing else. None in records written before.
    request: DetectionRequest | None = None
    # Judged again from the stored analysis, under new criteria: the fingerprint of the criteria before.
    rejudged_from: str | None = None
    evidence: str | None = None  # the S3 key of the evidence image (FAIL and REVIEW), beside the record
    decisions: tuple[Decision, ...] = ()  # people's decisions on this inspection, oldest first
    # The filed copy of the key's earlier version that this inspection replaces: removed once this
    # version is filed, so that the filed images never disagree with the latest record (see pipeline.py).
    supersedes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "ResultRecord":
        if (self.verdict is Verdict.REJECTED) != (self.rejection is not None):
            raise ValueError("rejection is set exactly when the verdict is REJECTED")
        if self.verdict is not Verdict.REJECTED and self.analysis is None:
            raise ValueError(f"a {self.verdict} record needs the analysis it was judged on")
        return self

    @classmethod
    def judged(
        cls,
        image: ObjectRef,
        analysis: Analysis,
        evaluation: Evaluation,
        *,
        inspected_at: datetime,
        detector: str | None = None,
        line: str = "default",
        request: DetectionRequest | None = None,
    ) -> "ResultRecord":
        """The record of an image that was analysed and judged."""
        return cls(
            image=image,
            verdict=evaluation.verdict,
            criteria=evaluation.criteria,
            findings=evaluation.findings,
            analysis=analysis,
            detector=detector,
            inspected_at=inspected_at,
            line=line,
            request=request,
        )

    @classmethod
    def rejected(
        cls,
        image: ObjectRef,
        reason: str,
        *,
        criteria: str,
        inspected_at: datetime,
        detector: str | None = None,
        line: str = "default",
    ) -> "ResultRecord":
        """The record of an image that could not be analysed."""
        return cls(
            image=image,
            verdict=Verdict.REJECTED,
            criteria=criteria,
            rejection=reason,
            detector=detector,
            inspected_at=inspected_at,
            line=line,
        )

    @property
    def effective_verdict(self) -> Verdict:
        """The last decision's verdict, else the machine's."""
        return self.decisions[-1].after if self.decisions else self.verdict

    @property
    def inspection_id(self) -> str:
        """Which inspection this record is of: the version of the image and when it was judged."""
        version = self.image.version_id or "-"
        return f"{self.inspected_at.isoformat()}|{(self.image.etag or '').strip(chr(34))}|{version}"

    def evaluation(self) -> Evaluation:
        return Evaluation(verdict=self.verdict, findings=self.findings, criteria=self.criteria)

    def to_json(self) -> str:
        # No decisions yet: left out, as every unset field is, so that undecided records read as before.
        return self.model_dump_json(
            indent=2, exclude_none=True, exclude=None if self.decisions else {"decisions"}
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> "ResultRecord":
        """Read a stored record; raises `RecordError` when it is not one this version understands."""
        try:
            # Read strictly: a key given twice (a record edited by hand, or spliced) is refused, not merged.
            return cls.model_validate(documents.parse_json(text, source="result record"))
        except documents.DocumentError as exc:
            raise RecordError(f"unreadable result record: {exc}") from None
        except ValidationError as exc:
            raise RecordError("unreadable result record: " + "; ".join(describe(exc))) from None
