"""People's decisions on moto: listed, decided, re-filed, announced, kept in the history; concurrent ones."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from inspector.cli import main
from inspector.engine import Verdict
from inspector.records import ResultRecord
from inspector.review import DecisionConflict, DecisionRefused
from inspector.storage import S3Store
from inspector.testing import FakeDetector
from tests.functional.world import (
    BUCKET,
    CRITERIA,
    FAIL_LABELS,
    PASS_LABELS,
    REVIEW_LABELS,
    World,
    jpeg,
    png,
)

KEY = "images/line-1/w1.jpg"
REVIEWER = "arn:aws:sts::123456789012:user/moto"  # moto's caller identity


def inspected(world: World, key: str, answer: Any, data: bytes | None = None) -> bytes:
    """Upload `key` and run the pipeline on it with the labels `answer`."""
    data = data if data is not None else jpeg()
    world.upload(key, data)
    world.run(world.processor(FakeDetector(default=answer)))
    return data


def decisions_announced(world: World) -> list[Any]:
    return [e for e in world.emails() if e.attributes.get("kind") == "decision"]


def test_a_review_image_is_listed_decided_refiled_announced_and_in_its_history(world: World) -> None:
    data = inspected(world, KEY, REVIEW_LABELS)
    desk = world.desk()

    (pending,) = desk.queue()
    assert KEY == pending.key
    assert "default" == pending.record.line

    outcome = desk.decide(KEY, Verdict.PASS, note="paint is fine under daylight")

    assert ["analyzed/passed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
    assert data == world.body("analyzed/passed/line-1/w1.jpg")
    assert "PASS" == world.metadata("analyzed/passed/line-1/w1.jpg")["inspector-verdict"]
    assert outcome.moved
    assert outcome.notified
    record = world.record(KEY)
    (decision,) = record.decisions
    assert (REVIEWER, Verdict.REVIEW, Verdict.PASS) == (decision.who, decision.before, decision.after)
    assert "paint is fine under daylight" == decision.note
    assert decision.notified_at is not None
    assert Verdict.PASS == record.effective_verdict
    assert Verdict.REVIEW == record.verdict  # the machine's verdict stays as it was
    (email,) = decisions_announced(world)
    assert {"kind": "decision", "verdict": "PASS", "line": "default"} == email.attributes
    assert "QC decision PASS: w1.jpg (line-1)" == email.subject
    assert REVIEWER in email.body
    assert [] == desk.queue()
    events = desk.history(KEY)
    assert [("inspection", Verdict.REVIEW), ("decision", Verdict.PASS)] == [
        (e.kind, e.verdict) for e in events
    ]
    assert REVIEWER == events[1].who
    assert "analyzed/review/line-1/w1.jpg" == events[0].filed
    assert "analyzed/passed/line-1/w1.jpg" == events[1].filed


def test_a_fail_is_overridden_and_overridden_again_keeping_every_decision(world: World) -> None:
    inspected(world, KEY, FAIL_LABELS)
    desk = world.desk()

    desk.decide(KEY, Verdict.PASS, note="the scratch is dust")
    desk.decide(KEY, Verdict.FAIL, note="customer sent it back")

    assert ["analyzed/failed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
    record = world.record(KEY)
    assert [(Verdict.FAIL, Verdict.PASS), (Verdict.PASS, Verdict.FAIL)] == [
        (d.before, d.after) for d in record.decisions
    ]
    kinds = [(e.kind, e.verdict, e.filed) for e in desk.history(KEY)]
    assert [
        ("inspection", Verdict.FAIL, "analyzed/failed/line-1/w1.jpg"),
        ("decision", Verdict.PASS, "analyzed/passed/line-1/w1.jpg"),
        ("decision", Verdict.FAIL, "analyzed/failed/line-1/w1.jpg"),
    ] == kinds


def test_a_confirming_decision_is_recorded_without_moving_the_image(world: World) -> None:
    inspected(world, KEY, PASS_LABELS)

    outcome = world.desk().decide(KEY, Verdict.PASS)

    assert not outcome.moved
    assert ["analyzed/passed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
    assert 1 == len(world.record(KEY).decisions)


@pytest.mark.parametrize(
    ("key", "setup", "message"),
    [
        pytest.param("images/line-1/nothing.jpg", None, "no result record", id="no-record"),
        pytest.param("analyzed/review/w1.jpg", None, "is not an image key", id="not-an-image-key"),
        pytest.param(KEY, b"", "REJECTED", id="rejected"),
    ],
)
def test_a_decision_that_cannot_apply_is_refused_with_its_reason(
    world: World, key: str, setup: bytes | None, message: str
) -> None:
    if setup is not None:
        inspected(world, KEY, PASS_LABELS, data=setup)
    before = world.keys()

    with pytest.raises(DecisionRefused, match=message):
        world.desk().decide(key, Verdict.PASS)

    assert before == world.keys()


def test_a_decision_from_a_page_that_is_out_of_date_changes_nothing(world: World) -> None:
    inspected(world, KEY, REVIEW_LABELS)
    desk = world.desk()
    (seen,) = desk.queue()
    desk.decide(KEY, Verdict.FAIL)  # someone else, a moment earlier

    with pytest.raises(DecisionConflict, match="changed since you looked"):
        desk.decide(KEY, Verdict.PASS, expected=seen.etag)

    assert ["analyzed/failed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
    assert [Verdict.FAIL] == [d.after for d in world.record(KEY).decisions]


class MeetingStore(S3Store):
    """Holds every record write until `parties` writers are ready, so that they race for real."""

    def __init__(self, bucket: str, client: Any, barrier: threading.Barrier) -> None:
        super().__init__(bucket, client)
        self.barrier = barrier

    def save_record(self, key: str, record: ResultRecord, *, replacing: str | None) -> str:
        if len(record.decisions) == 1 and record.decisions[0].notified_at is None:
            self.barrier.wait(timeout=10)
        return super().save_record(key, record, replacing=replacing)


def test_two_reviewers_deciding_at_once_one_wins_and_the_other_is_told(world: World) -> None:
    data = inspected(world, KEY, REVIEW_LABELS)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def reviewer(verdict: Verdict) -> None:
        desk = world.desk(MeetingStore(BUCKET, world.session.client("s3"), barrier))
        try:
            results[verdict] = desk.decide(KEY, verdict, note=f"I say {verdict}")
        except DecisionConflict as exc:
            results[verdict] = exc

    threads = [threading.Thread(target=reviewer, args=(v,)) for v in (Verdict.PASS, Verdict.FAIL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    conflicts = [v for v, r in results.items() if isinstance(r, DecisionConflict)]
    winners = [v for v, r in results.items() if not isinstance(r, DecisionConflict)]
    assert (1, 1) == (len(conflicts), len(winners))
    (winner,) = winners
    filed = world.settings().destination(KEY, winner)
    assert [filed, "results/line-1/w1.jpg.json"] == world.keys()  # filed once, nothing left at review/
    assert data == world.body(filed)
    assert [winner] == [d.after for d in world.record(KEY).decisions]
    assert 1 == len(decisions_announced(world))


# --- a crash between the steps of a decision ---------------------------------------------------------


class CrashingDeskStore(S3Store):
    def __init__(self, bucket: str, client: Any, at: str) -> None:
        super().__init__(bucket, client)
        self.at = at

    def copy(self, source: str, destination: str, **kwargs: Any) -> None:
        if self.at == "before copy":
            raise RuntimeError("injected crash before copy")
        super().copy(source, destination, **kwargs)
        if self.at == "after copy":
            raise RuntimeError("injected crash after copy")


@pytest.mark.parametrize("at", ["before copy", "after copy"])
def test_a_decision_interrupted_by_a_crash_is_finished_by_the_next_one_on_the_key(
    world: World, at: str
) -> None:
    data = inspected(world, KEY, REVIEW_LABELS)

    with pytest.raises(RuntimeError, match="injected"):
        world.desk(CrashingDeskStore(BUCKET, world.s3, at)).decide(KEY, Verdict.PASS)

    # Never lost: the image is filed at least once, and the record already holds the decision.
    assert world.exists("analyzed/review/line-1/w1.jpg")
    assert [Verdict.PASS] == [d.after for d in world.record(KEY).decisions]

    world.desk().settle(KEY)

    assert ["analyzed/passed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
    assert data == world.body("analyzed/passed/line-1/w1.jpg")
    assert 1 == len(decisions_announced(world))
    assert world.record(KEY).decisions[-1].notified_at is not None


# --- the command line ---------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the pipeline printed before (its metrics)
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_review_list_decide_and_history_commands(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    inspected(world, "images/line-2/a.png", REVIEW_LABELS, data=png())
    inspected(world, KEY, REVIEW_LABELS)

    status, out, _ = cli(capsys, "review", "list", "--bucket", BUCKET, "--json")
    assert 0 == status
    listed = json.loads(out)
    assert ["images/line-2/a.png", KEY] == [p["key"] for p in listed["pending"]]  # oldest first
    status, out, _ = cli(capsys, "review", "list", "--bucket", BUCKET)
    assert "2 image(s) await review (default: 2), oldest first" in out

    status, out, _ = cli(
        capsys, "review", "decide", KEY, "--verdict", "fail", "--note", "chipped edge",
        "--bucket", BUCKET, "--topic-arn", world.topic_arn, "--json",
    )  # fmt: skip
    assert 0 == status
    decided = json.loads(out)
    assert ("REVIEW", "FAIL", REVIEWER, True) == (
        decided["before"],
        decided["after"],
        decided["who"],
        decided["moved"],
    )
    assert world.exists("analyzed/failed/line-1/w1.jpg")

    status, out, _ = cli(capsys, "history", KEY, "--bucket", BUCKET, "--json")
    assert 0 == status
    history = json.loads(out)
    assert history["versioned"]
    assert [("inspection", "REVIEW", None), ("decision", "FAIL", REVIEWER)] == [
        (e["kind"], e["verdict"], e.get("who")) for e in history["events"]
    ]
    status, out, _ = cli(capsys, "history", KEY, "--bucket", BUCKET)
    assert "decided    REVIEW -> FAIL by " + REVIEWER in out
    assert "note: chipped edge" in out


def test_review_decide_on_an_unknown_key_is_one_line_and_exit_2(world: World, capsys: Any) -> None:
    status, out, err = cli(
        capsys,
        "review",
        "decide",
        "images/x.jpg",
        "--verdict",
        "PASS",
        "--bucket",
        BUCKET,
        "--topic-arn",
        world.topic_arn,
    )
    assert (2, "") == (status, out)
    assert err.startswith("inspector: error: no result record for images/x.jpg")
    assert 1 == len(err.splitlines())


def test_review_decide_without_a_topic_says_how_to_name_it(
    world: World, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.delenv("INSPECTOR_TOPIC_ARN", raising=False)
    status, _, err = cli(capsys, "review", "decide", KEY, "--verdict", "PASS", "--bucket", BUCKET)
    assert 2 == status
    assert "--topic-arn" in err


def test_a_subscription_can_filter_decisions_out_by_their_kind_attribute(world: World) -> None:
    inbox = world.sqs.create_queue(QueueName="verdicts-only")["QueueUrl"]
    arn = world.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    world.sns.subscribe(
        TopicArn=world.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"kind": [{"anything-but": "decision"}]})},
    )
    inspected(world, KEY, REVIEW_LABELS)

    world.desk().decide(KEY, Verdict.PASS)

    received = world.sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
    assert ["QC REVIEW: w1.jpg (line-1)"] == [json.loads(m["Body"])["Subject"] for m in received]
    assert 1 == len(decisions_announced(world))  # it was published, and filtered out of this inbox


class ServerStub:
    """What `inspector review serve` gets from `serve`: records where it would listen, serves nothing."""

    server_port = 8765

    def __init__(self, calls: list[tuple[str, int]], host: str, port: int) -> None:
        calls.append((host, port))

    def serve_forever(self) -> None:
        return None

    def server_close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("host", "warned"),
    [pytest.param("127.0.0.1", False, id="loopback"), pytest.param("0.0.0.0", True, id="all-interfaces")],  # noqa: S104
)
def test_review_serve_listens_on_loopback_by_default_and_warns_otherwise(
    world: World, capsys: Any, monkeypatch: pytest.MonkeyPatch, host: str, warned: bool
) -> None:
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr("inspector.review.web.serve", lambda app, host, port: ServerStub(calls, host, port))
    extra = [] if host == "127.0.0.1" else ["--host", host]

    status, out, err = cli(
        capsys, "review", "serve", "--bucket", BUCKET, "--topic-arn", world.topic_arn, *extra
    )

    assert 0 == status
    assert [(host, 8765)] == calls
    assert f"review page: http://{host}:8765/  (deciding as {REVIEWER}; Ctrl-C stops)\n" == out
    assert warned == ("anyone who reaches it decides with your AWS credentials" in err)


def test_backtest_of_every_version_counts_decisions_on_earlier_uploads(
    world: World, capsys: Any, tmp_path: Any
) -> None:
    criteria = tmp_path / "criteria.json"
    criteria.write_text(CRITERIA.model_dump_json(by_alias=True, exclude_defaults=True))
    inspected(world, KEY, REVIEW_LABELS)
    world.desk().decide(KEY, Verdict.FAIL, note="dented")
    inspected(world, KEY, PASS_LABELS)  # a new upload: the decided record is history now
    argv = ["backtest", "--json", "--criteria", str(criteria), f"s3://{BUCKET}/results/"]

    _, latest, _ = cli(capsys, *argv)
    _, every, _ = cli(capsys, *argv, "--all-versions")

    assert (1, 0) == (
        json.loads(latest)["records"],
        json.loads(latest)["lines"]["default"]["in_force"]["decided"],
    )
    document = json.loads(every)
    assert 2 == document["records"]
    assert {"decided": 1, "agree": 0, "escapes": 0, "false_rejects": 0, "review": 1} == document["lines"][
        "default"
    ]["in_force"]


def test_a_bad_prefix_setting_is_named_in_one_line(world: World, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("INSPECTOR_RESULTS_PREFIX", "records")

    status, _, err = cli(capsys, "history", KEY, "--bucket", BUCKET)

    assert 2 == status
    assert (
        "inspector: error: invalid prefix settings: INSPECTOR_RESULTS_PREFIX: 'records' must end with '/'"
        in err
    )
