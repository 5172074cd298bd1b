"""`InspectionPipeline`: the whole inspection pipeline of one environment, as one Pulumi component."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from inspector.deployment import DLQ_RETENTION_SECONDS, Deployment
from inspector.livecriteria.documents import Layout
from inspector.settings import Settings

HANDLER = "handler.lambda_handler"
# pydantic looks for plugins through importlib.metadata at import, ~13 ms of every cold start; the
# function uses none.
RUNTIME_ENVIRONMENT = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}
ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7
ACCESS_LOG_RETENTION_DAYS = 365  # S3 server access logs of the images bucket (Security Hub S3.9)
KMS_DELETION_WINDOW_DAYS = 30  # the longest: time to notice a key scheduled for deletion by mistake


def private_bucket(
    name: str,
    *,
    sides: str | None = None,
    force_destroy: bool,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
    """A bucket with every public access blocked, ACLs disabled (BucketOwnerEnforced) and SSE-S3: Security
    Hub S3.2, S3.3, S3.8, S3.12. Its side resources are named `<sides>-public-access`, `-ownership`,
    `-encryption` (`sides` defaults to the bucket's name). Returns the bucket and its public access block,
    which a bucket policy must wait for."""
    sides = sides or name
    bucket = aws.s3.Bucket(name, force_destroy=force_destroy, tags=tags, opts=opts)
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{sides}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{sides}-ownership", bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{sides}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=opts,
    )
    return bucket, public_access


def access_logs(
    name: str,
    *,
    logged: aws.s3.Bucket,
    logging_name: str,
    target_prefix: str,
    account_id: pulumi.Input[str],
    force_destroy: bool,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.s3.Bucket:
    """Server access logging of `logged` (Security Hub S3.9) into a private log bucket `<name>-access-logs`
    whose policy lets S3's log delivery write for that bucket and account only; logs kept
    ACCESS_LOG_RETENTION_DAYS. Server access log delivery writes SSE-S3 objects only, as private_bucket
    encrypts. Returns the log bucket."""
    child = pulumi.ResourceOptions(parent=parent)
    log_bucket, log_public_access = private_bucket(
        f"{name}-access-logs", force_destroy=force_destroy, tags=tags, opts=child
    )
    log_policy = aws.s3.BucketPolicy(
        f"{name}-access-logs-policy",
        bucket=log_bucket.id,
        policy=pulumi.Output.all(log_bucket.arn, logged.arn, account_id).apply(
            lambda a: policies.access_log_bucket_policy(a[0], a[1], a[2])
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_public_access]),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-access-logs-lifecycle",
        bucket=log_bucket.id,
        rules=[
            {
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": ACCESS_LOG_RETENTION_DAYS},
            }
        ],
        opts=child,
    )
    aws.s3.BucketLogging(
        logging_name,
        bucket=logged.id,
        target_bucket=log_bucket.id,
        target_prefix=target_prefix,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_policy]),
    )
    return log_bucket


@dataclass
class InspectionPipelineArgs:
    config: Deployment  # validated stack settings
    code: pulumi.Archive  # the Lambda bundle (infra.bundle.build_bundle)
    tags: dict[str, str] | None = None


class InspectionPipeline(pulumi.ComponentResource):
    """Bucket -> queue (+ DLQ) -> function -> topic, with alarms, encryption and least-privilege IAM."""

    bucket_name: pulumi.Output[str]
    images_prefix: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    ops_topic_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    criteria_publisher_policy_arn: pulumi.Output[str]
    reviewer_policy_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: InspectionPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("inspector:index:InspectionPipeline", name, None, opts)
        cfg = args.config
        tags = {"app": "widget-inspector", **(args.tags or {})}
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        # --- bucket ---------------------------------------------------------------------------
        bucket, public_access = private_bucket(
            f"{name}-bucket", sides=name, force_destroy=cfg.force_destroy, tags=tags, opts=child
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(policies.bucket_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        # Versioning keeps every result record and filed copy ever written: the audit trail (README,
        # "History"). Noncurrent versions of records and filed copies are kept; an original's expire.
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                {
                    "id": "analyzed-to-glacier",
                    "status": "Enabled",
                    "filter": {"prefix": cfg.analyzed_prefix},
                    "transitions": [{"days": cfg.glacier_after_days, "storage_class": "GLACIER"}],
                    "noncurrent_version_transitions": [
                        {"noncurrent_days": cfg.glacier_after_days, "storage_class": "GLACIER"}
                    ],
                },
                {
                    "id": "expire-filed-originals",
                    "status": "Enabled",
                    "filter": {"prefix": cfg.images_prefix},
                    "noncurrent_version_expiration": {"noncurrent_days": cfg.originals_retention_days},
                    "expiration": {"expired_object_delete_marker": True},
                },
                {
                    "id": "abort-incomplete-multipart-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "abort_incomplete_multipart_upload": {
                        "days_after_initiation": ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS
                    },
                },
            ],
            # S3 refuses noncurrent-version rules on a bucket whose versioning it does not know of yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )

        # --- server access logs (Security Hub S3.9) ----------------------------------------------
        # A bucket of their own: a bucket logging into itself would log its own log deliveries.
        access_logs(
            name,
            logged=bucket,
            logging_name=f"{name}-access-logging",
            target_prefix="images-bucket/",
            account_id=account_id,
            force_destroy=cfg.force_destroy,
            tags=tags,
            parent=self,
        )

        # --- queues ---------------------------------------------------------------------------
        dlq = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-queue",
            visibility_timeout_seconds=cfg.visibility_timeout_seconds,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": cfg.max_receive_count})
            ),
            # SSE-SQS: S3 event notifications cannot write to a queue encrypted with the AWS-managed KMS key.
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=queue.id,
            policy=pulumi.Output.all(queue.arn, bucket.arn, account_id).apply(
                lambda a: policies.queue_policy(a[0], a[1], a[2])
            ),
            opts=child,
        )
        # Only the images prefix notifies: filing an image under analyzed/ must never trigger again.
        aws.s3.BucketNotification(
            f"{name}-notification",
            bucket=bucket.id,
            queues=[
                {"queue_arn": queue.arn, "events": ["s3:ObjectCreated:*"], "filter_prefix": cfg.images_prefix}
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )

        # --- notifications ----------------------------------------------------------------------
        topic = aws.sns.Topic(f"{name}-verdicts", kms_master_key_id="alias/aws/sns", tags=tags, opts=child)
        # The top-level recipients first (their names unchanged by adding lines), then each line's: a line's
        # recipients filter on its name (the message attribute `line`), and on verdicts when they say so.
        for i, recipient in enumerate(cfg.subscriptions()):
            policy = recipient.filter_policy()
            aws.sns.TopicSubscription(
                f"{name}-notify-{i}",
                topic=topic.arn,
                protocol="email",
                endpoint=recipient.email,
                filter_policy=json.dumps(policy) if policy else None,
                filter_policy_scope="MessageAttributes" if policy else None,
                opts=child,
            )
        # CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key: the ops topic has a
        # customer-managed key whose policy lets them (policies.ops_key_policy), rotated every year.
        ops_key = aws.kms.Key(
            f"{name}-ops-key",
            description=f"Encrypts the {name} ops topic (alarms); CloudWatch may use it to publish",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=account_id.apply(policies.ops_key_policy),
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-ops-key-alias",
            name=f"alias/{name}-{pulumi.get_stack()}-ops",
            target_key_id=ops_key.key_id,
            opts=child,
        )
        ops_topic = aws.sns.Topic(f"{name}-ops", kms_master_key_id=ops_key.arn, tags=tags, opts=child)
        for i, email in enumerate(cfg.ops_notify):
            aws.sns.TopicSubscription(
                f"{name}-ops-{i}", topic=ops_topic.arn, protocol="email", endpoint=email, opts=child
            )

        # --- live criteria ----------------------------------------------------------------------
        publisher = self._live_criteria(name, cfg, bucket, tags)

        # --- function ---------------------------------------------------------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{name}-{pulumi.get_stack()}",
            retention_in_days=cfg.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role", assume_role_policy=policies.assume_role_policy(), tags=tags, opts=child
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.all(bucket.arn, queue.arn, topic.arn, log_group.arn).apply(
                lambda a: policies.function_policy(
                    bucket_arn=a[0],
                    images_prefix=cfg.images_prefix,
                    analyzed_prefix=cfg.analyzed_prefix,
                    rejected_prefix=cfg.rejected_prefix,
                    results_prefix=cfg.results_prefix,
                    daily_prefix=cfg.daily_prefix,
                    queue_arn=a[1],
                    topic_arn=a[2],
                    log_group_arn=a[3],
                    custom_labels_arn=cfg.custom_labels_arn,
                    criteria_prefix=cfg.criteria_prefix,
                    custom_labels_arns=[x.custom_labels_arn for x in cfg.lines if x.custom_labels_arn],
                    # Each line's reference model, the default line's included: read once per container.
                    reference_models=[x.reference_model for x in cfg.line_table.all if x.reference_model],
                )
            ),
            opts=child,
        )
        # For people, not the function: attach it to the QC group's role or users (`inspector review`).
        reviewer_policy = aws.iam.Policy(
            f"{name}-reviewer",
            description="Review widget-inspector images: read the queue and history, decide, re-file",
            policy=pulumi.Output.all(bucket.arn, topic.arn).apply(
                lambda a: policies.reviewer_policy(
                    bucket_arn=a[0],
                    analyzed_prefix=cfg.analyzed_prefix,
                    results_prefix=cfg.results_prefix,
                    topic_arn=a[1],
                    daily_prefix=cfg.daily_prefix,
                    compact_prefix=cfg.compact_prefix,
                )
            ),
            tags=tags,
            opts=child,
        )
        environment = pulumi.Output.all(topic.arn, bucket.id).apply(
            lambda a: {**cfg.settings(topic_arn=a[0], bucket=a[1]).to_env(), **RUNTIME_ENVIRONMENT}
        )
        function = aws.lambda_.Function(
            f"{name}-function",
            runtime=f"python{cfg.python_version}",
            architectures=[cfg.architecture],
            handler=HANDLER,
            code=args.code,
            memory_size=cfg.memory_mb,
            timeout=cfg.timeout_seconds,
            role=role.arn,
            environment={"variables": environment},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            # SnapStart snapshots a version when it is published, so each deployment publishes one; the
            # handler makes its clients on the first invocation, so the snapshot holds imports, no sockets.
            publish=cfg.snap_start,
            snap_start={"apply_on": "PublishedVersions"} if cfg.snap_start else None,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )
        invoked: pulumi.Output[str] = function.arn
        if cfg.snap_start:
            # A snapshot serves only a version: the queue drives the alias of the one just published.
            live = aws.lambda_.Alias(
                f"{name}-live",
                name="live",
                function_name=function.name,
                function_version=function.version,
                description="The version SnapStart snapshotted at the last deployment; the queue invokes it",
                opts=child,
            )
            invoked = live.arn
        aws.lambda_.EventSourceMapping(
            f"{name}-source",
            event_source_arn=queue.arn,
            function_name=invoked,
            batch_size=cfg.batch_size,
            maximum_batching_window_in_seconds=cfg.batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            # The lever that keeps the pipeline under the Rekognition transactions-per-second quota.
            scaling_config={"maximum_concurrency": cfg.max_concurrency},
            opts=child,
        )

        # --- alarms -----------------------------------------------------------------------------
        def alarm(  # noqa: PLR0917 - a local helper called as a table, one row per alarm
            suffix: str,
            description: str,
            namespace: str,
            metric: str,
            dimensions: dict[str, pulumi.Input[str]],
            statistic: str,
            threshold: float,
        ) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                alarm_description=description,
                namespace=namespace,
                metric_name=metric,
                dimensions=dimensions,
                statistic=statistic,
                period=300,
                evaluation_periods=1,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[ops_topic.arn],
                ok_actions=[ops_topic.arn],
                tags=tags,
                opts=child,
            )

        alarm(
            "dlq-not-empty",
            "Messages wait in the dead-letter queue; their images are still under the images prefix.",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": dlq.name},
            "Maximum",
            0,
        )
        alarm(
            "oldest-message",
            "Images wait too long for inspection: throttling, errors or a stopped function.",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": queue.name},
            "Maximum",
            cfg.oldest_message_alarm_seconds,
        )
        for line in cfg.line_table.all:
            alarm(
                f"criteria-rejected-{line.name}",
                f"Criteria published for line {line.name} were refused by the function (invalid, or not "
                "judgeable by the line's detectors); the last good criteria stay in effect. See the "
                "function's log ('published criteria refused') and `inspector criteria history`.",
                Settings.model_fields["metrics_namespace"].default,
                "CriteriaRejected",
                {"Service": "inspector", "Line": line.name},
                "Sum",
                0,
            )
        for metric in ("Errors", "Throttles"):
            alarm(
                f"function-{metric.lower()}",
                f"The inspection function reports {metric.lower()}.",
                "AWS/Lambda",
                metric,
                {"FunctionName": function.name},
                "Sum",
                0,
            )

        self.bucket_name = bucket.id
        self.images_prefix = pulumi.Output.from_input(cfg.images_prefix)
        self.queue_url = queue.url
        self.dlq_url = dlq.url
        self.topic_arn = topic.arn
        self.ops_topic_arn = ops_topic.arn
        self.function_name = function.name
        self.criteria_publisher_policy_arn = publisher.arn
        self.reviewer_policy_arn = reviewer_policy.arn
        self.register_outputs(
            {
                "reviewer_policy_arn": self.reviewer_policy_arn,
                "bucket_name": self.bucket_name,
                "images_prefix": self.images_prefix,
                "queue_url": self.queue_url,
                "dlq_url": self.dlq_url,
                "topic_arn": self.topic_arn,
                "ops_topic_arn": self.ops_topic_arn,
                "function_name": self.function_name,
                "criteria_publisher_policy_arn": self.criteria_publisher_policy_arn,
            }
        )

    def _live_criteria(
        self, name: str, cfg: Deployment, bucket: aws.s3.Bucket, tags: dict[str, str]
    ) -> aws.iam.Policy:
        """Each line's seed and the line table in the criteria store; the criteria publisher policy."""
        # Each line's seed (version 0) and the line table. A later `pulumi up` rewrites these two kinds of
        # object only: a seed is in effect only while nothing was published for its line, so a deploy
        # never undoes a publication (and the publisher policy cannot write them).
        layout = Layout(cfg.criteria_prefix)
        for seed in cfg.seeds(stack=pulumi.get_stack()):
            aws.s3.BucketObjectv2(
                f"{name}-criteria-seed-{seed.line}",
                bucket=bucket.id,
                key=layout.seed_key(seed.line),
                content=seed.to_json(),
                content_type="application/json",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        aws.s3.BucketObjectv2(
            f"{name}-criteria-lines",
            bucket=bucket.id,
            key=layout.lines_key,
            content=cfg.criteria_table().to_json(),
            content_type="application/json",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.iam.Policy(
            f"{name}-criteria-publisher",
            description="Publish, list and roll back the inspection pipeline's live criteria; read result "
            "records to backtest them (inspector criteria publish|history|rollback).",
            policy=bucket.arn.apply(
                lambda arn: policies.criteria_publisher_policy(
                    bucket_arn=arn, criteria_prefix=cfg.criteria_prefix, results_prefix=cfg.results_prefix
                )
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
