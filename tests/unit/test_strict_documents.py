"""What is written is what is judged: repeated keys, loose types, rules with fixed outcomes and misleading
messages are refused, each naming what is wrong (issue 11, part 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inspector.criteria import Criteria
from inspector.documents import DocumentError, parse_json, parse_yaml
from inspector.errors import CriteriaError, SettingsError
from inspector.settings import Settings

TOPIC = "arn:aws:sns:eu-west-1:111122223333:qc"
ENVIRON = {
    "INSPECTOR_TOPIC_ARN": TOPIC,
    "INSPECTOR_BUCKET": "widgets",
    "INSPECTOR_CRITERIA": '{"forbid": [{"label": "Rust"}]}',
}


def _refusal(document: Any) -> str:
    with pytest.raises(CriteriaError) as caught:
        Criteria.from_document(document)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- repeated keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(
            "require:\n  - label: Widget\nforbid:\n  - label: Rust\nrequire:\n  - label: Bolt\n",
            "key 'require' is given twice (line 1 and line 5)",
            id="top level",
        ),
        pytest.param(
            "require:\n  - label: Widget\n    minConfidence: 90\n    minConfidence: 50\n",
            "key 'minConfidence' is given twice in require[0] (line 3 and line 4)",
            id="inside a list entry",
        ),
        pytest.param(
            "quality:\n  minSharpness: 40\n  minSharpness: 10\n",
            "key 'minSharpness' is given twice in quality (line 2 and line 3)",
            id="inside a mapping",
        ),
        pytest.param(
            "require:\n  - label: Screw\n    count: {min: 4, min: 1}\n",
            "key 'min' is given twice in require[0].count",
            id="flow mapping, three deep",
        ),
        pytest.param("forbid: [{label: Rust}]\n1: a\n1.0: b\n", "is given twice", id="keys equal as values"),
    ],
)
def test_a_repeated_yaml_key_is_refused_with_its_path_and_lines(tmp_path: Path, text: str, words: str):
    path = tmp_path / "criteria.yaml"
    path.write_text(text)

    with pytest.raises(CriteriaError, match="given twice") as caught:
        Criteria.load(path)

    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(
            '{"require": [{"label": "Widget"}], "require": [{"label": "Bolt"}]}',
            "key 'require' is given twice",
            id="top level",
        ),
        pytest.param(
            '{"forbid": [{"label": "Rust", "label": "Dent"}]}',
            "key 'label' is given twice in forbid[0]",
            id="in a list entry",
        ),
    ],
)
def test_a_repeated_json_key_is_refused_with_its_path(tmp_path: Path, text: str, words: str):
    path = tmp_path / "criteria.json"
    path.write_text(text)

    with pytest.raises(CriteriaError) as caught:
        Criteria.load(path)
    with pytest.raises(CriteriaError) as from_json:
        Criteria.from_json(text)

    assert words in str(caught.value)
    assert words in str(from_json.value)


def test_a_repeated_key_in_the_function_criteria_variable_is_refused():
    environ = {
        **ENVIRON,
        "INSPECTOR_CRITERIA": '{"forbid": [{"label": "Rust"}], "forbid": [{"label": "Dent"}]}',
    }

    with pytest.raises(
        SettingsError, match="INSPECTOR_CRITERIA: criteria document: key 'forbid' is given twice"
    ):
        Settings.from_env(environ)


def test_yaml_merge_keys_are_not_repeats_but_a_repeat_beside_them_is():
    merged = parse_yaml("base: &b {minConfidence: 90}\nrule:\n  <<: *b\n  minConfidence: 70\n")

    assert {"minConfidence": 70} == merged["rule"]
    with pytest.raises(DocumentError, match="given twice in rule"):
        parse_yaml("base: &b {x: 1}\nrule:\n  <<: *b\n  y: 1\n  y: 2\n")


def test_a_recursive_yaml_alias_does_not_hang_the_check():
    with pytest.raises(DocumentError, match="the alias at a\\[0\\] refers to a node that contains it"):
        parse_yaml("a: &a [*a]\n")


def test_yaml_reads_only_true_and_false_as_booleans_as_pulumi_does():
    assert {"a": True, "b": "yes", "c": "off", "d": False} == parse_yaml(
        "a: true\nb: yes\nc: off\nd: False\n"
    )


def test_json_refuses_nan_and_infinity():
    with pytest.raises(DocumentError, match="NaN is not a JSON number"):
        parse_json('{"minConfidence": NaN}')


# --- strict types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "words"),
    [
        pytest.param(
            {"minConfidence": True, "forbid": [{"label": "Rust"}]},
            "minConfidence: Input should be a valid number, got the boolean true",
            id="true as a confidence",
        ),
        pytest.param(
            {"reviewMargin": "yes", "forbid": [{"label": "Rust"}]},
            "reviewMargin: Input should be a valid number, got the text 'yes'",
            id="yes as a margin",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust", "minConfidence": "90"}]},
            "forbid[0].minConfidence: Input should be a valid number, got the text '90' (write the number",
            id="a number in quotes",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {"min": True}}]},
            "require[0].count.min: Input should be a valid integer, got the boolean true",
            id="true as a count",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {"min": 2.5}}]},
            "require[0].count.min: Input should be a valid integer, got the number 2.5",
            id="a fraction as a count",
        ),
        pytest.param(
            {"quality": {"minSharpness": False}},
            "quality.minSharpness: Input should be a valid number, got the boolean false",
            id="false as a bound",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": "40%"}]},
            "colors[0].minPercent: Input should be a valid number, got the text '40%'",
            id="a percent sign",
        ),
        pytest.param(
            {"forbid": [{"label": True}]},
            "forbid[0].label: Input should be a valid string, got the boolean true",
            id="a boolean as a label",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust", "minConfidence": float("nan")}]},
            "forbid[0].minConfidence: Input should be a finite number",
            id="nan",
        ),
    ],
)
def test_wrong_types_are_refused_not_coerced(document: dict[str, Any], words: str):
    assert words in _refusal(document)


def test_yaml_yes_is_refused_where_a_number_belongs(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("reviewMargin: yes\nminConfidence: true\nforbid: [{label: Rust}]\n")

    with pytest.raises(CriteriaError) as caught:
        Criteria.load(path)

    assert "minConfidence: Input should be a valid number, got the boolean true" in str(caught.value)
    assert "reviewMargin: Input should be a valid number, got the text 'yes'" in str(caught.value)


# --- rules whose outcome is fixed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "words"),
    [
        pytest.param(
            {"forbid": [{"label": "Rust", "minConfidence": 0}]},
            "forbid[0]: its minConfidence is 0, so every image violates it",
            id="forbid at 0 fails every image",
        ),
        pytest.param(
            {"require": [{"label": "Widget", "minConfidence": 0}]},
            "require[0]: its minConfidence is 0, so every image meets it",
            id="require at 0 passes every image",
        ),
        pytest.param(
            {"minConfidence": 0, "require": [{"anyOf": ["Bolt", "Screw"]}]},
            "require[0]: the criteria's minConfidence is 0, so every image meets it",
            id="anyOf at the criteria's 0",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {"min": 0}}]},
            "require[0].count: min 0 without max holds for every image",
            id="count of at least 0",
        ),
        pytest.param(
            {"quality": {"minSharpness": 0}},
            "quality: minSharpness 0 holds for every image",
            id="quality min 0",
        ),
        pytest.param(
            {"quality": {"maxBrightness": 100}},
            "quality: maxBrightness 100 holds for every image",
            id="quality max 100",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 0}]},
            "colors[0]: minPercent 0 holds for every image",
            id="colour min 0",
        ),
        pytest.param(
            {"colors": [{"color": "red", "maxPercent": 100}]},
            "colors[0]: maxPercent 100 holds for every image",
            id="colour max 100",
        ),
        pytest.param(
            {"reviewMargin": 10, "colors": [{"color": "red", "maxPercent": 90}]},
            "colors[0]: its maxPercent (90) plus reviewMargin (10) reaches 100%, so no image could fail it",
            id="colour review band up to 100",
        ),
        pytest.param(
            {"reviewMargin": 100, "forbid": [{"label": "Rust", "minConfidence": 100}]},
            "not above reviewMargin",
            id="review band covering every confidence",
        ),
    ],
)
def test_a_rule_whose_outcome_is_fixed_whatever_the_image_is_refused_saying_why(
    document: dict[str, Any], words: str
):
    assert words in _refusal(document)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"forbid": [{"label": "Rust", "minConfidence": 0.1}]}, id="forbid just above 0"),
        pytest.param({"require": [{"label": "Screw", "count": {"min": 0, "max": 0}}]}, id="count exactly 0"),
        pytest.param({"require": [{"label": "Screw", "count": {"min": 1}}]}, id="count at least 1"),
        pytest.param({"quality": {"minSharpness": 0.1, "maxSharpness": 99.9}}, id="quality inside"),
        pytest.param({"colors": [{"color": "red", "maxPercent": 0}]}, id="no red at all"),
        pytest.param({"reviewMargin": 10, "colors": [{"color": "red", "maxPercent": 89.9}]}, id="band short"),
    ],
)
def test_rules_next_to_a_fixed_outcome_are_accepted(document: dict[str, Any]):
    assert Criteria.from_document(document).fingerprint


# --- messages that point the right way ------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "words"),
    [
        pytest.param(
            {"require": [{"lable": "Widget"}]},
            "require[0].lable: unknown key (did you mean `label`?); each require entry needs `label`",
            id="a misspelt label",
        ),
        pytest.param(
            {"require": [{"label": "Bolt", "anyOf": ["Screw"]}]},
            "require[0].label: does not belong here: an entry has either `label` (one label) or `anyOf`",
            id="both label and anyOf",
        ),
        pytest.param(
            {"require": [{"anyOf": ["Bolt", "Screw"], "count": {"min": 2}}]},
            "require[0].count: does not belong here: `count` applies to `label` entries only",
            id="count on anyOf",
        ),
        pytest.param(
            {"forbid": [{"anyOf": ["Rust", "Dent"]}]},
            "forbid[0].anyOf: does not belong here: a forbid entry names one label",
            id="anyOf on forbid",
        ),
        pytest.param(
            {"minConfidance": 90, "forbid": [{"label": "Rust"}]},
            "minConfidance: unknown key (did you mean `minConfidence`?)",
            id="a misspelt top-level key",
        ),
        pytest.param(
            {"minConfidence": 90, "min_confidence": 80, "forbid": [{"label": "Rust"}]},
            "`minConfidence` and `min_confidence` are two spellings of one setting: give it once",
            id="both spellings of one key",
        ),
        pytest.param(None, "the criteria are empty: write at least one rule", id="empty"),
        pytest.param({}, "the criteria have no rules", id="no rules"),
    ],
)
def test_messages_name_what_is_wrong_and_what_to_do(document: Any, words: str):
    assert words in _refusal(document)


def test_an_empty_criteria_file_says_it_is_empty(tmp_path: Path):
    path = tmp_path / "criteria.yaml"
    path.write_text("\n# to do\n")

    with pytest.raises(CriteriaError, match="the criteria are empty") as caught:
        Criteria.load(path)

    assert "NoneType" not in str(caught.value)


def test_a_folder_given_as_a_criteria_file_is_named(tmp_path: Path):
    with pytest.raises(CriteriaError, match="is a folder, not a file"):
        Criteria.load(tmp_path)


def test_a_pulumi_stack_file_gives_its_criteria(tmp_path: Path):
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(
        "config:\n  aws:region: eu-west-1\n  inspector:criteria:\n    forbid:\n      - label: Rust\n"
    )

    assert Criteria.from_document({"forbid": [{"label": "Rust"}]}) == Criteria.load(stack)


def test_a_stack_file_with_a_repeated_key_inside_its_criteria_is_refused(tmp_path: Path):
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(
        "config:\n  inspector:criteria:\n    forbid:\n      - label: Rust\n    forbid:\n      - label: Dent\n"
    )

    with pytest.raises(CriteriaError, match=r"'forbid' is given twice in config.inspector:criteria \(line 3"):
        Criteria.load(stack)


# --- the function's settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INSPECTOR_MAX_WORKERS", "true"),
        ("INSPECTOR_MAX_WORKERS", "1e1"),
        ("INSPECTOR_MAX_WORKERS", " 10"),
        ("INSPECTOR_LINK_EXPIRY_SECONDS", "3600.0"),
    ],
)
def test_settings_parse_whole_numbers_exactly(variable: str, value: str):
    with pytest.raises(SettingsError, match=f"{variable}: Input should be a valid integer"):
        Settings.from_env({**ENVIRON, variable: value})


@pytest.mark.parametrize("detector", ["rekognition", "custom-labels", "local"])
def test_a_reference_model_beside_another_detector_is_refused_naming_it(detector: str):
    environ = {**ENVIRON, "INSPECTOR_DETECTOR": detector, "INSPECTOR_REFERENCE_MODEL": "models/w.npz"}
    if detector == "custom-labels":
        environ["INSPECTOR_CUSTOM_LABELS_ARN"] = (
            "arn:aws:rekognition:eu-west-1:111122223333:project/w/version/v1/1"
        )

    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ)

    assert (
        f"INSPECTOR_REFERENCE_MODEL is set but INSPECTOR_DETECTOR={detector} does not use it: remove it, or "
        "set INSPECTOR_DETECTOR=reference"
    ) in str(refused.value)


def test_a_custom_labels_arn_beside_another_detector_is_refused():
    arn = "arn:aws:rekognition:eu-west-1:111122223333:project/w/version/v1/1"
    environ = {**ENVIRON, "INSPECTOR_CUSTOM_LABELS_ARN": arn}

    with pytest.raises(SettingsError, match="INSPECTOR_CUSTOM_LABELS_ARN is set but INSPECTOR_DETECTOR"):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("INSPECTOR_ENDPOINT_URL", "127.0.0.1:4566", "is not an http:// or https:// URL with a host"),
        ("INSPECTOR_ENDPOINT_URL", "http://[::1", "is not a URL"),
        ("INSPECTOR_BUCKET", "My_Bucket", "INSPECTOR_BUCKET: String should match pattern"),
        ("INSPECTOR_TOPIC_ARN", "qc-topic", "INSPECTOR_TOPIC_ARN: String should match pattern"),
    ],
)
def test_settings_refuse_malformed_addresses_and_names(variable: str, value: str, words: str):
    with pytest.raises(SettingsError, match=variable) as caught:
        Settings.from_env({**ENVIRON, variable: value})

    assert words in str(caught.value)


@pytest.mark.parametrize("name", ["empty.json", "empty.yaml", "blank.yml"])
def test_an_empty_file_says_so_whatever_its_format(tmp_path: Path, name: str):
    path = tmp_path / name
    path.write_text("  \n")

    with pytest.raises(CriteriaError, match="the criteria are empty"):
        Criteria.load(path)
