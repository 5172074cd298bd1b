"""`inspector enqueue`'s event: S3's notification shape, read back by the pipeline's own parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from inspector.commands.enqueue import object_created_event
from inspector.events import Inspect, parse_body

NOW = datetime(2026, 11, 3, 9, 14, 27, 512_345, tzinfo=UTC)
MODIFIED = datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC)


def listed(key: str) -> dict[str, object]:
    """A ListObjectsV2 entry as boto3 returns it."""
    return {
        "Key": key,
        "Size": 482133,
        "ETag": '"9b2cf535f27731c974343645a3985328"',
        "LastModified": MODIFIED,
    }


def test_the_event_has_the_exact_shape_s3_sends():
    event = object_created_event(
        "widget-factory-images", listed("images/line 3/w1.jpg"), region="eu-west-1", now=NOW
    )

    assert {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2026-11-03T09:14:27.512Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "inspector-enqueue",
                    "bucket": {"name": "widget-factory-images", "arn": "arn:aws:s3:::widget-factory-images"},
                    "object": {
                        "key": "images/line+3/w1.jpg",
                        "size": 482133,
                        "eTag": "9b2cf535f27731c974343645a3985328",
                        "sequencer": f"{int(MODIFIED.timestamp() * 1_000_000_000):018X}",
                    },
                },
            }
        ]
    } == event


def test_the_bucket_arn_names_the_clients_partition():
    event = object_created_event(
        "b-cn", listed("images/w.jpg"), region="cn-north-1", partition="aws-cn", now=NOW
    )

    assert "arn:aws-cn:s3:::b-cn" == event["Records"][0]["s3"]["bucket"]["arn"]


@pytest.mark.parametrize(
    ("key", "raw_key"),
    [
        pytest.param("images/w1.jpg", "images/w1.jpg", id="plain"),
        pytest.param("images/my widget é.jpg", "images/my+widget+%C3%A9.jpg", id="space and unicode"),
        pytest.param("images/a+b.jpg", "images/a%2Bb.jpg", id="literal plus"),
        pytest.param("images/100%.jpg", "images/100%25.jpg", id="literal percent"),
        pytest.param("images/x?y=1&z#.png", "images/x%3Fy%3D1%26z%23.png", id="query characters"),
    ],
)
def test_parse_body_reads_the_event_back_into_the_same_key(key, raw_key):
    event = object_created_event("widgets", listed(key), region="us-east-1", now=NOW)

    parsed = parse_body(json.dumps(event), prefix="images/", bucket="widgets")

    assert isinstance(parsed, Inspect)
    (ref,) = parsed.objects
    assert (key, raw_key) == (ref.key, ref.raw_key)
    assert ("widgets", 482133, "9b2cf535f27731c974343645a3985328") == (ref.bucket, ref.size, ref.etag)
    assert NOW.replace(microsecond=512_000) == ref.event_time
