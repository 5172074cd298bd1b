"""The batch processor: SQS records run concurrently, answered with Lambda's partial batch response."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import pytest

from inspector.batch import BatchProcessor, RecordOutcome, RecordStatus
from inspector.criteria import Criteria
from inspector.engine import Verdict
from inspector.errors import MalformedEventError, TransientError
from inspector.events import ObjectRef
from inspector.observability import Metrics
from inspector.pipeline import Inspection, Inspector, Status
from inspector.settings import Settings
from tests.support import event_text, load_event

# The fixtures in tests/events/ announce objects in this bucket.
BUCKET = "widget-factory-images"
SETTINGS = Settings(
    topic_arn="arn:aws:sns:us-east-1:123456789012:t",
    bucket=BUCKET,
    criteria=Criteria.from_document({"require": [{"label": "Widget"}]}),
)
KEY = "images/line-3/widget-0042.jpg"

Behaviour = Callable[[ObjectRef], Inspection]


def inspected(ref: ObjectRef) -> Inspection:
    """What a successful inspection of `ref` returns."""
    return Inspection(
        key=ref.key,
        status=Status.INSPECTED,
        verdict=Verdict.PASS,
        destination=SETTINGS.destination(ref.key, Verdict.PASS),
        record_key=SETTINGS.record_key(ref.key),
        notified=True,
        original_deleted=True,
    )


def object_ref(key: str) -> ObjectRef:
    """An object reference with this key: all that `inspected` reads of it."""
    return ObjectRef(bucket=BUCKET, key=key, raw_key=key)


class FakeInspector:
    """The part of `Inspector` the batch processor uses: `.settings` and `.inspect(ref)`."""

    def __init__(self, behaviour: Behaviour = inspected, settings: Settings = SETTINGS) -> None:
        self.settings = settings
        self.behaviour = behaviour
        self.keys: list[str] = []
        self._lock = threading.Lock()

    def inspect(self, ref: ObjectRef) -> Inspection:
        with self._lock:
            self.keys.append(ref.key)
        return self.behaviour(ref)


def processor(
    fake: FakeInspector, *, max_workers: int = 10, metrics: Metrics | None = None
) -> BatchProcessor:
    return BatchProcessor(cast("Inspector", fake), max_workers=max_workers, metrics=metrics)


def s3_body(key: str = KEY, *, bucket: str = BUCKET) -> str:
    """s3ObjectCreated.json announcing another key or bucket, as S3 would send it to SQS."""
    event = load_event("s3ObjectCreated.json")
    event["Records"][0]["s3"]["object"]["key"] = key
    event["Records"][0]["s3"]["bucket"]["name"] = bucket
    return json.dumps(event)


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    """A record of sqsEvent.json with another id and body."""
    record = dict(load_event("sqsEvent.json")["Records"][0])
    record["messageId"] = message_id
    record["body"] = body
    return record


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def by_key(**behaviours: Behaviour) -> Behaviour:
    """Each key's own behaviour (by the file name without extension), else a successful inspection."""

    def behave(ref: ObjectRef) -> Inspection:
        name = ref.key.rsplit("/", 1)[-1].split(".")[0]
        return behaviours.get(name, inspected)(ref)

    return behave


def raising(exc: Exception) -> Behaviour:
    def behave(ref: ObjectRef) -> Inspection:
        raise exc

    return behave


def statuses(outcomes: list[RecordOutcome]) -> list[tuple[str, RecordStatus]]:
    return [(o.message_id, o.status) for o in outcomes]


def reported(answer: dict[str, list[dict[str, str]]]) -> list[str]:
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


# --- Records that need nothing more ------------------------------------------------------------------------


def test_the_fixture_event_is_inspected_and_no_record_is_reported() -> None:
    fake = FakeInspector()

    answer = processor(fake).process(load_event("sqsEvent.json"))

    assert {"batchItemFailures": []} == answer
    assert ["images/line-3/widget-0042.jpg", "images/line-4/widget-0107.png"] == sorted(fake.keys)


def test_a_done_record_carries_its_inspections() -> None:
    fake = FakeInspector()

    (outcome,) = processor(fake).run(sqs_event(sqs_record("m-1", s3_body())))

    assert RecordOutcome("m-1", RecordStatus.DONE, inspections=(inspected(object_ref(KEY)),)) == outcome


def test_a_record_announcing_two_objects_is_done_when_both_are_inspected() -> None:
    fake = FakeInspector()

    (outcome,) = processor(fake).run(sqs_event(sqs_record("m-2", event_text("s3TwoObjects.json"))))

    assert RecordStatus.DONE == outcome.status
    assert ["images/line-3/widget-0042.jpg", "images/line-4/widget-0107.png"] == [
        i.key for i in outcome.inspections
    ]


def test_a_record_with_an_object_and_a_folder_marker_inspects_the_object_only() -> None:
    fake = FakeInspector()

    (outcome,) = processor(fake).run(sqs_event(sqs_record("m-3", event_text("s3ObjectAndFolderMarker.json"))))

    assert RecordStatus.DONE == outcome.status
    assert ["images/line-3/widget-0042.jpg"] == fake.keys


@pytest.mark.parametrize(
    "body",
    [
        event_text("s3TestEvent.json"),
        event_text("s3FolderMarker.json"),
        s3_body(bucket="someone-elses-bucket"),
        event_text("s3OutsidePrefix.json"),
        event_text("s3ObjectRemoved.json"),
        event_text("snsS3TestEvent.json"),
    ],
    ids=[
        "test-event",
        "folder-marker",
        "other-bucket",
        "outside-prefix",
        "object-removed",
        "test-event-in-sns",
    ],
)
def test_a_message_that_needs_nothing_is_ignored_and_not_reported(body: str) -> None:
    fake = FakeInspector()
    batch = processor(fake)
    event = sqs_event(sqs_record("m-ignored", body))

    (outcome,) = batch.run(event)

    assert RecordStatus.IGNORED == outcome.status
    assert outcome.detail
    assert [] == fake.keys
    assert [] == reported(batch.process(event))


def test_a_function_serving_another_bucket_ignores_the_fixture_events_and_reports_nothing() -> None:
    elsewhere = SETTINGS.model_copy(update={"bucket": "widget-factory"})
    fake = FakeInspector(settings=elsewhere)
    batch = processor(fake)

    outcomes = batch.run(load_event("sqsEvent.json"))

    assert [RecordStatus.IGNORED, RecordStatus.IGNORED] == [o.status for o in outcomes]
    assert "is not in bucket widget-factory" in outcomes[0].detail
    assert [] == fake.keys
    assert [] == reported(batch.process(load_event("sqsEvent.json")))


# --- Records that fail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["not json at all", "[1, 2, 3]", '{"hello": "world"}', '{"Records": [{"eventSource": "aws:s3"}]}', ""],
    ids=["not-json", "json-array", "unknown-shape", "invalid-s3-record", "empty"],
)
def test_a_malformed_body_is_reported_so_that_it_reaches_the_dead_letter_queue(body: str) -> None:
    fake = FakeInspector()
    event = sqs_event(sqs_record("m-bad", body))

    (outcome,) = processor(fake).run(event)

    assert RecordStatus.MALFORMED == outcome.status
    assert ["m-bad"] == reported(processor(fake).process(event))
    assert [] == fake.keys


@pytest.mark.parametrize(
    "changes",
    [
        {"eventSource": "aws:sns"},
        {"body": None},
        {"attributes": {}},
        {"receiptHandle": None},
        {"eventSourceARN": None},
    ],
    ids=["not-from-sqs", "no-body", "no-receive-count", "no-receipt-handle", "no-source-arn"],
)
def test_an_invalid_sqs_record_is_reported_as_malformed(changes: dict[str, Any]) -> None:
    record = {**sqs_record("m-odd", s3_body()), **changes}
    record = {name: value for name, value in record.items() if value is not None}
    fake = FakeInspector()

    answer = processor(fake).process(sqs_event(record))

    assert ["m-odd"] == reported(answer)
    assert [] == fake.keys


def test_a_transient_error_is_reported_for_a_retry() -> None:
    fake = FakeInspector(raising(TransientError("Rekognition DetectLabels failed: ThrottlingException")))
    event = sqs_event(sqs_record("m-throttled", s3_body()))

    (outcome,) = processor(fake).run(event)

    assert RecordStatus.RETRY == outcome.status
    assert "Rekognition DetectLabels failed: ThrottlingException" == outcome.detail
    assert ["m-throttled"] == reported(processor(fake).process(event))


def test_a_transient_error_on_the_second_object_of_a_record_reports_the_whole_record() -> None:
    fake = FakeInspector(by_key(**{"widget-0107": raising(TransientError("SNS Publish failed"))}))

    (outcome,) = processor(fake).run(sqs_event(sqs_record("m-two", event_text("s3TwoObjects.json"))))

    assert RecordStatus.RETRY == outcome.status


def test_an_unexpected_error_in_one_record_is_reported_while_its_neighbours_succeed() -> None:
    fake = FakeInspector(by_key(w2=raising(RuntimeError("disk on fire"))))
    event = sqs_event(
        sqs_record("m-1", s3_body("images/line-3/w1.jpg")),
        sqs_record("m-2", s3_body("images/line-3/w2.jpg")),
        sqs_record("m-3", s3_body("images/line-3/w3.jpg")),
    )
    batch = processor(fake)

    outcomes = batch.run(event)

    assert [("m-1", RecordStatus.DONE), ("m-2", RecordStatus.ERROR), ("m-3", RecordStatus.DONE)] == statuses(
        outcomes
    )
    assert "RuntimeError: disk on fire" == outcomes[1].detail
    assert ["m-2"] == reported(batch.process(event))


def test_every_kind_of_outcome_in_one_batch_reports_exactly_the_failures() -> None:
    fake = FakeInspector(by_key(slow=raising(TransientError("throttled")), odd=raising(KeyError("surprise"))))
    event = sqs_event(
        sqs_record("done", s3_body("images/line-3/ok.jpg")),
        sqs_record("ignored", event_text("s3TestEvent.json")),
        sqs_record("malformed", "{"),
        sqs_record("retry", s3_body("images/line-3/slow.jpg")),
        sqs_record("error", s3_body("images/line-3/odd.jpg")),
    )

    answer = processor(fake).process(event)

    assert {"batchItemFailures": [{"itemIdentifier": i} for i in ("malformed", "retry", "error")]} == answer


# --- Events that cannot be answered record by record -----------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [{"receiptHandle": "x"}, {"messageId": ""}, {"messageId": 42}, "not a record"],
    ids=["no-message-id", "empty-message-id", "numeric-message-id", "not-a-mapping"],
)
def test_a_record_without_a_message_id_fails_the_whole_batch(bad: Any) -> None:
    fake = FakeInspector()
    event = sqs_event(sqs_record("m-1", s3_body()), bad)

    with pytest.raises(MalformedEventError, match="no messageId"):
        processor(fake).process(event)
    assert [] == fake.keys


@pytest.mark.parametrize(
    "event",
    [{}, {"Records": None}, {"Records": "m-1"}, {"records": []}, load_event("s3TestEvent.json")],
    ids=["empty", "null-records", "string-records", "lower-case-records", "not-an-sqs-event"],
)
def test_an_event_without_a_records_list_is_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(MalformedEventError, match="no Records list"):
        processor(FakeInspector()).process(event)


def test_an_empty_batch_reports_nothing() -> None:
    assert {"batchItemFailures": []} == processor(FakeInspector()).process({"Records": []})


# --- Order, concurrency, deadline --------------------------------------------------------------------------


def test_outcomes_are_in_the_events_order_whatever_order_the_records_finish_in() -> None:
    def later_for_earlier(announced: ObjectRef) -> Inspection:
        number = int(announced.key.removeprefix("images/line-3/w").removesuffix(".jpg"))
        time.sleep(0.02 * (6 - number))
        return inspected(announced)

    ids = [f"m-{i}" for i in range(6)]
    event = sqs_event(*(sqs_record(m, s3_body(f"images/line-3/w{i}.jpg")) for i, m in enumerate(ids)))

    outcomes = processor(FakeInspector(later_for_earlier)).run(event)

    assert ids == [o.message_id for o in outcomes]
    assert [f"images/line-3/w{i}.jpg" for i in range(6)] == [o.inspections[0].key for o in outcomes]


def test_records_run_concurrently() -> None:
    # Ten inspections that each wait for all ten: run one at a time, the barrier would time out.
    everyone = threading.Barrier(10)

    def together(ref: ObjectRef) -> Inspection:
        everyone.wait(timeout=5)
        return inspected(ref)

    event = sqs_event(*(sqs_record(f"m-{i}", s3_body(f"images/line-3/w{i}.jpg")) for i in range(10)))
    started = time.monotonic()

    outcomes = processor(FakeInspector(together), max_workers=10).run(event)

    assert [RecordStatus.DONE] * 10 == [o.status for o in outcomes]
    assert time.monotonic() - started < 1.5


def test_records_beyond_max_workers_wait_for_a_free_worker() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def counted(ref: ObjectRef) -> Inspection:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1
        return inspected(ref)

    event = sqs_event(*(sqs_record(f"m-{i}", s3_body(f"images/line-3/w{i}.jpg")) for i in range(6)))

    outcomes = processor(FakeInspector(counted), max_workers=2).run(event)

    assert [RecordStatus.DONE] * 6 == [o.status for o in outcomes]
    assert 2 == most


def test_a_record_still_running_at_the_deadline_is_timed_out_and_reported() -> None:
    # 2.5 s left minus the 2 s margin: the batch waits 0.5 s, the slow record needs up to 0.8 s.
    release = threading.Event()

    def slow(ref: ObjectRef) -> Inspection:
        release.wait(timeout=0.8)
        return inspected(ref)

    fake = FakeInspector(by_key(slow=slow))
    event = sqs_event(
        sqs_record("m-fast", s3_body("images/line-3/fast.jpg")),
        sqs_record("m-slow", s3_body("images/line-3/slow.jpg")),
    )
    batch = processor(fake)
    started = time.monotonic()

    try:
        outcomes = batch.run(event, time_left=lambda: 2.5)
        waited = time.monotonic() - started
    finally:
        release.set()

    assert [("m-fast", RecordStatus.DONE), ("m-slow", RecordStatus.TIMED_OUT)] == statuses(outcomes)
    assert 0.4 < waited < 0.8


def test_a_timed_out_record_is_in_the_partial_batch_response() -> None:
    release = threading.Event()

    def stuck(ref: ObjectRef) -> Inspection:
        release.wait(timeout=0.8)
        return inspected(ref)

    event = sqs_event(sqs_record("m-stuck", s3_body()))

    try:
        answer = processor(FakeInspector(stuck)).process(event, time_left=lambda: 2.1)
    finally:
        release.set()

    assert ["m-stuck"] == reported(answer)


def test_with_no_time_left_the_batch_waits_for_nothing_still_running() -> None:
    release = threading.Event()

    def stuck(ref: ObjectRef) -> Inspection:
        release.wait(timeout=0.8)
        return inspected(ref)

    try:
        (outcome,) = processor(FakeInspector(stuck)).run(
            sqs_event(sqs_record("m-late", s3_body())), time_left=lambda: 0.5
        )
    finally:
        release.set()

    assert RecordStatus.TIMED_OUT == outcome.status


# --- Metrics ------------------------------------------------------------------------------------------------


def test_failures_are_counted_by_kind_and_written_when_the_batch_is_answered() -> None:
    stream = io.StringIO()
    fake = FakeInspector(by_key(w2=raising(TransientError("throttled")), w3=raising(RuntimeError("boom"))))
    event = sqs_event(
        sqs_record("m-1", s3_body("images/line-3/w1.jpg")),
        sqs_record("m-2", s3_body("images/line-3/w2.jpg")),
        sqs_record("m-3", s3_body("images/line-3/w3.jpg")),
        sqs_record("m-4", "not json"),
        {**sqs_record("m-5", s3_body()), "eventSource": "aws:sns"},
        sqs_record("m-6", event_text("s3TestEvent.json")),
    )

    processor(fake, metrics=Metrics("WidgetInspector", stream=stream)).process(event)

    documents = [json.loads(line) for line in stream.getvalue().splitlines()]
    counted = {d["Kind"]: d["Errors"] for d in documents if "Kind" in d}
    assert {"malformed": 2, "retry": 1, "error": 1} == counted
    for document in documents:
        directive = document["_aws"]["CloudWatchMetrics"][0]
        assert "WidgetInspector" == directive["Namespace"]
        assert [["Service", "Kind"]] == directive["Dimensions"]


def test_timed_out_records_are_counted_as_their_own_kind() -> None:
    stream = io.StringIO()
    release = threading.Event()

    def stuck(ref: ObjectRef) -> Inspection:
        release.wait(timeout=0.8)
        return inspected(ref)

    try:
        processor(FakeInspector(stuck), metrics=Metrics("WidgetInspector", stream=stream)).process(
            sqs_event(sqs_record("m-late", s3_body())), time_left=lambda: 2.3
        )
    finally:
        release.set()

    (document,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert ("timed-out", 1) == (document["Kind"], document["Errors"])


def test_a_batch_without_failures_writes_no_error_metrics() -> None:
    stream = io.StringIO()

    processor(FakeInspector(), metrics=Metrics("WidgetInspector", stream=stream)).process(
        load_event("sqsEvent.json")
    )

    assert "" == stream.getvalue()
