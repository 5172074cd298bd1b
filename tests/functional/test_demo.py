"""`inspector demo`: the sample images through the whole pipeline on the embedded AWS, in-process."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from inspector.cli import main
from tests.support import without_aws_credentials

SAMPLES = Path(__file__).resolve().parents[2] / "inspector" / "samples" / "images"
EXPECTED = {"pass": "PASS", "fail": "FAIL", "review": "REVIEW", "rejected": "REJECTED"}
FOLDERS = {"PASS": "analyzed/passed/", "FAIL": "analyzed/failed/", "REVIEW": "analyzed/review/"}


def expected_verdicts() -> dict[str, str]:
    """images/<path> -> the verdict its file name announces (pass-, fail-, review-, rejected-)."""
    return {
        f"images/{path.relative_to(SAMPLES).as_posix()}": EXPECTED[path.name.split("-", 1)[0]]
        for path in sorted(SAMPLES.rglob("*"))
        if path.is_file()
    }


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str
    new_threads: list[str]  # threads alive after the run that were not before it
    environ_changed: list[str]
    logger_restored: bool
    session_restored: bool


def run_demo(*args: str) -> Run:
    """`inspector demo ARGS` in this process, with what it leaves behind."""
    before = {thread.ident for thread in threading.enumerate()}
    environ = dict(os.environ)
    logger = logging.getLogger("inspector")
    logging_state = (logger.handlers[:], logger.level, logger.propagate)
    # Start with no default session, as a fresh process does: one made during the run is then caught,
    # whichever tests ran before (an earlier one may have made one, which the run would simply reuse).
    earlier, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["demo", *args])
        session_restored = boto3.DEFAULT_SESSION is None
    finally:
        boto3.DEFAULT_SESSION = earlier
    return Run(
        status=status,
        stdout=out.getvalue(),
        stderr=err.getvalue(),
        new_threads=[t.name for t in threading.enumerate() if t.ident not in before],
        environ_changed=sorted(k for k in {*environ, *os.environ} if environ.get(k) != os.environ.get(k)),
        logger_restored=(logger.handlers[:], logger.level, logger.propagate) == logging_state,
        session_restored=session_restored,
    )


@pytest.fixture(scope="module")
def fake_aws_environment() -> Iterator[None]:
    """No real AWS account may be reached, whatever the developer's environment holds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            patch.delenv(variable, raising=False)
        yield


@pytest.fixture(scope="module")
def json_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-json") / "out"


@pytest.fixture(scope="module")
def text_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-text") / "out"


@pytest.fixture(scope="module")
def json_run(fake_aws_environment: None, json_output: Path) -> Run:
    return run_demo("--json", "--out", str(json_output))


@pytest.fixture(scope="module")
def document(json_run: Run) -> dict[str, object]:
    return json.loads(json_run.stdout)


@pytest.fixture(scope="module")
def text_run(fake_aws_environment: None, text_output: Path) -> Run:
    return run_demo("--out", str(text_output))


def test_the_samples_cover_every_verdict() -> None:
    assert {"PASS", "FAIL", "REVIEW", "REJECTED"} == set(expected_verdicts().values())


def test_json_is_exactly_one_document_on_stdout(json_run: Run) -> None:
    assert 0 == json_run.status
    assert 1 == json_run.stdout.count("\n")
    assert isinstance(json.loads(json_run.stdout), dict)
    assert "" == json_run.stderr  # no warning or error from the function


def test_every_sample_gets_the_verdict_its_name_announces(document: dict[str, object]) -> None:
    images = document["images"]
    assert isinstance(images, list)
    assert expected_verdicts() == {image["key"]: image["verdict"] for image in images}


def test_every_sample_is_filed_under_its_verdict(document: dict[str, object]) -> None:
    images = document["images"]
    assert isinstance(images, list)
    for image in images:
        rest = image["key"].removeprefix("images/")
        folder = FOLDERS.get(image["verdict"], "rejected/")
        assert f"{folder}{rest}" == image["destination"]


def test_images_prefix_is_empty_and_every_image_has_a_result_record(document: dict[str, object]) -> None:
    layout = document["layout"]
    assert isinstance(layout, list)
    assert [] == [key for key in layout if key.startswith("images/")]
    records = {f"results/{key.removeprefix('images/')}.json" for key in expected_verdicts()}
    evidence = {
        f"results/{key.removeprefix('images/')}.evidence.jpg"
        for key, verdict in expected_verdicts().items()
        if verdict in ("FAIL", "REVIEW")
    }
    assert records | evidence == {key for key in layout if key.startswith("results/")}
    assert ["models/line-4-widget.npz"] == [key for key in layout if key.startswith("models/")]


def test_line_4_shows_the_anomaly_confidence_its_boxes_and_its_evidence(document: dict[str, object]) -> None:
    images = {image["key"]: image for image in document["images"]}  # type: ignore[attr-defined]
    layout = document["layout"]
    assert isinstance(layout, list)
    kinds = ("scratch", "missing-screw", "stain", "chipped-corner", "foreign-particle")
    for kind in kinds:
        image = images[f"images/line-4/fail-{kind}.jpg"]
        anomaly = image["anomaly"]
        assert anomaly["confidence"] > 50, kind
        box = anomaly["boxes"][0]
        assert 0 <= box["left"] < box["left"] + box["width"] <= 1, kind
        assert 0 <= box["top"] < box["top"] + box["height"] <= 1, kind
        assert f"results/line-4/fail-{kind}.jpg.evidence.jpg" == image["evidence"]
        assert image["evidence"] in layout
        assert "reference" == image["detector"]
    for good in ("images/line-4/pass-widget-1.jpg", "images/line-4/pass-widget-2.jpg"):
        assert images[good]["anomaly"]["confidence"] < 50
        assert "evidence" not in images[good]
    assert "anomaly" not in images["images/line-1/pass-blue-widget-1.jpg"]  # the local detector's
    assert "local" == images["images/line-1/pass-blue-widget-1.jpg"]["detector"]


def test_every_samples_folder_is_a_line_judged_by_its_own_detectors(document: dict[str, Any]) -> None:
    lines = {
        image["key"].split("/")[1]: (image["line"], image.get("detector")) for image in document["images"]
    }
    assert {
        "line-1": ("line-1", "local"),
        "line-2": ("line-2", "local"),
        "line-3": ("line-3", "local"),  # every one rejected by the checks before it
        "line-4": ("line-4", "reference"),
    } == lines


def test_a_rule_the_local_detector_cannot_judge_is_never_shown_as_met(document: dict[str, Any]) -> None:
    for image in document["images"]:
        if image["line"] != "line-4":
            assert [] == [f for f in image["findings"] if f["subject"] == "Anomaly"], image["key"]


def test_the_evidence_images_outlive_the_embedded_aws_in_the_output_folder(
    document: dict[str, Any], json_output: Path
) -> None:
    kept = {image["key"]: image.get("evidence_file") for image in document["images"]}
    for key, verdict in expected_verdicts().items():
        if verdict in ("FAIL", "REVIEW"):
            path = Path(kept[key])
            assert json_output / "evidence" / f"{key.removeprefix('images/')}.evidence.jpg" == path
            assert b"\xff\xd8" == path.read_bytes()[:2]
        else:
            assert kept[key] is None
    emails = (json_output / "emails.txt").read_text()
    assert len(expected_verdicts()) == emails.count("Subject: QC ")
    assert "X-Amz-Signature=" in emails  # the links in full, there
    assert str(json_output / "emails.txt") == document["emails_file"]


def test_one_email_per_image_and_nothing_in_the_queues(document: dict[str, object]) -> None:
    assert len(expected_verdicts()) == document["emails"]
    assert 0 == document["dlq"]
    assert 0 == document["queue"]


def test_demo_finishes_well_within_a_minute(document: dict[str, object]) -> None:
    # A sanity bound, not a benchmark: it takes a few seconds here, and only a demo that hangs until its
    # drain timeout (45 s) would come near it. Timed assertions are otherwise kept out of the test suite.
    elapsed = document["elapsed_seconds"]
    assert isinstance(elapsed, float)
    print(f"inspector demo --json took {elapsed:.1f} s")
    assert elapsed < 60


def test_nothing_keeps_running_after_the_demo(json_run: Run, document: dict[str, object]) -> None:
    assert [] == json_run.new_threads  # moto's server thread and the function's worker pool are gone
    endpoint = urlsplit(str(document["endpoint"]))
    assert endpoint.hostname == "127.0.0.1"
    assert endpoint.port is not None
    with socket.socket() as probe:
        probe.settimeout(1)
        assert 0 != probe.connect_ex(("127.0.0.1", endpoint.port))


def test_the_demo_leaves_the_process_as_it_found_it(json_run: Run) -> None:
    assert [] == json_run.environ_changed
    assert json_run.logger_restored
    assert json_run.session_restored


def test_human_report_shows_verdicts_emails_bucket_and_dlq(text_run: Run, text_output: Path) -> None:
    assert 0 == text_run.status
    out = text_run.stdout
    assert "IMAGE (under images/)  " in out
    assert "line-2/fail-blurry.jpg " in out
    assert "quality.minSharpness" in out
    # Every samples folder is a line, with its detectors and its recipients; the subject names the line.
    local = "the local detector (image properties from the pixels; no labels)"
    assert f"  line-1 (images/line-1/): {local}; criteria " in out
    assert "emails to qc-group@example.com, line-1-lead@example.com" in out
    assert "  line-4 (images/line-4/): the reference detector (model models/line-4-widget.npz" in out
    assert "(the others' and forbid Anomaly >= 50)" in out
    assert f"  default (every other key): {local}" in out
    assert "line-1/pass-blue-widget-1.jpg     line-1  PASS" in out
    assert "line-3/rejected-animation.gif     line-3  REJECTED" in out
    assert "Subject: QC FAIL [line-4]: " in out
    emails = "Emails: 21 to qc-group@example.com and each line's lead, one per image: 5 PASS, 9 FAIL"
    assert f"{emails}, 2 REVIEW, 5 REJECTED (each in full: {text_output / 'emails.txt'})" in out
    assert f"Bucket s3://inspector-local-images at the end; every key: {text_output / 'bucket.txt'}:" in out
    assert "  images/     0 objects  (empty: every upload was filed)" in out
    assert "\nDLQ: 0 messages\n" in out
    assert "ANOMALY (BEST BOX)" in out
    assert "line-4/fail-scratch.jpg " in out
    assert f"  {text_output / 'evidence' / 'line-4' / 'fail-stain.jpg.evidence.jpg'}\n" in out
    assert "  | Evidence link (valid 1 day): http" in out
    summary = out.rstrip("\n").splitlines()[-1]
    assert summary.startswith("21 images: 5 PASS, 9 FAIL, 2 REVIEW, 5 REJECTED; 21 emails;")


def test_human_report_is_short_and_ends_with_the_verdict_table(text_run: Run) -> None:
    lines = text_run.stdout.rstrip("\n").splitlines()
    assert len(lines) < 100
    assert max(len(line) for line in lines) < 300  # no presigned link of 400 characters
    header = next(i for i, line in enumerate(lines) if line.startswith("IMAGE (under images/)"))
    rows = [line for line in lines[header + 1 :] if line.startswith("line-")]
    assert len(expected_verdicts()) == len(rows)
    assert lines[-2:] == ["", lines[-1]]  # only the summary after the table
    assert lines[-3].startswith("line-4/pass-widget-2.jpg")


def test_every_failing_finding_is_shown_and_json_carries_every_finding(
    text_run: Run, document: dict[str, Any]
) -> None:
    (dark,) = [image for image in document["images"] if image["key"] == "images/line-2/fail-too-dark.jpg"]
    failing = [f for f in dark["findings"] if f["outcome"] in {"unmet", "violated"}]
    assert len(failing) == len(dark["reasons"]) > 1
    assert dark["reason"] == dark["reasons"][0]
    assert {f["rule"] for f in dark["findings"]} >= {f["rule"] for f in failing}
    lines = text_run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("line-2/fail-too-dark.jpg "))
    shown = [line.strip().removeprefix("also: ") for line in lines[start + 1 : start + len(dark["reasons"])]]
    assert dark["reasons"][1:] == shown
    assert "more)" not in text_run.stdout


def test_human_report_holds_no_log_or_metric_lines(text_run: Run) -> None:
    assert [] == [line for line in text_run.stdout.splitlines() if line.startswith("{")]
    assert "" == text_run.stderr
    assert [] == text_run.new_threads


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("quality: {minSharpness: 150}\n", "minSharpness"),
        ("colors: [{color: blu, minPercent: 40}]\n", "unknown colour 'blu'"),
        ("require: [{label: Widget}]\n", "local reports no labels"),  # the local lines see none
        ("quality: [unclosed\n", "bad.yaml"),
    ],
    ids=["out-of-range", "unknown-colour", "labels-other-than-anomaly", "not-yaml"],
)
def test_bad_criteria_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    assert 2 == main(["demo", "--criteria", str(bad)])
    out, err = capsys.readouterr()
    assert "" == out
    assert 1 == err.count("\n")
    assert err.startswith("inspector: error: ")
    assert message in err


def test_missing_criteria_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 2 == main(["demo", "--criteria", str(tmp_path / "nowhere.yaml")])
    _, err = capsys.readouterr()
    assert 1 == err.count("\n")
    assert "nowhere.yaml" in err


def test_rekognition_without_credentials_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real-Rekognition path itself needs an AWS account and is not tested here; only its refusal.
    without_aws_credentials(monkeypatch, tmp_path)
    before = {thread.ident for thread in threading.enumerate()}

    assert 2 == main(["demo", "--detector", "rekognition"])

    out, err = capsys.readouterr()
    assert "" == out
    assert 1 == err.count("\n")
    assert err.startswith("inspector: error: --detector rekognition")
    assert "credentials" in err
    assert [] == [t.name for t in threading.enumerate() if t.ident not in before]  # no server was started


def test_console_script_runs_outside_the_checkout(tmp_path: Path) -> None:
    # Where `handler` is not importable from the working directory, as for `make demo` and any user:
    # the demo must still find the Lambda handler it drives. It leaves its output in ./demo-output.
    script = Path(sys.executable).parent / "inspector"
    done = subprocess.run(
        [str(script), "demo", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)
    document = json.loads(done.stdout)
    assert (tmp_path / "demo-output" / "evidence" / "line-4" / "fail-stain.jpg.evidence.jpg").is_file()
    assert expected_verdicts() == {image["key"]: image["verdict"] for image in document["images"]}


def test_an_output_folder_that_is_a_file_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--out", str(tmp_path / "out")])
    assert 2 == exited.value.code
    (line,) = capsys.readouterr().err.splitlines()
    assert "is a file, not a folder" in line
