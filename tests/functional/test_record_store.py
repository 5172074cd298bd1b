"""The result record's conditional writes: the one place two inspections of an image meet."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from inspector.errors import RecordConflict, TransientError
from inspector.records import ResultRecord
from inspector.storage import S3Store, StoredRecord
from tests.functional.world import BUCKET, World, client_error
from tests.unit.builders import object_ref

RECORD_KEY = "results/line-3/w1.jpg.json"


def rejected() -> ResultRecord:
    return ResultRecord.rejected(
        object_ref(), "empty file (0 bytes)", criteria="c" * 16, inspected_at=datetime(2026, 1, 1, tzinfo=UTC)
    )


@pytest.fixture
def store(world: World) -> S3Store:
    return S3Store(BUCKET, world.s3)


def test_the_first_write_lands_where_there_is_no_record_and_returns_its_etag(store: S3Store) -> None:
    record = rejected()

    etag = store.save_record(RECORD_KEY, record, replacing=None)

    assert StoredRecord(etag, record) == store.load_record(RECORD_KEY)


def test_a_first_write_where_a_record_already_is_loses(store: S3Store) -> None:
    store.save_record(RECORD_KEY, rejected(), replacing=None)

    with pytest.raises(RecordConflict, match=RECORD_KEY):
        store.save_record(RECORD_KEY, rejected().model_copy(update={"detector": "again"}), replacing=None)


def test_a_write_naming_the_current_etag_lands_and_one_naming_an_older_etag_loses(store: S3Store) -> None:
    first = store.save_record(RECORD_KEY, rejected(), replacing=None)
    second = store.save_record(
        RECORD_KEY, rejected().model_copy(update={"detector": "again"}), replacing=first
    )

    with pytest.raises(RecordConflict):
        store.save_record(RECORD_KEY, rejected().model_copy(update={"detector": "again"}), replacing=first)
    assert StoredRecord(second, rejected().model_copy(update={"detector": "again"})) == store.load_record(
        RECORD_KEY
    )


def test_a_write_naming_a_record_that_was_removed_loses(world: World, store: S3Store) -> None:
    etag = store.save_record(RECORD_KEY, rejected(), replacing=None)
    world.s3.delete_object(Bucket=BUCKET, Key=RECORD_KEY)

    with pytest.raises(RecordConflict):
        store.save_record(RECORD_KEY, rejected().model_copy(update={"detector": "again"}), replacing=etag)


def test_an_unreadable_record_comes_back_with_its_etag_so_that_it_can_be_replaced(
    world: World, store: S3Store
) -> None:
    etag = world.s3.put_object(Bucket=BUCKET, Key=RECORD_KEY, Body=b"{not json")["ETag"]

    stored = store.load_record(RECORD_KEY)

    assert StoredRecord(etag, None) == stored
    etag = store.save_record(RECORD_KEY, rejected(), replacing=etag)
    assert StoredRecord(etag, rejected()) == store.load_record(RECORD_KEY)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ConditionalRequestConflict", 409, RecordConflict),
        ("PreconditionFailed", 412, RecordConflict),
        ("SlowDown", 503, TransientError),
    ],
    ids=["concurrent-conditional-write", "precondition-failed", "slow-down"],
)
def test_s3s_answers_to_a_conditional_write_are_sorted(
    world: World, store: S3Store, code: str, status: int, expected: type[Exception]
) -> None:
    hook: Any = client_error("PutObject", code, status)
    world.s3.meta.events.register("before-call.s3.PutObject", hook)
    try:
        with pytest.raises(expected) as raised:
            store.save_record(RECORD_KEY, rejected(), replacing=None)
    finally:
        world.s3.meta.events.unregister("before-call.s3.PutObject", hook)

    assert (expected is RecordConflict) == isinstance(raised.value, RecordConflict)
