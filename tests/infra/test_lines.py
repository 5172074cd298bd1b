"""A stack with two lines and the default one, under Pulumi mocks: recipients, seeds, alarms and policies."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from infra import policies
from infra.config import StackConfigError, load
from infra.pipeline import InspectionPipeline, InspectionPipelineArgs
from inspector.criteria import Criteria
from inspector.settings import Settings
from tests.infra.conftest import Stack, run_under_mocks

BUCKET = "arn:aws:s3:::inspector-bucket-0a1b2c3"
DEFAULT = {"minConfidence": 90, "require": [{"label": "Widget"}]}
LINE_1 = {"require": [{"label": "Widget"}], "forbid": [{"label": "Scratch", "minConfidence": 70}]}
LINE_2 = {"require": [{"label": "Gear"}], "quality": {"minSharpness": 40}}
MODEL = "arn:aws:rekognition:eu-west-1:123456789012:project/gears/version/gears.1/1"
CONFIG = {
    "criteria": json.dumps(DEFAULT),
    "notify": json.dumps(
        [{"email": "audit@example.com"}, {"email": "plant@example.com", "lines": ["default"]}]
    ),
    "lines": json.dumps(
        [
            {
                "name": "line-1",
                "prefix": "line-1/",
                "criteria": LINE_1,
                "notify": [{"email": "lead-1@example.com", "only": ["FAIL", "REVIEW"]}],
            },
            {
                "name": "line-2",
                "prefix": "gears/",
                "criteria": LINE_2,
                "detectors": ["rekognition", "custom-labels"],
                "customLabelsArn": MODEL,
                "notify": [{"email": "lead-2@example.com"}],
            },
        ]
    ),
}


def declare(values: dict[str, str], archive: pulumi.Archive) -> tuple[Stack, dict[str, Any]]:
    config = load(values)
    outputs: dict[str, Any] = {}

    def program() -> Any:
        pipeline = InspectionPipeline("inspector", InspectionPipelineArgs(config=config, code=archive))
        return pulumi.Output.all(pipeline.criteria_publisher_policy_arn, pipeline.function_name).apply(
            lambda v: outputs.update(publisher=v[0])
        )

    return run_under_mocks(program), outputs


@pytest.fixture
def lined(fake_archive: pulumi.Archive) -> tuple[Stack, dict[str, Any]]:
    return declare(CONFIG, fake_archive)


def test_each_lines_recipients_are_subscribed_with_a_filter_on_their_line(lined: tuple[Stack, Any]) -> None:
    stack, _ = lined
    subscriptions = {
        s.inputs["endpoint"]: (json.loads(s.inputs["filterPolicy"]) if "filterPolicy" in s.inputs else None)
        for s in stack.of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.name.startswith("inspector-notify-")
    }

    no_digests = {"kind": [{"anything-but": ["digest"]}]}
    assert {
        "audit@example.com": no_digests,
        "plant@example.com": {**no_digests, "line": ["default"]},
        "lead-1@example.com": {"verdict": ["FAIL", "REVIEW"], "line": ["line-1"]},
        "lead-2@example.com": {**no_digests, "line": ["line-2"]},
    } == subscriptions


def test_the_function_learns_the_lines_and_no_criteria_from_its_environment(lined: tuple[Stack, Any]) -> None:
    stack, _ = lined
    variables = stack.one("aws:lambda/function:Function").inputs["environment"]["variables"]

    settings = Settings.from_env(variables)

    assert ["default", "line-1", "line-2"] == settings.line_table.names
    assert "line-2" == settings.line_table.for_key("gears/g1.jpg").name
    assert "default" == settings.line_table.for_key("line-3/w.jpg").name
    assert all(line.criteria is None and not line.notify for line in settings.line_table.all)
    assert ("rekognition", "custom-labels") == settings.line_table.named("line-2").detectors
    assert "INSPECTOR_CRITERIA" not in variables


def test_each_line_is_seeded_with_its_own_criteria_and_request(lined: tuple[Stack, Any]) -> None:
    stack, _ = lined
    seeds = {
        r.inputs["key"]: json.loads(r.inputs["content"])
        for r in stack.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if r.inputs["key"].endswith("/seed.json")
    }

    assert {"criteria/default/seed.json", "criteria/line-1/seed.json", "criteria/line-2/seed.json"} == set(
        seeds
    )
    for key, criteria in (("default", DEFAULT), ("line-1", LINE_1), ("line-2", LINE_2)):
        seed = seeds[f"criteria/{key}/seed.json"]
        assert (key, 0, Criteria.from_document(criteria).fingerprint) == (
            seed["line"],
            seed["version"],
            seed["fingerprint"],
        )
        assert "publishedAt" not in seed  # the same document on every deploy: no diff without a change
    requests = {
        line: Criteria.from_document(seeds[f"criteria/{line}/seed.json"]["criteria"]).detection_request()
        for line in ("line-1", "line-2")
    }
    assert (("Widget", "Scratch"), False) == (requests["line-1"].labels, requests["line-1"].image_properties)
    assert (("Gear",), True) == (requests["line-2"].labels, requests["line-2"].image_properties)


def test_the_line_table_tells_the_commands_where_each_lines_images_are(lined: tuple[Stack, Any]) -> None:
    stack, _ = lined
    table = json.loads(
        stack.one("aws:s3/bucketObjectv2:BucketObjectv2", "inspector-criteria-lines").inputs["content"]
    )

    assert [("default", None), ("line-1", "line-1/"), ("line-2", "gears/")] == [
        (entry["name"], entry.get("prefix")) for entry in table["lines"]
    ]
    assert ("images/", "results/", 60) == (
        table["imagesPrefix"],
        table["resultsPrefix"],
        table["refreshSeconds"],
    )


def test_each_line_has_an_alarm_on_refused_criteria(lined: tuple[Stack, Any]) -> None:
    stack, _ = lined
    alarms = {
        a.name: a.inputs
        for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name.startswith("inspector-criteria-rejected-")
    }

    assert {f"inspector-criteria-rejected-{n}" for n in ("default", "line-1", "line-2")} == set(alarms)
    line_1 = alarms["inspector-criteria-rejected-line-1"]
    assert ("WidgetInspector", "CriteriaRejected", {"Service": "inspector", "Line": "line-1"}) == (
        line_1["namespace"],
        line_1["metricName"],
        line_1["dimensions"],
    )
    assert (0.0, "GreaterThanThreshold", "Sum") == (
        line_1["threshold"],
        line_1["comparisonOperator"],
        line_1["statistic"],
    )
    assert line_1["alarmActions"]


def _grants(policy: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for statement in json.loads(policy)["Statement"]:
        assert "Allow" == statement["Effect"]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions:
            found.setdefault(action, set()).update(resources)
    return found


def test_the_function_only_reads_criteria(lined: tuple[Stack, Any]) -> None:
    stack, _ = lined
    grants = _grants(stack.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])

    assert f"{BUCKET}/criteria/*" in grants["s3:GetObject"]
    assert not any("criteria" in resource for resource in grants["s3:PutObject"] | grants["s3:DeleteObject"])
    assert {MODEL} == grants["rekognition:DetectCustomLabels"]  # the line's model, and only it


def test_the_publisher_policy_writes_versions_and_current_only_and_never_deletes(
    lined: tuple[Stack, Any],
) -> None:
    stack, outputs = lined
    policy = stack.one("aws:iam/policy:Policy", "inspector-criteria-publisher").inputs["policy"]
    grants = _grants(policy)

    assert {"s3:PutObject", "s3:GetObject", "s3:ListBucket"} == set(grants)
    assert {f"{BUCKET}/criteria/*/versions/*", f"{BUCKET}/criteria/*/current.json"} == grants["s3:PutObject"]
    assert {f"{BUCKET}/criteria/*", f"{BUCKET}/results/*"} == grants["s3:GetObject"]
    (listing,) = [s for s in json.loads(policy)["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert {"StringLike": {"s3:prefix": ["criteria/*", "results/*"]}} == listing["Condition"]
    assert [] == policies.wildcard_actions(policy)
    assert outputs["publisher"].endswith("inspector-criteria-publisher-0a1b2c3")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [
                {"name": "a", "prefix": "cam/", "criteria": DEFAULT},
                {"name": "b", "prefix": "cam/b/", "criteria": DEFAULT},
            ],
            "lines 'a' ('cam/') and 'b' ('cam/b/') overlap: a key such as cam/b/w1.jpg would belong to both",
        ),
        ([{"name": "a", "prefix": "a/"}], "lines[0] (a): give the line its first criteria"),
        ([{"name": "default", "prefix": "a/", "criteria": DEFAULT}], "default line"),
        ([{"name": "Line 1", "prefix": "a/", "criteria": DEFAULT}], "lines[0].name"),
        (
            [{"name": "a", "prefix": "a/", "criteria": DEFAULT, "detectors": ["custom-labels"]}],
            "needs customLabelsArn",
        ),
        (
            [
                {
                    "name": "a",
                    "prefix": "a/",
                    "criteria": LINE_2,
                    "detectors": ["custom-labels"],
                    "customLabelsArn": MODEL,
                }
            ],
            "custom-labels reports no image properties",
        ),
    ],
    ids=["overlap", "no-criteria", "named-default", "bad-name", "no-model", "detector-cannot-judge"],
)
def test_bad_lines_are_refused_naming_the_line(lines: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(StackConfigError) as refused:
        load({**CONFIG, "lines": json.dumps(lines)})

    assert message in str(refused.value)


def test_a_recipient_naming_an_unknown_line_is_refused() -> None:
    notify = json.dumps([{"email": "a@example.com", "lines": ["line-9"]}])

    with pytest.raises(StackConfigError, match="no line named 'line-9'"):
        load({**CONFIG, "notify": notify})


def test_too_many_lines_for_lambdas_environment_are_refused() -> None:
    lines = [
        {"name": f"line-{i:03d}-{'x' * 40}", "prefix": f"plant-{i:03d}/{'y' * 40}/", "criteria": DEFAULT}
        for i in range(40)
    ]

    with pytest.raises(StackConfigError, match="over Lambda's 4,096"):
        load({**CONFIG, "lines": json.dumps(lines)})
