"""The stack's reviewer policy, enforced by moto's IAM: enough for the review commands, and nothing more."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.sns.responses import SNSResponse

from infra.policies import function_policy, reviewer_policy
from inspector.engine import Verdict
from inspector.notifier import SnsNotifier
from inspector.review.aws import desk as make_desk
from inspector.settings import Layout
from inspector.testing import FakeDetector
from tests.functional.world import (
    BUCKET,
    FAIL_LABELS,
    PASS_LABELS,
    REGION,
    REVIEW_LABELS,
    World,
    image_bytes,
    jpeg,
)

KEY = "images/line-1/w1.jpg"


@pytest.fixture(autouse=True)
def sns_names_its_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto authorizes every SNS action against resource "*", so a policy naming its topic (as AWS wants
    it) would be refused: make moto name the topic the request is about, as AWS does."""
    monkeypatch.setattr(
        SNSResponse, "_determine_resource", lambda self: self._get_param("TopicArn") or "*", raising=False
    )


@contextmanager
def iam_enforced() -> Iterator[None]:
    """moto checks every request against the caller's IAM policies from here on (set-up before was free)."""
    saved = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


@pytest.fixture
def reviewer(world: World) -> boto3.Session:
    """A session of someone who assumed a role holding only the reviewer policy."""
    world.upload(KEY, jpeg())
    world.run(world.processor(FakeDetector(default=REVIEW_LABELS)))
    iam = world.session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName="qc-reviewer", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    policy = reviewer_policy(
        bucket_arn=f"arn:aws:s3:::{BUCKET}",
        analyzed_prefix="analyzed/",
        results_prefix="results/",
        topic_arn=world.topic_arn,
    )
    iam.put_role_policy(RoleName="qc-reviewer", PolicyName="reviewer", PolicyDocument=policy)
    credentials = world.session.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ana")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def test_the_reviewer_policy_is_enough_to_list_decide_refile_announce_and_read_history(
    world: World, reviewer: boto3.Session
) -> None:
    desk = make_desk(
        Layout(),
        bucket=BUCKET,
        topic_arn=world.topic_arn,
        s3=reviewer.client("s3"),
        sns=reviewer.client("sns"),
        sts=reviewer.client("sts"),
    )

    with iam_enforced():
        assert [KEY] == [p.key for p in desk.queue()]
        outcome = desk.decide(KEY, Verdict.FAIL, note="dented")
        events = desk.history(KEY)
        versioned = desk.store.versioned()

    assert (outcome.moved, outcome.notified, versioned) == (True, True, True)
    assert outcome.decision.who.endswith(":assumed-role/qc-reviewer/ana")
    assert ["analyzed/failed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
    assert ["inspection", "decision"] == [e.kind for e in events]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        pytest.param("get_object", {"Key": KEY}, id="read-an-upload"),
        pytest.param("put_object", {"Key": "images/line-1/new.jpg", "Body": b"x"}, id="upload"),
        pytest.param("delete_object", {"Key": "results/line-1/w1.jpg.json"}, id="delete-a-record"),
        pytest.param(
            "delete_object", {"Key": "results/line-1/w1.jpg.json", "VersionId": "x"}, id="delete-history"
        ),
        # Listing images/ is refused by AWS through the s3:prefix condition, which moto does not evaluate
        # (tests/infra/test_pipeline.py checks that the condition is in the document).
    ],
)
def test_the_reviewer_policy_refuses_what_review_does_not_need(
    world: World, reviewer: boto3.Session, call: str, args: dict[str, Any]
) -> None:
    s3 = reviewer.client("s3")

    with iam_enforced(), pytest.raises(ClientError) as refused:
        getattr(s3, call)(Bucket=BUCKET, **args)

    assert "AccessDenied" == refused.value.response["Error"]["Code"]


def test_the_reviewer_cannot_announce_on_another_topic(world: World, reviewer: boto3.Session) -> None:
    other = world.sns.create_topic(Name="elsewhere")["TopicArn"]

    with iam_enforced(), pytest.raises(ClientError) as refused:
        reviewer.client("sns").publish(TopicArn=other, Message="x")

    assert "AccessDenied" == refused.value.response["Error"]["Code"]


def test_the_functions_policy_is_enough_to_file_a_re_upload_and_retire_the_earlier_copy(world: World) -> None:
    """The function's own policy (infra.policies), enforced: reading the inspected version, filing, and
    removing the earlier upload's copy under analyzed/, which it may now delete (a delete marker)."""
    iam = world.session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName="inspector-function", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    policy = function_policy(
        bucket_arn=f"arn:aws:s3:::{BUCKET}",
        images_prefix="images/",
        analyzed_prefix="analyzed/",
        rejected_prefix="rejected/",
        results_prefix="results/",
        queue_arn=f"arn:aws:sqs:{REGION}:123456789012:{BUCKET.removesuffix('-images')}-queue",
        topic_arn=world.topic_arn,
        log_group_arn=f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/lambda/inspector",
    )
    iam.put_role_policy(RoleName="inspector-function", PolicyName="function", PolicyDocument=policy)
    credentials = world.session.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="fn")[
        "Credentials"
    ]
    function = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    world.upload(KEY, image_bytes("JPEG", color=(40, 90, 200)))
    world.run(world.processor(FakeDetector(default=PASS_LABELS)))
    world.upload(KEY, image_bytes("JPEG", color=(200, 40, 40)))
    processor = world.processor(FakeDetector(default=FAIL_LABELS), s3=function.client("s3"))
    processor.inspector.notifier = SnsNotifier(world.topic_arn, function.client("sns"))
    event = world.deliver()

    with iam_enforced():
        response = processor.process(event)

    assert {"batchItemFailures": []} == response
    assert ["analyzed/failed/line-1/w1.jpg", "results/line-1/w1.jpg.json"] == world.keys()
