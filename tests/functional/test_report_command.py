"""`inspector report` end to end: from a folder, from S3 at an endpoint (the embedded AWS), in a browser."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from inspector.cli import main
from inspector.local import LocalAws
from inspector.testing import record_document

REGION = "us-east-1"
DAY = datetime(2026, 11, 20, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    with LocalAws(region=REGION) as aws:
        yield aws


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Run:
        status = main(list(argv))
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


def week_of_records() -> list[tuple[str, dict[str, Any]]]:
    """Seven days of line-1 (3 % FAIL, but 30 % on the fifth day) and line-2, with some decisions."""
    documents = []
    for day in range(7):
        for i in range(40):
            fail = i < (12 if day == 4 else 1)
            verdict = "FAIL" if fail else ("REVIEW" if i == 39 else ("REJECTED" if i == 38 else "PASS"))
            decisions = [("REVIEW", "PASS")] if verdict == "REVIEW" and day % 2 else []
            moment = DAY + timedelta(days=day, hours=8, minutes=i)
            line = "line-1" if i % 2 else "line-2"
            key = f"images/{line}/d{day}-w{i}.jpg"
            documents.append(
                (
                    f"{line}/d{day}-w{i}.jpg.json",
                    record_document(key, verdict, moment, line=line, cause=i, decisions=decisions),
                )
            )
    return documents


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for name, document in week_of_records():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(document, indent=2))
    return root


def test_a_folder_report_writes_html_and_says_what_it_read(cli, folder, tmp_path):
    out = tmp_path / "week.html"

    run = cli("report", str(folder), "--since", "2026-11-20", "--until", "2026-11-27", "--out", str(out))

    assert 0 == run.status, run.err
    assert "280 records read" in run.out
    assert f"wrote {out}" in run.out
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert 4 <= page.count("<svg")
    assert "Out of control:" in page


def test_json_gives_the_numbers_with_the_out_of_control_day(cli, folder):
    run = cli("report", str(folder), "--since", "2026-11-20", "--until", "2026-11-27", "--json")

    assert 0 == run.status, run.err
    report = json.loads(run.out)
    assert 280 == report["total"]["images"]
    flagged = [
        (c["line"], s["label"])
        for c in report["charts"]
        for s in c["chart"]["subgroups"]
        if s["out_of_control"]
    ]
    assert ("line-2", "2026-11-24") in flagged
    assert report["agreement"]["reviews_decided"] == {"PASS": 3}
    assert report["backlog"]["images"] == 4


def test_one_line_only(cli, folder):
    run = cli(
        "report", str(folder), "--since", "2026-11-20", "--until", "2026-11-27", "--json", "--line", "line-1"
    )

    assert {"line-1"} == {s["line"] for s in json.loads(run.out)["lines"]}


def test_the_digest_on_demand_prints_one_email_per_line(cli, folder):
    run = cli("report", str(folder), "--since", "2026-11-24", "--digest")

    assert 0 == run.status, run.err
    assert 2 == run.out.count("Subject: QC digest 2026-11-24")
    assert '{"kind": "digest", "line": "line-1"}' in run.out
    assert "Top failure reasons:" in run.out


def test_times_and_single_subgroups_read_as_a_person_would_write_them(cli, folder, tmp_path):
    out = tmp_path / "day.html"

    cli("report", str(folder), "--since", "2026-11-24", "--until", "2026-11-25", "--out", str(out))
    digest = cli("report", str(folder), "--since", "2026-11-24", "--digest", "--line", "line-1")

    page = out.read_text()
    assert "Queried with DuckDB" in page
    # One hour of images per line: said in words, not drawn as a lone point on its own limits.
    assert "line-1: one hour with images judged (2026-11-24 08h: 6 FAIL of 20, p = 0.300)" in page
    assert "the oldest was inspected 2026-11-20 08:39 UTC and has waited 4.6 days" in page
    assert "the oldest inspected 2026-11-20 08:39 UTC, waiting 4.6 days at the period's end" in digest.out
    assert f"`inspector report {folder} --since 2026-11-24 --line line-1` writes it" in digest.out


def test_a_report_from_s3_at_the_endpoint(cli, folder, local_aws, tmp_path):
    s3 = local_aws.client("s3")
    bucket = f"widgets-{uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for path in folder.rglob("*.json"):
        s3.put_object(Bucket=bucket, Key=f"results/{path.relative_to(folder)}", Body=path.read_bytes())
    out = tmp_path / "s3.html"

    run = cli(
        "report",
        f"s3://{bucket}/results/",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-27",
        "--out",
        str(out),
        "--endpoint-url",
        local_aws.endpoint_url,
        "--region",
        REGION,
    )

    assert 0 == run.status, run.err
    assert "280 records fetched" in run.out
    assert out.read_text().count("<svg") >= 4


def test_compact_merges_closed_days_and_the_report_from_s3_reads_them_once(cli, folder, local_aws):
    s3 = local_aws.client("s3")
    bucket = f"widgets-{uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    for _, document in week_of_records():
        day = document["inspected_at"][:10]
        key = f"daily/dt={day}/{document['image']['key'].removeprefix('images/')}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode() + b"\n")
    endpoint = ("--endpoint-url", local_aws.endpoint_url, "--region", REGION)
    period = ("--since", "2026-11-20", "--until", "2026-11-27")
    before = cli("report", f"s3://{bucket}/daily/", *period, "--json", *endpoint)

    dry = cli("compact", f"s3://{bucket}/daily/", "--dry-run", *endpoint)
    done = cli("compact", f"s3://{bucket}/daily/", *endpoint)
    again = cli("compact", f"s3://{bucket}/daily/", *endpoint)
    after = cli("report", f"s3://{bucket}/daily/", *period, "--out", "/dev/null", *endpoint)
    numbers = cli("report", f"s3://{bucket}/daily/", *period, "--json", *endpoint)

    assert 0 == dry.status == done.status == again.status, done.err
    assert 7 == dry.out.count("would compact 2026-11-")
    assert 7 == done.out.count("40 records -> s3://")
    assert "nothing to compact" in again.out
    assert "0 records fetched" in after.out
    assert "7 compacted day(s), 280 read" in after.out
    drop = {"engine", "generated_at"}
    assert {k: v for k, v in json.loads(before.out).items() if k not in drop} == {
        k: v for k, v in json.loads(numbers.out).items() if k not in drop
    }


def test_athena_reports_read_compacted_days_from_their_table(cli, local_aws, tmp_path):
    from moto.athena.models import athena_backends  # noqa: PLC0415 - moto's record of the queries run

    bucket = f"widgets-{uuid4().hex[:12]}"
    local_aws.client("s3").create_bucket(Bucket=bucket)
    marker = "compact/dt=2026-11-24/_SUCCESS"
    local_aws.client("s3").put_object(Bucket=bucket, Key=marker, Body=b'{"records": 1}')
    outputs = tmp_path / "outputs.json"
    names = {"reportsWorkgroup": "primary", "reportsDatabase": "db", "reportsTable": "records"}
    outputs.write_text(json.dumps({**names, "reportsCompactTable": "records_compact", "bucketName": bucket}))

    run = cli(
        "report", "--athena", "--stack-outputs", str(outputs), "--since", "2026-11-23",
        "--until", "2026-11-25", "--out", str(tmp_path / "r.html"),
        "--endpoint-url", local_aws.endpoint_url, "--region", REGION,
    )  # fmt: skip

    assert 0 == run.status, run.err
    assert "db.records and db.records_compact" in run.out
    backends = [b for regions in athena_backends.values() for b in regions.values()]
    queries = [e.query for b in backends for e in b.executions.values()]
    mine = [q for q in queries if "records_compact" in q and "2026-11-23" in q]
    assert 5 == len(mine)  # every query of the report
    flat = [" ".join(q.split()).replace("( ", "(").replace(" )", ")") for q in mine]
    assert all('FROM "db"."records_compact" WHERE dt IN (\'2026-11-24\')' in q for q in flat)
    # The period's other day from the copies (the backlog's query: its 30 days but the compacted one).
    assert 4 == sum('FROM "db"."records" WHERE dt IN (\'2026-11-23\')' in q for q in flat)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["compact", "./daily"], "DAILY must be s3://", id="compact-local"),
        pytest.param(
            ["compact", "s3://b/daily/", "--compact-prefix", "daily/x/"],
            "must lie apart",
            id="compact-inside",
        ),
        pytest.param(
            ["compact", "s3://b/daily/", "--day", "2999-01-01"], "is not closed yet", id="compact-open"
        ),
        pytest.param(["report"], "say where the records are", id="no-source"),
        pytest.param(["report", "/no/such/folder"], "is not a folder", id="missing-folder"),
        pytest.param(
            ["report", "x", "--since", "2026-11-05", "--until", "2026-11-01"], "must be after", id="backwards"
        ),
        pytest.param(
            ["report", "--athena", "--workgroup", "w"],
            "--athena needs --database, --table",
            id="athena-names",
        ),
        pytest.param(
            ["report", "--athena", "--stack-outputs", "/no/such.json"],
            "cannot read stack outputs",
            id="outputs",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_status_2(cli, argv, message):
    run = cli(*argv)

    assert 2 == run.status
    assert message in run.err
    assert 1 == len(run.err.strip().splitlines())


@pytest.mark.parametrize(
    "argv",
    [
        ["--since", "yesterday"],
        ["--line", "Line 1"],
        ["--by", "week"],
        ["--out", "/no/such/folder/r.html"],
        ["--out", "."],
    ],
)
def test_bad_arguments_are_refused_by_the_parser(cli, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli("report", "folder", *argv)

    assert 2 == exit_info.value.code


# --- in a real browser ----------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium (apt-get install chromium)")
def test_the_html_report_renders_in_chromium_without_network(cli, folder, tmp_path):
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    out = tmp_path / "week.html"
    assert (
        0
        == cli(
            "report", str(folder), "--since", "2026-11-20", "--until", "2026-11-27", "--out", str(out)
        ).status
    )
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(out.as_uri())
            charts = page.locator("svg.pygal-chart")
            sizes = [charts.nth(i).bounding_box() for i in range(charts.count())]
            heading = page.locator("h1").inner_text()
            flagged = page.locator("td.bad").all_inner_texts()
            page.screenshot(path=str(tmp_path / "week.png"), full_page=True)
        finally:
            browser.close()

    assert [out.as_uri()] == requested  # nothing fetched from anywhere else
    assert "QC report, every line" in heading
    assert 4 <= len(sizes)
    assert all(box is not None and box["width"] > 300 and box["height"] > 150 for box in sizes)
    assert flagged  # the out-of-control day is listed in red
    assert (tmp_path / "week.png").stat().st_size > 10_000
