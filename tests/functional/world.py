"""The moto world the functional tests drive: a bucket announcing uploads to a queue, a DLQ and a topic."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from PIL import Image

from inspector.app import Clients, build
from inspector.batch import BatchProcessor
from inspector.constants import DEFAULT_CRITERIA_PREFIX
from inspector.criteria import Criteria
from inspector.deployment import Deployment, Recipient
from inspector.detectors import LabelDetector
from inspector.local import Provisioned, lambda_record, provision, queue_depth
from inspector.records import ResultRecord
from inspector.review import ReviewDesk
from inspector.review.aws import desk as review_desk
from inspector.settings import Layout, Settings
from inspector.testing import labels

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
BUCKET = "widget-factory-images"
MAX_RECEIVE_COUNT = 3

# Widget required at 90 (review from 80), Scratch forbidden at 90: one label answer per verdict.
CRITERIA = Criteria.from_document(
    {
        "minConfidence": 90,
        "reviewMargin": 10,
        "require": [{"label": "Widget"}],
        "forbid": [{"label": "Scratch"}],
    }
)
PASS_LABELS = labels(("Widget", 98.5))
FAIL_LABELS = labels(("Widget", 98.5), ("Scratch", 95.4))
REVIEW_LABELS = labels(("Widget", 85.0))


# --- images ---------------------------------------------------------------------------------------


def image_bytes(
    fmt: str, size: tuple[int, int] = (120, 120), color: tuple[int, int, int] = (40, 90, 200)
) -> bytes:
    """A real image made in memory by Pillow: fmt is "JPEG", "PNG" or "GIF"."""
    out = io.BytesIO()
    picture = Image.new("RGB", size, color)
    # A little structure, so that a JPEG is not all header and a truncation cuts image data.
    for x in range(0, size[0], 7):
        for y in range(0, size[1], 5):
            picture.putpixel((x, y), ((x * 3) % 256, (y * 5) % 256, (x + y) % 256))
    picture.save(out, format=fmt)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (120, 120)) -> bytes:
    return image_bytes("JPEG", size)


def png(size: tuple[int, int] = (120, 120)) -> bytes:
    return image_bytes("PNG", size)


# --- what the world records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    """One SNS publish as moto recorded it."""

    message_id: str
    body: str
    subject: str
    attributes: dict[str, str]


def client_error(operation: str, code: str, status: int) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    """A `before-call` hook answering like AWS failing with `code` (no request reaches moto)."""

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        http = AWSResponse("https://injected.invalid/", status, HTTPHeaders(), None)
        parsed = {
            "Error": {"Code": code, "Message": f"injected {code} on {operation}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return http, parsed

    return answer


def provision_stack(session: Any, *, max_receive_count: int) -> Provisioned:
    """The stack as `inspector.local.provision` makes it, with the QC group's email subscription.

    Visibility timeout 0: a message not deleted is visible again at once, so a redelivery needs no wait.
    """
    deployment = Deployment(
        criteria=CRITERIA,
        notify=[Recipient(email="qc-group@example.com")],
        max_receive_count=max_receive_count,
    )
    provisioned = provision(
        session, deployment, name=BUCKET.removesuffix("-images"), visibility_timeout_seconds=0
    )
    assert BUCKET == provisioned.bucket
    return provisioned


def enforce_copy_source_if_match(s3: Any) -> None:
    """Make moto's CopyObject honour `CopySourceIfMatch` as S3 does: 412 when the source has changed.

    moto 5.2 ignores the condition and copies whatever the source is now.
    """

    def check(params: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        headers = params.get("headers", {})
        expected = headers.get("x-amz-copy-source-if-match")
        if expected is None:
            return None
        source, _sep, version = unquote(str(headers["x-amz-copy-source"])).partition("?versionId=")
        bucket, key = source.lstrip("/").split("/", 1)
        try:
            if version:
                current = str(s3.head_object(Bucket=bucket, Key=key, VersionId=version)["ETag"])
            else:
                current = str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
        except s3.exceptions.ClientError:
            return None  # moto answers for a missing source itself
        if current.strip('"') == str(expected).strip('"'):
            return None
        return client_error("CopyObject", "PreconditionFailed", 412)()

    s3.meta.events.register("before-call.s3.CopyObject", check)


@dataclass
class World:
    """The deployed pipeline, on moto: bucket -> queue (with DLQ) -> our processor -> topic."""

    session: Any  # boto3.Session: new clients (e.g. one to stub) come from it
    s3: Any
    sqs: Any
    sns: Any
    rekognition: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str
    test_event: dict[str, Any]  # the s3:TestEvent message moto queued when the notification was configured
    processors: list[BatchProcessor] = field(default_factory=list)
    bucket: str = BUCKET

    # --- the system under test ---

    def settings(self, **overrides: Any) -> Settings:
        # Evidence images off unless a test asks: the tests written before them count keys and calls of
        # the steps they are about (tests/functional/test_reference_pipeline.py and the chaos test check
        # evidence under the same conditions).
        document: dict[str, Any] = {
            "topic_arn": self.topic_arn,
            "criteria": CRITERIA,
            "bucket": self.bucket,
            "evidence": False,
        }
        return Settings(**{**document, **overrides})

    def processor(
        self,
        detector: LabelDetector | None = None,
        *,
        s3: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        **settings: Any,
    ) -> BatchProcessor:
        """`inspector.app.build` on the world's clients; the detector is the real Rekognition one if None."""
        clients = Clients(s3=s3 or self.s3, sns=self.sns, rekognition=self.rekognition)
        processor = build(self.settings(**settings), clients=clients, detector=detector, clock=clock)
        self.processors.append(processor)
        return processor

    def desk(self, store: Any | None = None) -> ReviewDesk:
        """The review desk on the world's clients (the reviewer is moto's caller identity)."""
        sts = self.session.client("sts")
        desk = review_desk(
            Layout(), bucket=self.bucket, topic_arn=self.topic_arn, s3=self.s3, sns=self.sns, sts=sts
        )
        if store is not None:
            desk.store = store
        return desk

    # --- S3 ---

    def upload(self, key: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Put an object (moto announces it on the queue); returns its bare eTag."""
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return str(response["ETag"]).strip('"')

    def keys(self) -> list[str]:
        """Every key in the bucket but the criteria store's (`criteria/`, which provisioning seeds)."""
        listing = self.s3.list_objects_v2(Bucket=self.bucket)
        keys = (str(item["Key"]) for item in listing.get("Contents", []))
        return sorted(key for key in keys if not key.startswith(DEFAULT_CRITERIA_PREFIX))

    def exists(self, key: str) -> bool:
        return key in self.keys()

    def body(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def version(self, key: str) -> str:
        """The S3 version of the object now at `key` (the bucket is versioned)."""
        return str(self.s3.head_object(Bucket=self.bucket, Key=key)["VersionId"])

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self.s3.head_object(Bucket=self.bucket, Key=key)["Metadata"])

    def record(self, image_key: str) -> ResultRecord:
        """The result record of `images/<rest>`, read from `results/<rest>.json`."""
        return ResultRecord.from_json(self.body(self.settings().record_key(image_key)))

    # --- SQS ---

    def receive(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=queue_url or self.queue_url, AttributeNames=["All"], MaxNumberOfMessages=10
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def lambda_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The event an SQS event source mapping hands the function for these received messages."""
        return {"Records": [lambda_record(m, queue_arn=self.queue_arn, region=REGION) for m in messages]}

    def deliver(self) -> dict[str, Any]:
        """The Lambda event of what is on the queue now (up to 10 messages)."""
        return self.lambda_event(self.receive())

    def drain(self) -> list[dict[str, Any]]:
        """Take what is on the queue off it, unprocessed; returns the messages."""
        messages = self.receive()
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def send(self, body: str) -> None:
        """Put a message on the queue as another producer (SNS fan-out, EventBridge, a duplicate) would."""
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def run(self, processor: BatchProcessor, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One invocation as the event source mapping makes it: the acknowledged messages are deleted."""
        event = event if event is not None else self.deliver()
        response = processor.process(event)
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return dict(response)

    def queued(self, queue_url: str | None = None) -> int:
        return queue_depth(self.sqs, queue_url or self.queue_url)

    # --- SNS ---

    def emails(self, topic_arn: str | None = None) -> list[Email]:
        """Every publish to the topic, as moto recorded it (filter policies play no part here)."""
        sent = sns_backends[ACCOUNT][REGION].topics[topic_arn or self.topic_arn].sent_notifications
        return [
            Email(
                message_id=message_id,
                body=message,
                subject=subject or "",
                attributes={name: str(value["Value"]) for name, value in (attributes or {}).items()},
            )
            for message_id, message, subject, attributes, *_ in sent
        ]


def world_on(
    provisioned: Provisioned, session: Any, *, s3: Any, sqs: Any, sns: Any, rekognition: Any
) -> World:
    """The `World` of a provisioned stack, with the s3:TestEvent its notification set-up queued taken off."""
    (test_event,) = sqs.receive_message(
        QueueUrl=provisioned.queue_url, AttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    sqs.delete_message(QueueUrl=provisioned.queue_url, ReceiptHandle=test_event["ReceiptHandle"])
    return World(
        session=session,
        s3=s3,
        sqs=sqs,
        sns=sns,
        rekognition=rekognition,
        queue_url=provisioned.queue_url,
        queue_arn=provisioned.queue_arn,
        dlq_url=provisioned.dlq_url,
        topic_arn=provisioned.topic_arn,
        test_event=test_event,
        bucket=provisioned.bucket,
    )


def bodies(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parsed message bodies of a Lambda SQS event."""
    return [json.loads(record["body"]) for record in event["Records"]]


def message_ids(event: Mapping[str, Any]) -> list[str]:
    return [str(record["messageId"]) for record in event["Records"]]


def failures(response: Mapping[str, Any]) -> list[str]:
    return [str(failure["itemIdentifier"]) for failure in response["batchItemFailures"]]
