"""A key's history: every inspection of every upload and every decision, oldest first, from the stored
versions of its result record. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from inspector.engine import Verdict
from inspector.records import ResultRecord


@dataclass(frozen=True)
class Event:
    """One entry of a key's history: an inspection (the machine's verdict) or a person's decision."""

    kind: Literal["inspection", "decision"]
    at: datetime
    verdict: Verdict  # the machine's verdict, or the decided one
    etag: str  # the inspected upload's ETag
    version_id: str | None  # its S3 version, when the bucket is versioned
    filed: str | None  # where the image was filed by this event
    criteria: str | None = None
    detector: str | None = None
    rejection: str | None = None
    who: str | None = None
    before: Verdict | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        document = {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "verdict": self.verdict.value,
            "etag": self.etag,
            "version_id": self.version_id,
            "filed": self.filed,
            "criteria": self.criteria,
            "detector": self.detector,
            "rejection": self.rejection,
            "who": self.who,
            "before": self.before.value if self.before else None,
            "note": self.note,
        }
        return {name: value for name, value in document.items() if value is not None}


def latest_of_each_inspection(snapshots: Iterable[ResultRecord]) -> list[ResultRecord]:
    """The last stored state of each inspection among a record's versions (given oldest first)."""
    last: dict[str, ResultRecord] = {}
    for record in snapshots:
        last.pop(record.inspection_id, None)  # keep first-seen order of the latest state
        last[record.inspection_id] = record
    return sorted(last.values(), key=lambda r: r.inspected_at)


def timeline(snapshots: Iterable[ResultRecord]) -> list[Event]:
    """Every inspection and decision recorded in `snapshots` (a record's versions), oldest first."""
    events: list[Event] = []
    for record in latest_of_each_inspection(snapshots):
        etag = (record.image.etag or "").strip('"')
        version = record.image.version_id
        # Each decision that moved the copy says where it was; the machine filed it at the first of those.
        places = [d.moved_from for d in record.decisions if d.moved_from] + [record.destination]
        events.append(
            Event(
                kind="inspection",
                at=record.inspected_at,
                verdict=record.verdict,
                etag=etag,
                version_id=version,
                filed=places[0],
                criteria=record.criteria,
                detector=record.detector,
                rejection=record.rejection,
            )
        )
        moves = iter(places[1:])
        for decision in record.decisions:
            events.append(
                Event(
                    kind="decision",
                    at=decision.at,
                    verdict=decision.after,
                    etag=etag,
                    version_id=version,
                    filed=next(moves, record.destination) if decision.moved_from else None,
                    who=decision.who,
                    before=decision.before,
                    note=decision.note or None,
                )
            )
    return sorted(events, key=lambda e: e.at)


def text(key: str, events: list[Event], *, versioned: bool) -> str:
    """The history as lines a person reads."""
    lines = [f"history of {key}: {len(events)} event(s), oldest first"]
    for e in events:
        version = f", version {e.version_id}" if e.version_id else ""
        if e.kind == "inspection":
            why = f" ({e.rejection})" if e.rejection else ""
            lines.append(
                f"  {e.at.isoformat()}  inspected  {e.verdict}{why}  upload etag {e.etag}{version}, "
                f"criteria {e.criteria}, detector {e.detector or 'unknown'}"
                + (f"; filed at {e.filed}" if e.filed else "")
            )
        else:
            lines.append(
                f"  {e.at.isoformat()}  decided    {e.before} -> {e.verdict} by {e.who}"
                + (f"; re-filed at {e.filed}" if e.filed else "")
                + (f"; note: {' '.join((e.note or '').split())}" if e.note else "")
            )
    if not versioned:
        lines.append(
            "note: the bucket is not versioned, so only the latest record exists: earlier inspections "
            "and their decisions were overwritten"
        )
    return "\n".join(lines) + "\n"
