"""The QcReports component under Pulumi mocks: Glue table, Athena workgroup, digest, schedule, dashboard."""

from __future__ import annotations

import io
import json
from typing import Any

import pulumi
import pytest

from infra import policies
from infra.config import load
from infra.reports import DIGEST_HANDLER, QcReports, QcReportsArgs, dashboard_body
from inspector import constants
from inspector.reports.schema import COMPACT_GLUE_COLUMNS, GLUE_COLUMNS
from tests.infra.conftest import ACCOUNT, REGION, Stack, run_under_mocks

BUCKET = "inspector-bucket-0a1b2c3"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:inspector-verdicts"
QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/inspector-queue-0a1b2c3"
DLQ = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/inspector-dlq-0a1b2c3"
CONFIG = {"criteria": json.dumps({"require": [{"label": "Widget"}]}), "digestSchedule": "cron(30 5 * * ? *)"}


@pytest.fixture
def stack(fake_archive: pulumi.Archive) -> Stack:
    config = load(CONFIG)

    def program() -> Any:
        reports = QcReports(
            "reports",
            QcReportsArgs(
                config=config,
                code=fake_archive,
                bucket_name=BUCKET,
                topic_arn=TOPIC,
                function_name="inspector-function-0a1b2c3",
                queue_url=QUEUE,
                dlq_url=DLQ,
            ),
        )
        return pulumi.Output.all(reports.workgroup, reports.table, reports.dashboard_name)

    return run_under_mocks(program, stack_name="prod")


def policy_of(stack: Stack, name: str) -> dict[str, Any]:
    return json.loads(stack.one("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"])


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in policy["Statement"] if s.get("Sid") == sid]
    return found


def test_the_component_has_its_own_type_token(stack: Stack):
    assert "reports" == stack.one("inspector:index:QcReports").name


def test_the_workgroup_enforces_its_own_encrypted_result_location(stack: Stack):
    workgroup = stack.one("aws:athena/workgroup:Workgroup").inputs
    configuration = workgroup["configuration"]
    results_bucket = stack.one("aws:s3/bucket:Bucket", "reports-athena-results")

    assert "inspector-prod" == workgroup["name"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    result = configuration["resultConfiguration"]
    assert "SSE_S3" == result["encryptionConfiguration"]["encryptionOption"]
    assert f"s3://{results_bucket.name}-0a1b2c3/" == result["outputLocation"]
    assert configuration["bytesScannedCutoffPerQuery"] > 0


def test_the_athena_results_bucket_is_private_encrypted_tls_only_and_expires_results(stack: Stack):
    block = stack.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "reports-athena-results-public-access"
    ).inputs
    encryption = stack.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "reports-athena-results-encryption",
    )
    policy = json.loads(
        stack.one("aws:s3/bucketPolicy:BucketPolicy", "reports-athena-results-tls-only").inputs["policy"]
    )
    lifecycle = stack.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "reports-athena-results-lifecycle"
    ).inputs
    logging = stack.one("aws:s3/bucketLogging:BucketLogging", "reports-athena-results-logging").inputs

    assert all(
        block[k]
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    assert "AES256" == encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
    assert {"aws:SecureTransport": "false"} == policy["Statement"][0]["Condition"]["Bool"]
    assert 7 == lifecycle["rules"][0]["expiration"]["days"]
    assert "reports-access-logs-0a1b2c3" == logging["targetBucket"]


def test_the_table_reads_the_daily_copies_with_the_json_serde_and_projected_day_partitions(stack: Stack):
    table = stack.one("aws:glue/catalogTable:CatalogTable", "reports-records").inputs
    descriptor = table["storageDescriptor"]
    parameters = table["parameters"]

    assert "inspector_prod" == table["databaseName"]
    assert f"s3://{BUCKET}/daily/" == descriptor["location"]
    assert "org.openx.data.jsonserde.JsonSerDe" == descriptor["serDeInfo"]["serializationLibrary"]
    assert [{"name": n, "type": t} for n, t in GLUE_COLUMNS] == descriptor["columns"]
    assert [{"name": "dt", "type": "string"}] == table["partitionKeys"]
    assert "true" == parameters["projection.enabled"]
    assert ("date", "yyyy-MM-dd") == (parameters["projection.dt.type"], parameters["projection.dt.format"])
    assert f"s3://{BUCKET}/daily/dt=${{dt}}/" == parameters["storage.location.template"]


def test_the_compacted_table_reads_parquet_under_compact_with_the_same_projected_days(stack: Stack):
    table = stack.one("aws:glue/catalogTable:CatalogTable", "reports-records-compact").inputs
    descriptor = table["storageDescriptor"]
    parameters = table["parameters"]

    assert ("inspector_prod", "records_compact") == (table["databaseName"], table["name"])
    assert f"s3://{BUCKET}/compact/" == descriptor["location"]
    serde = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert serde == descriptor["serDeInfo"]["serializationLibrary"]
    assert [{"name": n, "type": t} for n, t in COMPACT_GLUE_COLUMNS] == descriptor["columns"]
    assert [{"name": "dt", "type": "string"}] == table["partitionKeys"]
    assert ("date", "yyyy-MM-dd") == (parameters["projection.dt.type"], parameters["projection.dt.format"])
    assert f"s3://{BUCKET}/compact/dt=${{dt}}/" == parameters["storage.location.template"]


def test_the_glue_database_is_named_for_the_stack(stack: Stack):
    assert "inspector_prod" == stack.one("aws:glue/catalogDatabase:CatalogDatabase").inputs["name"]


def test_the_digest_runs_the_same_bundle_with_its_own_handler_and_settings(stack: Stack, fake_archive):
    digest = stack.one("aws:lambda/function:Function", "reports-digest").inputs
    variables = digest["environment"]["variables"]

    assert DIGEST_HANDLER == digest["handler"] == "handler.digest_handler"
    assert BUCKET == variables[constants.ENV_BUCKET]
    assert TOPIC == variables[constants.ENV_TOPIC_ARN]
    assert "inspector-prod" == variables[constants.ENV_ATHENA_WORKGROUP]
    assert "records" == variables[constants.ENV_ATHENA_TABLE]
    assert "records_compact" == variables[constants.ENV_ATHENA_COMPACT_TABLE]
    assert "compact/" == variables[constants.ENV_COMPACT_PREFIX]
    assert "reports/" == variables[constants.ENV_REPORTS_PREFIX]


def test_the_digest_role_has_least_privilege(stack: Stack):
    policy = policy_of(stack, "reports-digest-policy")
    document = json.dumps(policy)

    assert [] == policies.wildcard_actions(document)
    assert [] == [s["Sid"] for s in policy["Statement"] if s["Resource"] in ("*", ["*"])]
    athena = statement(policy, "QueryInOwnWorkgroup")
    assert [f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/inspector-prod"] == athena["Resource"]
    read = [f"arn:aws:s3:::{BUCKET}/daily/*", f"arn:aws:s3:::{BUCKET}/compact/*"]
    assert read == statement(policy, "ReadDailyCopies")["Resource"]
    listing = statement(policy, "ListDailyCopiesOnly")
    assert {"StringLike": {"s3:prefix": ["daily/*", "compact/*"]}} == listing["Condition"]
    assert [f"arn:aws:s3:::{BUCKET}/reports/*"] == statement(policy, "KeepAndLinkReports")["Resource"]
    assert [TOPIC] == statement(policy, "PublishDigest")["Resource"]
    glue = statement(policy, "ReadTheRecordsTable")["Resource"]
    assert f"arn:aws:glue:{REGION}:{ACCOUNT}:table/inspector_prod/records" in glue
    assert f"arn:aws:glue:{REGION}:{ACCOUNT}:table/inspector_prod/records_compact" in glue
    # Nothing writes or deletes records, images or filed copies.
    writes = [s for s in policy["Statement"] if set(s["Action"]) & {"s3:PutObject", "s3:DeleteObject"}]
    assert all(
        "images/" not in r and "results/" not in r and "daily/" not in r and "compact/" not in r
        for s in writes
        for r in s["Resource"]
    )


def test_the_schedule_invokes_the_digest_through_a_role_that_can_invoke_only_it(stack: Stack):
    schedule = stack.one("aws:scheduler/schedule:Schedule").inputs
    role = stack.one("aws:iam/role:Role", "reports-scheduler-role").inputs
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    invoke = statement(policy_of(stack, "reports-scheduler-policy"), "InvokeDigest")
    digest_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:reports-digest-0a1b2c3"

    assert "cron(30 5 * * ? *)" == schedule["scheduleExpression"]
    assert "UTC" == schedule["scheduleExpressionTimezone"]
    assert {"mode": "OFF"} == schedule["flexibleTimeWindow"]
    assert digest_arn == schedule["target"]["arn"]
    assert {"Service": "scheduler.amazonaws.com"} == trust["Principal"]
    assert {"StringEquals": {"aws:SourceAccount": ACCOUNT}} == trust["Condition"]
    assert ["lambda:InvokeFunction"] == invoke["Action"]
    assert [digest_arn, f"{digest_arn}:*"] == invoke["Resource"]


def test_the_dashboard_shows_verdicts_by_line_latency_queue_age_dlq_depth_and_errors(stack: Stack):
    body = json.loads(stack.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    text = json.dumps(body)

    assert [
        "Images by verdict and line",
        "Recognition latency (ms)",
        "Age of the oldest queued image (s)",
        "Dead-letter queue depth",
        "Errors",
    ] == titles
    assert '{WidgetInspector,Line,Service,Verdict} MetricName=\\"Images\\"' in text
    assert '"QueueName", "inspector-queue-0a1b2c3"' in text
    assert '"QueueName", "inspector-dlq-0a1b2c3"' in text
    assert '"FunctionName", "inspector-function-0a1b2c3"' in text
    assert {REGION} == {w["properties"]["region"] for w in body["widgets"]}


def test_dashboard_metrics_match_the_names_the_function_emits():
    from inspector.observability import Metrics  # noqa: PLC0415

    emitted = Metrics(constants.DEFAULT_METRICS_NAMESPACE, stream=io.StringIO())
    emitted.count("Images", dimension="Verdict", value="PASS")
    emitted.count("Errors", dimension="Kind", value="retry")
    emitted.timing("RecognitionLatency", 12.0)
    names = {m["Name"] for d in emitted.flush() for c in d["_aws"]["CloudWatchMetrics"] for m in c["Metrics"]}
    body = json.dumps(
        dashboard_body(region=REGION, namespace=constants.DEFAULT_METRICS_NAMESPACE, function_name="f",
                       queue="q", dlq="d", digest_function_name="g")
    )  # fmt: skip

    assert {"Images", "Errors", "RecognitionLatency"} == names
    for name in names:
        assert name in body
