"""Product lines and live criteria on moto: per-line criteria and requests, publication through the cache,
refused documents, the criteria commands, and re-judging without a second recognition."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from inspector.app import Clients, build
from inspector.batch import BatchProcessor
from inspector.cli import main
from inspector.criteria import Criteria
from inspector.deployment import Recipient
from inspector.engine import Verdict
from inspector.lines import Line
from inspector.livecriteria.cache import LiveCriteria
from inspector.livecriteria.documents import Layout
from inspector.livecriteria.store import CriteriaStore
from inspector.local import seed_criteria
from inspector.observability import Metrics
from inspector.records import ResultRecord
from inspector.testing import FakeDetector
from tests.functional.lined import BUCKET, LINE_1, LINE_2, NAME, REFRESH, SCRATCHED, deployment
from tests.functional.world import REGION, World, jpeg


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def live_processor(
    world: World, detector: FakeDetector, clock: Clock, metrics: Metrics | None = None
) -> BatchProcessor:
    """The function as the stack configures it (live criteria, the deployment's lines), on a test clock."""
    settings = deployment().settings(topic_arn=world.topic_arn, bucket=world.bucket)
    metrics = metrics or Metrics("Test", stream=io.StringIO())
    processor = build(
        settings, clients=Clients(s3=world.s3, sns=world.sns), detector=detector, metrics=metrics
    )
    store = CriteriaStore(world.bucket, world.s3, layout=Layout(settings.criteria_prefix or ""))
    processor.inspector.criteria = LiveCriteria(store, refresh_seconds=REFRESH, metrics=metrics, clock=clock)
    world.processors.append(processor)
    return processor


def store(world: World) -> CriteriaStore:
    return CriteriaStore(world.bucket, world.s3)


def line(name: str) -> Line:
    return deployment().line_table.named(name)


def filed(world: World) -> list[str]:
    """The bucket's keys but the reports' daily copies of the records."""
    keys: list[str] = world.keys()
    return [key for key in keys if not key.startswith("daily/")]


def record(world: World, key: str) -> ResultRecord:
    return ResultRecord.from_json(world.body("results/" + key.removeprefix("images/") + ".json"))


def cli(*args: str) -> int:
    return main([*args, "--bucket", BUCKET, "--region", REGION])


def rejudge(world: World, line: str, *options: str) -> int:
    return main(["enqueue", f"s3://{world.bucket}", "--rejudge", line, "--queue", world.queue_url, *options])


# --- lines ---------------------------------------------------------------------------------------


def test_each_line_is_judged_by_its_own_criteria_with_its_own_request(lined: World) -> None:
    detector = FakeDetector(default=SCRATCHED)
    processor = live_processor(lined, detector, Clock())
    for key in ("images/line-1/w1.jpg", "images/line-2/w2.jpg", "images/line-3/w3.jpg"):
        lined.upload(key, jpeg())

    assert {"batchItemFailures": []} == lined.run(processor)

    assert ("line-1", Verdict.FAIL) == _line_and_verdict(lined, "images/line-1/w1.jpg")
    assert ("line-2", Verdict.PASS) == _line_and_verdict(lined, "images/line-2/w2.jpg")
    assert ("default", Verdict.PASS) == _line_and_verdict(lined, "images/line-3/w3.jpg")
    requests = {image.key: request for image, request in detector.calls}  # type: ignore[union-attr]
    assert ("Widget", "Scratch") == requests["images/line-1/w1.jpg"].labels
    assert requests["images/line-2/w2.jpg"].image_properties
    assert (("Widget",), False) == (
        requests["images/line-3/w3.jpg"].labels,
        requests["images/line-3/w3.jpg"].image_properties,
    )


def _line_and_verdict(world: World, key: str) -> tuple[str, Verdict]:
    found = record(world, key)
    return found.line, found.verdict


def test_the_email_names_the_line_in_subject_body_and_attribute(lined: World) -> None:
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), Clock())
    lined.upload("images/line-1/w1.jpg", jpeg())

    lined.run(processor)

    (email,) = lined.emails()
    assert "QC FAIL [line-1]: w1.jpg" == email.subject
    assert "line-1" == email.attributes["line"]
    assert "Line: line-1" in email.body.splitlines()


def test_a_lines_subscription_filter_lets_only_that_lines_verdicts_through(lined: World) -> None:
    # moto applies filter policies on SQS subscriptions: a queue stands in for the line lead's mailbox.
    lead = lined.sqs.create_queue(QueueName="line-1-lead")["QueueUrl"]
    arn = lined.sqs.get_queue_attributes(QueueUrl=lead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (recipient,) = [r for r in deployment().subscriptions() if r.email == "line-1-lead@example.com"]
    lined.sns.subscribe(
        TopicArn=lined.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(recipient.filter_policy())},
    )
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), Clock())
    for key in ("images/line-1/bad.jpg", "images/line-2/ok.jpg", "images/other/bad.jpg"):
        lined.upload(key, jpeg())

    lined.run(processor)

    received = lined.sqs.receive_message(QueueUrl=lead, MaxNumberOfMessages=10).get("Messages", [])
    assert ["QC FAIL [line-1]: bad.jpg"] == [json.loads(m["Body"])["Subject"] for m in received]
    assert 3 == len(lined.emails())  # the topic itself got all three


def test_metrics_count_images_by_line_and_verdict(lined: World) -> None:
    stream = io.StringIO()
    processor = live_processor(
        lined, FakeDetector(default=SCRATCHED), Clock(), Metrics("Test", stream=stream)
    )
    lined.upload("images/line-1/w1.jpg", jpeg())

    lined.run(processor)

    (images,) = [json.loads(x) for x in stream.getvalue().splitlines() if '"Images"' in x]
    assert [["Service", "Verdict"], ["Service", "Line", "Verdict"]] == images["_aws"]["CloudWatchMetrics"][0][
        "Dimensions"
    ]
    assert ("line-1", "FAIL", 1.0) == (images["Line"], images["Verdict"], images["Images"])


# --- live criteria -------------------------------------------------------------------------------


def test_a_publication_takes_effect_within_the_refresh_interval_without_a_restart(lined: World) -> None:
    clock = Clock()
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), clock)
    lined.upload("images/line-2/a.jpg", jpeg())
    lined.run(processor)
    strict = Criteria.from_document({**LINE_2, "forbid": [{"label": "Scratch"}]})

    store(lined).publish(line("line-2"), strict, who="arn:aws:iam::123456789012:user/qc")
    clock.now += REFRESH - 1
    lined.upload("images/line-2/b.jpg", jpeg())
    lined.run(processor)
    clock.now += 1
    lined.upload("images/line-2/c.jpg", jpeg())
    lined.run(processor)

    verdicts = [record(lined, f"images/line-2/{n}.jpg").verdict for n in "abc"]
    assert [Verdict.PASS, Verdict.PASS, Verdict.FAIL] == verdicts
    assert strict.fingerprint == record(lined, "images/line-2/c.jpg").criteria


def _version(line: str, criteria: dict[str, Any], fingerprint: str | None = None) -> bytes:
    document = {
        "line": line,
        "version": 9,
        "fingerprint": fingerprint or Criteria.from_document(criteria).fingerprint,
        "criteria": criteria,
        "publishedBy": "someone",
    }
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        _version("line-2", {"require": []}, fingerprint="x"),
        _version("line-2", {"forbid": [{"label": "Scratch"}]}, fingerprint="0000000000000000"),
        _version("line-1", LINE_1),
    ],
    ids=["not-json", "invalid-criteria", "wrong-fingerprint", "another-lines-document"],
)
def test_a_bad_published_document_never_takes_effect_and_is_counted(lined: World, body: bytes) -> None:
    clock = Clock()
    stream = io.StringIO()
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), clock, Metrics("Test", stream=stream))
    lined.upload("images/line-2/a.jpg", jpeg())
    lined.run(processor)

    lined.s3.put_object(Bucket=lined.bucket, Key="criteria/line-2/current.json", Body=body)
    clock.now += REFRESH
    lined.upload("images/line-2/b.jpg", jpeg())
    lined.run(processor)

    seed = Criteria.from_document(LINE_2).fingerprint
    assert [seed, seed] == [record(lined, f"images/line-2/{n}.jpg").criteria for n in "ab"]
    rejected = [json.loads(x) for x in stream.getvalue().splitlines() if "CriteriaRejected" in x]
    assert [("line-2", 1.0)] == [(m["Line"], m["CriteriaRejected"]) for m in rejected]


def test_a_new_container_on_a_refused_document_takes_the_last_good_version(lined: World) -> None:
    good = Criteria.from_document({**LINE_2, "forbid": [{"label": "Scratch"}]})
    published = store(lined).publish(line("line-2"), good, who="arn:aws:iam::123456789012:user/qc")
    lined.s3.put_object(Bucket=lined.bucket, Key="criteria/line-2/current.json", Body=b"garbage")
    stream = io.StringIO()
    processor = live_processor(
        lined, FakeDetector(default=SCRATCHED), Clock(), Metrics("Test", stream=stream)
    )
    lined.upload("images/line-2/a.jpg", jpeg())

    assert {"batchItemFailures": []} == lined.run(processor)

    assert (good.fingerprint, Verdict.FAIL) == (
        record(lined, "images/line-2/a.jpg").criteria,
        record(lined, "images/line-2/a.jpg").verdict,
    )
    assert published.version == processor.inspector.criteria.version(line("line-2"))
    assert "CriteriaRejected" in stream.getvalue()


def test_a_later_deploy_rewrites_the_seed_but_never_a_publication(lined: World, boto_session: Any) -> None:
    published = Criteria.from_document({**LINE_1, "minConfidence": 95})
    store(lined).publish(line("line-1"), published, who="arn:aws:iam::123456789012:user/qc")
    changed = deployment().model_copy(
        update={"criteria": Criteria.from_document({"require": [{"label": "Bolt"}]})}
    )

    seed_criteria(lined.s3, lined.bucket, changed, stack=NAME)  # what `pulumi up` writes

    assert published.fingerprint == store(lined).current("line-1").fingerprint  # type: ignore[union-attr]
    assert changed.criteria.fingerprint == store(lined).current("default").fingerprint  # type: ignore[union-attr]


# --- the commands --------------------------------------------------------------------------------


@pytest.fixture
def criteria_file(tmp_path: Any) -> Any:
    path = tmp_path / "strict.yaml"
    path.write_text("minConfidence: 90\nrequire: [{label: Widget}]\nforbid: [{label: Scratch}]\n")
    return path


def test_publish_backtests_against_the_lines_records_then_publishes_with_who_and_when(
    lined: World, criteria_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), Clock())
    lined.upload("images/line-2/a.jpg", jpeg())
    lined.upload("images/other/b.jpg", jpeg())
    lined.run(processor)

    status = cli("criteria", "publish", str(criteria_file), "--line", "line-2", "--yes")

    out = capsys.readouterr().out
    assert 0 == status
    assert "line 'line-2''s 1 most recent result records" in out
    assert "images/line-2/a.jpg  PASS -> FAIL: forbid[0] Scratch" in out
    assert "images/other/b.jpg" not in out  # another line's record
    current = store(lined).current("line-2")
    assert current is not None
    assert (1, Criteria.load(criteria_file).fingerprint) == (current.version, current.fingerprint)
    assert current.published_by.startswith("arn:aws:")
    assert current.published_at is not None


def test_publish_without_a_terminal_or_yes_publishes_nothing(
    lined: World, criteria_file: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    assert 2 == cli("criteria", "publish", str(criteria_file), "--line", "line-2")

    assert "pass --yes to confirm" in capsys.readouterr().err
    assert 0 == store(lined).current("line-2").version  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("require: [{label: Widget, minConfidence: 150}]\n", "minConfidence"),
        ("colors: [{color: blu, minPercent: 10}]\n", "unknown colour"),
    ],
    ids=["invalid", "unknown-colour"],
)
def test_publish_refuses_bad_criteria_with_one_line(
    lined: World, tmp_path: Any, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)

    assert 2 == cli("criteria", "publish", str(path), "--line", "line-1", "--yes")

    (line_,) = capsys.readouterr().err.splitlines()
    assert message in line_
    assert 0 == store(lined).current("line-1").version  # type: ignore[union-attr]


def test_publish_refuses_an_unknown_line_naming_the_lines(
    lined: World, criteria_file: Any, capsys: Any
) -> None:
    assert 2 == cli("criteria", "publish", str(criteria_file), "--line", "line-9", "--yes")

    assert "no line named 'line-9' (lines: default, line-1, line-2)" in capsys.readouterr().err


def test_history_and_rollback(lined: World, criteria_file: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == cli(
        "criteria", "publish", str(criteria_file), "--line", "line-2", "--yes", "--note", "scratches"
    )
    relaxed = criteria_file.with_name("relaxed.yaml")
    relaxed.write_text("minConfidence: 80\nrequire: [{label: Widget}]\n")
    assert 0 == cli("criteria", "publish", str(relaxed), "--line", "line-2", "--yes")
    capsys.readouterr()

    assert 0 == cli("criteria", "rollback", "--line", "line-2", "--yes")
    rolled = capsys.readouterr().out
    assert 0 == cli("criteria", "history", "--line", "line-2", "--json")

    assert "rolling line 'line-2' back from version 2 to version 1's criteria" in rolled
    assert "FAIL -> PASS" not in rolled  # no records: nothing to flip
    history = json.loads(capsys.readouterr().out)
    versions = {v["version"]: v for v in history["versions"]}
    assert 3 == history["current"]
    assert [0, 1, 2, 3] == sorted(versions)
    assert (
        versions[3]["fingerprint"] == versions[1]["fingerprint"] == Criteria.load(criteria_file).fingerprint
    )
    assert (1, "rollback to version 1") == (versions[3]["restoredFrom"], versions[3]["note"])
    assert "scratches" == versions[1]["note"]
    assert all(v["publishedBy"].startswith("arn:aws:") for n, v in versions.items() if n)


def test_history_as_a_table_marks_the_version_in_effect(
    lined: World, criteria_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("criteria", "publish", str(criteria_file), "--line", "line-2", "--yes")
    capsys.readouterr()

    assert 0 == cli("criteria", "history", "--line", "line-2")

    rows = capsys.readouterr().out.splitlines()
    assert rows[2].split()[:2] == ["0", Criteria.from_document(LINE_2).fingerprint]
    assert "the stack's seed" in rows[2]
    assert rows[3].startswith("*  1 ")


def test_publishing_the_criteria_in_effect_publishes_nothing(
    lined: World, criteria_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Criteria.load(criteria_file) == Criteria.from_document(LINE_1)

    assert 0 == cli("criteria", "publish", str(criteria_file), "--line", "line-1", "--yes")

    assert "already judges by these criteria" in capsys.readouterr().out
    assert [] == store(lined).version_numbers("line-1")


def test_rollback_with_nothing_published_exits_2(lined: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == cli("criteria", "rollback", "--line", "line-1", "--yes")

    assert "nothing was published" in capsys.readouterr().err


# --- re-judging ----------------------------------------------------------------------------------


def test_reenqueued_filed_images_are_rejudged_from_the_stored_analysis(
    lined: World, criteria_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    detector = FakeDetector(default=SCRATCHED)
    processor = live_processor(lined, detector, Clock())
    data = jpeg()
    lined.upload("images/line-2/a.jpg", data)
    lined.run(processor)
    assert ["analyzed/passed/line-2/a.jpg", "results/line-2/a.jpg.json"] == filed(lined)
    # The new criteria ask nothing the first request did not (Widget, from a confidence of 90; sharpness):
    # they only raise the threshold, which the stored Widget at 97 no longer meets.
    narrower = criteria_file.with_name("narrower.yaml")
    narrower.write_text("minConfidence: 98\nrequire: [{label: Widget}]\nquality: {minSharpness: 50}\n")
    assert 0 == cli("criteria", "publish", str(narrower), "--line", "line-2", "--yes")
    processor = live_processor(lined, detector, Clock())  # a new container: no cache to wait out

    status = rejudge(lined, "line-2")
    lined.run(processor)

    assert 0 == status
    assert "1 filed images returned" in capsys.readouterr().out
    assert 1 == len(detector.calls)  # no second recognition
    again = record(lined, "images/line-2/a.jpg")
    assert (Verdict.FAIL, Criteria.load(narrower).fingerprint) == (again.verdict, again.criteria)
    assert Criteria.from_document(LINE_2).fingerprint == again.rejudged_from
    # The FAIL's evidence image beside its record, written for the new verdict.
    assert [
        "analyzed/failed/line-2/a.jpg",
        "results/line-2/a.jpg.evidence.jpg",
        "results/line-2/a.jpg.json",
    ] == filed(lined)
    assert again.evidence == "results/line-2/a.jpg.evidence.jpg"
    assert data == lined.body("analyzed/failed/line-2/a.jpg")
    assert 2 == len(lined.emails())


def test_rejudging_asks_for_a_new_recognition_when_the_analysis_cannot_answer(
    lined: World, criteria_file: Any
) -> None:
    detector = FakeDetector(default=SCRATCHED)
    processor = live_processor(lined, detector, Clock())
    lined.upload("images/line-2/a.jpg", jpeg())
    lined.run(processor)
    assert 0 == cli("criteria", "publish", str(criteria_file), "--line", "line-2", "--yes")  # names Scratch
    processor = live_processor(lined, detector, Clock())

    rejudge(lined, "line-2")
    lined.run(processor)

    assert 2 == len(detector.calls)
    assert ("Widget", "Scratch") == detector.calls[1][1].labels
    assert Verdict.FAIL == record(lined, "images/line-2/a.jpg").verdict


def test_rejudge_dry_run_moves_nothing(lined: World, criteria_file: Any, capsys: Any) -> None:
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), Clock())
    lined.upload("images/line-2/a.jpg", jpeg())
    lined.upload("images/line-1/b.jpg", jpeg())
    lined.run(processor)
    cli("criteria", "publish", str(criteria_file), "--line", "line-2", "--yes")
    capsys.readouterr()
    before = filed(lined)

    assert 0 == rejudge(lined, "line-2", "--dry-run")

    assert before == filed(lined)
    assert "1 filed images to return" in capsys.readouterr().out


def test_an_identical_reupload_is_a_new_inspection_under_the_current_criteria(lined: World) -> None:
    detector = FakeDetector(default=SCRATCHED)
    clock = Clock()
    processor = live_processor(lined, detector, clock)
    data = jpeg()
    lined.upload("images/line-1/a.jpg", data)
    lined.run(processor)
    assert Verdict.FAIL == record(lined, "images/line-1/a.jpg").verdict
    relaxed = Criteria.from_document({"minConfidence": 90, "require": [{"label": "Widget"}],
                                      "forbid": [{"label": "Scratch", "minConfidence": 95}]})  # fmt: skip
    store(lined).publish(line("line-1"), relaxed, who="arn:aws:iam::123456789012:user/qc")
    clock.now += REFRESH

    lined.upload("images/line-1/a.jpg", data)
    lined.run(processor)

    # On the versioned bucket the same bytes uploaded again are a new upload (a new S3 version): a new
    # inspection, recognized again, which retires the first upload's filed copy. Re-judging a filed image
    # without a new recognition is `enqueue --rejudge`'s (below).
    again = record(lined, "images/line-1/a.jpg")
    assert (Verdict.PASS, relaxed.fingerprint, None) == (again.verdict, again.criteria, again.rejudged_from)
    assert 2 == len(detector.calls)
    # (The first upload's FAIL left its evidence image beside the record.)
    assert [
        "analyzed/passed/line-1/a.jpg",
        "results/line-1/a.jpg.evidence.jpg",
        "results/line-1/a.jpg.json",
    ] == filed(lined)


def test_the_deployment_subscribes_each_lines_recipients_with_its_filter() -> None:
    policies = {r.email: r.filter_policy() for r in deployment().subscriptions()}

    assert {
        "audit@example.com": {"kind": [{"anything-but": ["digest"]}]},
        "line-1-lead@example.com": {"verdict": ["FAIL"], "line": ["line-1"]},
    } == policies
    every_message_of_line_2 = Recipient(email="x@example.com", lines=["line-2"], digest=True)
    assert {"line": ["line-2"]} == every_message_of_line_2.filter_policy()


def test_a_container_whose_criteria_are_older_never_judges_a_newer_record_back(lined: World) -> None:
    detector = FakeDetector(default=SCRATCHED)
    stale = live_processor(lined, detector, Clock())
    lined.upload("images/line-2/first.jpg", jpeg())
    lined.run(stale)  # this container now holds the seed of line-2 for REFRESH seconds
    strict = Criteria.from_document({**LINE_2, "forbid": [{"label": "Scratch"}]})
    store(lined).publish(line("line-2"), strict, who="arn:aws:iam::123456789012:user/qc")
    fresh = live_processor(lined, detector, Clock())
    data = jpeg()
    lined.upload("images/line-2/x.jpg", data)
    lined.run(fresh)
    assert (Verdict.FAIL, 1) == (
        record(lined, "images/line-2/x.jpg").verdict,
        record(lined, "images/line-2/x.jpg").criteria_version,
    )

    # The same upload comes back (its filed copy returned, as enqueue --rejudge does) to the stale one.
    lined.s3.copy_object(
        Bucket=lined.bucket,
        Key="images/line-2/x.jpg",
        CopySource={"Bucket": lined.bucket, "Key": "analyzed/failed/line-2/x.jpg"},
        MetadataDirective="COPY",
    )
    lined.run(stale)

    assert (Verdict.FAIL, strict.fingerprint) == (
        record(lined, "images/line-2/x.jpg").verdict,
        record(lined, "images/line-2/x.jpg").criteria,
    )
    assert 2 == len(detector.calls)
    remaining = filed(lined)
    assert not [key for key in remaining if key.startswith("images/")]


def test_criteria_are_read_once_per_line_and_refresh_interval_not_per_image(lined: World) -> None:
    reads: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        if "/criteria/" in params["url_path"]:
            reads.append(params["url_path"].split("/criteria/", 1)[1])

    lined.s3.meta.events.register("before-call.s3.GetObject", count)
    clock = Clock()
    processor = live_processor(lined, FakeDetector(default=SCRATCHED), clock)
    for i in range(20):
        lined.upload(f"images/line-1/w{i}.jpg", jpeg())
        lined.upload(f"images/other/w{i}.jpg", jpeg())
    while lined.queued():
        lined.run(processor)
    first = sorted(reads)
    clock.now += REFRESH
    lined.upload("images/line-1/later.jpg", jpeg())
    lined.run(processor)

    # Nothing published: current.json is missing (404), then the seed is read; once per line for 40 images.
    assert ["default/current.json", "default/seed.json", "line-1/current.json", "line-1/seed.json"] == first
    assert ["line-1/current.json", "line-1/seed.json"] == sorted(reads[len(first) :])
