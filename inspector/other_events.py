"""The event shapes a stack may never be sent: the SNS envelope (S3 -> SNS -> SQS fan-out without raw message
delivery), EventBridge's Object Created (S3 -> EventBridge -> SQS), and the test event S3 sends once when a
notification configuration is written.

S3 -> SQS directly is the default, so `inspector.events` imports this module when the first such message
arrives, not at cold start: a function builds only the models of the shapes it is sent
(benchmarks/cold_import.py). `inspector.events` still offers every name defined here.
"""

# No `from __future__ import annotations` here: see inspector/events.py.

from typing import Any, Literal

from pydantic import Field

from inspector.events import AwsModel, UtcDatetime

# --- S3's test event ---------------------------------------------------------------------------------


class S3TestEvent(AwsModel):
    """What S3 sends once when a notification configuration is written; it carries no object."""

    service: str = Field(alias="Service")
    event: Literal["s3:TestEvent"] = Field(alias="Event")
    time: UtcDatetime | None = Field(default=None, alias="Time")
    bucket: str | None = Field(default=None, alias="Bucket")
    request_id: str | None = Field(default=None, alias="RequestId")
    host_id: str | None = Field(default=None, alias="HostId")


# --- SNS envelope (S3 -> SNS -> SQS fan-out without raw message delivery) ----------------------------


class SnsNotification(AwsModel):
    type: Literal["Notification"] = Field(alias="Type")
    message_id: str | None = Field(default=None, alias="MessageId")
    topic_arn: str | None = Field(default=None, alias="TopicArn")
    subject: str | None = Field(default=None, alias="Subject")
    message: str = Field(alias="Message")
    timestamp: UtcDatetime | None = Field(default=None, alias="Timestamp")
    message_attributes: dict[str, Any] | None = Field(default=None, alias="MessageAttributes")


# --- EventBridge (S3 -> EventBridge -> SQS); keys are NOT URL-encoded here ----------------------------


class EventBridgeBucket(AwsModel):
    name: str


class EventBridgeObject(AwsModel):
    key: str
    size: int | None = None
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class EventBridgeS3Detail(AwsModel):
    version: str | None = None
    bucket: EventBridgeBucket
    object: EventBridgeObject
    request_id: str | None = Field(default=None, alias="request-id")
    requester: str | None = None
    source_ip_address: str | None = Field(default=None, alias="source-ip-address")
    reason: str | None = None


class EventBridgeS3Event(AwsModel):
    version: str | None = None
    id: str | None = None
    detail_type: str = Field(alias="detail-type")
    source: Literal["aws.s3"]
    account: str | None = None
    time: UtcDatetime | None = None
    region: str | None = None
    resources: list[str] = Field(default=[])
    detail: EventBridgeS3Detail
