"""Bring result records from S3 to a local folder, for DuckDB (which reads no S3 here: no httpfs)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

WORKERS = 16  # concurrent GETs: records are small, so fetching many is latency-bound
_DAY_FOLDER = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/$")


def fetch_records(
    s3: Any, bucket: str, prefix: str, dest: Path, *, days: tuple[date, date] | None = None
) -> int:
    """Download every `.json` object under `prefix` into `dest`, keeping the keys' paths; returns the count.

    When `prefix` holds day folders (`dt=YYYY-MM-DD/`, the pipeline's daily copies) and `days` (first,
    last) is given, only the folders of those days are listed and fetched.
    """
    prefixes = [prefix]
    if days is not None:
        found = _day_folders(s3, bucket, prefix)
        if found:
            first, last = days
            prefixes = [p for d, p in found.items() if first <= d <= last]
    keys = [key for p in prefixes for key in _keys(s3, bucket, p) if key.endswith(".json")]

    def get(key: str) -> None:
        target = dest / key[len(prefix) :].lstrip("/")
        if not target.resolve().is_relative_to(dest.resolve()):
            return  # a key with ".." would land outside the folder: never written
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(get, keys))
    return len(keys)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", ()))
    return keys


def _day_folders(s3: Any, bucket: str, prefix: str) -> dict[date, str]:
    found: dict[date, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes", ()):
            match = _DAY_FOLDER.search(common["Prefix"])
            if match:
                found[date.fromisoformat(match.group(1))] = common["Prefix"]
    return found


def days_of(since: date, until_inclusive: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until_inclusive - since).days + 1)]
