"""throttled_throughput: 1,000 messages through a Rekognition that throttles above RATE calls per second.

Latency model: DetectLabels takes 150 ms per admitted attempt and 20 ms per throttled one (a refusal is
answered before any work; an assumption); every S3 and SNS call takes 20 ms. Typical same-region p50s.
The DetectLabels latency is injected per attempt (a `before-send` hook), not per call, because a throttled
call makes several attempts.

The quota: a token bucket shared by every "container", RATE tokens a second, like an account's DetectLabels
TPS quota. How much burst Rekognition tolerates is not documented; the figures assume BURST = one second of
quota (the usual reading of "N transactions per second"); a stress run with a tenth of a second
(STRICT_BURST) is printed as context. An attempt that finds no token is answered as AWS answers it, HTTP 400
`ThrottlingException` from the `before-send` hook, so the client's real retry policy
(`inspector.aws.client_config`: standard mode, 4 attempts, backoff rand(0, 1) x 2^i s on throttling, a
retry quota per client) backs off and retries; when it gives up, our detector raises `TransientError`, the
record goes into `batchItemFailures`, SQS delivers it again after the visibility timeout, and after
maxReceiveCount receives SQS's redrive moves it to the DLQ. Admitted attempts are answered by moto.

What is real: moto's SQS queue with its DLQ redrive, `inspector.local.Poller` (the event source mapping's
semantics), one per Lambda "instance", as many as `Deployment().max_concurrency`, each with its own
`BatchProcessor` (`Deployment().batch_size` workers) around an `Inspector` with the real
`RekognitionDetector` on its own botocore client; function timeout and maxReceiveCount from `Deployment()`.
What stands in, for speed: S3 and SNS are in-memory objects with the same semantics as `S3Store` and
`SnsNotifier` (eTag-conditional copy and delete, result records) and the same 20 ms per call. On moto, S3
costs ~12 ms of CPU per image in this one process, which could not sustain 50 images a second on a shared
machine: the figure would measure the simulator, not the pipeline. HARNESS: the same run without any quota
measures how fast this machine can push the images through; it must exceed RATE for the figure to mean
anything, and the context line says by how much. Calls to SQS are serialised with a lock (moto's
ReceiveMessage is not thread-safe and could hand one message to two pollers at once).

The visibility timeout is VISIBILITY_TIMEOUT_SECONDS, not the stack's 6 x 60 s (a retried record would wait
six minutes), and not 2 s either: an invocation whose records are throttled lasts up to ~8 s (backoff up to
1 + 2 + 4 s), and a visibility timeout shorter than an invocation redelivers messages still being worked on
(tried: 2 s gave duplicate recognitions and duplicate emails), which the stack's 6 x rule prevents.

Figures, for the stack as configured today (`Deployment()` defaults, `client_config`):
- throttled_throughput = distinct images recognised per second / RATE, from the pollers' start to the
  last admitted recognition (goal >= 0.95);
- throttled_dlq = messages in the dead-letter queue at the end (goal 0);
- throttled_lost = images in no terminal place at the end: neither filed under analyzed/ or rejected/
  with their result record and the original gone, nor left under images/ with their message in the DLQ
  (goal 0; an image still queued when RUN_TIMEOUT_SECONDS ran out counts as lost).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote_plus, unquote_plus

from benchmarks.common import CRITERIA_DOCUMENT, LATENCY_SECONDS, Figure, Sink, World, at_least, exactly, jpeg
from benchmarks.common import moto_world as _moto_world

RATE = 50.0  # DetectLabels calls admitted per second
BURST = 50.0  # tokens the bucket holds at most: one second of quota (AWS does not document Rekognition's)
STRICT_BURST = 5.0  # the stress run: a tenth of a second of quota
IMAGES = 1000
VISIBILITY_TIMEOUT_SECONDS = 10
RECOGNITION_SECONDS = 0.150
THROTTLED_SECONDS = 0.020
RUN_TIMEOUT_SECONDS = 100


@dataclass(frozen=True)
class Scenario:
    """What can be tuned: how many instances, how big their batches, the Rekognition client's retries."""

    name: str
    max_concurrency: int
    batch_size: int
    retries: dict[str, Any] | None = None  # None: inspector.aws.client_config as it is

    def describe(self) -> str:
        from inspector.aws import client_config  # noqa: PLC0415

        retries = self.retries if self.retries is not None else client_config("rekognition").retries
        return (
            f"maxConcurrency {self.max_concurrency} x batchSize {self.batch_size} = "
            f"{self.max_concurrency * self.batch_size} workers; Rekognition retries {retries}"
        )


def stack_defaults() -> Scenario:
    from inspector.deployment import Deployment  # noqa: PLC0415

    deployment = Deployment.model_validate({"criteria": CRITERIA_DOCUMENT})
    return Scenario("stack defaults", deployment.max_concurrency, deployment.batch_size)


# --- Rekognition's quota -----------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens a second, `burst` at most; shared by every thread (the account's quota)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.capacity = burst
        self._tokens = burst
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class _Raw:
    """The raw body botocore reads from an HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class QuotaedRekognition:
    """Admits DetectLabels attempts against a shared token bucket (None: no quota); throttles the rest."""

    bucket: TokenBucket | None
    attempts: int = 0
    throttled: int = 0
    admitted_at: list[float] = field(default_factory=list)
    admitted_keys: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send.rekognition.DetectLabels", self._send)

    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders  # noqa: PLC0415

        admitted = self.bucket is None or self.bucket.take()
        with self._lock:
            self.attempts += 1
            self.throttled += not admitted
        if not admitted:
            time.sleep(THROTTLED_SECONDS)
            body = json.dumps({"__type": "ThrottlingException", "Message": "Rate exceeded"}).encode()
            headers = HTTPHeaders()
            headers["Content-Type"] = "application/x-amz-json-1.1"
            headers["x-amzn-ErrorType"] = "ThrottlingException"
            return AWSResponse(request.url, 400, headers, _Raw(body))
        time.sleep(RECOGNITION_SECONDS)
        key = json.loads(request.body)["Image"]["S3Object"]["Name"]
        with self._lock:
            self.admitted_at.append(time.monotonic())
            self.admitted_keys.append(key)
        return None  # moto answers


# --- S3 and SNS stand-ins ----------------------------------------------------------------------------


@dataclass
class _Object:
    data: bytes
    etag: str  # quoted, as HEAD returns it
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class MemoryBucket:
    """`S3Store`'s semantics in memory (the `inspector.pipeline.Store` protocol), 20 ms per call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.objects: dict[str, _Object] = {}
        self._lock = threading.Lock()
        self._latency = LATENCY_SECONDS["s3"]

    def put(self, key: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """An upload (the factory's, not the function's: no latency); returns the bare eTag."""
        etag = hashlib.md5(data + key.encode(), usedforsecurity=False).hexdigest()
        with self._lock:
            self.objects[key] = _Object(data, f'"{etag}"', content_type)
        return etag

    def head(self, key: str) -> Any:
        return self.peek(key, length=0)

    def peek(self, key: str, *, length: int) -> Any:
        from inspector.storage import ObjectInfo  # noqa: PLC0415

        time.sleep(self._latency)  # one request, as S3Store.peek makes
        with self._lock:
            found = self.objects.get(key)
        if found is None:
            return None
        return ObjectInfo(
            len(found.data), found.etag, found.content_type, dict(found.metadata), start=found.data[:length]
        )

    def read_end(self, key: str, *, etag: str, length: int = 16) -> bytes:
        return self._version(key, etag, "tail").data[-length:]

    def _version(self, key: str, etag: str, what: str) -> Any:
        from inspector.errors import TransientError  # noqa: PLC0415

        time.sleep(self._latency)
        with self._lock:
            found = self.objects.get(key)
        if found is None or found.etag.strip('"') != etag.strip('"'):
            raise TransientError(f"S3 GetObject ({what}) {key} failed: PreconditionFailed")
        return found

    def load_record(self, key: str) -> Any:
        from inspector.records import ResultRecord  # noqa: PLC0415
        from inspector.storage import StoredRecord  # noqa: PLC0415

        time.sleep(self._latency)
        with self._lock:
            found = self.objects.get(key)
        return None if found is None else StoredRecord(found.etag, ResultRecord.from_json(found.data))

    def save_record(self, key: str, record: Any, *, replacing: str | None) -> str:
        from inspector.errors import RecordConflict  # noqa: PLC0415

        time.sleep(self._latency)
        data = record.to_json().encode()
        etag = f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
        with self._lock:
            found = self.objects.get(key)
            if (found.etag if found is not None else None) != replacing:
                raise RecordConflict(f"S3 PutObject {key} failed: PreconditionFailed")
            self.objects[key] = _Object(data, etag)
        return etag

    def copy(self, source: str, destination: str, *, info: Any, metadata: dict[str, str]) -> None:
        from inspector.errors import TransientError  # noqa: PLC0415

        time.sleep(self._latency)
        with self._lock:
            found = self.objects.get(source)
            if found is None or found.etag != info.etag:
                raise TransientError(f"S3 CopyObject {source} -> {destination} failed: PreconditionFailed")
            self.objects[destination] = _Object(
                found.data, found.etag, info.content_type, {**info.metadata, **metadata}
            )

    def save_daily(self, key: str, record: Any) -> None:
        time.sleep(self._latency)
        data = record.model_dump_json(exclude_none=True).encode()
        with self._lock:
            self.objects[key] = _Object(data, f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"')

    def delete(self, key: str, *, etag: str) -> bool:
        time.sleep(self._latency)
        with self._lock:
            found = self.objects.get(key)
            if found is None or found.etag.strip('"') != etag.strip('"'):
                return False
            del self.objects[key]
        return True

    def presign(self, key: str, *, expires_in: int) -> str | None:
        return f"https://{self.name}.s3.amazonaws.com/{quote_plus(key, safe='/')}?X-Amz-Expires={expires_in}"


class MemoryTopic:
    """`SnsNotifier`'s publish, 20 ms per call; keeps the subjects."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.published_at: list[float] = []
        self._lock = threading.Lock()

    def publish(self, notification: Any) -> str:
        time.sleep(LATENCY_SECONDS["sns"])
        with self._lock:
            self.published.append(notification.subject)
            self.published_at.append(time.monotonic())
            return f"message-{len(self.published)}"

    def peak_per_second(self) -> int:
        """The most publishes in any one-second window."""
        times = sorted(self.published_at)
        peak, first = 0, 0
        for last, moment in enumerate(times):
            while moment - times[first] >= 1.0:
                first += 1
            peak = max(peak, last - first + 1)
        return peak


def s3_event(bucket: str, key: str, size: int, etag: str) -> str:
    """The body S3 sends to SQS for one upload (key URL-encoded, as S3 writes it)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "eventName": "ObjectCreated:Put",
                    "userIdentity": {"principalId": "AWS:FACTORY"},
                    "requestParameters": {"sourceIPAddress": "10.0.0.1"},
                    "responseElements": {"x-amz-request-id": "0", "x-amz-id-2": "0"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "inspect-new-images",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": "OWNER"},
                            "arn": f"arn:aws:s3:::{bucket}",
                        },
                        "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag},
                    },
                }
            ]
        }
    )


class Serialised:
    """A boto3 client whose calls hold a lock shared with other pollers' (moto's SQS is not thread-safe)."""

    def __init__(self, client: Any, lock: threading.Lock) -> None:
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


# --- one run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    rate: float  # distinct images recognised per second
    dlq: int
    lost: int
    context: str


def _rekognition_client(scenario: Scenario) -> Any:
    from inspector.aws import client_config, make_client  # noqa: PLC0415

    if scenario.retries is None:
        return make_client("rekognition")
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = client_config("rekognition").merge(Config(retries=cast("Any", scenario.retries)))
    return boto3.client("rekognition", config=config)


def run(scenario: Scenario, *, quota: TokenBucket | None) -> Outcome:
    """Upload IMAGES images, announce them on the queue, and let the pollers work until it is empty."""
    import boto3  # noqa: PLC0415

    from inspector.batch import BatchProcessor  # noqa: PLC0415
    from inspector.criteria import Criteria  # noqa: PLC0415
    from inspector.deployment import Deployment  # noqa: PLC0415
    from inspector.detectors.rekognition import RekognitionDetector  # noqa: PLC0415
    from inspector.local import Poller  # noqa: PLC0415
    from inspector.observability import Metrics, configure_logging  # noqa: PLC0415
    from inspector.pipeline import Inspector  # noqa: PLC0415
    from inspector.settings import Settings  # noqa: PLC0415

    deployment = Deployment.model_validate({"criteria": CRITERIA_DOCUMENT})
    rekognition = QuotaedRekognition(quota)
    with _moto_world(
        visibility_timeout=VISIBILITY_TIMEOUT_SECONDS, max_receive_count=deployment.max_receive_count
    ) as world:
        bucket, topic = MemoryBucket(world.bucket), MemoryTopic()
        image = jpeg(100)
        uploaded = [f"images/line-{i % 4 + 1}/widget {i:04d}.jpg" for i in range(IMAGES)]
        for start in range(0, IMAGES, 10):
            entries = []
            for i, key in enumerate(uploaded[start : start + 10]):
                etag = bucket.put(key, image)
                entries.append({"Id": str(i), "MessageBody": s3_event(world.bucket, key, len(image), etag)})
            world.sqs.send_message_batch(QueueUrl=world.queue_url, Entries=entries)

        settings = Settings(
            topic_arn=world.topic_arn,
            criteria=Criteria.from_document(CRITERIA_DOCUMENT),
            bucket=world.bucket,
            max_workers=scenario.batch_size,
        )
        logs = Sink()
        configure_logging(settings.log_level, stream=logs)
        sqs_lock = threading.Lock()
        pollers: list[Poller] = []
        processors: list[BatchProcessor] = []
        for _ in range(scenario.max_concurrency):
            client = _rekognition_client(scenario)
            rekognition.attach(client)
            metrics = Metrics(settings.metrics_namespace, stream=logs)
            inspector = Inspector(
                settings, store=bucket, detector=RekognitionDetector(client), notifier=topic, metrics=metrics
            )
            processor = BatchProcessor(inspector, max_workers=scenario.batch_size, metrics=metrics)
            processors.append(processor)

            def handler(event: dict[str, Any], context: Any, processor: BatchProcessor = processor) -> Any:
                return processor.process(
                    event, time_left=lambda: context.get_remaining_time_in_millis() / 1000
                )

            pollers.append(
                Poller(
                    Serialised(boto3.client("sqs"), sqs_lock),
                    world.queue_url,
                    world.queue_arn,
                    handler,
                    batch_size=scenario.batch_size,
                    function_timeout_seconds=deployment.timeout_seconds,
                )
            )
        started = time.monotonic()
        threads = [
            threading.Thread(target=p.drain, kwargs={"timeout_seconds": RUN_TIMEOUT_SECONDS}, daemon=True)
            for p in pollers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
        for processor in processors:
            processor.close()
        end = _judge(world, bucket, uploaded)

    distinct = len(set(rekognition.admitted_keys))
    recognised_for = (max(rekognition.admitted_at) - started) if rekognition.admitted_at else float("inf")
    rate = distinct / recognised_for
    attempts, throttled = rekognition.attempts, rekognition.throttled
    burst = f"burst {quota.capacity:g}" if quota is not None else "no quota"
    context = (
        f"[{scenario.name}, {burst}] {scenario.describe()}: {distinct} images recognised in "
        f"{recognised_for:.1f} s = {rate:.1f}/s (wall {wall:.1f} s); DetectLabels attempts {attempts}, "
        f"throttled {throttled} ({throttled / max(1, attempts):.0%}), duplicate recognitions "
        f"{len(rekognition.admitted_keys) - distinct}; {sum(p.stats.batches for p in pollers)} batches, "
        f"{sum(p.stats.failed for p in pollers)} records reported failed and redelivered; "
        f"{len(topic.published)} emails (peak {topic.peak_per_second()} in one second); "
        f"filed {end['filed']}, parked in the DLQ {end['parked']}, "
        f"lost {end['lost']}"
    )
    return Outcome(rate, end["dlq"], end["lost"], context)


def _judge(world: World, bucket: MemoryBucket, uploaded: list[str]) -> dict[str, int]:
    keys = set(bucket.objects)
    dlq_keys: set[str] = set()
    dlq_messages = 0
    while messages := world.sqs.receive_message(QueueUrl=world.dlq_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            dlq_messages += 1
            for record in json.loads(message["Body"]).get("Records", []):
                dlq_keys.add(unquote_plus(record["s3"]["object"]["key"]))
    filed = parked = 0
    for key in uploaded:
        rest = key.removeprefix("images/")
        places = [f"analyzed/{folder}/{rest}" for folder in ("passed", "failed", "review")]
        places.append(f"rejected/{rest}")
        if any(p in keys for p in places) and f"results/{rest}.json" in keys and key not in keys:
            filed += 1
        elif key in keys and key in dlq_keys:
            parked += 1
    return {"filed": filed, "parked": parked, "dlq": dlq_messages, "lost": len(uploaded) - filed - parked}


def main() -> list[Figure]:
    scenario = stack_defaults()
    harness = run(scenario, quota=None)
    outcome = run(scenario, quota=TokenBucket(RATE, BURST))
    strict = run(scenario, quota=TokenBucket(RATE, STRICT_BURST))
    headroom = (
        "enough headroom"
        if harness.rate > 1.5 * RATE
        else "NOT ENOUGH HEADROOM: the figure measures this machine, not the pipeline"
    )
    context = "\n  ".join(
        [
            f"quota {RATE:g}/s; {outcome.context}",
            f"harness ceiling, same settings without a quota: {harness.rate:.0f}/s = "
            f"{harness.rate / RATE:.1f} x the quota ({headroom})",
            f"stress, strict quota: {strict.rate / RATE:.2f} of the quota; {strict.context}",
            "note: SNS suspends an email subscription that receives more than 10 messages a second "
            "(SNS developer guide, email notifications); one email per image at the quota's pace exceeds it",
        ]
    )
    return [
        Figure("throttled_throughput", outcome.rate / RATE, at_least(0.95), context),
        Figure(
            "throttled_dlq",
            outcome.dlq,
            exactly(0),
            f"messages in the DLQ at the end (strict quota: {strict.dlq})",
        ),
        Figure(
            "throttled_lost",
            outcome.lost,
            exactly(0),
            f"images in no terminal place at the end "
            f"(strict quota: {strict.lost}; without a quota: {harness.lost})",
        ),
    ]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
