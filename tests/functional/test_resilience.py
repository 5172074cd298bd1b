"""At-least-once delivery: duplicates, crashes between steps, transient failures, the DLQ, deadlines."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import handler
from inspector import function
from inspector.app import Clients, build
from inspector.batch import BatchProcessor
from inspector.detectors import ImageSource
from inspector.detectors.rekognition import RekognitionDetector
from inspector.engine import Verdict
from inspector.errors import TransientError
from inspector.events import ObjectRef
from inspector.notification import Notification
from inspector.notifier import SnsNotifier
from inspector.observability import Metrics
from inspector.records import ResultRecord
from inspector.storage import ObjectInfo, S3Store
from inspector.testing import Answer, FakeDetector, sequence
from tests.functional.world import (
    BUCKET,
    FAIL_LABELS,
    MAX_RECEIVE_COUNT,
    PASS_LABELS,
    World,
    client_error,
    failures,
    jpeg,
    message_ids,
)

KEY = "images/line-3/w1.jpg"
FILED = ["analyzed/failed/line-3/w1.jpg", "results/line-3/w1.jpg.json"]


def assert_filed_once(world: World, data: bytes) -> ResultRecord:
    """The end state of one FAIL inspection of KEY: filed, recorded as notified, the original gone."""
    assert FILED == world.keys()
    assert data == world.body("analyzed/failed/line-3/w1.jpg")
    record = world.record(KEY)
    assert Verdict.FAIL == record.verdict
    assert "analyzed/failed/line-3/w1.jpg" == record.destination
    assert record.notified_at is not None
    assert 0 == world.queued()
    return record


# --- the same announcement more than once -------------------------------------------------------------


def test_the_same_event_delivered_twice_in_turn_is_inspected_once(world: World) -> None:
    data = jpeg()
    world.upload(KEY, data)
    detector = FakeDetector(default=FAIL_LABELS)
    processor = world.processor(detector)
    event = world.deliver()

    first = processor.process(event)
    record = world.record(KEY)
    second = world.run(processor, event)  # SQS redelivers: the first delete of the message was lost

    assert {"batchItemFailures": []} == first
    assert {"batchItemFailures": []} == second
    assert 1 == len(detector.calls)
    assert 1 == len(world.emails())
    assert record == assert_filed_once(world, data)


def test_a_duplicate_s3_notification_in_a_later_batch_is_inspected_once(world: World) -> None:
    data = jpeg()
    world.upload(KEY, data)
    detector = FakeDetector(default=FAIL_LABELS)
    processor = world.processor(detector)
    (message,) = world.receive()
    world.send(message["Body"])  # S3 delivers at least once: the same notification, a new message

    world.run(processor, world.lambda_event([message]))
    world.run(processor)

    assert 1 == len(detector.calls)
    assert 1 == len(world.emails())
    assert_filed_once(world, data)


def test_duplicate_notifications_in_one_batch_run_one_after_the_other_are_inspected_once(
    world: World,
) -> None:
    """With one worker the records of a batch run in order: the second finds the object gone."""
    data = jpeg()
    world.upload(KEY, data)
    (message,) = world.receive()
    world.send(message["Body"])
    detector = FakeDetector(default=FAIL_LABELS)
    event = world.deliver()
    assert 2 == len(event["Records"])
    assert 1 == len({record["body"] for record in event["Records"]})

    response = world.run(world.processor(detector, max_workers=1), event)

    assert {"batchItemFailures": []} == response
    assert 1 == len(detector.calls)
    assert 1 == len(world.emails())
    assert_filed_once(world, data)


def overlapping(answer: Answer, *, calls: int = 2, patience: float = 0.5) -> Any:
    """A `by` function that holds each call until `calls` have started (or `patience` s have passed)."""
    started = 0
    lock = threading.Lock()
    everyone = threading.Event()

    def hold(_: ImageSource) -> Answer:
        nonlocal started
        with lock:
            started += 1
            if started >= calls:
                everyone.set()
        everyone.wait(patience)
        return answer

    return hold


def test_duplicate_notifications_in_one_concurrent_batch_are_inspected_once(world: World) -> None:
    """Both records reach the detector together unless the inspector serializes them by key.

    Without the per-key lock in inspector/pipeline.py both were judged (two DetectLabels calls) and, most
    runs, both notified (two emails).
    """
    data = jpeg()
    world.upload(KEY, data)
    (message,) = world.receive()
    world.send(message["Body"])
    detector = FakeDetector(by=overlapping(FAIL_LABELS))
    event = world.deliver()
    assert 2 == len(event["Records"])

    processor = world.processor(detector)

    world.run(processor, event)
    world.run(processor)  # a record that lost the race (its copy found the original gone) is retried

    assert 1 == len(detector.calls)
    assert 1 == len(world.emails())
    assert_filed_once(world, data)


# --- a crash between any two steps, then redelivery ---------------------------------------------------


@dataclass
class CrashOnce:
    """Raises RuntimeError the first time the pipeline reaches `at`, as a killed or failing invocation."""

    at: str
    crashed: bool = False

    def reached(self, point: str) -> None:
        if point == self.at and not self.crashed:
            self.crashed = True
            raise RuntimeError(f"injected crash {point}")


class CrashingStore(S3Store):
    def __init__(self, bucket: str, client: Any, crash: CrashOnce) -> None:
        super().__init__(bucket, client)
        self.crash = crash
        self.saves = 0

    def save_record(self, key: str, record: ResultRecord, *, replacing: str | None) -> str:
        etag = super().save_record(key, record, replacing=replacing)
        self.saves += 1
        self.crash.reached(f"after record save #{self.saves}")
        return etag

    def copy(self, source: str, destination: str, *, info: ObjectInfo, metadata: dict[str, str]) -> None:
        super().copy(source, destination, info=info, metadata=metadata)
        self.crash.reached("after copy")

    def delete(self, key: str, *, etag: str) -> bool:
        self.crash.reached("before delete")
        return super().delete(key, etag=etag)


class CrashingNotifier(SnsNotifier):
    def __init__(self, topic_arn: str, client: Any, crash: CrashOnce) -> None:
        super().__init__(topic_arn, client)
        self.crash = crash

    def publish(self, notification: Notification) -> str:
        message_id = super().publish(notification)
        self.crash.reached("after publish")
        return message_id


@pytest.mark.parametrize(
    ("at", "max_emails"),
    [
        pytest.param("after record save #1", 1, id="after-first-record-save"),
        pytest.param("after copy", 1, id="after-copy"),
        # The email went out but the record does not say so yet: the redelivery cannot know, and sends it
        # again. At-least-once notification is the price of never losing one.
        pytest.param("after publish", 2, id="after-publish-before-record-save"),
        pytest.param("after record save #2", 1, id="after-second-record-save"),
        pytest.param("before delete", 1, id="before-delete"),
    ],
)
def test_a_crash_between_steps_is_repaired_by_redelivery(world: World, at: str, max_emails: int) -> None:
    data = jpeg()
    world.upload(KEY, data)
    detector = FakeDetector(default=FAIL_LABELS)
    processor = world.processor(detector)
    crash = CrashOnce(at)
    processor.inspector.store = CrashingStore(BUCKET, world.s3, crash)
    processor.inspector.notifier = CrashingNotifier(world.topic_arn, world.sns, crash)
    event = world.deliver()

    crashed = world.run(processor, event)

    assert crash.crashed
    assert message_ids(event) == failures(crashed)
    assert world.exists(KEY)
    assert data == world.body(KEY)

    redelivered = world.run(processor)

    assert {"batchItemFailures": []} == redelivered
    assert 1 == len(detector.calls)
    assert 1 <= len(world.emails()) <= max_emails
    assert_filed_once(world, data)


# --- transient failures: retried, the original untouched, never copied before the notification ----------


@dataclass(frozen=True)
class Left:
    """What a failed attempt leaves: the bucket's keys, and whether the email went out (and is recorded)."""

    keys: tuple[str, ...]
    notified: bool = False


ORIGINAL = Left((KEY,))
RECORDED = Left((KEY, "results/line-3/w1.jpg.json"))
NOTIFIED = Left(RECORDED.keys, notified=True)


@pytest.mark.parametrize(
    ("service", "operation", "code", "status", "left"),
    [
        # The first call: one ranged GET says what the object is and gives the bytes the checks sniff.
        pytest.param("s3", "GetObject", "503", 503, ORIGINAL, id="s3-first-read-503"),
        pytest.param("s3", "PutObject", "SlowDown", 503, ORIGINAL, id="s3-record-put-slowdown"),
        # The copy comes after the notification and its record: the retry files it without a second email.
        pytest.param("s3", "CopyObject", "SlowDown", 503, NOTIFIED, id="s3-copy-slowdown"),
        pytest.param("s3", "CopyObject", "InternalError", 500, NOTIFIED, id="s3-copy-500"),
        pytest.param("sns", "Publish", "Throttled", 400, RECORDED, id="sns-publish-throttled"),
        pytest.param("sns", "Publish", "InternalError", 500, RECORDED, id="sns-publish-500"),
        pytest.param(
            "rekognition", "DetectLabels", "ThrottlingException", 400, ORIGINAL, id="rekognition-throttled"
        ),
        pytest.param(
            "rekognition",
            "DetectLabels",
            "ProvisionedThroughputExceededException",
            400,
            ORIGINAL,
            id="rekognition-throughput",
        ),
    ],
)
def test_a_transient_aws_failure_leaves_the_image_in_place_for_a_retry(  # noqa: PLR0917 - one table
    world: World, service: str, operation: str, code: str, status: int, left: Left
) -> None:
    data = jpeg()
    world.upload(KEY, data)
    client = {"s3": world.s3, "sns": world.sns, "rekognition": world.rekognition}[service]
    fault = client_error(operation, code, status)
    client.meta.events.register(f"before-call.{service}.{operation}", fault)
    # The real Rekognition detector on moto: "Mobile Phone" and no Widget, so the verdict is FAIL.
    processor = world.processor(RekognitionDetector(world.rekognition))
    event = world.deliver()

    response = world.run(processor, event)
    client.meta.events.unregister(f"before-call.{service}.{operation}", fault)  # the checks below read S3

    assert message_ids(event) == failures(response)
    assert list(left.keys) == world.keys()
    assert data == world.body(KEY)
    assert int(left.notified) == len(world.emails())
    if "results/line-3/w1.jpg.json" in left.keys:
        assert left.notified == (world.record(KEY).notified_at is not None)

    client.meta.events.unregister(f"before-call.{service}.{operation}", fault)
    retried = world.run(processor)

    assert {"batchItemFailures": []} == retried
    assert 1 == len(world.emails())
    assert_filed_once(world, data)


def test_a_transient_detector_failure_is_retried_and_then_inspected(world: World) -> None:
    data = jpeg()
    world.upload(KEY, data)
    detector = FakeDetector(by=sequence([TransientError("throttled"), FAIL_LABELS]))
    processor = world.processor(detector)

    first = world.run(processor)

    assert 1 == len(failures(first))
    assert [KEY] == world.keys()  # no record, nothing moved
    assert [] == world.emails()

    second = world.run(processor)

    assert {"batchItemFailures": []} == second
    assert [KEY, KEY] == detector.keys()
    assert 1 == len(world.emails())
    assert_filed_once(world, data)


def test_after_max_receive_count_failures_the_message_waits_in_the_dlq_with_the_image_in_place(
    world: World,
) -> None:
    data = jpeg()
    world.upload(KEY, data)
    detector = FakeDetector(default=TransientError("Rekognition is having a bad day"))
    processor = world.processor(detector)

    receive_counts = []
    announced = []
    for _ in range(MAX_RECEIVE_COUNT):
        event = world.deliver()
        (record,) = event["Records"]
        receive_counts.append(record["attributes"]["ApproximateReceiveCount"])
        announced.append((record["messageId"], record["body"]))
        assert message_ids(event) == failures(world.run(processor, event))
    after = world.deliver()

    assert ["1", "2", "3"] == receive_counts
    assert 1 == len(set(announced))  # the same message each time
    assert [] == after["Records"]
    (dead,) = world.receive(world.dlq_url)
    assert announced[0] == (dead["MessageId"], dead["Body"])
    assert [KEY] == world.keys()
    assert data == world.body(KEY)
    assert [] == world.emails()
    assert MAX_RECEIVE_COUNT == len(detector.calls)


# --- the same key again --------------------------------------------------------------------------------


def test_a_re_upload_with_new_content_after_an_inspection_is_a_new_inspection(world: World) -> None:
    first, second = jpeg(), jpeg((140, 100))
    first_etag = world.upload(KEY, first)
    detector = FakeDetector(by=sequence([PASS_LABELS, FAIL_LABELS]))
    processor = world.processor(detector)
    world.run(processor)
    first_record = world.record(KEY)

    second_etag = world.upload(KEY, second)
    world.run(processor)

    assert first_etag != second_etag
    assert [first_etag, second_etag] == [
        image.etag for image, _ in detector.calls if isinstance(image, ObjectRef)
    ]
    assert Verdict.PASS == first_record.verdict
    record = world.record(KEY)
    assert second_etag == record.image.etag
    assert Verdict.FAIL == record.verdict
    assert record.inspected_at > first_record.inspected_at
    # The first version's PASS copy made way (a noncurrent version now: tests/functional/test_history.py).
    assert ["analyzed/failed/line-3/w1.jpg", "results/line-3/w1.jpg.json"] == world.keys()
    assert "analyzed/passed/line-3/w1.jpg" == record.supersedes
    assert second == world.body("analyzed/failed/line-3/w1.jpg")
    assert ["PASS", "FAIL"] == [email.attributes["verdict"] for email in world.emails()]


def replace_once_after(world: World, operation: str, data: bytes) -> None:
    """After the pipeline's next `operation` call, a camera uploads `data` under KEY (once)."""
    done = False

    def upload(**_: Any) -> None:
        nonlocal done
        if not done:
            done = True
            world.upload(KEY, data)

    client = world.sns if operation == "Publish" else world.s3
    client.meta.events.register(f"after-call.{client.meta.service_model.endpoint_prefix}.{operation}", upload)


def test_an_upload_replacing_the_image_after_its_copy_is_kept_and_inspected_in_turn(world: World) -> None:
    first, second = jpeg(), jpeg((140, 100))
    first_etag = world.upload(KEY, first)
    processor = world.processor(FakeDetector(by=sequence([PASS_LABELS, FAIL_LABELS])))
    replace_once_after(world, "CopyObject", second)
    copies: list[dict[str, Any]] = []
    world.s3.meta.events.register(
        "before-parameter-build.s3.CopyObject", lambda params, **_: copies.append(params)
    )

    assert {"batchItemFailures": []} == world.run(processor)

    # Only the inspected version is copied (`CopySourceIfMatch`) and deleted (`If-Match`): the new one stays.
    assert [f'"{first_etag}"'] == [params["CopySourceIfMatch"] for params in copies]
    assert second == world.body(KEY)
    assert first == world.body("analyzed/passed/line-3/w1.jpg")

    response = world.run(processor)  # the new upload's own announcement

    assert {"batchItemFailures": []} == response
    assert ["analyzed/failed/line-3/w1.jpg", "results/line-3/w1.jpg.json"] == world.keys()
    assert second == world.body("analyzed/failed/line-3/w1.jpg")
    assert ["PASS", "FAIL"] == [email.attributes["verdict"] for email in world.emails()]


def test_an_upload_replacing_the_image_before_its_copy_is_kept_and_inspected_in_turn(world: World) -> None:
    """The camera overwrites the picture after its email went out and before the copy: on the versioned
    bucket the judged version is still there, and the copy names it (`VersionId`), so it is filed; the new
    picture is not touched (the delete names the judged ETag) until it is inspected itself, and its filing
    then makes the first one's copy a noncurrent version.
    """
    first, second = jpeg(), jpeg((140, 100))
    world.upload(KEY, first)
    processor = world.processor(FakeDetector(by=sequence([PASS_LABELS, FAIL_LABELS])))
    replace_once_after(world, "Publish", second)
    event = world.deliver()

    assert {"batchItemFailures": []} == world.run(processor, event)
    assert ["analyzed/passed/line-3/w1.jpg", KEY, "results/line-3/w1.jpg.json"] == world.keys()
    assert second == world.body(KEY)
    assert first == world.body("analyzed/passed/line-3/w1.jpg")

    assert {"batchItemFailures": []} == world.run(processor)  # the new upload's event

    assert ["analyzed/failed/line-3/w1.jpg", "results/line-3/w1.jpg.json"] == world.keys()
    assert second == world.body("analyzed/failed/line-3/w1.jpg")
    assert ["PASS", "FAIL"] == [email.attributes["verdict"] for email in world.emails()]
    assert 0 == world.queued()


def test_an_identical_re_upload_after_its_copy_was_filed_away_is_not_lost(world: World) -> None:
    """Same bytes, same eTag, a notified record: unless the pipeline re-files a missing copy before the
    delete, the copy is skipped, the original deleted, and the picture is gone.
    """
    data = jpeg()
    world.upload(KEY, data)
    processor = world.processor(FakeDetector(default=FAIL_LABELS))
    world.run(processor)
    world.s3.delete_object(Bucket=BUCKET, Key="analyzed/failed/line-3/w1.jpg")  # QC dealt with it

    world.upload(KEY, data)  # the camera sends the same picture again
    response = world.run(processor)

    assert {"batchItemFailures": []} == response
    assert world.exists("analyzed/failed/line-3/w1.jpg") or world.exists(KEY)


# --- the invocation's deadline -------------------------------------------------------------------------


@dataclass
class LambdaContext:
    """The part of Lambda's context object the handler uses."""

    remaining_ms: int
    function_name: str = "widget-inspector"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def slowly(answer: Answer, seconds: float) -> Any:
    def wait_then_answer(_: ImageSource) -> Answer:
        time.sleep(seconds)
        return answer

    return wait_then_answer


def test_a_record_unfinished_at_the_deadline_is_reported_for_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = jpeg()
    world.upload(KEY, data)
    detector = FakeDetector(by=slowly(FAIL_LABELS, 0.5))
    processor = world.processor(detector)
    monkeypatch.setattr(function, "_processor", processor)
    event = world.deliver()

    started = time.perf_counter()
    response = handler.lambda_handler(event, LambdaContext(remaining_ms=100))
    elapsed = time.perf_counter() - started

    assert {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]} == response
    assert elapsed < 0.4  # the answer did not wait for the slow detector

    processor._pool.shutdown(wait=True)  # the abandoned record runs on (Lambda would freeze it)
    retried = world.run(world.processor(FakeDetector(default=PASS_LABELS)))

    assert {"batchItemFailures": []} == retried
    assert 1 == len(detector.calls)
    assert 1 == len(world.emails())
    assert FILED == world.keys()


def test_a_slow_record_with_time_to_spare_is_waited_for(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.upload(KEY, jpeg())
    processor = world.processor(FakeDetector(by=slowly(FAIL_LABELS, 0.5)))
    monkeypatch.setattr(function, "_processor", processor)

    response = handler.lambda_handler(world.deliver(), LambdaContext(remaining_ms=60_000))

    assert {"batchItemFailures": []} == response
    assert FILED == world.keys()


# --- the same image in two containers at once ---------------------------------------------------------


@dataclass
class Gate:
    """Holds the calls it is put in front of until released, and says when the first one arrived."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def hold(self, then: Callable[..., Any] | None = None) -> Callable[..., Any]:
        """A hook (a detector's `by`, or a botocore `before-call`) that waits, then answers as `then`."""

        def hook(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            assert self.release.wait(10), "the test never released the call"
            return then(*args, **kwargs) if then is not None else None

        return hook


def race(gate: Gate, slow: BatchProcessor, fast: BatchProcessor, event: dict[str, Any]) -> dict[str, Any]:
    """`slow` handles `event` until it reaches `gate`; `fast` then handles it to the end, acknowledged;
    then `slow` goes on. Returns `slow`'s answer."""
    answers: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: answers.append(slow.process(event)))
    thread.start()
    assert gate.entered.wait(10)
    assert {"batchItemFailures": []} == fast.process(event)
    gate.release.set()
    thread.join(10)
    (answer,) = answers
    return answer


def container(
    world: World, *, on_publish: Any = None, detector: FakeDetector | None = None
) -> BatchProcessor:
    """Another container's processor: its own SNS client (hooked with `on_publish`), its own locks."""
    sns = world.session.client("sns", region_name=world.sns.meta.region_name)
    if on_publish is not None:
        sns.meta.events.register("before-call.sns.Publish", on_publish)
    clients = Clients(s3=world.s3, sns=sns, rekognition=world.rekognition)
    processor = build(
        world.settings(), clients=clients, detector=detector or FakeDetector(default=FAIL_LABELS)
    )
    world.processors.append(processor)
    return processor


def judged_but_not_filed(world: World, data: bytes) -> dict[str, Any]:
    """KEY uploaded, judged FAIL and its record saved, its publish failed: the event to resume from."""
    world.upload(KEY, data)
    event = world.deliver()
    first = container(world, on_publish=client_error("Publish", "Throttling", 400))
    assert message_ids(event) == failures(first.process(event))
    assert ["images/line-3/w1.jpg", "results/line-3/w1.jpg.json"] == world.keys()
    return event


def assert_filed_by_the_first(world: World, data: bytes) -> None:
    record = world.record(KEY)
    assert (True, "analyzed/failed/line-3/w1.jpg") == (record.notified_at is not None, record.destination)
    assert FILED == world.keys()
    assert data == world.body("analyzed/failed/line-3/w1.jpg")


def test_two_containers_inspecting_one_image_at_once_never_lose_it(world: World) -> None:
    """A duplicate notification handled by a second container while the first files the image away.

    The per-key lock is per container. B heads the original and starts recognition; meanwhile A judges,
    notifies, files and deletes the original. B's record write then finds A's record, and B stops. (When
    record writes were unconditional and the copy came before the publish, B overwrote A's finished record,
    found the original gone when it copied, and took back the copy A had filed: the image was nowhere.)
    """
    data = jpeg()
    world.upload(KEY, data)
    gate = Gate()
    slow = container(world, detector=FakeDetector(by=gate.hold(lambda _image: FAIL_LABELS)))

    answer = race(gate, slow, container(world), world.deliver())

    assert 1 == len(failures(answer))  # B lost the race: its message is retried, not acknowledged
    assert 1 == len(world.emails())
    assert_filed_by_the_first(world, data)


def test_a_container_failing_after_another_finished_leaves_the_filed_copy(world: World) -> None:
    """Both resume from one record; B's publish fails after A notified, filed and deleted the original.

    Nothing B does on its failure may touch the copy: it is A's, and the only one left. (When the copy came
    before the publish, B took "its" copy back here, and the image was nowhere.)
    """
    data = jpeg()
    event = judged_but_not_filed(world, data)
    gate = Gate()
    slow = container(world, on_publish=gate.hold(client_error("Publish", "InternalError", 500)))

    answer = race(gate, slow, container(world), event)

    assert message_ids(event) == failures(answer)
    assert 1 == len(world.emails())
    assert_filed_by_the_first(world, data)


def test_two_containers_resuming_one_record_file_it_once_and_the_second_stops_at_its_record_write(
    world: World,
) -> None:
    """Both resume from one judged record and both reach the publish. A finishes first; B's email goes
    out too (at least once: it cannot be taken back), but its notified write names the record both read,
    which A has replaced: B stops there, before touching the copy or the original.
    """
    data = jpeg()
    event = judged_but_not_filed(world, data)
    gate = Gate()
    slow = container(world, on_publish=gate.hold())

    answer = race(gate, slow, container(world), event)

    assert message_ids(event) == failures(answer)
    assert 2 == len(world.emails())
    assert_filed_by_the_first(world, data)


def test_an_image_overwritten_before_the_function_runs_is_recorded_with_its_own_facts(world: World) -> None:
    """Both events arrive in one batch: whichever runs first inspects the version there now, and the record
    holds that version's ETag, size and time (HEAD's LastModified), none of the first event's."""
    first, second = jpeg(), jpeg((200, 150))
    world.upload(KEY, first)
    time.sleep(1.1)  # S3's LastModified has one-second resolution: the two versions' times differ
    etag = world.upload(KEY, second)
    head = world.s3.head_object(Bucket=BUCKET, Key=KEY)
    event = world.deliver()
    assert 2 == len(event["Records"])

    world.run(world.processor(FakeDetector(default=FAIL_LABELS)), event)

    image = world.record(KEY).image
    assert (etag, len(second)) == (image.etag, image.size)
    assert head["LastModified"] == image.event_time
    assert second == world.body("analyzed/failed/line-3/w1.jpg")


def test_the_same_bytes_uploaded_again_are_said_to_be_already_inspected(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Not silently removed: a log line, a metric and the same one sentence, and no second email."""
    # A bucket without versioning (on a versioned one the same bytes again are a new upload, inspected anew).
    world.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    data = jpeg()
    world.upload(KEY, data)
    world.run(world.processor(FakeDetector(default=FAIL_LABELS)))
    time.sleep(1.1)  # S3's LastModified has one-second resolution
    world.upload(KEY, data)
    emitted = io.StringIO()
    metrics = Metrics("WidgetInspector", stream=emitted)
    clients = Clients(s3=world.s3, sns=world.sns, rekognition=world.rekognition)
    processor = build(
        world.settings(), clients=clients, detector=FakeDetector(default=FAIL_LABELS), metrics=metrics
    )

    with caplog.at_level(logging.INFO, logger="inspector.pipeline"):
        world.run(processor)

    said = "already inspected: same content, verdict FAIL, filed at analyzed/failed/line-3/w1.jpg"
    assert said in [r.getMessage() for r in caplog.records]
    documents = [json.loads(line) for line in emitted.getvalue().splitlines()]
    assert [1] == [
        d["AlreadyInspected"] for d in documents if "AlreadyInspected" in d and d["Verdict"] == "FAIL"
    ]
    assert 1 == len(world.emails())
    assert_filed_once(world, data)
