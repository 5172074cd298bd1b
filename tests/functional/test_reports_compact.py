"""Compacted days on moto: merged into Parquet, read instead of their copies, never twice; decisions reach
both engines (DuckDB and the Athena dialect) whether or not their day was compacted."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from botocore.stub import ANY, Stubber

from inspector.engine import Verdict
from inspector.reports.compact import compact_day, compactable_days, compacted_days, marker_key
from inspector.reports.engines import DuckDbEngine, Row
from inspector.reports.fetch import fetch_compacted, fetch_records
from inspector.reports.function import DigestSettings, athena_engine
from inspector.reports.model import build_report
from inspector.reports.sql import Params, render
from inspector.settings import Layout
from inspector.testing import record_document
from tests.functional.test_reports import TODAY, run_day
from tests.functional.world import World

DAY = TODAY.date()
PARAMS = Params(since=TODAY, until=TODAY + timedelta(days=1))
REVIEWED = "images/line-1/review-1.jpg"


def report_rows(world: World, folder: Path, name: str) -> tuple[list[Row], list[Row], set[date]]:
    """The query's rows as `inspector report s3://.../daily/` computes them (compacted days as Parquet, the
    others' copies), and the same from the Trino text read back onto the same DuckDB relations."""
    compacted = fetch_compacted(world.s3, world.bucket, "compact/", folder, days=(DAY, DAY))
    fetch_records(world.s3, world.bucket, "daily/", folder, days=(DAY, DAY), skip=compacted)
    engine = DuckDbEngine(folder)
    source = engine.query(name, PARAMS)
    trino = render(name, "trino", PARAMS, compacted=engine.compacted)
    cursor = engine._con.execute(sqlglot.transpile(trino, read="trino", write="duckdb")[0])
    names = [d[0] for d in cursor.description]
    athena = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    engine.close()
    return source, athena, compacted


def desk(world: World) -> Any:
    found = world.desk()
    found.layout = Layout(daily_prefix="daily/")
    return found


def test_a_compacted_day_is_read_from_its_parquet_file_and_counts_each_record_once(world, tmp_path):
    run_day(world)

    done = compact_day(world.s3, world.bucket, "daily/", "compact/", DAY)
    report = build_report(_engine(world, tmp_path / "r"), PARAMS)

    assert 6 == done.records
    assert world.exists(f"compact/dt={DAY}/records.parquet")
    assert {"records": 6} == {"records": json.loads(world.body(marker_key("compact/", DAY)))["records"]}
    assert {DAY} == set(compacted_days(world.s3, world.bucket, "compact/"))
    assert 6 == report.total.images  # the day's six copies are still there: read once, from Parquet
    assert {"PASS": 3, "FAIL": 1, "REVIEW": 1, "REJECTED": 1} == report.total.verdicts


def test_without_its_marker_a_day_is_read_from_its_copies(world, tmp_path):
    run_day(world)
    compact_day(world.s3, world.bucket, "daily/", "compact/", DAY)
    world.s3.delete_object(Bucket=world.bucket, Key=marker_key("compact/", DAY))  # a crash mid-compaction

    engine = _engine(world, tmp_path)

    assert frozenset() == engine.compacted
    assert 6 == build_report(engine, PARAMS).total.images


@pytest.mark.parametrize("compacted_first", [False, True], ids=["open day", "compacted day"])
def test_a_decision_reaches_duckdb_and_the_athena_dialect_alike(world: World, tmp_path, compacted_first):
    run_day(world)
    if compacted_first:
        compact_day(world.s3, world.bucket, "daily/", "compact/", DAY)

    desk(world).decide(REVIEWED, Verdict.FAIL, note="rust after all")
    source, athena, compacted = report_rows(world, tmp_path / "after", "agreement")
    results = tmp_path / "results"
    fetch_records(world.s3, world.bucket, "results/", results)
    over_results = DuckDbEngine(results).query("agreement", PARAMS)

    expected = [{"line": "default", "verdict": "REVIEW", "decided": "FAIL", "images": 1}]
    assert expected == source == athena == over_results
    assert set() == compacted  # the decision sent its day back to the copies
    assert (
        json.loads(world.body(f"daily/dt={DAY}/line-1/review-1.jpg.json"))["decisions"][0]["after"] == "FAIL"
    )


def test_compacting_the_day_again_keeps_the_decision_and_counts_nothing_twice(world: World, tmp_path):
    run_day(world)
    compact_day(world.s3, world.bucket, "daily/", "compact/", DAY)
    desk(world).decide(REVIEWED, Verdict.PASS)

    compact_day(world.s3, world.bucket, "daily/", "compact/", DAY)
    source, athena, compacted = report_rows(world, tmp_path, "agreement")
    verdicts, _, _ = report_rows(world, tmp_path / "again", "verdicts")

    assert {DAY} == compacted
    assert [{"line": "default", "verdict": "REVIEW", "decided": "PASS", "images": 1}] == source == athena
    assert 6 == sum(r["images"] for r in verdicts)


def test_closed_days_without_a_marker_or_with_later_copies_are_the_ones_to_compact(world: World):
    now = datetime(2026, 11, 29, 6, tzinfo=UTC)

    def copy(day: str, name: str) -> None:
        document = record_document(f"images/{name}", "PASS", f"{day}T12:00:00+00:00")
        body = json.dumps(document).encode() + b"\n"
        world.s3.put_object(Bucket=world.bucket, Key=f"daily/dt={day}/{name}.json", Body=body)

    for text in ("2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"):
        copy(text, "a.jpg")
    for day in (date(2026, 11, 26), date(2026, 11, 27)):
        compact_day(world.s3, world.bucket, "daily/", "compact/", day)
    copy("2026-11-27", "late.jpg")

    days = compactable_days(world.s3, world.bucket, "daily/", "compact/", now=now)

    # 26th: compacted, unchanged; 27th: a copy came after its compaction; 28th: never compacted; 29th: open.
    assert [date(2026, 11, 27), date(2026, 11, 28)] == days


def test_the_digest_asks_athena_for_compacted_days_from_their_table_and_the_rest_from_the_copies(
    world: World,
):
    run_day(world)
    compact_day(world.s3, world.bucket, "daily/", "compact/", DAY)
    settings = DigestSettings(
        bucket=world.bucket,
        topic_arn=world.topic_arn,
        workgroup="wg",
        database="db",
        table="records",
        compact_table="records_compact",
        compact_prefix="compact/",
    )
    client = world.session.client("athena", region_name="us-east-1")
    engine = athena_engine(settings, athena=client, s3=world.s3)
    tables = {"daily": '"db"."records"', "compacted": '"db"."records_compact"'}
    expected = render("verdicts", "trino", PARAMS, tables=tables, compacted={DAY})

    with Stubber(client) as stub:
        stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q-1"},
            {"QueryString": expected, "WorkGroup": "wg", "QueryExecutionContext": {"Database": ANY}},
        )
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
        stub.add_response(
            "get_query_results", {"ResultSet": {"ResultSetMetadata": {"ColumnInfo": []}, "Rows": []}}
        )
        engine.query("verdicts", PARAMS)
        stub.assert_no_pending_responses()

    assert f"dt IN ('{DAY}')" in expected
    assert 'FROM "db"."records_compact"' in expected


def _engine(world: World, folder: Path) -> DuckDbEngine:
    compacted = fetch_compacted(world.s3, world.bucket, "compact/", folder, days=(DAY, DAY))
    fetch_records(world.s3, world.bucket, "daily/", folder, days=(DAY, DAY), skip=compacted)
    return DuckDbEngine(folder)
