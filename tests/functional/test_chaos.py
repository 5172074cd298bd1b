"""Chaos: hundreds of uploads through the event source mapping's semantics, with faults in every AWS call.

The run drives `inspector.function.lambda_handler` (the processor `inspector.app.build` makes from the
settings, on the real S3 store, SNS notifier and Rekognition detector, handed over with `function.use`)
from `inspector.local.Poller` on in-process moto: S3 announces each upload to a queue with a DLQ behind it
(maxReceiveCount 5, visibility timeout 0, so a retry comes at once). `tests/functional/chaos.py` injects,
seeded, transient AWS faults into every call kind, lost answers and process crashes after the calls that
change something, Rekognition refusals, and duplicate deliveries. When the queue has drained, every image
must be filed exactly once with its notified record and its email, or wait under images/ with its message
in the DLQ; then, faults off, the DLQ is redriven and every image must end filed.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto.sns.models import sns_backends

from inspector import function
from inspector.app import Clients, build
from inspector.aws import client_config
from inspector.batch import BatchProcessor, RecordOutcome, RecordStatus
from inspector.commands.redrive import Moved, move
from inspector.engine import Verdict
from inspector.events import Inspect, parse_body
from inspector.local import Poller
from inspector.observability import Metrics
from inspector.records import ResultRecord
from inspector.settings import Settings
from inspector.testing import FakeDetector
from tests.functional.chaos import Chaos, ProcessCrash, Rates, surfaced
from tests.functional.world import (
    ACCOUNT,
    BUCKET,
    CRITERIA,
    FAIL_LABELS,
    REGION,
    World,
    failures,
    jpeg,
    message_ids,
    png,
    provision_stack,
)
from tests.functional.world import (
    MAX_RECEIVE_COUNT as MAX_RECEIVE_COUNT_WORLD,
)

MAX_RECEIVE_COUNT = 5
IMAGES = 520
CHUNK = 20  # uploads between two polls: the queue stays short, so duplicates and retries interleave
TEXT = b"Operator note: widget 17 looked fine to me. Not a picture.\n"
EMPTY_REASON = "empty file (0 bytes)"
TEXT_REASON = "not a JPEG or PNG image (text)"


@dataclass
class Stage:
    """The stack on moto: bucket -> queue (DLQ after 5 receives) -> function -> topic."""

    session: boto3.Session
    s3: Any  # a fault-free client: the cameras' uploads and the final inventory
    sqs: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str


@pytest.fixture
def stage(aws: None, boto_session: boto3.Session) -> Iterator[Stage]:
    provisioned = provision_stack(boto_session, max_receive_count=MAX_RECEIVE_COUNT)
    s3, sqs = boto_session.client("s3"), boto_session.client("sqs")
    yield Stage(
        boto_session,
        s3,
        sqs,
        provisioned.queue_url,
        provisioned.queue_arn,
        provisioned.dlq_url,
        provisioned.topic_arn,
    )
    function.reset()  # stops the processor's pool inside the mock


# --- the images -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    key: str
    data: bytes
    rejection: str | None = None  # what the cheap checks must say of it


def uploads(count: int) -> list[Upload]:
    """JPEGs and PNGs (unique bytes, so unique eTags), with a few empty and text files among them."""
    jpeg_bytes, png_bytes = jpeg(), png()
    made = []
    for i in range(count):
        folder = f"images/line-{i % 4}"
        if i % 50 == 7:
            made.append(Upload(f"{folder}/w{i:04d}.jpg", b"", EMPTY_REASON))
        elif i % 50 == 23:
            made.append(Upload(f"{folder}/w{i:04d}.jpg", TEXT, TEXT_REASON))
        elif i % 10 == 3:
            made.append(Upload(f"{folder}/w{i:04d}.png", png_bytes + f"#{i}".encode()))
        else:  # bytes after a JPEG's end marker are ignored by readers; they make each eTag unique
            made.append(Upload(f"{folder}/w{i:04d}.jpg", jpeg_bytes + f"#{i}".encode()))
    return made


# --- the Lambda runtime around the handler -------------------------------------------------------------


@dataclass
class Runtime:
    """Calls `function.lambda_handler` as Lambda would, and plays S3 delivering some events twice.

    A `ProcessCrash` inside the invocation is the process dying: Lambda reports the invocation failed and
    the event source mapping retries the whole batch (the Poller does so for any exception).
    """

    chaos: Chaos
    sqs: Any
    queue_url: str
    settings: Settings
    duplicates: int = 0
    invocations: int = 0
    crashed_invocations: int = 0
    _seen: set[str] = field(default_factory=set)

    def __call__(self, event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        self.invocations += 1
        self.chaos.new_process()
        for record in event["Records"]:
            self._maybe_duplicate(record["body"])
        try:
            return function.lambda_handler(event, context)
        except ProcessCrash as crash:
            self.crashed_invocations += 1
            raise RuntimeError("the function's process died; the whole batch will be retried") from crash

    def _maybe_duplicate(self, body: str) -> None:
        if body in self._seen or not self.chaos.enabled:
            return
        self._seen.add(body)
        message = parse_body(body, prefix=self.settings.images_prefix, bucket=self.settings.bucket)
        subject = message.objects[0].key if isinstance(message, Inspect) else body
        if self.chaos.draw("duplicate", "sqs", subject) < self.chaos.rates.duplicate:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
            self.duplicates += 1


def record_outcomes(processor: BatchProcessor, monkeypatch: pytest.MonkeyPatch) -> list[RecordOutcome | None]:
    """Every record's outcome as the batch processor decided it (None: its process crashed)."""
    outcomes: list[RecordOutcome | None] = []
    one = processor._one

    def recorded(raw: Any, message_id: str) -> RecordOutcome:
        try:
            outcome = one(raw, message_id)
        except ProcessCrash:
            outcomes.append(None)
            raise
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(processor, "_one", recorded)
    return outcomes


# --- what the bucket, the DLQ and the topic hold at the end -------------------------------------------


@dataclass
class Inventory:
    objects: set[str]
    dlq_keys: Counter[str]
    emails: dict[str, list[str]]  # image key -> the verdicts emailed for it, in order
    records: dict[str, ResultRecord]


def take_inventory(stage: Stage, settings: Settings, images: list[Upload]) -> Inventory:
    objects: set[str] = set()
    for page in stage.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        objects.update(str(item["Key"]) for item in page.get("Contents", []))
    records = {}
    for upload in images:
        record_key = settings.record_key(upload.key)
        if record_key in objects:
            body = stage.s3.get_object(Bucket=BUCKET, Key=record_key)["Body"].read()
            records[upload.key] = ResultRecord.from_json(body)
    return Inventory(objects, read_dlq(stage, settings), emails(stage.topic_arn), records)


def read_dlq(stage: Stage, settings: Settings) -> Counter[str]:
    """The keys the DLQ's messages name (each message read once, then made visible again)."""
    keys: Counter[str] = Counter()
    handles = []
    while True:
        messages = stage.sqs.receive_message(
            QueueUrl=stage.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            parsed = parse_body(message["Body"], prefix=settings.images_prefix, bucket=settings.bucket)
            assert isinstance(parsed, Inspect), message["Body"]
            keys.update(ref.key for ref in parsed.objects)
            handles.append(message["ReceiptHandle"])
    for handle in handles:
        stage.sqs.change_message_visibility(QueueUrl=stage.dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return keys


def emails(topic_arn: str) -> dict[str, list[str]]:
    """What SNS published, by image key (read off the body's `Image:` line), as moto recorded it."""
    by_key: dict[str, list[str]] = {}
    prefix = f"Image: s3://{BUCKET}/"
    for _, message, _, attributes, *_ in sns_backends[ACCOUNT][REGION].topics[topic_arn].sent_notifications:
        (line,) = [line for line in message.splitlines() if line.startswith(prefix)]
        verdict = str((attributes or {})["verdict"]["Value"])
        by_key.setdefault(line.removeprefix(prefix), []).append(verdict)
    return by_key


@dataclass
class Census:
    """Where the images are. Besides filed and waiting, one DLQ state puts an image in two places: done but
    for the delete (filed, record notified, email sent, original still there); a redrive deletes the
    original. A copy is made only after the record says the image was notified, so there is no other.
    """

    filed: list[str] = field(default_factory=list)  # in one terminal place, recorded as notified
    waiting: list[str] = field(default_factory=list)  # under images/ only, message in the DLQ
    done_but_original_left: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def census(s3: Any, settings: Settings, images: list[Upload], inventory: Inventory) -> Census:
    """Check each image's place against the invariant, and sort the images by where they are."""

    def body(key: str) -> bytes:
        data: bytes = s3.get_object(Bucket=settings.bucket, Key=key)["Body"].read()
        return data

    counted = Census()
    expected_objects = set()
    for upload in images:
        key = upload.key
        record = inventory.records.get(key)
        candidates = {settings.destination(key, verdict) for verdict in Verdict}
        expected_objects |= candidates | {key, settings.record_key(key)}
        # The evidence image is written before the record names it: a failure between leaves it there,
        # and the retry may judge otherwise (this Rekognition answers per call), so any image may have one.
        expected_objects.add(settings.evidence_key(key))
        if record is not None and record.evidence is not None:
            assert record.verdict in (Verdict.FAIL, Verdict.REVIEW), f"{key}: evidence for {record.verdict}"
            assert record.evidence in inventory.objects, f"{key}: its record names evidence that is not there"
        filed = sorted(candidates & inventory.objects)
        assert len(filed) <= 1, f"{key} is filed in two places: {filed}"
        if key not in inventory.objects:
            if not filed:
                counted.lost.append(key)
                continue
            (place,) = filed
            assert record is not None, f"{key} is filed at {place} without a result record"
            assert record.notified_at is not None, f"{key}: filed, original deleted, record not notified"
            assert place == record.destination == settings.destination(key, record.verdict)
            assert upload.data == body(place)
            if upload.rejection is not None:
                assert (Verdict.REJECTED, upload.rejection) == (record.verdict, record.rejection)
            sent = inventory.emails.get(key, [])
            assert len(sent) >= 1, f"{key} is filed but no email was sent"
            assert {record.verdict.value} == set(sent), f"{key}: emails {sent} vs record {record.verdict}"
            counted.filed.append(key)
            continue
        # Still under images/: its message must be in the DLQ, and the original untouched.
        assert inventory.dlq_keys[key] >= 1, f"{key} is under images/ and its message is gone: lost"
        assert upload.data == body(key)
        if not filed:
            counted.waiting.append(key)
            continue
        (place,) = filed
        assert record is not None
        assert place == settings.destination(key, record.verdict)
        assert upload.data == body(place)
        assert record.notified_at is not None, f"{key}: copied before the record said it was notified"
        counted.done_but_original_left.append(key)
    stray = inventory.objects - expected_objects
    assert set() == stray
    return counted


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    chaos: Chaos
    runtime: Runtime
    poller: Poller
    outcomes: list[RecordOutcome | None]
    seconds: float = 0.0


def start(stage: Stage, settings: Settings, chaos: Chaos, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The function with chaos in its clients, behind the poller."""
    clients = Clients(
        s3=stage.session.client("s3", config=client_config("s3")),
        sns=stage.session.client("sns", config=client_config("sns")),
        rekognition=stage.session.client("rekognition", config=client_config("rekognition")),
    )
    chaos.install(clients.s3, "s3")
    chaos.install(clients.sns, "sns")
    chaos.install(clients.rekognition, "rekognition")
    # No detector given: build wires the real RekognitionDetector on the chaos-hooked client.
    processor = build(settings, clients=clients, metrics=Metrics("Chaos", stream=io.StringIO()))
    outcomes = record_outcomes(processor, monkeypatch)
    function.use(processor)
    runtime = Runtime(chaos, stage.sqs, stage.queue_url, settings)
    poller = Poller(stage.sqs, stage.queue_url, stage.queue_arn, runtime, batch_size=10, region=REGION)
    return Run(chaos, runtime, poller, outcomes)


def feed(stage: Stage, run: Run, images: list[Upload]) -> None:
    """Uploads arrive in chunks while the function works; then the queue is drained."""
    for start_at in range(0, len(images), CHUNK):
        for upload in images[start_at : start_at + CHUNK]:
            stage.s3.put_object(Bucket=BUCKET, Key=upload.key, Body=upload.data, ContentType="image/jpeg")
        run.poller.poll_once()
        run.poller.poll_once()
    # Returns as soon as the queue is empty; the bound only matters on a machine shared and loaded.
    run.poller.drain(timeout_seconds=300, settle_seconds=0.05)
    assert 0 == run.poller.depth()


def figures(run: Run, images: list[Upload], inventory: Inventory, counted: Census) -> dict[str, Any]:
    chaos, stats = run.chaos, run.poller.stats
    statuses = Counter(o.status.value if o is not None else "crashed" for o in run.outcomes)
    sent = sum(len(v) for v in inventory.emails.values())
    return {
        "images": len(images),
        "bad files (0-byte, text)": sum(u.rejection is not None for u in images),
        "AWS calls by kind": dict(sorted(chaos.calls.items())),
        "faults injected by kind (before-call)": dict(sorted(chaos.faults.items())),
        "lost answers by step (after-call RuntimeError)": dict(sorted(chaos.lost.items())),
        "crashes by step (after-call ProcessCrash)": dict(sorted(chaos.crashes.items())),
        "calls cut off by a crash in another thread": dict(sorted(chaos.collateral.items())),
        "Rekognition refusals (REJECTED)": chaos.refusals,
        "duplicate deliveries": run.runtime.duplicates,
        "handler invocations": stats.batches,
        "invocations that crashed": run.runtime.crashed_invocations,
        "records received": stats.received,
        "records retried (batchItemFailures)": sum(len(r["batchItemFailures"]) for r in stats.outcomes),
        "records retried with their crashed invocation": stats.failed
        - sum(len(r["batchItemFailures"]) for r in stats.outcomes),
        "record outcomes": dict(sorted(statuses.items())),
        "recognitions answered / images recognized": f"{sum(chaos.recognitions.values())} / "
        f"{len(chaos.recognitions)}",
        "filed": len(counted.filed),
        "DLQ messages": sum(inventory.dlq_keys.values()),
        "DLQ images waiting under images/ only": len(counted.waiting),
        "DLQ images filed+notified, original not yet deleted": len(counted.done_but_original_left),
        "lost": len(counted.lost),
        "emails": sent,
        "duplicate emails": duplicate_emails(inventory),
        "emails for images still in the DLQ": sum(len(inventory.emails.get(k, [])) for k in counted.waiting),
        "seconds": round(run.seconds, 1),
    }


def assert_every_failure_surfaced(run: Run) -> None:
    """Each injected fault and lost answer is the failure of the record whose step it hit: botocore never
    retried it, nothing swallowed it."""
    chaos = run.chaos
    seen: Counter[tuple[str, str]] = Counter()
    for outcome in run.outcomes:
        if outcome is not None and (tag := surfaced(outcome.detail)):
            assert RecordStatus.RETRY == outcome.status
            seen[tag] += 1
    for kind in set(chaos.faults) | set(chaos.lost):
        assert (chaos.faults[kind], chaos.lost[kind]) == (seen[("fault", kind)], seen[("lost", kind)]), kind
    # Each record that died did so at its own crash or at the first call after another thread's.
    assert sum(chaos.crashes.values()) + sum(chaos.collateral.values()) == run.outcomes.count(None)
    assert run.runtime.crashed_invocations == run.poller.stats.handler_errors


def duplicate_emails(inventory: Inventory) -> int:
    return sum(len(verdicts) - 1 for verdicts in inventory.emails.values())


@pytest.mark.parametrize(
    ("seed", "workers"),
    [
        pytest.param(20261126, 10, id="seed-20261126-10-workers"),
        # One worker: the records of a batch run in turn, so even a crash's collateral is reproducible.
        pytest.param(4077, 1, id="seed-4077-1-worker"),
    ],
)
def test_under_seeded_chaos_every_image_is_filed_once_or_waits_in_the_dlq(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, seed: int, workers: int
) -> None:
    settings = Settings(topic_arn=stage.topic_arn, criteria=CRITERIA, bucket=BUCKET, max_workers=workers)
    chaos = Chaos(seed, Rates())
    images = uploads(IMAGES)
    run = start(stage, settings, chaos, monkeypatch)

    began = time.perf_counter()
    feed(stage, run, images)
    run.seconds = time.perf_counter() - began

    inventory = take_inventory(stage, settings, images)
    counted = census(stage.s3, settings, images, inventory)
    report = figures(run, images, inventory, counted)
    print(f"\nchaos seed={seed} workers={workers} maxReceiveCount={MAX_RECEIVE_COUNT}")
    for name, value in report.items():
        print(f"  {name}: {value}")

    assert [] == counted.lost
    assert len(images) == len(counted.filed) + len(counted.waiting) + len(counted.done_but_original_left)
    assert_every_failure_surfaced(run)
    # A second email needs a publish whose success the record never learnt of: an answer lost or a crash
    # right after Publish, or a notified-record save that failed or never ran (its process died). A
    # duplicate delivery cannot add one here: this poller runs one invocation at a time and, inside one,
    # the per-key lock runs duplicates in turn. (On Lambda, two containers can take the two copies at
    # once; the per-key lock is per container, so each may publish.)
    bound = (
        chaos.lost["sns:Publish"]
        + chaos.crashes["sns:Publish"]
        + chaos.faults["s3:PutObject(notified)"]
        + chaos.collateral["s3:PutObject(notified)"]
    )
    print(f"  duplicate-email bound (publish lost/crashed, notified save failed/cut off): {bound}")
    assert duplicate_emails(inventory) <= bound
    # A second recognition of one version needs its first record save to have failed.
    second_recognitions = sum(n - 1 for n in chaos.recognitions.values())
    # ... or a step between recognition and that save to have failed: the evidence image's read or write.
    saves_failed = sum(
        chaos.faults[kind] + chaos.collateral[kind]
        for kind in ("s3:PutObject(record)", "s3:GetObject(image)", "s3:PutObject(evidence)")
    )
    print(f"  second recognitions: {second_recognitions} (bound: record saves failed/cut off {saves_failed})")
    assert second_recognitions <= saves_failed
    assert 1 <= sum(chaos.faults.values())
    assert 1 <= sum(chaos.crashes.values())
    assert 1 <= run.runtime.duplicates

    # Faults off: redrive the DLQ, as an operator would once AWS recovers; every image ends filed.
    chaos.enabled = False
    waiting = sum(inventory.dlq_keys.values())
    moved = Moved()
    list(move(stage.sqs, stage.dlq_url, stage.queue_url, waiting, moved))
    assert (waiting, []) == (moved.moved, moved.problems)
    run.poller.drain(timeout_seconds=60, settle_seconds=0.05)

    after = take_inventory(stage, settings, images)
    recovered = census(stage.s3, settings, images, after)
    print(f"  after redriving {waiting} DLQ messages: filed {len(recovered.filed)}")
    assert len(images) == len(recovered.filed)
    assert Counter() == after.dlq_keys


# --- what a message that dies at one step, on every receive, leaves behind in the DLQ ---------------------

KEY = "images/line-3/w1.jpg"
FILED = "analyzed/failed/line-3/w1.jpg"
RECORD = "results/line-3/w1.jpg.json"
EVIDENCE = "results/line-3/w1.jpg.evidence.jpg"  # a FAIL's evidence image, written before its record
ALWAYS_FAULT = Rates(fault=1.0, lost=0.0, crash=0.0, duplicate=0.0, refuse=0.0)


@pytest.mark.parametrize(
    ("rates", "kind", "keys", "emails", "notified"),
    [
        # Nothing was copied yet: the copy comes after the notification and its record.
        pytest.param(ALWAYS_FAULT, "sns:Publish", [KEY, EVIDENCE, RECORD], 0, False, id="publish-fails"),
        # Notified once; the record says so, and each receive tries the copy again.
        pytest.param(ALWAYS_FAULT, "s3:CopyObject", [KEY, EVIDENCE, RECORD], 1, True, id="copy-fails"),
        pytest.param(
            ALWAYS_FAULT,
            "s3:PutObject(notified)",
            [KEY, EVIDENCE, RECORD],
            MAX_RECEIVE_COUNT_WORLD,
            False,
            id="notified-record-save-fails",
        ),
        # Done but for the delete: filed, notified, emailed once; only the original's delete is left. A
        # redrive finishes it (see the chaos test).
        pytest.param(
            ALWAYS_FAULT,
            "s3:DeleteObject(original)",
            [FILED, KEY, EVIDENCE, RECORD],
            1,
            True,
            id="delete-fails",
        ),
    ],
)
def test_a_message_failing_at_one_step_on_every_receive_waits_in_the_dlq_with_its_image_in_one_place(  # noqa: PLR0917 - one table
    world: World, rates: Rates, kind: str, keys: list[str], emails: int, notified: bool
) -> None:
    data = jpeg()
    world.upload(KEY, data)
    chaos = Chaos(0, rates, targets=frozenset({kind}))
    clients = Clients(s3=world.session.client("s3"), sns=world.session.client("sns"))
    chaos.install(clients.s3, "s3")
    chaos.install(clients.sns, "sns")
    processor = build(
        world.settings(evidence=True), clients=clients, detector=FakeDetector(default=FAIL_LABELS)
    )
    world.processors.append(processor)

    for _ in range(MAX_RECEIVE_COUNT_WORLD):
        event = world.deliver()
        assert message_ids(event) == failures(world.run(processor, event))
    assert [] == world.deliver()["Records"]

    (dead,) = world.receive(world.dlq_url)
    parsed = parse_body(dead["Body"])
    assert isinstance(parsed, Inspect)
    assert [KEY] == [ref.key for ref in parsed.objects]
    assert data == world.body(KEY)
    assert emails == len(world.emails())
    assert notified == (world.record(KEY).notified_at is not None)
    assert keys == world.keys()
