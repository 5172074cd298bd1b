"""What the benchmarks share: figures and goals, the latency model, a moto world, and botocore hooks."""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
BUCKET = "bench-widget-images"

# The latency model: a sleep per API call, injected with a botocore `before-call` hook on each client.
# Typical same-region p50s seen from a Lambda function: DetectLabels on a small S3 object ~150 ms;
# S3 HEAD/GET/PUT/COPY/DELETE and SNS Publish ~20 ms. moto answers after a few milliseconds of CPU (an SNS
# Publish ~8 ms: it signs the message for each subscriber), with no wait, so without this model every
# benchmark would measure moto's CPU instead of the waiting a real function does.
LATENCY_SECONDS = {"rekognition": 0.150, "s3": 0.020, "sns": 0.020}

# Labels only (no quality or colour rules): DetectLabels is billed as one image, with no Image Properties.
CRITERIA_DOCUMENT: dict[str, Any] = {
    "minConfidence": 90,
    "reviewMargin": 10,
    "require": [{"label": "Widget"}],
    "forbid": [{"label": "Scratch"}],
}


# --- figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """A bound a figure must meet: `<= 1.5`, `>= 0.95`, `== 0`."""

    op: str
    target: float

    def met(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.target
        if self.op == ">=":
            return value >= self.target
        if self.op == "==":
            return value == self.target
        raise ValueError(f"unknown goal operator {self.op!r}")

    def __str__(self) -> str:
        return f"{self.op} {self.target:g}"


def at_most(target: float) -> Goal:
    return Goal("<=", target)


def at_least(target: float) -> Goal:
    return Goal(">=", target)


def exactly(target: float) -> Goal:
    return Goal("==", target)


@dataclass(frozen=True)
class Figure:
    """One measured ratio (or count) and its goal; `context` says what it was measured from."""

    name: str
    value: float
    goal: Goal
    context: str = ""
    digits: int = 3

    @property
    def met(self) -> bool:
        return self.goal.met(self.value)

    def line(self) -> str:
        value = f"{self.value:.{self.digits}g}" if self.value != int(self.value) else f"{int(self.value)}"
        return f"figure: {self.name} = {value} (goal {self.goal})"


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- environment -----------------------------------------------------------------------------------


def fake_aws_environment() -> None:
    """Fake credentials and a region, so that nothing here can reach a real AWS account."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(variable, None)


class Sink(io.StringIO):
    """A text stream that keeps nothing but the number of characters written (logs, EMF metrics)."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.chars += len(text)
        return len(text)


# --- botocore hooks --------------------------------------------------------------------------------


def add_latency(client: Any, seconds: float | None = None) -> None:
    """Sleep before every API call of `client` (once per call, not per retry attempt)."""
    service = client.meta.service_model.service_id.hyphenize()
    delay = LATENCY_SECONDS[service] if seconds is None else seconds

    def wait(**_: Any) -> None:
        time.sleep(delay)

    client.meta.events.register("before-call.*.*", wait)


class CallCounter:
    """Counts completed API calls per `service.Operation` on the clients it is attached to."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("after-call.*.*", self._after)

    def _after(self, event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1


# --- the moto world --------------------------------------------------------------------------------


@dataclass
class World:
    """Bucket -> queue (with a DLQ) -> ... -> topic with one email subscription, on in-process moto."""

    s3: Any
    sqs: Any
    sns: Any
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str
    bucket: str = BUCKET
    _uploads: int = field(default=0)

    def upload(self, data: bytes, *, prefix: str = "images/line-1/", count: int = 1) -> list[str]:
        keys = []
        for _ in range(count):
            self._uploads += 1
            key = f"{prefix}w{self._uploads:05d}.jpg"
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/jpeg")
            keys.append(key)
        return keys

    def event(self, count: int) -> dict[str, Any]:
        """Take `count` messages off the queue, as the event source mapping's Lambda event."""
        messages: list[dict[str, Any]] = []
        while len(messages) < count:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, count - len(messages)),
                AttributeNames=["All"],
                VisibilityTimeout=300,
            )
            received = response.get("Messages", [])
            if not received:
                raise RuntimeError(f"the queue holds {len(messages)} messages, {count} were expected")
            messages.extend(received)
        return {"Records": [self.record(m) for m in messages]}

    def record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        from inspector.local import lambda_record  # noqa: PLC0415 - imports boto3 and moto

        return lambda_record(message, queue_arn=self.queue_arn, region=REGION)

    def acknowledge(self, event: Mapping[str, Any]) -> None:
        for record in event["Records"]:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])

    def keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        return keys


@contextmanager
def fast_moto_sqs_clock() -> Iterator[None]:
    """moto's SQS reads the clock through datetime arithmetic, many times per message per request, so a
    ReceiveMessage on a queue of 1,000 messages costs ~0.4 s of CPU here (~20 ms with this). The same clock
    (seconds since the epoch), read with `time.time()`: a faster simulator, the same semantics."""
    import moto.sqs.models  # noqa: PLC0415

    sqs_models: Any = moto.sqs.models
    slow_seconds, slow_millis = sqs_models.unix_time, sqs_models.unix_time_millis

    def seconds(dt: Any = None) -> float:
        return time.time() if dt is None else float(slow_seconds(dt))

    def millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(slow_millis(dt))

    sqs_models.unix_time, sqs_models.unix_time_millis = seconds, millis
    try:
        yield
    finally:
        sqs_models.unix_time, sqs_models.unix_time_millis = slow_seconds, slow_millis


@contextmanager
def fast_moto_s3_urls() -> Iterator[None]:
    """moto's S3 backend reloads its URL module (`importlib.reload` of moto.s3.urls, to follow environment
    variables that may have changed) on every request it dispatches. Loaded once, when the context is
    entered: the same URLs while the environment stays as it is, which it does for a benchmark's run."""
    import importlib  # noqa: PLC0415

    import moto.s3.models  # noqa: PLC0415
    import moto.s3.urls  # noqa: PLC0415

    backend: Any = moto.s3.models.S3Backend
    slow = backend.__dict__["_url_module"]
    urls = importlib.reload(moto.s3.urls)
    backend._url_module = property(lambda _self: urls)
    try:
        yield
    finally:
        backend._url_module = slow


@contextmanager
def fast_moto() -> Iterator[None]:
    """moto's speed-ups above: a faster simulator of the same AWS.

    In process, moto's CPU is the function's: it runs in the function's threads under its GIL, where AWS
    does its work elsewhere. On 2026-11-30 py-spy's samples of a batch of 10's threads
    (`benchmarks.batch_concurrency`) fell 64% in moto, a sixth of that in the S3 reloads.
    """
    with fast_moto_sqs_clock(), fast_moto_s3_urls():
        yield


@contextmanager
def moto_world(*, visibility_timeout: int = 300, max_receive_count: int = 5) -> Iterator[World]:
    """Provision the world inside `mock_aws` (in-process moto) as `inspector.local.provision` makes a
    stack, and take the s3:TestEvent off the queue."""
    import boto3  # noqa: PLC0415 - benchmarks that time imports must not pay for it at import
    from moto import mock_aws  # noqa: PLC0415

    from inspector.deployment import Deployment, Recipient  # noqa: PLC0415
    from inspector.local import provision  # noqa: PLC0415

    fake_aws_environment()
    with mock_aws(), fast_moto():
        session = boto3.session.Session(region_name=REGION)
        deployment = Deployment.model_validate(
            {
                "criteria": CRITERIA_DOCUMENT,
                "notify": [Recipient(email="qc-group@example.com")],
                "maxReceiveCount": max_receive_count,
            }
        )
        provisioned = provision(
            session,
            deployment,
            name=BUCKET.removesuffix("-images"),
            visibility_timeout_seconds=visibility_timeout,
        )
        s3: Any = session.client("s3")
        sqs: Any = session.client("sqs")
        sns: Any = session.client("sns")
        queue_url = provisioned.queue_url
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])  # s3:TestEvent
        yield World(
            s3, sqs, sns, queue_url, provisioned.queue_arn, provisioned.dlq_url, provisioned.topic_arn
        )


# --- our processor ---------------------------------------------------------------------------------


@dataclass
class Ours:
    """`inspector.app.build` with the real Rekognition detector, on clients made as the function makes."""

    processor: Any  # inspector.batch.BatchProcessor
    clients: dict[str, Any]
    logs: Sink

    def close(self) -> None:
        self.processor.close()


def build_ours(
    world: World,
    *,
    latency: bool = True,
    counter: CallCounter | None = None,
    hooks: Callable[[str, Any], None] | None = None,
    max_workers: int = 10,
    clients: dict[str, Any] | None = None,
    logs: Sink | None = None,
) -> Ours:
    """Our processor on clients from `inspector.aws.make_client` (the function's retry and timeout policy).

    `clients` replaces some of them (e.g. a Rekognition client with another retry policy). `configure_logging`
    is applied as the handler applies it, into a `Sink`: the JSON log lines are formatted and written as in
    Lambda, but not kept.
    """
    from inspector.app import Clients, build  # noqa: PLC0415
    from inspector.aws import make_client  # noqa: PLC0415
    from inspector.criteria import Criteria  # noqa: PLC0415
    from inspector.observability import Metrics, configure_logging  # noqa: PLC0415
    from inspector.settings import Settings  # noqa: PLC0415

    clients = dict(clients or {})
    for name in ("s3", "sns", "rekognition"):
        if name not in clients:
            clients[name] = make_client(name)
    for name, client in clients.items():
        if latency:
            add_latency(client)
        if counter is not None:
            counter.attach(client)
        if hooks is not None:
            hooks(name, client)
    settings = Settings(
        topic_arn=world.topic_arn,
        criteria=Criteria.from_document(CRITERIA_DOCUMENT),
        bucket=world.bucket,
        max_workers=max_workers,
        # moto's Rekognition answers "Mobile Phone" to everything, so every image here FAILs the criteria:
        # evidence images (one GET of the photo and one PUT per FAIL or REVIEW) would turn these figures
        # into the cost of a line where every part fails. They measure the path of a passing part.
        evidence=False,
    )
    logs = logs or Sink()
    configure_logging(settings.log_level, stream=logs)
    processor = build(
        settings,
        clients=Clients(s3=clients["s3"], sns=clients["sns"], rekognition=clients["rekognition"]),
        metrics=Metrics(settings.metrics_namespace, stream=logs),
    )
    return Ours(processor, clients, logs)


# --- images ----------------------------------------------------------------------------------------


def jpeg(side: int, *, quality: int = 90, seed: int = 7) -> bytes:
    """A JPEG of `side` x `side` pixels; noisy, so its size grows with the side as a photo's does."""
    import random  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415

    generator = random.Random(seed)  # noqa: S311 - pixels, not secrets
    noise = bytes(generator.getrandbits(8) for _ in range(side * side * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def jpeg_of_about(size_bytes: int) -> bytes:
    """A noisy JPEG of roughly `size_bytes` (within a few per cent)."""
    side = 64
    while len(jpeg(side)) < size_bytes:
        side = int(side * 1.25)
    low, high = side // 2, side
    while high - low > 2:
        middle = (low + high) // 2
        if len(jpeg(middle)) < size_bytes:
            low = middle
        else:
            high = middle
    return jpeg(high)


def timed(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started
