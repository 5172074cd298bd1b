"""The criteria model: parsing, refusals that name the field path, the detector request, the fingerprint."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape, StructureShape
from botocore.validate import ParamValidator

from inspector import Criteria, CriteriaError, DetectionRequest
from inspector.criteria import (
    DEFAULT_MIN_CONFIDENCE,
    REKOGNITION_MAX_DOMINANT_COLORS,
    SIMPLIFIED_COLORS,
    RequireAnyOf,
    RequireLabel,
)
from inspector.detectors.local import simplified_color
from tests.support import EXAMPLES
from tests.unit.builders import criteria

EXAMPLE_CRITERIA = EXAMPLES / "criteria.yaml"

CAMEL: dict[str, Any] = {
    "minConfidence": 90,
    "reviewMargin": 10,
    "require": [
        {"label": "Widget"},
        {"anyOf": ["Bolt", "Screw"], "minConfidence": 75},
        {"label": "Screw", "count": {"min": 4, "max": 4}},
    ],
    "forbid": [{"label": "Scratch", "minConfidence": 70}, {"label": "Rust"}],
    "quality": {"minSharpness": 40, "minBrightness": 20, "maxBrightness": 95},
    "colors": [
        {"color": "blue", "minPercent": 40},
        {"color": "red", "maxPercent": 5},
        {"color": "grey", "minPercent": 20, "maxPercent": 60},
    ],
}
SNAKE: dict[str, Any] = {
    "min_confidence": 90,
    "review_margin": 10,
    "require": [
        {"label": "Widget"},
        {"any_of": ["Bolt", "Screw"], "min_confidence": 75},
        {"label": "Screw", "count": {"min": 4, "max": 4}},
    ],
    "forbid": [{"label": "Scratch", "min_confidence": 70}, {"label": "Rust"}],
    "quality": {"min_sharpness": 40, "min_brightness": 20, "max_brightness": 95},
    "colors": [
        {"color": "blue", "min_percent": 40},
        {"color": "red", "max_percent": 5},
        {"color": "grey", "min_percent": 20, "max_percent": 60},
    ],
}
# What examples/criteria.yaml says.
EXAMPLE: dict[str, Any] = {
    "minConfidence": 90,
    "reviewMargin": 10,
    "require": [
        {"label": "Widget"},
        {"anyOf": ["Bolt", "Screw"]},
        {"label": "Screw", "count": {"min": 4, "max": 4}},
    ],
    "forbid": [{"label": "Scratch", "minConfidence": 70}, {"label": "Rust"}],
    "quality": {"minSharpness": 40, "minBrightness": 20, "maxBrightness": 95},
}
CAMEL_YAML = """\
minConfidence: 90
reviewMargin: 10
require:
  - label: Widget
  - anyOf: [Bolt, Screw]
    minConfidence: 75
  - label: Screw
    count: {min: 4, max: 4}
forbid:
  - label: Scratch
    minConfidence: 70
  - label: Rust
quality:
  minSharpness: 40
  minBrightness: 20
  maxBrightness: 95
colors:
  - color: blue
    minPercent: 40
  - color: red
    maxPercent: 5
  - {color: grey, minPercent: 20, maxPercent: 60}
"""


def _refusal(document: Any) -> CriteriaError:
    with pytest.raises(CriteriaError) as caught:
        Criteria.from_document(document)
    return caught.value


# --- parsing ------------------------------------------------------------------------------------


def test_camel_case_document_parses_into_the_documented_rules():
    parsed = Criteria.from_document(CAMEL)

    assert 90.0 == parsed.min_confidence
    assert 10.0 == parsed.review_margin
    assert [RequireLabel, RequireAnyOf, RequireLabel] == [type(rule) for rule in parsed.require]
    widget, bolt_or_screw, screws = parsed.require
    assert isinstance(widget, RequireLabel)
    assert "Widget" == widget.label
    assert widget.min_confidence is None
    assert isinstance(bolt_or_screw, RequireAnyOf)
    assert ["Bolt", "Screw"] == bolt_or_screw.any_of
    assert 75.0 == bolt_or_screw.min_confidence
    assert isinstance(screws, RequireLabel)
    assert screws.count is not None
    assert (4, 4) == (screws.count.min, screws.count.max)
    assert [("Scratch", 70.0), ("Rust", None)] == [(f.label, f.min_confidence) for f in parsed.forbid]
    assert parsed.quality is not None
    assert (40.0, 20.0, 95.0) == (
        parsed.quality.min_sharpness,
        parsed.quality.min_brightness,
        parsed.quality.max_brightness,
    )
    assert [("blue", 40.0, None), ("red", None, 5.0), ("grey", 20.0, 60.0)] == [
        (rule.color, rule.min_percent, rule.max_percent) for rule in parsed.colors
    ]


def test_snake_case_document_parses_to_the_same_criteria_as_camel_case():
    assert Criteria.from_document(CAMEL) == Criteria.from_document(SNAKE)


def test_omitted_thresholds_take_the_documented_defaults():
    parsed = criteria(require=[{"label": "Widget"}])

    assert DEFAULT_MIN_CONFIDENCE == parsed.min_confidence
    assert 80.0 == parsed.min_confidence
    assert 0.0 == parsed.review_margin
    assert [] == parsed.forbid
    assert parsed.quality is None
    assert [] == parsed.colors


def test_label_names_are_stripped_of_surrounding_whitespace():
    parsed = criteria(forbid=[{"label": "  Rust \t"}])

    assert "Rust" == parsed.forbid[0].label


@pytest.mark.parametrize(
    ("expected", "rule"),
    [
        pytest.param(("blue", 40.0, None), {"color": "blue", "minPercent": 40}, id="minPercent only"),
        pytest.param(("red", None, 5.0), {"color": "red", "maxPercent": 5}, id="maxPercent only"),
        pytest.param(
            ("green", 10.0, 30.5), {"color": "green", "minPercent": 10, "maxPercent": 30.5}, id="both bounds"
        ),
        pytest.param(
            ("white", 25.0, 25.0), {"color": "white", "minPercent": 25, "maxPercent": 25}, id="equal bounds"
        ),
        pytest.param(
            ("black", 0.5, 99.5),
            {"color": "black", "min_percent": 0.5, "max_percent": 99.5},
            id="snake_case, near 0-100",
        ),
        pytest.param(("blue", 40.0, None), {"color": "Blue", "minPercent": 40}, id="name in any case"),
        pytest.param(("grey", None, 5.0), {"color": "  GREY\t", "maxPercent": 5}, id="name with whitespace"),
    ],
)
def test_color_rule_parses_to_a_lower_case_simplified_colour_and_its_bounds(
    expected: tuple[str, float | None, float | None], rule: dict[str, Any]
):
    parsed = criteria(colors=[rule]).colors[0]

    assert expected == (parsed.color, parsed.min_percent, parsed.max_percent)


def test_color_rules_alone_are_criteria():
    parsed = criteria(colors=[{"color": "blue", "minPercent": 40}])

    assert ([], [], None) == (parsed.require, parsed.forbid, parsed.quality)
    assert 1 == len(parsed.colors)


def test_simplified_colours_are_the_names_the_local_detector_gives():
    # The local detector names colours with Rekognition's simplified names; a rule must be able to ask for
    # each of them and for nothing it never says. Every 17th level of each channel reaches every name.
    levels = range(0, 256, 17)
    named = {simplified_color(r, g, b) for r in levels for g in levels for b in levels}

    assert set(SIMPLIFIED_COLORS) == named
    assert 11 == len(SIMPLIFIED_COLORS)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("criteria.yaml", CAMEL_YAML, id="yaml"),
        pytest.param("criteria.yml", CAMEL_YAML, id="yml suffix is yaml"),
        pytest.param("criteria.json", json.dumps(CAMEL), id="json"),
        pytest.param("criteria.JSON", json.dumps(SNAKE), id="json, upper-case suffix, snake_case"),
        pytest.param("criteria.yaml", json.dumps(CAMEL), id="json text in a yaml file"),
    ],
)
def test_criteria_file_loads(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")

    assert Criteria.from_document(CAMEL) == Criteria.load(path)
    assert Criteria.from_document(CAMEL) == Criteria.load(str(path))


def test_from_json_reads_a_json_document():
    assert Criteria.from_document(CAMEL) == Criteria.from_json(json.dumps(CAMEL))
    assert Criteria.from_document(CAMEL) == Criteria.from_json(json.dumps(SNAKE).encode())


def test_example_criteria_file_loads():
    assert Criteria.from_document(EXAMPLE) == Criteria.load(EXAMPLE_CRITERIA)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        pytest.param("missing.yaml", None, "cannot read criteria file", id="missing file"),
        pytest.param("bad.json", b'{"require": [', "is not valid JSON", id="bad json"),
        pytest.param("bad.yaml", b"require: [unclosed", "is not valid YAML", id="bad yaml"),
        pytest.param(
            "latin1.yaml", "forbid: [{label: Ros\xe9}]".encode("latin-1"), "not UTF-8", id="not utf-8"
        ),
        pytest.param("list.yaml", b"- label: Widget\n", "criteria must be a mapping", id="yaml list"),
        pytest.param("empty.yaml", b"", "the criteria are empty: write at least one rule", id="empty yaml"),
        pytest.param("comments.yaml", b"# nothing yet\n", "the criteria are empty", id="only comments"),
        pytest.param("scalar.json", b'"Widget"', "criteria must be a mapping", id="json string"),
    ],
)
def test_unreadable_criteria_file_is_refused(tmp_path: Path, name: str, content: bytes | None, words: str):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(CriteriaError, match=words) as caught:
        Criteria.load(path)

    assert 1 == len(caught.value.problems)


def test_threshold_of_a_rule_is_its_own_else_the_criterias():
    parsed = criteria(
        minConfidence=85, require=[{"label": "Widget"}, {"anyOf": ["Bolt"], "minConfidence": 60}]
    )

    assert [85.0, 60.0] == [parsed.threshold(rule) for rule in parsed.require]


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        pytest.param(
            {"minConfidence": 100.5, "forbid": [{"label": "Rust"}]},
            "minConfidence",
            "less than or equal to 100",
            id="criteria confidence above 100",
        ),
        pytest.param(
            {"minConfidence": -1, "forbid": [{"label": "Rust"}]},
            "minConfidence",
            "greater than or equal to 0",
            id="criteria confidence below 0",
        ),
        pytest.param(
            {"reviewMargin": 101, "forbid": [{"label": "Rust"}]},
            "reviewMargin",
            "less than or equal to 100",
            id="review margin above 100",
        ),
        pytest.param(
            {"require": [{"label": "Widget", "minConfidence": 120}]},
            "require[0].minConfidence",
            "less than or equal to 100",
            id="require label confidence above 100",
        ),
        pytest.param(
            {"require": [{"label": "Widget"}, {"anyOf": ["Bolt"], "min_confidence": -0.5}]},
            "require[1].min_confidence",
            "greater than or equal to 0",
            id="require anyOf confidence below 0, snake_case path as written",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust"}, {"label": "Dent", "minConfidence": 100.01}]},
            "forbid[1].minConfidence",
            "less than or equal to 100",
            id="forbid confidence above 100",
        ),
        pytest.param(
            {"quality": {"minSharpness": 101}},
            "quality.minSharpness",
            "less than or equal to 100",
            id="quality bound above 100",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust"}, {"label": "   "}]},
            "forbid[1].label",
            "at least 1 character",
            id="blank forbid label",
        ),
        pytest.param(
            {"require": [{"label": "Rust"}], "forbid": [{"label": "Dent"}, {"label": "Rust"}]},
            "require[0] and forbid[1]",
            "'Rust' is both required and forbidden",
            id="label required and forbidden",
        ),
        pytest.param(
            {"require": [{"label": "Widget"}, {"label": "RUST"}], "forbid": [{"label": "rust"}]},
            "require[1] and forbid[0]",
            "'RUST' is both required and forbidden",
            id="label required and forbidden, other case",
        ),
        pytest.param(
            {"reviewMargin": 10, "forbid": [{"label": "Rust", "minConfidence": 4}]},
            "forbid[0]",
            "is not above reviewMargin (10)",
            id="threshold not above the review margin",
        ),
        pytest.param(
            {"reviewMargin": 20, "require": [{"label": "Widget"}], "minConfidence": 20},
            "require[0]",
            "every image would go to REVIEW",
            id="default threshold equal to the review margin",
        ),
        pytest.param(
            {"require": [{"anyOf": ["Rust", "Dent"]}], "forbid": [{"label": "dent"}, {"label": "Rust"}]},
            "require[0] and forbid[1]",
            "'Rust' is both required and forbidden",
            id="every anyOf label forbidden",
        ),
        pytest.param(
            {
                "require": [
                    {"label": "Widget"},
                    {"label": "Bolt"},
                    {"label": "Screw", "count": {"min": 5, "max": 3}},
                ]
            },
            "require[2].count",
            "min (5) is greater than max (3)",
            id="count min above max",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {}}]},
            "require[0].count",
            "give min, max or both",
            id="count without bounds",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {"min": -1}}]},
            "require[0].count.min",
            "greater than or equal to 0",
            id="negative count",
        ),
        pytest.param(
            {"quality": {"minSharpness": 50, "maxSharpness": 40}},
            "quality",
            "minSharpness (50) is greater than maxSharpness (40)",
            id="sharpness min above max",
        ),
        pytest.param(
            {"quality": {"minBrightness": 80.5, "maxBrightness": 20}},
            "quality",
            "minBrightness (80.5) is greater than maxBrightness (20)",
            id="brightness min above max",
        ),
        pytest.param(
            {"quality": {"min_contrast": 60, "max_contrast": 59.9}},
            "quality",
            "minContrast (60) is greater than maxContrast (59.9)",
            id="contrast min above max, snake_case",
        ),
        pytest.param({"quality": {}}, "quality", "give at least one bound", id="quality without bounds"),
        pytest.param(
            {"minConfidance": 90, "forbid": [{"label": "Rust"}]},
            "minConfidance",
            "unknown key",
            id="unknown top-level key",
        ),
        pytest.param(
            {"require": [{"label": "Widget", "confidence": 90}]},
            "require[0].confidence",
            "unknown key",
            id="unknown key in require label",
        ),
        pytest.param(
            {"require": [{"anyOf": ["Bolt"], "count": {"min": 1}}]},
            "require[0].count",
            "`count` applies to `label` entries only",
            id="count on anyOf",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust", "count": {"max": 0}}]},
            "forbid[0].count",
            "a forbid entry takes no count",
            id="count on forbid",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {"exactly": 4}}]},
            "require[0].count.exactly",
            "unknown key",
            id="unknown key in count",
        ),
        pytest.param(
            {"quality": {"minNoise": 10}},
            "quality.minNoise",
            "unknown key",
            id="unknown key in quality",
        ),
        pytest.param(
            {"require": [{"label": "Widget"}, {"minConfidence": 90}]},
            "require[1]",
            "each require entry needs `label` (one label) or `anyOf` (a list of labels)",
            id="require entry without label or anyOf",
        ),
        pytest.param(
            {"require": ["Widget"]},
            "require[0]",
            "each require entry is a mapping with `label` or `anyOf` (`- label: Widget`)",
            id="require entry that is a bare name",
        ),
        pytest.param(
            {"require": [{"anyOf": []}]},
            "require[0].anyOf",
            "at least 1 item",
            id="empty anyOf",
        ),
        pytest.param(
            {"require": [{"anyOf": ["Bolt", ""]}]},
            "require[0].anyOf[1]",
            "at least 1 character",
            id="blank name in anyOf",
        ),
        pytest.param(
            {"require": {"label": "Widget"}},
            "require",
            "valid list",
            id="require that is not a list",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 40}, {"color": "gray", "maxPercent": 5}]},
            "colors[1].color",
            "unknown colour 'gray': use one of red, orange, yellow, green, blue, purple, pink, brown, black, "
            "white, grey",
            id="unknown colour, listing the valid ones",
        ),
        pytest.param(
            {"colors": [{"color": "navy", "minPercent": 40}]},
            "colors[0].color",
            "unknown colour 'navy'",
            id="css colour name is not a simplified colour",
        ),
        pytest.param(
            {"colors": [{"color": "", "minPercent": 40}]},
            "colors[0].color",
            "unknown colour ''",
            id="blank colour",
        ),
        pytest.param(
            {"colors": [{"color": 3, "minPercent": 40}]},
            "colors[0].color",
            "valid string",
            id="colour that is not a name",
        ),
        pytest.param(
            {"colors": [{"minPercent": 40}]},
            "colors[0].color",
            "Field required",
            id="colour rule without a colour",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 100.5}]},
            "colors[0].minPercent",
            "less than or equal to 100",
            id="minPercent above 100",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "max_percent": -1}]},
            "colors[0].max_percent",
            "greater than or equal to 0",
            id="maxPercent below 0, snake_case path as written",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 50, "maxPercent": 40}]},
            "colors[0]",
            "minPercent (50) is greater than maxPercent (40)",
            id="colour min above max",
        ),
        pytest.param(
            {"colors": [{"color": "blue"}]},
            "colors[0]",
            "give minPercent, maxPercent or both",
            id="colour rule without bounds",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "percent": 40}]},
            "colors[0].percent",
            "unknown key",
            id="unknown key in a colour rule",
        ),
        pytest.param(
            {"colors": {"color": "blue", "minPercent": 40}},
            "colors",
            "valid list",
            id="colors that is not a list",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 40}, {"color": "Blue", "maxPercent": 60}]},
            "colors[0] and colors[1]",
            "both are about blue; give its minPercent and maxPercent in one entry",
            id="two entries for one colour",
        ),
        pytest.param(
            {
                "reviewMargin": 10,
                "colors": [{"color": "blue", "minPercent": 40}, {"color": "red", "minPercent": 10}],
            },
            "colors[1]",
            "its minPercent (10) is not above reviewMargin (10), so an image without any red would count as "
            "uncertain",
            id="minPercent equal to the review margin",
        ),
        pytest.param(
            {"reviewMargin": 10, "colors": [{"color": "red", "minPercent": 2.5, "maxPercent": 50}]},
            "colors[0]",
            "its minPercent (2.5) is not above reviewMargin (10)",
            id="minPercent below the review margin",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 60}, {"color": "white", "minPercent": 40.5}]},
            "colors",
            "the minPercent bounds add up to 100.5%, more than the whole image, so no image could pass",
            id="minPercent bounds adding up to over 100",
        ),
    ],
)
def test_bad_criteria_are_refused_naming_the_field_path(document: dict[str, Any], path: str, words: str):
    error = _refusal(document)

    assert 1 == len(error.problems)
    assert error.problems[0].startswith(f"{path}: "), error.problems
    assert words in error.problems[0]
    assert error.problems[0] in str(error)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({}, id="empty document"),
        pytest.param({"require": [], "forbid": []}, id="empty lists"),
        pytest.param({"minConfidence": 90, "reviewMargin": 5}, id="thresholds only"),
        pytest.param({"quality": None}, id="null quality"),
        pytest.param({"colors": []}, id="empty colors"),
    ],
)
def test_criteria_without_rules_are_refused(document: dict[str, Any]):
    error = _refusal(document)

    assert [
        "(document): the criteria have no rules: give at least one of require, forbid, quality, colors"
    ] == error.problems


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            {"reviewMargin": 10, "colors": [{"color": "blue", "minPercent": 10.001}]},
            id="just above the margin",
        ),
        pytest.param(
            {"reviewMargin": 50, "colors": [{"color": "blue", "maxPercent": 5}]},
            id="maxPercent below the margin",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 60}, {"color": "white", "minPercent": 40}]},
            id="minPercent bounds adding up to exactly 100",
        ),
    ],
)
def test_color_rules_at_the_edge_of_a_refusal_are_accepted(document: dict[str, Any]):
    assert Criteria.from_document(document).colors


@pytest.mark.parametrize(
    ("document", "words"),
    [
        pytest.param(["forbid", "Rust"], "criteria must be a mapping of settings", id="list"),
        pytest.param("forbid: Rust", "got a single value", id="string"),
        pytest.param(None, "the criteria are empty", id="null"),
    ],
)
def test_document_that_is_not_a_mapping_is_refused(document: Any, words: str):
    error = _refusal(document)

    assert 1 == len(error.problems)
    assert error.problems[0].startswith("(document): ")
    assert words in error.problems[0]


def test_every_problem_is_reported_on_its_own_line_in_document_order():
    error = _refusal(
        {
            "minConfidence": 101,
            "require": [{"label": "Widget", "minConfidence": -5}],
            "forbid": [{"label": "Rust", "colour": "red"}],
        }
    )

    assert ["minConfidence", "require[0].minConfidence", "forbid[0].colour"] == [
        problem.split(": ", 1)[0] for problem in error.problems
    ]


def test_any_of_with_only_some_labels_forbidden_is_accepted():
    # Only a requirement no image could meet is refused: Bolt can still satisfy this one.
    parsed = criteria(require=[{"anyOf": ["Bolt", "Rust"]}], forbid=[{"label": "Rust"}])

    assert ["Bolt", "Rust"] == parsed.label_names()


def test_criteria_error_is_a_value_error():
    error = _refusal({})

    assert isinstance(error, ValueError)


# --- the compiled detector request --------------------------------------------------------------


def test_example_criteria_compile_to_the_labels_they_name_and_the_lowest_review_floor():
    request = Criteria.load(EXAMPLE_CRITERIA).detection_request()

    assert (
        DetectionRequest(
            labels=("Widget", "Bolt", "Screw", "Scratch", "Rust"), min_confidence=60.0, image_properties=True
        )
        == request
    )
    assert {
        "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"],
        "Settings": {
            "GeneralLabels": {"LabelInclusionFilters": ["Widget", "Bolt", "Screw", "Scratch", "Rust"]}
        },
        "MinConfidence": 60.0,
    } == request.detect_labels_params()


def test_label_rules_without_quality_ask_only_for_general_labels():
    params = criteria(require=[{"label": "Widget"}], forbid=[{"label": "Rust"}]).detection_request()

    assert {
        "Features": ["GENERAL_LABELS"],
        "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Widget", "Rust"]}},
        "MinConfidence": 80.0,
    } == params.detect_labels_params()


def test_quality_only_criteria_ask_only_for_image_properties_and_no_min_confidence():
    request = criteria(quality={"minSharpness": 40}).detection_request()

    assert DetectionRequest(labels=(), min_confidence=None, image_properties=True) == request
    assert {"Features": ["IMAGE_PROPERTIES"]} == request.detect_labels_params()


BLUE_40 = {"color": "blue", "minPercent": 40}
ALL_DOMINANT_COLORS = {"ImageProperties": {"MaxDominantColors": REKOGNITION_MAX_DOMINANT_COLORS}}


@pytest.mark.parametrize(
    ("expected_request", "expected_params", "document"),
    [
        pytest.param(
            DetectionRequest(labels=(), min_confidence=None, image_properties=True, max_dominant_colors=20),
            {"Features": ["IMAGE_PROPERTIES"], "Settings": ALL_DOMINANT_COLORS},
            {"colors": [BLUE_40]},
            id="colour rules only",
        ),
        pytest.param(
            DetectionRequest(labels=(), min_confidence=None, image_properties=True, max_dominant_colors=20),
            {"Features": ["IMAGE_PROPERTIES"], "Settings": ALL_DOMINANT_COLORS},
            {"quality": {"minSharpness": 40}, "colors": [BLUE_40, {"color": "red", "maxPercent": 5}]},
            id="quality and colour rules",
        ),
        pytest.param(
            DetectionRequest(labels=(), min_confidence=None, image_properties=True, max_dominant_colors=None),
            {"Features": ["IMAGE_PROPERTIES"]},
            {"quality": {"minSharpness": 40}},
            id="quality without colour rules leaves Rekognition's default",
        ),
        pytest.param(
            DetectionRequest(
                labels=("Widget",), min_confidence=80.0, image_properties=True, max_dominant_colors=20
            ),
            {
                "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"],
                "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Widget"]}, **ALL_DOMINANT_COLORS},
                "MinConfidence": 80.0,
            },
            {"require": [{"label": "Widget"}], "colors": [BLUE_40]},
            id="labels and colour rules",
        ),
        pytest.param(
            DetectionRequest(
                labels=("Widget",), min_confidence=80.0, image_properties=False, max_dominant_colors=None
            ),
            {
                "Features": ["GENERAL_LABELS"],
                "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Widget"]}},
                "MinConfidence": 80.0,
            },
            {"require": [{"label": "Widget"}]},
            id="labels only ask for no image properties",
        ),
    ],
)
def test_colour_rules_ask_for_image_properties_and_every_dominant_colour_rekognition_gives(
    expected_request: DetectionRequest, expected_params: dict[str, Any], document: dict[str, Any]
):
    request = Criteria.from_document(document).detection_request()

    assert expected_request == request
    assert expected_params == request.detect_labels_params()


@cache
def _detect_labels_input() -> StructureShape:
    """botocore's model of the DetectLabels request."""
    model = botocore.session.get_session().get_service_model("rekognition")
    shape = model.operation_model("DetectLabels").input_shape
    assert shape is not None
    return shape


def _member(shape: Shape, name: str) -> Shape:
    assert isinstance(shape, StructureShape)
    return shape.members[name]


def test_max_dominant_colors_is_the_most_detect_labels_accepts():
    # Pinned against botocore's model of the API: default 10, at most 20. Asking for fewer could leave a
    # small share of a colour out of the answer, and the rule would observe less than there is.
    settings = _member(_detect_labels_input(), "Settings")
    limit = _member(_member(settings, "ImageProperties"), "MaxDominantColors").metadata["max"]

    assert 20 == REKOGNITION_MAX_DOMINANT_COLORS
    assert limit == REKOGNITION_MAX_DOMINANT_COLORS


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(CAMEL, id="every kind of rule"),
        pytest.param({"colors": [BLUE_40]}, id="colour rules only"),
        pytest.param(
            {"forbid": [{"label": f"Part {i}"} for i in range(150)], "colors": [BLUE_40]}, id="no filter"
        ),
    ],
)
def test_the_request_with_colour_rules_is_one_detect_labels_accepts(document: dict[str, Any]):
    params = Criteria.from_document(document).detection_request().detect_labels_params()
    params["Image"] = {"S3Object": {"Bucket": "widget-images", "Name": "images/w1.jpg"}}

    report = ParamValidator().validate(params, _detect_labels_input())

    assert "" == report.generate_report()


def test_label_names_are_every_label_a_rule_names_once_first_spelling_kept():
    parsed = criteria(
        require=[{"label": "Widget"}, {"anyOf": ["Bolt", "screw"]}, {"label": "Screw", "count": {"min": 4}}],
        forbid=[{"label": "Rust"}, {"label": "BOLT", "minConfidence": 99}],
    )

    assert ("Widget", "Bolt", "screw", "Rust") == parsed.detection_request().labels


@pytest.mark.parametrize(
    ("document", "floor"),
    [
        pytest.param({"require": [{"label": "Widget"}]}, 80.0, id="default t, no margin"),
        pytest.param({"minConfidence": 90, "require": [{"label": "Widget"}]}, 90.0, id="criteria t"),
        pytest.param(
            {"minConfidence": 90, "reviewMargin": 10, "require": [{"label": "Widget"}]}, 80.0, id="t minus m"
        ),
        pytest.param(
            {"minConfidence": 90, "forbid": [{"label": "Rust"}, {"label": "Dent", "minConfidence": 55}]},
            55.0,
            id="lower per-rule t wins",
        ),
        pytest.param(
            {
                "minConfidence": 50,
                "require": [{"label": "Widget", "minConfidence": 99}],
                "forbid": [{"label": "Rust"}],
            },
            50.0,
            id="higher per-rule t does not raise the floor",
        ),
        pytest.param(
            {
                "minConfidence": 90,
                "reviewMargin": 5,
                "require": [{"anyOf": ["Bolt", "Screw"], "minConfidence": 62.5}],
            },
            57.5,
            id="anyOf per-rule t minus m",
        ),
        pytest.param(
            {"reviewMargin": 10, "forbid": [{"label": "Rust", "minConfidence": 10.5}]},
            0.5,
            id="floor just above 0",
        ),
        pytest.param(
            {"minConfidence": 95, "reviewMargin": 10, "require": [{"label": "Screw", "count": {"min": 4}}]},
            85.0,
            id="count rule",
        ),
        pytest.param(
            {
                "minConfidence": 95,
                "reviewMargin": 10,
                "require": [{"label": "W"}],
                "quality": {"minSharpness": 5},
            },
            85.0,
            id="quality bounds do not lower it",
        ),
        pytest.param(
            {
                "minConfidence": 95,
                "reviewMargin": 10,
                "require": [{"label": "W"}],
                "colors": [{"color": "blue", "minPercent": 15}],
            },
            85.0,
            id="colour bounds do not lower it",
        ),
    ],
)
def test_min_confidence_is_the_lowest_t_minus_m_over_the_label_rules(document: dict[str, Any], floor: float):
    request = Criteria.from_document(document).detection_request()

    assert floor == request.min_confidence
    assert floor == request.detect_labels_params()["MinConfidence"]


def _names(n: int) -> list[str]:
    return [f"Part {i}" for i in range(n)]


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(_names(100), id="100 labels"),
        pytest.param(["W" * 50], id="name of 50 characters"),
        pytest.param(
            ["Jalapeño", "Façade", "Crème", "Château", "O'Neil", "T-Shirt", "Bolt (M4)."],
            id="accented letters and punctuation of the pattern",
        ),
    ],
)
def test_labels_that_fit_rekognitions_filter_are_sent_as_the_inclusion_filter(names: list[str]):
    request = criteria(forbid=[{"label": name} for name in names]).detection_request()

    assert tuple(names) == request.inclusion_filter
    assert {"GeneralLabels": {"LabelInclusionFilters": names}} == request.detect_labels_params()["Settings"]


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(_names(101), id="101 labels"),
        pytest.param(["Widget", "W" * 51], id="name of 51 characters"),
        pytest.param(["Widget", "Rost ü"], id="letter outside the pattern"),
        pytest.param(["Widget", "Café"], id="e acute is not in the pattern"),
        pytest.param(["Widget", "Bolt & Nut"], id="ampersand"),
        pytest.param(["Widget", "Dent!"], id="exclamation mark"),
        pytest.param(["Widget", "Schraube\u00a0M4"], id="no-break space"),
    ],
)
def test_labels_that_cannot_fit_rekognitions_filter_ask_for_every_label(names: list[str]):
    request = criteria(forbid=[{"label": name} for name in names]).detection_request()

    assert tuple(names) == request.labels
    assert () == request.inclusion_filter
    assert {"Features": ["GENERAL_LABELS"], "MinConfidence": 80.0} == request.detect_labels_params()


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(CAMEL, id="example rules"),
        pytest.param({"require": [{"label": "Widget"}]}, id="one label"),
        pytest.param({"quality": {"maxBrightness": 90}}, id="quality only"),
        pytest.param({"forbid": [{"label": name} for name in _names(150)]}, id="filter omitted"),
    ],
)
def test_the_request_never_sets_max_labels(document: dict[str, Any]):
    params = Criteria.from_document(document).detection_request().detect_labels_params()

    assert "MaxLabels" not in params
    assert "Image" not in params


# --- fingerprint --------------------------------------------------------------------------------


def test_fingerprint_is_16_hex_digits_and_pinned_for_the_example():
    # Fingerprints are stored with every verdict: a change here orphans every record already written.
    fingerprint = Criteria.load(EXAMPLE_CRITERIA).fingerprint

    assert 16 == len(fingerprint)
    assert "b5f2d05a089d8fa8" == fingerprint


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(CAMEL, SNAKE, id="camelCase vs snake_case"),
        pytest.param(CAMEL, dict(reversed(list(CAMEL.items()))), id="key order"),
        pytest.param(
            {"forbid": [{"minConfidence": 70, "label": "Rust"}]},
            {"forbid": [{"label": "Rust", "minConfidence": 70}]},
            id="key order inside a rule",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust"}]},
            {"minConfidence": 80, "reviewMargin": 0, "forbid": [{"label": "Rust"}]},
            id="explicit default thresholds vs omitted",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust"}]},
            {"require": [], "forbid": [{"label": "Rust"}], "quality": None},
            id="explicit empty require and null quality vs omitted",
        ),
        pytest.param(
            {"require": [{"label": "Screw", "count": {"min": 4}}]},
            {"require": [{"label": "Screw", "minConfidence": None, "count": {"min": 4, "max": None}}]},
            id="explicit nulls vs omitted",
        ),
        pytest.param(
            {"minConfidence": 90, "reviewMargin": 5, "require": [{"label": "Screw", "count": {"min": 4}}]},
            {
                "minConfidence": 90.0,
                "reviewMargin": 5.0,
                "require": [{"label": "Screw", "count": {"min": 4}}],
            },
            id="int vs float",
        ),
        pytest.param(
            {"quality": {"minSharpness": 40}},
            {"quality": {"min_sharpness": 40.0}},
            id="quality int vs float, camel vs snake",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust"}]},
            {"forbid": [{"label": " Rust "}]},
            id="whitespace around a label",
        ),
        pytest.param(
            {"forbid": [{"label": "Rust"}]},
            {"forbid": [{"label": "Rust"}], "colors": []},
            id="explicit empty colors vs omitted",
        ),
        pytest.param(
            {"colors": [{"color": "blue", "minPercent": 40}]},
            {"colors": [{"color": " Blue ", "min_percent": 40.0, "max_percent": None}]},
            id="colour case, whitespace, snake_case, float, explicit null",
        ),
    ],
)
def test_fingerprint_is_the_same_for_the_same_meaning(first: dict[str, Any], second: dict[str, Any]):
    assert Criteria.from_document(first).fingerprint == Criteria.from_document(second).fingerprint


def test_fingerprint_of_criteria_without_colour_rules_is_what_it_was_before_colors_existed():
    # A new field with a default must not reach the canonical form: fingerprints already recorded would be
    # orphaned. These are pinned from before `colors` was added.
    assert "colors" not in Criteria.from_document(EXAMPLE).canonical()
    assert "b5f2d05a089d8fa8" == Criteria.from_document(EXAMPLE | {"colors": []}).fingerprint


def test_fingerprint_survives_a_trip_through_the_canonical_form_and_a_file(tmp_path: Path):
    original = Criteria.load(EXAMPLE_CRITERIA)
    path = tmp_path / "canonical.json"
    path.write_text(json.dumps(original.canonical()), encoding="utf-8")

    assert original.fingerprint == Criteria.load(path).fingerprint
    assert original.fingerprint == Criteria.from_document(EXAMPLE).fingerprint


def _changed(**changes: Any) -> dict[str, Any]:
    return CAMEL | changes


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(_changed(minConfidence=91), id="criteria t"),
        pytest.param(_changed(minConfidence=90.001), id="criteria t by a thousandth"),
        pytest.param(_changed(reviewMargin=5), id="review margin"),
        pytest.param(_changed(reviewMargin=0), id="review margin to its default"),
        pytest.param(
            _changed(require=[{"label": "Widget", "minConfidence": 90}, *CAMEL["require"][1:]]),
            id="per-rule t set to the criteria t",
        ),
        pytest.param(
            _changed(
                require=[
                    CAMEL["require"][0],
                    {"anyOf": ["Bolt", "Screw"], "minConfidence": 76},
                    CAMEL["require"][2],
                ]
            ),
            id="per-rule t",
        ),
        pytest.param(
            _changed(
                require=[
                    CAMEL["require"][0],
                    {"anyOf": ["Bolt", "Screw", "Nut"], "minConfidence": 75},
                    CAMEL["require"][2],
                ]
            ),
            id="anyOf label added",
        ),
        pytest.param(
            _changed(require=[*CAMEL["require"][:2], {"label": "Screw", "count": {"min": 3, "max": 4}}]),
            id="count min",
        ),
        pytest.param(
            _changed(require=[*CAMEL["require"][:2], {"label": "Screw", "count": {"min": 4}}]),
            id="count max dropped",
        ),
        pytest.param(_changed(require=[*CAMEL["require"][:2], {"label": "Screw"}]), id="count dropped"),
        pytest.param(_changed(require=CAMEL["require"][:2]), id="require rule removed"),
        pytest.param(_changed(require=[{"label": "Gadget"}, *CAMEL["require"][1:]]), id="label renamed"),
        pytest.param(_changed(forbid=[*CAMEL["forbid"], {"label": "Dent"}]), id="forbid rule added"),
        pytest.param(
            _changed(forbid=[{"label": "Scratch", "minConfidence": 69.5}, {"label": "Rust"}]), id="forbid t"
        ),
        pytest.param(
            _changed(quality={"minSharpness": 41, "minBrightness": 20, "maxBrightness": 95}),
            id="quality bound",
        ),
        pytest.param(
            _changed(
                quality={"minSharpness": 40, "minBrightness": 20, "maxBrightness": 95, "maxContrast": 90}
            ),
            id="quality bound added",
        ),
        pytest.param(_changed(quality=None), id="quality removed"),
        pytest.param(
            _changed(colors=[{"color": "blue", "minPercent": 41}, *CAMEL["colors"][1:]]),
            id="colour minPercent",
        ),
        pytest.param(
            _changed(
                colors=[*CAMEL["colors"][:1], {"color": "red", "maxPercent": 5.5}, *CAMEL["colors"][2:]]
            ),
            id="colour maxPercent",
        ),
        pytest.param(
            _changed(colors=[{"color": "blue", "minPercent": 40, "maxPercent": 80}, *CAMEL["colors"][1:]]),
            id="colour bound added",
        ),
        pytest.param(
            _changed(colors=[*CAMEL["colors"][:2], {"color": "grey", "minPercent": 20}]),
            id="colour bound dropped",
        ),
        pytest.param(
            _changed(colors=[{"color": "green", "minPercent": 40}, *CAMEL["colors"][1:]]), id="colour renamed"
        ),
        pytest.param(
            _changed(colors=[*CAMEL["colors"], {"color": "pink", "maxPercent": 1}]), id="colour rule added"
        ),
        pytest.param(_changed(colors=CAMEL["colors"][1:]), id="colour rule removed"),
        pytest.param(_changed(colors=[]), id="colour rules removed"),
        pytest.param(_changed(colors=list(reversed(CAMEL["colors"]))), id="colour rules reordered"),
    ],
)
def test_fingerprint_changes_when_any_threshold_or_rule_changes(changed: dict[str, Any]):
    assert Criteria.from_document(CAMEL).fingerprint != Criteria.from_document(changed).fingerprint
