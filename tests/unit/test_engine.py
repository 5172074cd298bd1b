"""The criteria engine: each rule's outcome at every edge of its thresholds, and the verdict they make."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from inspector import Analysis, Evaluation, Finding, Outcome, Verdict, evaluate
from inspector.detectors.local import measure
from tests.unit.builders import (
    analysis,
    criteria,
    custom_label,
    detect_custom_labels,
    detect_labels,
    label,
)

T = 80.0  # the rule's threshold t in the tables below
M = 10.0  # the review margin m


def _only(evaluation: Evaluation) -> Finding:
    assert 1 == len(evaluation.findings), evaluation.findings
    return evaluation.findings[0]


# --- require ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "outcome", "verdict"),
    [
        pytest.param(99.9, Outcome.MET, Verdict.PASS, id="well above t"),
        pytest.param(T, Outcome.MET, Verdict.PASS, id="exactly at t"),
        pytest.param(T - 0.001, Outcome.UNCERTAIN, Verdict.REVIEW, id="just below t"),
        pytest.param(T - M, Outcome.UNCERTAIN, Verdict.REVIEW, id="exactly at t - m"),
        pytest.param(T - M - 0.001, Outcome.UNMET, Verdict.FAIL, id="just below t - m"),
        pytest.param(0.0, Outcome.UNMET, Verdict.FAIL, id="confidence 0"),
    ],
)
def test_required_label_outcome_follows_its_confidence(confidence: float, outcome: Outcome, verdict: Verdict):
    rules = criteria(minConfidence=T, reviewMargin=M, require=[{"label": "Widget"}])

    evaluation = evaluate(analysis(label("Widget", confidence)), rules)

    assert verdict == evaluation.verdict
    assert Finding(
        rule="require[0]",
        kind="require",
        subject="Widget",
        expected="confidence >= 80 (review from 70)",
        observed=confidence,
        outcome=outcome,
    ) == _only(evaluation)


@pytest.mark.parametrize(
    ("confidence", "outcome"),
    [
        pytest.param(T, Outcome.MET, id="exactly at t"),
        pytest.param(T - 0.001, Outcome.UNMET, id="just below t"),
        pytest.param(T - 10, Outcome.UNMET, id="where t - m would be with a margin"),
    ],
)
def test_margin_0_has_no_uncertain_band(confidence: float, outcome: Outcome):
    rules = criteria(minConfidence=T, reviewMargin=0, require=[{"label": "Widget"}])

    finding = _only(evaluate(analysis(label("Widget", confidence)), rules))

    assert outcome == finding.outcome
    assert "confidence >= 80" == finding.expected


@pytest.mark.parametrize(
    ("labels", "rule", "outcome", "observed", "matched"),
    [
        pytest.param([], {"label": "Widget"}, Outcome.UNMET, 0.0, None, id="label absent observes 0"),
        pytest.param(
            [label("Gadget", 85.0, aliases=("Widget",))],
            {"label": "Widget"},
            Outcome.MET,
            85.0,
            "Gadget",
            id="alias match",
        ),
        pytest.param(
            [label("WIDGET", 85.0)], {"label": "widget"}, Outcome.MET, 85.0, None, id="name ignoring case"
        ),
        pytest.param(
            [label("Gadget", 85.0, aliases=("wIdGeT",))],
            {"label": "Widget"},
            Outcome.MET,
            85.0,
            "Gadget",
            id="alias ignoring case",
        ),
        pytest.param(
            [
                label("Widget", 50.0),
                label("Gadget", 85.0, aliases=("Widget",)),
                label("Part", 75.0, aliases=("Widget",)),
            ],
            {"label": "Widget"},
            Outcome.MET,
            85.0,
            "Gadget",
            id="highest of several matching labels wins",
        ),
        pytest.param(
            [label("Widget", 75.0), label("Gadget", 99.0)],
            {"label": "Widget"},
            Outcome.UNCERTAIN,
            75.0,
            None,
            id="a better label that does not match is ignored",
        ),
        pytest.param(
            [label("Widgets", 99.0), label("Bolt", 99.0, parents=("Widget",))],
            {"label": "Widget"},
            Outcome.UNMET,
            0.0,
            None,
            id="no partial or parent match",
        ),
        pytest.param(
            [label("Widget", 65.0)],
            {"label": "Widget", "minConfidence": 60},
            Outcome.MET,
            65.0,
            None,
            id="per-rule t below the default",
        ),
        pytest.param(
            [label("Widget", 85.0)],
            {"label": "Widget", "minConfidence": 90},
            Outcome.UNCERTAIN,
            85.0,
            None,
            id="per-rule t above the default",
        ),
        pytest.param(
            [label("Widget", 79.999)],
            {"label": "Widget", "minConfidence": 90},
            Outcome.UNMET,
            79.999,
            None,
            id="per-rule t moves the band too",
        ),
    ],
)
def test_required_label_is_matched_by_name_or_alias_ignoring_case(
    labels: list[dict[str, Any]], rule: dict[str, Any], outcome: Outcome, observed: float, matched: str | None
):
    rules = criteria(minConfidence=T, reviewMargin=M, require=[rule])

    finding = _only(evaluate(analysis(*labels), rules))

    assert (outcome, observed, matched) == (finding.outcome, finding.observed, finding.matched)


# --- anyOf --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "rule", "outcome", "observed", "matched"),
    [
        pytest.param(
            [label("Bolt", 60.0), label("Screw", 85.0)],
            {"anyOf": ["Bolt", "Screw"]},
            Outcome.MET,
            85.0,
            "Screw",
            id="best of its labels",
        ),
        pytest.param(
            [label("Bolt", 75.0), label("Screw", 72.0)],
            {"anyOf": ["Bolt", "Screw"]},
            Outcome.UNCERTAIN,
            75.0,
            "Bolt",
            id="best of its labels in the band",
        ),
        pytest.param(
            [label("Bolt", 69.0), label("Screw", 45.0)],
            {"anyOf": ["Bolt", "Screw"]},
            Outcome.UNMET,
            69.0,
            "Bolt",
            id="best of its labels below the band",
        ),
        pytest.param(
            [label("Screw", T)],
            {"anyOf": ["Bolt", "Screw"]},
            Outcome.MET,
            T,
            "Screw",
            id="one of them exactly at t",
        ),
        pytest.param(
            [label("Widget", 99.0)], {"anyOf": ["Bolt", "Screw"]}, Outcome.UNMET, 0.0, None, id="none of them"
        ),
        pytest.param(
            [label("Fastener", 88.0, aliases=("Screw",))],
            {"anyOf": ["bolt", "SCREW"]},
            Outcome.MET,
            88.0,
            "Fastener",
            id="alias ignoring case",
        ),
        pytest.param(
            [label("Bolt", 65.0)],
            {"anyOf": ["Bolt", "Screw"], "minConfidence": 60},
            Outcome.MET,
            65.0,
            "Bolt",
            id="per-rule t",
        ),
    ],
)
def test_any_of_takes_the_best_of_its_labels(
    labels: list[dict[str, Any]], rule: dict[str, Any], outcome: Outcome, observed: float, matched: str | None
):
    rules = criteria(minConfidence=T, reviewMargin=M, require=[rule])

    finding = _only(evaluate(analysis(*labels), rules))

    assert ("require[0]", "any_of") == (finding.rule, finding.kind)
    assert " | ".join(rule["anyOf"]) == finding.subject
    assert (outcome, observed, matched) == (finding.outcome, finding.observed, finding.matched)


# --- forbid -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "outcome", "verdict"),
    [
        pytest.param(99.9, Outcome.VIOLATED, Verdict.FAIL, id="well above t"),
        pytest.param(T, Outcome.VIOLATED, Verdict.FAIL, id="exactly at t"),
        pytest.param(T - 0.001, Outcome.UNCERTAIN, Verdict.REVIEW, id="just below t"),
        pytest.param(T - M, Outcome.UNCERTAIN, Verdict.REVIEW, id="exactly at t - m"),
        pytest.param(T - M - 0.001, Outcome.CLEAR, Verdict.PASS, id="just below t - m"),
    ],
)
def test_forbidden_label_outcome_follows_its_confidence(
    confidence: float, outcome: Outcome, verdict: Verdict
):
    rules = criteria(minConfidence=T, reviewMargin=M, forbid=[{"label": "Scratch"}])

    evaluation = evaluate(analysis(label("Scratch", confidence)), rules)

    assert verdict == evaluation.verdict
    assert Finding(
        rule="forbid[0]",
        kind="forbid",
        subject="Scratch",
        expected="confidence < 80 (review from 70)",
        observed=confidence,
        outcome=outcome,
    ) == _only(evaluation)


def test_forbidden_label_above_threshold_fails():
    rules = criteria(forbid=[{"label": "Rust"}])

    assert Verdict.FAIL == evaluate(analysis(label("Rust", 97.0)), rules).verdict


@pytest.mark.parametrize(
    ("labels", "rule", "margin", "outcome", "observed"),
    [
        pytest.param([], {"label": "Rust"}, M, Outcome.CLEAR, 0.0, id="label absent observes 0"),
        pytest.param(
            [label("Rust", T - 0.001)], {"label": "Rust"}, 0, Outcome.CLEAR, T - 0.001, id="margin 0"
        ),
        pytest.param(
            [label("Rust", 65.0)],
            {"label": "Rust", "minConfidence": 60},
            M,
            Outcome.VIOLATED,
            65.0,
            id="per-rule t",
        ),
        pytest.param(
            [label("Rust", 85.0)],
            {"label": "Rust", "minConfidence": 95},
            M,
            Outcome.UNCERTAIN,
            85.0,
            id="per-rule t above the default",
        ),
        pytest.param(
            [label("Corrosion", 91.0, aliases=("Rust",))],
            {"label": "rust"},
            M,
            Outcome.VIOLATED,
            91.0,
            id="alias ignoring case",
        ),
        pytest.param(
            [label("rust", 60.0), label("Corrosion", 75.0, aliases=("RUST",))],
            {"label": "Rust"},
            M,
            Outcome.UNCERTAIN,
            75.0,
            id="highest of several matching labels wins",
        ),
    ],
)
def test_forbidden_label_is_matched_by_name_or_alias_ignoring_case(
    labels: list[dict[str, Any]], rule: dict[str, Any], margin: float, outcome: Outcome, observed: float
):
    rules = criteria(minConfidence=T, reviewMargin=margin, forbid=[rule])

    finding = _only(evaluate(analysis(*labels), rules))

    assert (outcome, observed) == (finding.outcome, finding.observed)


# --- count --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "instances", "outcome", "observed"),
    [
        pytest.param({"min": 2, "max": 4}, (90, 91), Outcome.MET, 2, id="at min"),
        pytest.param({"min": 2, "max": 4}, (90, 91, 92, 93), Outcome.MET, 4, id="at max"),
        pytest.param({"min": 2, "max": 4}, (90,), Outcome.UNMET, 1, id="below min"),
        pytest.param({"min": 2, "max": 4}, (90, 91, 92, 93, 94), Outcome.UNMET, 5, id="above max"),
        pytest.param({"min": 4, "max": 4}, (90, 91, 92, 93), Outcome.MET, 4, id="exact count"),
        pytest.param({"min": 2}, (90,) * 9, Outcome.MET, 9, id="only min, well above it"),
        pytest.param({"min": 2}, (90,), Outcome.UNMET, 1, id="only min, below it"),
        pytest.param({"max": 1}, (), Outcome.MET, 0, id="only max, none"),
        pytest.param({"max": 1}, (90,), Outcome.MET, 1, id="only max, at it"),
        pytest.param({"max": 1}, (90, 91), Outcome.UNMET, 2, id="only max, above it"),
        pytest.param(
            {"min": 4}, (90, 91, 92, T - 0.001), Outcome.UNMET, 3, id="instances below t not counted"
        ),
        pytest.param({"min": 4}, (90, 91, 92, T), Outcome.MET, 4, id="instance exactly at t counted"),
        pytest.param(
            {"max": 2}, (90, 91, 75, 71), Outcome.MET, 2, id="instances in the review band not counted"
        ),
    ],
)
def test_count_of_instances_at_or_above_t_must_lie_within_its_bounds(
    count: dict[str, int], instances: tuple[float, ...], outcome: Outcome, observed: int
):
    rules = criteria(minConfidence=T, reviewMargin=M, require=[{"label": "Screw", "count": count}])

    presence, counted = evaluate(analysis(label("Screw", 95.0, instances=instances)), rules).findings

    assert ("require[0]", Outcome.MET) == (presence.rule, presence.outcome)
    assert ("require[0].count", "count", "Screw") == (counted.rule, counted.kind, counted.subject)
    assert (outcome, observed) == (counted.outcome, counted.observed)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        pytest.param({"min": 4, "max": 4}, "4 instances with confidence >= 80", id="exact"),
        pytest.param({"min": 2, "max": 4}, "2-4 instances with confidence >= 80", id="range"),
        pytest.param({"min": 2}, ">= 2 instances with confidence >= 80", id="only min"),
        pytest.param({"max": 0}, "<= 0 instances with confidence >= 80", id="only max"),
    ],
)
def test_count_finding_says_what_it_expected(count: dict[str, int], expected: str):
    rules = criteria(require=[{"label": "Screw", "count": count}])

    counted = evaluate(analysis(), rules).findings[1]

    assert expected == counted.expected


def test_count_uses_the_rules_own_threshold():
    rules = criteria(minConfidence=90, require=[{"label": "Screw", "minConfidence": 60, "count": {"min": 2}}])

    counted = evaluate(analysis(label("Screw", 95.0, instances=(65.0, 59.999))), rules).findings[1]

    assert (Outcome.UNMET, 1) == (counted.outcome, counted.observed)
    assert "instances with confidence >= 60" in counted.expected


def test_count_of_an_absent_label_is_0_and_the_presence_fails_too():
    rules = criteria(require=[{"label": "Screw", "count": {"min": 1}}])

    evaluation = evaluate(analysis(label("Widget", 99.0, instances=(99.0,))), rules)

    assert Verdict.FAIL == evaluation.verdict
    assert [(Outcome.UNMET, 0.0), (Outcome.UNMET, 0)] == [
        (f.outcome, f.observed) for f in evaluation.findings
    ]


def test_count_outside_its_bounds_fails_even_when_the_label_is_present():
    rules = criteria(require=[{"label": "Screw", "count": {"min": 4, "max": 4}}])

    evaluation = evaluate(analysis(label("Screw", 99.0, instances=(99.0, 98.0, 97.0))), rules)

    assert Verdict.FAIL == evaluation.verdict
    assert ("require[0].count",) == tuple(f.rule for f in evaluation.reasons)


def test_count_follows_the_best_matching_label_found_by_alias():
    rules = criteria(require=[{"label": "Screw", "count": {"min": 2}}])

    counted = evaluate(
        analysis(label("Fastener", 93.0, aliases=("screw",), instances=(90.0, 85.0))), rules
    ).findings[1]

    assert (Outcome.MET, 2, "Fastener") == (counted.outcome, counted.observed, counted.matched)


@pytest.mark.parametrize(
    ("detections", "outcome", "observed"),
    [
        pytest.param(
            [custom_label("Screw", c, left=0.2 * i) for i, c in enumerate((99.0, 95.0, 91.0, 88.0))],
            Outcome.MET,
            4,
            id="every located detection counted",
        ),
        pytest.param(
            [custom_label("Screw", c, left=0.2 * i) for i, c in enumerate((99.0, 95.0, 91.0, 79.999))],
            Outcome.UNMET,
            3,
            id="detection below t not counted",
        ),
        pytest.param(
            [
                *(custom_label("Screw", c, left=0.2 * i) for i, c in enumerate((99.0, 95.0, 91.0))),
                custom_label("Screw", 97.0, located=False),
            ],
            Outcome.UNMET,
            3,
            id="detection without a box not counted",
        ),
        pytest.param(
            [*(custom_label("Screw", 90.0, left=0.2 * i) for i in range(4)), custom_label("Bolt", 99.0)],
            Outcome.MET,
            4,
            id="other custom labels not counted",
        ),
        pytest.param(
            [custom_label("Screw", 90.0, left=0.1 * i) for i in range(5)],
            Outcome.UNMET,
            5,
            id="above max",
        ),
    ],
)
def test_count_works_on_custom_labels(detections: list[dict[str, Any]], outcome: Outcome, observed: int):
    rules = criteria(minConfidence=T, require=[{"label": "screw", "count": {"min": 4, "max": 4}}])
    custom = Analysis.from_detect_custom_labels(detect_custom_labels(*detections))

    presence, counted = evaluate(custom, rules).findings

    assert Outcome.MET == presence.outcome
    assert (outcome, observed) == (counted.outcome, counted.observed)


def test_custom_label_confidence_is_its_best_detection():
    rules = criteria(minConfidence=T, reviewMargin=M, forbid=[{"label": "Crack"}])
    custom = Analysis.from_detect_custom_labels(
        detect_custom_labels(
            custom_label("Crack", 71.0), custom_label("Crack", 76.5), custom_label("Dent", 99.0)
        )
    )

    finding = _only(evaluate(custom, rules))

    assert (Outcome.UNCERTAIN, 76.5) == (finding.outcome, finding.observed)


# --- quality ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bound", "value", "measured", "outcome"),
    [
        pytest.param("minBrightness", 20.0, 20.0, Outcome.MET, id="brightness at min"),
        pytest.param("minBrightness", 20.0, 19.999, Outcome.UNMET, id="brightness below min"),
        pytest.param("minBrightness", 20.0, 80.0, Outcome.MET, id="brightness above min"),
        pytest.param("maxBrightness", 95.0, 95.0, Outcome.MET, id="brightness at max"),
        pytest.param("maxBrightness", 95.0, 95.001, Outcome.UNMET, id="brightness above max"),
        pytest.param("maxBrightness", 95.0, 10.0, Outcome.MET, id="brightness below max"),
        pytest.param("minSharpness", 40.0, 40.0, Outcome.MET, id="sharpness at min"),
        pytest.param("minSharpness", 40.0, 39.999, Outcome.UNMET, id="sharpness below min"),
        pytest.param("minSharpness", 40.0, 99.0, Outcome.MET, id="sharpness above min"),
        pytest.param("maxSharpness", 90.0, 90.0, Outcome.MET, id="sharpness at max"),
        pytest.param("maxSharpness", 90.0, 90.001, Outcome.UNMET, id="sharpness above max"),
        pytest.param("maxSharpness", 90.0, 0.0, Outcome.MET, id="sharpness below max"),
        pytest.param("minContrast", 30.0, 30.0, Outcome.MET, id="contrast at min"),
        pytest.param("minContrast", 30.0, 29.999, Outcome.UNMET, id="contrast below min"),
        pytest.param("minContrast", 30.0, 31.0, Outcome.MET, id="contrast above min"),
        pytest.param("maxContrast", 70.0, 70.0, Outcome.MET, id="contrast at max"),
        pytest.param("maxContrast", 70.0, 70.001, Outcome.UNMET, id="contrast above max"),
        pytest.param("maxContrast", 70.0, 69.0, Outcome.MET, id="contrast below max"),
    ],
)
def test_quality_bound_is_met_or_unmet(bound: str, value: float, measured: float, outcome: Outcome):
    metric = bound[3:].lower()
    rules = criteria(quality={bound: value})
    quality = {"Brightness": 50.0, "Sharpness": 50.0, "Contrast": 50.0} | {metric.capitalize(): measured}

    evaluation = evaluate(analysis(quality=quality), rules)

    assert {Outcome.MET: Verdict.PASS, Outcome.UNMET: Verdict.FAIL}[outcome] == evaluation.verdict
    assert Finding(
        rule=f"quality.{bound}",
        kind="quality",
        subject=metric,
        expected=f"{'>=' if bound.startswith('min') else '<='} {value:g}",
        observed=measured,
        outcome=outcome,
    ) == _only(evaluation)


def test_quality_not_measured_is_unmet():
    rules = criteria(quality={"minSharpness": 0.5, "maxBrightness": 99.5})

    evaluation = evaluate(analysis(label("Widget", 99.0)), rules)

    assert Verdict.FAIL == evaluation.verdict
    assert [
        ("quality.maxBrightness", None, Outcome.UNMET),
        ("quality.minSharpness", None, Outcome.UNMET),
    ] == [(f.rule, f.observed, f.outcome) for f in evaluation.findings]


def test_quality_measure_the_detector_did_not_report_is_unmet():
    rules = criteria(quality={"minSharpness": 40, "maxContrast": 90})

    evaluation = evaluate(analysis(quality={"Brightness": 50.0, "Sharpness": 60.0}), rules)

    assert [("quality.minSharpness", 60.0, Outcome.MET), ("quality.maxContrast", None, Outcome.UNMET)] == [
        (f.rule, f.observed, f.outcome) for f in evaluation.findings
    ]


# --- colours ------------------------------------------------------------------------------------

MIN = 40.0  # a colour rule's minPercent in the tables below
MAX = 20.0  # a colour rule's maxPercent


def _dominant(simplified: str, percent: float | None, *, css: str = "royalblue") -> dict[str, Any]:
    """A raw DominantColor; a `percent` of None leaves PixelPercent out."""
    color: dict[str, Any] = {
        "Red": 40,
        "Green": 80,
        "Blue": 180,
        "HexCode": "#2850b4",
        "CSSColor": css,
        "SimplifiedColor": simplified,
    }
    if percent is not None:
        color["PixelPercent"] = percent
    return color


def colored(*colors: dict[str, Any], labels: tuple[dict[str, Any], ...] = ()) -> Analysis:
    """An analysis whose image properties report these dominant colours."""
    response = detect_labels(*labels, quality={"Brightness": 60.0, "Sharpness": 70.0, "Contrast": 50.0})
    response["ImageProperties"]["DominantColors"] = list(colors)
    return Analysis.from_detect_labels(response)


def _shares(blue: float) -> tuple[dict[str, Any], ...]:
    """Blue at `blue` percent, the rest of the image white; no white when blue is all of it."""
    rest = (_dominant("white", 100.0 - blue, css="white"),) if blue < 100 else ()
    return (_dominant("blue", blue), *rest) if blue > 0 else rest


@pytest.mark.parametrize(
    ("outcome", "verdict", "blue"),
    [
        pytest.param(Outcome.MET, Verdict.PASS, 100.0, id="all of the image"),
        pytest.param(Outcome.MET, Verdict.PASS, MIN, id="exactly at min"),
        pytest.param(Outcome.UNCERTAIN, Verdict.REVIEW, MIN - 0.001, id="just below min"),
        pytest.param(Outcome.UNCERTAIN, Verdict.REVIEW, MIN - M, id="exactly at min - m"),
        pytest.param(Outcome.UNMET, Verdict.FAIL, MIN - M - 0.001, id="just below min - m"),
        pytest.param(Outcome.UNMET, Verdict.FAIL, 0.0, id="colour absent observes 0"),
    ],
)
def test_colour_min_percent_outcome_follows_the_share(outcome: Outcome, verdict: Verdict, blue: float):
    rules = criteria(reviewMargin=M, colors=[{"color": "blue", "minPercent": MIN}])

    evaluation = evaluate(colored(*_shares(blue)), rules)

    assert verdict == evaluation.verdict
    assert Finding(
        rule="colors[0].minPercent",
        kind="color",
        subject="blue",
        expected=">= 40% blue (review from 30%)",
        observed=blue,
        outcome=outcome,
    ) == _only(evaluation)


@pytest.mark.parametrize(
    ("outcome", "verdict", "blue"),
    [
        pytest.param(Outcome.MET, Verdict.PASS, 0.0, id="colour absent observes 0"),
        pytest.param(Outcome.MET, Verdict.PASS, MAX, id="exactly at max"),
        pytest.param(Outcome.UNCERTAIN, Verdict.REVIEW, MAX + 0.001, id="just above max"),
        pytest.param(Outcome.UNCERTAIN, Verdict.REVIEW, MAX + M, id="exactly at max + m"),
        pytest.param(Outcome.UNMET, Verdict.FAIL, MAX + M + 0.001, id="just above max + m"),
        pytest.param(Outcome.UNMET, Verdict.FAIL, 100.0, id="all of the image"),
    ],
)
def test_colour_max_percent_outcome_follows_the_share(outcome: Outcome, verdict: Verdict, blue: float):
    rules = criteria(reviewMargin=M, colors=[{"color": "blue", "maxPercent": MAX}])

    evaluation = evaluate(colored(*_shares(blue)), rules)

    assert verdict == evaluation.verdict
    assert Finding(
        rule="colors[0].maxPercent",
        kind="color",
        subject="blue",
        expected="<= 20% blue (review up to 30%)",
        observed=blue,
        outcome=outcome,
    ) == _only(evaluation)


@pytest.mark.parametrize(
    ("outcome", "bound", "blue"),
    [
        pytest.param(Outcome.MET, {"minPercent": MIN}, MIN, id="min, at it"),
        pytest.param(Outcome.UNMET, {"minPercent": MIN}, MIN - 0.001, id="min, just below"),
        pytest.param(Outcome.MET, {"maxPercent": MAX}, MAX, id="max, at it"),
        pytest.param(Outcome.UNMET, {"maxPercent": MAX}, MAX + 0.001, id="max, just above"),
    ],
)
def test_colour_bounds_with_margin_0_have_no_uncertain_band(
    outcome: Outcome, bound: dict[str, float], blue: float
):
    rules = criteria(colors=[{"color": "blue", **bound}])

    finding = _only(evaluate(colored(*_shares(blue)), rules))

    assert outcome == finding.outcome
    assert "review" not in finding.expected


@pytest.mark.parametrize(
    ("expected", "rule", "margin"),
    [
        pytest.param(">= 40% blue", {"minPercent": 40}, 0, id="min without margin"),
        pytest.param("<= 5% blue", {"maxPercent": 5}, 0, id="max without margin"),
        pytest.param(">= 40% blue (review from 30%)", {"minPercent": 40}, 10, id="min with margin"),
        pytest.param("<= 5.5% blue (review up to 15.5%)", {"maxPercent": 5.5}, 10, id="max with margin"),
        pytest.param("<= 89.5% blue (review up to 99.5%)", {"maxPercent": 89.5}, 10, id="band short of 100"),
    ],
)
def test_colour_finding_says_what_it_expected(expected: str, rule: dict[str, float], margin: float):
    rules = criteria(reviewMargin=margin, colors=[{"color": "blue", **rule}])

    assert expected == _only(evaluate(colored(_dominant("blue", 50.0)), rules)).expected


@pytest.mark.parametrize(
    ("expected", "colors"),
    [
        pytest.param(
            40.0,
            (_dominant("blue", 25.0), _dominant("white", 60.0), _dominant("blue", 15.0)),
            id="two shades of blue summed",
        ),
        pytest.param(
            40.0,
            (
                _dominant("blue", 0.3),
                _dominant("blue", 31.9),
                _dominant("blue", 7.8),
                _dominant("grey", 60.0),
            ),
            id="a sum that floats would make 39.99999999999999 is 40",
        ),
        pytest.param(
            40.0,
            (_dominant("Blue", 10.0), _dominant("BLUE", 20.0), _dominant("blue", 10.0)),
            id="simplified colour matched ignoring case",
        ),
        pytest.param(
            25.0,
            (
                _dominant("blue", 25.0),
                _dominant("purple", 30.0, css="blue"),
                _dominant("navy", 45.0, css="navy"),
            ),
            id="only the simplified colour counts, not the CSS one",
        ),
        pytest.param(
            0.0,
            (_dominant("white", 70.0, css="white"), _dominant("grey", 30.0, css="grey")),
            id="none of that colour observes 0",
        ),
    ],
)
def test_colour_share_is_the_sum_over_dominant_colours_of_that_simplified_colour(
    expected: float, colors: tuple[dict[str, Any], ...]
):
    rules = criteria(colors=[{"color": "blue", "minPercent": MIN}])

    finding = _only(evaluate(colored(*colors), rules))

    assert expected == finding.observed
    assert (Outcome.MET if expected >= MIN else Outcome.UNMET) == finding.outcome


def test_colour_rule_written_in_any_case_matches():
    rules = criteria(colors=[{"color": "GREY", "maxPercent": 10}])

    finding = _only(evaluate(colored(_dominant("Grey", 12.5), _dominant("white", 87.5)), rules))

    assert ("grey", 12.5, Outcome.UNMET) == (finding.subject, finding.observed, finding.outcome)


@pytest.mark.parametrize(
    "seen",
    [
        pytest.param(analysis(label("Widget", 99.0)), id="no image properties"),
        pytest.param(colored(), id="image properties without dominant colours"),
        pytest.param(
            colored(_dominant("blue", None), _dominant("white", 60.0)), id="a blue without its pixel percent"
        ),
        pytest.param(
            Analysis.from_detect_custom_labels(detect_custom_labels(custom_label("Widget", 99.0))),
            id="custom labels report no image properties",
        ),
    ],
)
def test_colour_not_measured_is_unmet_for_either_bound(seen: Analysis):
    rules = criteria(reviewMargin=M, colors=[{"color": "blue", "minPercent": MIN, "maxPercent": 99 - M}])

    evaluation = evaluate(seen, rules)

    assert Verdict.FAIL == evaluation.verdict
    assert [
        ("colors[0].minPercent", None, Outcome.UNMET),
        ("colors[0].maxPercent", None, Outcome.UNMET),
    ] == [(f.rule, f.observed, f.outcome) for f in evaluation.findings]


def test_a_colour_not_among_reported_dominant_colours_observes_0_not_unmeasured():
    rules = criteria(colors=[{"color": "red", "maxPercent": 5}])

    finding = _only(evaluate(colored(_dominant("blue", 100.0)), rules))

    assert (0.0, Outcome.MET) == (finding.observed, finding.outcome)


@pytest.mark.parametrize(
    ("outcomes", "blue"),
    [
        pytest.param((Outcome.UNMET, Outcome.MET), 25.0, id="below the band of min"),
        pytest.param((Outcome.UNCERTAIN, Outcome.MET), 35.0, id="in the band of min"),
        pytest.param((Outcome.MET, Outcome.MET), 50.0, id="between the bounds"),
        pytest.param((Outcome.MET, Outcome.UNCERTAIN), 65.0, id="in the band of max"),
        pytest.param((Outcome.MET, Outcome.UNMET), 75.0, id="above the band of max"),
    ],
)
def test_colour_rule_with_both_bounds_gives_one_finding_per_bound(
    outcomes: tuple[Outcome, Outcome], blue: float
):
    rules = criteria(reviewMargin=M, colors=[{"color": "blue", "minPercent": MIN, "maxPercent": 60}])

    findings = evaluate(colored(*_shares(blue)), rules).findings

    assert [
        ("colors[0].minPercent", ">= 40% blue (review from 30%)", blue, outcomes[0]),
        ("colors[0].maxPercent", "<= 60% blue (review up to 70%)", blue, outcomes[1]),
    ] == [(f.rule, f.expected, f.observed, f.outcome) for f in findings]


def test_colour_shares_are_measured_by_the_local_detector():
    img = Image.new("RGB", (200, 100), (255, 255, 255))
    img.paste((40, 80, 180), (0, 0, 100, 100))  # the left half blue
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    seen = Analysis(image_properties=measure(buffer.getvalue()))
    rules = criteria(
        colors=[
            {"color": "blue", "minPercent": 49.5, "maxPercent": 50.5},
            {"color": "white", "minPercent": 49.5},
            {"color": "red", "maxPercent": 0},
        ]
    )

    evaluation = evaluate(seen, rules)

    assert Verdict.PASS == evaluation.verdict, [f.describe() for f in evaluation.findings]
    assert [50.0, 50.0, 50.0, 0.0] == [f.observed for f in evaluation.findings]


# --- several rules: the verdict, findings and reasons -------------------------------------------

SEVERAL = {
    "minConfidence": T,
    "reviewMargin": M,
    "require": [{"label": "Widget"}],
    "forbid": [{"label": "Rust"}],
    "quality": {"minSharpness": 40},
}


@pytest.mark.parametrize(
    ("widget", "rust", "sharpness", "verdict"),
    [
        pytest.param(95.0, 10.0, 60.0, Verdict.PASS, id="all met or clear"),
        pytest.param(75.0, 10.0, 60.0, Verdict.REVIEW, id="one uncertain"),
        pytest.param(75.0, 75.0, 60.0, Verdict.REVIEW, id="two uncertain"),
        pytest.param(50.0, 10.0, 60.0, Verdict.FAIL, id="one unmet"),
        pytest.param(95.0, 85.0, 60.0, Verdict.FAIL, id="one violated"),
        pytest.param(95.0, 10.0, 30.0, Verdict.FAIL, id="one quality bound unmet"),
        pytest.param(75.0, 10.0, 30.0, Verdict.FAIL, id="FAIL beats REVIEW, unmet"),
        pytest.param(95.0, 85.0, 60.0, Verdict.FAIL, id="FAIL beats PASS, violated"),
        pytest.param(75.0, 85.0, 60.0, Verdict.FAIL, id="FAIL beats REVIEW, violated"),
    ],
)
def test_fail_beats_review_beats_pass(widget: float, rust: float, sharpness: float, verdict: Verdict):
    seen = analysis(label("Widget", widget), label("Rust", rust), quality={"Sharpness": sharpness})

    assert verdict == evaluate(seen, criteria(**SEVERAL)).verdict


WITH_COLORS = {
    "minConfidence": T,
    "reviewMargin": M,
    "require": [{"label": "Widget"}],
    "colors": [{"color": "blue", "minPercent": MIN}, {"color": "red", "maxPercent": 5}],
}


@pytest.mark.parametrize(
    ("verdict", "widget", "blue", "red"),
    [
        pytest.param(Verdict.PASS, 95.0, 50.0, 0.0, id="all met"),
        pytest.param(Verdict.REVIEW, 95.0, 35.0, 0.0, id="a colour uncertain"),
        pytest.param(Verdict.REVIEW, 75.0, 50.0, 10.0, id="a label and a colour uncertain"),
        pytest.param(Verdict.FAIL, 95.0, 20.0, 0.0, id="a colour unmet"),
        pytest.param(Verdict.FAIL, 75.0, 50.0, 20.0, id="a colour unmet beats an uncertain label"),
        pytest.param(Verdict.FAIL, 50.0, 35.0, 10.0, id="a label unmet beats uncertain colours"),
    ],
)
def test_colour_outcomes_join_the_verdict_like_any_rule(
    verdict: Verdict, widget: float, blue: float, red: float
):
    colors = [_dominant("blue", blue), _dominant("red", red), _dominant("white", 100.0 - blue - red)]
    seen = colored(*(c for c in colors if c["PixelPercent"] > 0), labels=(label("Widget", widget),))

    assert verdict == evaluate(seen, criteria(**WITH_COLORS)).verdict


def test_reasons_of_a_review_name_the_uncertain_colour():
    seen = colored(_dominant("blue", 35.0), _dominant("white", 65.0), labels=(label("Widget", 95.0),))

    evaluation = evaluate(seen, criteria(**WITH_COLORS))

    assert [("colors[0].minPercent", Outcome.UNCERTAIN)] == [(f.rule, f.outcome) for f in evaluation.reasons]


def test_findings_come_one_per_rule_in_document_order():
    rules = criteria(
        require=[{"label": "Widget"}, {"anyOf": ["Bolt", "Screw"]}, {"label": "Screw", "count": {"min": 4}}],
        forbid=[{"label": "Scratch"}, {"label": "Rust"}],
        quality={"maxContrast": 90, "minSharpness": 40, "maxBrightness": 95, "minBrightness": 20},
        colors=[{"color": "red", "maxPercent": 5}, {"color": "blue", "minPercent": 30, "maxPercent": 60}],
    )

    findings = evaluate(analysis(), rules).findings

    assert [
        ("require[0]", "require"),
        ("require[1]", "any_of"),
        ("require[2]", "require"),
        ("require[2].count", "count"),
        ("forbid[0]", "forbid"),
        ("forbid[1]", "forbid"),
        ("quality.minBrightness", "quality"),
        ("quality.maxBrightness", "quality"),
        ("quality.minSharpness", "quality"),
        ("quality.maxContrast", "quality"),
        ("colors[0].maxPercent", "color"),
        ("colors[1].minPercent", "color"),
        ("colors[1].maxPercent", "color"),
    ] == [(f.rule, f.kind) for f in findings]


def test_reasons_of_a_fail_are_its_failing_findings_only():
    seen = analysis(label("Widget", 75.0), label("Rust", 85.0), quality={"Sharpness": 30.0})

    evaluation = evaluate(seen, criteria(**SEVERAL))

    assert [("forbid[0]", Outcome.VIOLATED), ("quality.minSharpness", Outcome.UNMET)] == [
        (f.rule, f.outcome) for f in evaluation.reasons
    ]


def test_reasons_of_a_review_are_its_uncertain_findings():
    seen = analysis(label("Widget", 75.0), label("Rust", 72.0), quality={"Sharpness": 60.0})

    evaluation = evaluate(seen, criteria(**SEVERAL))

    assert Verdict.REVIEW == evaluation.verdict
    assert ["require[0]", "forbid[0]"] == [f.rule for f in evaluation.reasons]


def test_a_pass_has_no_reasons():
    evaluation = evaluate(analysis(label("Widget", 95.0), quality={"Sharpness": 60.0}), criteria(**SEVERAL))

    assert Verdict.PASS == evaluation.verdict
    assert () == evaluation.reasons


def test_evaluation_is_pure_the_same_inputs_give_the_same_evaluation():
    seen = analysis(label("Widget", 75.0), label("Rust", 85.0), quality={"Sharpness": 30.0})
    rules = criteria(**SEVERAL)
    before = (seen.model_dump_json(), rules.model_dump_json())

    first, second = evaluate(seen, rules), evaluate(seen, rules)

    assert first == second
    assert first.model_dump_json() == second.model_dump_json()
    assert before == (seen.model_dump_json(), rules.model_dump_json())


def test_evaluation_records_the_criteria_fingerprint():
    rules = criteria(**SEVERAL)

    evaluation = evaluate(analysis(), rules)

    assert rules.fingerprint == evaluation.criteria


@pytest.mark.parametrize(
    ("finding", "line"),
    [
        pytest.param(
            Finding(
                rule="forbid[0]",
                kind="forbid",
                subject="Scratch",
                expected="confidence < 70 (review from 60)",
                observed=83.4,
                outcome=Outcome.VIOLATED,
            ),
            "forbid[0] Scratch: expected confidence < 70 (review from 60), observed 83.4 -> violated",
            id="forbid",
        ),
        pytest.param(
            Finding(
                rule="require[0]",
                kind="require",
                subject="Widget",
                expected="confidence >= 80",
                observed=85.0,
                matched="Gadget",
                outcome=Outcome.MET,
            ),
            "require[0] Widget: expected confidence >= 80, observed 85 as 'Gadget' -> met",
            id="matched by alias",
        ),
        pytest.param(
            Finding(
                rule="quality.minSharpness",
                kind="quality",
                subject="sharpness",
                expected=">= 40",
                observed=None,
                outcome=Outcome.UNMET,
            ),
            "quality.minSharpness sharpness: expected >= 40, observed not measured -> unmet",
            id="not measured",
        ),
        pytest.param(
            Finding(
                rule="colors[0].minPercent",
                kind="color",
                subject="blue",
                expected=">= 40% blue (review from 30%)",
                observed=35.5,
                outcome=Outcome.UNCERTAIN,
            ),
            "colors[0].minPercent blue: expected >= 40% blue (review from 30%), observed 35.5% -> uncertain",
            id="colour share in percent",
        ),
        pytest.param(
            Finding(
                rule="colors[1].maxPercent",
                kind="color",
                subject="red",
                expected="<= 5% red",
                observed=None,
                outcome=Outcome.UNMET,
            ),
            "colors[1].maxPercent red: expected <= 5% red, observed not measured -> unmet",
            id="colour not measured",
        ),
    ],
)
def test_finding_describes_itself_on_one_line(finding: Finding, line: str):
    assert line == finding.describe()
