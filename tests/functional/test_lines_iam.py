"""The criteria publisher policy and the function's policy, enforced by moto's IAM: a publisher can publish,
list and roll back, but never touch a seed or delete history; the function reads criteria, never writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import enable_iam_authentication

from infra import policies
from inspector.cli import main
from tests.functional.lined import BUCKET
from tests.functional.world import REGION, World

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


def assumed(session: Any, name: str, policy: str) -> dict[str, str]:
    """Credentials of a new role holding exactly `policy`."""
    iam, sts = session.client("iam"), session.client("sts")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=policy)
    credentials = sts.assume_role(RoleArn=arn, RoleSessionName=f"{name}-session")["Credentials"]
    return {
        "AWS_SECURITY_TOKEN": credentials["SessionToken"],
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@pytest.fixture
def publisher(lined: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    bucket_arn = f"arn:aws:s3:::{lined.bucket}"
    document = policies.criteria_publisher_policy(
        bucket_arn=bucket_arn, criteria_prefix="criteria/", results_prefix="results/"
    )
    for name, value in assumed(lined.session, "qc-publisher", document).items():
        monkeypatch.setenv(name, value)
    with enable_iam_authentication():
        yield boto3.client("s3", region_name=REGION)


def test_a_publisher_may_publish_list_and_roll_back(publisher: Any, tmp_path: Any, capsys: Any) -> None:
    criteria = tmp_path / "new.yaml"
    criteria.write_text("minConfidence: 90\nrequire: [{label: Widget}]\nforbid: [{label: Dent}]\n")

    assert 0 == main(["criteria", "publish", str(criteria), "--line", "line-2", "--bucket", BUCKET, "--yes"])
    assert 0 == main(["criteria", "history", "--line", "line-2", "--bucket", BUCKET])
    assert 0 == main(["criteria", "rollback", "--line", "line-2", "--bucket", BUCKET, "--yes"])

    out = capsys.readouterr().out
    assert "published version 1 of line 'line-2'" in out
    assert "assumed-role/qc-publisher/qc-publisher-session" in out
    assert "published version 2 of line 'line-2'" in out


@pytest.mark.parametrize(
    ("operation", "key"),
    [
        ("put", "criteria/line-2/seed.json"),
        ("put", "criteria/lines.json"),
        ("put", "results/line-2/forged.jpg.json"),
        ("put", "images/line-2/w.jpg"),
        ("delete", "criteria/line-2/seed.json"),
    ],
    ids=["seed", "line-table", "a-result-record", "an-upload", "delete-history"],
)
def test_a_publisher_may_not_write_what_a_deploy_or_the_function_owns(
    publisher: Any, operation: str, key: str
) -> None:
    call = publisher.put_object if operation == "put" else publisher.delete_object
    body = {"Body": b"{}"} if operation == "put" else {}

    with pytest.raises(ClientError) as denied:
        call(Bucket=BUCKET, Key=key, **body)

    assert "AccessDenied" == denied.value.response["Error"]["Code"]


def test_the_function_reads_criteria_and_cannot_publish(
    lined: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket_arn = f"arn:aws:s3:::{lined.bucket}"
    document = policies.function_policy(
        bucket_arn=bucket_arn,
        images_prefix="images/",
        analyzed_prefix="analyzed/",
        rejected_prefix="rejected/",
        results_prefix="results/",
        queue_arn=lined.queue_arn,
        topic_arn=lined.topic_arn,
        log_group_arn="arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/inspector",
        criteria_prefix="criteria/",
    )
    for name, value in assumed(lined.session, "inspector-function", document).items():
        monkeypatch.setenv(name, value)
    with enable_iam_authentication():
        s3 = boto3.client("s3", region_name=REGION)
        seed = s3.get_object(Bucket=BUCKET, Key="criteria/line-2/seed.json")["Body"].read()
        with pytest.raises(ClientError) as denied:
            s3.put_object(Bucket=BUCKET, Key="criteria/line-2/current.json", Body=seed)

    assert "line-2" == json.loads(seed)["line"]
    assert "AccessDenied" == denied.value.response["Error"]["Code"]
