"""One object's inspection, in an order that cannot lose an image.

    peek -> (result record for this version? resume) -> cheap checks -> detect -> evaluate
    -> (FAIL or REVIEW: write the evidence image) -> write the result record -> notify
    -> record the notification -> copy to the destination
    -> (remove the superseded copy, see below) -> write the record's daily copy (when a daily prefix is
    set; for reports) -> delete the original (only if it is still the inspected version)

The daily copy (`daily/dt=<UTC day>/<key>.json`, one line of JSON: what the reports' Athena table reads)
is written on every pass that reaches the delete, resumed ones included, with the same bytes each time:
so an original is never deleted before its record's daily copy exists, and a crash before it is repaired by
redelivery like every other step.

The evidence image is written before the record that names it, and the same again on a retry, so a
crash between the two leaves an unnamed image that the retry overwrites; it is never deleted.

Every step before the delete leaves the original under the images prefix, so a crash anywhere is
repaired by redelivery, which resumes from the result record: no second recognition for the same object
version (key + eTag), no second email once the record says it was sent.

The copy is made only once the record says the image was notified, and no copy is ever removed. The
other order (copy, then notify) would leave a copy beside the original whenever the notification fails,
and taking it back is not safe: another container may hold the same image at once (S3 announces an upload
more than once), may have made the same copy (same key, same bytes, same ETag: no conditional delete can
tell the two apart) and deleted the original on the strength of it. Here the original is deleted only by
an inspection whose own copy has just succeeded.

The containers meet at the result record, whose every write names the ETag its writer last saw
(`If-Match`, or `If-None-Match: *` for the first): the one that loses (`RecordConflict`, transient) stops
and is retried, resuming from the winner's record. So a second container neither recognizes the image
again nor overwrites a finished record with an unfinished one.

A new upload under a key already inspected (new bytes, or the same bytes as a new S3 version) is a new
inspection: its record replaces the latest one at `results/<key>.json` (the bucket is versioned, so the
replaced record stays as a noncurrent version: the key's history, `inspector.review.history`), and it
names the earlier version's filed copy in `supersedes`. That copy is removed once this version's own copy
is filed and before the original is deleted:

    ... -> copy to the destination -> remove the superseded copy (if elsewhere) -> delete the original

so the filed images never keep two copies of one key that disagree with its record (a PASS beside a
FAIL). A crash before the original's delete is finished by redelivery, which resumes and removes it; the
removal is a delete marker on the versioned bucket, so the earlier version's copy stays as a noncurrent
version beside its own record in the history. It is removed only if it is not this inspection's own copy
(`inspector-inspected-at` metadata) and only as it was just seen (`If-Match`).

Each image belongs to a product line (`inspector.lines`, by its key below the images prefix), judged by
that line's detectors under that line's current criteria. A record of this very version judged under other
criteria is judged again (`rejudged`): from its stored analysis when that analysis holds everything the
new criteria ask for (`DetectionRequest.covers`, same detectors), else with a new recognition; then it is
notified and filed as a first inspection would be, in the same order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from inspector.constants import REKOGNITION_MAX_S3_OBJECT_BYTES
from inspector.criteria import Criteria, DetectionRequest
from inspector.detectors import LabelDetector
from inspector.engine import Verdict, evaluate
from inspector.errors import ImageRejected
from inspector.events import ObjectRef
from inspector.formats import (
    HEAD_BYTES,
    TAIL_BYTES,
    TAIL_WIDE_BYTES,
    jpeg_header_end,
    require_end,
    require_image,
)
from inspector.lines import Line
from inspector.notification import Notification, compose
from inspector.observability import Metrics
from inspector.records import ResultRecord
from inspector.settings import Settings
from inspector.storage import ObjectInfo, StoredRecord

log = logging.getLogger("inspector.pipeline")
# The filed copy's metadata naming the inspected upload's ETag and when it was judged (x-amz-meta-...).
ETAG_METADATA = "inspector-etag"
INSPECTED_AT_METADATA = "inspector-inspected-at"


class Store(Protocol):
    """The storage an `Inspector` needs; `inspector.storage.S3Store` is the S3 one."""

    def head(self, key: str) -> ObjectInfo | None: ...
    def peek(self, key: str, *, length: int) -> ObjectInfo | None:
        """`head`'s answer with the object's first `length` bytes (all of a shorter one) in `start`."""
        ...

    def read_end(self, key: str, *, etag: str, length: int = ...) -> bytes: ...
    def load_record(self, key: str) -> StoredRecord | None: ...
    def save_record(self, key: str, record: ResultRecord, *, replacing: str | None) -> str: ...
    def copy(self, source: str, destination: str, *, info: ObjectInfo, metadata: dict[str, str]) -> None: ...
    def save_daily(self, key: str, record: ResultRecord) -> None: ...
    def delete(self, key: str, *, etag: str) -> bool: ...
    def presign(self, key: str, *, expires_in: int) -> str | None: ...


class EvidenceWriter(Protocol):
    """Writes a FAIL or REVIEW record's evidence image (`inspector.evidence.Evidence`); returns its key."""

    def write(self, key: str, evidence_key: str, etag: str, record: ResultRecord) -> str | None: ...


class Notifier(Protocol):
    def publish(self, notification: Notification) -> str: ...


class CriteriaSource(Protocol):
    """Where a line's current criteria come from: fixed in the settings, or the live store's cache."""

    def current(self, line: Line) -> Criteria: ...

    def version(self, line: Line) -> int | None:
        """The version of the line's criteria in effect here (None when they are not versioned)."""
        ...


class SettingsCriteria:
    """Each line's criteria as the settings fix them (`INSPECTOR_CRITERIA`, `INSPECTOR_LINES`)."""

    def current(self, line: Line) -> Criteria:
        if line.criteria is None:
            raise ValueError(
                f"line {line.name!r} has no criteria in the settings, and no criteria source was given"
            )
        return line.criteria

    def version(self, line: Line) -> int | None:
        return None


class Status(StrEnum):
    INSPECTED = "inspected"  # judged now, filed and notified
    RESUMED = "resumed"  # this version had a result record: only what was left was done
    REJUDGED = "rejudged"  # this version had a record under other criteria: judged again from its analysis
    # This very content was inspected, notified and filed before (the same bytes uploaded again under the
    # same key): nothing was left to do but remove the upload, which is said, not done silently.
    ALREADY_INSPECTED = "already-inspected"
    GONE = "gone"  # the object no longer exists: nothing to do


class Inspection(NamedTuple):
    """What happened to one object."""

    key: str
    status: Status
    verdict: Verdict | None
    destination: str | None
    record_key: str
    notified: bool = False  # a notification was published by this call
    original_deleted: bool = False
    line: str = "default"


class KeyedLocks:
    """One lock per key, made on demand and dropped when no thread holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


class Inspector:
    """Inspects objects; safe to call from many threads.

    Two inspections of the same key in one container (S3 delivers an event twice, and both copies land in
    one batch) run one after the other, so the second resumes from the first's record instead of paying
    for a second recognition and sending a second email.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        detector: LabelDetector | Callable[[Line], LabelDetector],
        notifier: Notifier,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] | None = None,
        criteria: CriteriaSource | None = None,
        evidence: EvidenceWriter | None = None,
    ) -> None:
        """`detector` judges every line, or is a function giving each line's (built once per line by the
        caller); `criteria` gives each line's current criteria (default: the settings' own, fixed)."""
        self.settings = settings
        self.store = store
        self.detector = detector
        self.notifier = notifier
        self.metrics = metrics
        self.criteria: CriteriaSource = criteria or SettingsCriteria()
        self.lines = settings.line_table
        self.evidence = evidence
        self._clock = clock or (lambda: datetime.now(UTC))
        self._keys = KeyedLocks()

    def detector_for(self, line: Line) -> LabelDetector:
        """The detector (several merged, or one) that judges the line's images."""
        if isinstance(self.detector, LabelDetector):
            return self.detector
        return self.detector(line)

    def inspect(self, ref: ObjectRef) -> Inspection:
        """Bring one object to its terminal place. Raises `TransientError` when a step must be retried."""
        with self._keys.hold(ref.key):
            return self._inspect(ref)

    def _inspect(self, ref: ObjectRef) -> Inspection:
        key = ref.key
        record_key = self.settings.record_key(key)
        line = self.lines.for_key(self.settings.relative(key))
        # HEAD's facts and the bytes the cheap checks sniff, in one request (`_check` reads them).
        info = self.store.peek(key, length=HEAD_BYTES)
        stored = self.store.load_record(record_key)
        # The record's ETag: each write of the record names the one it replaces (see the module's docstring).
        record, etag = (stored.record, stored.etag) if stored is not None else (None, None)
        if info is None:
            log.info(
                "object is gone; nothing to do",
                extra={"key": key, "result_exists": etag is not None, "record_key": record_key},
            )
            return Inspection(
                key, Status.GONE, record.verdict if record else None, None, record_key, line=line.name
            )

        record, etag, status = self._record_for(
            ref, info, record=record, etag=etag, line=line, record_key=record_key
        )

        # A person's decision re-files the image (inspector.review): the record's destination follows it.
        destination = record.destination or self.settings.destination(key, record.verdict)
        notified = False
        if record.notified_at is not None and status is Status.RESUMED and _uploaded_again(record, info):
            status = Status.ALREADY_INSPECTED  # unless the copy turns out to be missing, below
        if record.notified_at is None:
            expiry = self.settings.link_expiry_seconds
            link = self.store.presign(destination, expires_in=expiry)
            evidence_link = (
                self.store.presign(record.evidence, expires_in=expiry) if record.evidence else None
            )
            record = record.model_copy(update={"destination": destination})
            self.notifier.publish(
                compose(record, link=link, link_expiry_seconds=expiry, evidence_link=evidence_link)
            )
            notified = True
            record = record.model_copy(update={"notified_at": self._clock()})
            self.store.save_record(record_key, record, replacing=etag)
            self.store.copy(key, destination, info=info, metadata=self._metadata(record))
        elif self.store.head(destination) is None:
            # Notified before, and the copy is not there: never made (a failure or a crash after the
            # record's save), removed since, or filed under other prefixes. File it before the original goes.
            log.info("filing the copy", extra={"key": key, "to": destination})
            self.store.copy(key, destination, info=info, metadata=self._metadata(record))
            status = Status.RESUMED
        self._retire_superseded(record, destination)

        if self.settings.daily_prefix is not None:
            self.store.save_daily(self.settings.daily_key(key, record.inspected_at), record)
        deleted = self.store.delete(key, etag=info.etag)
        if not deleted:
            log.warning(
                "original was replaced or removed during the inspection; left as it is",
                extra={"key": key, "verdict": record.verdict},
            )
        self._tell(key, status, record, destination, line)
        return Inspection(key, status, record.verdict, destination, record_key, notified, deleted, line.name)

    def _tell(self, key: str, status: Status, record: ResultRecord, destination: str, line: Line) -> None:
        """The metrics and log lines of one finished inspection."""
        if self.metrics is not None and status in (Status.INSPECTED, Status.REJUDGED):
            self.metrics.count(
                "Images", dimension="Verdict", value=record.verdict.value, also={"Line": line.name}
            )
        if status is Status.ALREADY_INSPECTED:
            if self.metrics is not None:
                self.metrics.count("AlreadyInspected", dimension="Verdict", value=record.verdict.value)
            log.info(
                already_inspected(record.verdict.value, destination),
                extra={"key": key, "verdict": record.verdict, "destination": destination},
            )
        log.info(
            "inspected",
            extra={
                "key": key,
                "verdict": record.verdict,
                "destination": destination,
                "status": status,
                "line": line.name,
            },
        )

    def _judged_before(self, record: ResultRecord, line: Line, criteria: Criteria) -> bool:
        """Whether the record was judged under criteria older than the line's current ones.

        Not when this container's criteria are the older ones: during a refresh interval another container
        may already judge by a newer version, and judging its record back would flip it to and fro.
        """
        if record.criteria == criteria.fingerprint:
            return False
        mine = self.criteria.version(line)
        return (
            record.line != line.name
            or record.criteria_version is None
            or mine is None
            or (record.criteria_version < mine)
        )

    def _rejudge(
        self, ref: ObjectRef, info: ObjectInfo, record: ResultRecord, line: Line, criteria: Criteria
    ) -> tuple[ResultRecord, Status]:
        """This version, judged before under other criteria, judged under `criteria`: from the stored
        analysis when it answers everything they ask, else with a new recognition."""
        request = criteria.detection_request()
        detector = self.detector_for(line)
        answers = (
            record.analysis is not None
            and record.request is not None
            and record.detector == detector.name
            and record.request.covers(request)
        )
        log.info(
            "judging again under new criteria",
            extra={"key": ref.key, "line": line.name, "was": record.criteria, "now": criteria.fingerprint,
                   "from_stored_analysis": answers},
        )  # fmt: skip
        if not answers or record.analysis is None:
            return self._judge(ref, info, line, criteria), Status.INSPECTED
        evaluation = evaluate(record.analysis, criteria)
        # The version judged now: a returned image is a new S3 version of the same bytes.
        image = record.image.model_copy(
            update={
                "version_id": info.version_id or record.image.version_id,
                "event_time": info.last_modified or record.image.event_time,
            }
        )
        judged = ResultRecord.judged(
            image,
            record.analysis,
            evaluation,
            inspected_at=self._clock(),
            detector=record.detector,
            line=line.name,
            request=record.request,
        )
        update = {
            "rejudged_from": record.criteria,
            "criteria_version": self.criteria.version(line),
            # Its filed copy, if still there, gives way to the one filed under the new verdict.
            "supersedes": record.destination if record.notified_at is not None else None,
        }
        return judged.model_copy(update=update), Status.REJUDGED

    def _record_for(
        self,
        ref: ObjectRef,
        info: ObjectInfo,
        *,
        record: ResultRecord | None,
        etag: str | None,
        line: Line,
        record_key: str,
    ) -> tuple[ResultRecord, str | None, Status]:
        """The record to finish from: the stored one (resumed), one judged again, or a new inspection's."""
        key = ref.key
        criteria = self.criteria.current(line)
        if record is not None and (_same_upload(record, key, info) or _returned(record, key, info)):
            if record.verdict is Verdict.REJECTED or not self._judged_before(record, line, criteria):
                status = Status.RESUMED
                log.info("resuming from the result record", extra={"key": key, "verdict": record.verdict})
            else:
                record, status = self._rejudge(ref, info, record, line, criteria)
                if self.evidence is not None:
                    evidence = self.evidence.write(key, self.settings.evidence_key(key), info.etag, record)
                    record = record.model_copy(update={"evidence": evidence})
                etag = self.store.save_record(record_key, record, replacing=etag)
        else:
            status = Status.INSPECTED
            earlier = record.destination if record is not None and record.notified_at is not None else None
            record = self._judge(ref, info, line, criteria)
            if self.evidence is not None:
                # Written before the record names it, and rewritten alike on a retry: idempotent.
                evidence = self.evidence.write(key, self.settings.evidence_key(key), info.etag, record)
                record = record.model_copy(update={"evidence": evidence})
            if earlier is not None:
                record = record.model_copy(update={"supersedes": earlier})
            # Replaces any earlier record (another version's, or one this version cannot read) only if it
            # is still the one read above.
            etag = self.store.save_record(record_key, record, replacing=etag)
        return record, etag, status

    def _retire_superseded(self, record: ResultRecord, destination: str) -> None:
        """Remove the earlier version's filed copy once this version's is filed (see the module docstring)."""
        earlier = record.supersedes
        if earlier is None or earlier == destination:
            return  # none, or this version's copy replaced it in place (a noncurrent version now)
        found = self.store.head(earlier)
        # This inspection's own copy (a decision may have moved it there) is identified by when it was
        # judged: the same bytes uploaded again share the ETag, not the inspection.
        if found is None or found.metadata.get(INSPECTED_AT_METADATA) == record.inspected_at.isoformat():
            return
        if self.store.delete(earlier, etag=found.etag):
            log.info("removed the superseded copy", extra={"key": record.image.key, "copy": earlier})

    def _judge(self, ref: ObjectRef, info: ObjectInfo, line: Line, criteria: Criteria) -> ResultRecord:
        # The facts of the version inspected, as S3 gave them with its first bytes (`peek`): when the object
        # was overwritten before this ran (the event announced another version), nothing of that event's
        # version stays in the record.
        same_version = ref.etag is not None and _bare(ref.etag) == _bare(info.etag)
        image = ref.model_copy(
            update={
                "etag": _bare(info.etag),
                "size": info.size,
                "version_id": info.version_id or (ref.version_id if same_version else None),
                "event_time": info.last_modified or (ref.event_time if same_version else None),
                "sequencer": ref.sequencer if same_version else None,
            }
        )
        if not same_version and ref.etag is not None:
            log.info(
                "the object was overwritten since its event: inspecting the version there now",
                extra={"key": ref.key, "event_etag": ref.etag, "etag": _bare(info.etag)},
            )
        now = self._clock()
        detector = self.detector_for(line)
        request: DetectionRequest = criteria.detection_request()
        try:
            self._check(ref.key, info)
            started = time.perf_counter()
            analysis = detector.detect(image, request)
            if self.metrics is not None:
                self.metrics.timing("RecognitionLatency", (time.perf_counter() - started) * 1000)
        except ImageRejected as exc:
            log.info("rejected", extra={"key": ref.key, "reason": exc.reason, "line": line.name})
            rejected = ResultRecord.rejected(
                image,
                exc.reason,
                criteria=criteria.fingerprint,
                inspected_at=now,
                detector=detector.name,
                line=line.name,
            )
            return rejected.model_copy(update={"criteria_version": self.criteria.version(line)})
        evaluation = evaluate(analysis, criteria)
        judged = ResultRecord.judged(
            image,
            analysis,
            evaluation,
            inspected_at=now,
            detector=detector.name,
            line=line.name,
            request=request,
        )
        return judged.model_copy(update={"criteria_version": self.criteria.version(line)})

    def _check(self, key: str, info: ObjectInfo) -> None:
        """Refuse what recognition would refuse, before paying for it."""
        if info.size == 0:
            raise ImageRejected("empty file (0 bytes)")
        if info.size > REKOGNITION_MAX_S3_OBJECT_BYTES:
            raise ImageRejected(
                f"file is {info.size:,} bytes; Rekognition reads at most "
                f"{REKOGNITION_MAX_S3_OBJECT_BYTES:,} bytes (15 MiB) from S3"
            )
        head = info.start  # its first HEAD_BYTES, read with the facts above (`_inspect`'s peek)
        sniffed = require_image(head)
        header_end = jpeg_header_end(head) if sniffed.format == "JPEG" else 0
        if info.size <= len(head):  # the whole file was read
            require_end(sniffed.format, head, size=info.size, header_end=header_end)
            return
        tail = self.store.read_end(key, etag=info.etag, length=TAIL_BYTES)
        require_end(
            sniffed.format,
            tail,
            wider=lambda: self.store.read_end(key, etag=info.etag, length=min(TAIL_WIDE_BYTES, info.size)),
            size=info.size,
            header_end=header_end,
        )

    @staticmethod
    def _metadata(record: ResultRecord) -> dict[str, str]:
        return {
            "inspector-verdict": record.verdict.value,
            "inspector-criteria": record.criteria,
            INSPECTED_AT_METADATA: record.inspected_at.isoformat(),
            ETAG_METADATA: _bare(record.image.etag),
        }


def _uploaded_again(record: ResultRecord, info: ObjectInfo) -> bool:
    """This version is newer than the one the record was made for, with the same content: the same bytes
    uploaded again (not a redelivery, which finds the very version the record describes)."""
    before = record.image.event_time
    return info.last_modified is not None and before is not None and info.last_modified > before


def already_inspected(verdict: str, destination: str) -> str:
    """What an upload of content already inspected under its key is told: one sentence, everywhere."""
    return f"already inspected: same content, verdict {verdict}, filed at {destination}"


def _same_upload(record: ResultRecord, key: str, info: ObjectInfo) -> bool:
    """Whether `record` is of the very upload the peek sees: same key and bytes, and same S3 version when
    both are known (on a versioned bucket the same bytes uploaded again are a new upload)."""
    if record.image.key != key or _bare(record.image.etag) != _bare(info.etag):
        return False
    known = record.image.version_id, info.version_id
    return None in known or known[0] == known[1]


def _returned(record: ResultRecord, key: str, info: ObjectInfo) -> bool:
    """Whether the object is the recorded upload's filed copy, returned under its key to be judged again
    (`inspector enqueue --rejudge`): the same bytes, carrying the metadata of the inspection that filed
    it. On a versioned bucket its S3 version is new, but it is no new upload."""
    return (
        record.image.key == key
        and _bare(record.image.etag) == _bare(info.etag)
        and info.metadata.get(INSPECTED_AT_METADATA) == record.inspected_at.isoformat()
    )


def _bare(etag: str | None) -> str:
    """ETags come quoted from S3 (HEAD, GET) and bare in events: compare them bare."""
    return (etag or "").strip('"')
