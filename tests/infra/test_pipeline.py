"""The InspectionPipeline component, declared under Pulumi mocks: every hardening property, asserted."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra import policies
from infra.config import load
from infra.pipeline import HANDLER, InspectionPipeline, InspectionPipelineArgs
from inspector.deployment import DLQ_RETENTION_SECONDS
from inspector.settings import Settings
from tests.infra.conftest import ACCOUNT, REGION, Stack, run_under_mocks

CUSTOM_MODEL = "arn:aws:rekognition:eu-west-1:123456789012:project/widgets/version/widgets.2026-11-01/1"
CONFIG = {
    "criteria": json.dumps(
        {"minConfidence": 90, "require": [{"label": "Widget"}], "forbid": [{"label": "Rust"}]}
    ),
    "notify": json.dumps(
        [
            {"email": "leads@example.com", "only": ["FAIL", "REJECTED"]},
            {"email": "audit@example.com"},
            {"email": "manager@example.com", "immediate": False, "digest": True},
            {"email": "qc@example.com", "only": ["FAIL", "REVIEW"], "digest": True},
            {"email": "all@example.com", "digest": True},
        ]
    ),
    "opsNotify": json.dumps(["oncall@example.com"]),
    "glacierAfterDays": "45",
    "timeoutSeconds": "90",
    "memoryMb": "1024",
    "batchSize": "8",
    "batchingWindowSeconds": "3",
    "maxConcurrency": "7",
    "maxReceiveCount": "4",
    "logRetentionDays": "60",
    "oldestMessageAlarmSeconds": "1200",
}


LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def declare(values: dict[str, str], archive: pulumi.Archive) -> Stack:
    config = load(values)

    def program() -> Any:
        pipeline = InspectionPipeline("inspector", InspectionPipelineArgs(config=config, code=archive))
        return pulumi.Output.all(pipeline.bucket_name, pipeline.queue_url, pipeline.function_name)

    return run_under_mocks(program)


@pytest.fixture
def stack(fake_archive: pulumi.Archive) -> Stack:
    return declare(CONFIG, fake_archive)


@pytest.fixture
def custom_stack(fake_archive: pulumi.Archive) -> Stack:
    return declare({**CONFIG, "detector": "custom-labels", "customLabelsArn": CUSTOM_MODEL}, fake_archive)


# --- bucket ------------------------------------------------------------------------------------------


def test_the_component_has_the_documented_type_token(stack: Stack):
    assert "inspector" == stack.one("inspector:index:InspectionPipeline").name


@pytest.mark.parametrize("prefix", ["inspector", "inspector-access-logs"], ids=["images", "access logs"])
def test_bucket_blocks_every_kind_of_public_access(stack: Stack, prefix: str):
    block = stack.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{prefix}-public-access"
    ).inputs

    assert (True, True, True, True) == (
        block["blockPublicAcls"],
        block["blockPublicPolicy"],
        block["ignorePublicAcls"],
        block["restrictPublicBuckets"],
    )


@pytest.mark.parametrize("prefix", ["inspector", "inspector-access-logs"], ids=["images", "access logs"])
def test_bucket_owner_is_enforced(stack: Stack, prefix: str):
    controls = stack.one(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{prefix}-ownership"
    ).inputs

    assert "BucketOwnerEnforced" == controls["rule"]["objectOwnership"]


@pytest.mark.parametrize("prefix", ["inspector", "inspector-access-logs"], ids=["images", "access logs"])
def test_bucket_is_encrypted_at_rest(stack: Stack, prefix: str):
    encryption = stack.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        f"{prefix}-encryption",
    ).inputs

    assert "AES256" == encryption["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]


def test_bucket_policy_denies_requests_without_tls(stack: Stack):
    policy = json.loads(stack.one("aws:s3/bucketPolicy:BucketPolicy", "inspector-tls-only").inputs["policy"])

    [statement] = policy["Statement"]
    assert "Deny" == statement["Effect"]
    assert {"Bool": {"aws:SecureTransport": "false"}} == statement["Condition"]
    bucket_arn = statement["Resource"][0]
    assert [bucket_arn, f"{bucket_arn}/*"] == statement["Resource"]


def test_lifecycle_sends_analyzed_images_to_glacier_after_the_configured_days(stack: Stack):
    rules = stack.one(LIFECYCLE, "inspector-lifecycle").inputs["rules"]

    [glacier] = [r for r in rules if "transitions" in r]
    assert {"prefix": "analyzed/"} == glacier["filter"]
    assert [{"days": 45.0, "storageClass": "GLACIER"}] == glacier["transitions"]
    assert "Enabled" == glacier["status"]


def test_bucket_keeps_every_version_and_its_lifecycle_waits_for_versioning(stack: Stack):
    versioning = stack.one("aws:s3/bucketVersioning:BucketVersioning")
    assert {"status": "Enabled"} == versioning.inputs["versioningConfiguration"]
    lifecycle = stack.one(LIFECYCLE, "inspector-lifecycle")
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}

    # A filed original's bytes expire after originalsRetentionDays; records and filed copies never do.
    originals = rules["expire-filed-originals"]
    assert {"prefix": "images/"} == originals["filter"]
    assert {"noncurrentDays": 30.0} == originals["noncurrentVersionExpiration"]
    assert {"expiredObjectDeleteMarker": True} == originals["expiration"]
    assert [{"noncurrentDays": 45.0, "storageClass": "GLACIER"}] == rules["analyzed-to-glacier"][
        "noncurrentVersionTransitions"
    ]
    assert not any("results/" in str(r.get("filter")) for r in rules.values())


def test_lifecycle_aborts_incomplete_multipart_uploads(stack: Stack):
    rules = stack.one(LIFECYCLE, "inspector-lifecycle").inputs["rules"]

    [abort] = [r for r in rules if "abortIncompleteMultipartUpload" in r]
    assert 7.0 == abort["abortIncompleteMultipartUpload"]["daysAfterInitiation"]


def test_bucket_may_be_destroyed_non_empty_only_when_configured(fake_archive: pulumi.Archive):
    kept = declare(CONFIG, fake_archive).of_type("aws:s3/bucket:Bucket")
    disposable = declare({**CONFIG, "forceDestroy": "true"}, fake_archive).of_type("aws:s3/bucket:Bucket")

    assert 2 == len(kept) == len(disposable)  # the images and their access logs
    assert {False} == {b.inputs["forceDestroy"] for b in kept}
    assert {True} == {b.inputs["forceDestroy"] for b in disposable}


# --- queues --------------------------------------------------------------------------------------------


def test_queue_visibility_timeout_is_six_times_the_function_timeout(stack: Stack):
    queue = stack.one("aws:sqs/queue:Queue", "inspector-queue").inputs
    function = stack.one("aws:lambda/function:Function").inputs

    assert 90.0 == function["timeout"]
    assert 6 * function["timeout"] == queue["visibilityTimeoutSeconds"]


def test_queue_redrives_to_the_dlq_after_max_receive_count(stack: Stack):
    queue = stack.one("aws:sqs/queue:Queue", "inspector-queue").inputs

    redrive = json.loads(queue["redrivePolicy"])
    assert 4 == redrive["maxReceiveCount"]
    assert redrive["deadLetterTargetArn"].endswith("inspector-dlq-0a1b2c3")


def test_dlq_keeps_messages_14_days(stack: Stack):
    dlq = stack.one("aws:sqs/queue:Queue", "inspector-dlq").inputs

    assert float(14 * 24 * 3600) == dlq["messageRetentionSeconds"] == DLQ_RETENTION_SECONDS


@pytest.mark.parametrize("queue", ["inspector-queue", "inspector-dlq"])
def test_both_queues_are_encrypted(stack: Stack, queue: str):
    assert stack.one("aws:sqs/queue:Queue", queue).inputs["sqsManagedSseEnabled"] is True


def test_queue_policy_lets_only_s3_for_this_bucket_and_account_send(stack: Stack):
    policy = json.loads(stack.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    bucket_arn = "arn:aws:s3:::inspector-bucket-0a1b2c3"

    [statement] = policy["Statement"]
    assert {"Service": "s3.amazonaws.com"} == statement["Principal"]
    assert "sqs:SendMessage" == statement["Action"]
    assert {"aws:SourceArn": bucket_arn} == statement["Condition"]["ArnEquals"]
    assert {"aws:SourceAccount": ACCOUNT} == statement["Condition"]["StringEquals"]


def test_bucket_notification_watches_only_the_images_prefix_for_created_objects(stack: Stack):
    notification = stack.one("aws:s3/bucketNotification:BucketNotification").inputs

    [queue] = notification["queues"]
    assert "images/" == queue["filterPrefix"]
    assert ["s3:ObjectCreated:*"] == queue["events"]
    assert "filterSuffix" not in queue


def test_bucket_notification_is_declared_after_the_queue_policy(stack: Stack):
    order = [r.typ for r in stack.resources]

    assert order.index("aws:sqs/queuePolicy:QueuePolicy") < order.index(
        "aws:s3/bucketNotification:BucketNotification"
    )


# --- function --------------------------------------------------------------------------------------------


def test_function_runs_python_3_13_on_arm64_by_default(stack: Stack):
    function = stack.one("aws:lambda/function:Function").inputs

    assert ("python3.13", ["arm64"], HANDLER) == (
        function["runtime"],
        function["architectures"],
        function["handler"],
    )
    assert 1024.0 == function["memorySize"]


def test_function_runtime_and_architecture_are_configurable(fake_archive: pulumi.Archive):
    values = {**CONFIG, "architecture": "x86_64", "pythonVersion": "3.12"}
    function = declare(values, fake_archive).one("aws:lambda/function:Function").inputs

    assert ("python3.12", ["x86_64"]) == (function["runtime"], function["architectures"])


def test_function_environment_is_the_settings_contract_and_reads_back_as_settings(stack: Stack):
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]

    settings = Settings.from_env(variables)
    assert "__all__" == variables["PYDANTIC_DISABLE_PLUGINS"]
    assert "inspector-bucket-0a1b2c3" == settings.bucket
    assert settings.topic_arn.endswith("inspector-verdicts-0a1b2c3")
    # Criteria are live: none ride in the environment; the default line's seed is in the store.
    assert (None, "criteria/") == (settings.criteria, settings.criteria_prefix)
    assert "INSPECTOR_CRITERIA" not in variables
    seed = json.loads(
        stack.one("aws:s3/bucketObjectv2:BucketObjectv2", "inspector-criteria-seed-default").inputs["content"]
    )
    assert load(CONFIG).criteria.fingerprint == seed["fingerprint"]
    assert 8 == settings.max_workers


def test_function_logs_to_its_own_log_group_with_retention(stack: Stack):
    group = stack.one("aws:cloudwatch/logGroup:LogGroup").inputs
    function = stack.one("aws:lambda/function:Function").inputs

    assert 60.0 == group["retentionInDays"]
    assert group["name"] == function["loggingConfig"]["logGroup"]


def test_event_source_mapping_reports_partial_failures_and_caps_concurrency(stack: Stack):
    mapping = stack.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs

    assert ["ReportBatchItemFailures"] == mapping["functionResponseTypes"]
    assert (8.0, 3.0, 7.0) == (
        mapping["batchSize"],
        mapping["maximumBatchingWindowInSeconds"],
        mapping["scalingConfig"]["maximumConcurrency"],
    )
    assert mapping["eventSourceArn"].endswith("inspector-queue-0a1b2c3")


# --- IAM -------------------------------------------------------------------------------------------------


def _function_policy(stack: Stack) -> dict[str, Any]:
    return json.loads(stack.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])


def _grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        for action in statement["Action"]:
            grants.setdefault(action, set()).update([resources] if isinstance(resources, str) else resources)
    return grants


def test_function_role_is_assumed_by_lambda_only(stack: Stack):
    trust = json.loads(stack.one("aws:iam/role:Role").inputs["assumeRolePolicy"])

    assert [{"Service": "lambda.amazonaws.com"}] == [s["Principal"] for s in trust["Statement"]]


def test_function_policy_grants_exactly_the_least_privileges(stack: Stack):
    bucket = "arn:aws:s3:::inspector-bucket-0a1b2c3"
    grants = _grants(_function_policy(stack))

    assert {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
        "s3:PutObject",
        "s3:DeleteObject",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sns:Publish",
        "rekognition:DetectLabels",
    } == set(grants)
    # Originals and superseded copies (delete markers on the versioned bucket); never a record.
    assert {f"{bucket}/images/*", f"{bucket}/analyzed/*"} == grants["s3:DeleteObject"]
    assert {f"{bucket}/images/*"} == grants["s3:GetObjectVersion"]  # Rekognition's S3Object.Version
    # The filed copies, the records and their daily copies (for the reports' Athena table).
    assert {f"{bucket}/{p}/*" for p in ("analyzed", "rejected", "results", "daily")} == grants["s3:PutObject"]
    assert {f"{bucket}/{p}/*" for p in ("images", "results", "analyzed", "rejected", "criteria")} == grants[
        "s3:GetObject"
    ]
    assert {bucket} == grants["s3:ListBucket"]
    assert {"*"} == grants["rekognition:DetectLabels"]
    assert all(r.endswith("inspector-verdicts-0a1b2c3") for r in grants["sns:Publish"])
    assert all(r.endswith("inspector-queue-0a1b2c3") for r in grants["sqs:ReceiveMessage"])


def test_detect_custom_labels_is_granted_only_on_the_configured_model(stack: Stack, custom_stack: Stack):
    assert "rekognition:DetectCustomLabels" not in _grants(_function_policy(stack))
    assert {CUSTOM_MODEL} == _grants(_function_policy(custom_stack))["rekognition:DetectCustomLabels"]
    variables = custom_stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert ("custom-labels", CUSTOM_MODEL) == (
        variables["INSPECTOR_DETECTOR"],
        variables["INSPECTOR_CUSTOM_LABELS_ARN"],
    )


@pytest.mark.parametrize(
    ("model", "resource"),
    [
        ("models/line-1.npz", "arn:aws:s3:::inspector-bucket-0a1b2c3/models/line-1.npz"),
        ("s3://shared-models/widgets/w.npz", "arn:aws:s3:::shared-models/widgets/w.npz"),
    ],
    ids=["key-in-the-bucket", "s3-uri-elsewhere"],
)
def test_the_reference_model_is_readable_and_nothing_more(
    stack: Stack, fake_archive: pulumi.Archive, model: str, resource: str
):
    criteria = '{"forbid": [{"label": "Anomaly", "minConfidence": 50}]}'
    reference = declare(
        {**CONFIG, "criteria": criteria, "detector": "reference", "referenceModel": model}, fake_archive
    )
    bucket = "arn:aws:s3:::inspector-bucket-0a1b2c3"
    plain, granted = _grants(_function_policy(stack)), _grants(_function_policy(reference))
    # One object more to read; evidence images go under results/, which the function already writes.
    assert {resource} == granted["s3:GetObject"] - plain["s3:GetObject"]
    assert set(plain) == set(granted)
    assert (
        plain["s3:PutObject"]
        == granted["s3:PutObject"]
        == {f"{bucket}/{p}/*" for p in ("analyzed", "rejected", "results", "daily")}
    )
    variables = reference.one("aws:lambda/function:Function").inputs["environment"]["variables"]
    assert ("reference", model, "true") == (
        variables["INSPECTOR_DETECTOR"],
        variables["INSPECTOR_REFERENCE_MODEL"],
        variables["INSPECTOR_EVIDENCE"],
    )


def test_no_iam_document_allows_a_wildcard_action(stack: Stack, custom_stack: Stack):
    documents = [
        r.inputs[key]
        for s in (stack, custom_stack)
        for r in s.resources
        for key in ("policy", "assumeRolePolicy")
        if isinstance(r.inputs.get(key), str) and r.typ not in RESOURCE_POLICIES_WITH_A_WILDCARD
    ]

    assert len(documents) >= 6  # role policy, trust policy and queue policy of each stack
    assert [] == [a for d in documents for a in policies.wildcard_actions(d)]


RESOURCE_POLICIES_WITH_A_WILDCARD = {"aws:s3/bucketPolicy:BucketPolicy", "aws:kms/key:Key"}


def test_the_bucket_policies_only_wildcard_is_the_tls_deny(stack: Stack):
    # A Deny of every S3 action without TLS is the strict form AWS recommends; it grants nothing.
    bucket_policies = stack.of_type("aws:s3/bucketPolicy:BucketPolicy")

    assert 2 == len(bucket_policies)
    for declared in bucket_policies:
        statements = json.loads(declared.inputs["policy"])["Statement"]
        assert ["s3:*"] == policies.wildcard_actions(declared.inputs["policy"])
        assert ["Deny"] == [s["Effect"] for s in statements if s["Action"] == "s3:*"]


def test_the_kms_key_policys_wildcards_are_the_accounts_administration_and_cloudwatchs_data_keys(
    stack: Stack,
):
    # AWS's default key policy statement: the account administers its key through IAM (no IAM policy of
    # the stack grants a kms action); without it the key could not even be scheduled for deletion. And
    # GenerateDataKey* (with and without plaintext), as AWS documents for alarms on an encrypted topic.
    key_policy = stack.one("aws:kms/key:Key", "inspector-ops-key").inputs["policy"]
    principals = {
        action: statement["Principal"]
        for statement in json.loads(key_policy)["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    assert ["kms:*", "kms:GenerateDataKey*"] == policies.wildcard_actions(key_policy)
    assert {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} == principals["kms:*"]
    assert {"Service": "cloudwatch.amazonaws.com"} == principals["kms:GenerateDataKey*"]


# --- notifications and alarms --------------------------------------------------------------------------


def test_verdict_topic_is_encrypted(stack: Stack):
    assert "alias/aws/sns" == stack.one("aws:sns/topic:Topic", "inspector-verdicts").inputs["kmsMasterKeyId"]


def test_each_recipient_gets_an_email_subscription_with_its_verdict_filter(stack: Stack):
    subscriptions = {
        s.inputs["endpoint"]: s.inputs
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("inspector-notify-")
    }

    assert {
        "leads@example.com",
        "audit@example.com",
        "manager@example.com",
        "qc@example.com",
        "all@example.com",
    } == set(subscriptions)
    leads = subscriptions["leads@example.com"]
    assert "email" == leads["protocol"]
    assert {"verdict": ["FAIL", "REJECTED"]} == json.loads(leads["filterPolicy"])
    assert "MessageAttributes" == leads["filterPolicyScope"]
    # Every verdict, no digest: everything but the digests.
    assert {"kind": [{"anything-but": ["digest"]}]} == json.loads(
        subscriptions["audit@example.com"]["filterPolicy"]
    )


@pytest.mark.parametrize(
    ("email", "policy"),
    [
        pytest.param("manager@example.com", {"kind": ["digest"]}, id="digest-only"),
        pytest.param(
            "qc@example.com",
            {"$or": [{"verdict": ["FAIL", "REVIEW"]}, {"kind": ["digest"]}]},
            id="fail-and-review-plus-digest",
        ),
        pytest.param("all@example.com", None, id="everything"),
    ],
)
def test_recipients_choose_immediate_emails_the_digest_or_both(stack: Stack, email: str, policy):
    (subscription,) = [
        s.inputs
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs.get("endpoint") == email
    ]

    assert policy == (json.loads(subscription["filterPolicy"]) if "filterPolicy" in subscription else None)


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric", "threshold"),
    [
        pytest.param("inspector-dlq-not-empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0, id="dlq"),
        pytest.param("inspector-oldest-message", "AWS/SQS", "ApproximateAgeOfOldestMessage", 1200, id="age"),
        pytest.param("inspector-function-errors", "AWS/Lambda", "Errors", 0, id="errors"),
        pytest.param("inspector-function-throttles", "AWS/Lambda", "Throttles", 0, id="throttles"),
    ],
)
def test_alarms_notify_the_ops_topic(stack: Stack, alarm: str, namespace: str, metric: str, threshold: float):
    declared = stack.one("aws:cloudwatch/metricAlarm:MetricAlarm", alarm).inputs
    ops_topic = f"arn:aws:sns:eu-west-1:{ACCOUNT}:inspector-ops-0a1b2c3"

    assert (namespace, metric, float(threshold)) == (
        declared["namespace"],
        declared["metricName"],
        declared["threshold"],
    )
    assert [ops_topic] == declared["alarmActions"]
    ops = [s.inputs["endpoint"] for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")]
    assert "oncall@example.com" in ops


def test_dlq_alarm_watches_the_dlq_and_age_alarm_the_main_queue(stack: Stack):
    dlq_alarm = stack.one("aws:cloudwatch/metricAlarm:MetricAlarm", "inspector-dlq-not-empty").inputs
    age_alarm = stack.one("aws:cloudwatch/metricAlarm:MetricAlarm", "inspector-oldest-message").inputs

    assert "inspector-dlq-0a1b2c3" == dlq_alarm["dimensions"]["QueueName"]
    assert "inspector-queue-0a1b2c3" == age_alarm["dimensions"]["QueueName"]


def test_every_child_is_named_from_the_component(stack: Stack):
    children = [r for r in stack.resources if r.typ != "inspector:index:InspectionPipeline"]

    assert len(children) >= 20
    assert [] == [r.name for r in children if not r.name.startswith("inspector-")]


# --- the reviewer policy ------------------------------------------------------------------------------


def test_the_reviewer_policy_grants_exactly_what_review_needs_and_differs_from_the_functions(stack: Stack):
    bucket = "arn:aws:s3:::inspector-bucket-0a1b2c3"
    declared = stack.one("aws:iam/policy:Policy", "inspector-reviewer")
    assert declared.name == "inspector-reviewer"
    policy = json.loads(declared.inputs["policy"])
    grants = _grants(policy)

    assert {
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:GetBucketVersioning",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "sns:Publish",
    } == set(grants)
    # Records, filed images, and a decided record's daily copy (which the reports read).
    written = {f"{bucket}/results/*", f"{bucket}/analyzed/*", f"{bucket}/daily/*"}
    assert written == grants["s3:PutObject"] == grants["s3:GetObject"]
    # Re-filing, and the compaction marker of a decided record's day; never a record, never history.
    assert {f"{bucket}/analyzed/*", f"{bucket}/compact/dt=*/_SUCCESS"} == grants["s3:DeleteObject"]
    assert "s3:DeleteObjectVersion" not in grants
    assert not any("images/" in r or "rejected/" in r for rs in grants.values() for r in rs)
    (listing,) = [s for s in policy["Statement"] if "s3:ListBucket" in s["Action"]]
    assert {"StringLike": {"s3:prefix": ["analyzed/*", "results/*", "daily/*"]}} == listing["Condition"]
    assert all(r.endswith("inspector-verdicts-0a1b2c3") for r in grants["sns:Publish"])
    assert [] == policies.wildcard_actions(declared.inputs["policy"])
    function = _grants(_function_policy(stack))
    assert "rekognition:DetectLabels" in function
    assert not {"rekognition:DetectLabels", "sqs:ReceiveMessage"} & set(grants)


# --- SnapStart -------------------------------------------------------------------------------------------


FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:inspector-function-0a1b2c3"


def test_by_default_the_queue_invokes_the_unpublished_function_without_snapstart(stack: Stack):
    function = stack.one("aws:lambda/function:Function").inputs
    mapping = stack.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs

    assert not function.get("publish")
    assert "snapStart" not in function
    assert [] == stack.of_type("aws:lambda/alias:Alias")
    assert FUNCTION_ARN == mapping["functionName"]


def test_with_snapstart_each_deployment_publishes_a_snapshotted_version_the_queue_invokes_by_alias(
    fake_archive: pulumi.Archive,
):
    stack = declare({**CONFIG, "snapStart": "true"}, fake_archive)
    function = stack.one("aws:lambda/function:Function").inputs
    alias = stack.one("aws:lambda/alias:Alias").inputs
    mapping = stack.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs

    assert True is function["publish"]
    assert {"applyOn": "PublishedVersions"} == function["snapStart"]
    assert ("live", "inspector-function-0a1b2c3", "1") == (
        alias["name"],
        alias["functionName"],
        alias["functionVersion"],
    )
    assert (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inspector-function-0a1b2c3:live"
        == mapping["functionName"]
    )
