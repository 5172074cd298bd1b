"""`inspector local`: the embedded AWS that stays up, used as a person would, with boto3 at its endpoint."""

from __future__ import annotations

import _thread
import gc
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from PIL import Image, ImageDraw

from inspector import function as handler
from inspector.cli import main
from inspector.commands import UserError
from inspector.commands import local as command
from inspector.commands.local import LocalSession, Report, load_criteria, local_deployment
from inspector.criteria import Criteria
from inspector.local import read_mailbox
from inspector.records import ResultRecord
from tests.support import load_event

REGION = "us-east-1"
# Quality bounds only: the local detector measures the pixels and sees no labels.
CRITERIA = {"quality": {"minSharpness": 40, "minBrightness": 20, "maxBrightness": 95}}
TIMEOUT = 10.0


# --- images and helpers ---------------------------------------------------------------------------------


def picture(fmt: str, *, crisp: bool = True) -> bytes:
    """Mid-grey with black stripes (sharp, PASS under CRITERIA) or plain mid-grey (sharpness 0, FAIL)."""
    image = Image.new("RGB", (160, 160), (128, 128, 128))
    if crisp:
        draw = ImageDraw.Draw(image)
        for x in range(0, 160, 16):
            draw.line([(x, 0), (x, 160)], fill=(0, 0, 0), width=3)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def wait_until(condition: Callable[[], Any], *, timeout: float = TIMEOUT, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def record(s3: Any, bucket: str, key: str) -> ResultRecord:
    return ResultRecord.from_json(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def moto_server_threads() -> list[threading.Thread]:
    # ThreadedMotoServer runs `_server_entry` in a thread that Python names after its target.
    return [t for t in threading.enumerate() if "_server_entry" in t.name]


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def criteria_file(tmp_path: Path) -> Path:
    path = tmp_path / "criteria.json"
    path.write_text(json.dumps(CRITERIA), encoding="utf-8")
    return path


@contextmanager
def session_of(**options: Any) -> Iterator[tuple[LocalSession, io.StringIO, io.StringIO]]:
    """A started session (not yet running), its output and its error output."""
    out, errors = io.StringIO(), io.StringIO()
    deployment = local_deployment(Criteria.from_document(CRITERIA))
    with LocalSession(deployment, out=out, errors=errors, **options) as session:
        yield session, out, errors


@contextmanager
def running(**options: Any) -> Iterator[tuple[LocalSession, io.StringIO, io.StringIO]]:
    """A session whose `run` loop goes on in a background thread until the block ends."""
    with session_of(**options) as (session, out, errors):
        stop = threading.Event()
        loop = threading.Thread(target=session.run, args=(stop,), name="local-session")
        loop.start()
        try:
            yield session, out, errors
        finally:
            stop.set()
            loop.join(timeout=5)
            assert not loop.is_alive(), "run() did not return after stop was set"


@contextmanager
def user_client(service: str, endpoint_url: str) -> Iterator[Any]:
    """A client made as the banner says, by someone who only knows the endpoint."""
    factory: Any = boto3.client
    client = factory(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
    )
    try:
        yield client
    finally:
        client.close()


# --- uploads are judged and streamed ---------------------------------------------------------------------


def test_uploads_are_judged_filed_notified_and_streamed_one_line_each() -> None:
    with running() as (session, out, errors), user_client("s3", session.endpoint_url) as s3:
        bucket = session.provisioned.bucket
        s3.put_object(Bucket=bucket, Key="images/line-1/good.jpg", Body=picture("JPEG"))
        s3.put_object(Bucket=bucket, Key="images/line-1/flat.jpg", Body=picture("JPEG", crisp=False))
        s3.put_object(Bucket=bucket, Key="images/line-1/w.gif", Body=picture("GIF"))

        wait_until(lambda: len(out.getvalue().splitlines()) >= 3, what="three verdict lines")
        assert [] == keys(s3, bucket, "images/")
        verdicts = {
            key: record(s3, bucket, key).verdict.value
            for key in (
                "results/line-1/good.jpg.json",
                "results/line-1/flat.jpg.json",
                "results/line-1/w.gif.json",
            )
        }
        assert {
            "results/line-1/good.jpg.json": "PASS",
            "results/line-1/flat.jpg.json": "FAIL",
            "results/line-1/w.gif.json": "REJECTED",
        } == verdicts
        assert ["analyzed/failed/line-1/flat.jpg", "analyzed/passed/line-1/good.jpg"] == keys(
            s3, bucket, "analyzed/"
        )
        assert ["rejected/line-1/w.gif"] == keys(s3, bucket, "rejected/")

        lines = out.getvalue().splitlines()
        by_key = {line.split()[2]: line for line in lines}
        assert {"images/line-1/good.jpg", "images/line-1/flat.jpg", "images/line-1/w.gif"} == set(by_key)
        assert " PASS " in by_key["images/line-1/good.jpg"]
        assert "all 3 rules met" in by_key["images/line-1/good.jpg"]
        assert by_key["images/line-1/good.jpg"].endswith("-> analyzed/passed/line-1/good.jpg")
        assert "quality.minSharpness" in by_key["images/line-1/flat.jpg"]
        assert "not a JPEG or PNG image (GIF)" in by_key["images/line-1/w.gif"]
        assert by_key["images/line-1/w.gif"].endswith("-> rejected/line-1/w.gif")

        with user_client("sqs", session.endpoint_url) as sqs:
            emails = read_mailbox(sqs, session.provisioned.mailbox_url)
        assert ["FAIL", "PASS", "REJECTED"] == sorted(e.verdict or "" for e in emails)
    assert "" == errors.getvalue()


def test_json_lines_give_one_object_per_verdict() -> None:
    with running(json_lines=True) as (session, out, _), user_client("s3", session.endpoint_url) as s3:
        session.announce()
        s3.put_object(Bucket=session.provisioned.bucket, Key="images/line-2/w.gif", Body=picture("GIF"))
        wait_until(lambda: len(out.getvalue().splitlines()) >= 2, what="a verdict object")

    ready, verdict = (json.loads(line) for line in out.getvalue().splitlines())
    assert "ready" == ready["event"]
    assert session.endpoint_url == ready["endpoint_url"]
    assert "testing" == ready["environment"]["AWS_ACCESS_KEY_ID"]
    assert {
        "event": "verdict",
        "key": "images/line-2/w.gif",
        "verdict": "REJECTED",
        "reason": "not a JPEG or PNG image (GIF)",
        "destination": "rejected/line-2/w.gif",
        "record": "results/line-2/w.gif.json",
    } == {name: value for name, value in verdict.items() if name != "time"}


def test_a_duplicate_event_of_a_judged_image_is_not_streamed_twice() -> None:
    with session_of() as (session, out, _):
        session.poll()  # the s3:TestEvent that configuring the notification sends
        session.s3.put_object(Bucket=session.provisioned.bucket, Key="images/w.gif", Body=picture("GIF"))
        first = wait_until(session.poll, what="the verdict")
        # The same S3 event again, as S3 may deliver it: the handler finds the image already filed.
        body = load_event("s3SqsMotoBody.json")
        body["Records"][0]["s3"]["bucket"]["name"] = session.provisioned.bucket
        body["Records"][0]["s3"]["object"]["key"] = "images%2Fw.gif"
        session.sqs.send_message(QueueUrl=session.provisioned.queue_url, MessageBody=json.dumps(body))
        received = session.poller.stats.received
        assert [] == session.poll(wait_seconds=1)
        assert received + 1 == session.poller.stats.received
        assert 0 == session.poller.stats.failed
    assert ["verdict"] == [r.event for r in first]
    assert 1 == len(out.getvalue().splitlines())


def test_a_batch_the_handler_fails_is_reported_as_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    with session_of() as (session, out, _):
        session.poll()  # the s3:TestEvent
        monkeypatch.setattr(session, "_invoke_function", crash)
        session.s3.put_object(Bucket=session.provisioned.bucket, Key="images/w.jpg", Body=picture("JPEG"))
        (report,) = wait_until(session.poll, what="the retry report")
        assert ["images/w.jpg"] == keys(session.s3, session.provisioned.bucket, "images/")
    assert ("retry", "images/w.jpg") == (report.event, report.key)
    assert "receive 1 of 3" in report.reason
    assert "RETRY" in out.getvalue()


def test_the_session_runs_the_function_lambda_runs_even_without_the_handler_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An installed `inspector` (console script, any directory) cannot import the source tree's `handler`;
    # the function lives in the library, and `handler.lambda_handler` is the very same object.
    monkeypatch.setitem(sys.modules, "handler", None)
    with session_of() as (session, _, errors):
        assert "handler.lambda_handler" == session.function_name
        session.s3.put_object(Bucket=session.provisioned.bucket, Key="images/w.jpg", Body=picture("JPEG"))
        reports: list[Report] = wait_until(session.poll, what="the verdict")
    assert [("images/w.jpg", "PASS")] == [(r.key, r.verdict) for r in reports]
    assert "" == errors.getvalue()


# --- the watched folder ----------------------------------------------------------------------------------


def test_a_file_dropped_into_the_watched_folder_is_uploaded_and_judged(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    with (
        running(watch=drop, settle_seconds=0.5) as (session, out, _),
        user_client("s3", session.endpoint_url) as s3,
    ):
        (drop / "line-4").mkdir()
        (drop / "line-4" / "w.jpg").write_bytes(picture("JPEG"))
        bucket = session.provisioned.bucket
        wait_until(lambda: keys(s3, bucket, "results/line-4/w.jpg.json"), what="the dropped file's record")
        assert "PASS" == record(s3, bucket, "results/line-4/w.jpg.json").verdict
        wait_until(lambda: " PASS " in out.getvalue(), what="the verdict line")
    text = out.getvalue()
    assert f"uploaded  {drop / 'line-4' / 'w.jpg'} -> images/line-4/w.jpg" in text


def test_the_watch_uploads_a_file_once_it_is_stable_and_again_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / ".hidden.jpg").write_bytes(picture("JPEG"))
    (tmp_path / "w.jpg.part").write_bytes(picture("JPEG"))
    (tmp_path / "w.TMP").write_bytes(picture("JPEG"))
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "w.jpg").write_bytes(picture("JPEG"))
    (tmp_path / "w.jpg").write_bytes(picture("JPEG"))
    with session_of(settle_seconds=0) as (session, _, _):

        def uploads() -> list[str]:
            return [r.key for r in session.watch_once(tmp_path)]

        assert [] == uploads()  # first look: not yet known to be stable
        assert ["images/w.jpg"] == uploads()
        assert [] == uploads()  # unchanged: not again
        (tmp_path / "w.jpg").write_bytes(picture("PNG"))
        assert [] == uploads()  # changed: wait for it to settle
        assert ["images/w.jpg"] == uploads()
        (tmp_path / "w.jpg").unlink()
        assert [] == uploads()
        (tmp_path / "w.jpg").write_bytes(picture("PNG"))
        assert [] == uploads()
        assert ["images/w.jpg"] == uploads()  # dropped again after removal: uploaded again
        bucket = session.provisioned.bucket
        assert ["images/w.jpg"] == keys(session.s3, bucket, "images/")


# --- start, stop, refuse ---------------------------------------------------------------------------------


def test_the_banner_shows_the_endpoint_and_how_to_upload_but_no_real_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "my-real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "my-real-session-token")
    with session_of() as (session, out, _):
        session.announce()
        url, bucket = session.endpoint_url, session.provisioned.bucket
    text = out.getvalue()
    assert f"aws --endpoint-url {url} s3 cp w.jpg s3://{bucket}/images/" in text
    assert f"AWS_ENDPOINT_URL={url}" in text
    assert "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing" in text
    assert f'endpoint_url="{url}"' in text
    for line in ("region    us-east-1", f"queue     {session.provisioned.queue_url}", "DLQ", "topic"):
        assert line in text
    assert "my-real" not in text
    assert "my-real-secret" == os.environ["AWS_SECRET_ACCESS_KEY"]  # restored on stop


# Ctrl-C is an asynchronous exception: it can land anywhere in the main thread, even between botocore's
# `open()` of a service model and its `with` (seen once in ~20 runs here, when the first image's cold start
# was loading the S3 model), and that file is then closed by the garbage collector with a ResourceWarning,
# which this suite otherwise turns into an error. What "cleanly" means here is what the test asserts.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_ctrl_c_stops_cleanly_frees_the_port_and_restores_the_process(
    criteria_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    # Ctrl-C as a terminal's foreground job gets it: a runner started in the background ignores SIGINT,
    # and then interrupt_main() does nothing.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)

    returned = threading.Event()

    def press_ctrl_c_when_ready() -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not returned.is_set():
            if "Ctrl-C stops" in stdout.getvalue():  # the banner's last line: the loop is about to run
                _thread.interrupt_main()  # what Ctrl-C does: KeyboardInterrupt in the main thread
                return
            time.sleep(0.05)

    presser = threading.Thread(target=press_ctrl_c_when_ready)
    presser.start()
    try:
        status = main(["local", "--criteria", str(criteria_file), "--port", str(port)])
    except KeyboardInterrupt:  # pragma: no cover - only when the command lets it escape
        pytest.fail("the KeyboardInterrupt escaped `inspector local`")
    finally:
        returned.set()
        presser.join()
        signal.signal(signal.SIGINT, inherited)
        gc.collect()  # finalize here, under this test's filter, whatever the interrupt left unclosed

    assert 0 == status
    assert f"endpoint  http://127.0.0.1:{port}" in stdout.getvalue()
    assert "stopped" == stdout.getvalue().splitlines()[-1]
    assert [] == moto_server_threads()
    assert refuses_connections(port)
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert handler._processor is None


def test_a_bad_criteria_file_exits_2_with_one_line_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "criteria.yaml"
    bad.write_text("minConfidence: 150\nforbid: [{label: Rust, minConfidnce: 70}]\n", encoding="utf-8")

    assert 2 == main(["local", "--criteria", str(bad)])

    captured = capsys.readouterr()
    assert "" == captured.out
    (line,) = captured.err.splitlines()
    assert line.startswith("inspector: error: invalid criteria:")
    assert [] == moto_server_threads()


def test_criteria_the_local_detector_cannot_judge_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "criteria.yaml"
    labels.write_text("require: [{label: Widget}]\n", encoding="utf-8")

    assert 2 == main(["local", "--criteria", str(labels)])

    (line,) = capsys.readouterr().err.splitlines()
    assert "reports no labels, but the criteria name labels (Widget)" in line
    assert [] == moto_server_threads()


def test_a_busy_port_exits_2_at_once(criteria_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statuses: list[int] = []
    with closing(socket.socket()) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # In a thread: moto's server start would wait forever for a port it cannot bind.
        argv = ["local", "--criteria", str(criteria_file), "--port", str(port)]
        command_thread = threading.Thread(target=lambda: statuses.append(main(argv)), daemon=True)
        command_thread.start()
        command_thread.join(timeout=5)
    assert [2] == statuses
    (line,) = capsys.readouterr().err.splitlines()
    assert f"port {port} on 127.0.0.1 is not free" in line
    assert [] == moto_server_threads()


def test_each_session_starts_empty() -> None:
    with session_of() as (session, _, _):
        session.s3.put_object(Bucket=session.provisioned.bucket, Key="images/w.jpg", Body=picture("JPEG"))
    # moto keeps its state in module globals, shared by every server in the process.
    with session_of() as (session, _, _):
        assert [] == keys(session.s3, session.provisioned.bucket, "images/")
        # Only what provisioning writes: the criteria store's seed and line table.
        assert ["criteria/default/seed.json", "criteria/lines.json"] == keys(
            session.s3, session.provisioned.bucket, ""
        )
        assert 1 == session.poller.depth()  # only the s3:TestEvent of this session's notification setup


def test_without_criteria_the_packaged_demo_criteria_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    criteria, source = load_criteria(None)

    assert Criteria.load(Path(command.__file__).parent.parent / "samples" / "demo-criteria.yaml") == criteria
    assert "demo criteria" in source
    monkeypatch.setattr(command, "DEMO_CRITERIA", ("samples", "no-such-criteria.yaml"))
    with pytest.raises(UserError, match="pass --criteria"):
        load_criteria(None)


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json-lines"])
def test_sigterm_stops_like_ctrl_c_and_says_stopped(criteria_file: Path, json_lines: bool) -> None:
    script = Path(sys.executable).parent / "inspector"
    argv = [str(script), "local", "--criteria", str(criteria_file), *(["--json-lines"] if json_lines else [])]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        first = process.stdout.readline()  # the banner's first line (text) or the ready event (JSON)
        assert first
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()

    assert 0 == process.returncode
    assert "Traceback" not in err
    last = out.splitlines()[-1]
    assert ({"event": "stopped"} if json_lines else "stopped") == (json.loads(last) if json_lines else last)


def test_criteria_naming_labels_get_advice_that_fits_the_local_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "criteria.yaml"
    labels.write_text("forbid: [{label: Rust}]\n", encoding="utf-8")

    assert 2 == main(["local", "--criteria", str(labels)])

    (line,) = capsys.readouterr().err.splitlines()
    assert "another detector" not in line
    assert (
        "give quality and colour rules only (or --detector reference with its Anomaly label), or judge "
        "labels with `inspector analyze"
    ) in line


def test_the_same_bytes_uploaded_again_are_streamed_as_already_inspected() -> None:
    with session_of(json_lines=True) as (session, out, _):
        session.poll()  # the s3:TestEvent that configuring the notification sends
        bucket, data = session.provisioned.bucket, picture("JPEG")
        # Without versioning: on a versioned bucket the same bytes again are a new upload, judged anew.
        session.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        session.s3.put_object(Bucket=bucket, Key="images/w.jpg", Body=data)
        first = wait_until(session.poll, what="the verdict")
        time.sleep(1.1)  # S3's LastModified has one-second resolution
        session.s3.put_object(Bucket=bucket, Key="images/w.jpg", Body=data)
        again = wait_until(session.poll, what="the second upload's line")
        assert [] == keys(session.s3, bucket, "images/")  # removed, and said so
        emails = read_mailbox(session.sqs, session.provisioned.mailbox_url)

    assert ["verdict"] == [r.event for r in first]
    assert ["already-inspected"] == [r.event for r in again]
    said = "already inspected: same content, verdict PASS, filed at analyzed/passed/w.jpg"
    assert said == again[0].reason
    assert "already-inspected" == json.loads(out.getvalue().splitlines()[-1])["event"]
    assert said in again[0].text()
    assert 1 == len(emails)


def test_the_watch_waits_for_a_file_written_in_two_parts_and_files_it_once(tmp_path: Path) -> None:
    """A writer that pauses between two parts: never uploaded half-written (which would be REJECTED as
    truncated, then PASS, filed in two places with two emails)."""
    clock = [0.0]
    data = picture("JPEG")
    with session_of(settle_seconds=5, clock=lambda: clock[0]) as (session, _, _):

        def uploads() -> list[str]:
            return [r.key for r in session.watch_once(tmp_path)]

        with (tmp_path / "slow.jpg").open("wb") as writer:
            writer.write(data[: len(data) // 2])
            writer.flush()
            assert [] == uploads()
            clock[0] = 4.0
            assert [] == uploads()  # open for writing: not finished, however long it has kept its size
            clock[0] = 60.0
            assert [] == uploads()
            writer.write(data[len(data) // 2 :])
        assert [] == uploads()  # changed: settling again
        clock[0] = 62.0
        assert [] == uploads()  # closed, but not settled for 5 s yet
        clock[0] = 65.0
        assert ["images/slow.jpg"] == uploads()
        assert [] == uploads()
        bucket = session.provisioned.bucket
        assert data == session.s3.get_object(Bucket=bucket, Key="images/slow.jpg")["Body"].read()


def test_a_closed_file_is_held_back_until_it_has_settled(tmp_path: Path) -> None:
    clock = [0.0]
    with session_of(settle_seconds=5, clock=lambda: clock[0]) as (session, _, _):
        (tmp_path / "w.jpg").write_bytes(picture("JPEG")[:500])  # a first part, the writer gone for now
        assert [] == [r.key for r in session.watch_once(tmp_path)]
        clock[0] = 4.0
        assert [] == [r.key for r in session.watch_once(tmp_path)]  # the second part comes 4 s later
        with (tmp_path / "w.jpg").open("ab") as writer:
            writer.write(picture("JPEG")[500:])
        assert [] == [r.key for r in session.watch_once(tmp_path)]
        clock[0] = 9.5
        assert ["images/w.jpg"] == [r.key for r in session.watch_once(tmp_path)]


def test_open_for_writing_sees_a_writer_and_not_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "f.jpg"
    path.write_bytes(b"x")

    with path.open("rb"):
        assert not command.open_for_writing(path)
    with path.open("ab"):
        assert command.open_for_writing(path)
    assert not command.open_for_writing(path)
