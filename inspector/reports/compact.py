"""Compaction: each closed day's JSON record copies merged into one Parquet file that DuckDB and Athena read.

Layout: `compact/dt=2026-11-28/records.parquet` (the report's columns only, zstd) and beside it the marker
`compact/dt=2026-11-28/_SUCCESS` (JSON: how many records, when). A day is read from its Parquet file only
while its marker exists, else from the daily copies, so a record is counted once: the marker is written
last, and deleted first by whatever changes a compacted day (a review decision rewrites the day's copy of
the record it decides, then deletes the marker; the next compaction merges the day again). Athena and
Hive skip files whose names start with `_`, so the marker is never read as data.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from inspector.reports.fetch import day_folders, fetch_records
from inspector.settings import compacted_marker_key

MARKER = "_SUCCESS"
PARQUET = "records.parquet"
RECHECK_DAYS = 14  # closed days re-counted for late copies (a DLQ redrive): SQS keeps a message 14 days
_DAY = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class Compacted:
    day: date
    records: int
    key: str


def marker_key(compact_prefix: str, day: date) -> str:
    return compacted_marker_key(compact_prefix, f"{day:%Y-%m-%d}")


def parquet_key(compact_prefix: str, day: date) -> str:
    return f"{compact_prefix}dt={day:%Y-%m-%d}/{PARQUET}"


def compacted_days(s3: Any, bucket: str, compact_prefix: str) -> dict[date, datetime]:
    """The days whose compacted file is complete (their marker exists), with the marker's time."""
    found: dict[date, datetime] = {}
    for item in _objects(s3, bucket, compact_prefix):
        match = _DAY.search(item["Key"])
        if match and item["Key"].endswith(f"/{MARKER}"):
            found[date.fromisoformat(match.group(1))] = item["LastModified"]
    return found


def compactable_days(
    s3: Any,
    bucket: str,
    daily_prefix: str,
    compact_prefix: str,
    *,
    now: datetime,
    recheck_days: int = RECHECK_DAYS,
) -> list[date]:
    """The closed days (before today, UTC) to compact: those with daily copies and no marker, and those of
    the last `recheck_days` whose copies changed since their marker (a copy written or rewritten later, or
    a different number of copies than the marker counted)."""
    today = now.astimezone(UTC).date()
    done = compacted_days(s3, bucket, compact_prefix)
    days = []
    for day, folder in sorted(day_folders(s3, bucket, daily_prefix).items()):
        if day >= today:
            continue
        if day not in done:
            days.append(day)
        elif day >= today - timedelta(days=recheck_days):
            copies = [o for o in _objects(s3, bucket, folder) if o["Key"].endswith(".json")]
            counted = _marker_count(s3, bucket, marker_key(compact_prefix, day))
            if counted != len(copies) or any(o["LastModified"] > done[day] for o in copies):
                days.append(day)
    return days


def compact_day(
    s3: Any,
    bucket: str,
    daily_prefix: str,
    compact_prefix: str,
    day: date,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Compacted:
    """Merge the day's daily copies into `compact/dt=<day>/records.parquet`, then write its marker.

    The marker goes first (a report meanwhile reads the day's JSON copies), the file, then the marker
    again with the count: a crash at any point leaves the day read from its copies, never twice.
    """
    from inspector.reports.engines import DuckDbEngine  # noqa: PLC0415 - DuckDB: the reports extra

    now = (clock or (lambda: datetime.now(UTC)))()
    marker = marker_key(compact_prefix, day)
    s3.delete_object(Bucket=bucket, Key=marker)
    with tempfile.TemporaryDirectory(prefix="inspector-compact-") as scratch:
        folder = Path(scratch) / "records"
        fetch_records(s3, bucket, f"{daily_prefix}dt={day:%Y-%m-%d}/", folder)
        engine = DuckDbEngine(folder)
        try:
            target = Path(scratch) / PARQUET
            records = engine.write_compacted(target, day)
        finally:
            engine.close()
        key = parquet_key(compact_prefix, day)
        s3.put_object(Bucket=bucket, Key=key, Body=target.read_bytes(), ContentType="application/x-parquet")
    body = json.dumps({"records": records, "compacted_at": now.isoformat()}).encode()
    s3.put_object(Bucket=bucket, Key=marker, Body=body, ContentType="application/json")
    return Compacted(day, records, key)


def uncompact(s3: Any, bucket: str, compact_prefix: str | None, day: date) -> None:
    """Stop reading a day from its compacted file (its copies changed): delete its marker."""
    if compact_prefix:
        s3.delete_object(Bucket=bucket, Key=marker_key(compact_prefix, day))


def _marker_count(s3: Any, bucket: str, key: str) -> int | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return int(json.loads(body)["records"])
    except Exception:  # noqa: BLE001 - an unreadable marker: compact the day again
        return None


def _objects(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", ())
