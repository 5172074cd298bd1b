"""One SQL source, two engines: every query parses in DuckDB's and Trino's dialects and means the same.

What is proved here, without Athena: (1) each query, carried to Trino by sqlglot, parses as Trino and
resolves every column against the Glue table's schema (sqlglot's qualifier, Trino dialect); (2) that Trino
text, read back by sqlglot as Trino and run on DuckDB, gives the same rows as the source query on the same
records; (3) the DuckDB and Glue column types are the same types. What is not: Athena itself running it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from inspector.reports.engines import COMPACT_COLUMNS, RECORD_COLUMNS, DuckDbEngine
from inspector.reports.schema import COMPACT_GLUE_COLUMNS, GLUE_COLUMNS
from inspector.reports.sql import QUERIES, Params, render, sections, source
from inspector.testing import record_document

PARAMS = Params(since=datetime(2026, 11, 20, tzinfo=UTC), until=datetime(2026, 11, 27, tzinfo=UTC))


def write_records(folder: Path) -> None:
    verdicts = ["PASS", "PASS", "FAIL", "REVIEW", "PASS", "REJECTED", "FAIL", "REVIEW", "PASS"]
    for i in range(90):
        verdict = verdicts[i % len(verdicts)]
        decisions = [(verdict, "PASS")] if verdict == "REVIEW" and i % 2 else []
        if verdict == "FAIL" and i % 3 == 0:
            decisions = [("FAIL", "PASS"), ("PASS", "FAIL")]
        document = record_document(
            f"images/line-{i % 3}/w{i}.jpg",
            verdict,
            f"2026-11-{19 + i % 9:02d}T{i % 24:02d}:30:00+00:00",
            line=f"line-{i % 3}" if i % 3 else None,
            cause=i,
            decisions=decisions,
        )
        (folder / f"w{i}.jpg.json").write_text(json.dumps(document))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DuckDbEngine:
    folder: Path = tmp_path_factory.mktemp("records")
    write_records(folder)
    return DuckDbEngine(folder)


# Days of the records compacted in `mixed`: inside the period, its first day, and one before it.
COMPACTED = (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> DuckDbEngine:
    """The same records, some days compacted into Parquet, every JSON copy kept beside them (as in the
    bucket, where compaction deletes no copy)."""
    folder: Path = tmp_path_factory.mktemp("mixed")
    write_records(folder)
    source = DuckDbEngine(folder)
    for day in COMPACTED:
        target = folder / "compact" / f"dt={day}" / "records.parquet"
        target.parent.mkdir(parents=True)
        assert source.write_compacted(target, day) > 0
    source.close()
    return DuckDbEngine(folder)


def test_the_source_has_every_query_and_the_base_they_share():
    assert {"records", "base", "compact", *QUERIES} == set(sections())


@pytest.mark.parametrize("name", QUERIES)
def test_each_query_parses_in_both_dialects(name):
    for dialect in ("duckdb", "trino"):
        text = render(name, dialect, PARAMS)
        assert isinstance(sqlglot.parse_one(text, read=dialect), exp.Select)


def flat(sql: str) -> str:
    """The SQL on one line, as written by hand: Trino's text is pretty-printed."""
    return re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")")


def glue_schema() -> dict[str, object]:
    return {
        "daily": {**dict(GLUE_COLUMNS), "dt": "string"},
        "compacted": {**dict(COMPACT_GLUE_COLUMNS), "dt": "string"},
    }


@pytest.mark.parametrize("name", QUERIES)
def test_the_trino_text_resolves_every_column_against_the_glue_table(name):
    tree = sqlglot.parse_one(render(name, "trino", PARAMS), read="trino")

    qualified = qualify(tree, schema=glue_schema(), dialect="trino", validate_qualify_columns=True)

    tables = {t.name for t in qualified.find_all(exp.Table)}
    assert {"daily", "compacted"} <= tables


@pytest.mark.parametrize("name", QUERIES)
def test_the_trino_text_means_what_the_source_means(engine, name):
    source_rows = engine.query(name, PARAMS)
    trino = render(name, "trino", PARAMS, compacted=engine.compacted)
    back = sqlglot.transpile(trino, read="trino", write="duckdb")[0]
    cursor = engine._con.execute(back)
    names = [d[0] for d in cursor.description]
    trino_rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    assert source_rows  # the records exercise every query
    assert source_rows == trino_rows


@pytest.mark.parametrize("name", QUERIES)
def test_compacted_days_count_each_record_once_and_the_same_as_their_copies(engine, mixed, name):
    assert set(COMPACTED) == mixed.compacted
    assert engine.read + 40 == mixed.read  # the four compacted days' 40 records, read twice, counted once

    assert engine.query(name, PARAMS) == mixed.query(name, PARAMS)


@pytest.mark.parametrize("name", QUERIES)
def test_the_trino_text_over_compacted_days_means_what_the_source_means(mixed, name):
    trino = render(name, "trino", PARAMS, compacted=mixed.compacted)
    back = sqlglot.transpile(trino, read="trino", write="duckdb")[0]
    cursor = mixed._con.execute(back)
    names = [d[0] for d in cursor.description]
    trino_rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    assert "'2026-11-20'" in trino.split("FROM daily")[0]  # the compacted day comes from `compacted`
    assert mixed.query(name, PARAMS) == trino_rows


def test_a_period_without_compacted_days_reads_nothing_from_the_compacted_table():
    trino = render("verdicts", "trino", PARAMS)

    assert "FROM compacted WHERE FALSE" in flat(trino)


def test_trino_reads_list_lengths_with_cardinality_and_builds_index_lists_with_sequence():
    trino = render("reasons", "trino", PARAMS)

    assert "CARDINALITY(" in trino
    assert "SEQUENCE(1" in flat(trino)
    assert "ARRAY_LENGTH" not in trino


def test_athena_queries_name_the_glue_table_and_prune_by_day():
    tables = {"daily": '"inspector_prod"."records"', "compacted": '"inspector_prod"."records_compact"'}
    trino = render("verdicts", "trino", PARAMS, tables=tables, compacted={date(2026, 11, 21)})

    assert '"inspector_prod"."records"' in trino
    assert '"inspector_prod"."records_compact"' in trino
    assert "dt BETWEEN '2026-11-20' AND '2026-11-26'" in trino
    # Each table is asked for its own days by name: partition projection reads only those folders.
    assert "dt IN ('2026-11-21')" in flat(trino)
    days = "'2026-11-20', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26'"
    assert f"dt IN ({days})" in flat(trino)


def test_placeholders_become_quoted_literals():
    sneaky = Params(since=PARAMS.since, until=PARAMS.until, line="x' OR '1'='1")
    text = render("verdicts", "duckdb", sneaky)

    assert ":line" in source("verdicts")
    assert "'x'' OR ''1''=''1'" in text
    assert ":line" not in text


def test_one_line_only_counts_that_line(engine):
    rows = engine.query("verdicts", Params(since=PARAMS.since, until=PARAMS.until, line="line-1"))

    assert rows
    assert {"line-1"} == {r["line"] for r in rows}


def test_records_without_a_line_belong_to_the_default_line(engine):
    lines = {r["line"] for r in engine.query("verdicts", PARAMS)}

    assert {"default", "line-1", "line-2"} == lines


def test_duckdb_and_glue_declare_the_same_columns_with_the_same_types():

    def unquoted(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Identifier):
            node.set("quoted", False)
        return node

    for duck_columns, glue_columns in (
        (RECORD_COLUMNS, GLUE_COLUMNS),
        (COMPACT_COLUMNS, COMPACT_GLUE_COLUMNS),
    ):
        glue = dict(glue_columns)
        assert list(duck_columns) == list(glue)
        for name, duck_type in duck_columns.items():
            duck = exp.DataType.build(duck_type, dialect="duckdb").transform(unquoted)
            assert duck == exp.DataType.build(glue[name], dialect="hive"), name
