"""What `parse_body` makes of each message body that can reach the inspection queue; the SQS event model."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from inspector.errors import MalformedEventError
from inspector.events import Ignored, IgnoreReason, Inspect, ObjectRef, SqsEvent, parse_body
from tests.support import event_text, load_event

BUCKET = "widget-factory-images"

# What real S3 announces in s3ObjectCreated.json (and, wrapped, in snsS3ObjectCreated.json).
WIDGET_0042 = ObjectRef(
    bucket=BUCKET,
    key="images/line-3/widget-0042.jpg",
    raw_key="images/line-3/widget-0042.jpg",
    size=482133,
    etag="9b2cf535f27731c974343645a3985328",
    version_id="Wd9mXaKq3Lp0vR2uTz8eYb6cN1sJ4hGf",
    sequencer="00672741A37D2E1F08",
    event_time=datetime(2026, 11, 3, 9, 14, 27, 512000, tzinfo=UTC),
    event_name="ObjectCreated:Put",
    region="eu-west-1",
)


def the_only_object(outcome: Inspect | Ignored) -> ObjectRef:
    assert isinstance(outcome, Inspect), outcome
    assert () == outcome.skipped
    (ref,) = outcome.objects
    return ref


def the_ignored(outcome: Inspect | Ignored) -> Ignored:
    assert isinstance(outcome, Ignored), outcome
    return outcome


def s3_body_with_key(raw_key: str) -> str:
    """s3ObjectCreated.json with another key, written as S3 would write it in the event."""
    event = load_event("s3ObjectCreated.json")
    event["Records"][0]["s3"]["object"]["key"] = raw_key
    return json.dumps(event)


def eventbridge_body_with_key(key: str) -> str:
    event = load_event("eventBridgeObjectCreated.json")
    event["detail"]["object"]["key"] = key
    return json.dumps(event)


def in_sns_envelope(message: str) -> str:
    """The body SQS holds when S3 publishes to SNS and SNS delivers to SQS without raw message delivery."""
    envelope = load_event("snsS3ObjectCreated.json")
    envelope["Message"] = message
    return json.dumps(envelope)


def with_first_record(name: str, **changes: Any) -> str:
    event = load_event(name)
    event["Records"][0].update(changes)
    return json.dumps(event)


# --- Each accepted shape --------------------------------------------------------------------------------


def test_direct_s3_put_yields_every_field_of_the_object() -> None:
    ref = the_only_object(parse_body(event_text("s3ObjectCreated.json")))

    assert WIDGET_0042 == ref


def test_sns_fan_out_envelope_yields_the_inner_object() -> None:
    ref = the_only_object(parse_body(event_text("snsS3ObjectCreated.json")))

    assert WIDGET_0042 == ref


def test_eventbridge_object_created_yields_the_object_with_its_key_as_sent() -> None:
    ref = the_only_object(parse_body(event_text("eventBridgeObjectCreated.json")))

    assert (
        ObjectRef(
            bucket=BUCKET,
            key="images/line 3/widget é.jpg",
            raw_key="images/line 3/widget é.jpg",
            size=482133,
            etag="9b2cf535f27731c974343645a3985328",
            version_id="Wd9mXaKq3Lp0vR2uTz8eYb6cN1sJ4hGf",
            sequencer="00672741A37D2E1F08",
            event_time=datetime(2026, 11, 3, 9, 14, 27, tzinfo=UTC),
            event_name="Object Created",
            region="eu-west-1",
        )
        == ref
    )


def test_what_moto_emits_yields_the_object_it_announces() -> None:
    # s3SqsMotoBody.json was captured from moto's S3 -> SQS notification for a put of this key.
    ref = the_only_object(parse_body(event_text("s3SqsMotoBody.json")))

    assert BUCKET == ref.bucket
    assert "images/my widget é.jpg" == ref.key
    assert "images%2Fmy+widget+%C3%A9.jpg" == ref.raw_key
    assert 20 == ref.size
    assert "ffcce21ca2c1bb503fc0c81dbbd29080" == ref.etag
    assert ref.version_id is None
    assert ref.sequencer is None
    assert "ObjectCreated:Put" == ref.event_name
    assert "eu-west-1" == ref.region


def test_moto_event_time_without_a_zone_is_read_as_utc() -> None:
    ref = the_only_object(
        parse_body(with_first_record("s3SqsMotoBody.json", eventTime="2026-11-26T21:47:37.492574"))
    )

    assert datetime(2026, 11, 26, 21, 47, 37, 492574, tzinfo=UTC) == ref.event_time


EVERY_ACCEPTED_SHAPE = {
    "s3-direct": "s3ObjectCreated.json",
    "s3-sns-sqs": "snsS3ObjectCreated.json",
    "eventbridge": "eventBridgeObjectCreated.json",
    "moto": "s3SqsMotoBody.json",
}


@pytest.mark.parametrize("name", list(EVERY_ACCEPTED_SHAPE.values()), ids=list(EVERY_ACCEPTED_SHAPE))
def test_event_time_is_timezone_aware_utc_whatever_the_shape(name: str) -> None:
    ref = the_only_object(parse_body(event_text(name)))

    assert ref.event_time is not None
    assert timedelta(0) == ref.event_time.utcoffset()


@pytest.mark.parametrize("name", list(EVERY_ACCEPTED_SHAPE.values()), ids=list(EVERY_ACCEPTED_SHAPE))
def test_a_bytes_body_parses_like_the_same_text(name: str) -> None:
    text = event_text(name)

    assert parse_body(text) == parse_body(text.encode("utf-8"))


# --- Keys: URL-decoded exactly once in S3 notifications, never in EventBridge events ------------------


KEY_FIXTURES = {
    "space-as-plus": ("s3KeyWithSpaces.json", "images/my+widget.jpg", "images/my widget.jpg"),
    "literal-plus": ("s3KeyWithLiteralPlus.json", "images/c%2B%2B+widget.jpg", "images/c++ widget.jpg"),
    "literal-percent": ("s3KeyWithLiteralPercent.json", "images/batch-50%25.jpg", "images/batch-50%.jpg"),
    "percent-2F-in-name": (
        "s3KeyWithEncodedSlash.json",
        "images/widget%252Fv2.jpg",
        "images/widget%2Fv2.jpg",
    ),
    "unicode": (
        "s3KeyWithUnicode.json",
        "images/widget+%C3%A9%E2%9C%93+%E6%A3%80%E6%9F%A5.jpg",
        "images/widget é✓ 检查.jpg",
    ),
    "nested-folders": (
        "s3KeyInNestedFolders.json",
        "images/2026/11/line-3/station+B/widget-0042.jpg",
        "images/2026/11/line-3/station B/widget-0042.jpg",
    ),
}


@pytest.mark.parametrize(("name", "raw_key", "key"), list(KEY_FIXTURES.values()), ids=list(KEY_FIXTURES))
def test_s3_key_is_url_decoded_and_the_raw_key_kept(name: str, raw_key: str, key: str) -> None:
    ref = the_only_object(parse_body(event_text(name)))

    assert key == ref.key
    assert raw_key == ref.raw_key


DECODED_ONCE = {
    "plus-is-a-space": ("images/my+widget.jpg", "images/my widget.jpg"),
    "percent-2B-is-a-plus": ("images/a%2Bb.jpg", "images/a+b.jpg"),
    "percent-25-is-a-percent": ("images/100%25.jpg", "images/100%.jpg"),
    "percent-252F-stays-percent-2F": ("images/widget%252Fv2.jpg", "images/widget%2Fv2.jpg"),
    "percent-2525-stays-percent-25": ("images/%2525.jpg", "images/%25.jpg"),
    "percent-2B-then-plus": ("images/%2B+.jpg", "images/+ .jpg"),
    "moto-encoded-slashes": ("images%2Fline-3%2Fwidget.jpg", "images/line-3/widget.jpg"),
}


@pytest.mark.parametrize(("raw_key", "key"), list(DECODED_ONCE.values()), ids=list(DECODED_ONCE))
def test_s3_key_is_decoded_exactly_once(raw_key: str, key: str) -> None:
    assert key == the_only_object(parse_body(s3_body_with_key(raw_key))).key
    assert key == the_only_object(parse_body(in_sns_envelope(s3_body_with_key(raw_key)))).key


@pytest.mark.parametrize(
    "key",
    ["images/c++ widget.jpg", "images/50%25 off.jpg", "images/line 3/widget é.jpg"],
    ids=["plus", "percent-escape", "space-and-unicode"],
)
def test_eventbridge_key_is_not_url_decoded(key: str) -> None:
    ref = the_only_object(parse_body(eventbridge_body_with_key(key)))

    assert key == ref.key
    assert key == ref.raw_key


def test_key_of_exactly_1024_bytes_is_accepted() -> None:
    key = "images/" + "é" * 508 + "x"  # 7 + 1016 + 1 bytes

    assert key == the_only_object(parse_body(s3_body_with_key(key.replace("é", "%C3%A9")))).key


# --- Messages that need no inspection ------------------------------------------------------------------


MOTO_TEST_EVENT = (
    '{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-26T21:47:37.483744", '
    '"Bucket": "widget-factory-images"}'
)

IGNORED = {
    "s3-test-event": (event_text("s3TestEvent.json"), IgnoreReason.TEST_EVENT, "widget-factory-images"),
    "s3-test-event-in-sns": (
        event_text("snsS3TestEvent.json"),
        IgnoreReason.TEST_EVENT,
        "widget-factory-images",
    ),
    "moto-test-event": (MOTO_TEST_EVENT, IgnoreReason.TEST_EVENT, "widget-factory-images"),
    "empty-records": (event_text("s3EmptyRecords.json"), IgnoreReason.NO_RECORDS, "Records list is empty"),
    "empty-records-in-sns": (
        in_sns_envelope(event_text("s3EmptyRecords.json")),
        IgnoreReason.NO_RECORDS,
        "Records list is empty",
    ),
    "s3-object-removed": (
        event_text("s3ObjectRemoved.json"),
        IgnoreReason.NOT_OBJECT_CREATED,
        "ObjectRemoved:Delete for s3://widget-factory-images/images/line-3/widget-0041.jpg",
    ),
    "eventbridge-object-deleted": (
        event_text("eventBridgeObjectDeleted.json"),
        IgnoreReason.NOT_OBJECT_CREATED,
        "Object Deleted for s3://widget-factory-images/images/line 3/widget é.jpg",
    ),
    "outside-prefix": (
        event_text("s3OutsidePrefix.json"),
        IgnoreReason.OUTSIDE_PREFIX,
        "s3://widget-factory-images/analyzed/passed/widget-0042.jpg is outside 'images/'",
    ),
    "outside-prefix-eventbridge": (
        eventbridge_body_with_key("analyzed/passed/widget é.jpg"),
        IgnoreReason.OUTSIDE_PREFIX,
        "is outside 'images/'",
    ),
    "folder-marker": (
        event_text("s3FolderMarker.json"),
        IgnoreReason.FOLDER_MARKER,
        "s3://widget-factory-images/images/line-3/ is a folder marker",
    ),
    "folder-marker-in-sns": (
        in_sns_envelope(event_text("s3FolderMarker.json")),
        IgnoreReason.FOLDER_MARKER,
        "images/line-3/ is a folder marker",
    ),
    "prefix-itself-as-folder-marker": (
        s3_body_with_key("images/"),
        IgnoreReason.FOLDER_MARKER,
        "images/ is a folder marker",
    ),
}


@pytest.mark.parametrize(("body", "reason", "detail"), list(IGNORED.values()), ids=list(IGNORED))
def test_message_needing_no_inspection_says_why(body: str, reason: IgnoreReason, detail: str) -> None:
    ignored = the_ignored(parse_body(body))

    assert reason == ignored.reason
    assert detail in ignored.detail


OTHER_BUCKET_BODIES = {
    "s3-direct": event_text("s3ObjectCreated.json"),
    "s3-sns-sqs": event_text("snsS3ObjectCreated.json"),
    "eventbridge": event_text("eventBridgeObjectCreated.json"),
}


@pytest.mark.parametrize("body", list(OTHER_BUCKET_BODIES.values()), ids=list(OTHER_BUCKET_BODIES))
def test_object_in_another_bucket_is_ignored_when_a_bucket_is_given(body: str) -> None:
    ignored = the_ignored(parse_body(body, bucket="widget-factory-archive"))

    assert IgnoreReason.OTHER_BUCKET == ignored.reason
    assert "is not in bucket widget-factory-archive" in ignored.detail


@pytest.mark.parametrize("body", list(OTHER_BUCKET_BODIES.values()), ids=list(OTHER_BUCKET_BODIES))
def test_object_in_the_given_bucket_is_inspected(body: str) -> None:
    assert BUCKET == the_only_object(parse_body(body, bucket=BUCKET)).bucket


def test_empty_prefix_watches_every_key() -> None:
    ref = the_only_object(parse_body(event_text("s3OutsidePrefix.json"), prefix=""))

    assert "analyzed/passed/widget-0042.jpg" == ref.key


def test_empty_prefix_still_skips_folder_markers() -> None:
    ignored = the_ignored(parse_body(event_text("s3FolderMarker.json"), prefix=""))

    assert IgnoreReason.FOLDER_MARKER == ignored.reason


def test_another_prefix_moves_the_watched_folder() -> None:
    inside = parse_body(event_text("s3OutsidePrefix.json"), prefix="analyzed/")
    outside = parse_body(event_text("s3ObjectCreated.json"), prefix="analyzed/")

    assert "analyzed/passed/widget-0042.jpg" == the_only_object(inside).key
    assert IgnoreReason.OUTSIDE_PREFIX == the_ignored(outside).reason


def test_prefix_is_matched_against_the_decoded_key() -> None:
    # moto encodes the prefix's own slash ("images%2F..."); the filter must see "images/".
    assert "images/my widget é.jpg" == the_only_object(parse_body(event_text("s3SqsMotoBody.json"))).key


# --- Messages with several records ---------------------------------------------------------------------


def test_two_record_message_yields_both_objects_in_order() -> None:
    outcome = parse_body(event_text("s3TwoObjects.json"))

    assert isinstance(outcome, Inspect)
    assert ["images/line-3/widget-0042.jpg", "images/line-4/widget-0107.png"] == [
        o.key for o in outcome.objects
    ]
    assert () == outcome.skipped


def test_two_record_message_with_a_folder_marker_yields_one_object_and_one_skipped() -> None:
    outcome = parse_body(event_text("s3ObjectAndFolderMarker.json"))

    assert isinstance(outcome, Inspect)
    assert (WIDGET_0042,) == outcome.objects
    assert [IgnoreReason.FOLDER_MARKER] == [s.reason for s in outcome.skipped]


def test_message_whose_records_are_all_skipped_is_ignored_with_every_detail() -> None:
    ignored = the_ignored(parse_body(event_text("s3TwoObjects.json"), prefix="analyzed/"))

    assert IgnoreReason.OUTSIDE_PREFIX == ignored.reason
    assert "widget-0042.jpg" in ignored.detail
    assert "widget-0107.png" in ignored.detail


# --- Malformed bodies ----------------------------------------------------------------------------------


def _without_s3(name: str) -> str:
    event = load_event(name)
    del event["Records"][0]["s3"]
    return json.dumps(event)


def _eventbridge(**changes: Any) -> str:
    event = load_event("eventBridgeObjectCreated.json")
    event.update(changes)
    return json.dumps(event)


TOO_LONG_KEY = "images/" + "%C3%A9" * 509  # 516 characters once decoded, but 1025 bytes
SURROGATE_KEY_S3 = event_text("s3ObjectCreated.json").replace(
    "images/line-3/widget-0042.jpg", "images/\\ud800.jpg"
)
SURROGATE_KEY_EVENTBRIDGE = event_text("eventBridgeObjectCreated.json").replace("widget é.jpg", "\\udfff.jpg")

MALFORMED = {
    "not-json": ("widget-0042.jpg was uploaded", "message body is not JSON"),
    "empty-body": ("", "message body is not JSON"),
    "truncated-json": (event_text("s3ObjectCreated.json")[:300], "message body is not JSON"),
    "bytes-not-utf8": (b"\xff\xfe\xfa widget", "message body is not JSON"),
    "json-array": ('[{"Records": []}]', "message body is JSON but not an object (got list)"),
    "json-string": ('"images/widget-0042.jpg"', "message body is JSON but not an object (got str)"),
    "json-null": ("null", "message body is JSON but not an object (got NoneType)"),
    "nested-too-deeply": ("[" * 100_000 + "]" * 100_000, "message body is JSON nested too deeply"),
    "empty-object": ("{}", "not an S3 event, SNS notification or EventBridge event (top-level keys: none)"),
    "unknown-object": (
        '{"widget": 42}',
        "not an S3 event, SNS notification or EventBridge event (top-level keys: widget)",
    ),
    "records-not-a-list": ('{"Records": {}}', "invalid S3 event: Records: Input should be a valid list"),
    "record-without-s3": (
        _without_s3("s3ObjectCreated.json"),
        "invalid S3 event: Records[0].s3: Field required",
    ),
    "record-from-dynamodb": (
        with_first_record("s3ObjectCreated.json", eventSource="aws:dynamodb"),
        "invalid S3 event: Records[0].eventSource: Input should be 'aws:s3'",
    ),
    "record-without-event-name": (
        with_first_record("s3ObjectCreated.json", eventName=None),
        "invalid S3 event: Records[0].eventName: Input should be a valid string",
    ),
    "event-time-not-a-time": (
        with_first_record("s3ObjectCreated.json", eventTime="yesterday"),
        "invalid S3 event: Records[0].eventTime: Input should be a valid datetime",
    ),
    "test-event-without-service": (
        '{"Event": "s3:TestEvent"}',
        "invalid S3 test event: Service: Field required",
    ),
    "sns-message-not-json": (
        in_sns_envelope("images/widget-0042.jpg"),
        "SNS notification's Message is not JSON",
    ),
    "sns-message-json-array": (
        in_sns_envelope('[{"Records": []}]'),
        "SNS notification's Message is JSON but not an object (got list)",
    ),
    "sns-without-message": (
        '{"Type": "Notification", "MessageId": "5b2a6f1e"}',
        "invalid SNS notification: Message: Field required",
    ),
    "sns-inside-sns": (
        in_sns_envelope(event_text("snsS3ObjectCreated.json")),
        "not an S3 event, SNS notification or EventBridge event (top-level keys: Message, MessageId,",
    ),
    "key-not-utf8-once-decoded": (s3_body_with_key("images/widget-%FF.jpg"), "does not URL-decode to UTF-8"),
    "key-with-a-lone-surrogate": (SURROGATE_KEY_S3, "is not valid Unicode"),
    "key-longer-than-1024-bytes": (
        s3_body_with_key(TOO_LONG_KEY),
        "object key is longer than S3's 1024 bytes",
    ),
    "empty-key": (s3_body_with_key(""), "object key is empty"),
    "empty-key-in-sns": (in_sns_envelope(s3_body_with_key("")), "object key is empty"),
    "eventbridge-from-another-source": (
        _eventbridge(source="aws.ec2"),
        "invalid EventBridge event: source: Input should be 'aws.s3'",
    ),
    "eventbridge-without-detail": (
        _eventbridge(detail=None),
        "invalid EventBridge event: detail: Input should be a valid dictionary",
    ),
    "eventbridge-empty-key": (eventbridge_body_with_key(""), "object key is empty"),
    "eventbridge-key-longer-than-1024-bytes": (
        eventbridge_body_with_key("images/" + "w" * 1018),
        "object key is longer than S3's 1024 bytes",
    ),
    "eventbridge-key-with-a-lone-surrogate": (SURROGATE_KEY_EVENTBRIDGE, "is not valid Unicode"),
}


@pytest.mark.parametrize(("body", "message"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_body_raises_an_error_that_says_what_is_wrong(body: str | bytes, message: str) -> None:
    with pytest.raises(MalformedEventError) as caught:
        parse_body(body)

    assert message in str(caught.value)


def test_malformed_event_error_hides_the_parser_traceback() -> None:
    with pytest.raises(MalformedEventError) as caught:
        parse_body("{not json")

    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# --- The Lambda event from the SQS event source mapping ------------------------------------------------


def test_sqs_event_model_reads_the_lambda_event() -> None:
    event = SqsEvent.model_validate(load_event("sqsEvent.json"))

    first, second = event.records
    assert "6c1f2b8e-94d3-4a57-b0e6-3f8d2c7a1e95" == first.message_id
    assert "arn:aws:sqs:eu-west-1:111122223333:widget-inspection" == first.event_source_arn
    assert "aws:sqs" == first.event_source
    assert "eu-west-1" == first.aws_region
    assert 1 == first.attributes.approximate_receive_count
    assert 2 == second.attributes.approximate_receive_count
    assert 1793697267640 == first.attributes.sent_timestamp
    assert {} == first.message_attributes


def test_each_sqs_record_body_is_an_s3_event_parse_body_reads() -> None:
    event = SqsEvent.model_validate(load_event("sqsEvent.json"))

    keys = [the_only_object(parse_body(record.body)).key for record in event.records]

    assert ["images/line-3/widget-0042.jpg", "images/line-4/widget-0107.png"] == keys


def test_sqs_fixture_bodies_match_their_md5() -> None:
    # Keeps sqsEvent.json honest if someone edits a body by hand.
    for record in SqsEvent.model_validate(load_event("sqsEvent.json")).records:
        assert record.md5_of_body == hashlib.md5(record.body.encode(), usedforsecurity=False).hexdigest()


def test_sqs_event_model_refuses_a_record_from_another_source() -> None:
    event = load_event("sqsEvent.json")
    event["Records"][1]["eventSource"] = "aws:kinesis"

    with pytest.raises(ValidationError, match="aws:sqs"):
        SqsEvent.model_validate(event)


def test_sqs_event_model_refuses_a_record_without_a_receive_count() -> None:
    event = load_event("sqsEvent.json")
    del event["Records"][0]["attributes"]["ApproximateReceiveCount"]

    with pytest.raises(ValidationError, match="ApproximateReceiveCount"):
        SqsEvent.model_validate(event)


# --- ObjectRef -----------------------------------------------------------------------------------------


def test_object_ref_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        WIDGET_0042.key = "images/line-3/widget-0043.jpg"  # type: ignore[misc]


def test_object_ref_is_hashable_so_repeated_events_collapse_in_a_set() -> None:
    direct = the_only_object(parse_body(event_text("s3ObjectCreated.json")))
    via_sns = the_only_object(parse_body(event_text("snsS3ObjectCreated.json")))

    assert {WIDGET_0042} == {direct, via_sns}


def test_object_ref_uri_uses_the_decoded_key() -> None:
    ref = the_only_object(parse_body(event_text("s3KeyWithSpaces.json")))

    assert "s3://widget-factory-images/images/my widget.jpg" == ref.uri


def test_inspector_events_still_offers_the_shapes_imported_only_when_sent():
    from inspector import events, other_events  # noqa: PLC0415 - the lazy import is what is tested

    for name in ("SnsNotification", "S3TestEvent", "EventBridgeS3Event", "EventBridgeS3Detail"):
        assert getattr(other_events, name) is getattr(events, name)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        events.Nothing  # noqa: B018 - the look-up is the test
