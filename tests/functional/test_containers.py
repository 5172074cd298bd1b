"""Two containers on every image at once, under seeded jitter: what the record's conditional writes buy.

On Lambda a duplicate S3 notification can land in another container's batch, where the per-key lock does
not reach. Here every message is handled by two processors at the same time, each with its own clients,
whose every call first sleeps a seeded 0-4 ms, so that the two inspections interleave differently on each
image; a third run adds faults and lost answers in every S3 and SNS call kind. After the concurrent round
nothing may be lost; after the failed messages are retried, every image is filed exactly once with a
notified record. `test_resilience.py` holds the three interleavings that matter, forced step by step; this
test looks for the ones nobody thought of.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import pytest

from inspector.app import Clients, build
from inspector.batch import BatchProcessor
from inspector.detectors import ImageSource
from inspector.engine import Verdict
from inspector.events import ObjectRef
from inspector.testing import Answer, FakeDetector
from tests.functional.chaos import Chaos, Rates
from tests.functional.world import (
    FAIL_LABELS,
    PASS_LABELS,
    REVIEW_LABELS,
    World,
    enforce_copy_source_if_match,
    failures,
    image_bytes,
)

IMAGES = 40
ANSWERS = (PASS_LABELS, FAIL_LABELS, REVIEW_LABELS)


def jitter(rng: random.Random, lock: threading.Lock) -> Any:
    """A before-call hook sleeping a seeded 0-4 ms: the two containers' steps interleave at random."""

    def pause(**_: Any) -> None:
        with lock:
            seconds = rng.uniform(0, 0.004)
        threading.Event().wait(seconds)

    return pause


def container(world: World, seed: int, chaos: Chaos | None) -> tuple[BatchProcessor, FakeDetector]:
    rng, lock = random.Random(seed), threading.Lock()  # noqa: S311 - seeded on purpose, no secret
    s3, sns = world.session.client("s3"), world.session.client("sns")
    enforce_copy_source_if_match(s3)
    for client, service in ((s3, "s3"), (sns, "sns")):
        client.meta.events.register(f"before-call.{service}", jitter(rng, lock))
        if chaos is not None:
            chaos.install(client, service)

    def answer(image: ImageSource) -> Answer:
        with lock:
            seconds = rng.uniform(0, 0.004)
        threading.Event().wait(seconds)
        assert isinstance(image, ObjectRef)
        return ANSWERS[int(image.key.rsplit("-", 1)[1].split(".")[0]) % len(ANSWERS)]

    detector = FakeDetector(by=answer)
    processor = build(world.settings(evidence=True), clients=Clients(s3=s3, sns=sns), detector=detector)
    world.processors.append(processor)
    return processor, detector


def both_at_once(
    a: BatchProcessor, b: BatchProcessor, event: dict[str, Any], *, b_later: float
) -> list[dict[str, Any]]:
    """Both handle `event`, b starting `b_later` seconds after a (before it, when negative)."""
    answers: list[dict[str, Any]] = [{}, {}]
    start = threading.Barrier(2)
    delays = (max(0.0, -b_later), max(0.0, b_later))

    def run(index: int, processor: BatchProcessor) -> None:
        start.wait()
        threading.Event().wait(delays[index])
        answers[index] = processor.process(event)

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


# Faults in every S3 and SNS call kind and answers lost after the call succeeded, as in the chaos test
# (no crashes: there is no poller here to restart a dead process).
FAULTS = Rates(fault=0.05, lost=0.03, crash=0.0, duplicate=0.0, refuse=0.0)


@pytest.mark.parametrize(
    ("seed", "rates"),
    [
        pytest.param(7, None, id="seed-7"),
        pytest.param(20261127, None, id="seed-20261127"),
        pytest.param(11, FAULTS, id="seed-11-with-faults"),
    ],
)
def test_two_containers_on_every_image_at_once_lose_nothing_and_file_each_once(
    world: World, seed: int, rates: Rates | None
) -> None:
    keys = [f"images/line-{n % 3}/w-{n}.jpg" for n in range(IMAGES)]
    data = {key: image_bytes("JPEG", color=(n * 5 % 256, 90, 200)) for n, key in enumerate(keys)}
    for key in keys:
        world.upload(key, data[key])
    messages = []
    while batch := world.drain():  # taken off the queue: this test hands each message out itself
        messages.extend(batch)
    assert IMAGES == len(messages)
    chaos = [Chaos(seed + n, rates) if rates is not None else None for n in (0, 1)]
    (a, a_detector), (b, b_detector) = container(world, seed, chaos[0]), container(world, seed + 1, chaos[1])

    # One inspection takes ~20 ms here: offsets up to 30 ms either way let the second container arrive at
    # every step of the first's (or not at all).
    offsets = random.Random(seed)  # noqa: S311 - seeded on purpose, no secret
    outcomes: Counter[str] = Counter()
    retries = []
    for message in messages:
        event = world.lambda_event([message])
        answers = both_at_once(a, b, event, b_later=offsets.uniform(-0.03, 0.03))
        acknowledged = sum(not failures(answer) for answer in answers)
        outcomes[f"acknowledged by {acknowledged}"] += 1
        if acknowledged == 0:
            retries.append(event)
    # Nothing lost, whatever the interleaving: each image is under images/ or filed, and filed at most once.
    layout = set(world.keys())
    settings = world.settings()
    for key in keys:
        filed = {settings.destination(key, verdict) for verdict in Verdict} & layout
        assert len(filed) <= 1, f"{key} filed twice: {filed}"
        assert key in layout or filed, f"{key} is lost"

    for plan in chaos:  # AWS recovers; SQS redelivers what neither acknowledged, to one container
        if plan is not None:
            plan.enabled = False
    for event in retries:
        assert [] == failures(a.process(event))

    emails = Counter(email.body.split("\n")[1] for email in world.emails())
    recognitions = Counter(
        image.key for image, _ in a_detector.calls + b_detector.calls if isinstance(image, ObjectRef)
    )
    injected = [(dict(p.faults), dict(p.lost)) for p in chaos if p is not None]
    print(
        f"\nseed {seed}: {dict(outcomes)}; {sum(emails.values())} emails for {IMAGES} images; "
        f"{sum(recognitions.values())} recognitions; {len(retries)} retried; faults, lost answers: {injected}"
    )
    layout = set(world.keys())
    for key in keys:
        record = world.record(key)
        assert record.notified_at is not None
        assert record.destination == settings.destination(key, record.verdict)
        assert {record.destination, settings.record_key(key)} <= layout
        assert key not in layout
        assert data[key] == world.body(record.destination)
        if rates is None:  # faults add retries, and with them recognitions and emails
            assert 1 <= emails[f"Image: s3://{world.bucket}/{key}"] <= 2
            assert 1 <= recognitions[key] <= 2
        assert 1 <= emails[f"Image: s3://{world.bucket}/{key}"]
    # Each image's copy and record, and the evidence image of each FAIL and REVIEW beside its record.
    judged_failing = sum(world.record(key).evidence is not None for key in keys)
    assert {settings.evidence_key(key) for key in keys if world.record(key).evidence} <= layout
    assert len(keys) * 2 + judged_failing == len(layout)
    # The races the test is for did happen: a container lost a record write (its message failed while the
    # other's was acknowledged), and both containers recognized some image before either wrote its record.
    assert outcomes["acknowledged by 1"] >= 1
    assert sum(recognitions.values()) > IMAGES
