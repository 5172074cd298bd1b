"""The Pulumi program (`__main__.py`) and its stack settings, under mocks."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest

import infra.bundle
from infra.bundle import Bundle
from infra.config import StackConfigError, load
from tests.infra.conftest import REPO, Stack, run_under_mocks, stack_config_values

EXPORTS = {
    "bucketName",
    "uploadPrefix",
    "queueUrl",
    "dlqUrl",
    "topicArn",
    "reviewerPolicyArn",
    "opsTopicArn",
    "functionName",
    "criteriaFingerprint",
    "lines",
    "criteriaPrefix",
    "criteriaPublisherPolicyArn",
    "reportsWorkgroup",
    "reportsDatabase",
    "reportsTable",
    "reportsCompactTable",
    "digestFunctionName",
    "dashboardName",
}


@pytest.fixture
def no_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str]]:
    """Stand in for the bundle build (tested on its own in test_bundle.py): no pip, no network."""
    calls: list[tuple[str, str]] = []
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)

    def fake_build(*, architecture: str, python_version: str, **_: Any) -> Bundle:
        calls.append((architecture, python_version))
        return Bundle(archive, "0" * 64, archive.stat().st_size, architecture, python_version)

    monkeypatch.setattr(infra.bundle, "build_bundle", fake_build)
    return calls


def run_program(stack_name: str, config: dict[str, str]) -> tuple[Stack, dict[str, Any]]:
    exported: dict[str, Any] = {}

    def program() -> Any:
        namespace = runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
        pipeline = namespace["pipeline"]
        outputs = [pipeline.bucket_name, pipeline.queue_url, pipeline.dlq_url, pipeline.topic_arn]
        return pulumi.Output.all(*outputs).apply(
            lambda values: exported.update(zip("bqdt", values, strict=True))
        )

    stack = run_under_mocks(program, stack_name=stack_name, config=config)
    return stack, exported


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_both_example_stacks_load(stack_name: str):
    values = stack_config_values(f"Pulumi.{stack_name}.yaml")
    settings = load(
        {k.removeprefix("inspector:"): v for k, v in values.items() if k.startswith("inspector:")}
    )

    assert settings.notify
    assert settings.criteria.fingerprint


def test_dev_may_destroy_a_non_empty_bucket_and_prod_never():
    dev, prod = (
        load(
            {k.removeprefix("inspector:"): v for k, v in stack_config_values(f).items() if "inspector:" in k}
        )
        for f in ("Pulumi.dev.yaml", "Pulumi.prod.yaml")
    )

    assert (True, False) == (dev.force_destroy, prod.force_destroy)
    assert dev.log_retention_days < prod.log_retention_days


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_the_program_declares_the_whole_stack_for_each_example(
    stack_name: str, no_build: list[tuple[str, str]]
):
    stack, exported = run_program(stack_name, stack_config_values(f"Pulumi.{stack_name}.yaml"))

    assert [("arm64", "3.13")] == no_build
    types = {r.typ for r in stack.resources}
    assert {
        "inspector:index:InspectionPipeline",
        "inspector:index:QcReports",
        "aws:glue/catalogTable:CatalogTable",
        "aws:athena/workgroup:Workgroup",
        "aws:scheduler/schedule:Schedule",
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketNotification:BucketNotification",
        "aws:sqs/queue:Queue",
        "aws:lambda/function:Function",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:sns/topic:Topic",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    } <= types
    assert exported["b"] == "inspector-bucket-0a1b2c3"
    assert exported["d"].endswith("inspector-dlq-0a1b2c3")


def test_the_program_exports_what_the_readme_promises():
    source = (REPO / "__main__.py").read_text()

    exported = {
        line.split('"')[1] for line in source.splitlines() if line.strip().startswith("pulumi.export(")
    }
    assert EXPORTS == exported


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"inspector:criteria": None}, "inspector:criteria is required", id="criteria missing"),
        pytest.param(
            {"inspector:criteria": json.dumps({"require": [{"label": "Widget", "minConfidence": 101}]})},
            "inspector:criteria.require[0].minConfidence",
            id="criteria out of range",
        ),
        pytest.param({"inspector:memoryMb": "64"}, "inspector:memoryMb", id="memory too small"),
        pytest.param({"inspector:glacierAfterDay": "3"}, "inspector:glacierAfterDay: unknown key", id="typo"),
        pytest.param({"inspector:architecture": "aarch64"}, "inspector:architecture", id="architecture"),
        pytest.param({"inspector:pythonVersion": "3.9"}, "inspector:pythonVersion", id="runtime"),
        pytest.param({"inspector:detector": "local"}, "inspector:detector", id="local detector"),
        pytest.param(
            {"inspector:detector": "custom-labels"},
            "inspector:customLabelsArn is required when inspector:detector=custom-labels",
            id="custom labels without a model",
        ),
        pytest.param(
            {"inspector:notify": json.dumps([{"email": "qc-at-example.com"}])},
            "inspector:notify[0].email: 'qc-at-example.com' is not an email address",
            id="bad email",
        ),
        pytest.param(
            {"inspector:notify": json.dumps([{"email": "qc@example.com", "only": ["BROKEN"]}])},
            "inspector:notify[0].only[0]",
            id="unknown verdict filter",
        ),
        pytest.param(
            {"inspector:analyzedPrefix": "images/analyzed/"},
            "inspector:imagesPrefix ('images/') and inspector:analyzedPrefix ('images/analyzed/') overlap",
            id="overlapping prefixes",
        ),
        pytest.param(
            {"inspector:imagesPrefix": "images"}, "inspector:imagesPrefix", id="prefix without slash"
        ),
        pytest.param(
            {"inspector:logRetentionDays": "10"}, "inspector:logRetentionDays: 10 is not", id="retention"
        ),
        pytest.param(
            {"inspector:timeoutSeconds": "901"}, "inspector:timeoutSeconds", id="beyond Lambda's 900 s"
        ),
        pytest.param({"inspector:maxConcurrency": "1"}, "inspector:maxConcurrency", id="concurrency below 2"),
        pytest.param({"inspector:forceDestroy": "maybe"}, "inspector:forceDestroy", id="not a boolean"),
    ],
)
def test_bad_config_is_refused_naming_the_key_before_any_resource(
    change: dict[str, str | None], message: str, no_build: list[tuple[str, str]]
):
    merged = {**stack_config_values("Pulumi.dev.yaml"), **change}
    config = {k: v for k, v in merged.items() if v is not None}

    with pytest.raises(pulumi.RunError) as refused:
        run_program("dev", config)

    assert message in str(refused.value)
    assert 1 == len(str(refused.value).splitlines())
    assert [] == no_build  # stopped before the bundle, which comes before every resource


def test_config_errors_are_stack_config_errors_naming_every_bad_key():
    with pytest.raises(StackConfigError) as refused:
        load({"criteria": json.dumps({"require": [{"label": "W"}]}), "memoryMb": "1", "batchSize": "99"})

    assert "inspector:memoryMb" in str(refused.value)
    assert "inspector:batchSize" in str(refused.value)


def test_a_stack_keeping_no_daily_copies_declares_no_reports(no_build: list[tuple[str, str]]):
    config = {**stack_config_values("Pulumi.dev.yaml"), "inspector:dailyPrefix": ""}

    stack, _ = run_program("dev", config)

    assert [] == [r.name for r in stack.resources if r.name.startswith("reports")]
    assert stack.of_type("inspector:index:InspectionPipeline")
