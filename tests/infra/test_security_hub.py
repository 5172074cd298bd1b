"""The Security Hub controls (tests/infra/security_controls.py) on the stacks the examples declare."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra.config import load
from infra.program import declare as declare_program
from tests.infra.conftest import Stack, run_under_mocks, stack_config_values
from tests.infra.security_controls import CONTROLS, COVERED_SERVICES, NO_CONTROL, Control, broken, failing

CUSTOM_LABELS = {
    "detector": "custom-labels",
    "customLabelsArn": "arn:aws:rekognition:eu-west-1:123456789012:project/w/version/w.1/1",
    "criteria": json.dumps({"require": [{"label": "Widget"}]}),
}


def declare(stack_file: str, extra: dict[str, str] | None = None) -> Stack:
    values = {
        k.removeprefix("inspector:"): v
        for k, v in stack_config_values(stack_file).items()
        if k.startswith("inspector:")
    }
    config = load({**values, **(extra or {})})
    archive = pulumi.FileArchive(__file__)  # never read under the mocks

    def program() -> Any:
        # The whole program, as __main__.py declares it: the pipeline and (daily copies kept) the reports.
        declared = declare_program(config, archive)
        assert declared.reports is not None
        return pulumi.Output.all(declared.pipeline.bucket_name, declared.reports.workgroup)

    return run_under_mocks(program)


@pytest.fixture(scope="module", params=["Pulumi.dev.yaml", "Pulumi.prod.yaml", "custom-labels"])
def stack(request: pytest.FixtureRequest) -> Stack:
    if request.param == "custom-labels":
        return declare("Pulumi.prod.yaml", CUSTOM_LABELS)
    return declare(request.param)


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_the_stack_passes_the_control(stack: Stack, control: Control, request: pytest.FixtureRequest):
    if control.production_only and request.node.callspec.params["stack"] == "Pulumi.dev.yaml":
        # Knowingly: dev keeps 7 days of logs (the README's table says so); prod keeps 365.
        assert [] != failing(control, stack)
    else:
        assert [] == failing(control, stack)


@pytest.mark.parametrize("control", CONTROLS, ids=[c.id for c in CONTROLS])
def test_the_control_fails_a_stack_broken_for_it(stack: Stack, control: Control):
    # Proves each check looks at something, including those for resource types not declared yet.
    assert [] != failing(control, broken(control, stack))


def test_every_declared_resource_type_of_the_covered_services_is_evaluated_or_explained(stack: Stack):
    evaluated = {t for c in CONTROLS for t in c.types}
    declared = {r.typ for r in stack.resources if r.typ.startswith(COVERED_SERVICES)}

    unexplained = declared - evaluated - set(NO_CONTROL)
    assert set() == unexplained, (
        "add a Control in tests/infra/security_controls.py (and the README's table) or a NO_CONTROL reason"
    )


def test_the_ops_topic_is_under_the_stacks_own_key_and_the_verdict_topic_under_sns_own(stack: Stack):
    [key] = stack.of_type("aws:kms/key:Key")
    ops = stack.one("aws:sns/topic:Topic", "inspector-ops").inputs["kmsMasterKeyId"]
    verdicts = stack.one("aws:sns/topic:Topic", "inspector-verdicts").inputs["kmsMasterKeyId"]

    assert ops.endswith("inspector-ops-key-0a1b2c3")
    assert "alias/aws/sns" == verdicts
    assert (True, 30.0) == (key.inputs["enableKeyRotation"], key.inputs["deletionWindowInDays"])


def test_the_ops_key_lets_cloudwatch_alarms_publish_and_nothing_else(stack: Stack):
    key_policy = json.loads(stack.one("aws:kms/key:Key").inputs["policy"])
    by_principal = {json.dumps(s["Principal"], sort_keys=True): s for s in key_policy["Statement"]}
    cloudwatch = by_principal['{"Service": "cloudwatch.amazonaws.com"}']

    assert 2 == len(by_principal)
    assert ["kms:Decrypt", "kms:GenerateDataKey*"] == cloudwatch["Action"]
    alarms = stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) >= 4
    assert all(a.inputs["alarmActions"] == [stack_topic_arn(stack, "inspector-ops")] for a in alarms)


def stack_topic_arn(stack: Stack, name: str) -> str:
    return f"arn:aws:sns:eu-west-1:123456789012:{name}-0a1b2c3"


@pytest.mark.parametrize(
    ("logging_name", "source", "target", "policy_name"),
    [
        ("inspector-access-logging", "inspector-bucket", "inspector-access-logs",
         "inspector-access-logs-policy"),
        ("reports-athena-results-logging", "reports-athena-results", "reports-access-logs",
         "reports-access-logs-policy"),
    ],
    ids=["images bucket", "athena results bucket"],
)  # fmt: skip
def test_server_access_logs_of_each_bucket_go_to_a_log_bucket_which_only_s3_logging_of_it_may_write(
    stack: Stack, logging_name: str, source: str, target: str, policy_name: str
):
    logging = stack.one("aws:s3/bucketLogging:BucketLogging", logging_name).inputs
    policy = json.loads(stack.one("aws:s3/bucketPolicy:BucketPolicy", policy_name).inputs["policy"])
    [delivery] = [s for s in policy["Statement"] if s["Effect"] == "Allow"]

    assert (f"{source}-0a1b2c3", f"{target}-0a1b2c3") == (logging["bucket"], logging["targetBucket"])
    assert {"Service": "logging.s3.amazonaws.com"} == delivery["Principal"]
    assert "s3:PutObject" == delivery["Action"]
    assert {"aws:SourceArn": f"arn:aws:s3:::{source}-0a1b2c3"} == delivery["Condition"]["ArnLike"]
