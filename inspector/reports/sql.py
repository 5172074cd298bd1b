"""The report's SQL: one source (`report.sql`, DuckDB's dialect), carried to Trino (Athena) by sqlglot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Literal, cast

Dialect = Literal["duckdb", "trino"]
SOURCE_DIALECT: Dialect = "duckdb"
QUERIES = ("verdicts", "subgroups", "reasons", "backlog", "agreement")
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
    """The query `name` in the source dialect, with `base` prepended as a CTE, placeholders kept."""
    if name not in QUERIES:
        raise ValueError(f"no query named {name!r}; the queries are {', '.join(QUERIES)}")
    parts = sections()
    return f"WITH base AS (\n{_strip_comments(parts['base'])}\n)\n{_strip_comments(parts[name])}"


def render(name: str, dialect: Dialect, params: Params | None = None, *, table: str = "records") -> str:
    """The query `name` for `dialect`, reading `table` (e.g. `"db"."tbl"` on Athena), with the
    placeholders replaced by literals when `params` are given."""
    from sqlglot import exp, parse_one  # noqa: PLC0415 - sqlglot only when a report is made

    tree = parse_one(source(name), read=SOURCE_DIALECT)
    if table != "records":
        replacement = exp.to_table(table, dialect=dialect)
        tree = tree.transform(
            lambda node: (
                replacement.copy() if isinstance(node, exp.Table) and node.name == "records" else node
            )
        )
    if params is not None:
        literals = params.literals()

        def literal(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Placeholder) and node.name:
                if node.name not in literals:
                    raise ValueError(f"query {name} has a placeholder :{node.name} that Params does not give")
                value = literals[node.name]
                return exp.null() if value is None else cast("exp.Expression", exp.convert(value))
            return node

        tree = tree.transform(literal)
    return tree.sql(dialect=dialect, pretty=True)


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
