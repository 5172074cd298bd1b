"""`inspector enqueue --rejudge LINE`: bring a line's images back before the function, to judge them again.

For each of the line's result records judged under other criteria than the line's current ones:

- the image still waits under the images prefix (its message failed, or was never sent): an S3 event is
  sent for it, as `enqueue` does;
- the image is filed (`analyzed/...`): it is returned under the images prefix, where S3 announces it to
  the queue itself. The function finds its record (same key, same ETag: a server-side copy keeps the
  ETag of a single-part upload), judges it again from the stored analysis when that answers the new
  criteria (else with a new recognition), notifies, and files it under its new verdict.

Returning a filed image never leaves it nowhere, and never races the function for the filed copy:

    copy filed -> rejudging/<rest>   (outside the images prefix: nothing is announced yet)
    delete the filed copy            (If-Match: only the copy that was staged)
    copy rejudging/<rest> -> images/<rest>   (S3 announces it; the function takes over)
    delete rejudging/<rest>

At every step at least one copy exists; the filed copy is gone before the function can file the image
again under the same key (which, with the same bytes and so the same ETag, a conditional delete could not
tell apart). A run that stops half-way is resumed by running it again: an image found only under
`rejudging/` goes on from there. REJECTED records are left alone (no criteria judged them), and so is an
image that is archived in Glacier (restore it first), or whose key under the images prefix holds another
upload.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from inspector.analysis import Analysis
from inspector.aws import error_code, is_not_found
from inspector.commands import EXIT_OK, UserError, aws_client, parse_s3_uri, progress
from inspector.commands.backtest import read_records
from inspector.commands.criteria import recent_records
from inspector.engine import Verdict
from inspector.records import ResultRecord

if TYPE_CHECKING:
    from inspector.lines import Line
    from inspector.livecriteria.documents import CriteriaVersion, LineTable
    from inspector.livecriteria.store import CriteriaStore

EXIT_PARTIAL = 1
STAGING_PREFIX = "rejudging/"  # where a filed image waits between its filed place and the images prefix


@dataclass
class Plan:
    """What a re-judging run found and did."""

    counts: Counter[str] = field(default_factory=Counter)
    waiting: list[dict[str, Any]] = field(default_factory=list)  # still under the images prefix
    returned: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def rejudge(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.commands.enqueue import object_created_event, queue_url, send_all  # noqa: PLC0415

    bucket, prefix = parse_s3_uri(args.source)
    if prefix.strip("/"):
        raise UserError("with --rejudge, give the bucket alone (s3://BUCKET): the line says which images")
    s3 = aws_client(args, "s3")
    store, table, line, current = _open(args, bucket, s3)
    keys = recent_records(store, table, line, limit=sys.maxsize)
    plan = Plan()
    records = progress(read_records(s3, bucket, keys), total=len(keys), description="rejudge")
    for where, record in records:
        _one(
            s3,
            bucket,
            where=where,
            record=record,
            current=current.fingerprint,
            table=table,
            plan=plan,
            dry_run=args.dry_run,
        )
    counts = plan.counts
    judged_under = f"line {line.name!r}, criteria {current.fingerprint} (version {current.version})"
    if args.dry_run:
        out.write(
            f"would re-judge under {judged_under}: {counts['filed'] + counts['staged']} filed images to "
            f"return, {counts['waiting']} waiting images to announce; {_others(counts)}\n"
        )
        return EXIT_OK
    sent, failed = 0, list[tuple[str, str]]()
    if plan.waiting:
        sqs = aws_client(args, "sqs")
        region = args.region or s3.meta.region_name
        now = datetime.now(UTC)
        events = (
            object_created_event(bucket, item, region=region, partition=s3.meta.partition, now=now)
            for item in plan.waiting
        )
        sent, failed = send_all(sqs, queue_url(sqs, args.queue), iter(events))
    out.write(
        f"re-judging under {judged_under}: {len(plan.returned)} filed images returned under "
        f"{table.images_prefix} (S3 announces them), {sent} events sent for images still waiting; "
        f"{_others(counts)}\n"
    )
    plan.problems += [f"not sent: s3://{bucket}/{key}: {why}" for key, why in failed]
    for problem in plan.problems:
        print(f"inspector: {problem}", file=sys.stderr)
    return EXIT_PARTIAL if failed or counts["skipped"] or counts["missing"] else EXIT_OK


def _open(
    args: argparse.Namespace, bucket: str, s3: Any
) -> tuple[CriteriaStore, LineTable, Line, CriteriaVersion]:
    from inspector.livecriteria.documents import Layout, RefusedDocument  # noqa: PLC0415
    from inspector.livecriteria.store import CriteriaStore  # noqa: PLC0415

    store = CriteriaStore(bucket, s3, layout=Layout(args.criteria_prefix))
    try:
        table = store.line_table()
        if table is None:
            raise UserError(
                f"no criteria store in s3://{bucket}/{args.criteria_prefix} (lines.json is missing)"
            )
        line = table.table().named(args.rejudge)
        current = store.current(line.name)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    except RefusedDocument as exc:
        raise UserError(f"the line's current criteria are refused ({exc}): publish good ones first") from None
    if current is None:
        raise UserError(f"line {line.name!r} has no criteria in the store")
    for other in (table.images_prefix, table.analyzed_prefix, table.rejected_prefix, table.results_prefix):
        if STAGING_PREFIX.startswith(other) or other.startswith(STAGING_PREFIX):
            raise UserError(f"the bucket's prefix {other!r} overlaps {STAGING_PREFIX!r}, where images wait")
    return store, table, line, current


def _one(  # noqa: PLR0911 - one record's step of the run: each outcome counted where it is found
    s3: Any,
    bucket: str,
    *,
    where: str,
    record: ResultRecord | Analysis | str,
    current: str,
    table: LineTable,
    plan: Plan,
    dry_run: bool,
) -> None:
    counts = plan.counts
    if not isinstance(record, ResultRecord):
        counts["unreadable"] += 1
        plan.problems.append(
            f"{where}: {record if isinstance(record, str) else 'a saved analysis, no record'}"
        )
        return
    if record.criteria == current:
        counts["current"] += 1
        return
    if record.verdict is Verdict.REJECTED:
        counts["rejected"] += 1
        return
    found = _place(s3, bucket, record, table.images_prefix)
    if found is None:
        counts["missing"] += 1
        plan.problems.append(f"{record.image.key}: neither under the images prefix, nor filed, nor staged")
        return
    kind, item = found
    counts[kind] += 1
    if dry_run:
        return
    if kind == "waiting":
        plan.waiting.append(item)
        return
    try:
        _return(s3, bucket, record, source=str(item["Key"]), stage=_staged(record, table.images_prefix))
    except _Skip as exc:
        counts[kind] -= 1
        counts["skipped"] += 1
        plan.problems.append(f"{record.image.key}: {exc}")
        return
    plan.returned.append(record.image.key)


def _others(counts: Counter[str]) -> str:
    return (
        f"{counts['current']} already judged under these criteria, {counts['rejected']} REJECTED left "
        f"as they are, {counts['skipped'] + counts['missing'] + counts['unreadable']} not re-judged"
    )


class _Skip(Exception):
    """This image cannot be returned now; the message says why."""


def _place(
    s3: Any, bucket: str, record: ResultRecord, images_prefix: str
) -> tuple[str, dict[str, Any]] | None:
    """Where the inspected version is now: ("waiting", ...) under the images prefix, ("filed", ...) at its
    destination, ("staged", ...) under rejudging/; as a ListObjectsV2-like entry."""
    etag = (record.image.etag or "").strip('"')
    candidates = [("waiting", record.image.key)]
    if record.destination:
        candidates.append(("filed", record.destination))
    candidates.append(("staged", _staged(record, images_prefix)))
    for kind, key in candidates:
        head = _head(s3, bucket, key)
        if head is not None and str(head["ETag"]).strip('"') == etag:
            item = {"Key": key, "Size": head.get("ContentLength", 0), "ETag": head["ETag"]}
            return kind, {**item, "LastModified": head.get("LastModified")}
    return None


def _staged(record: ResultRecord, images_prefix: str) -> str:
    return STAGING_PREFIX + record.image.key.removeprefix(images_prefix)


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        response: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    return response


def _return(s3: Any, bucket: str, record: ResultRecord, *, source: str, stage: str) -> None:
    """Filed (or staged) -> staged -> images prefix, each copy made before its source is deleted."""
    etag = (record.image.etag or "").strip('"')
    target = record.image.key
    if _head(s3, bucket, target) is not None:
        raise _Skip(f"another upload waits at {target}: left as it is")
    if source != stage:
        _copy(s3, bucket, source, stage, etag)
        _delete(s3, bucket, source, etag)
    _copy(s3, bucket, stage, target, etag)
    _delete(s3, bucket, stage, etag)


def _copy(s3: Any, bucket: str, source: str, target: str, etag: str) -> None:
    try:
        s3.copy_object(
            Bucket=bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": source},
            CopySourceIfMatch=etag,
            MetadataDirective="COPY",
        )
    except Exception as exc:
        if error_code(exc) == "InvalidObjectState":
            raise _Skip(f"{source} is archived (Glacier): restore it first, then run this again") from None
        if error_code(exc) in {"412", "PreconditionFailed"}:
            raise _Skip(f"{source} changed since its record was written: left as it is") from None
        raise


def _delete(s3: Any, bucket: str, key: str, etag: str) -> None:
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except Exception as exc:
        if error_code(exc) in {"412", "PreconditionFailed"} or is_not_found(exc):
            return  # changed or gone since: its copy is made, nothing is lost
        raise
