"""The function's settings for lines and live criteria: INSPECTOR_LINES, INSPECTOR_CRITERIA_PREFIX and the
refresh interval, read back from the environment and refused with the variable named."""

from __future__ import annotations

import json

import pytest

from inspector import constants as c
from inspector.criteria import Criteria
from inspector.deployment import Deployment
from inspector.errors import SettingsError
from inspector.lines import DetectorName, Line
from inspector.settings import Settings, environment_size

TOPIC = "arn:aws:sns:eu-west-1:123456789012:verdicts"
WIDGET = Criteria.from_document({"require": [{"label": "Widget"}]})
RUST = Criteria.from_document({"forbid": [{"label": "Rust"}]})


def live(**fields: object) -> Settings:
    return Settings.model_validate(
        {"topic_arn": TOPIC, "bucket": "widgets", "criteria_prefix": "criteria/", **fields}
    )


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ)
    return str(refused.value)


@pytest.mark.parametrize(
    "original",
    [
        Settings(
            topic_arn=TOPIC,
            bucket="widgets",
            criteria=WIDGET,
            lines=(Line(name="a", prefix="a/", criteria=RUST),),
        ),
        live(
            lines=(
                Line(name="a", prefix="a/"),
                Line(name="b", prefix="cams/b/", detectors=(DetectorName.REKOGNITION, DetectorName.LOCAL)),
            )
        ),
        live(criteria_refresh_seconds=5),
    ],
    ids=["fixed-criteria-per-line", "live-lines", "live-default-only"],
)
def test_lines_and_live_criteria_read_back_from_the_environment(original: Settings) -> None:
    assert original == Settings.from_env(original.to_env())


def test_live_settings_carry_no_criteria_in_the_environment() -> None:
    env = live(lines=(Line(name="a", prefix="a/"),)).to_env()

    assert c.ENV_CRITERIA not in env
    assert [{"name": "a", "prefix": "a/"}] == json.loads(env[c.ENV_LINES])
    assert "criteria/" == env[c.ENV_CRITERIA_PREFIX]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({c.ENV_CRITERIA: WIDGET.model_dump_json()}, "give one (fixed criteria, or live ones)"),
        ({c.ENV_LINES: "[{"}, f"{c.ENV_LINES}: not JSON"),
        ({c.ENV_LINES: '[{"name": "default"}]'}, "the default line is made of"),
        ({c.ENV_LINES: '[{"name": "a", "prefix": "x/"}, {"name": "b", "prefix": "x/y/"}]'}, "overlap"),
        ({c.ENV_LINES: '[{"name": "a", "prefix": "x"}]'}, f"{c.ENV_LINES}[0].prefix"),
        (
            {c.ENV_CRITERIA_REFRESH_SECONDS: "1"},
            f"{c.ENV_CRITERIA_REFRESH_SECONDS}: Input should be greater than or equal to 5",
        ),
        ({c.ENV_CRITERIA_REFRESH_SECONDS: "901"}, "less than or equal to 900"),
        ({c.ENV_CRITERIA_PREFIX: "results/"}, "overlap"),
    ],
    ids=[
        "both",
        "lines-not-json",
        "named-default",
        "overlap",
        "bad-prefix",
        "refresh-too-often",
        "refresh-too-rare",
        "store-over-results",
    ],
)
def test_bad_line_or_live_settings_are_refused_naming_the_variable(
    extra: dict[str, str], message: str
) -> None:
    environ = {c.ENV_TOPIC_ARN: TOPIC, c.ENV_BUCKET: "widgets", c.ENV_CRITERIA_PREFIX: "criteria/", **extra}

    assert message in refusal(environ)


def test_fixed_criteria_need_every_lines_criteria() -> None:
    environ = {
        c.ENV_TOPIC_ARN: TOPIC,
        c.ENV_BUCKET: "widgets",
        c.ENV_CRITERIA: WIDGET.model_dump_json(),
        c.ENV_LINES: '[{"name": "a", "prefix": "a/"}]',
    }

    assert "line 'a' has no criteria, and criteria are not live" in refusal(environ)


def test_neither_fixed_nor_live_criteria_is_named_as_missing() -> None:
    assert f"invalid settings: {c.ENV_CRITERIA} is required" == refusal(
        {c.ENV_TOPIC_ARN: TOPIC, c.ENV_BUCKET: "widgets"}
    )


def test_a_deployment_of_ten_lines_fits_lambdas_environment_with_room_to_spare() -> None:
    lines = [
        {"name": f"line-{i}", "prefix": f"plant/line-{i}/", "criteria": {"require": [{"label": "Widget"}]}}
        for i in range(10)
    ]
    deployment = Deployment.model_validate({"criteria": {"require": [{"label": "Widget"}]}, "lines": lines})

    env = deployment.settings(topic_arn=TOPIC, bucket="widgets").to_env()

    assert environment_size(env) < 2048
