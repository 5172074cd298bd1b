"""IAM, bucket and queue policies, as small pure functions of ARNs that return JSON documents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Statement = dict[str, Any]


def document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def deny_insecure_transport(bucket_arn: str) -> Statement:
    """Refuse every request to a bucket that does not use TLS (Security Hub S3.5)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_arn: str) -> str:
    """Refuse every request to the bucket that does not use TLS."""
    return document(deny_insecure_transport(bucket_arn))


def access_log_bucket_policy(log_bucket_arn: str, source_bucket_arn: str, account_id: str) -> str:
    """TLS only, and let S3's log delivery write the source bucket's server access logs (S3.9), nothing else.

    With BucketOwnerEnforced the log delivery group's ACL grant is gone: this policy is how S3 delivers.
    """
    return document(
        deny_insecure_transport(log_bucket_arn),
        {
            "Sid": "AllowServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{log_bucket_arn}/*",
            "Condition": {
                "ArnLike": {"aws:SourceArn": source_bucket_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
    )


def ops_key_policy(account_id: str, partition: str = "aws") -> str:
    """The ops topic's KMS key: administered through IAM by the account, usable by CloudWatch alarms.

    CloudWatch publishes alarm notifications as the service principal `cloudwatch.amazonaws.com`; an SNS
    topic under a KMS key accepts a publish only when the key lets the publisher make data keys and decrypt.
    The AWS-managed `aws/sns` key cannot be given that grant, hence a key of the stack's own.
    """
    return document(
        {
            # AWS's default key policy statement: the account (its IAM policies) administers the key.
            # Without it the key could not even be deleted. No IAM policy of this stack grants any kms action.
            "Sid": "AccountAdministersTheKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchAlarmsPublishToTheOpsTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    )


def queue_policy(queue_arn: str, bucket_arn: str, account_id: str) -> str:
    """Let only S3, on behalf of this bucket in this account, send to the queue."""
    return document(
        {
            "Sid": "AllowBucketNotifications",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": {"aws:SourceArn": bucket_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        }
    )


def assume_role_policy(service: str = "lambda.amazonaws.com") -> str:
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def function_policy(
    *,
    bucket_arn: str,
    images_prefix: str,
    analyzed_prefix: str,
    rejected_prefix: str,
    results_prefix: str,
    queue_arn: str,
    daily_prefix: str | None = None,
    topic_arn: str,
    log_group_arn: str,
    custom_labels_arn: str | None = None,
    criteria_prefix: str | None = None,
    custom_labels_arns: list[str] | None = None,
    reference_models: Sequence[str] = (),
) -> str:
    """What the function needs and nothing more.

    `reference_models`: the reference models the function reads (keys in the bucket, or s3://bucket/key
    addresses): GetObject on exactly those objects. Evidence images go under the results prefix, which
    the function already writes.

    No wildcard action; the only wildcard resource is DetectLabels', which supports no resource-level
    permissions.
    """
    statements: list[Statement] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            # Read uploads (Rekognition reads them with the function's permissions too), copy them from
            # there, and read result records (idempotency: resume from the record). GetObject on the
            # destinations makes the presigned link in the email work: the function's role signs it.
            "Sid": "ReadImagesResultsAndFiledImages",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [
                f"{bucket_arn}/{images_prefix}*",
                f"{bucket_arn}/{results_prefix}*",
                f"{bucket_arn}/{analyzed_prefix}*",
                f"{bucket_arn}/{rejected_prefix}*",
            ],
        },
        {
            # Without ListBucket, S3 answers 403 instead of 404 for a missing object, and an image that
            # is already gone would be retried until it reached the dead-letter queue.
            "Sid": "TellMissingFromForbidden",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
        },
        {
            # Rekognition and the copy read exactly the inspected version (`S3Object.Version`, `VersionId`)
            # of an upload, which a newer upload under the same key cannot replace.
            "Sid": "ReadTheInspectedVersion",
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersion"],
            "Resource": [f"{bucket_arn}/{images_prefix}*"],
        },
        {
            "Sid": "FileImagesAndWriteResults",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [
                f"{bucket_arn}/{analyzed_prefix}*",
                f"{bucket_arn}/{rejected_prefix}*",
                f"{bucket_arn}/{results_prefix}*",
                *([f"{bucket_arn}/{daily_prefix}*"] if daily_prefix else []),
            ],
        },
        {
            # Originals, once filed, and the copy of a key's earlier upload once a new upload is filed. The
            # bucket is versioned and the function has no s3:DeleteObjectVersion: a delete only hides the
            # current version behind a delete marker, so not even a bug in it can destroy what it archived.
            # Never a result record: those are only ever replaced conditionally.
            "Sid": "RemoveFiledOriginalsAndSupersededCopies",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [f"{bucket_arn}/{images_prefix}*", f"{bucket_arn}/{analyzed_prefix}*"],
        },
        {
            "Sid": "ConsumeQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": [queue_arn],
        },
        {"Sid": "NotifyQcGroup", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic_arn]},
        {
            # DetectLabels supports no resource-level permissions: "*" is the only resource it accepts.
            "Sid": "DetectLabels",
            "Effect": "Allow",
            "Action": ["rekognition:DetectLabels"],
            "Resource": "*",
        },
    ]
    if criteria_prefix:
        # Live criteria: read only. Publishing needs the publisher policy, which the function never has.
        statements.append(
            {
                "Sid": "ReadLiveCriteria",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{bucket_arn}/{criteria_prefix}*"],
            }
        )
    if reference_models:
        statements.append(
            {
                "Sid": "ReadReferenceModels",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": sorted({model_object_arn(bucket_arn, model) for model in reference_models}),
            }
        )
    models = sorted({arn for arn in [custom_labels_arn, *(custom_labels_arns or [])] if arn})
    if models:
        statements.append(
            {
                "Sid": "DetectCustomLabels",
                "Effect": "Allow",
                "Action": ["rekognition:DetectCustomLabels"],
                "Resource": models,
            }
        )
    return document(*statements)


def criteria_publisher_policy(*, bucket_arn: str, criteria_prefix: str, results_prefix: str) -> str:
    """What `inspector criteria publish|history|rollback` need, and nothing more.

    Write only a line's new versions and its `current.json` (never the stack's seeds or line table, and
    never a delete: history is append-only); read the criteria and the result records (the backtest);
    list those two prefixes. Who published is read with sts:GetCallerIdentity, which needs no permission.
    """
    return document(
        {
            "Sid": "PublishCriteriaVersions",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [
                f"{bucket_arn}/{criteria_prefix}*/versions/*",
                f"{bucket_arn}/{criteria_prefix}*/current.json",
            ],
        },
        {
            "Sid": "ReadCriteriaAndResults",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/{criteria_prefix}*", f"{bucket_arn}/{results_prefix}*"],
        },
        {
            "Sid": "ListCriteriaAndResults",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [f"{criteria_prefix}*", f"{results_prefix}*"]}},
        },
    )


def digest_policy(
    *,
    bucket_arn: str,
    daily_prefix: str,
    reports_prefix: str,
    athena_results_arn: str,
    compact_prefix: str | None = None,
    workgroup_arn: str,
    glue_arns: list[str],
    topic_arn: str,
    log_group_arn: str,
) -> str:
    """What the digest function needs: query its workgroup over the daily copies, keep the HTML report,
    link to it, and publish the digest. Athena reads the table's objects with the caller's permissions."""
    return document(
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {
            "Sid": "QueryInOwnWorkgroup",
            "Effect": "Allow",
            "Action": [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
            ],
            "Resource": [workgroup_arn],
        },
        {
            "Sid": "ReadTheRecordsTable",
            "Effect": "Allow",
            "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
            "Resource": glue_arns,
        },
        {
            # The compacted days' Parquet files and markers too (Athena reads them with the caller's
            # permissions; the markers say which days are complete).
            "Sid": "ReadDailyCopies",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/{p}*" for p in (daily_prefix, compact_prefix) if p],
        },
        {
            "Sid": "ListDailyCopiesOnly",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn],
            "Condition": {
                "StringLike": {"s3:prefix": [f"{p}*" for p in (daily_prefix, compact_prefix) if p]}
            },
        },
        {
            "Sid": "LocateBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation"],
            "Resource": [bucket_arn],
        },
        {
            "Sid": "KeepAndLinkReports",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": [f"{bucket_arn}/{reports_prefix}*"],
        },
        {
            "Sid": "AthenaQueryResults",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": [f"{athena_results_arn}/*"],
        },
        {
            "Sid": "AthenaQueryResultsBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [athena_results_arn],
        },
        {"Sid": "PublishDigest", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic_arn]},
    )


def scheduler_assume_role_policy(account_id: str) -> str:
    """EventBridge Scheduler may assume the role, for schedules of this account only."""
    return document(
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }
    )


def invoke_policy(function_arn: str) -> str:
    """Invoke one function (and its versions), nothing else."""
    return document(
        {
            "Sid": "InvokeDigest",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [function_arn, f"{function_arn}:*"],
        }
    )


def model_object_arn(bucket_arn: str, location: str) -> str:
    """The ARN of a reference model: a key in the pipeline's bucket, or `s3://bucket/key` elsewhere."""
    if location.startswith("s3://"):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        return f"arn:aws:s3:::{bucket}/{key}"
    return f"{bucket_arn}/{location}"


def reviewer_policy(
    *,
    bucket_arn: str,
    analyzed_prefix: str,
    results_prefix: str,
    topic_arn: str,
    daily_prefix: str | None = None,
    compact_prefix: str | None = None,
) -> str:
    """What a person reviewing images needs (`inspector review`, `inspector history`), and nothing more.

    Read the review queue (list the filed images, read records and their versions: the history), write
    decisions into result records, re-file images between the verdict folders, announce decisions. No
    access to uploads, rejected images or the queue; no s3:DeleteObjectVersion, so a re-filing (a delete
    marker on the versioned bucket) never destroys a copy; no DeleteObject on records. STS
    GetCallerIdentity, which names the reviewer in each decision, needs no permission.

    With the reports' daily copies (`daily_prefix`): read and rewrite a decided record's daily copy (HEAD
    needs GetObject, and ListBucket on the prefix to tell a missing copy from a forbidden one), and delete
    the compaction marker of its day (`compact_prefix`), nothing else there.
    """
    filed = f"{bucket_arn}/{analyzed_prefix}*"
    records = f"{bucket_arn}/{results_prefix}*"
    listed = [f"{analyzed_prefix}*", f"{results_prefix}*"]
    reports: list[Statement] = []
    if daily_prefix:
        listed.append(f"{daily_prefix}*")
        reports.append(
            {
                "Sid": "RewriteDecidedDailyCopies",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"{bucket_arn}/{daily_prefix}*"],
            }
        )
        if compact_prefix:
            reports.append(
                {
                    "Sid": "UndoTheDaysCompaction",
                    "Effect": "Allow",
                    "Action": ["s3:DeleteObject"],
                    "Resource": [f"{bucket_arn}/{compact_prefix}dt=*/_SUCCESS"],
                }
            )
    return document(
        {
            # The queue (keys under analyzed/review/), the records and their versions, nothing else listed.
            "Sid": "ListQueueAndHistory",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": [bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": listed}},
        },
        {
            "Sid": "KnowTheBucketKeepsHistory",
            "Effect": "Allow",
            "Action": ["s3:GetBucketVersioning"],
            "Resource": [bucket_arn],
        },
        {
            # Records, their earlier versions (the history) and evidence images beside them; filed photos.
            "Sid": "ReadRecordsAndFiledImages",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [records, filed],
        },
        {
            "Sid": "WriteDecisionsAndRefileImages",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [records, filed],
        },
        {
            "Sid": "RemoveTheEarlierCopyOfARefiledImage",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [filed],
        },
        {"Sid": "AnnounceDecisions", "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic_arn]},
        *reports,
    )


def wildcard_actions(policy: str) -> list[str]:
    """Every action of a policy document that holds a wildcard (for tests and reviews)."""
    found = []
    for statement in json.loads(policy)["Statement"]:
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if "*" in action:
                found.append(action)
    return found
