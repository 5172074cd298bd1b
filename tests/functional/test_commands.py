"""The AWS commands (analyze, backtest, enqueue, redrive) run in-process against moto's server on loopback.

`--endpoint-url` is exercised for real: every AWS call goes over HTTP to `LocalAws`, as it would to the local
mode or to a real account.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from uuid import uuid4

import boto3
import pytest
from PIL import Image, ImageDraw, ImageFilter

from inspector.analysis import Analysis
from inspector.cli import main
from inspector.criteria import Criteria
from inspector.engine import evaluate
from inspector.events import Inspect, ObjectRef, parse_body
from inspector.local import LocalAws
from inspector.local import queue_depth as depth
from inspector.records import ResultRecord
from inspector.testing import labels

REGION = "us-east-1"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there
OLD_CRITERIA = {"minConfidence": 80, "require": [{"label": "Widget"}]}
NEW_CRITERIA = {"minConfidence": 95, "require": [{"label": "Widget"}]}
QUALITY_CRITERIA = {"quality": {"minSharpness": 40}}
INSPECTED_AT = datetime(2026, 11, 3, 9, 14, 27, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(scope="module")
def local_aws() -> Iterator[LocalAws]:
    """One moto server for the module; each test makes its own uniquely named bucket and queues."""
    with LocalAws(region=REGION) as aws:
        yield aws


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], local_aws: LocalAws) -> Any:
    """`cli("enqueue", ...)`: runs `inspector` in-process against the moto server, returns a `Run`."""

    def run(*argv: str, endpoint: str | None = None) -> Run:
        status = main([*argv, "--endpoint-url", endpoint or local_aws.endpoint_url, "--region", REGION])
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


@pytest.fixture
def s3(local_aws: LocalAws) -> Any:
    return local_aws.client("s3")


@pytest.fixture
def sqs(local_aws: LocalAws) -> Any:
    return local_aws.client("sqs")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"widgets-{uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def new_queue(sqs: Any, stem: str) -> str:
    return str(sqs.create_queue(QueueName=f"{stem}-{uuid4().hex[:8]}")["QueueUrl"])


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
    ).get("Messages", []):
        messages.extend(batch)
    return messages


def write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def one_line_error(run: Run) -> str:
    assert 2 == run.status
    assert "" == run.out
    assert 1 == len(run.err.splitlines()), run.err
    assert "Traceback" not in run.err
    return run.err


# --- images ------------------------------------------------------------------------------------------


def picture(*, blur: float = 0) -> Image.Image:
    """Stripes and a block: sharpness ~100 as drawn, ~1 under GaussianBlur(4)."""
    img = Image.new("RGB", (200, 160), "white")
    draw = ImageDraw.Draw(img)
    for x in range(0, 200, 12):
        draw.line([(x, 0), (x, 160)], fill="black", width=2)
    draw.rectangle([40, 40, 120, 110], fill=(30, 60, 200))
    return img.filter(ImageFilter.GaussianBlur(blur)) if blur else img


def save(img: Image.Image, path: Path, image_format: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, image_format)
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "images"
    folder.mkdir()
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    notes = folder / "notes.txt"
    notes.write_text("not a picture at all\n")
    return {
        "sharp.jpg": save(picture(), folder / "sharp.jpg", "JPEG"),
        "sharp.png": save(picture(), folder / "sharp.png", "PNG"),
        "blurry.jpg": save(picture(blur=4), folder / "blurry.jpg", "JPEG"),
        "anim.gif": save(picture(), folder / "anim.gif", "GIF"),
        "empty.jpg": empty,
        "notes.txt": notes,
    }


# --- analyze -----------------------------------------------------------------------------------------


def test_analyze_prints_a_table_of_file_verdict_and_main_reason(cli, images, tmp_path):
    criteria = write_json(tmp_path / "criteria.json", QUALITY_CRITERIA)

    run = cli("analyze", "--criteria", str(criteria), *map(str, images.values()))

    assert 0 == run.status
    rows = {Path(line.split()[0]).name: line for line in run.out.splitlines()[1:-1]}
    assert ["FILE", "VERDICT", "REASON"] == run.out.splitlines()[0].split()
    assert "PASS" == rows["sharp.jpg"].split()[1]
    assert "PASS" == rows["sharp.png"].split()[1]
    assert "FAIL" == rows["blurry.jpg"].split()[1]
    assert "quality.minSharpness sharpness: expected >= 40" in rows["blurry.jpg"]
    assert rows["anim.gif"].endswith("REJECTED  not a JPEG or PNG image (GIF)")
    assert rows["empty.jpg"].endswith("REJECTED  empty file (0 bytes)")
    assert rows["notes.txt"].endswith("REJECTED  not a JPEG or PNG image (text)")
    fingerprint = Criteria.from_document(QUALITY_CRITERIA).fingerprint
    assert (
        f"6 images: 2 PASS, 1 FAIL, 3 REJECTED  (criteria {fingerprint}, detector local)"
        == (run.out.splitlines()[-1])
    )


def test_analyze_json_is_one_document_with_every_image_and_the_criteria_fingerprint(cli, images, tmp_path):
    criteria = write_json(tmp_path / "criteria.json", QUALITY_CRITERIA)

    run = cli("analyze", "--json", "--criteria", str(criteria), *map(str, images.values()))

    document = run.json()
    assert 0 == run.status
    assert Criteria.from_document(QUALITY_CRITERIA).fingerprint == document["criteria"]
    verdicts = {Path(i["file"]).name: i["verdict"] for i in document["images"]}
    assert {
        "sharp.jpg": "PASS",
        "sharp.png": "PASS",
        "blurry.jpg": "FAIL",
        "anim.gif": "REJECTED",
        "empty.jpg": "REJECTED",
        "notes.txt": "REJECTED",
    } == verdicts
    by_name = {Path(i["file"]).name: i for i in document["images"]}
    assert "rejection" not in by_name["sharp.jpg"]
    assert ["quality.minSharpness"] == [f["rule"] for f in by_name["blurry.jpg"]["findings"]]
    assert "unmet" == by_name["blurry.jpg"]["findings"][0]["outcome"]
    assert "not a JPEG or PNG image (GIF)" == by_name["anim.gif"]["rejection"]
    assert [] == by_name["anim.gif"]["findings"]


def test_analyze_takes_a_folder_as_its_jpeg_and_png_files_recursively(cli, images, tmp_path):
    criteria = write_json(tmp_path / "criteria.json", QUALITY_CRITERIA)
    save(picture(), tmp_path / "images" / "line-3" / "deep.JPEG", "JPEG")

    run = cli("analyze", "--json", "--criteria", str(criteria), str(tmp_path / "images"))

    names = [Path(i["file"]).relative_to(tmp_path / "images").as_posix() for i in run.json()["images"]]
    assert ["blurry.jpg", "empty.jpg", "line-3/deep.JPEG", "sharp.jpg", "sharp.png"] == names


def test_analyze_asks_rekognition_with_the_image_bytes_at_the_endpoint(cli, images, tmp_path):
    # moto's DetectLabels answers "Mobile Phone" 99.94 whatever the image: enough to prove the round trip.
    criteria = write_json(tmp_path / "criteria.json", {"require": [{"label": "Mobile Phone"}]})

    run = cli(
        "analyze",
        "--json",
        "--detector",
        "rekognition",
        "--criteria",
        str(criteria),
        str(images["sharp.png"]),
    )

    (image,) = run.json()["images"]
    assert "PASS" == image["verdict"]
    assert 99.94 == pytest.approx(image["findings"][0]["observed"], abs=0.01)


def test_analyze_rejects_a_file_over_rekognitions_bytes_limit_without_calling_it(cli, tmp_path):
    criteria = write_json(tmp_path / "criteria.json", {"require": [{"label": "Widget"}]})
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff\xe0" + bytes(5 * 1024 * 1024))

    # An unreachable endpoint: a call to Rekognition would end in exit status 2.
    run = cli(
        "analyze",
        "--json",
        "--detector",
        "rekognition",
        "--criteria",
        str(criteria),
        str(big),
        endpoint=UNREACHABLE,
    )

    (image,) = run.json()["images"]
    assert "REJECTED" == image["verdict"]
    assert "file is 5,242,884 bytes; the detector takes at most 5,242,880 bytes" == image["rejection"]


def test_analyze_of_a_missing_file_is_one_line_and_exit_status_2(cli, images, tmp_path):
    criteria = write_json(tmp_path / "criteria.json", QUALITY_CRITERIA)

    run = cli("analyze", "--criteria", str(criteria), str(images["sharp.jpg"]), str(tmp_path / "nope.jpg"))

    assert "nope.jpg: no such file or folder" in one_line_error(run)


def test_analyze_refuses_label_criteria_with_the_local_detector(cli, images, tmp_path):
    criteria = write_json(tmp_path / "criteria.json", {"require": [{"label": "Widget"}]})

    run = cli("analyze", "--criteria", str(criteria), str(images["sharp.jpg"]))

    line = one_line_error(run)
    assert "--detector local: local reports no labels, but the criteria name labels (Widget)" in line
    assert "or use --detector rekognition (or custom-labels)" in line


# --- backtest ----------------------------------------------------------------------------------------


def judged(key: str, confidence: float, criteria: dict[str, Any] = OLD_CRITERIA) -> ResultRecord:
    analysis = Analysis.from_detect_labels(labels(("Widget", confidence)))
    evaluation = evaluate(analysis, Criteria.from_document(criteria))
    ref = ObjectRef(bucket="widgets", key=key, raw_key=key, size=1234, etag="abc")
    return ResultRecord.judged(ref, analysis, evaluation, inspected_at=INSPECTED_AT, detector="rekognition")


def rejected(key: str) -> ResultRecord:
    ref = ObjectRef(bucket="widgets", key=key, raw_key=key)
    fingerprint = Criteria.from_document(OLD_CRITERIA).fingerprint
    return ResultRecord.rejected(
        ref, "not a JPEG or PNG image (GIF)", criteria=fingerprint, inspected_at=INSPECTED_AT
    )


RECORDS = {
    "line-3/w1.jpg.json": judged("images/line-3/w1.jpg", 90.0),  # PASS at 80, FAIL at 95
    "line-3/w2.jpg.json": judged("images/line-3/w2.jpg", 99.0),  # PASS either way
    "line-4/w3.jpg.json": judged("images/line-4/w3.jpg", 50.0),  # FAIL either way
    "line-4/w4.gif.json": rejected("images/line-4/w4.gif"),  # REJECTED stays REJECTED
}
BROKEN = {"line-4/broken.json": b'{"schema_version": 1, "verdict": "PASS"'}


@pytest.fixture
def results_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    for name, record in RECORDS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(record.to_json())
    for name, data in BROKEN.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def new_criteria(tmp_path: Path) -> Path:
    return write_json(tmp_path / "new.json", NEW_CRITERIA)


def assert_backtest_counts(document: dict[str, Any], skipped_key: str) -> None:
    assert 4 == document["records"]
    assert 1 == document["flipped"]
    assert 1 == document["rejected"]
    assert {"PASS->FAIL": 1} == document["matrix"]
    assert {"PASS": 1, "FAIL": 1} == document["unchanged"]
    (flip,) = document["flips"]
    assert {"key": "images/line-3/w1.jpg", "from": "PASS", "to": "FAIL"} == {
        k: flip[k] for k in ("key", "from", "to")
    }
    assert "require[0] Widget: expected confidence >= 95, observed 90 -> unmet" == flip["reason"]
    assert [skipped_key] == [s["key"] for s in document["skipped"]]
    assert document["skipped"][0]["reason"].startswith("unreadable result record")
    assert Criteria.from_document(NEW_CRITERIA).fingerprint == document["criteria"]
    assert {Criteria.from_document(OLD_CRITERIA).fingerprint: 4} == document["old_criteria"]


def test_backtest_of_a_folder_counts_flips_exactly_and_leaves_rejected_records_alone(
    cli, results_folder, new_criteria
):
    run = cli("backtest", "--json", "--criteria", str(new_criteria), str(results_folder))

    assert 0 == run.status
    assert_backtest_counts(run.json(), str(results_folder / "line-4" / "broken.json"))


def test_backtest_text_shows_the_matrix_the_flipped_images_the_skipped_and_the_caveat(
    cli, results_folder, new_criteria
):
    run = cli("backtest", "--criteria", str(new_criteria), str(results_folder))

    lines = run.out.splitlines()
    assert 0 == run.status
    assert "  1 of 3 verdicts flip" in lines
    assert "flips: PASS -> FAIL: 1" in lines
    assert ["PASS", "1", "1", "0"] == next(line.split() for line in lines if line.strip().startswith("PASS "))
    reason = "require[0] Widget: expected confidence >= 95, observed 90 -> unmet"
    assert f"  images/line-3/w1.jpg  PASS -> FAIL: {reason}" in lines
    assert any(
        line.startswith(f"  {results_folder / 'line-4' / 'broken.json'}: unreadable") for line in lines
    )
    assert "LabelInclusionFilters" in lines[-1]
    assert "MinConfidence" in lines[-1]


def test_backtest_reads_records_from_s3_at_the_endpoint(cli, s3, bucket, new_criteria):
    for name, record in RECORDS.items():
        s3.put_object(Bucket=bucket, Key=f"results/{name}", Body=record.to_json().encode())
    for name, data in BROKEN.items():
        s3.put_object(Bucket=bucket, Key=f"results/{name}", Body=data)
    s3.put_object(Bucket=bucket, Key="results/README.txt", Body=b"not a record")
    s3.put_object(Bucket=bucket, Key="images/w9.jpg.json", Body=b"outside the prefix")

    run = cli("backtest", "--json", "--criteria", str(new_criteria), f"s3://{bucket}/results/")

    assert 0 == run.status
    assert_backtest_counts(run.json(), "results/line-4/broken.json")


def test_backtest_notes_mixed_old_criteria_and_labels_no_analysis_has(cli, tmp_path):
    older = {"minConfidence": 70, "require": [{"label": "Widget"}]}
    folder = tmp_path / "results"
    write_json(folder / "a.json", json.loads(judged("images/a.jpg", 90.0).to_json()))
    write_json(folder / "b.json", json.loads(judged("images/b.jpg", 75.0, older).to_json()))
    criteria = write_json(
        tmp_path / "new.json", {"require": [{"label": "Widget"}], "forbid": [{"label": "Rust"}]}
    )

    notes = cli("backtest", "--json", "--criteria", str(criteria), str(folder)).json()["notes"]

    assert notes[0].startswith("mixed criteria: the records were judged under 2 different criteria")
    assert notes[1].startswith("no stored analysis has the label(s) Rust:")


def test_backtest_show_limits_the_listed_flips(cli, results_folder, new_criteria):
    run = cli("backtest", "--show", "0", "--criteria", str(new_criteria), str(results_folder))

    assert "flipped images (0 of 1):" in run.out
    assert "  ... and 1 more (--show N, or --json for all)" in run.out


def test_backtest_reads_the_shipped_saved_analyses_as_judged_now(cli):
    examples = Path(__file__).resolve().parents[2] / "examples"

    run = cli("backtest", "--json", "--criteria", str(examples / "criteria.yaml"), str(examples / "analyses"))

    document = run.json()
    assert 0 == run.status
    assert [] == document["skipped"]
    assert 5 == sum(document["analyses"].values())
    assert {"PASS": 1, "FAIL": 3, "REVIEW": 1} == document["analyses"]


def test_backtest_headline_does_not_count_not_measured_as_a_flip(cli, results_folder, tmp_path):
    # The stored analyses hold no image properties: a new quality rule reads "not measured" on each.
    criteria = write_json(tmp_path / "quality.json", {**OLD_CRITERIA, **QUALITY_CRITERIA})

    run = cli("backtest", "--criteria", str(criteria), str(results_folder))
    document = cli("backtest", "--json", "--criteria", str(criteria), str(results_folder)).json()

    assert "  0 of 1 verdicts flip (2 more only because a rule reads 'not measured'" in run.out
    assert (0, 2) == (document["flipped"], document["not_measured"])
    assert all(flip["not_measured"] for flip in document["flips"])


def test_backtest_of_a_folder_without_records_is_a_user_error(cli, tmp_path, new_criteria):
    (tmp_path / "empty").mkdir()

    run = cli("backtest", "--criteria", str(new_criteria), str(tmp_path / "empty"))

    assert "no result records or saved analyses (*.json) in this folder" in one_line_error(run)


# --- enqueue -----------------------------------------------------------------------------------------

KEYS = ["images/w1.jpg", "images/line 3/widget é+1.jpg", "images/line 3/100% done.png"]


def test_enqueue_sends_events_the_pipeline_reads_back_into_the_same_objects(cli, s3, sqs, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=f"data of {key}".encode())
    s3.put_object(Bucket=bucket, Key="images/line 3/", Body=b"")  # the console's "create folder"
    queue = new_queue(sqs, "inspect")

    run = cli("enqueue", f"s3://{bucket}/images/", "--queue", queue)

    assert 0 == run.status
    assert f"sent 3 events to {queue} (1 folder marker skipped)\n" == run.out
    refs: dict[str, ObjectRef] = {}
    for message in drain(sqs, queue):
        parsed = parse_body(message["Body"], prefix="images/", bucket=bucket)
        assert isinstance(parsed, Inspect)
        (ref,) = parsed.objects
        refs[ref.key] = ref
    assert sorted(KEYS) == sorted(refs)
    for key, ref in refs.items():
        head = s3.head_object(Bucket=bucket, Key=key)
        assert quote_plus(key, safe="/") == ref.raw_key
        assert head["ContentLength"] == ref.size
        assert head["ETag"].strip('"') == ref.etag
        assert "ObjectCreated:Put" == ref.event_name
        assert REGION == ref.region


def test_enqueue_sends_in_batches_of_ten_every_object_under_the_prefix(cli, s3, sqs, bucket):
    for i in range(23):
        s3.put_object(Bucket=bucket, Key=f"images/batch/{i:02d}.jpg", Body=b"x")
    s3.put_object(Bucket=bucket, Key="images/other/skip.jpg", Body=b"x")
    queue = new_queue(sqs, "inspect")

    run = cli("enqueue", f"s3://{bucket}/images/batch/", "--queue", queue)

    assert "sent 23 events" in run.out
    assert 23 == len(drain(sqs, queue))


def test_enqueue_dry_run_lists_the_objects_and_sends_nothing(cli, s3, sqs, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"12345")
    queue = new_queue(sqs, "inspect")

    run = cli("enqueue", "--dry-run", f"s3://{bucket}/images/", "--queue", queue)

    assert 0 == run.status
    assert f"would send 3 events to {queue}:" == run.out.splitlines()[0]
    assert sorted(f"  s3://{bucket}/{key}  (5 bytes)" for key in KEYS) == sorted(run.out.splitlines()[1:])
    assert 0 == depth(sqs, queue)


def test_enqueue_finds_the_queue_by_name_and_warns_about_keys_outside_the_images_prefix(cli, s3, sqs, bucket):
    s3.put_object(Bucket=bucket, Key="analyzed/passed/w1.jpg", Body=b"x")
    queue = new_queue(sqs, "inspect")

    run = cli("enqueue", f"s3://{bucket}/analyzed/", "--queue", queue.rsplit("/", 1)[-1])

    assert f"sent 1 events to {queue}\n" == run.out
    assert "warning: 1 of 1 objects are outside images/" in run.err
    assert 1 == depth(sqs, queue)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("widgets/images/", "is not an s3://bucket/prefix address", id="not an s3 address"),
        pytest.param("s3:///images/", "names no bucket", id="no bucket"),
    ],
)
def test_enqueue_of_a_bad_source_is_one_line_and_exit_status_2(cli, source, message):
    run = cli("enqueue", source, "--queue", "http://127.0.0.1:9/000000000000/q")

    assert message in one_line_error(run)


def test_enqueue_of_an_empty_prefix_is_a_user_error(cli, bucket, sqs):
    run = cli("enqueue", f"s3://{bucket}/images/", "--queue", new_queue(sqs, "inspect"))

    assert "nothing to enqueue" in one_line_error(run)


# --- redrive -----------------------------------------------------------------------------------------


@pytest.fixture
def queues(sqs: Any) -> tuple[str, str]:
    """(dlq, queue), the DLQ holding three messages with message attributes."""
    dlq, queue = new_queue(sqs, "inspect-dlq"), new_queue(sqs, "inspect")
    for i in range(3):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"n": i, "text": "é"}),
            MessageAttributes={"attempt": {"DataType": "Number", "StringValue": str(i)}},
        )
    return dlq, queue


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the user's answer already typed."""

    def isatty(self) -> bool:
        return True


def test_redrive_moves_every_dlq_message_to_the_queue_with_body_and_attributes_intact(cli, sqs, queues):
    dlq, queue = queues

    run = cli("redrive", "--dlq", dlq, "--queue", queue, "--yes")

    assert 0 == run.status
    assert f"moved 3 messages from {dlq.rsplit('/', 1)[-1]} to {queue.rsplit('/', 1)[-1]}\n" == run.out
    moved = drain(sqs, queue)
    assert [{"n": 0, "text": "é"}, {"n": 1, "text": "é"}, {"n": 2, "text": "é"}] == sorted(
        (json.loads(m["Body"]) for m in moved), key=lambda body: body["n"]
    )
    assert {"0", "1", "2"} == {m["MessageAttributes"]["attempt"]["StringValue"] for m in moved}
    assert {"Number"} == {m["MessageAttributes"]["attempt"]["DataType"] for m in moved}
    assert 0 == depth(sqs, dlq)


def test_redrive_max_moves_at_most_that_many(cli, sqs, queues):
    dlq, queue = queues

    run = cli("redrive", "--dlq", dlq, "--queue", queue, "--yes", "--max", "2")

    assert "moved 2 messages" in run.out
    assert 2 == depth(sqs, queue)
    assert 1 == depth(sqs, dlq)


def test_redrive_without_yes_and_without_a_terminal_moves_nothing_and_exits_2(cli, sqs, queues, monkeypatch):
    dlq, queue = queues
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))

    run = cli("redrive", "--dlq", dlq, "--queue", queue)

    assert "pass --yes to confirm" in one_line_error(run)
    assert 3 == depth(sqs, dlq)
    assert 0 == depth(sqs, queue)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(("y\n", 0, 3), id="y moves them"),
        pytest.param(("n\n", 3, 0), id="n moves nothing"),
        pytest.param(("\n", 3, 0), id="enter moves nothing"),
    ],
)
def test_redrive_asks_on_a_terminal_and_moves_only_on_yes(cli, sqs, queues, monkeypatch, case):
    answer, in_dlq, in_queue = case
    dlq, queue = queues
    monkeypatch.setattr("sys.stdin", Terminal(answer))

    run = cli("redrive", "--dlq", dlq, "--queue", queue)

    assert 0 == run.status
    assert run.out.startswith(
        f"Move 3 messages from {dlq.rsplit('/', 1)[-1]} to {queue.rsplit('/', 1)[-1]}? [y/N] "
    )
    assert in_dlq == depth(sqs, dlq)
    assert in_queue == depth(sqs, queue)


def test_redrive_of_an_empty_dlq_says_so_and_moves_nothing(cli, sqs):
    dlq, queue = new_queue(sqs, "inspect-dlq"), new_queue(sqs, "inspect")

    run = cli("redrive", "--dlq", dlq, "--queue", queue, "--yes")

    assert 0 == run.status
    assert "holds no visible messages: nothing to move" in run.out


# --- every command: AWS out of reach -----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(
            ["enqueue", "s3://widgets/images/", "--queue", f"{UNREACHABLE}/000000000000/q"], id="enqueue"
        ),
        pytest.param(["backtest", "--criteria", "{criteria}", "s3://widgets/results/"], id="backtest"),
        pytest.param(
            ["redrive", "--yes", "--dlq", f"{UNREACHABLE}/0/dlq", "--queue", f"{UNREACHABLE}/0/q"],
            id="redrive",
        ),
        pytest.param(
            ["analyze", "--detector", "rekognition", "--criteria", "{criteria}", "{image}"], id="analyze"
        ),
    ],
)
def test_an_unreachable_endpoint_is_one_line_and_exit_status_2(cli, tmp_path, argv):
    criteria = write_json(tmp_path / "criteria.json", {"require": [{"label": "Widget"}]})
    image = save(picture(), tmp_path / "w1.png", "PNG")
    argv = [a.format(criteria=criteria, image=image) for a in argv]

    run = cli(*argv, endpoint=UNREACHABLE)

    line = one_line_error(run)
    assert f"cannot reach {UNREACHABLE}" in line or "cannot reach http" in line
    assert "(EndpointConnectionError)" in line


def test_missing_credentials_are_one_line_and_exit_status_2(cli, monkeypatch, tmp_path, sqs, queues):
    dlq, queue = queues
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3.client() shares one default session, which keeps the credentials it found first.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)

    run = cli("redrive", "--yes", "--dlq", dlq, "--queue", queue)

    assert "no AWS credentials found: configure some (`aws configure`" in one_line_error(run)
