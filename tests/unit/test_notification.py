"""The message the QC group gets for each verdict: a safe SNS subject, a plain body, filter attributes."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from inspector import Analysis, Criteria, ObjectRef, Outcome, ResultRecord, Verdict, evaluate
from inspector.notification import SUBJECT_MAX, Notification, compose, subject
from inspector.testing import labels

BUCKET = "widget-factory"
KEY = "images/line-3/w1.jpg"
INSPECTED_AT = datetime(2026, 11, 3, 9, 14, 30, tzinfo=UTC)
LINK = "https://widget-factory.s3.amazonaws.com/analyzed/failed/line-3/w1.jpg?X-Amz-Signature=0f1e"
CRITERIA = Criteria.from_document(
    {
        "minConfidence": 80,
        "reviewMargin": 10,
        "require": [{"label": "Widget"}],
        "forbid": [{"label": "Scratch"}],
        "quality": {"minSharpness": 50},
    }
)
GOOD_QUALITY = {"Brightness": 60.0, "Sharpness": 72.5, "Contrast": 40.04}

# What the detector saw for each verdict, labels deliberately not in confidence order.
SEEN: dict[Verdict, dict[str, Any]] = {
    Verdict.PASS: labels(("Metal", 88.04), ("Widget", 97.26), ("Tool", 42.0), quality=GOOD_QUALITY),
    Verdict.FAIL: labels(("Widget", 95.0), ("Scratch", 91.0), quality=GOOD_QUALITY),
    Verdict.REVIEW: labels(("Widget", 75.5), quality=GOOD_QUALITY),
}
DESTINATIONS = {
    Verdict.PASS: "analyzed/passed/line-3/w1.jpg",
    Verdict.FAIL: "analyzed/failed/line-3/w1.jpg",
    Verdict.REVIEW: "analyzed/review/line-3/w1.jpg",
    Verdict.REJECTED: "rejected/line-3/w1.jpg",
}
REJECTION = "not a JPEG or PNG image (GIF)"


def image(key: str = KEY) -> ObjectRef:
    return ObjectRef(bucket=BUCKET, key=key, raw_key=key, size=482133, etag="9b2cf535f27731c9")


def judged(response: dict[str, Any], *, key: str = KEY, criteria: Criteria = CRITERIA) -> ResultRecord:
    analysis = Analysis.from_detect_labels(response)
    return ResultRecord.judged(
        image(key), analysis, evaluate(analysis, criteria), inspected_at=INSPECTED_AT, detector="rekognition"
    )


def record(verdict: Verdict, *, key: str = KEY) -> ResultRecord:
    """A filed record with this verdict, as the pipeline composes it (destination set, not yet notified)."""
    if verdict is Verdict.REJECTED:
        made = ResultRecord.rejected(
            image(key),
            REJECTION,
            criteria=CRITERIA.fingerprint,
            inspected_at=INSPECTED_AT,
            detector="rekognition",
        )
    else:
        made = judged(SEEN[verdict], key=key)
    assert verdict == made.verdict
    return made.model_copy(update={"destination": DESTINATIONS[verdict]})


def body_lines(verdict: Verdict, **options: Any) -> list[str]:
    options = {"link": LINK, "link_expiry_seconds": 86400, **options}
    return compose(record(verdict), **options).body.splitlines()


def section(lines: list[str], title: str) -> list[str]:
    """The lines after `title` up to the next blank line."""
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


ALL_VERDICTS = [Verdict.PASS, Verdict.FAIL, Verdict.REVIEW, Verdict.REJECTED]
VERDICT_IDS = ["pass", "fail", "review", "rejected"]


# --- The subject ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "key", "expected"),
    [
        (Verdict.FAIL, "images/line-3/w1.jpg", "QC FAIL: w1.jpg (line-3)"),
        (Verdict.PASS, "images/w1.jpg", "QC PASS: w1.jpg"),
        (Verdict.REVIEW, "images/plant-a/line-3/cam-2/w1.jpg", "QC REVIEW: w1.jpg (cam-2)"),
        (Verdict.REJECTED, "images/línea-3/pièce.jpg", "QC REJECTED: piece.jpg (linea-3)"),
        (Verdict.FAIL, "images/line-3/", "QC FAIL: line-3"),
        (Verdict.FAIL, "images/line-3/😀.jpg", "QC FAIL: :grinning:.jpg (line-3)"),
        (Verdict.FAIL, "images/line-3/😀", "QC FAIL: :grinning: (line-3)"),
        (Verdict.PASS, "images/名前.jpg", "QC PASS: MingQian.jpg"),
        (Verdict.FAIL, "images/ライン/부품.png", "QC FAIL: BuPum.png (rain)"),
        (Verdict.FAIL, "images/line\n3/w1\t.jpg", "QC FAIL: w1 .jpg (line 3)"),
    ],
    ids=[
        "nested",
        "top-level",
        "deep",
        "accents-folded",
        "folder-marker",
        "emoji-named",
        "only-emoji",
        "cjk-transliterated",
        "japanese-folder-korean-name",
        "tabs",
    ],
)
def test_the_subject_names_the_verdict_the_file_and_its_folder(
    verdict: Verdict, key: str, expected: str
) -> None:
    assert expected == subject(verdict, key)


HOSTILE_KEYS = [
    "images/line-3/" + "wídget-ü-😀-" * 75,
    "images/" + "é" * 300,
    "images/" + "漢字" * 450,
    "images/line-3/w1\n\nBcc: everyone@example.com\r\n.jpg",
    "images/\tline\t3/\tw1.jpg\t",
    "images/line-3/w1\x00\x01\x1b[31m.jpg",
    "images/line-3/\u202egpj.1w\u200f\u200e.jpg",
    "images/line-3/",
    "images/",
    "images/😀/😀/😀",
    "images/a/" + "x" * 1000,
    "images/" + "\u0301" * 200 + "/w1.jpg",
    "images/line-3/\x7f\x85\u2028\u2029w1.jpg",
]
HOSTILE_IDS = [
    "900-chars-of-unicode-and-emoji",
    "e-acute-300-times",
    "cjk-900-chars",
    "header-injection",
    "tabs",
    "nul-and-escape",
    "rtl-override-and-marks",
    "ends-with-slash",
    "only-the-prefix",
    "only-emoji",
    "ascii-1000-chars",
    "combining-marks",
    "other-line-separators",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=HOSTILE_IDS)
@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_the_subject_is_one_line_of_at_most_100_printable_ascii_characters_whatever_the_key(
    verdict: Verdict, key: str
) -> None:
    text = subject(verdict, key)

    assert text.startswith(f"QC {verdict.value}: ")
    assert text.isascii()
    assert all(" " <= ch <= "~" for ch in text), repr(text)
    assert len(text) <= SUBJECT_MAX
    assert text == text.strip()


def test_a_long_subject_is_cut_to_exactly_100_characters_with_an_ellipsis() -> None:
    text = subject(Verdict.FAIL, "images/" + "é" * 300)

    assert SUBJECT_MAX == len(text)
    assert "QC FAIL: " + "e" * 88 + "..." == text


def test_the_subject_limit_is_snss_100_characters() -> None:
    assert 100 == SUBJECT_MAX


# --- The body ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_the_body_opens_with_the_verdict_the_image_where_it_was_filed_and_the_link(verdict: Verdict) -> None:
    lines = body_lines(verdict)

    assert [
        f"Verdict: {verdict.value}",
        f"Image: s3://{BUCKET}/{KEY}",
        f"Filed under: s3://{BUCKET}/{DESTINATIONS[verdict]}",
        f"Link (valid 1 day): {LINK}",
        "",
    ] == lines[:5]


@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_the_body_closes_with_the_line_the_criteria_fingerprint_the_detector_and_the_time(
    verdict: Verdict,
) -> None:
    lines = body_lines(verdict)

    assert [
        "",
        "Line: default",
        f"Criteria fingerprint: {CRITERIA.fingerprint}",
        "Detector: rekognition; inspected at 2026-11-03T09:14:30+00:00",
    ] == lines[-4:]


def test_a_fail_says_why_with_the_failing_findings_only() -> None:
    lines = body_lines(Verdict.FAIL)

    assert [
        "  - forbid[0] Scratch: expected confidence < 80 (review from 70), observed 91 -> violated"
    ] == section(lines, "Why:")


def test_a_fail_with_both_failing_and_uncertain_findings_gives_only_the_failing_ones_as_why() -> None:
    failed = judged(labels(("Widget", 75.0), ("Scratch", 95.0), quality={"Sharpness": 10}))
    reasons = [f for f in failed.findings if f.outcome in {Outcome.UNMET, Outcome.VIOLATED}]

    lines = compose(failed, link=None, link_expiry_seconds=3600).body.splitlines()

    assert Verdict.FAIL == failed.verdict
    assert [f"  - {f.describe()}" for f in reasons] == section(lines, "Why:")
    assert ["forbid[0]", "quality.minSharpness"] == [f.rule for f in reasons]


def test_a_review_says_why_with_the_uncertain_findings() -> None:
    lines = body_lines(Verdict.REVIEW)

    assert [
        "  - require[0] Widget: expected confidence >= 80 (review from 70), observed 75.5 -> uncertain"
    ] == (section(lines, "Why:"))


def test_a_pass_gives_no_why() -> None:
    lines = body_lines(Verdict.PASS)

    assert "Why:" not in lines


@pytest.mark.parametrize("verdict", [Verdict.PASS, Verdict.FAIL, Verdict.REVIEW], ids=VERDICT_IDS[:3])
def test_every_finding_has_its_own_line_marked_by_its_outcome(verdict: Verdict) -> None:
    filed = record(verdict)
    marks = {"met": "ok", "clear": "ok", "uncertain": "??", "unmet": "XX", "violated": "XX"}

    lines = body_lines(verdict)

    assert [f"  {marks[f.outcome.value]} {f.describe()}" for f in filed.findings] == section(
        lines, "Findings:"
    )
    assert 3 == len(filed.findings)


def test_labels_are_listed_by_confidence_highest_first_to_one_decimal() -> None:
    lines = body_lines(Verdict.PASS)

    assert ["  Widget: 97.3", "  Metal: 88.0", "  Tool: 42.0"] == section(lines, "Labels seen (confidence):")[
        :3
    ]


def test_a_located_label_says_how_many_instances_were_located_and_where() -> None:
    response = labels(("Widget", 97.26))
    response["Labels"][0]["Instances"] = [
        {"Confidence": 97.0, "BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.1, "Top": 0.1}},
        {"Confidence": 91.0, "BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.5, "Top": 0.1}},
    ]
    filed = judged(response, criteria=Criteria.from_document({"require": [{"label": "Widget"}]}))

    lines = compose(filed, link=None, link_expiry_seconds=3600).body.splitlines()

    assert [
        "  Widget: 97.3, 2 located",
        "    97.0 at left 0.10, top 0.10, 0.10 x 0.10 of the image",
        "    91.0 at left 0.50, top 0.10, 0.10 x 0.10 of the image",
        "Model version: 3.0",
    ] == section(lines, "Labels seen (confidence):")


def test_an_analysis_without_labels_says_none_were_seen() -> None:
    filed = judged(labels(), criteria=Criteria.from_document({"forbid": [{"label": "Scratch"}]}))

    lines = compose(filed, link=None, link_expiry_seconds=3600).body.splitlines()

    assert (
        "  (none reported: none named by the criteria, or all below the minimum confidence)"
        == section(lines, "Labels seen (confidence):")[0]
    )


def test_image_quality_is_given_to_one_decimal_when_measured() -> None:
    lines = body_lines(Verdict.PASS)

    assert "Image quality: brightness 60.0, sharpness 72.5, contrast 40.0" in lines
    assert "Model version: 3.0" in lines


def test_only_the_measured_qualities_are_given() -> None:
    filed = judged(labels(("Widget", 97.0), quality={"Sharpness": 72.5}))

    lines = compose(filed, link=None, link_expiry_seconds=3600).body.splitlines()

    assert "Image quality: sharpness 72.5" in lines


def test_no_image_quality_line_when_none_was_measured() -> None:
    filed = judged(
        labels(("Widget", 97.0)), criteria=Criteria.from_document({"require": [{"label": "Widget"}]})
    )

    body = compose(filed, link=None, link_expiry_seconds=3600).body

    assert "Image quality" not in body


def test_a_rejected_image_gives_the_reason_and_no_findings() -> None:
    lines = body_lines(Verdict.REJECTED)

    assert [
        f"Rejected: {REJECTION}",
        "The image could not be analysed; no criteria were applied.",
    ] == lines[5:7]
    assert "Findings:" not in lines
    assert "Why:" not in lines
    assert not any(line.startswith("Labels seen") for line in lines)


@pytest.mark.parametrize(
    ("seconds", "validity"),
    [
        (86400, "valid 1 day"),
        (2 * 86400, "valid 2 days"),
        (7 * 86400, "valid 7 days"),
        (3 * 3600, "valid 3 h"),
        (3600, "valid 1 h"),
        (90 * 60, "valid 90 min"),
        (60, "valid 1 min"),
    ],
    ids=["one-day", "two-days", "seven-days", "three-hours", "one-hour", "ninety-minutes", "one-minute"],
)
def test_the_link_says_how_long_it_is_valid(seconds: int, validity: str) -> None:
    lines = body_lines(Verdict.FAIL, link_expiry_seconds=seconds)

    assert f"Link ({validity}): {LINK}" == lines[3]


@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_without_a_link_there_is_no_link_line(verdict: Verdict) -> None:
    lines = body_lines(verdict, link=None)

    assert not any(line.startswith("Link") for line in lines)
    assert "" == lines[3]


def test_a_record_not_yet_filed_has_no_filed_under_line() -> None:
    unfiled = record(Verdict.FAIL).model_copy(update={"destination": None})

    lines = compose(unfiled, link=None, link_expiry_seconds=3600).body.splitlines()

    assert ["Verdict: FAIL", f"Image: s3://{BUCKET}/{KEY}", ""] == lines[:3]


def test_a_record_without_a_detector_says_unknown() -> None:
    anonymous = record(Verdict.PASS).model_copy(update={"detector": None})

    body = compose(anonymous, link=None, link_expiry_seconds=3600).body

    assert "Detector: unknown; inspected at 2026-11-03T09:14:30+00:00\n" in body


def test_the_body_ends_with_one_line_break() -> None:
    body = compose(record(Verdict.FAIL), link=LINK, link_expiry_seconds=86400).body

    assert body.endswith("\n")
    assert not body.endswith("\n\n")


# --- Attributes and determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_the_attributes_carry_the_kind_the_verdict_the_criteria_fingerprint_and_the_line(
    verdict: Verdict,
) -> None:
    notification = compose(record(verdict), link=LINK, link_expiry_seconds=86400)

    assert {
        "kind": "inspection",
        "verdict": verdict.value,
        "criteria": CRITERIA.fingerprint,
        "line": "default",
    } == notification.attributes
    assert all(type(value) is str for value in notification.attributes.values())


@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_the_subject_of_the_notification_is_the_subject_of_its_key(verdict: Verdict) -> None:
    notification = compose(record(verdict), link=LINK, link_expiry_seconds=86400)

    assert subject(verdict, KEY) == notification.subject


@pytest.mark.parametrize("verdict", ALL_VERDICTS, ids=VERDICT_IDS)
def test_compose_is_deterministic(verdict: Verdict) -> None:
    first = compose(record(verdict), link=LINK, link_expiry_seconds=86400)
    again = compose(ResultRecord.from_json(record(verdict).to_json()), link=LINK, link_expiry_seconds=86400)

    assert first == again
    assert isinstance(first, Notification)


@pytest.mark.parametrize("key", HOSTILE_KEYS[:4], ids=HOSTILE_IDS[:4])
def test_a_hostile_key_still_gives_a_safe_subject_in_the_composed_notification(key: str) -> None:
    notification = compose(record(Verdict.FAIL, key=key), link=None, link_expiry_seconds=3600)

    assert notification.subject.isascii()
    assert len(notification.subject) <= SUBJECT_MAX
    assert "\n" not in notification.subject


def test_a_key_holding_a_line_break_cannot_forge_a_line_of_the_body() -> None:
    forged = record(Verdict.FAIL, key="images/line-3/w1\nVerdict: PASS.jpg")

    body = compose(forged, link=None, link_expiry_seconds=3600).body

    assert ["Verdict: FAIL"] == [line for line in body.splitlines() if line.startswith("Verdict:")]
    assert "w1\\nVerdict: PASS.jpg" in body


def test_dominant_colours_are_summed_by_simplified_colour_largest_first() -> None:
    response = labels(("Widget", 97.0), quality=GOOD_QUALITY)
    response["ImageProperties"]["DominantColors"] = [
        {"SimplifiedColor": "white", "PixelPercent": 30.0},
        {"SimplifiedColor": "blue", "PixelPercent": 41.25},
        {"SimplifiedColor": "Blue", "PixelPercent": 20.0},
    ]

    body = compose(judged(response), link=None, link_expiry_seconds=3600).body

    assert "Dominant colours: blue 61.2%, white 30.0%" in body.splitlines()


def test_without_the_transliteration_library_a_name_becomes_code_points_a_person_can_match(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(sys.modules, "anyascii", None)  # `import anyascii` now raises ImportError

    assert "QC PASS: U+540DU+524D.jpg (line-e)" == subject(Verdict.PASS, "images/line-é/名前.jpg")
