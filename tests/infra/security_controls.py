"""AWS Security Hub controls (Foundational Security Best Practices) as checks on a stack declared under mocks.

Each `Control` names the Security Hub control, the resource types it evaluates and a check that returns
one problem per failing resource (empty when the stack passes). `break_it` makes a copy of a stack that
must fail the check, so that no check can pass by checking nothing. The README's "Security Hub controls"
table lists the same controls with their status.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.infra.conftest import Declared, Stack

SUFFIX = "-0a1b2c3"  # the physical-name suffix both mocks give a resource

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
KEY = "aws:kms/key:Key"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
WORKGROUP = "aws:athena/workgroup:Workgroup"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
EVENT_BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"

# Lambda runtimes AWS supports (not deprecated) that this program can deploy (Deployment.python_version).
SUPPORTED_RUNTIMES = {"python3.12", "python3.13"}


def physical(resource: Declared) -> str:
    return f"{resource.name}{SUFFIX}"


def statements(document: str) -> list[dict[str, Any]]:
    found = json.loads(document)["Statement"]
    return found if isinstance(found, list) else [found]


def public_principal(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS", [])
        return "*" in ([aws] if isinstance(aws, str) else aws)
    return False


def side(stack: Stack, typ: str, owner: Declared, key: str = "bucket") -> list[Declared]:
    """The side resources of `typ` that configure `owner` (e.g. the public access block of a bucket)."""
    return [r for r in stack.of_type(typ) if r.inputs.get(key) == physical(owner)]


def log_targets(stack: Stack) -> set[str]:
    return {r.inputs["targetBucket"] for r in stack.of_type(LOGGING)}


Check = Callable[[Stack], Iterable[str]]


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    types: tuple[str, ...]
    check: Check
    break_it: Callable[[Stack], None]  # mutate a copy of the stack so that the check must fail
    production_only: bool = False  # a dev stack fails it by choice (the README says which and why)


def _s3_public_access(stack: Stack) -> Iterable[str]:
    for bucket in stack.of_type(BUCKET):
        blocks = side(stack, PUBLIC_ACCESS, bucket)
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        if not blocks or not all(blocks[0].inputs.get(flag) is True for flag in flags):
            yield f"{bucket.name}: bucket-level Block Public Access is not fully on"


def no_public_allow(typ: str) -> Check:
    """No Allow statement of the resource policies of `typ` (bucket, topic, key...) is open to everyone."""

    def check(stack: Stack) -> Iterable[str]:
        for resource in stack.of_type(typ):
            for statement in statements(resource.inputs["policy"]):
                if statement["Effect"] == "Allow" and public_principal(statement):
                    yield f"{resource.name}: {statement.get('Sid')} allows everyone"

    return check


def each(typ: str, fails: Callable[[dict[str, Any]], bool], problem: str) -> Check:
    """A check of each resource of `typ` on its own inputs: `fails(inputs)` names a failing one."""

    def check(stack: Stack) -> Iterable[str]:
        for resource in stack.of_type(typ):
            if fails(resource.inputs):
                yield f"{resource.name}: {problem}"

    return check


_sqs_encrypted = each(
    QUEUE, lambda i: not (i.get("sqsManagedSseEnabled") or i.get("kmsMasterKeyId")), "not encrypted at rest"
)
_sns_encrypted = each(TOPIC, lambda i: not i.get("kmsMasterKeyId"), "not encrypted with a KMS key")
_lambda_runtime = each(
    FUNCTION, lambda i: i.get("runtime") not in SUPPORTED_RUNTIMES, "not a supported runtime"
)
_kms_not_deleted = each(KEY, lambda i: i.get("isEnabled") is False, "disabled")
_kms_rotation = each(KEY, lambda i: i.get("enableKeyRotation") is not True, "rotation is off")
_alarm_actions = each(ALARM, lambda i: not i.get("alarmActions"), "no action in the ALARM state")
_alarm_actions_enabled = each(ALARM, lambda i: i.get("actionsEnabled") is False, "actions are deactivated")
# CloudWatch.16's default parameter (minRetentionTime): 365 days; "never expire" also complies.
MIN_LOG_RETENTION_DAYS = 365
_log_retention = each(
    LOG_GROUP,
    lambda i: 0 < (i.get("retentionInDays") or MIN_LOG_RETENTION_DAYS) < MIN_LOG_RETENTION_DAYS,
    f"kept less than {MIN_LOG_RETENTION_DAYS} days",
)
_athena_logging = each(
    WORKGROUP,
    lambda i: (i.get("configuration") or {}).get("publishCloudwatchMetricsEnabled") is not True,
    "does not publish CloudWatch metrics",
)
_athena_encrypted_and_enforced = each(
    WORKGROUP,
    lambda i: (
        not (
            (i.get("configuration") or {}).get("enforceWorkgroupConfiguration") is True
            and ((i.get("configuration") or {}).get("resultConfiguration") or {}).get(
                "encryptionConfiguration"
            )
        )
    ),
    "query results not encrypted, or the workgroup's settings can be overridden by a query",
)
# Actions that support no resource-level permission: "*" is the only resource AWS accepts for them.
RESOURCE_LESS_ACTIONS = {"rekognition:DetectLabels"}


def _iam_policies(stack: Stack) -> Iterable[tuple[Declared, dict[str, Any]]]:
    for policy in stack.of_type(ROLE_POLICY) + stack.of_type(MANAGED_POLICY):
        for statement in statements(policy.inputs["policy"]):
            yield policy, statement


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iam_no_service_wildcards(stack: Stack) -> Iterable[str]:
    for policy, statement in _iam_policies(stack):
        wild = [a for a in _listed(statement["Action"]) if a == "*" or a.endswith(":*")]
        if statement["Effect"] == "Allow" and wild:
            yield f"{policy.name}: {statement.get('Sid')} allows {wild}"


def _iam_no_star_resource_where_a_name_is_known(stack: Stack) -> Iterable[str]:
    for policy, statement in _iam_policies(stack):
        actions = set(_listed(statement["Action"]))
        everything = "*" in _listed(statement["Resource"])
        if statement["Effect"] == "Allow" and everything and not actions <= RESOURCE_LESS_ACTIONS:
            yield f"{policy.name}: {statement.get('Sid')} grants {sorted(actions)} on every resource"


_s3_no_public_grant = no_public_allow(BUCKET_POLICY)
_sns_not_public = no_public_allow(TOPIC_POLICY)
_kms_not_public = no_public_allow(KEY)


def _s3_tls_only(stack: Stack) -> Iterable[str]:
    for bucket in stack.of_type(BUCKET):
        denies = [
            s
            for policy in side(stack, BUCKET_POLICY, bucket)
            for s in statements(policy.inputs["policy"])
            if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        if not denies:
            yield f"{bucket.name}: no policy denies requests without TLS"


def _s3_other_accounts(stack: Stack) -> Iterable[str]:
    for policy in stack.of_type(BUCKET_POLICY):
        for statement in statements(policy.inputs["policy"]):
            principal = statement.get("Principal", {})
            if statement["Effect"] == "Allow" and (not isinstance(principal, dict) or "AWS" in principal):
                yield f"{policy.name}: {statement.get('Sid')} grants to an account principal, not a service"


def _s3_access_logging(stack: Stack) -> Iterable[str]:
    targets = log_targets(stack)
    for bucket in stack.of_type(BUCKET):
        # A log bucket does not log itself (each delivery would log a delivery); its S3.9 finding is
        # suppressed with that reason (README).
        if physical(bucket) not in targets and not side(stack, LOGGING, bucket):
            yield f"{bucket.name}: no server access logging"


def _s3_no_acls(stack: Stack) -> Iterable[str]:
    for bucket in stack.of_type(BUCKET):
        controls = side(stack, OWNERSHIP, bucket)
        if not controls or controls[0].inputs["rule"]["objectOwnership"] != "BucketOwnerEnforced":
            yield f"{bucket.name}: ACLs are not disabled (BucketOwnerEnforced)"


def _s3_lifecycle(stack: Stack) -> Iterable[str]:
    for bucket in stack.of_type(BUCKET):
        rules = [
            r for c in side(stack, LIFECYCLE, bucket) for r in c.inputs["rules"] if r["status"] == "Enabled"
        ]
        if not rules:
            yield f"{bucket.name}: no enabled lifecycle rule"


def _versioned_buckets_have_lifecycle(stack: Stack) -> Iterable[str]:
    for bucket in stack.of_type(BUCKET):
        versioned = [
            v
            for v in side(stack, VERSIONING, bucket)
            if v.inputs["versioningConfiguration"]["status"] == "Enabled"
        ]
        rules = [
            r for c in side(stack, LIFECYCLE, bucket) for r in c.inputs["rules"] if r["status"] == "Enabled"
        ]
        if versioned and not rules:
            yield f"{bucket.name}: versioned without a lifecycle rule"


def _sqs_not_public(stack: Stack) -> Iterable[str]:
    for policy in stack.of_type(QUEUE_POLICY):
        for statement in statements(policy.inputs["policy"]):
            if statement["Effect"] == "Allow" and (
                public_principal(statement) or "Condition" not in statement
            ):
                yield f"{policy.name}: {statement.get('Sid')} is open to anyone or unconditioned"


def _sns_delivery_logging(stack: Stack) -> Iterable[str]:
    # SNS logs delivery status for HTTP(S), SQS, Lambda, Firehose and platform endpoints, not email. The
    # finding is suppressed because every subscription is email: a subscription of another protocol needs
    # delivery status logging on its topic, and fails here until it has it.
    feedback = ("sqsFailureFeedbackRoleArn", "httpFailureFeedbackRoleArn", "lambdaFailureFeedbackRoleArn",
                "firehoseFailureFeedbackRoleArn", "applicationFailureFeedbackRoleArn")  # fmt: skip
    for subscription in stack.of_type(SUBSCRIPTION):
        if subscription.inputs["protocol"] == "email":
            continue
        topic = next(
            (t for t in stack.of_type(TOPIC) if subscription.inputs["topic"].endswith(physical(t))), None
        )
        if topic is None or not any(topic.inputs.get(key) for key in feedback):
            protocol = subscription.inputs["protocol"]
            yield f"{subscription.name}: {protocol} subscription without delivery status logging"


def _lambda_not_public(stack: Stack) -> Iterable[str]:
    for permission in stack.of_type(PERMISSION):
        scoped = permission.inputs.get("sourceArn") or permission.inputs.get("sourceAccount")
        if permission.inputs.get("principal") == "*" or not scoped:
            yield f"{permission.name}: invocation open beyond a named source"


def _kms_no_decrypt_on_all_keys(stack: Stack) -> Iterable[str]:
    for policy in stack.of_type(ROLE_POLICY) + stack.of_type(MANAGED_POLICY):
        for statement in statements(policy.inputs["policy"]):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            decrypting = [a for a in actions if a in {"kms:*", "kms:Decrypt", "kms:ReEncryptFrom", "*"}]
            if statement["Effect"] == "Allow" and decrypting and "*" in resources:
                yield f"{policy.name}: {statement.get('Sid')} allows {decrypting} on every key"


def _event_bus_policy(stack: Stack) -> Iterable[str]:
    for bus in stack.of_type(EVENT_BUS):
        if not side(stack, EVENT_BUS_POLICY, bus, key="eventBusName"):
            yield f"{bus.name}: custom event bus without a resource-based policy"


def _remove(typ: str) -> Callable[[Stack], None]:
    def mutate(stack: Stack) -> None:
        stack.resources[:] = [r for r in stack.resources if r.typ != typ]

    return mutate


def _set(typ: str, **inputs: Any) -> Callable[[Stack], None]:
    def mutate(stack: Stack) -> None:
        for resource in stack.of_type(typ):
            resource.inputs.update(inputs)

    return mutate


def _add(typ: str, name: str, **inputs: Any) -> Callable[[Stack], None]:
    def mutate(stack: Stack) -> None:
        stack.resources.append(Declared(typ, name, inputs))

    return mutate


def _open_policy(typ: str, **extra: Any) -> Callable[[Stack], None]:
    public = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    return _add(typ, "public", policy=json.dumps({"Statement": [public]}), **extra)


CONTROLS: tuple[Control, ...] = (
    Control("S3.2", "S3 general purpose buckets should block public read access", (BUCKET, BUCKET_POLICY),
            lambda s: [*_s3_public_access(s), *_s3_no_public_grant(s)], _open_policy(BUCKET_POLICY)),
    Control("S3.3", "S3 general purpose buckets should block public write access", (BUCKET, BUCKET_POLICY),
            lambda s: [*_s3_public_access(s), *_s3_no_public_grant(s)],
            _set(PUBLIC_ACCESS, blockPublicPolicy=False)),
    Control("S3.5", "S3 general purpose buckets should require requests to use SSL", (BUCKET, BUCKET_POLICY),
            _s3_tls_only, _remove(BUCKET_POLICY)),
    Control("S3.6", "S3 general purpose bucket policies should restrict access to other AWS accounts",
            (BUCKET_POLICY,), _s3_other_accounts,
            _add(BUCKET_POLICY, "cross-account", policy=json.dumps({"Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                 "Action": "s3:PutObject", "Resource": "*"}]}))),
    Control("S3.8", "S3 general purpose buckets should block public access", (BUCKET, PUBLIC_ACCESS),
            _s3_public_access, _remove(PUBLIC_ACCESS)),
    Control("S3.9", "S3 general purpose buckets should have server access logging enabled", (BUCKET, LOGGING),
            _s3_access_logging, _remove(LOGGING)),
    Control("S3.10",
            "S3 general purpose buckets with versioning enabled should have Lifecycle configurations",
            (BUCKET, VERSIONING), _versioned_buckets_have_lifecycle, _remove(LIFECYCLE)),
    Control("S3.12", "ACLs should not be used to manage user access to S3 general purpose buckets",
            (BUCKET, OWNERSHIP), _s3_no_acls, _set(OWNERSHIP, rule={"objectOwnership": "ObjectWriter"})),
    Control("S3.13", "S3 general purpose buckets should have Lifecycle configurations", (BUCKET, LIFECYCLE),
            _s3_lifecycle, _remove(LIFECYCLE)),
    Control("SQS.1", "Amazon SQS queues should be encrypted at rest", (QUEUE,), _sqs_encrypted,
            _set(QUEUE, sqsManagedSseEnabled=False)),
    Control("SQS.3", "SQS queue access policies should not allow public access", (QUEUE_POLICY,),
            _sqs_not_public, _open_policy(QUEUE_POLICY)),
    Control("SNS.1", "SNS topics should be encrypted at-rest using AWS KMS", (TOPIC,), _sns_encrypted,
            _set(TOPIC, kmsMasterKeyId=None)),
    Control("SNS.2", "Logging of delivery status should be enabled for notification messages sent to a topic",
            (TOPIC, SUBSCRIPTION), _sns_delivery_logging,
            _add(SUBSCRIPTION, "https", protocol="https", topic="arn:aws:sns:x:1:inspector-ops" + SUFFIX)),
    Control("SNS.4", "SNS topic access policies should not allow public access", (TOPIC_POLICY,),
            _sns_not_public, _open_policy(TOPIC_POLICY)),
    Control("Lambda.1", "Lambda function policies should prohibit public access", (PERMISSION,),
            _lambda_not_public, _add(PERMISSION, "public", principal="*", action="lambda:InvokeFunction")),
    Control("Lambda.2", "Lambda functions should use supported runtimes", (FUNCTION,), _lambda_runtime,
            _set(FUNCTION, runtime="python3.8")),
    Control("KMS.1", "IAM customer managed policies should not allow decryption actions on all KMS keys",
            (MANAGED_POLICY,), _kms_no_decrypt_on_all_keys, _open_policy(MANAGED_POLICY)),
    Control("KMS.2", "IAM principals should not have IAM inline policies that allow decryption actions on "
            "all KMS keys", (ROLE_POLICY,), _kms_no_decrypt_on_all_keys, _open_policy(ROLE_POLICY)),
    Control("KMS.3", "AWS KMS keys should not be deleted unintentionally", (KEY,), _kms_not_deleted,
            _set(KEY, isEnabled=False)),
    Control("KMS.4", "AWS KMS key rotation should be enabled", (KEY,), _kms_rotation,
            _set(KEY, enableKeyRotation=False)),
    Control("KMS.5", "KMS keys should not be publicly accessible", (KEY,), _kms_not_public,
            _set(KEY, policy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                       "Action": "kms:Decrypt", "Resource": "*"}]}))),
    Control("CloudWatch.15", "CloudWatch alarms should have specified actions configured", (ALARM,),
            _alarm_actions, _set(ALARM, alarmActions=[])),
    Control("CloudWatch.17", "CloudWatch alarm actions should be activated", (ALARM,), _alarm_actions_enabled,
            _set(ALARM, actionsEnabled=False)),
    Control("CloudWatch.16", "CloudWatch log groups should be retained for a specified time period",
            (LOG_GROUP,), _log_retention, _set(LOG_GROUP, retentionInDays=30), production_only=True),
    Control("Athena.4", "Athena workgroups should have logging enabled", (WORKGROUP,), _athena_logging,
            _add(WORKGROUP, "unlogged", configuration={"publishCloudwatchMetricsEnabled": False})),
    Control("Athena.1", "Athena workgroups should be encrypted at rest (retired by AWS; kept: enforced, "
            "encrypted query results)", (WORKGROUP,), _athena_encrypted_and_enforced,
            _add(WORKGROUP, "overridable", configuration={"enforceWorkgroupConfiguration": False})),
    Control("IAM.21", "IAM customer managed policies that you create should not allow wildcard actions for "
            "services", (ROLE_POLICY, MANAGED_POLICY), _iam_no_service_wildcards, _open_policy(ROLE_POLICY)),
    Control("IAM.least-privilege", "(the project's own) no Allow on every resource where the resource can be "
            "named", (ROLE_POLICY, MANAGED_POLICY), _iam_no_star_resource_where_a_name_is_known,
            _add(ROLE_POLICY, "star", policy=json.dumps({"Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))),
    Control("EventBridge.3", "EventBridge custom event buses should have a resource-based policy attached",
            (EVENT_BUS,), _event_bus_policy, _add(EVENT_BUS, "bus")),
)  # fmt: skip

# Every resource type of the covered services the stack may declare, and why no control above evaluates it
# (or which control evaluates it through its owner). A type outside both lists fails the coverage test.
NO_CONTROL: dict[str, str] = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "SSE-S3 on both buckets (S3.4, default encryption, is retired: S3 encrypts every object)"
    ),
    "aws:s3/bucketNotification:BucketNotification": "part of the bucket (S3.11, event notifications, holds)",
    "aws:kms/alias:Alias": "a name for the ops key",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "no Security Hub control",
    "aws:lambda/alias:Alias": "a name for a published version (snapStart); the function's controls hold",
    "aws:cloudwatch/eventRule:EventRule": "no Security Hub control",
    "aws:cloudwatch/eventTarget:EventTarget": "no Security Hub control",
    "aws:scheduler/schedule:Schedule": "no Security Hub control (EventBridge.3 is for custom event buses)",
    "aws:cloudwatch/dashboard:Dashboard": "no Security Hub control",
    "aws:athena/namedQuery:NamedQuery": "no Security Hub control",
    "aws:athena/database:Database": "no Security Hub control",
    "aws:s3/bucketObjectv2:BucketObjectv2": (
        "the live criteria store's seeds and line table: objects in the pipeline's bucket (its controls)"
    ),
}
COVERED_SERVICES = ("aws:s3/", "aws:sqs/", "aws:sns/", "aws:lambda/", "aws:kms/", "aws:cloudwatch/",
                    "aws:athena/", "aws:scheduler/", "aws:iam/rolePolicy:", "aws:iam/policy:")  # fmt: skip


def failing(control: Control, stack: Stack) -> list[str]:
    return list(control.check(stack))


def broken(control: Control, stack: Stack) -> Stack:
    copied = copy.deepcopy(stack)
    control.break_it(copied)
    return copied
