"""`QcReports`: the Glue table over the daily record copies, an Athena workgroup, the daily digest and the
CloudWatch dashboard of one environment, as one Pulumi component."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.pipeline import access_logs, private_bucket
from inspector import constants
from inspector.deployment import Deployment
from inspector.reports.schema import COMPACT_GLUE_COLUMNS, GLUE_COLUMNS

DIGEST_HANDLER = "handler.digest_handler"
# Partition projection over `daily/dt=yyyy-MM-dd/`: Athena computes the partitions a query's `dt` filter
# names instead of listing them, so a day's report reads that day's folder only and no crawler or
# `MSCK REPAIR` is needed.
PROJECTION_START = "2026-01-01"
ATHENA_RESULTS_DAYS = 7  # query results are read once, by the report that asked; then expired
SCAN_LIMIT_BYTES = 10 * 1024**3  # the workgroup cancels a query that would scan more: a runaway guard
DIGEST_TIMEOUT_SECONDS = 300
DIGEST_MEMORY_MB = 512


def day_projection(classification: str, location: str) -> dict[str, str]:
    """A Glue table's parameters for partition projection on `dt` (one folder a day, `dt=YYYY-MM-DD/`,
    under `location`), so that Athena lists no partitions and reads only the days a query names."""
    return {
        "classification": classification,
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{PROJECTION_START},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": location + "dt=${dt}/",
    }


@dataclass
class QcReportsArgs:
    config: Deployment
    code: pulumi.Archive  # the same bundle as the inspection function
    bucket_name: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]  # the inspection function, for the dashboard
    queue_url: pulumi.Input[str]
    dlq_url: pulumi.Input[str]
    tags: dict[str, str] | None = None


def glue_name(text: str) -> str:
    """A Glue/Athena identifier: lower case, letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class QcReports(pulumi.ComponentResource):
    """Glue database and tables (daily copies, compacted days), Athena workgroup (own encrypted results),
    digest function and schedule, dashboard; each role with least privilege."""

    workgroup: pulumi.Output[str]
    database: pulumi.Output[str]
    table: pulumi.Output[str]
    compact_table: pulumi.Output[str]
    digest_function_name: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: QcReportsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("inspector:index:QcReports", name, None, opts)
        cfg = args.config
        if cfg.daily_prefix is None:
            raise ValueError("QcReports needs the daily copies: set dailyPrefix")
        daily_prefix = cfg.daily_prefix
        compact_prefix = cfg.compact_prefix or ""
        tags = {"app": "widget-inspector", **(args.tags or {})}
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        stack = pulumi.get_stack()
        bucket_arn = pulumi.Output.from_input(args.bucket_name).apply(lambda b: f"arn:aws:s3:::{b}")

        # --- Athena's own result location -------------------------------------------------------
        # Private, ACLs off, SSE-S3 (S3.2, S3.3, S3.8, S3.12); TLS only (S3.5); expired (S3.13); its server
        # access logs in a log bucket of the reports' own (S3.9): the pipeline's log bucket admits the images
        # bucket's deliveries only, by that bucket's ARN, which must be known when its policy is written.
        results, results_block = private_bucket(
            f"{name}-athena-results", force_destroy=True, tags=tags, opts=child
        )
        aws.s3.BucketPolicy(
            f"{name}-athena-results-tls-only",
            bucket=results.id,
            policy=results.arn.apply(policies.bucket_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[results_block]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-athena-results-lifecycle",
            bucket=results.id,
            rules=[
                {
                    "id": "expire-query-results",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "expiration": {"days": ATHENA_RESULTS_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            opts=child,
        )
        access_logs(
            name,
            logged=results,
            logging_name=f"{name}-athena-results-logging",
            target_prefix="athena-results-bucket/",
            account_id=account_id,
            force_destroy=True,
            tags=tags,
            parent=self,
        )
        workgroup = aws.athena.Workgroup(
            f"{name}-workgroup",
            name=f"inspector-{stack}",
            description="widget-inspector QC reports",
            force_destroy=True,
            configuration={
                # Queries cannot choose another result location or turn encryption off.
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": SCAN_LIMIT_BYTES,
                "engine_version": {"selected_engine_version": "Athena engine version 3"},
                "result_configuration": {
                    "output_location": results.bucket.apply(lambda b: f"s3://{b}/"),
                    "encryption_configuration": {"encryption_option": "SSE_S3"},
                },
            },
            tags=tags,
            opts=child,
        )

        # --- Glue: the table over the daily copies --------------------------------------------------
        database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=glue_name(f"inspector_{stack}"),
            description="widget-inspector result records",
            opts=child,
        )
        location = pulumi.Output.from_input(args.bucket_name).apply(lambda b: f"s3://{b}/{daily_prefix}")
        table = aws.glue.CatalogTable(
            f"{name}-records",
            name="records",
            database_name=database.name,
            table_type="EXTERNAL_TABLE",
            parameters=location.apply(lambda loc: day_projection("json", loc)),
            partition_keys=[{"name": "dt", "type": "string"}],
            storage_descriptor={
                "location": location,
                "input_format": "org.apache.hadoop.mapred.TextInputFormat",
                "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "ser_de_info": {
                    "serialization_library": "org.openx.data.jsonserde.JsonSerDe",
                    "parameters": {"ignore.malformed.json": "true"},
                },
                "columns": [{"name": n, "type": t} for n, t in GLUE_COLUMNS],
            },
            opts=child,
        )

        # The closed days compacted into Parquet (`inspector compact`): the same projection on `dt`, over
        # compact/dt=.../records.parquet. A report reads a day here only while its _SUCCESS marker exists
        # (Athena skips files starting with `_`), else from the daily copies above.
        compact_location = pulumi.Output.from_input(args.bucket_name).apply(
            lambda b: f"s3://{b}/{compact_prefix}"
        )
        compact_table = aws.glue.CatalogTable(
            f"{name}-records-compact",
            name="records_compact",
            database_name=database.name,
            table_type="EXTERNAL_TABLE",
            parameters=compact_location.apply(lambda loc: day_projection("parquet", loc)),
            partition_keys=[{"name": "dt", "type": "string"}],
            storage_descriptor={
                "location": compact_location,
                "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "ser_de_info": {
                    "serialization_library": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                },
                "columns": [{"name": n, "type": t} for n, t in COMPACT_GLUE_COLUMNS],
            },
            opts=child,
        )

        # --- the digest: a function on the same bundle, and its schedule ----------------------------
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-digest-logs",
            name=f"/aws/lambda/{name}-digest-{stack}",
            retention_in_days=cfg.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-digest-role", assume_role_policy=policies.assume_role_policy(), tags=tags, opts=child
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-digest-policy",
            role=role.id,
            policy=pulumi.Output.all(
                bucket_arn,
                results.arn,
                workgroup.name,
                database.name,
                table.name,
                args.topic_arn,
                log_group.arn,
                account_id,
                region,
                compact_table.name,
            ).apply(
                lambda a: policies.digest_policy(
                    bucket_arn=a[0],
                    daily_prefix=daily_prefix,
                    compact_prefix=compact_prefix,
                    reports_prefix=cfg.reports_prefix,
                    athena_results_arn=a[1],
                    workgroup_arn=f"arn:aws:athena:{a[8]}:{a[7]}:workgroup/{a[2]}",
                    glue_arns=[
                        f"arn:aws:glue:{a[8]}:{a[7]}:catalog",
                        f"arn:aws:glue:{a[8]}:{a[7]}:database/{a[3]}",
                        f"arn:aws:glue:{a[8]}:{a[7]}:table/{a[3]}/{a[4]}",
                        f"arn:aws:glue:{a[8]}:{a[7]}:table/{a[3]}/{a[9]}",
                    ],
                    topic_arn=a[5],
                    log_group_arn=a[6],
                )
            ),
            opts=child,
        )
        environment = pulumi.Output.all(
            args.bucket_name, args.topic_arn, workgroup.name, database.name, table.name, compact_table.name
        )
        digest = aws.lambda_.Function(
            f"{name}-digest",
            runtime=f"python{cfg.python_version}",
            architectures=[cfg.architecture],
            handler=DIGEST_HANDLER,
            code=args.code,
            memory_size=DIGEST_MEMORY_MB,
            timeout=DIGEST_TIMEOUT_SECONDS,
            role=role.arn,
            environment={
                "variables": environment.apply(
                    lambda a: {
                        constants.ENV_BUCKET: a[0],
                        constants.ENV_TOPIC_ARN: a[1],
                        constants.ENV_ATHENA_WORKGROUP: a[2],
                        constants.ENV_ATHENA_DATABASE: a[3],
                        constants.ENV_ATHENA_TABLE: a[4],
                        constants.ENV_ATHENA_COMPACT_TABLE: a[5],
                        constants.ENV_COMPACT_PREFIX: compact_prefix,
                        constants.ENV_REPORTS_PREFIX: cfg.reports_prefix,
                        constants.ENV_LINK_EXPIRY_SECONDS: str(cfg.link_expiry_seconds),
                        constants.ENV_LOG_LEVEL: cfg.log_level,
                        "PYDANTIC_DISABLE_PLUGINS": "__all__",
                    }
                )
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )
        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            assume_role_policy=account_id.apply(policies.scheduler_assume_role_policy),
            tags=tags,
            opts=child,
        )
        scheduler_policy = aws.iam.RolePolicy(
            f"{name}-scheduler-policy",
            role=scheduler_role.id,
            policy=digest.arn.apply(policies.invoke_policy),
            opts=child,
        )
        aws.scheduler.Schedule(
            f"{name}-digest-schedule",
            description="The daily QC digest of each line: yesterday's counts, yield, reasons, backlog",
            schedule_expression=cfg.digest_schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": digest.arn,
                "role_arn": scheduler_role.arn,
                "input": json.dumps({"source": "schedule"}),
                "retry_policy": {"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]),
        )

        # --- the dashboard ------------------------------------------------------------------------
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"inspector-{stack}",
            dashboard_body=pulumi.Output.all(
                region, args.function_name, args.queue_url, args.dlq_url, digest.name
            ).apply(
                lambda a: json.dumps(
                    dashboard_body(
                        region=a[0],
                        namespace=constants.DEFAULT_METRICS_NAMESPACE,
                        function_name=a[1],
                        queue=queue_name(a[2]),
                        dlq=queue_name(a[3]),
                        digest_function_name=a[4],
                    ),
                    sort_keys=True,
                )
            ),
            opts=child,
        )

        self.workgroup = workgroup.name
        self.database = database.name
        self.compact_table = compact_table.name
        self.table = table.name
        self.digest_function_name = digest.name
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs(
            {
                "workgroup": self.workgroup,
                "database": self.database,
                "table": self.table,
                "compact_table": self.compact_table,
                "digest_function_name": self.digest_function_name,
                "dashboard_name": self.dashboard_name,
            }
        )


def dashboard_body(
    *, region: str, namespace: str, function_name: str, queue: str, dlq: str, digest_function_name: str
) -> dict[str, Any]:
    """The dashboard: images by verdict and line, recognition latency, queue age, DLQ depth, errors.

    The function's metrics (inspector.observability) are EMF with the dimensions `Service` and `Verdict`
    (`Line` too, per line); SEARCH picks up every combination that exists, so a new line shows without a
    change here.
    """

    def widget(
        title: str, metrics: list[Any], *, x: int, y: int, stat: str = "Sum", **extra: Any
    ) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 300,
                "view": "timeSeries",
                "metrics": metrics,
                **extra,
            },
        }

    def search(schema: str, metric: str, stat: str, label: str, ident: str) -> list[Any]:
        return [
            {
                "expression": f"SEARCH('{{{schema}}} MetricName=\"{metric}\"', '{stat}', 300)",
                "label": label,
                "id": ident,
            }
        ]

    return {
        "widgets": [
            widget(
                "Images by verdict and line",
                [
                    search(f"{namespace},Line,Service,Verdict", "Images", "Sum", "", "byline"),
                    search(f"{namespace},Service,Verdict", "Images", "Sum", "", "byverdict"),
                ],
                x=0,
                y=0,
                stacked=True,
            ),
            widget(
                "Recognition latency (ms)",
                [
                    [
                        namespace,
                        "RecognitionLatency",
                        "Service",
                        "inspector",
                        {"stat": "p50", "label": "p50"},
                    ],
                    [
                        namespace,
                        "RecognitionLatency",
                        "Service",
                        "inspector",
                        {"stat": "p90", "label": "p90"},
                    ],
                    [
                        namespace,
                        "RecognitionLatency",
                        "Service",
                        "inspector",
                        {"stat": "p99", "label": "p99"},
                    ],
                ],
                x=12,
                y=0,
                stat="p50",
            ),
            widget(
                "Age of the oldest queued image (s)",
                [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue]],
                x=0,
                y=6,
                stat="Maximum",
            ),
            widget(
                "Dead-letter queue depth",
                [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq]],
                x=12,
                y=6,
                stat="Maximum",
            ),
            widget(
                "Errors",
                [
                    search(f"{namespace},Kind,Service", "Errors", "Sum", "", "kinds"),
                    ["AWS/Lambda", "Errors", "FunctionName", function_name, {"label": "inspection function"}],
                    ["AWS/Lambda", "Throttles", "FunctionName", function_name, {"label": "throttles"}],
                    [
                        "AWS/Lambda",
                        "Errors",
                        "FunctionName",
                        digest_function_name,
                        {"label": "digest function"},
                    ],
                ],
                x=0,
                y=12,
            ),
        ]
    }
