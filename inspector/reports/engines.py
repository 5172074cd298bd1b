"""Where the report's queries run: DuckDB over a folder of record files, or Athena over the Glue table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta
from datetime import time as midnight
from pathlib import Path
from typing import Any, Protocol

from inspector.errors import InspectorError
from inspector.reports.sql import Params, render

Row = dict[str, Any]

# The record fields the queries read, as DuckDB types; every other field of a record is left unread, and a
# field a record lacks (e.g. `decisions`, `line` in records written before them) reads as NULL. The Glue
# table (infra/reports.py, RECORD_COLUMNS) declares the same columns for Athena.
RECORD_COLUMNS: dict[str, str] = {
    "image": "STRUCT(key VARCHAR)",
    "verdict": "VARCHAR",
    "inspected_at": "VARCHAR",
    "line": "VARCHAR",
    "findings": "STRUCT(rule VARCHAR, kind VARCHAR, subject VARCHAR, outcome VARCHAR)[]",
    "decisions": 'STRUCT("who" VARCHAR, "at" VARCHAR, "before" VARCHAR, "after" VARCHAR, note VARCHAR)[]',
}


# The compacted table's columns (the `compact` query's), as DuckDB types; the Glue table of the compacted
# days (infra/reports.py, COMPACT_GLUE_COLUMNS) declares the same for Athena.
COMPACT_COLUMNS: dict[str, str] = {
    "line": "VARCHAR",
    "image_key": "VARCHAR",
    "verdict": "VARCHAR",
    "inspected_at": "VARCHAR",
    "findings": RECORD_COLUMNS["findings"],
    "decided": "VARCHAR",
}


# The same, as the JSON structure DuckDB's from_json reads a record into.
RECORD_STRUCTURE: dict[str, Any] = {
    "image": {"key": "VARCHAR"},
    "verdict": "VARCHAR",
    "inspected_at": "VARCHAR",
    "line": "VARCHAR",
    "findings": [{"rule": "VARCHAR", "kind": "VARCHAR", "subject": "VARCHAR", "outcome": "VARCHAR"}],
    "decisions": [
        {"who": "VARCHAR", "at": "VARCHAR", "before": "VARCHAR", "after": "VARCHAR", "note": "VARCHAR"}
    ],
}


class ReportQueryError(InspectorError):
    """A report's query could not run (bad records folder, a failed Athena query); the message says why."""


class Engine(Protocol):
    """Runs one of the report's named queries (`inspector.reports.sql.QUERIES`) and returns its rows."""

    name: str

    def query(self, name: str, params: Params) -> list[Row]: ...


class DuckDbEngine:
    """DuckDB over the records under a folder (searched recursively), in process: `*.json` files of one
    record each, `*.ndjson` files of one record a line (both the `daily` table), and `*.parquet` files of
    compacted days (`compacted`, as `write_compacted` writes them). A day with compacted records is read
    from them alone, so a folder holding both a day's Parquet and its JSON copies counts each record once.

    `read` is how many records were read; `skipped`, how many `.json` files were not records (None when
    there are `.ndjson` files, whose bad lines are skipped uncounted); `compacted`, the compacted days.
    """

    name = "duckdb"

    def __init__(self, folder: Path, *, threads: int | None = None) -> None:
        import duckdb  # noqa: PLC0415 - the reports extra; not in the Lambda bundle

        self.folder = folder
        self._con = duckdb.connect(":memory:")
        if threads is not None:
            self._con.execute(f"SET threads = {int(threads)}")
        documents = str(folder / "**" / "*.json")
        lines = str(folder / "**" / "*.ndjson")
        parquet = str(folder / "**" / "*.parquet")
        count = "SELECT COUNT(*) FROM glob(?)"
        self.files = int(self._con.execute(count, [documents]).fetchone()[0])  # type: ignore[index]
        line_files = int(self._con.execute(count, [lines]).fetchone()[0])  # type: ignore[index]
        parquet_files = int(self._con.execute(count, [parquet]).fetchone()[0])  # type: ignore[index]
        names = ", ".join(RECORD_COLUMNS)
        empty = _empty(RECORD_COLUMNS)
        sources = []
        if self.files:
            # A `.json` file holds one record (as under results/, indented): each is parsed on its own, so
            # one that is not JSON is skipped (`skipped`) rather than failing the report.
            sources.append(
                f"SELECT {names} FROM (SELECT r.* FROM (SELECT CASE WHEN json_valid(content) THEN "
                f"from_json(content, {_quote(json.dumps(RECORD_STRUCTURE))}) END AS r "
                f"FROM read_text({_quote(documents)})) WHERE r IS NOT NULL)"
            )
        if line_files:
            # A `.ndjson` file holds one record a line (as `fetch_records` writes them): only the report's
            # fields are read, with their types given (no sampling); bad lines are skipped.
            columns = "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in RECORD_COLUMNS.items()) + "}"
            sources.append(
                f"SELECT {names} FROM read_json({_quote(lines)}, columns = {columns}, "
                "format = 'newline_delimited', ignore_errors = true, maximum_object_size = 16777216)"
            )
        source = " UNION ALL ".join(f"({s})" for s in sources or [empty])
        # inspected_at in UTC, as the pipeline writes it ("...Z"); a time written with another offset is
        # converted (the conversion is the slow part, so times already in UTC are kept as they are).
        self._con.execute(
            "CREATE TEMP TABLE daily AS "
            "SELECT * REPLACE (utc AS inspected_at), SUBSTRING(utc, 1, 10) AS dt "
            "FROM (SELECT *, CASE WHEN inspected_at LIKE '%Z' THEN inspected_at ELSE "
            "strftime(CAST(inspected_at AS TIMESTAMPTZ) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') "
            f"END AS utc FROM ({source}) WHERE verdict IS NOT NULL AND inspected_at IS NOT NULL)"
        )
        compacted = (
            f"SELECT {', '.join(COMPACT_COLUMNS)} FROM read_parquet({_quote(parquet)}, "
            "hive_partitioning = false, union_by_name = true)"
            if parquet_files
            else _empty(COMPACT_COLUMNS)
        )
        # A view, not a table: Parquet is read column by column, only what each query needs (copying it
        # into a table would take longer than the five queries). `write_compacted` wrote times in UTC.
        self._con.execute(
            f"CREATE TEMP VIEW compacted AS SELECT *, SUBSTRING(inspected_at, 1, 10) AS dt FROM ({compacted})"
        )
        self.compacted: frozenset[date] = frozenset(
            date.fromisoformat(str(d))
            for (d,) in self._con.execute("SELECT DISTINCT dt FROM compacted").fetchall()
        )
        read = "SELECT (SELECT COUNT(*) FROM daily) + (SELECT COUNT(*) FROM compacted)"
        self.read = int(self._con.execute(read).fetchone()[0])  # type: ignore[index]
        self.skipped: int | None = (
            None
            if line_files
            else self.files
            - int(
                self._con.execute("SELECT COUNT(*) FROM daily").fetchone()[0]  # type: ignore[index]
            )
        )

    def query(self, name: str, params: Params) -> list[Row]:
        cursor = self._con.execute(render(name, "duckdb", params, compacted=self.compacted))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def write_compacted(self, path: Path, day: date) -> int:
        """Write the day's records (read from the JSON copies) to one Parquet file at `path`, as the
        `compact` query shapes them; returns how many."""
        since = datetime.combine(day, midnight(), UTC)
        params = Params(since=since, until=since + timedelta(days=1))
        sql = render("compact", "duckdb", params, day=day)
        self._con.execute(f"COPY ({sql}) TO {_quote(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        found = self._con.execute("SELECT COUNT(*) FROM read_parquet(?)", [str(path)]).fetchone()
        return int(found[0])  # type: ignore[index]

    def close(self) -> None:
        self._con.close()


class AthenaEngine:
    """Athena (Trino) over the Glue table of the daily record copies, in a workgroup of its own.

    The workgroup enforces its result location and encryption; `client` is a boto3 Athena client.
    """

    name = "athena"

    def __init__(
        self,
        client: Any,
        *,
        workgroup: str,
        database: str,
        table: str,
        compact_table: str | None = None,
        compacted: Callable[[], Collection[date]] | None = None,
        poll_seconds: float = 0.5,
        timeout_seconds: float = 300,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self.workgroup = workgroup
        self.database = database
        self.table = table
        self.compact_table = compact_table
        # The days whose compacted copy is complete (`inspector.reports.compact.compacted_days`), asked
        # once per report; without a compacted table every day is read from the daily copies.
        self._compacted = compacted if compact_table is not None else None
        self._days: frozenset[date] | None = None
        self._poll = poll_seconds
        self._timeout = timeout_seconds
        self._sleep = sleep
        self.scanned_bytes = 0  # over every query run, from Athena's statistics
        self.queries = 0

    def query(self, name: str, params: Params) -> list[Row]:
        tables = {"daily": f'"{self.database}"."{self.table}"'}
        # Without a compacted table no day is read from `compacted` (`WHERE FALSE`): it names the daily one.
        tables["compacted"] = f'"{self.database}"."{self.compact_table or self.table}"'
        if self._days is None:
            self._days = frozenset(self._compacted() if self._compacted is not None else ())
        sql = render(name, "trino", params, tables=tables, compacted=self._days)
        started = self._client.start_query_execution(
            QueryString=sql,
            WorkGroup=self.workgroup,
            QueryExecutionContext={"Database": self.database},
        )
        query_id = started["QueryExecutionId"]
        self.queries += 1
        waited = 0.0
        while True:
            execution = self._client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            state = execution["Status"]["State"]
            if state == "SUCCEEDED":
                self.scanned_bytes += int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
                break
            if state in {"FAILED", "CANCELLED"}:
                reason = execution["Status"].get("StateChangeReason", "no reason given")
                raise ReportQueryError(f"Athena query {name} ({query_id}) {state.lower()}: {reason}")
            if waited >= self._timeout:
                self._client.stop_query_execution(QueryExecutionId=query_id)
                raise ReportQueryError(f"Athena query {name} ({query_id}) took over {self._timeout:g} s")
            self._sleep(self._poll)
            waited += self._poll
        return _athena_rows(self._client, query_id)


def _athena_rows(client: Any, query_id: str) -> list[Row]:
    """Every row of a finished query, typed from the result set's column metadata."""
    rows: list[Row] = []
    names: list[str] = []
    types: list[str] = []
    first = True
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result = page["ResultSet"]
        if not names:
            info = result["ResultSetMetadata"]["ColumnInfo"]
            names = [c["Name"] for c in info]
            types = [c["Type"].lower() for c in info]
        for row in result["Rows"]:
            values = [cell.get("VarCharValue") for cell in row["Data"]]
            if first:  # a SELECT's first row repeats the column names
                first = False
                if values == names:
                    continue
            rows.append({n: _typed(v, t) for n, v, t in zip(names, values, types, strict=True)})
    return rows


def _typed(value: str | None, typ: str) -> Any:
    if value is None:
        return None
    if typ in {"bigint", "integer", "int", "smallint", "tinyint"}:
        return int(value)
    if typ in {"double", "float", "real", "decimal"}:
        return float(value)
    return value


def _empty(columns: dict[str, str]) -> str:
    """A relation with these columns and no rows."""
    return "SELECT " + ", ".join(f"NULL::{t} AS {n}" for n, t in columns.items()) + " LIMIT 0"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
