"""Fixtures for the pipeline on moto (in-process `mock_aws`): clients, and the deployed `World`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from inspector.local import provision
from tests.functional.lined import NAME as LINED
from tests.functional.lined import deployment as lined_deployment
from tests.functional.world import (
    MAX_RECEIVE_COUNT,
    REGION,
    World,
    enforce_copy_source_if_match,
    provision_stack,
    world_on,
)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so that nothing can reach a real AWS account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(autouse=True)
def inspector_logging() -> Iterator[None]:
    """`handler` configures the `inspector` logger for Lambda (own handler, no propagation): undo it."""
    logger = logging.getLogger("inspector")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture(scope="session")
def boto_session() -> boto3.Session:
    """One session for the whole run: it loads each service model once (a new one per test costs ~0.1 s)."""
    return boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        region_name=REGION,
    )


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None, boto_session: boto3.Session) -> Any:
    return boto_session.client("s3")


@pytest.fixture
def sqs(aws: None, boto_session: boto3.Session) -> Any:
    return boto_session.client("sqs")


@pytest.fixture
def sns(aws: None, boto_session: boto3.Session) -> Any:
    return boto_session.client("sns")


@pytest.fixture
def rekognition(aws: None, boto_session: boto3.Session) -> Any:
    return boto_session.client("rekognition")


@pytest.fixture
def lined(boto_session: boto3.Session, s3: Any, sqs: Any, sns: Any, rekognition: Any) -> Iterator[World]:
    """The stack of `tests.functional.lined.deployment()`: two lines and the default one, criteria seeded."""
    provisioned = provision(boto_session, lined_deployment(), name=LINED, visibility_timeout_seconds=0)
    world = world_on(provisioned, boto_session, s3=s3, sqs=sqs, sns=sns, rekognition=rekognition)
    yield world
    for processor in world.processors:
        processor.close()


@pytest.fixture
def world(boto_session: boto3.Session, s3: Any, sqs: Any, sns: Any, rekognition: Any) -> Iterator[World]:
    """The stack as `inspector.local.provision` makes it: bucket -> queue (redrive to a DLQ after 3
    receives) -> topic with the QC group's email subscription; the s3:TestEvent taken off the queue."""
    provisioned = provision_stack(boto_session, max_receive_count=MAX_RECEIVE_COUNT)
    enforce_copy_source_if_match(s3)
    world = world_on(provisioned, boto_session, s3=s3, sqs=sqs, sns=sns, rekognition=rekognition)
    yield world
    # A record still running at an invocation's deadline goes on in the pool: let it end inside the mock,
    # never against real AWS.
    for processor in world.processors:
        processor.close()
