"""Bring result records from S3 to a local folder, for DuckDB (which reads no S3 here: no httpfs)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

WORKERS = 16  # concurrent GETs: records are small, so fetching many is latency-bound
PART_SIZE = 5000  # records per newline-delimited file
_DAY_FOLDER = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/$")


def fetch_records(
    s3: Any,
    bucket: str,
    prefix: str,
    dest: Path,
    *,
    days: tuple[date, date] | None = None,
    skip: Collection[date] = (),
) -> int:
    """Download every `.json` object under `prefix` into `dest` as newline-delimited JSON files (one record
    a line, `part-00000.ndjson`, ...: DuckDB reads a few large files far faster than many small ones);
    returns how many objects were fetched.

    When `prefix` holds day folders (`dt=YYYY-MM-DD/`, the pipeline's daily copies) and `days` (first,
    last) is given, only the folders of those days are listed and fetched, but those in `skip` (days
    read from their compacted file instead: `fetch_compacted`).
    """
    prefixes = [prefix]
    if days is not None:
        found = day_folders(s3, bucket, prefix)
        if found:
            first, last = days
            prefixes = [p for d, p in sorted(found.items()) if first <= d <= last and d not in skip]
    keys = [key for p in prefixes for key in _keys(s3, bucket, p) if key.endswith(".json")]

    def get(key: str) -> bytes:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return _one_line(body)

    dest.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(WORKERS) as pool:
        for part, start in enumerate(range(0, len(keys), PART_SIZE)):
            bodies = pool.map(get, keys[start : start + PART_SIZE])
            with (dest / f"part-{part:05d}.ndjson").open("wb") as out:
                for body in bodies:
                    out.write(body + b"\n")
    return len(keys)


def _one_line(body: bytes) -> bytes:
    """The record on one line: the daily copies already are; `results/` records are indented."""
    body = body.strip()
    if b"\n" not in body:
        return body
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    except ValueError:
        return body.replace(b"\n", b" ")  # not JSON: one bad line, which the reader skips


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", ()))
    return keys


def fetch_compacted(
    s3: Any, bucket: str, compact_prefix: str, dest: Path, *, days: tuple[date, date]
) -> set[date]:
    """Download the compacted file of every day from `days[0]` to `days[1]` whose marker says it is
    complete (`inspector.reports.compact`), into `dest/compact/dt=<day>/`; returns those days."""
    from inspector.reports.compact import compacted_days, parquet_key  # noqa: PLC0415

    first, last = days
    found = {d for d in compacted_days(s3, bucket, compact_prefix) if first <= d <= last}
    for day in found:
        target = dest / "compact" / f"dt={day:%Y-%m-%d}" / "records.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, parquet_key(compact_prefix, day), str(target))
    return found


def day_folders(s3: Any, bucket: str, prefix: str) -> dict[date, str]:
    found: dict[date, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", ()):
            match = _DAY_FOLDER.search(common["Prefix"])
            if match:
                found[date.fromisoformat(match.group(1))] = common["Prefix"]
    return found
