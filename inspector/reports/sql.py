"""The report's SQL: one source (`report.sql`, DuckDB's dialect), carried to Trino (Athena) by sqlglot."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

Dialect = Literal["duckdb", "trino"]
SOURCE_DIALECT: Dialect = "duckdb"
QUERIES = ("verdicts", "subgroups", "reasons", "backlog", "agreement")
COMPACT = "compact"  # the query that writes a closed day's compacted file
TABLES = ("compacted", "daily")  # what `records` reads: the compacted closed days, the daily JSON copies
_SECTION = re.compile(r"^-- name: ([a-z_]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Params:
    """What a query is asked: the period [since, until) in UTC, one line or all, and the subgroup size."""

    since: datetime
    until: datetime
    line: str | None = None
    by: Literal["day", "hour"] = "day"

    def literals(self) -> dict[str, object]:
        return {
            "since": _iso(self.since),
            "until": _iso(self.until),
            "since_day": self.since.strftime("%Y-%m-%d"),
            # The day of the period's last instant: `until` itself is excluded.
            "until_day": (self.until - timedelta(microseconds=1)).strftime("%Y-%m-%d"),
            "line": self.line,
            "bucket_len": 10 if self.by == "day" else 13,
        }

    def days(self) -> list[date]:
        """Every UTC day the period touches, first to last."""
        first = self.since.date()
        last = (self.until - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _iso(moment: datetime) -> str:
    # Compared as text with the records' own ISO 8601 UTC timestamps ("2026-11-28T09:15:02.123456Z").
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@cache
def sections() -> dict[str, str]:
    """Every named section of `report.sql`, by name."""
    text = resources.files("inspector.reports").joinpath("report.sql").read_text(encoding="utf-8")
    names = _SECTION.findall(text)
    bodies = _SECTION.split(text)[2::2]
    return {name: body.strip() for name, body in zip(names, bodies, strict=True)}


def source(name: str) -> str:
    """The query `name` in the source dialect, with `records` and `base` prepended as CTEs (but to
    `compact`), placeholders kept."""
    parts = sections()
    if name == COMPACT:
        return _strip_comments(parts[name])
    if name not in QUERIES:
        raise ValueError(f"no query named {name!r}; the queries are {', '.join(QUERIES)}")
    return (
        f"WITH records AS (\n{_strip_comments(parts['records'])}\n),\n"
        f"base AS (\n{_strip_comments(parts['base'])}\n)\n{_strip_comments(parts[name])}"
    )


def render(
    name: str,
    dialect: Dialect,
    params: Params | None = None,
    *,
    tables: Mapping[str, str] | None = None,
    compacted: Collection[date] = (),
    day: date | None = None,
) -> str:
    """The query `name` for `dialect`, with the placeholders replaced by literals when `params` are given.

    `tables` names what `compacted` and `daily` are (e.g. `{"daily": '"db"."records"'}` on Athena);
    `compacted`, the days that have a compacted copy: the period's days among them are read from
    `compacted`, every other day from `daily`, so that a record never counts twice. `day`: the day the
    `compact` query merges.
    """
    renamed = tuple(sorted((k, v) for k, v in (tables or {}).items() if k in TABLES and v != k))
    text = _template(name, dialect, renamed)
    if params is None:
        return text
    literals = params.literals()
    done = set(compacted)
    days = params.days()
    literals["compacted_days"] = tuple(f"{d:%Y-%m-%d}" for d in days if d in done)
    literals["open_days"] = tuple(f"{d:%Y-%m-%d}" for d in days if d not in done)
    if day is not None:
        literals["day"] = f"{day:%Y-%m-%d}"

    def given(key: str) -> object:
        if key not in literals:
            raise ValueError(f"query {name} has a placeholder :{key} that Params does not give")
        return literals[key]

    def in_list(match: re.Match[str]) -> str:
        values = given(match.group(2))
        if not isinstance(values, tuple):
            return f"{match.group(1)} IN ({_literal(values)})"
        # `x IN ()` is no SQL: no day is read from that table.
        return f"{match.group(1)} IN ({', '.join(map(_literal, values))})" if values else "FALSE"

    text = _IN_PLACEHOLDER.sub(in_list, text)
    return _PLACEHOLDER.sub(lambda match: _literal(given(match.group(1))), text)


# A placeholder as sqlglot prints it: `$since` in DuckDB's dialect, `:since` in Trino's. The source's string
# literals hold neither character, so every match is a placeholder.
_PLACEHOLDER = re.compile(r"(?<![\w:$'])[:$]([a-z_]+)\b")
_IN_PLACEHOLDER = re.compile(r"(\w+) IN \(\s*[:$]([a-z_]+)\s*\)")


def _literal(value: object) -> str:
    """A SQL literal, the same in DuckDB and Trino: NULL, a number, or a string quoted with '' escapes."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        raise TypeError("no boolean placeholder")
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


@cache
def _template(name: str, dialect: Dialect, tables: tuple[tuple[str, str], ...]) -> str:
    """The query printed for `dialect` with its tables renamed, placeholders kept: made once per process
    (printing a tree takes longer than DuckDB takes to run most of the queries)."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot only when a report is made

    replacements = {k: exp.to_table(v, dialect=dialect) for k, v in tables}

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name in replacements and not node.db:
            return replacements[node.name].copy()
        return node

    # Trino's text is printed for people reading Athena's history; DuckDB's is not.
    return str(_parsed(name).transform(rename).sql(dialect=dialect, pretty=dialect == "trino"))


@cache
def _parsed(name: str) -> Any:
    from sqlglot import parse_one  # noqa: PLC0415

    return parse_one(source(name), read=SOURCE_DIALECT)


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
