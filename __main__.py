"""The Pulumi program: validate the stack config, build the Lambda bundle, declare the pipeline, export."""

from __future__ import annotations

import pulumi

from infra import config as stack_config
from infra.bundle import build_bundle, describe
from infra.program import declare

try:
    settings = stack_config.load(stack_config.read_pulumi_config())
except stack_config.StackConfigError as exc:
    # Stop before any resource is declared, with one message naming the key.
    raise pulumi.RunError(str(exc)) from None

bundle = build_bundle(architecture=settings.architecture, python_version=settings.python_version)
pulumi.log.info(f"Lambda bundle {describe(bundle)}")

code = pulumi.FileArchive(str(bundle.path))
program = declare(settings, code)
pipeline = program.pipeline

pulumi.export("bucketName", pipeline.bucket_name)
pulumi.export("uploadPrefix", pipeline.images_prefix)
pulumi.export("queueUrl", pipeline.queue_url)
pulumi.export("dlqUrl", pipeline.dlq_url)
pulumi.export("topicArn", pipeline.topic_arn)
pulumi.export("opsTopicArn", pipeline.ops_topic_arn)
pulumi.export("functionName", pipeline.function_name)
pulumi.export("reviewerPolicyArn", pipeline.reviewer_policy_arn)
pulumi.export("criteriaFingerprint", settings.criteria.fingerprint)  # the default line's seed
pulumi.export("lines", {line.name: line.prefix or "" for line in settings.line_table.all})
pulumi.export("criteriaPrefix", settings.criteria_prefix)
pulumi.export("criteriaPublisherPolicyArn", pipeline.criteria_publisher_policy_arn)

if program.reports is not None:
    reports = program.reports
    pulumi.export("reportsWorkgroup", reports.workgroup)
    pulumi.export("reportsDatabase", reports.database)
    pulumi.export("reportsTable", reports.table)
    pulumi.export("reportsCompactTable", reports.compact_table)
    pulumi.export("digestFunctionName", reports.digest_function_name)
    pulumi.export("dashboardName", reports.dashboard_name)
