"""`handler.lambda_handler` as Lambda runs it: settings from INSPECTOR_* variables, moto's Rekognition."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import handler
from inspector import constants as c
from inspector.engine import Verdict
from inspector.errors import SettingsError
from tests.functional.world import BUCKET, World, jpeg


@pytest.fixture
def lambda_env(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's environment as the Pulumi program sets it, and a fresh container."""
    monkeypatch.setenv(c.ENV_TOPIC_ARN, world.topic_arn)
    monkeypatch.setenv(
        c.ENV_CRITERIA, json.dumps({"require": [{"label": "Mobile Phone", "minConfidence": 95}]})
    )
    monkeypatch.setenv(c.ENV_BUCKET, BUCKET)
    monkeypatch.setenv(c.ENV_DETECTOR, "rekognition")
    handler.reset()
    yield
    handler.reset()


@pytest.mark.usefixtures("lambda_env")
def test_the_handler_inspects_with_settings_from_the_environment(world: World) -> None:
    world.upload("images/line-3/phone.jpg", jpeg())
    event = world.deliver()

    response = handler.lambda_handler(event, None)

    assert {"batchItemFailures": []} == response
    assert ["analyzed/passed/line-3/phone.jpg", "results/line-3/phone.jpg.json"] == world.keys()
    record = world.record("images/line-3/phone.jpg")
    assert Verdict.PASS == record.verdict
    assert "rekognition" == record.detector
    (email,) = world.emails()
    assert "PASS" == email.attributes["verdict"]


@pytest.mark.usefixtures("lambda_env")
def test_a_warm_container_keeps_its_settings_until_reset(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.upload("images/a.jpg", jpeg())
    assert {"batchItemFailures": []} == handler.lambda_handler(world.deliver(), None)

    monkeypatch.delenv(c.ENV_TOPIC_ARN)  # read once per container: a warm one does not notice
    world.upload("images/b.jpg", jpeg())
    assert {"batchItemFailures": []} == handler.lambda_handler(world.deliver(), None)

    handler.reset()
    with pytest.raises(SettingsError, match=c.ENV_TOPIC_ARN):
        handler.lambda_handler(world.deliver(), None)
    assert 2 == len(world.emails())


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        pytest.param(c.ENV_TOPIC_ARN, None, "INSPECTOR_TOPIC_ARN is required", id="no-topic"),
        pytest.param(c.ENV_BUCKET, None, "INSPECTOR_BUCKET is required", id="no-bucket"),
        pytest.param(
            c.ENV_CRITERIA,
            "{not json",
            "INSPECTOR_CRITERIA: criteria document is not valid JSON",
            id="bad-json",
        ),
        pytest.param(c.ENV_DETECTOR, "opencv", "INSPECTOR_DETECTOR", id="unknown-detector"),
    ],
)
@pytest.mark.usefixtures("lambda_env")
def test_a_missing_or_bad_variable_fails_with_a_message_naming_it(
    world: World, monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    world.upload("images/w1.jpg", jpeg())

    with pytest.raises(SettingsError, match=message):
        handler.lambda_handler(world.deliver(), None)
    assert ["images/w1.jpg"] == world.keys()
