"""History that is never overwritten: re-uploads under one key keep every inspection, and one filed copy
per version, with the filed images always agreeing with the latest record, crashes included."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.engine import Verdict
from inspector.testing import FakeDetector
from tests.functional.test_resilience import CrashingNotifier, CrashingStore, CrashOnce
from tests.functional.world import (
    BUCKET,
    FAIL_LABELS,
    PASS_LABELS,
    REVIEW_LABELS,
    World,
    image_bytes,
    jpeg,
)

KEY = "images/line-3/w1.jpg"
RECORD = "results/line-3/w1.jpg.json"
PASSED, FAILED, REVIEW = (f"analyzed/{v}/line-3/w1.jpg" for v in ("passed", "failed", "review"))


def upload_and_inspect(world: World, data: bytes, answer: Any) -> FakeDetector:
    world.upload(KEY, data)
    detector = FakeDetector(default=answer)
    assert {"batchItemFailures": []} == world.run(world.processor(detector))
    return detector


def versions(world: World, key: str) -> list[bytes]:
    """The bytes of every version of `key`, oldest first (delete markers left out)."""
    listing = world.s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    found = [v for v in listing if v["Key"] == key]
    return [
        world.s3.get_object(Bucket=BUCKET, Key=key, VersionId=v["VersionId"])["Body"].read()
        for v in reversed(found)
    ]


def blue() -> bytes:
    return image_bytes("JPEG", color=(40, 90, 200))


def red() -> bytes:
    return image_bytes("JPEG", color=(200, 40, 40))


def test_new_bytes_under_an_old_key_keep_both_inspections_and_one_agreeing_filed_copy(world: World) -> None:
    first, second = blue(), red()
    upload_and_inspect(world, first, PASS_LABELS)
    upload_and_inspect(world, second, FAIL_LABELS)

    # The filed images agree with the latest record: no PASS copy beside the FAIL one.
    assert [FAILED, RECORD] == world.keys()
    assert second == world.body(FAILED)
    record = world.record(KEY)
    assert (Verdict.FAIL, PASSED) == (record.verdict, record.supersedes)
    # Every version keeps its own filed copy: the first one's is a noncurrent version of its place.
    assert [first] == versions(world, PASSED)
    assert [second] == versions(world, FAILED)
    events = world.desk().history(KEY)
    assert [("inspection", Verdict.PASS, PASSED), ("inspection", Verdict.FAIL, FAILED)] == [
        (e.kind, e.verdict, e.filed) for e in events
    ]
    assert events[0].etag != events[1].etag


def test_a_re_upload_with_the_same_verdict_keeps_the_earlier_copy_as_a_version(world: World) -> None:
    first, second = blue(), red()
    upload_and_inspect(world, first, FAIL_LABELS)
    upload_and_inspect(world, second, FAIL_LABELS)

    assert [FAILED, RECORD] == world.keys()
    assert [first, second] == versions(world, FAILED)
    assert 2 == len(world.desk().history(KEY))


def test_the_same_bytes_uploaded_again_are_a_new_inspection_on_the_versioned_bucket(world: World) -> None:
    data = jpeg()
    upload_and_inspect(world, data, PASS_LABELS)
    detector = upload_and_inspect(world, data, PASS_LABELS)

    assert 1 == len(detector.calls)  # inspected again: a new upload, not a duplicate event
    assert [PASSED, RECORD] == world.keys()
    events = world.desk().history(KEY)
    assert 2 == len(events)
    assert events[0].version_id != events[1].version_id


def test_a_decision_on_an_earlier_upload_stays_in_the_history_after_a_re_upload(world: World) -> None:
    upload_and_inspect(world, blue(), REVIEW_LABELS)
    desk = world.desk()
    desk.decide(KEY, Verdict.FAIL, note="bent")
    upload_and_inspect(world, red(), REVIEW_LABELS)

    assert [REVIEW, RECORD] == world.keys()  # the earlier FAIL copy made way for the new upload's
    assert [KEY] == [p.key for p in desk.queue()]  # the new upload awaits its own decision
    assert [("inspection", Verdict.REVIEW), ("decision", Verdict.FAIL), ("inspection", Verdict.REVIEW)] == [
        (e.kind, e.verdict) for e in desk.history(KEY)
    ]
    assert [blue()] == versions(world, FAILED)


@pytest.mark.parametrize(
    "at", ["after record save #1", "after publish", "after record save #2", "after copy", "before delete"]
)
def test_a_crash_while_a_re_upload_is_filed_ends_in_one_agreeing_copy_after_redelivery(
    world: World, at: str
) -> None:
    first, second = blue(), red()
    upload_and_inspect(world, first, PASS_LABELS)
    world.upload(KEY, second)
    processor = world.processor(FakeDetector(default=FAIL_LABELS))
    crash = CrashOnce(at)
    processor.inspector.store = CrashingStore(BUCKET, world.s3, crash)
    processor.inspector.notifier = CrashingNotifier(world.topic_arn, world.sns, crash)

    world.run(processor)

    assert crash.crashed
    assert second == world.body(KEY)  # the upload waits for its redelivery
    assert world.exists(PASSED) or world.exists(FAILED)  # never without a filed copy

    assert {"batchItemFailures": []} == world.run(processor)

    assert [FAILED, RECORD] == world.keys()
    assert second == world.body(FAILED)
    assert [first] == versions(world, PASSED)
    assert [Verdict.PASS, Verdict.FAIL] == [e.verdict for e in world.desk().history(KEY)]


def test_the_same_bytes_judged_otherwise_on_re_upload_leave_one_agreeing_copy(world: World) -> None:
    """Same bytes, same ETag, a new S3 version judged under other criteria (here: another answer)."""
    data = jpeg()
    upload_and_inspect(world, data, PASS_LABELS)
    upload_and_inspect(world, data, FAIL_LABELS)

    assert [FAILED, RECORD] == world.keys()
    assert [data] == versions(world, PASSED)
    assert [Verdict.PASS, Verdict.FAIL] == [e.verdict for e in world.desk().history(KEY)]
