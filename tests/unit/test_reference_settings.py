"""The reference detector's settings: the model's location, its one label, evidence on or off."""

from __future__ import annotations

import json

import pytest

from inspector.criteria import Criteria
from inspector.deployment import Deployment
from inspector.errors import SettingsError
from inspector.settings import DetectorKind, Settings

BASE = {
    "INSPECTOR_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:verdicts",
    "INSPECTOR_BUCKET": "widget-factory-images",
    "INSPECTOR_CRITERIA": json.dumps({"forbid": [{"label": "Anomaly", "minConfidence": 50}]}),
    "INSPECTOR_DETECTOR": "reference",
}


def test_the_reference_detector_reads_its_model_location_and_evidence_switch() -> None:
    settings = Settings.from_env(
        {**BASE, "INSPECTOR_REFERENCE_MODEL": "models/w.npz", "INSPECTOR_EVIDENCE": "false"}
    )
    assert (DetectorKind.REFERENCE, "models/w.npz", False) == (
        settings.detector,
        settings.reference_model,
        settings.evidence,
    )
    assert settings == Settings.from_env(settings.to_env())
    assert "false" == settings.to_env()["INSPECTOR_EVIDENCE"]


def test_evidence_is_on_by_default_and_sits_beside_the_record() -> None:
    settings = Settings.from_env({**BASE, "INSPECTOR_REFERENCE_MODEL": "s3://models-bucket/w.npz"})
    assert settings.evidence
    assert "results/line-1/w1.jpg.evidence.jpg" == settings.evidence_key("images/line-1/w1.jpg")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "INSPECTOR_REFERENCE_MODEL is required when INSPECTOR_DETECTOR=reference"),
        ({"INSPECTOR_REFERENCE_MODEL": "models/"}, "must name the model object"),
        ({"INSPECTOR_REFERENCE_MODEL": "s3://only-a-bucket"}, "is not an s3://bucket/key address"),
        (
            {
                "INSPECTOR_REFERENCE_MODEL": "models/w.npz",
                "INSPECTOR_CRITERIA": json.dumps({"require": [{"label": "Widget"}]}),
            },
            "reports only the label Anomaly, but the criteria name labels \\(Widget\\)",
        ),
        (
            {
                "INSPECTOR_REFERENCE_MODEL": "models/w.npz",
                "INSPECTOR_CRITERIA": json.dumps({"quality": {"minSharpness": 40}}),
            },
            "INSPECTOR_DETECTOR=reference: the reference detector reports one label, Anomaly, but no rule "
            "forbids it, so every defect it finds would PASS: add `forbid: \\[\\{label: Anomaly",
        ),
    ],
    ids=["no-model", "a-folder", "no-key", "another-label", "anomaly-judged-by-no-rule"],
)
def test_bad_reference_settings_are_refused_naming_the_variable(extra: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**BASE, **extra})


def test_a_deployment_names_its_reference_model_in_the_function_settings() -> None:
    deployment = Deployment(
        criteria=Criteria.from_document({"forbid": [{"label": "Anomaly"}]}),
        detector="reference",
        reference_model="models/line-1.npz",
    )
    env = deployment.settings(topic_arn="arn:aws:sns:us-east-1:1:t", bucket="widgets").to_env()
    assert ("reference", "models/line-1.npz", "true") == (
        env["INSPECTOR_DETECTOR"],
        env["INSPECTOR_REFERENCE_MODEL"],
        env["INSPECTOR_EVIDENCE"],
    )


def test_a_deployment_without_its_reference_model_is_refused_in_its_own_words() -> None:
    with pytest.raises(ValueError, match="referenceModel is required when"):
        Deployment(criteria=Criteria.from_document({"forbid": [{"label": "Anomaly"}]}), detector="reference")


@pytest.mark.parametrize(
    "criteria",
    [{"quality": {"minSharpness": 40}}, {"colors": [{"color": "blue", "minPercent": 40}]}],
    ids=["quality-only", "colours-only"],
)
def test_a_deployment_whose_reference_detector_no_rule_judges_is_refused(criteria: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="line 'default': the reference detector reports one label") as info:
        Deployment(
            criteria=Criteria.from_document(criteria), detector="reference", reference_model="models/w.npz"
        )
    assert "forbid: [{label: Anomaly, minConfidence: 50}]" in str(info.value)
