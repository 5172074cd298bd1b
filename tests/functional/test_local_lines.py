"""The local mode with a line and live criteria, driven from the command line at its endpoint as a QC
engineer would: publish, a refused document, history, rollback and re-judging, without a restart."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from inspector.cli import main
from inspector.commands.local import LocalSession, local_deployment
from inspector.criteria import Criteria
from inspector.engine import Verdict
from inspector.records import ResultRecord
from inspector.settings import MIN_CRITERIA_REFRESH_SECONDS
from tests.functional.test_local_command import CRITERIA, REGION, picture, wait_until

STRICT = {"quality": {"minSharpness": 40, "minBrightness": 20, "maxBrightness": 30}}  # mid-grey is ~45


@contextmanager
def running_lines() -> Iterator[LocalSession]:
    deployment = local_deployment(
        Criteria.from_document(CRITERIA),
        lines=[{"name": "line-1", "prefix": "line-1/", "criteria": CRITERIA}],
    )
    with LocalSession(deployment, out=io.StringIO(), errors=io.StringIO()) as session:
        stop = threading.Event()
        loop = threading.Thread(target=session.run, args=(stop,), name="local-session")
        loop.start()
        try:
            yield session
        finally:
            stop.set()
            loop.join(timeout=5)


def judged(session: LocalSession, name: str) -> ResultRecord:
    """Upload images/line-1/<name> and wait for its record."""
    bucket = session.provisioned.bucket
    session.s3.put_object(Bucket=bucket, Key=f"images/line-1/{name}", Body=picture("PNG"))

    def record() -> ResultRecord | None:
        try:
            body = session.s3.get_object(Bucket=bucket, Key=f"results/line-1/{name}.json")["Body"].read()
        except session.s3.exceptions.NoSuchKey:
            return None
        found = ResultRecord.from_json(body)
        return found if found.notified_at is not None else None

    found: ResultRecord = wait_until(record, what=f"the verdict of {name}")
    settle(session)
    return found


def settle(session: LocalSession) -> None:
    """Wait for the invocation to end: the session swaps sys.stdout for the handler's output while it runs,
    and the commands below print to sys.stdout."""
    wait_until(lambda: not _keys(session, "images/") and session.poller.depth() == 0, what="an idle queue")
    time.sleep(0.3)


def cli(session: LocalSession, *args: str) -> int:
    return main([*args, "--endpoint-url", session.endpoint_url, "--region", REGION])


def test_publish_changes_a_lines_verdicts_within_the_refresh_interval_and_rollback_restores_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps(STRICT))
    refresh = MIN_CRITERIA_REFRESH_SECONDS
    with running_lines() as session:
        bucket = session.provisioned.bucket
        assert Verdict.PASS == judged(session, "a.png").verdict

        assert 0 == cli(
            session, "criteria", "publish", str(strict), "--line", "line-1", "--bucket", bucket, "--yes"
        )
        published = time.monotonic()
        assert "a.png  PASS -> FAIL: quality.maxBrightness" in capsys.readouterr().out
        time.sleep(refresh + 0.5)
        after = judged(session, "b.png")
        assert (Verdict.FAIL, Criteria.from_document(STRICT).fingerprint) == (after.verdict, after.criteria)
        assert time.monotonic() - published < refresh + 10

        # A document that fails validation never takes effect: b's criteria stay.
        session.s3.put_object(Bucket=bucket, Key="criteria/line-1/current.json", Body=b'{"line": "line-1"}')
        time.sleep(refresh + 0.5)
        assert Criteria.from_document(STRICT).fingerprint == judged(session, "c.png").criteria

        # Re-judge a (judged under the seed): from its stored analysis, no new recognition.
        session.s3.put_object(
            Bucket=bucket,
            Key="criteria/line-1/current.json",
            Body=session.s3.get_object(Bucket=bucket, Key="criteria/line-1/versions/000001.json")[
                "Body"
            ].read(),
        )
        assert 0 == cli(
            session,
            "enqueue",
            f"s3://{bucket}",
            "--rejudge",
            "line-1",
            "--queue",
            session.provisioned.queue_url,
        )
        again = wait_until(
            lambda: _record_if(session, "a.png", lambda r: r.rejudged_from is not None), what="a re-judged"
        )
        assert (Verdict.FAIL, Criteria.from_document(CRITERIA).fingerprint) == (
            again.verdict,
            again.rejudged_from,
        )
        wait_until(lambda: "analyzed/failed/line-1/a.png" in _keys(session), what="a filed as failed")
        assert "analyzed/passed/line-1/a.png" not in _keys(session)
        settle(session)

        capsys.readouterr()
        assert 0 == cli(session, "criteria", "rollback", "--line", "line-1", "--bucket", bucket, "--yes")
        time.sleep(refresh + 0.5)
        assert Verdict.PASS == judged(session, "d.png").verdict
        capsys.readouterr()
        assert 0 == cli(session, "criteria", "history", "--line", "line-1", "--bucket", bucket, "--json")
        history = json.loads(capsys.readouterr().out)
        assert [0, 1, 2] == [v["version"] for v in history["versions"]]
        assert (2, 0) == (history["current"], history["versions"][2]["restoredFrom"])


def _record_if(session: LocalSession, name: str, condition: Any) -> ResultRecord | None:
    body = session.s3.get_object(Bucket=session.provisioned.bucket, Key=f"results/line-1/{name}.json")["Body"]
    found = ResultRecord.from_json(body.read())
    return found if condition(found) and found.notified_at is not None else None


def _keys(session: LocalSession, prefix: str = "") -> list[str]:
    listing = session.s3.list_objects_v2(Bucket=session.provisioned.bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: line-1\n", "expected a list of lines"),
        ("- {name: a, prefix: cam/, criteria: {quality: {minSharpness: 1}}}\n"
         "- {name: b, prefix: cam/b/, criteria: {quality: {minSharpness: 1}}}\n", "overlap"),
        ("- {name: a, prefix: a/, criteria: {require: [{label: Widget}]}}\n", "local reports no labels"),
        ("- {name: a, prefix: a/, critera: {}}\n", "unknown key"),
        ("- [unclosed\n", "lines.yaml"),
    ],
    ids=["not-a-list", "overlap", "labels-under-local-detector", "typo", "not-yaml"],
)  # fmt: skip
def test_bad_lines_files_exit_2_with_one_line_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    lines = tmp_path / "lines.yaml"
    lines.write_text(content)

    assert 2 == main(["local", "--lines", str(lines)])

    (line,) = capsys.readouterr().err.splitlines()
    assert message in line
