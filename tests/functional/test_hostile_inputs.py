"""Hostile inputs through `inspector.function.lambda_handler`, each with its named outcome.

The function starts cold from its `INSPECTOR_*` environment, as on Lambda, and makes its own clients; two
hooks make moto behave like AWS where it does not: Rekognition looks at the image (JPEG or PNG only, at
least 80 px a side, else it refuses it as Rekognition does) and S3 refuses keys over 1,024 bytes
(KeyTooLongError; moto stores any length). Each input goes through the queue until it is acknowledged or
reaches the DLQ (maxReceiveCount 3), and nothing may be lost: an uploaded image is under images/ or in
exactly one terminal place, and objects the input names but does not own come out untouched.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import pytest
from PIL import Image

from inspector import app, aws, function
from inspector import constants as c
from inspector.engine import Verdict
from inspector.errors import MalformedEventError
from inspector.settings import LONG_KEYS_FOLDER, S3_MAX_KEY_BYTES
from tests.functional.chaos import error_answer, ok_answer
from tests.functional.world import (
    BUCKET,
    CRITERIA,
    MAX_RECEIVE_COUNT,
    PASS_LABELS,
    World,
    image_bytes,
    jpeg,
    png,
)
from tests.support import event_text, load_event

MIB = 2**20
CRITERIA_JSON = CRITERIA.model_dump_json(by_alias=True, exclude_defaults=True)  # as the stack sets it
DLQ_MALFORMED = f"retried: malformed -> DLQ after {MAX_RECEIVE_COUNT} receives"
NOT_IMAGE = "acked: REJECTED (not a JPEG or PNG image ({}))"
OUTCOMES: dict[str, str] = {}  # input id -> outcome, printed once at the end of the module


# --- AWS where moto is lenient ---------------------------------------------------------------------------


def _remember(params: Any, context: dict[str, Any], **_: Any) -> None:
    context["hostile"] = dict(params)


@dataclass
class FakeRekognition:
    """DetectLabels that judges the image itself as Rekognition does, then answers a PASS."""

    s3: Any
    calls: int = 0

    def install(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.rekognition.DetectLabels", _remember)
        client.meta.events.register("before-call.rekognition.DetectLabels", self.answer)

    def answer(self, context: dict[str, Any], **_: Any) -> Any:
        self.calls += 1
        source = context["hostile"]["Image"]["S3Object"]
        data = self.s3.get_object(Bucket=source["Bucket"], Key=source["Name"])["Body"].read()
        try:
            with Image.open(io.BytesIO(data)) as picture:
                kind, size = picture.format, picture.size
        except OSError:
            kind, size = None, (0, 0)
        if kind not in {"JPEG", "PNG"}:
            return error_answer("InvalidImageFormatException", 400, "Request has invalid image format")
        if min(size) < 80:
            return error_answer("InvalidParameterException", 400, "Request has invalid parameters")
        return ok_answer(PASS_LABELS)


@dataclass
class S3KeyLimit:
    """S3's 1,024-byte key limit on the writes, which moto does not enforce."""

    refused: list[str] = field(default_factory=list)

    def install(self, client: Any) -> None:
        for operation in ("PutObject", "CopyObject"):
            client.meta.events.register(f"before-parameter-build.s3.{operation}", _remember)
            client.meta.events.register(f"before-call.s3.{operation}", self.check)

    def check(self, context: dict[str, Any], **_: Any) -> Any:
        key = str(context["hostile"].get("Key", ""))
        if len(key.encode()) > S3_MAX_KEY_BYTES:
            self.refused.append(key)
            return error_answer("KeyTooLongError", 400, "Your key is too long")
        return None


class Trace(logging.Handler):
    """The function's log records, as CloudWatch would hold them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first(self, prefix: str) -> logging.LogRecord | None:
        return next((r for r in self.records if r.getMessage().startswith(prefix)), None)


@dataclass
class Lambda:
    world: World
    rekognition: FakeRekognition
    key_limit: S3KeyLimit
    trace: Trace


@pytest.fixture
def aws_lambda(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lambda]:
    """A fresh container whose settings come from the environment and whose clients it makes itself."""
    monkeypatch.setenv(c.ENV_TOPIC_ARN, world.topic_arn)
    monkeypatch.setenv(c.ENV_CRITERIA, CRITERIA_JSON)
    monkeypatch.setenv(c.ENV_BUCKET, BUCKET)
    monkeypatch.setenv(c.ENV_DETECTOR, "rekognition")
    rekognition, key_limit = FakeRekognition(world.s3), S3KeyLimit()
    make_client = aws.make_client

    def made(service: str, **kwargs: Any) -> Any:
        client = make_client(service, **kwargs)
        if service == "rekognition":
            rekognition.install(client)
        elif service == "s3":
            key_limit.install(client)
        return client

    monkeypatch.setattr(app, "make_client", made)
    trace = Trace()
    loggers = [logging.getLogger(name) for name in ("inspector.batch", "inspector.pipeline")]
    for logger in loggers:
        logger.addHandler(trace)
    function.reset()
    yield Lambda(world, rekognition, key_limit, trace)
    function.reset()
    for logger in loggers:
        logger.removeHandler(trace)


@pytest.fixture(scope="module", autouse=True)
def outcome_table() -> Iterator[None]:
    yield
    if OUTCOMES:
        width = max(map(len, OUTCOMES))
        print("\nhostile input -> outcome")
        for name, outcome in OUTCOMES.items():
            print(f"  {name:<{width}}  {outcome}")


# --- the inputs ----------------------------------------------------------------------------------------


@dataclass
class Setup:
    """What an input put in place: the image whose fate is checked, and objects that must stay as they are."""

    image: str | None = None
    data: bytes = b""
    victims: dict[str, bytes] = field(default_factory=dict)
    event: dict[str, Any] | None = None  # a Lambda event SQS itself cannot produce, handed over directly
    check: Callable[[World], None] | None = None


Arrange = Callable[[World], Setup]


def place(world: World, key: str, data: bytes) -> None:
    """Put an object that is not the input: its own upload event, if any, is taken off the queue."""
    world.upload(key, data)
    world.drain()


def uploaded(
    key: str,
    data: bytes,
    *,
    victims: dict[str, bytes] | None = None,
    check: Callable[[World], None] | None = None,
) -> Arrange:
    def arrange(world: World) -> Setup:
        for victim, content in (victims or {}).items():
            place(world, victim, content)
        world.upload(key, data)
        return Setup(image=key, data=data, victims=dict(victims or {}), check=check)

    return arrange


def emailed_as(line: str) -> Callable[[World], None]:
    """A check: the one email names the image on exactly this line, and its subject is one ASCII line."""

    def check(world: World) -> None:
        (email,) = world.emails()
        assert line in email.body.splitlines()
        assert email.subject.isascii()
        assert email.subject.isprintable()

    return check


def sent(body: str, victims: dict[str, bytes] | None = None) -> Arrange:
    def arrange(world: World) -> Setup:
        for key, data in (victims or {}).items():
            place(world, key, data)
        world.send(body)
        return Setup(victims=dict(victims or {}))

    return arrange


def s3_body(raw_key: str, *, bucket: str = BUCKET, event_name: str = "ObjectCreated:Put") -> str:
    """A real-shaped S3 notification for `raw_key` (as S3 sends it: URL-encoded)."""
    event = load_event("s3ObjectCreated.json")
    record = event["Records"][0]
    record["eventName"] = event_name
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = raw_key
    return json.dumps(event)


def sns(message: str) -> str:
    envelope = load_event("snsS3ObjectCreated.json")
    envelope["Message"] = message
    return json.dumps(envelope)


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("widget.jpg", jpeg())
    return out.getvalue()


def removed(event_name: str) -> Arrange:
    """An event that is not a creation, for an image that is there: it must stay where it is."""
    key = "images/line-3/widget-0041.jpg"
    return sent(s3_body(quote_plus(key), event_name=event_name), victims={key: jpeg()})


def stale_event(world: World) -> Setup:
    """The event of a first upload arrives after a second upload replaced the object under the same key."""
    key = "images/line-3/w1.jpg"
    first, second = jpeg(), jpeg((140, 100))
    world.upload(key, first)
    (stale,) = world.drain()
    etag = world.upload(key, second)
    modified = world.s3.head_object(Bucket=world.bucket, Key=key)["LastModified"]
    world.drain()  # the second upload's own event: this input is the stale one alone
    world.send(stale["Body"])
    stale_etag = json.loads(stale["Body"])["Records"][0]["s3"]["object"]["eTag"]

    def check(world: World) -> None:
        assert etag != stale_etag
        image = world.record(key).image
        assert etag == image.etag  # the object as it is now was inspected, and only its facts recorded
        assert (len(second), None) == (image.size, image.sequencer)
        assert image.event_time is not None
        assert abs((image.event_time - modified).total_seconds()) < 1

    return Setup(image=key, data=second, check=check)


def gone(world: World) -> Setup:
    key = "images/line-3/w2.jpg"
    world.upload(key, jpeg())
    world.s3.delete_object(Bucket=BUCKET, Key=key)  # only ObjectCreated is announced
    return Setup()


def without_message_id(world: World) -> Setup:
    """A Lambda event with a record lacking messageId, beside a good one: the whole batch must fail."""
    key = "images/line-3/w3.jpg"
    data = jpeg()
    world.upload(key, data)
    event = world.deliver()
    broken = dict(event["Records"][0])
    del broken["messageId"]
    event["Records"].append(broken)
    return Setup(image=key, data=data, event=event)


LONG_KEY = "images/line-3/" + "w" * 1006 + ".jpg"  # 1,024 bytes: the longest key S3 takes
FITS_BUT_NOT_FILED = "images/" + "w" * 1006 + ".jpg"  # 1,017: its record fits, analyzed/passed/... does not
DYNAMODB = {
    "Records": [
        {
            "eventID": "c4ca4238a0b923820dcc509a6f75849b",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1",
            "dynamodb": {"Keys": {"Id": {"N": "101"}}, "SequenceNumber": "4421584500000000017450439091"},
        }
    ]
}
SES = {
    "Records": [
        {
            "eventSource": "aws:ses",
            "eventVersion": "1.0",
            "ses": {
                "mail": {"messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", "source": "qc@example.com"},
                "receipt": {"action": {"type": "Lambda"}},
            },
        }
    ]
}

CASES = [
    # Bodies no retry can make sense of: left to reach the DLQ, where a person can read them.
    pytest.param(sent('{"Records": ['), DLQ_MALFORMED, id="malformed-json"),
    pytest.param(sent(event_text("s3ObjectCreated.json")[:500]), DLQ_MALFORMED, id="truncated-json"),
    pytest.param(sent('[{"Records": []}]'), DLQ_MALFORMED, id="json-array-body"),
    pytest.param(sent(""), DLQ_MALFORMED, id="empty-body"),  # real SQS refuses it; moto takes it
    pytest.param(sent("[" * 100_000), DLQ_MALFORMED, id="json-nested-100000-deep"),
    pytest.param(sent(json.dumps(DYNAMODB)), DLQ_MALFORMED, id="dynamodb-stream-record"),
    pytest.param(sent(json.dumps(SES)), DLQ_MALFORMED, id="ses-record"),
    pytest.param(sent(sns("{not json")), DLQ_MALFORMED, id="sns-envelope-bad-inner-json"),
    pytest.param(sent(sns("[1, 2]")), DLQ_MALFORMED, id="sns-envelope-inner-array"),
    pytest.param(sent(s3_body("images%2F" + "w" * 1018)), DLQ_MALFORMED, id="event-key-over-1024-bytes"),
    pytest.param(sent(s3_body("images%2F%FF.jpg")), DLQ_MALFORMED, id="event-key-not-utf8"),
    # Well-formed messages that need nothing: acknowledged, with the reason logged.
    pytest.param(sent(event_text("s3TestEvent.json")), "acked: ignored test-event", id="s3-test-event"),
    pytest.param(
        sent(s3_body("images%2Fw1.jpg", bucket="someone-elses-bucket")),
        "acked: ignored other-bucket",
        id="other-bucket",
    ),
    pytest.param(removed("ObjectRemoved:Delete"), "acked: ignored not-object-created", id="object-removed"),
    pytest.param(
        removed("LifecycleExpiration:Delete"), "acked: ignored not-object-created", id="lifecycle-expiration"
    ),
    pytest.param(
        removed("ObjectRestore:Completed"), "acked: ignored not-object-created", id="object-restore-completed"
    ),
    pytest.param(
        sent(event_text("eventBridgeObjectDeleted.json")),
        "acked: ignored not-object-created",
        id="eventbridge-object-deleted",
    ),
    pytest.param(
        sent(s3_body("images%2Fline-3%2F")), "acked: ignored folder-marker", id="folder-marker-event"
    ),
    pytest.param(
        sent(s3_body("images%252Fx.jpg"), victims={"images/x.jpg": jpeg()}),
        "acked: ignored outside-prefix",
        id="event-key-double-encoded",
    ),
    pytest.param(
        sent(s3_body("analyzed%2Fpassed%2Fx.jpg"), victims={"analyzed/passed/x.jpg": jpeg()}),
        "acked: ignored outside-prefix",
        id="event-key-in-analyzed",
    ),
    # An event naming images/../analyzed/x.jpg: S3 keys are flat, that object does not exist, and the
    # one at analyzed/x.jpg is not followed to.
    pytest.param(
        sent(s3_body("images%2F..%2Fanalyzed%2Fx.jpg"), victims={"analyzed/x.jpg": jpeg()}),
        "acked: gone",
        id="event-key-decodes-to-dotdot",
    ),
    pytest.param(gone, "acked: gone", id="key-no-longer-exists"),
    pytest.param(stale_event, "acked: PASS", id="etag-differs-re-uploaded-since"),
    pytest.param(without_message_id, "batch fails: MalformedEventError", id="sqs-record-without-message-id"),
    # Keys.
    pytest.param(
        uploaded("images/../results/x.json", b'{"verdict": "PASS"}\n', victims={"results/x.json": b"{}"}),
        NOT_IMAGE.format("text"),
        id="key-literal-dotdot",
    ),
    pytest.param(uploaded("images/%2E%2E/x.jpg", jpeg()), "acked: PASS", id="key-literal-percent-2e"),
    pytest.param(
        uploaded(
            "images/line-3/a\x00b.jpg",
            jpeg(),
            check=emailed_as(f"Image: s3://{BUCKET}/images/line-3/a\\x00b.jpg"),
        ),
        "acked: PASS",
        id="key-with-nul",
    ),
    pytest.param(
        uploaded(
            "images/line-3/a\nb.jpg",
            jpeg(),
            check=emailed_as(f"Image: s3://{BUCKET}/images/line-3/a\\nb.jpg"),
        ),
        "acked: PASS",
        id="key-with-newline",
    ),
    pytest.param(uploaded(LONG_KEY, jpeg()), "acked: PASS", id="key-1024-bytes"),
    pytest.param(
        uploaded(FITS_BUT_NOT_FILED, jpeg()), "acked: PASS", id="key-1017-bytes-destination-over-1024"
    ),
    # Content that is not what its name says, or not what Rekognition reads.
    pytest.param(
        uploaded("images/line-3/page.jpg", b"<!DOCTYPE html><html><body>widget</body></html>\n"),
        NOT_IMAGE.format("text"),
        id="html-named-jpg",
    ),
    pytest.param(
        uploaded("images/line-3/w.jpg", zip_bytes()), NOT_IMAGE.format("ZIP archive"), id="zip-named-jpg"
    ),
    pytest.param(
        uploaded("images/line-3/w.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        NOT_IMAGE.format("PDF"),
        id="pdf-named-jpg",
    ),
    pytest.param(uploaded("images/line-3/w.gif", image_bytes("GIF")), NOT_IMAGE.format("GIF"), id="gif"),
    pytest.param(uploaded("images/line-3/w.bmp", image_bytes("BMP")), NOT_IMAGE.format("BMP"), id="bmp"),
    pytest.param(uploaded("images/line-3/w.webp", image_bytes("WEBP")), NOT_IMAGE.format("WebP"), id="webp"),
    pytest.param(uploaded("images/line-3/w.tif", image_bytes("TIFF")), NOT_IMAGE.format("TIFF"), id="tiff"),
    pytest.param(
        uploaded("images/line-3/w.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)),
        NOT_IMAGE.format("HEIC"),
        id="heic-ftyp",
    ),
    pytest.param(
        uploaded("images/line-3/huge.jpg", jpeg() + bytes(15 * MIB + 1 - len(jpeg()))),
        "acked: REJECTED (file is 15,728,641 bytes; Rekognition reads at most 15,728,640 bytes (15 MiB) "
        "from S3)",
        id="jpeg-over-15-mib",
    ),
    pytest.param(
        uploaded("images/line-3/cut.jpg", jpeg()[:-200]),
        "acked: REJECTED (truncated JPEG: the file does not end with its end-of-image marker (FF D9) (cut "
        "short?))",
        id="jpeg-cut-short",
    ),
    pytest.param(
        uploaded("images/line-3/strip.png", png((79, 200))),
        "acked: REJECTED (image is 79x200 px; Rekognition needs at least 80 px per side)",
        id="png-79x200",
    ),
    pytest.param(
        uploaded("images/line-3/tiny.jpg", jpeg((40, 40))),
        "acked: REJECTED (image is 40x40 px; Rekognition needs at least 80 px per side)",
        id="jpeg-40x40-refused-before-rekognition",
    ),
]


# --- running one input to its end ------------------------------------------------------------------------


def drive(world: World, setup: Setup) -> tuple[list[dict[str, Any]], str | None]:
    """Invoke the handler as the event source mapping would until the queue is empty (or the event fails)."""
    responses: list[dict[str, Any]] = []
    if setup.event is not None:
        try:
            responses.append(function.lambda_handler(setup.event, None))
        except MalformedEventError as exc:
            return responses, type(exc).__name__
    for _ in range(MAX_RECEIVE_COUNT + 1):
        event = world.deliver()
        if not event["Records"]:
            break
        response = function.lambda_handler(event, None)
        responses.append(response)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                world.sqs.delete_message(QueueUrl=world.queue_url, ReceiptHandle=record["receiptHandle"])
    return responses, None


def name(aws_lambda: Lambda, setup: Setup, responses: list[dict[str, Any]], raised: str | None) -> str:
    """The outcome, named: acknowledged or retried, and why."""
    world, trace = aws_lambda.world, aws_lambda.trace
    if raised is not None:
        return f"batch fails: {raised}"
    dead = world.receive(world.dlq_url)
    if dead:
        assert all(1 == len(response["batchItemFailures"]) for response in responses)
        kinds = {"malformed message": "malformed", "transient failure": "transient", "unexpected": "error"}
        (why,) = [kind for prefix, kind in kinds.items() if trace.first(prefix) is not None]
        return f"retried: {why} -> DLQ after {len(responses)} receives"
    assert [] == responses[0]["batchItemFailures"]
    if (ignored := trace.first("ignored")) is not None:
        return f"acked: ignored {ignored.__dict__['reason']}"
    if trace.first("object is gone") is not None:
        return "acked: gone"
    assert setup.image is not None
    record = world.record(setup.image)
    return f"acked: {record.verdict}" + (f" ({record.rejection})" if record.rejection else "")


def assert_nothing_lost(world: World, setup: Setup) -> None:
    for key, data in setup.victims.items():
        assert data == world.body(key), f"{key} was changed"
    if setup.image is None:
        return
    settings = world.settings()
    objects = set(world.keys())
    terminal = {settings.destination(setup.image, verdict) for verdict in Verdict}
    places = sorted(({setup.image} | terminal) & objects)
    assert 1 == len(places), f"{setup.image!r} is in {places}"
    (where,) = places
    assert setup.data == world.body(where)
    if where != setup.image:
        record = world.record(setup.image)
        assert where == record.destination
        assert record.notified_at is not None
        assert all(len(key.encode()) <= S3_MAX_KEY_BYTES for key in objects)


@pytest.mark.parametrize(("arrange", "expected"), CASES)
def test_a_hostile_input_has_its_named_outcome_and_loses_nothing(
    aws_lambda: Lambda, request: pytest.FixtureRequest, arrange: Arrange, expected: str
) -> None:
    world = aws_lambda.world
    setup = arrange(world)

    responses, raised = drive(world, setup)
    outcome = name(aws_lambda, setup, responses, raised)
    OUTCOMES[request.node.callspec.id] = outcome

    assert expected == outcome
    assert [] == aws_lambda.key_limit.refused  # no derived key ever went over S3's limit
    # A batch that failed whole is delivered again; everything else was acknowledged or dead-lettered.
    assert (1 if setup.event is not None else 0) == world.queued()
    assert_nothing_lost(world, setup)
    if setup.check is not None:
        setup.check(world)


def test_a_1024_byte_key_is_filed_under_a_short_stable_name_with_its_record(aws_lambda: Lambda) -> None:
    """S3 would refuse analyzed/passed/<1,017 bytes> (KeyTooLongError, transient to the pipeline: the
    message would end in the DLQ); the pipeline files such an image under a hashed name instead."""
    world = aws_lambda.world
    world.upload(LONG_KEY, jpeg())

    drive(world, Setup())

    settings = world.settings()
    record = world.record(LONG_KEY)
    assert LONG_KEY == record.image.key
    assert f"analyzed/passed/{LONG_KEYS_FOLDER}" == str(record.destination)[: 16 + len(LONG_KEYS_FOLDER)]
    assert sorted([str(record.destination), settings.record_key(LONG_KEY)]) == world.keys()
    (email,) = world.emails()
    assert f"Filed under: s3://{BUCKET}/{record.destination}" in email.body


def test_an_upload_named_like_a_long_keys_short_name_does_not_overwrite_it(aws_lambda: Lambda) -> None:
    world = aws_lambda.world
    settings = world.settings()
    long_image, mimic_image = jpeg(), jpeg((140, 100))
    world.upload(LONG_KEY, long_image)
    drive(world, Setup())
    filed = settings.destination(LONG_KEY, "PASS")
    mimic = settings.images_prefix + filed.removeprefix("analyzed/passed/")  # images/_long-keys/<sha>-<tail>
    # An upload under _long-keys/ is renamed too, so it cannot take the long key's short name.
    assert filed != settings.destination(mimic, "PASS")

    world.upload(mimic, mimic_image)
    drive(world, Setup())

    assert long_image == world.body(filed)
    assert LONG_KEY == world.record(LONG_KEY).image.key
