"""The review desk: decisions applied to the bucket through injected adapters (S3 store, notifier, who).

A decision is recorded, then carried out, in this order:

    load the record (its ETag) -> finish any earlier decision a crash interrupted
    -> write the record with the decision (If-Match on that ETag: the meeting point)
    -> copy the filed image to the decided verdict's place -> delete the earlier copy (If-Match)
    -> notify the topic (kind=decision) -> record the notification (If-Match)
    -> rewrite the record's daily copy, if it has one -> delete that day's compaction marker

The daily copy is what Athena's report reads (and the compacted day made from it): rewritten with the
decision, the report's agreement and effective verdicts count it on both engines. Deleting the day's
marker sends reports back to the day's copies until `inspector compact` merges it again; a crash before
either is finished by the next decision on the key or by `settle`, like the move and the notification.

The record comes first, as the intent: of two reviewers deciding at once, exactly one write succeeds, and
the other is told (`DecisionConflict`) before it touched any object, so nothing is filed twice. Copying
before recording would leave the loser a copy to take back, and taking it back is not safe (the winner's
copy of the same image may have the same key and bytes). The earlier copy is deleted only once the new one
exists, so the image is never without a filed copy; on the versioned bucket the delete leaves it as a
noncurrent version anyway. A crash after the record's write leaves a decision whose copy is still at its
`moved_from` place, or one not yet notified: the next decision on the key (or `settle`) finishes it first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from inspector.engine import Verdict
from inspector.errors import RecordConflict, TransientError
from inspector.notification import Notification
from inspector.records import Decision, ResultRecord
from inspector.review import decisions
from inspector.review.decisions import DecisionConflict, DecisionRefused
from inspector.review.history import Event, timeline
from inspector.settings import Layout, compacted_marker_key
from inspector.storage import ObjectInfo, RecordVersion, StoredRecord

READ_WORKERS = 8  # concurrent record GETs when listing the queue
log = logging.getLogger("inspector.review")


class Store(Protocol):
    """What the desk needs of the bucket; `inspector.storage.S3Store` is the S3 one."""

    def head(self, key: str) -> ObjectInfo | None: ...
    def load_record(self, key: str) -> StoredRecord | None: ...
    def save_record(self, key: str, record: ResultRecord, *, replacing: str | None) -> str: ...
    def copy(self, source: str, destination: str, *, info: ObjectInfo, metadata: dict[str, str]) -> None: ...
    def delete(self, key: str, *, etag: str) -> bool: ...
    def keys(self, prefix: str) -> Iterator[str]: ...
    def record_versions(self, key: str) -> list[RecordVersion]: ...
    def versioned(self) -> bool: ...
    def read(self, key: str, *, version_id: str | None = None) -> tuple[bytes, str | None] | None: ...
    def presign(self, key: str, *, expires_in: int) -> str | None: ...
    def save_daily(self, key: str, record: ResultRecord) -> None: ...
    def discard(self, key: str) -> None: ...


class Notifier(Protocol):
    def publish(self, notification: Notification) -> str: ...


@dataclass(frozen=True)
class Pending:
    """An image awaiting a decision, with the record's ETag a decision on it must name."""

    record: ResultRecord
    etag: str

    @property
    def key(self) -> str:
        return self.record.image.key


@dataclass(frozen=True)
class Outcome:
    """What one decision did."""

    key: str
    decision: Decision
    destination: str
    moved: bool  # the filed copy moved to the decided verdict's place
    notified: bool
    etag: str  # the record's ETag after the decision


class ReviewDesk:
    """Lists what awaits review, records decisions and carries them out; safe to share between threads."""

    def __init__(
        self,
        layout: Layout,
        *,
        store: Store,
        notifier: Notifier | None,
        who: Callable[[], str],
        clock: Callable[[], datetime] | None = None,
        link_expiry_seconds: int = 24 * 3600,
    ) -> None:
        self.layout = layout
        self.store = store
        self.notifier = notifier
        self._who = who
        self._identity: str | None = None
        self._clock = clock or (lambda: datetime.now(UTC))
        self.link_expiry_seconds = link_expiry_seconds

    def who(self) -> str:
        """The reviewer's identity (asked once: the caller's ARN does not change during a session)."""
        if self._identity is None:
            self._identity = self._who()
        return self._identity

    # --- reading ---

    def queue(self, *, line: str | None = None) -> list[Pending]:
        """The images filed under REVIEW that nobody decided yet (of `line`), oldest inspection first.

        It lists the review folder (small: only what awaits people) and reads each one's record.
        """
        folder = self.layout.verdict_prefix(Verdict.REVIEW)
        record_keys = [
            f"{self.layout.results_prefix}{key[len(folder) :]}.json" for key in self.store.keys(folder)
        ]
        with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
            stored = list(pool.map(self.store.load_record, record_keys))
        found = {
            s.record.image.key: Pending(s.record, s.etag)
            for s in stored
            if s is not None and s.record is not None
        }
        ordered = decisions.pending((p.record for p in found.values()), line=line)
        return [found[r.image.key] for r in ordered]

    def record(self, key: str) -> Pending:
        """The image's latest record and its ETag; `DecisionRefused` when there is none."""
        stored = self.store.load_record(self._record_key(key))
        if stored is None:
            raise DecisionRefused(
                f"no result record for {key}: was it uploaded under {self.layout.images_prefix}?"
            )
        if stored.record is None:
            raise DecisionRefused(f"the result record of {key} cannot be read by this version of inspector")
        return Pending(stored.record, stored.etag)

    def history(self, key: str) -> list[Event]:
        """Every inspection and decision of the key, oldest first."""
        versions = self.store.record_versions(self._record_key(key))
        events = timeline(v.record for v in versions if v.record is not None)
        if not events:
            raise DecisionRefused(f"no result record for {key}")
        return events

    # --- deciding ---

    def decide(self, key: str, verdict: Verdict, *, note: str = "", expected: str | None = None) -> Outcome:
        """Record and carry out a decision on `key` (see the module docstring for the order).

        `expected` is the record ETag the reviewer saw (the page sends it): a record changed since is a
        `DecisionConflict`, as is losing the write to another reviewer. `DecisionRefused` when the record
        cannot be decided (none, REJECTED, still in inspection).
        """
        record_key = self._record_key(key)
        current = self.record(key)
        if expected is not None and _bare(expected) != _bare(current.etag):
            raise DecisionConflict(
                f"{key} changed since you looked at it (another decision, or a new upload): nothing was "
                "changed; look again and decide"
            )
        record, etag = self._finish(record_key, current.record, current.etag)
        decided = decisions.decide(
            record,
            verdict=verdict,
            who=self.who(),
            at=self._clock(),
            note=note,
            destination=self.layout.destination(key, verdict),
        )
        try:
            etag = self.store.save_record(record_key, decided, replacing=etag)
        except RecordConflict:
            raise DecisionConflict(
                f"another decision on {key} (or a new inspection of it) was recorded first: nothing was "
                f"changed; see `inspector history {key}`"
            ) from None
        moved = decided.decisions[-1].moved_from is not None
        final, etag = self._finish(record_key, decided, etag)
        notified = final.decisions[-1].notified_at is not None
        return Outcome(key, final.decisions[-1], decided.destination or "", moved, notified, etag)

    def settle(self, key: str) -> ResultRecord:
        """Finish the last decision on `key` if a crash interrupted it (move, notification)."""
        current = self.record(key)
        record, _ = self._finish(self._record_key(key), current.record, current.etag)
        return record

    def _finish(self, record_key: str, record: ResultRecord, etag: str) -> tuple[ResultRecord, str]:
        if not record.decisions:
            return record, etag
        last = record.decisions[-1]
        destination = record.destination
        if last.moved_from is not None and destination is not None and last.moved_from != destination:
            self._move(last.moved_from, destination, last)
        if last.notified_at is None and self.notifier is not None:
            link = self.store.presign(destination or "", expires_in=self.link_expiry_seconds)
            self.notifier.publish(decisions.notification(record, link=link))
            record = decisions.notified(record, self._clock())
            # A conflict: changed meanwhile by the next decision, which read this one as not announced (at
            # worst it is announced twice, never lost). The decision itself stands.
            with contextlib.suppress(RecordConflict):
                etag = self.store.save_record(record_key, record, replacing=etag)
        self._redo_daily_copy(record)
        return record, etag

    def _redo_daily_copy(self, record: ResultRecord) -> None:
        """The record's daily copy, rewritten with its decisions; then its day's compaction undone. Only a
        record that has a daily copy gets one (none: the stack keeps none, or it predates them)."""
        if self.layout.daily_prefix is None:
            return
        key = self.layout.daily_key(record.image.key, record.inspected_at)
        try:
            found = self.store.head(key)
        except TransientError as exc:
            if not any(code in str(exc) for code in ("403", "AccessDenied", "Forbidden")):
                raise
            # A reviewer policy from before decisions reached the reports: the decision stands (the
            # record holds it); only Athena's report misses it until the policy is updated.
            log.warning("decision not copied to %s: %s (update the reviewer policy)", key, exc)
            return
        if found is None:
            return
        self.store.save_daily(key, record)
        if self.layout.compact_prefix is not None:
            day = record.inspected_at.astimezone(UTC).strftime("%Y-%m-%d")
            self.store.discard(compacted_marker_key(self.layout.compact_prefix, day))

    def _move(self, source: str, destination: str, decision: Decision) -> None:
        """Copy the filed image to `destination`, then delete it at `source`; idempotent."""
        found = self.store.head(source)
        if found is None:
            return  # moved already (by this decision, finished before or by someone else)
        metadata = {
            "inspector-verdict": decision.after.value,
            "inspector-decided-by": decision.who,
            "inspector-decided-at": decision.at.isoformat(),
        }
        try:
            self.store.copy(source, destination, info=found, metadata=metadata)
        except TransientError:
            if self.store.head(source) is None:
                return  # someone finished the move while we looked
            raise
        self.store.delete(source, etag=found.etag)

    def _record_key(self, key: str) -> str:
        try:
            return self.layout.record_key(key)
        except ValueError:
            raise DecisionRefused(
                f"{key!r} is not an image key: give the key it was uploaded under, e.g. "
                f"{self.layout.images_prefix}line-1/w1.jpg"
            ) from None


def _bare(etag: str) -> str:
    return etag.strip('"')
