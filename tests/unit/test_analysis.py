"""The analysis model: built from raw DetectLabels and DetectCustomLabels responses, saved as its own JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inspector import (
    Analysis,
    AnalysisError,
    BoundingBox,
    Criteria,
    CustomLabel,
    ImageQuality,
    Instance,
    Label,
    Verdict,
    evaluate,
)
from inspector.analysis import DominantColor
from tests.support import EXAMPLES
from tests.unit.builders import (
    box,
    custom_label,
    detect_custom_labels,
    detect_labels,
    label,
)

EXAMPLE_ANALYSES = sorted((EXAMPLES / "analyses").glob("*.json"))
PROJECT_VERSION_ARN = (
    "arn:aws:rekognition:eu-west-1:123456789012:project/widgets/version/widgets.2024-06-01T10.00.00"
    "/1717236000000"
)


# --- DetectLabels -------------------------------------------------------------------------------


def test_detect_labels_response_is_read_as_boto3_returns_it():
    response = detect_labels(
        label("Widget", 98.7, aliases=("Gadget",)),
        label("Screw", 97.1, parents=("Hardware",), instances=(96.5, 95.2)),
        quality={"Brightness": 63.0, "Sharpness": 78.4, "Contrast": 55.2},
        model_version="3.0",
    )

    analysis = Analysis.from_detect_labels(response)

    widget, screw = analysis.labels
    assert (
        Label(name="Widget", confidence=98.7, aliases=("Gadget",), categories=("Tools and Machinery",))
        == widget
    )
    assert ("Screw", 97.1, ("Hardware",), ()) == (screw.name, screw.confidence, screw.parents, screw.aliases)
    assert (
        Instance(confidence=96.5, bounding_box=BoundingBox(width=0.1, height=0.1, left=0.0, top=0.2)),
        Instance(confidence=95.2, bounding_box=BoundingBox(width=0.1, height=0.1, left=0.05, top=0.2)),
    ) == screw.instances
    assert ImageQuality(brightness=63.0, sharpness=78.4, contrast=55.2) == analysis.quality
    assert analysis.image_properties is not None
    assert (
        DominantColor(
            red=40,
            green=80,
            blue=180,
            hex_code="#2850b4",
            css_color="royalblue",
            simplified_color="blue",
            pixel_percent=52.3,
        ),
    ) == analysis.image_properties.dominant_colors
    assert "3.0" == analysis.model_version
    assert () == analysis.custom_labels


def test_image_properties_foreground_and_background_are_read():
    response = detect_labels(label("Widget", 99.0))
    response["ImageProperties"] = {
        "Quality": {"Brightness": 60.0, "Sharpness": 70.0, "Contrast": 50.0},
        "DominantColors": [],
        "Foreground": {
            "Quality": {"Brightness": 71.5, "Sharpness": 88.0},
            "DominantColors": [{"CSSColor": "silver", "PixelPercent": 80.0}],
        },
        "Background": {"Quality": {"Brightness": 40.0, "Sharpness": 12.0}, "DominantColors": []},
    }

    properties = Analysis.from_detect_labels(response).image_properties

    assert properties is not None
    assert properties.foreground is not None
    assert properties.background is not None
    assert ImageQuality(brightness=71.5, sharpness=88.0) == properties.foreground.quality
    assert "silver" == properties.foreground.dominant_colors[0].css_color
    assert ImageQuality(brightness=40.0, sharpness=12.0) == properties.background.quality


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(detect_labels(label("Widget", 99.0)), id="no ImageProperties"),
        pytest.param(
            {**detect_labels(label("Widget", 99.0)), "ImageProperties": {}}, id="empty ImageProperties"
        ),
        pytest.param(
            {**detect_labels(label("Widget", 99.0)), "ImageProperties": {"DominantColors": []}},
            id="ImageProperties without Quality",
        ),
    ],
)
def test_analysis_without_image_quality_has_no_quality(response: dict[str, Any]):
    assert Analysis.from_detect_labels(response).quality is None


def test_minimal_detect_labels_response_is_accepted():
    analysis = Analysis.from_detect_labels({"Labels": [{"Name": "Widget", "Confidence": 91.0}]})

    assert (Label(name="Widget", confidence=91.0),) == analysis.labels
    assert analysis.model_version is None


def test_empty_detect_labels_response_is_an_analysis_that_saw_nothing():
    analysis = Analysis.from_detect_labels({"Labels": [], "LabelModelVersion": "3.0"})

    assert ((), None) == (analysis.candidate_labels(), analysis.quality)


@pytest.mark.parametrize(
    ("name", "wanted", "matches"),
    [
        pytest.param("Widget", "Widget", True, id="name"),
        pytest.param("Widget", "wIDGET", True, id="name ignoring case"),
        pytest.param("Widget", "Gadget", True, id="alias"),
        pytest.param("Widget", "GADGET", True, id="alias ignoring case"),
        pytest.param("Widget", "Hardware", False, id="parent"),
        pytest.param("Widget", "Tools and Machinery", False, id="category"),
        pytest.param("Widget", "Widge", False, id="prefix"),
        pytest.param("Straße", "STRASSE", True, id="case folding, not just lower-casing"),
    ],
)
def test_label_matches_its_name_or_an_alias_ignoring_case(name: str, wanted: str, matches: bool):
    raw = label(name, 90.0, aliases=("Gadget",), parents=("Hardware",))

    assert matches == Analysis.from_detect_labels(detect_labels(raw)).labels[0].matches(wanted)


# --- DetectCustomLabels -------------------------------------------------------------------------


def test_detect_custom_labels_response_is_read_as_boto3_returns_it():
    response = detect_custom_labels(
        custom_label("Screw", 95.0, left=0.1), custom_label("Crack", 61.2, located=False)
    )

    analysis = Analysis.from_detect_custom_labels(response, project_version_arn=PROJECT_VERSION_ARN)

    assert (
        CustomLabel(name="Screw", confidence=95.0, bounding_box=BoundingBox(**_snake(box(left=0.1)))),
        CustomLabel(name="Crack", confidence=61.2),
    ) == analysis.custom_labels
    assert PROJECT_VERSION_ARN == analysis.model_version
    assert ((), None) == (analysis.labels, analysis.image_properties)


def test_custom_labels_are_grouped_by_name_each_located_detection_an_instance():
    response = detect_custom_labels(
        custom_label("Screw", 91.0, left=0.1),
        custom_label("Crack", 61.2, located=False),
        custom_label("Screw", 97.5, left=0.3),
        custom_label("Screw", 99.0, located=False),
    )

    screw, crack = Analysis.from_detect_custom_labels(response).candidate_labels()

    assert ("Screw", 99.0) == (screw.name, screw.confidence)
    assert [(91.0, 0.1), (97.5, 0.3)] == [
        (i.confidence, i.bounding_box.left) for i in screw.instances if i.bounding_box is not None
    ]
    assert 2 == len(screw.instances)
    assert Label(name="Crack", confidence=61.2) == crack


def test_candidate_labels_are_general_labels_then_custom_labels():
    analysis = Analysis(
        labels=Analysis.from_detect_labels(detect_labels(label("Widget", 99.0))).labels,
        custom_labels=(CustomLabel(name="Crack", confidence=70.0),),
    )

    assert ["Widget", "Crack"] == [c.name for c in analysis.candidate_labels()]


# --- the analysis' own JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "analysis",
    [
        pytest.param(
            Analysis.from_detect_labels(
                detect_labels(
                    label("Widget", 98.7, aliases=("Gadget",)),
                    label("Screw", 97.1, parents=("Hardware",), instances=(96.5, 95.2)),
                    quality={"Brightness": 63.0, "Sharpness": 78.4, "Contrast": 55.2},
                )
            ),
            id="DetectLabels",
        ),
        pytest.param(
            Analysis.from_detect_custom_labels(
                detect_custom_labels(custom_label("Screw", 95.0), custom_label("Crack", 61.2, located=False)),
                project_version_arn=PROJECT_VERSION_ARN,
            ),
            id="DetectCustomLabels",
        ),
        pytest.param(Analysis(), id="empty"),
        *(
            pytest.param(Analysis.from_json(path.read_text(encoding="utf-8")), id=path.name)
            for path in EXAMPLE_ANALYSES
        ),
    ],
)
def test_analysis_round_trips_through_its_own_json(analysis: Analysis):
    saved = analysis.model_dump_json()

    assert analysis == Analysis.from_json(saved)
    assert analysis == Analysis.from_json(saved.encode())


def test_own_json_is_snake_case_with_plain_alias_names():
    response = detect_labels(label("Widget", 98.7, aliases=("Gadget",)), quality={"Sharpness": 78.4})

    saved = json.loads(Analysis.from_detect_labels(response).model_dump_json())

    assert {"labels", "custom_labels", "image_properties", "model_version"} == set(saved)
    assert ["Gadget"] == saved["labels"][0]["aliases"]
    assert "royalblue" == saved["image_properties"]["dominant_colors"][0]["css_color"]
    assert 78.4 == saved["image_properties"]["quality"]["sharpness"]


def test_from_json_reads_a_raw_detect_labels_response():
    response = detect_labels(label("Widget", 98.7), quality={"Sharpness": 78.4})

    assert Analysis.from_detect_labels(response) == Analysis.from_json(json.dumps(response))


def test_from_json_reads_a_raw_detect_custom_labels_response():
    response = detect_custom_labels(custom_label("Screw", 95.0), custom_label("Crack", 61.2, located=False))

    assert Analysis.from_detect_custom_labels(response) == Analysis.from_json(json.dumps(response))


# --- bad responses ------------------------------------------------------------------------------


def _labels(*labels: Any) -> dict[str, Any]:
    return {"Labels": list(labels), "LabelModelVersion": "3.0"}


@pytest.mark.parametrize(
    ("response", "words"),
    [
        pytest.param([], "DetectLabels response must be a JSON object, got list", id="not a mapping"),
        pytest.param({"Labels": "Widget"}, "Labels", id="Labels not a list"),
        pytest.param({"Labels": None}, "Labels", id="Labels null"),
        pytest.param(_labels({"Name": "Widget"}), "Labels[0].Confidence: Field required", id="no Confidence"),
        pytest.param(_labels({"Confidence": 90.0}), "Labels[0].Name: Field required", id="no Name"),
        pytest.param(
            _labels({"Name": "Widget", "Confidence": "high"}),
            "Labels[0].Confidence",
            id="Confidence not a number",
        ),
        pytest.param(
            _labels(
                label("Widget", 90.0),
                {
                    "Name": "Screw",
                    "Confidence": 90.0,
                    "Instances": [{"Confidence": 90.0, "BoundingBox": {"Width": 0.1}}],
                },
            ),
            "Labels[1].Instances[0].BoundingBox.Height: Field required",
            id="incomplete BoundingBox",
        ),
        pytest.param(
            {**_labels(), "ImageProperties": {"Quality": {"Sharpness": "blurry"}}},
            "ImageProperties.Quality.Sharpness",
            id="quality not a number",
        ),
    ],
)
def test_bad_detect_labels_response_raises_analysis_error(response: Any, words: str):
    with pytest.raises(AnalysisError) as caught:
        Analysis.from_detect_labels(response)

    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("response", "words"),
    [
        pytest.param(
            "Screw", "DetectCustomLabels response must be a JSON object, got str", id="not a mapping"
        ),
        pytest.param({"CustomLabels": {"Name": "Screw"}}, "CustomLabels must be a list", id="not a list"),
        pytest.param({"CustomLabels": [{"Name": "Screw"}]}, "Confidence: Field required", id="no Confidence"),
        pytest.param({"CustomLabels": ["Screw"]}, "valid dictionary", id="detection not a mapping"),
        pytest.param(
            {
                "CustomLabels": [
                    {"Name": "Screw", "Confidence": 90.0, "Geometry": {"BoundingBox": {"Top": 0.1}}}
                ]
            },
            "BoundingBox.Width: Field required",
            id="incomplete BoundingBox",
        ),
    ],
)
def test_bad_detect_custom_labels_response_raises_analysis_error(response: Any, words: str):
    with pytest.raises(AnalysisError) as caught:
        Analysis.from_detect_custom_labels(response)

    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("", "analysis is not valid JSON", id="empty text"),
        pytest.param("{'Labels': []}", "analysis is not valid JSON", id="not JSON"),
        pytest.param("[]", "analysis must be a JSON object, got list", id="JSON array"),
        pytest.param('{"labels": "Widget"}', "invalid analysis: labels", id="own JSON, bad labels"),
        pytest.param(
            '{"Labels": [{"Name": "Widget"}]}', "invalid DetectLabels response", id="raw, bad label"
        ),
        pytest.param('{"CustomLabels": 3}', "CustomLabels must be a list", id="raw custom, bad labels"),
    ],
)
def test_bad_saved_analysis_raises_analysis_error(text: str, words: str):
    with pytest.raises(AnalysisError, match=words):
        Analysis.from_json(text)


def test_analysis_error_is_a_value_error():
    with pytest.raises(ValueError, match="must be a JSON object"):
        Analysis.from_detect_labels([])  # type: ignore[arg-type]


# --- the example analyses under the example criteria --------------------------------------------


def test_examples_cover_every_verdict():
    assert {"pass", "fail", "review"} == {path.name.split("-")[0] for path in EXAMPLE_ANALYSES}


@pytest.mark.parametrize("path", [pytest.param(path, id=path.name) for path in EXAMPLE_ANALYSES])
def test_example_analysis_gets_the_verdict_its_file_name_names(path: Path):
    analysis = Analysis.from_json(path.read_text(encoding="utf-8"))

    evaluation = evaluate(analysis, Criteria.load(EXAMPLES / "criteria.yaml"))

    assert Verdict(path.name.split("-")[0].upper()) == evaluation.verdict


@pytest.mark.parametrize(
    ("name", "reasons"),
    [
        pytest.param("pass-widget-line3.json", [], id="pass-widget-line3"),
        pytest.param("fail-blurry.json", ["quality.minSharpness"], id="fail-blurry"),
        pytest.param("fail-missing-screw.json", ["require[2].count"], id="fail-missing-screw"),
        pytest.param("fail-scratched.json", ["forbid[0]"], id="fail-scratched"),
        pytest.param("review-faint-rust.json", ["forbid[1]"], id="review-faint-rust"),
    ],
)
def test_example_analysis_is_decided_by_the_rule_its_file_name_describes(name: str, reasons: list[str]):
    analysis = Analysis.from_json((EXAMPLES / "analyses" / name).read_text(encoding="utf-8"))

    evaluation = evaluate(analysis, Criteria.load(EXAMPLES / "criteria.yaml"))

    assert reasons == [f.rule for f in evaluation.reasons]


def _snake(raw_box: dict[str, float]) -> dict[str, float]:
    return {key.lower(): value for key, value in raw_box.items()}


def test_a_json_document_of_neither_shape_is_refused_rather_than_read_as_seeing_nothing():
    with pytest.raises(AnalysisError, match="not a DetectLabels or DetectCustomLabels response"):
        Analysis.from_json(json.dumps({"Lables": [{"Name": "Widget", "Confidence": 99}]}))
