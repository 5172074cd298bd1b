"""The record fields the report's SQL reads, as the Glue table declares them (Hive types, JSON SerDe).

`inspector.reports.engines.RECORD_COLUMNS` declares the same for DuckDB, and `COMPACT_COLUMNS` those of the
compacted days' Parquet files (`COMPACT_GLUE_COLUMNS` here); a test proves the types agree.
The JSON SerDe ignores every other field of a record, and a field a record lacks reads as NULL.
"""

from __future__ import annotations

GLUE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("image", "struct<key:string>"),
    ("verdict", "string"),
    ("inspected_at", "string"),
    ("line", "string"),
    ("findings", "array<struct<rule:string,kind:string,subject:string,outcome:string>>"),
    ("decisions", "array<struct<who:string,at:string,before:string,after:string,note:string>>"),
)

# The compacted days' table (Parquet, `compact/dt=.../records.parquet`): the `compact` query's columns.
COMPACT_GLUE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("line", "string"),
    ("image_key", "string"),
    ("verdict", "string"),
    ("inspected_at", "string"),
    ("findings", "array<struct<rule:string,kind:string,subject:string,outcome:string>>"),
    ("decided", "string"),
)
