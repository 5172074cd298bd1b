"""Product lines: routing keys to lines, refusing overlaps, and what a line's detectors can judge."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from inspector.criteria import Criteria
from inspector.engine import Verdict
from inspector.lines import DEFAULT_LINE, DetectorName, Line, Lines, Recipient

WIDGET = Criteria.from_document({"require": [{"label": "Widget"}]})
SHARP = Criteria.from_document({"quality": {"minSharpness": 40}})


def line(name: str, prefix: str | None, **fields: Any) -> Line:
    return Line(name=name, prefix=prefix, **fields)


LINES = Lines(
    default=line(DEFAULT_LINE, None),
    others=(line("line-1", "line-1/"), line("gears", "plant-b/gears/"), line("line-10", "line-10/")),
)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("line-1/w1.jpg", "line-1"),
        ("line-1/deep/er/w1.jpg", "line-1"),
        ("line-10/w1.jpg", "line-10"),  # not line-1's: prefixes end with "/"
        ("plant-b/gears/g.png", "gears"),
        ("plant-b/other/g.png", DEFAULT_LINE),
        ("line-1", DEFAULT_LINE),
        ("w1.jpg", DEFAULT_LINE),
        ("LINE-1/w1.jpg", DEFAULT_LINE),  # S3 keys are case-sensitive
    ],
    ids=["line", "nested", "similar-prefix", "deep-prefix", "sibling", "no-slash", "top-level", "case"],
)
def test_for_key_routes_a_key_to_its_line_else_the_default(key: str, expected: str) -> None:
    assert expected == LINES.for_key(key).name


def test_overlapping_prefixes_are_refused_naming_both_lines_and_a_key() -> None:
    with pytest.raises(ValidationError) as refused:
        Lines(default=line(DEFAULT_LINE, None), others=(line("cams", "cam/"), line("cam-2", "cam/2/")))

    message = str(refused.value)
    assert "lines 'cams' ('cam/') and 'cam-2' ('cam/2/') overlap" in message
    assert "cam/2/w1.jpg would belong to both 'cam-2' and 'cams'" in message


@pytest.mark.parametrize(
    ("others", "message"),
    [
        ((line("a", "a/"), line("a", "b/")), "two lines are named 'a'"),
        ((line("a", "x/"), line("b", "x/")), "overlap"),
    ],
    ids=["same-name", "same-prefix"],
)
def test_lines_that_cannot_be_told_apart_are_refused(others: tuple[Line, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Lines(default=line(DEFAULT_LINE, None), others=others)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "default", "prefix": "a/"}, "give it no prefix"),
        ({"name": "line-1"}, "give it a prefix"),
        ({"name": "Line_1", "prefix": "a/"}, "String should match pattern"),
        ({"name": "a", "prefix": "/a/"}, "must end with '/', not start with one"),
        ({"name": "a", "prefix": "line-a"}, "must end with '/'"),
        ({"name": "a", "prefix": "a//b/"}, "no empty folder"),
        ({"name": "a", "prefix": "a/", "detectors": []}, "at least 1 item"),
        ({"name": "a", "prefix": "a/", "detectors": ["local", "local"]}, "named twice"),
        ({"name": "a", "prefix": "a/", "detectors": ["reference"]}, "needs referenceModel"),
        ({"name": "a", "prefix": "a/", "detectors": ["custom-labels"]}, "needs customLabelsArn"),
        (
            {"name": "a", "prefix": "a/", "detectors": ["rekognition"], "reference_model": "models/a.npz"},
            "line 'a': referenceModel is set but its detectors (rekognition) do not use it: remove "
            "referenceModel, or add reference to detectors",
        ),
        (
            {"name": "a", "prefix": "a/", "detectors": ["rekognition", "local"], "reference_model": "m.npz"},
            "referenceModel is set but its detectors (rekognition, local) do not use it",
        ),
        (
            {
                "name": "a",
                "prefix": "a/",
                "detectors": ["reference"],
                "reference_model": "m.npz",
                "custom_labels_arn": "arn:aws:rekognition:x",
            },
            "customLabelsArn is set but its detectors (reference) do not use it: remove customLabelsArn, "
            "or add custom-labels to detectors",
        ),
        ({"name": "a", "prefix": "a/", "detectors": ["textract"]}, "Input should be"),
    ],
    ids=[
        "default-with-prefix",
        "line-without-prefix",
        "bad-name",
        "leading-slash",
        "no-trailing-slash",
        "empty-folder",
        "no-detector",
        "detector-twice",
        "reference-without-model",
        "custom-labels-without-model",
        "reference-model-beside-rekognition",
        "reference-model-beside-combined-detectors-without-it",
        "custom-labels-arn-beside-reference",
        "unknown-detector",
    ],
)
def test_a_bad_line_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Line(**fields)


@pytest.mark.parametrize(
    ("detectors", "criteria", "problem"),
    [
        (["local"], WIDGET, "local reports no labels"),
        (
            ["reference"],
            WIDGET,
            "reference reports only the label Anomaly, but the criteria name labels (Widget)",
        ),
        (
            ["reference"],
            Criteria.from_document({"forbid": [{"label": "anomaly", "minConfidence": 50}]}),
            None,
        ),
        (["reference", "rekognition"], WIDGET, "no rule forbids it, so every defect it finds would PASS"),
        (
            ["reference", "rekognition"],
            Criteria.from_document({"require": [{"label": "Widget"}], "forbid": [{"label": "Anomaly"}]}),
            None,
        ),
        (["reference"], SHARP, "add `forbid: [{label: Anomaly, minConfidence: 50}]`"),
        (
            ["reference"],
            Criteria.from_document({"require": [{"anyOf": ["Anomaly"]}]}),
            "no rule forbids it",
        ),
        (["local", "reference"], SHARP, "no rule forbids it"),
        (["custom-labels"], SHARP, "custom-labels reports no image properties"),
        (["local", "custom-labels"], WIDGET, None),
        (["rekognition"], SHARP, None),
        (["rekognition", "local"], WIDGET, None),
    ],
    ids=[
        "local-labels",
        "reference-other-label",
        "reference-anomaly",
        "reference-and-rekognition-without-anomaly-rule",
        "reference-and-rekognition",
        "reference-quality-only",
        "reference-anomaly-required-not-forbidden",
        "local-and-reference-quality-only",
        "custom-quality",
        "merged-covers-labels",
        "rekognition-quality",
        "merged",
    ],
)
def test_a_line_says_whether_its_detectors_can_judge_criteria(
    detectors: list[str], criteria: Criteria, problem: str | None
) -> None:
    document: dict[str, Any] = {"name": "a", "prefix": "a/", "detectors": detectors}
    if "custom-labels" in detectors:
        document["customLabelsArn"] = "arn:aws:rekognition:x"
    if "reference" in detectors:
        document["referenceModel"] = "models/a.npz"
    found = Line.model_validate(document).problem_with(criteria)

    assert (problem is None) == (found is None)
    if problem is not None:
        assert found is not None
        assert problem in found


def test_a_line_with_seed_criteria_its_detectors_cannot_judge_is_refused() -> None:
    with pytest.raises(ValidationError, match="local reports no labels"):
        Line(name="a", prefix="a/", detectors=(DetectorName.LOCAL,), criteria=WIDGET)


def test_lines_of_a_list_needs_exactly_one_default() -> None:
    assert ["default", "a"] == Lines.of([line("a", "a/"), line(DEFAULT_LINE, None)]).names
    with pytest.raises(ValueError, match="exactly one line named 'default'"):
        Lines.of([line("a", "a/")])


def test_named_says_which_lines_there_are() -> None:
    with pytest.raises(KeyError, match="no line named 'b' \\(lines: default, line-1, gears, line-10\\)"):
        LINES.named("b")


def test_the_default_lines_foreign_prefixes_are_every_other_lines() -> None:
    assert ["line-1/", "plant-b/gears/", "line-10/"] == LINES.foreign_prefixes(LINES.default)
    assert ["plant-b/gears/", "line-10/"] == LINES.foreign_prefixes(LINES.named("line-1"))


@pytest.mark.parametrize(
    ("recipient", "policy"),
    [
        (Recipient(email="a@example.com"), {"kind": [{"anything-but": ["digest"]}]}),
        (Recipient(email="a@example.com", only=[Verdict.FAIL]), {"verdict": ["FAIL"]}),
        (
            Recipient(email="a@example.com", lines=["line-1"]),
            {"kind": [{"anything-but": ["digest"]}], "line": ["line-1"]},
        ),
        (
            Recipient(email="a@example.com", only=[Verdict.FAIL, Verdict.REVIEW], lines=["a", "b"]),
            {"verdict": ["FAIL", "REVIEW"], "line": ["a", "b"]},
        ),
        (Recipient(email="a@example.com", digest=True, lines=["a"]), {"line": ["a"]}),
        (
            Recipient(email="a@example.com", only=[Verdict.FAIL], digest=True, lines=["a"]),
            {"$or": [{"verdict": ["FAIL"], "line": ["a"]}, {"kind": ["digest"], "line": ["a"]}]},
        ),
    ],
    ids=["everything", "verdicts", "line", "both", "all-and-digest", "failures-and-digest"],
)
def test_a_recipients_filter_policy_filters_on_verdict_and_line(
    recipient: Recipient, policy: dict[str, list[str]] | None
) -> None:
    assert policy == recipient.filter_policy()
