"""People's decisions on result records, as pure functions: decide, what is pending, what to notify."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from inspector.engine import Verdict
from inspector.errors import InspectorError
from inspector.notification import Notification, printable, subject
from inspector.records import DECIDABLE, NOTE_MAX, Decision, ResultRecord


class DecisionRefused(InspectorError):
    """A decision that cannot apply to this record (no record, a REJECTED image, one still in inspection)."""


class DecisionConflict(InspectorError):
    """Another decision, or a new inspection of the key, was recorded first: nothing was changed."""


def decide(
    record: ResultRecord, *, verdict: Verdict, who: str, at: datetime, note: str, destination: str
) -> ResultRecord:
    """`record` with one more decision, filed at `destination` (the decided verdict's place).

    Raises `DecisionRefused` when the image was never analysed (REJECTED) or is still being inspected
    (not notified yet: the pipeline has not filed it), or when `verdict` is not PASS or FAIL.
    """
    if verdict not in DECIDABLE:
        raise DecisionRefused(f"a decision is PASS or FAIL, not {verdict}")
    if len(note.strip()) > NOTE_MAX:
        raise DecisionRefused(f"the note has {len(note.strip()):,} characters; {NOTE_MAX:,} at most")
    if record.verdict is Verdict.REJECTED:
        raise DecisionRefused(
            f"{printable(record.image.key)} was REJECTED (could not be analysed: {record.rejection}); "
            "upload a usable image instead"
        )
    if record.notified_at is None or record.destination is None:
        raise DecisionRefused(
            f"{printable(record.image.key)} is still being inspected; decide once it is filed"
        )
    moved_from = record.destination if record.destination != destination else None
    decision = Decision(
        who=who,
        at=at,
        before=record.effective_verdict,
        after=verdict,
        note=note.strip(),
        moved_from=moved_from,
    )
    return record.model_copy(update={"decisions": (*record.decisions, decision), "destination": destination})


def notified(record: ResultRecord, at: datetime) -> ResultRecord:
    """`record` with its last decision marked as notified at `at`."""
    *earlier, last = record.decisions
    return record.model_copy(update={"decisions": (*earlier, last.model_copy(update={"notified_at": at}))})


def is_pending(record: ResultRecord) -> bool:
    """Whether a person still has to decide: filed under REVIEW and nobody decided since."""
    return record.effective_verdict is Verdict.REVIEW and record.notified_at is not None


def pending(records: Iterable[ResultRecord], *, line: str | None = None) -> list[ResultRecord]:
    """The records awaiting a decision (of `line`, when given), oldest inspection first."""
    chosen = (r for r in records if is_pending(r) and (line is None or r.line == line))
    return sorted(chosen, key=lambda r: (r.inspected_at, r.image.key))


def notification(record: ResultRecord, *, link: str | None) -> Notification:
    """The message for the record's last decision. Attributes `kind=decision`, `verdict` (the decided one)
    and `line` let a subscription filter decisions out (`{"kind": [{"anything-but": "decision"}]}`)."""
    decision = record.decisions[-1]
    image = record.image
    lines = [
        f"Decision: {decision.after} (was {decision.before})",
        f"By: {decision.who}",
        f"At: {decision.at.isoformat()}",
        f"Image: s3://{image.bucket}/{printable(image.key)}",
        f"Filed under: s3://{image.bucket}/{printable(record.destination or '')}",
    ]
    if link:
        lines.append(f"Link: {link}")
    if decision.note:
        lines += ["", "Note:", *(f"  {printable(line)}" for line in decision.note.splitlines())]
    lines += [
        "",
        f"Machine verdict: {record.verdict}, criteria {record.criteria}, "
        f"inspected at {record.inspected_at.isoformat()}",
    ]
    return Notification(
        subject=subject(decision.after, image.key, heading="QC decision"),
        body="\n".join(lines) + "\n",
        attributes={"kind": "decision", "verdict": decision.after.value, "line": record.line},
    )
