"""The local mode: an embedded AWS on loopback (moto's server), provisioned like a stack, and a poller that
drives `handler.lambda_handler` with the SQS event source mapping's semantics.

Needs the `local` extra (moto, boto3, Pillow).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from moto.server import ThreadedMotoServer

from inspector.deployment import DLQ_RETENTION_SECONDS, Deployment
from inspector.errors import InspectorError

LOCAL_REGION = "us-east-1"
# socketserver names a request's thread after its target: "Thread-7 (process_request_thread)".
REQUEST_THREAD = "(process_request_thread)"
REQUEST_THREAD_PATIENCE_SECONDS = 2.0
# moto accepts any credentials; these fixed ones make sure a real key never travels, even to loopback.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


class LocalModeError(InspectorError):
    """The embedded AWS cannot start as asked (a busy port, ...)."""


class LocalAws:
    """moto's server on 127.0.0.1 at a free port, started and stopped as a context manager."""

    def __init__(self, *, port: int = 0, region: str = LOCAL_REGION) -> None:
        self.region = region
        self._port = port
        self._server: ThreadedMotoServer | None = None
        self._session: boto3.session.Session | None = None
        self._threads_before: set[int | None] = set()
        self.endpoint_url = ""

    def __enter__(self) -> LocalAws:
        _check_port(self._port)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self._threads_before = {thread.ident for thread in threading.enumerate()}
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # moto keeps every service's state in module globals, not per server: start empty, end empty, so a
        # second session in this process never finds the first one's buckets, records and messages.
        self._reset()
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            with contextlib.suppress(OSError):  # stopping anyway
                self._reset()
            self._server.stop()
            self._server = None
            # The server answers each connection in a daemon thread, which moto's stop() does not wait for:
            # wait for the ones it started here (each is finishing a response), so that nothing of this
            # endpoint still runs once the with-block is left.
            for thread in threading.enumerate():
                if thread.ident not in self._threads_before and thread.name.endswith(REQUEST_THREAD):
                    thread.join(timeout=REQUEST_THREAD_PATIENCE_SECONDS)

    def _reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - our own loopback endpoint
            pass

    def client(self, service: str) -> Any:
        """A client of this endpoint, from a session of its own: boto3's default session is left alone."""
        if self._session is None:
            self._session = boto3.session.Session(
                aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
                region_name=self.region,
            )
        factory: Any = self._session.client  # typed per service by boto3-stubs; `service` is any of them
        return factory(service, endpoint_url=self.endpoint_url)

    def environment(self) -> dict[str, str | None]:
        """Environment variables that point boto3 (and the AWS CLI) at this endpoint, with fake keys only."""
        return {
            "AWS_SESSION_TOKEN": None,
            "AWS_SECURITY_TOKEN": None,
            "AWS_PROFILE": None,
            "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }


def _check_port(port: int) -> None:
    """Refuse a busy port up front: moto's server thread would die on it and leave `start()` waiting."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LocalModeError(
                f"port {port} on 127.0.0.1 is not free ({exc.strerror or exc}); "
                "choose another with --port, or leave --port out for any free port"
            ) from None


@dataclass(frozen=True)
class Provisioned:
    """What `provision` made: the names a user (or the poller) needs."""

    bucket: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    topic_arn: str
    mailbox_url: str  # an SQS queue subscribed to the topic: the local stand-in for the QC group's inbox


class ClientFactory(Protocol):
    """Where `provision` gets its clients: a `LocalAws`, or anything else with `client(service)`."""

    def client(self, service_name: Any, /) -> Any: ...


def provision(
    aws: ClientFactory,
    deployment: Deployment,
    *,
    name: str = "inspector-local",
    visibility_timeout_seconds: int | None = None,
) -> Provisioned:
    """Create the bucket, queue, DLQ, topic and notification the stack declares, from the same settings.

    `visibility_timeout_seconds` replaces the one the deployment derives from the function's timeout (tests
    use 0: a message not deleted is visible again at once).
    """
    s3, sqs, sns = aws.client("s3"), aws.client("sqs"), aws.client("sns")
    bucket = f"{name}-images"
    s3.create_bucket(Bucket=bucket)
    # Versioning keeps every result record and filed copy ever written: the audit trail (README, "History").
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "analyzed-to-glacier",
                    "Status": "Enabled",
                    "Filter": {"Prefix": deployment.analyzed_prefix},
                    "Transitions": [{"Days": deployment.glacier_after_days, "StorageClass": "GLACIER"}],
                },
                {
                    "ID": "expire-filed-originals",
                    "Status": "Enabled",
                    "Filter": {"Prefix": deployment.images_prefix},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": deployment.originals_retention_days},
                    "Expiration": {"ExpiredObjectDeleteMarker": True},
                },
            ]
        },
    )
    dlq_url = sqs.create_queue(
        QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
    )["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = {**deployment.redrive_policy, "deadLetterTargetArn": dlq_arn}
    queue_url = sqs.create_queue(
        QueueName=f"{name}-queue",
        Attributes={
            "VisibilityTimeout": str(
                deployment.visibility_timeout_seconds
                if visibility_timeout_seconds is None
                else visibility_timeout_seconds
            ),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    topic_arn = sns.create_topic(Name=f"{name}-verdicts")["TopicArn"]
    mailbox_url = sqs.create_queue(QueueName=f"{name}-mailbox")["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, mailbox_url))
    for recipient in deployment.notify:
        attributes = {}
        if recipient.only:
            attributes["FilterPolicy"] = json.dumps({"verdict": [v.value for v in recipient.only]})
        sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=recipient.email, Attributes=attributes)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": deployment.images_prefix}]}
                    },
                }
            ]
        },
    )
    return Provisioned(bucket, queue_url, queue_arn, dlq_url, dlq_arn, topic_arn, mailbox_url)


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


class LocalContext:
    """The slice of Lambda's context the handler uses: the time left before the function's timeout."""

    def __init__(self, timeout_seconds: float) -> None:
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class PollStats:
    batches: int = 0
    received: int = 0
    acknowledged: int = 0
    failed: int = 0
    handler_errors: int = 0
    outcomes: list[Mapping[str, Any]] = field(default_factory=list)


class Poller:
    """Lambda's SQS event source mapping, in miniature.

    Receives up to `batch_size` messages, hands them to the handler as a Lambda SQS event, deletes only the
    records not reported in `batchItemFailures` (a handler exception fails the whole batch), and leaves the
    rest to reappear after the visibility timeout; SQS's own redrive policy moves a message to the DLQ after
    maxReceiveCount receives.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        function_timeout_seconds: float = 60,
        region: str = LOCAL_REGION,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.batch_size = batch_size
        self.function_timeout_seconds = function_timeout_seconds
        self.region = region
        self.stats = PollStats()

    def poll_once(self, *, wait_seconds: int = 0) -> int:
        """One receive and one invocation; returns how many messages were received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {
            "Records": [lambda_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages]
        }
        self.stats.batches += 1
        self.stats.received += len(messages)
        try:
            response = self.handler(event, LocalContext(self.function_timeout_seconds))
        except Exception:
            logging.getLogger("inspector.local").exception("the handler failed: the whole batch is retried")
            self.stats.handler_errors += 1
            self.stats.failed += len(messages)
            return len(messages)
        self.stats.outcomes.append(response)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        self.stats.acknowledged += len(done)
        self.stats.failed += len(messages) - len(done)
        return len(messages)

    def drain(self, *, timeout_seconds: float = 60, settle_seconds: float = 0.3) -> None:
        """Poll until the queue holds nothing, visible or in flight (or until the timeout)."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.poll_once():
                continue
            if self.depth() == 0:
                time.sleep(settle_seconds)  # S3 may still be delivering the last notifications
                if self.depth() == 0 and not self.poll_once():
                    return
            else:
                time.sleep(0.1)

    def depth(self) -> int:
        return queue_depth(self.sqs, self.queue_url)


def queue_depth(sqs: Any, queue_url: str) -> int:
    """The messages on a queue, visible or in flight (SQS's approximate counts)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def lambda_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """A message as ReceiveMessage returns it, as the record an SQS event source mapping hands Lambda."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    verdict: str | None


def read_mailbox(sqs: Any, mailbox_url: str) -> list[Email]:
    """Every notification published so far, as the QC group would get it (then removed from the mailbox)."""
    emails: list[Email] = []
    while True:
        messages = sqs.receive_message(QueueUrl=mailbox_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return emails
        for message in messages:
            envelope = json.loads(message["Body"])
            verdict = envelope.get("MessageAttributes", {}).get("verdict", {}).get("Value")
            emails.append(Email(envelope.get("Subject", ""), envelope.get("Message", ""), verdict))
            sqs.delete_message(QueueUrl=mailbox_url, ReceiptHandle=message["ReceiptHandle"])


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the duration; the handler reads its settings
    from them, and a real session token must not travel with the fake keys."""
    import os  # noqa: PLC0415

    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def function_process(values: Mapping[str, str | None]) -> Iterator[None]:
    """Run the function in this process as Lambda runs it in its own.

    The environment is set as with `environment`; boto3's default session starts fresh (it caches the
    credentials it first resolves, which could be the caller's real ones) and is put back after; so is the
    `inspector` logger, which the function configures for Lambda.
    """
    logger = logging.getLogger("inspector")
    saved_logging = (logger.handlers[:], logger.level, logger.propagate)
    saved_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None
    try:
        with environment(values):
            yield
    finally:
        boto3.DEFAULT_SESSION = saved_session
        logger.handlers[:], logger.level, logger.propagate = saved_logging
