"""The benchmarks' faster moto (`benchmarks.common.fast_moto`) simulates the same AWS, and undoes itself.

Its speed-ups replace parts of moto while the context lasts; a figure measured with them is only worth
something if S3 still answers as moto does, and if nothing after the context sees the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto.s3.models
import pytest
from moto import mock_aws

from benchmarks.common import fast_moto

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def test_s3_answers_as_before_and_its_url_map_is_restored(aws: None) -> None:
    backend: Any = moto.s3.models.S3Backend
    original = backend.__dict__["_url_module"]
    s3 = boto3.client("s3", region_name=REGION)
    with fast_moto():
        s3.create_bucket(Bucket="widgets")
        s3.put_object(Bucket="widgets", Key="images/w 1.jpg", Body=b"\xff\xd8 a widget")
        assert s3.get_object(Bucket="widgets", Key="images/w 1.jpg", Range="bytes=0-1")["Body"].read() == (
            b"\xff\xd8"
        )
        assert backend.__dict__["_url_module"] is not original
    assert backend.__dict__["_url_module"] is original
    assert s3.head_object(Bucket="widgets", Key="images/w 1.jpg")["ContentLength"] == 11
