"""The result record: what one inspection saw and decided, stored as JSON beside the images."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError, model_validator

from inspector._validation import describe
from inspector.analysis import Analysis
from inspector.engine import Evaluation, Finding, Verdict
from inspector.errors import RecordError
from inspector.events import ObjectRef

SCHEMA_VERSION: Literal[1] = 1


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
    evidence: str | None = None  # the S3 key of the evidence image (FAIL and REVIEW), beside the record
    inspected_at: AwareDatetime
    notified_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ResultRecord:
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
    ) -> ResultRecord:
        """The record of an image that was analysed and judged."""
        return cls(
            image=image,
            verdict=evaluation.verdict,
            criteria=evaluation.criteria,
            findings=evaluation.findings,
            analysis=analysis,
            detector=detector,
            inspected_at=inspected_at,
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
    ) -> ResultRecord:
        """The record of an image that could not be analysed."""
        return cls(
            image=image,
            verdict=Verdict.REJECTED,
            criteria=criteria,
            rejection=reason,
            detector=detector,
            inspected_at=inspected_at,
        )

    def evaluation(self) -> Evaluation:
        return Evaluation(verdict=self.verdict, findings=self.findings, criteria=self.criteria)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, exclude_none=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ResultRecord:
        """Read a stored record; raises `RecordError` when it is not one this version understands."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise RecordError("unreadable result record: " + "; ".join(describe(exc))) from None
