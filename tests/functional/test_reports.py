"""Reports on moto: the pipeline's daily copies, a report of them, the digest, and the recipients' choices."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from inspector.deployment import Recipient
from inspector.engine import Verdict
from inspector.notifier import SnsNotifier
from inspector.records import ResultRecord
from inspector.reports.engines import AthenaEngine, DuckDbEngine, ReportQueryError
from inspector.reports.fetch import fetch_records
from inspector.reports.function import DigestSettings, run_digest
from inspector.reports.model import build_report
from inspector.reports.sql import Params, render
from inspector.testing import FakeDetector, record_document
from tests.functional.world import (
    FAIL_LABELS,
    PASS_LABELS,
    REVIEW_LABELS,
    World,
    client_error,
    image_bytes,
    jpeg,
)

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def within_today() -> datetime:
    """The wall clock held inside TODAY: a run that crosses midnight UTC still stamps its records TODAY,
    the day these tests (fixed when the module loads) report on."""
    return min(datetime.now(UTC), TODAY + timedelta(days=1) - timedelta(microseconds=1))


def run_day(world: World) -> None:
    for name in ("pass-1", "pass-2", "pass-3", "fail-1", "review-1"):
        world.upload(f"images/line-1/{name}.jpg", jpeg())
    world.upload("images/line-2/reject.jpg", image_bytes("GIF"))
    detector = FakeDetector(
        by=lambda image: {"pass": PASS_LABELS, "fail": FAIL_LABELS, "review": REVIEW_LABELS}.get(
            image.key.rsplit("/", 1)[-1].split("-")[0]  # type: ignore[union-attr]
        )
    )
    world.run(world.processor(detector, daily_prefix="daily/", clock=within_today))


def test_the_records_and_their_daily_copies_follow_the_clock_the_processor_is_built_with(world: World):
    # Here a minute before midnight UTC: a record's day is its clock's, not the wall clock's.
    late = TODAY - timedelta(minutes=1)
    world.upload("images/line-1/pass-1.jpg", jpeg())

    world.run(
        world.processor(FakeDetector(by=lambda image: PASS_LABELS), daily_prefix="daily/", clock=lambda: late)
    )

    record = world.record("images/line-1/pass-1.jpg")
    assert late == record.inspected_at
    assert late == record.notified_at
    daily = [key for key in world.keys() if key.startswith("daily/")]  # noqa: SIM118 - the bucket's keys
    assert [f"daily/dt={late:%Y-%m-%d}/line-1/pass-1.jpg.json"] == daily


def test_the_pipeline_files_a_one_line_daily_copy_of_each_finished_record(world: World):
    run_day(world)
    settings = world.settings(daily_prefix="daily/")

    key = "images/line-1/fail-1.jpg"
    record = world.record(key)
    copy_key = settings.daily_key(key, record.inspected_at)
    copy = world.body(copy_key)
    assert copy_key == f"daily/dt={record.inspected_at:%Y-%m-%d}/line-1/fail-1.jpg.json"
    assert 1 == copy.count(b"\n")
    assert copy.endswith(b"\n")
    assert record == ResultRecord.from_json(copy)
    assert record.notified_at is not None  # the finished record, not the first write
    layout = world.keys()
    assert 6 == len([k for k in layout if k.startswith("daily/")])
    assert [] == [k for k in layout if k.startswith("images/")]


def test_a_crash_before_the_delete_is_repaired_with_the_same_daily_copy(world: World):
    world.upload("images/w1.jpg", jpeg())
    messages = world.drain()
    processor = world.processor(FakeDetector(default=FAIL_LABELS), daily_prefix="daily/")
    crash = client_error("DeleteObject", "InternalError", 500)
    world.s3.meta.events.register("before-call.s3.DeleteObject", crash)
    first_run = world.run(processor, world.lambda_event(messages))
    world.s3.meta.events.unregister("before-call.s3.DeleteObject", crash)
    settings = world.settings(daily_prefix="daily/")
    record = world.record("images/w1.jpg")
    copy_key = settings.daily_key("images/w1.jpg", record.inspected_at)
    first = world.body(copy_key)
    world.s3.delete_object(Bucket=world.bucket, Key=copy_key)

    world.run(processor, world.lambda_event(messages))  # the redelivery resumes from the record

    assert 1 == len(first_run["batchItemFailures"])  # the original was not deleted: retried
    assert first == world.body(copy_key)
    assert not world.exists("images/w1.jpg")


def test_a_report_of_the_daily_copies_fetched_from_s3_counts_every_verdict(world: World, tmp_path: Path):
    run_day(world)

    fetched = fetch_records(world.s3, world.bucket, "daily/", tmp_path, days=(TODAY.date(), TODAY.date()))
    report = build_report(DuckDbEngine(tmp_path), Params(since=TODAY, until=TODAY + timedelta(days=1)))

    assert 6 == fetched
    assert {"PASS": 3, "FAIL": 1, "REVIEW": 1, "REJECTED": 1} == report.total.verdicts
    assert 3 / 5 == report.total.yield_rate
    assert [("forbid[0] Scratch", "FAIL", 1), ("require[0] Widget", "REVIEW", 1)] == [
        (b.cause, b.verdict, b.count) for b in report.pareto
    ]
    assert 1 == report.backlog.images


def test_fetching_a_daily_prefix_lists_only_the_days_asked_for(world: World, tmp_path: Path):
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        world.s3.put_object(
            Bucket=world.bucket, Key=f"daily/dt={day}/w.jpg.json", Body=f'{{"day": "{day}"}}\n'
        )

    fetched = fetch_records(
        world.s3,
        world.bucket,
        "daily/",
        tmp_path,
        days=(datetime(2026, 11, 2).date(), datetime(2026, 11, 2).date()),
    )

    assert 1 == fetched
    assert b'{"day": "2026-11-02"}\n' == (tmp_path / "part-00000.ndjson").read_bytes()


def test_indented_records_are_fetched_one_a_line(world: World, tmp_path: Path):
    world.s3.put_object(Bucket=world.bucket, Key="results/a.jpg.json", Body=b'{\n  "verdict": "PASS"\n}')
    world.s3.put_object(Bucket=world.bucket, Key="results/b.jpg.json", Body=b"not json\nat all")

    fetched = fetch_records(world.s3, world.bucket, "results/", tmp_path)

    assert 2 == fetched
    assert [b'{"verdict":"PASS"}', b"not json at all"] == (
        tmp_path / "part-00000.ndjson"
    ).read_bytes().splitlines()


# --- the digest ---------------------------------------------------------------------------------------


def write_records(folder: Path, day: datetime) -> None:
    plan = [("line-1", "PASS")] * 8 + [("line-1", "FAIL"), ("line-1", "REVIEW"), ("line-2", "PASS")]
    plan += [("line-2", "FAIL")] * 3
    for i, (line, verdict) in enumerate(plan):
        moment = day + timedelta(hours=i % 24, minutes=i)
        document = record_document(f"images/{line}/w{i}.jpg", verdict, moment, line=line, cause=i)
        (folder / f"w{i}.json").write_text(json.dumps(document))


@pytest.fixture
def digest_settings(world: World) -> DigestSettings:
    return DigestSettings(
        bucket=world.bucket, topic_arn=world.topic_arn, workgroup="wg", database="db", table="records"
    )


def test_the_digest_keeps_one_html_report_per_line_and_emails_a_link_to_it(world, digest_settings, tmp_path):
    day = TODAY - timedelta(days=1)
    write_records(tmp_path, day)

    sent = run_digest(
        digest_settings,
        engine=DuckDbEngine(tmp_path),
        s3=world.s3,
        notifier=SnsNotifier(world.topic_arn, world.sns),
        day=day,
    )

    assert ["line-1", "line-2"] == [s.line for s in sent]
    assert f"reports/line-1/{day:%Y-%m-%d}.html" == sent[0].report_key
    page = world.body(sent[0].report_key).decode()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    digests = [e for e in world.emails() if e.attributes.get("kind") == "digest"]
    assert [{"kind": "digest", "line": "line-1"}, {"kind": "digest", "line": "line-2"}] == [
        e.attributes for e in digests
    ]
    one = digests[0]
    assert one.subject.startswith(f"QC digest {day:%Y-%m-%d} line-1: 10 images, yield 80.0%")
    assert "Top failure reasons:" in one.body
    assert "Review backlog" in one.body
    link = next(line for line in one.body.splitlines() if line.startswith("Full report"))
    assert f"/{sent[0].report_key}?" in link
    assert "Signature=" in link  # presigned by the digest's S3 client


def test_no_digest_is_sent_for_a_day_without_images(world, digest_settings, tmp_path):
    sent = run_digest(
        digest_settings,
        engine=DuckDbEngine(tmp_path),
        s3=world.s3,
        notifier=SnsNotifier(world.topic_arn, world.sns),
        day=TODAY,
    )

    assert [] == sent
    assert [] == world.emails()


# --- recipients choose --------------------------------------------------------------------------------


def subscribe(world: World, name: str, recipient: Recipient) -> str:
    url = world.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = recipient.filter_policy()
    attributes = (
        {"FilterPolicy": json.dumps(policy), "FilterPolicyScope": "MessageAttributes"} if policy else {}
    )
    world.sns.subscribe(TopicArn=world.topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return str(url)


def subjects(world: World, url: str) -> list[str]:
    return sorted(json.loads(m["Body"])["Subject"] for m in world.receive(url))


def test_recipients_get_immediate_emails_the_digest_or_both_as_they_chose(world, digest_settings, tmp_path):
    queues = {
        "failures": subscribe(
            world, "failures", Recipient(email="a@example.com", only=[Verdict.FAIL, Verdict.REVIEW])
        ),
        "digest": subscribe(world, "digest", Recipient(email="b@example.com", immediate=False, digest=True)),
        "both": subscribe(
            world, "both", Recipient(email="c@example.com", only=[Verdict.FAIL, Verdict.REVIEW], digest=True)
        ),
        "verdicts": subscribe(world, "verdicts", Recipient(email="d@example.com")),
    }
    world.upload("images/line-1/pass-1.jpg", jpeg())
    world.upload("images/line-1/fail-1.jpg", jpeg())
    world.run(
        world.processor(
            FakeDetector({"images/line-1/pass-1.jpg": PASS_LABELS, "images/line-1/fail-1.jpg": FAIL_LABELS})
        )
    )
    day = TODAY - timedelta(days=1)
    write_records(tmp_path, day)
    run_digest(
        digest_settings,
        engine=DuckDbEngine(tmp_path),
        s3=world.s3,
        notifier=SnsNotifier(world.topic_arn, world.sns),
        day=day,
    )

    digest_1 = f"QC digest {day:%Y-%m-%d} line-1: 10 images, yield 80.0%"
    got = {name: subjects(world, url) for name, url in queues.items()}
    assert ["QC FAIL: fail-1.jpg (line-1)"] == got["failures"]
    assert 2 == len(got["digest"])
    assert got["digest"][0].startswith(digest_1)
    assert 3 == len(got["both"])
    assert "QC FAIL: fail-1.jpg (line-1)" in got["both"]
    assert ["QC FAIL: fail-1.jpg (line-1)", "QC PASS: pass-1.jpg (line-1)"] == got["verdicts"]


# --- Athena -------------------------------------------------------------------------------------------


def athena_client(world: World) -> Any:
    return world.session.client("athena", region_name="us-east-1")


def test_athena_runs_the_trino_text_in_its_workgroup_and_types_the_rows(world: World):
    client = athena_client(world)
    params = Params(since=TODAY, until=TODAY + timedelta(days=1))
    # No compacted table: no day is read from it, and it names the daily one.
    sql = render(
        "verdicts", "trino", params, tables={"daily": '"db"."records"', "compacted": '"db"."records"'}
    )
    columns = [
        {"Name": "line", "Type": "varchar"},
        {"Name": "verdict", "Type": "varchar"},
        {"Name": "effective", "Type": "varchar"},
        {"Name": "images", "Type": "bigint"},
    ]

    def row(*values: str) -> dict[str, Any]:
        return {"Data": [{"VarCharValue": v} for v in values]}

    with Stubber(client) as stub:
        stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q-1"},
            {"QueryString": sql, "WorkGroup": "wg", "QueryExecutionContext": {"Database": "db"}},
        )
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "RUNNING"}}},
            {"QueryExecutionId": "q-1"},
        )
        stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "Status": {"State": "SUCCEEDED"},
                    "Statistics": {"DataScannedInBytes": 1234},
                }
            },
            {"QueryExecutionId": "q-1"},
        )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "ResultSetMetadata": {"ColumnInfo": columns},
                    "Rows": [
                        row("line", "verdict", "effective", "images"),
                        row("line-1", "PASS", "PASS", "7"),
                    ],
                },
                "NextToken": "t",
            },
            {"QueryExecutionId": "q-1"},
        )
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "ResultSetMetadata": {"ColumnInfo": columns},
                    "Rows": [row("line-1", "FAIL", "PASS", "2")],
                }
            },
            {"QueryExecutionId": "q-1", "NextToken": "t"},
        )
        engine = AthenaEngine(client, workgroup="wg", database="db", table="records", sleep=lambda _: None)
        rows = engine.query("verdicts", params)

    assert [
        {"line": "line-1", "verdict": "PASS", "effective": "PASS", "images": 7},
        {"line": "line-1", "verdict": "FAIL", "effective": "PASS", "images": 2},
    ] == rows
    assert (1, 1234) == (engine.queries, engine.scanned_bytes)


def test_a_failed_athena_query_is_a_report_error_naming_the_reason(world: World):
    client = athena_client(world)
    with Stubber(client) as stub:
        stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q-2"},
            {"QueryString": ANY, "WorkGroup": "wg", "QueryExecutionContext": {"Database": "db"}},
        )
        stub.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "Status": {"State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND: records"}
                }
            },
            {"QueryExecutionId": "q-2"},
        )
        engine = AthenaEngine(client, workgroup="wg", database="db", table="records", sleep=lambda _: None)

        with pytest.raises(ReportQueryError, match="TABLE_NOT_FOUND"):
            engine.query("backlog", Params(since=TODAY, until=TODAY + timedelta(days=1)))


def test_the_digest_settings_name_each_missing_variable():
    from inspector.errors import SettingsError  # noqa: PLC0415

    with pytest.raises(SettingsError, match="INSPECTOR_ATHENA_WORKGROUP"):
        DigestSettings.from_env({"INSPECTOR_BUCKET": "b-b-b", "INSPECTOR_TOPIC_ARN": "arn"})


def test_importing_the_handler_does_not_import_the_digest():
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, handler; "
        "print(sorted(m for m in sys.modules if m.startswith(('sqlglot', 'pygal', 'inspector.reports'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert "[]" == out.strip()
    assert io  # the module's imports stay used
