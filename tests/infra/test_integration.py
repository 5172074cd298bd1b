"""Opt-in: deploy a throwaway stack to a real AWS account, inspect real images, destroy it.

Runs only with INSPECTOR_INTEGRATION=1, the Pulumi CLI on PATH and AWS credentials; it creates real,
billed resources (for a few minutes) in AWS_REGION (default eu-west-1). Never part of `make test` here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.conftest import REPO

REASONS = []
if os.environ.get("INSPECTOR_INTEGRATION") != "1":
    REASONS.append("set INSPECTOR_INTEGRATION=1 to deploy a real stack")
if shutil.which("pulumi") is None:
    REASONS.append("the Pulumi CLI is not on PATH")
if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
    REASONS.append("no AWS credentials in the environment")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(bool(REASONS), reason="; ".join(REASONS) or "enabled"),
]

REGION = os.environ.get("AWS_REGION", "eu-west-1")
VERDICT_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def deployed() -> Iterator[dict[str, Any]]:
    from pulumi import automation  # noqa: PLC0415 - only when the test runs

    stack = automation.create_or_select_stack(stack_name=f"it-{uuid.uuid4().hex[:8]}", work_dir=str(REPO))
    try:
        stack.set_config("aws:region", automation.ConfigValue(REGION))
        stack.set_config(
            "inspector:criteria",
            automation.ConfigValue(json.dumps({"minConfidence": 50, "quality": {"minSharpness": 0}})),
        )
        stack.set_config("inspector:forceDestroy", automation.ConfigValue("true"))
        outputs = stack.up(on_output=print).outputs
        yield {name: output.value for name, output in outputs.items()}
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack.name)


def test_an_uploaded_image_reaches_a_verdict_and_is_filed(deployed: dict[str, Any]):
    import boto3  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    s3 = boto3.client("s3", region_name=REGION)
    image = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").resize((320, 240)).save(image, "JPEG")
    key = f"{deployed['uploadPrefix']}it/w1.jpg"
    s3.put_object(Bucket=deployed["bucketName"], Key=key, Body=image.getvalue())

    deadline = time.monotonic() + VERDICT_TIMEOUT_SECONDS
    record = None
    while time.monotonic() < deadline and record is None:
        time.sleep(5)
        try:
            body = s3.get_object(Bucket=deployed["bucketName"], Key="results/it/w1.jpg.json")["Body"].read()
            record = json.loads(body)
        except s3.exceptions.NoSuchKey:
            continue

    assert record is not None, "no result record within the timeout"
    assert record["verdict"] in {"PASS", "FAIL", "REVIEW"}
    assert record.get("notified_at")
    listed = s3.list_objects_v2(Bucket=deployed["bucketName"], Prefix=deployed["uploadPrefix"])
    assert 0 == listed.get("KeyCount", 0)
