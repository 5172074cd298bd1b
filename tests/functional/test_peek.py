"""`S3Store.peek`: what HEAD says of an upload and its first bytes, in one ranged GET.

The pipeline's first request for an image: it says whether the image is there, which version it is, and
gives the bytes the cheap checks sniff, where a HEAD and a ranged GET took two requests.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from inspector.errors import TransientError
from inspector.storage import S3Store
from tests.functional.world import BUCKET, World, client_error, jpeg

KEY = "images/line-3/w1.jpg"


@pytest.fixture
def store(world: World) -> S3Store:
    return S3Store(BUCKET, world.s3)


def test_a_peek_gives_heads_facts_of_the_whole_object_and_its_first_bytes(
    world: World, store: S3Store
) -> None:
    data = jpeg()
    world.s3.put_object(
        Bucket=BUCKET, Key=KEY, Body=data, ContentType="image/jpeg", Metadata={"station": "4"}
    )

    peeked, head = store.peek(KEY, length=176), store.head(KEY)

    assert peeked is not None
    assert head is not None
    assert len(data) == peeked.size  # the object's, not the range's
    assert data[:176] == peeked.start
    assert head == peeked._replace(start=b"")


def test_an_object_shorter_than_the_range_comes_whole(world: World, store: S3Store) -> None:
    world.upload(KEY, b"\xff\xd8\xff")

    peeked = store.peek(KEY, length=176)

    assert peeked is not None
    assert (3, b"\xff\xd8\xff") == (peeked.size, peeked.start)


def test_an_empty_object_which_no_range_fits_is_told_by_a_head(world: World, store: S3Store) -> None:
    world.upload(KEY, b"")

    peeked = store.peek(KEY, length=176)

    assert peeked is not None
    assert (0, b"") == (peeked.size, peeked.start)
    assert peeked.etag == world.s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]


def test_a_missing_object_is_none_and_a_failing_read_is_transient(world: World, store: S3Store) -> None:
    assert store.peek(KEY, length=176) is None

    world.upload(KEY, jpeg())
    world.s3.meta.events.register("before-call.s3.GetObject", client_error("GetObject", "SlowDown", 503))
    with pytest.raises(TransientError, match=r"GetObject \(range\)"):
        store.peek(KEY, length=176)


def test_before_recognition_an_image_costs_three_reads_where_it_took_a_head_and_three(world: World) -> None:
    calls: Counter[str] = Counter()
    before_recognition: list[Counter[str]] = []

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    world.s3.meta.events.register("before-call.s3.*", count)
    world.rekognition.meta.events.register(
        "before-call.rekognition.DetectLabels", lambda **_: before_recognition.append(Counter(calls))
    )
    world.upload(KEY, jpeg((400, 400)))  # larger than the sniffed head: its tail is read too
    calls.clear()

    world.run(world.processor(evidence=False))

    # The peek, the result record's read (none there yet) and the tail; no HEAD of the upload.
    assert [Counter({"GetObject": 3})] == before_recognition
