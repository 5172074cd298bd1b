"""Helpers shared by the test suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

EVENTS = Path(__file__).parent / "events"
EXAMPLES = Path(__file__).parent.parent / "examples"


def event_text(name: str) -> str:
    """The raw text of a fixture under tests/events/, e.g. an SQS message body."""
    return (EVENTS / name).read_text(encoding="utf-8")


def load_event(name: str) -> Any:
    """A fixture under tests/events/, parsed from JSON."""
    return json.loads(event_text(name))


# Every way boto3 finds credentials without a file: the environment's keys, profiles, container and web
# identity providers.
AWS_CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


def without_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Leave boto3 no credentials to find: none in the environment, empty config and credentials files,
    no probe of the instance metadata service, no default session kept from an earlier test."""
    for variable in AWS_CREDENTIAL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
