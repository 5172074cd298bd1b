"""Models of the events that reach the inspection queue, and `parse_body`, which reads one message body."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

import importlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from urllib.parse import unquote_plus

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from inspector._validation import describe
from inspector.constants import DEFAULT_IMAGES_PREFIX
from inspector.errors import MalformedEventError

if TYPE_CHECKING:  # offered at run time by __getattr__ below
    from inspector.other_events import (  # noqa: F401
        EventBridgeBucket,
        EventBridgeObject,
        EventBridgeS3Detail,
        EventBridgeS3Event,
        S3TestEvent,
        SnsNotification,
    )

S3_MAX_KEY_BYTES = 1024

_M = TypeVar("_M", bound=BaseModel)


class AwsModel(BaseModel):
    """AWS payloads: AWS's spelling through aliases, unknown fields ignored (AWS adds fields over time)."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True)


def _assume_utc(value: datetime) -> datetime:
    # AWS writes every time in UTC with a zone ("...27.512Z"); moto leaves the zone off ("...37.492574").
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_assume_utc)]


# --- S3 event notification (S3 -> SQS directly, or inside an SNS envelope) ---------------------------


class S3UserIdentity(AwsModel):
    principal_id: str = Field(alias="principalId")


class S3Bucket(AwsModel):
    name: str
    arn: str | None = None
    # Real S3 sends ownerIdentity; moto does not.
    owner_identity: S3UserIdentity | None = Field(default=None, alias="ownerIdentity")


class S3Object(AwsModel):
    key: str  # URL-encoded, spaces as '+', exactly as S3 sent it
    size: int | None = None
    e_tag: str | None = Field(default=None, alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None


class S3Entity(AwsModel):
    s3_schema_version: str | None = Field(default=None, alias="s3SchemaVersion")
    configuration_id: str | None = Field(default=None, alias="configurationId")
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(AwsModel):
    event_version: str | None = Field(default=None, alias="eventVersion")
    event_source: Literal["aws:s3"] = Field(alias="eventSource")
    aws_region: str | None = Field(default=None, alias="awsRegion")
    event_time: UtcDatetime | None = Field(default=None, alias="eventTime")
    event_name: str = Field(alias="eventName")
    user_identity: S3UserIdentity | None = Field(default=None, alias="userIdentity")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    s3: S3Entity


class S3Event(AwsModel):
    records: list[S3EventRecord] = Field(alias="Records")


# --- The Lambda event from an SQS event source mapping ----------------------------------------------


class SqsAttributes(AwsModel):
    approximate_receive_count: int = Field(alias="ApproximateReceiveCount")
    sent_timestamp: int | None = Field(default=None, alias="SentTimestamp")  # epoch milliseconds
    sender_id: str | None = Field(default=None, alias="SenderId")
    approximate_first_receive_timestamp: int | None = Field(
        default=None, alias="ApproximateFirstReceiveTimestamp"
    )
    aws_trace_header: str | None = Field(default=None, alias="AWSTraceHeader")
    message_group_id: str | None = Field(default=None, alias="MessageGroupId")
    dead_letter_queue_source_arn: str | None = Field(default=None, alias="DeadLetterQueueSourceArn")


class SqsMessageAttribute(AwsModel):
    data_type: str = Field(alias="dataType")
    string_value: str | None = Field(default=None, alias="stringValue")
    binary_value: str | None = Field(default=None, alias="binaryValue")


class SqsRecord(AwsModel):
    message_id: str = Field(alias="messageId")
    receipt_handle: str = Field(alias="receiptHandle")
    body: str
    attributes: SqsAttributes
    message_attributes: dict[str, SqsMessageAttribute] = Field(default={}, alias="messageAttributes")
    md5_of_body: str | None = Field(default=None, alias="md5OfBody")
    event_source: Literal["aws:sqs"] = Field(alias="eventSource")
    event_source_arn: str = Field(alias="eventSourceARN")
    aws_region: str | None = Field(default=None, alias="awsRegion")


class SqsEvent(AwsModel):
    """The event Lambda hands a function fed by an SQS event source mapping."""

    records: list[SqsRecord] = Field(alias="Records")


# --- What a message means for the inspector ----------------------------------------------------------


class ObjectRef(BaseModel):
    """One uploaded object to inspect, normalized from whichever event shape announced it."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str = Field(description="The object key, URL-decoded exactly once.")
    raw_key: str = Field(description="The key as the event carried it (URL-encoded for S3 notifications).")
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    event_time: datetime | None = None
    event_name: str | None = None
    region: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class IgnoreReason(StrEnum):
    """Why a well-formed message needs no inspection."""

    TEST_EVENT = "test-event"
    NO_RECORDS = "no-records"
    NOT_OBJECT_CREATED = "not-object-created"
    OTHER_BUCKET = "other-bucket"
    OUTSIDE_PREFIX = "outside-prefix"
    FOLDER_MARKER = "folder-marker"


class Ignored(BaseModel):
    """A message, or one record of it, that needs no inspection, and why."""

    model_config = ConfigDict(frozen=True)

    reason: IgnoreReason
    detail: str


class Inspect(BaseModel):
    """A message announcing objects to inspect; `skipped` holds its records that need nothing (rare)."""

    model_config = ConfigDict(frozen=True)

    objects: tuple[ObjectRef, ...] = Field(min_length=1)
    skipped: tuple[Ignored, ...] = ()


def parse_body(
    body: str | bytes,
    *,
    prefix: str = DEFAULT_IMAGES_PREFIX,
    bucket: str | None = None,
) -> Inspect | Ignored:
    """Read the body of one SQS message.

    Accepts S3 notifications sent to SQS directly, wrapped in an SNS envelope (fan-out), or delivered by
    EventBridge. Returns the objects to inspect, or why the message needs nothing. Only keys under `prefix`
    (and, when `bucket` is given, only that bucket's objects) are inspected.

    Raises:
        MalformedEventError: the body is not JSON, or not one of the shapes above, or invalid in a way no
            retry can fix.
    """
    document = _load_json(body, what="message body")
    return _parse_document(document, prefix=prefix, bucket=bucket, inside_sns=False)


def _load_json(text: str | bytes, *, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedEventError(f"{what} is not JSON: {exc}") from None
    except RecursionError:  # json gives up on deep nesting ("[[[[..."), which no AWS event has
        raise MalformedEventError(f"{what} is JSON nested too deeply to be an event") from None
    if not isinstance(document, dict):
        raise MalformedEventError(f"{what} is JSON but not an object (got {type(document).__name__})")
    return document


def _parse_document(
    document: dict[str, Any], *, prefix: str, bucket: str | None, inside_sns: bool
) -> Inspect | Ignored:
    # The models of the shapes other than S3's own notification are imported when one is first sent.
    if document.get("Type") == "Notification" and not inside_sns:
        envelope = _validate(_other().SnsNotification, document, "SNS notification")
        inner = _load_json(envelope.message, what="SNS notification's Message")
        return _parse_document(inner, prefix=prefix, bucket=bucket, inside_sns=True)
    if document.get("Event") == "s3:TestEvent":
        test = _validate(_other().S3TestEvent, document, "S3 test event")
        return Ignored(reason=IgnoreReason.TEST_EVENT, detail=f"s3:TestEvent for bucket {test.bucket}")
    if "Records" in document:
        event = _validate(S3Event, document, "S3 event")
        return _from_records([_from_s3_record(r, prefix=prefix, bucket=bucket) for r in event.records])
    if "detail-type" in document:
        bridge = _validate(_other().EventBridgeS3Event, document, "EventBridge event")
        return _from_records([_from_eventbridge(bridge, prefix=prefix, bucket=bucket)])
    keys = ", ".join(sorted(document)[:8]) or "none"
    raise MalformedEventError(
        f"not an S3 event, SNS notification or EventBridge event (top-level keys: {keys})"
    )


def _validate(model: type[_M], document: dict[str, Any], what: str) -> _M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise MalformedEventError(f"invalid {what}: " + "; ".join(describe(exc))) from None


def _from_records(outcomes: list[ObjectRef | Ignored]) -> Inspect | Ignored:
    objects = tuple(o for o in outcomes if isinstance(o, ObjectRef))
    skipped = tuple(o for o in outcomes if isinstance(o, Ignored))
    if objects:
        return Inspect(objects=objects, skipped=skipped)
    if not skipped:
        return Ignored(reason=IgnoreReason.NO_RECORDS, detail="the event's Records list is empty")
    if len(skipped) == 1:
        return skipped[0]
    return Ignored(reason=skipped[0].reason, detail="; ".join(s.detail for s in skipped))


def _from_s3_record(record: S3EventRecord, *, prefix: str, bucket: str | None) -> ObjectRef | Ignored:
    raw_key = record.s3.object.key
    ref = ObjectRef(
        bucket=record.s3.bucket.name,
        key=_decode_key(raw_key),
        raw_key=raw_key,
        size=record.s3.object.size,
        etag=record.s3.object.e_tag,
        version_id=record.s3.object.version_id,
        sequencer=record.s3.object.sequencer,
        event_time=record.event_time,
        event_name=record.event_name,
        region=record.aws_region,
    )
    created = record.event_name.startswith("ObjectCreated:")
    return _screen(ref, created=created, prefix=prefix, bucket=bucket)


def _from_eventbridge(event: "EventBridgeS3Event", *, prefix: str, bucket: str | None) -> ObjectRef | Ignored:
    obj = event.detail.object
    _check_key(obj.key)
    ref = ObjectRef(
        bucket=event.detail.bucket.name,
        key=obj.key,
        raw_key=obj.key,
        size=obj.size,
        etag=obj.etag,
        version_id=obj.version_id,
        sequencer=obj.sequencer,
        event_time=event.time,
        event_name=event.detail_type,
        region=event.region,
    )
    return _screen(ref, created=event.detail_type == "Object Created", prefix=prefix, bucket=bucket)


def _decode_key(raw_key: str) -> str:
    try:
        key = unquote_plus(raw_key, errors="strict")
    except UnicodeDecodeError:
        raise MalformedEventError(f"object key {raw_key[:80]!r} does not URL-decode to UTF-8") from None
    _check_key(key)
    return key


def _check_key(key: str) -> None:
    if not key:
        raise MalformedEventError("object key is empty")
    try:
        encoded = key.encode()
    except UnicodeEncodeError:  # JSON can escape a lone surrogate ("\ud800"); no S3 key holds one
        raise MalformedEventError(f"object key {key[:80]!r} is not valid Unicode") from None
    if len(encoded) > S3_MAX_KEY_BYTES:
        raise MalformedEventError(f"object key is longer than S3's {S3_MAX_KEY_BYTES} bytes")


def _screen(ref: ObjectRef, *, created: bool, prefix: str, bucket: str | None) -> ObjectRef | Ignored:
    if not created:
        return Ignored(reason=IgnoreReason.NOT_OBJECT_CREATED, detail=f"{ref.event_name} for {ref.uri}")
    if bucket is not None and ref.bucket != bucket:
        return Ignored(reason=IgnoreReason.OTHER_BUCKET, detail=f"{ref.uri} is not in bucket {bucket}")
    if not ref.key.startswith(prefix):
        return Ignored(reason=IgnoreReason.OUTSIDE_PREFIX, detail=f"{ref.uri} is outside {prefix!r}")
    if ref.key.endswith("/"):
        return Ignored(reason=IgnoreReason.FOLDER_MARKER, detail=f"{ref.uri} is a folder marker")
    return ref


# --- The shapes not every stack is sent (inspector/other_events.py) ----------------------------------

_OTHER_SHAPES = frozenset({
    "EventBridgeBucket", "EventBridgeObject", "EventBridgeS3Detail", "EventBridgeS3Event", "S3TestEvent",
    "SnsNotification",
})  # fmt: skip


def _other() -> ModuleType:
    return importlib.import_module("inspector.other_events")


def __getattr__(name: str) -> Any:
    """`inspector.events.SnsNotification` and the other shapes of `inspector.other_events` (PEP 562)."""
    if name in _OTHER_SHAPES:
        return getattr(_other(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
