"""The function's settings: read from `INSPECTOR_*` variables, written back, and where each image goes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from inspector import constants as c
from inspector.criteria import Criteria
from inspector.errors import SettingsError
from inspector.settings import DetectorKind, Settings

TOPIC = "arn:aws:sns:eu-west-1:111122223333:widget-qc"
BUCKET = "widget-factory-images"
LABEL_RULES = {"require": [{"label": "Widget"}], "forbid": [{"label": "Scratch"}]}
QUALITY_RULES = {"quality": {"minSharpness": 40}}


def env(**overrides: str) -> dict[str, str]:
    """A valid environment with the three required variables, changed by `overrides` (by constant name)."""
    base = {
        c.ENV_TOPIC_ARN: TOPIC,
        c.ENV_CRITERIA: json.dumps(LABEL_RULES),
        c.ENV_BUCKET: BUCKET,
    }
    base.update({getattr(c, name): value for name, value in overrides.items()})
    return base


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ)
    return str(caught.value)


def settings(**changes: Any) -> Settings:
    document: dict[str, Any] = {
        "topic_arn": TOPIC,
        "criteria": Criteria.from_document(LABEL_RULES),
        "bucket": BUCKET,
    }
    document.update(changes)
    return Settings(**document)


# --- Reading the environment --------------------------------------------------------------------------


def test_the_three_required_variables_are_enough_and_the_rest_take_their_defaults() -> None:
    read = Settings.from_env(env())

    assert TOPIC == read.topic_arn
    assert Criteria.from_document(LABEL_RULES) == read.criteria
    assert BUCKET == read.bucket
    assert DetectorKind.REKOGNITION == read.detector
    assert None is read.custom_labels_arn
    assert ("images/", "analyzed/", "rejected/", "results/") == (
        read.images_prefix,
        read.analyzed_prefix,
        read.rejected_prefix,
        read.results_prefix,
    )
    assert 86400 == read.link_expiry_seconds
    assert 10 == read.max_workers
    assert "INFO" == read.log_level
    assert "WidgetInspector" == read.metrics_namespace
    assert None is read.endpoint_url


def test_every_variable_is_read_and_converted_to_its_type() -> None:
    read = Settings.from_env(
        env(
            ENV_DETECTOR="custom-labels",
            ENV_CUSTOM_LABELS_ARN="arn:aws:rekognition:eu-west-1:111122223333:project/widgets/version/v1/1",
            ENV_IMAGES_PREFIX="in/cam/",
            ENV_ANALYZED_PREFIX="out/",
            ENV_REJECTED_PREFIX="bad/",
            ENV_RESULTS_PREFIX="meta/results/",
            ENV_LINK_EXPIRY_SECONDS="3600",
            ENV_MAX_WORKERS="4",
            ENV_LOG_LEVEL="debug",
            ENV_METRICS_NAMESPACE="Factory/QC",
            ENV_ENDPOINT_URL="http://127.0.0.1:5000",
        )
    )

    assert DetectorKind.CUSTOM_LABELS == read.detector
    assert "arn:aws:rekognition:eu-west-1:111122223333:project/widgets/version/v1/1" == read.custom_labels_arn
    assert ("in/cam/", "out/", "bad/", "meta/results/") == (
        read.images_prefix,
        read.analyzed_prefix,
        read.rejected_prefix,
        read.results_prefix,
    )
    assert 3600 == read.link_expiry_seconds
    assert 4 == read.max_workers
    assert "DEBUG" == read.log_level
    assert "Factory/QC" == read.metrics_namespace
    assert "http://127.0.0.1:5000" == read.endpoint_url


def test_variables_outside_the_contract_are_not_read() -> None:
    read = Settings.from_env({**env(), "INSPECTOR_UNKNOWN": "x", "PATH": "/usr/bin"})

    assert Settings.from_env(env()) == read


def test_missing_required_variables_are_each_named_in_one_message() -> None:
    message = refusal({})

    assert c.ENV_TOPIC_ARN in message
    assert c.ENV_CRITERIA in message
    assert c.ENV_BUCKET in message
    assert f"{c.ENV_BUCKET} is required" in message


@pytest.mark.parametrize(
    "missing",
    [c.ENV_TOPIC_ARN, c.ENV_CRITERIA, c.ENV_BUCKET],
    ids=["topic", "criteria", "bucket"],
)
def test_one_missing_required_variable_is_named_alone(missing: str) -> None:
    environ = env()
    del environ[missing]

    assert f"invalid settings: {missing} is required" == refusal(environ)


@pytest.mark.parametrize(
    "variable",
    [c.ENV_TOPIC_ARN, c.ENV_CRITERIA, c.ENV_BUCKET],
    ids=["topic", "criteria", "bucket"],
)
def test_an_empty_required_variable_counts_as_missing(variable: str) -> None:
    assert f"{variable} is required" in refusal({**env(), variable: ""})


def test_empty_optional_variables_take_their_defaults() -> None:
    optional = (
        c.ENV_DETECTOR,
        c.ENV_CUSTOM_LABELS_ARN,
        c.ENV_IMAGES_PREFIX,
        c.ENV_ANALYZED_PREFIX,
        c.ENV_REJECTED_PREFIX,
        c.ENV_RESULTS_PREFIX,
        c.ENV_LINK_EXPIRY_SECONDS,
        c.ENV_MAX_WORKERS,
        c.ENV_LOG_LEVEL,
        c.ENV_METRICS_NAMESPACE,
        c.ENV_ENDPOINT_URL,
    )
    blank = dict.fromkeys(optional, "")

    assert Settings.from_env(env()) == Settings.from_env({**env(), **blank})


def test_settings_errors_are_value_errors_so_callers_may_catch_either() -> None:
    with pytest.raises(ValueError, match=c.ENV_BUCKET):
        Settings.from_env({c.ENV_TOPIC_ARN: TOPIC, c.ENV_CRITERIA: json.dumps(LABEL_RULES)})


# --- The criteria variable ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "named"),
    [
        ("{not json", "not valid JSON"),
        ('["Widget"]', "must be a mapping"),
        ("{}", "no rules"),
        ('{"require": [{"label": "Widget", "minConfidence": 101}]}', "require[0].minConfidence"),
        ('{"forbid": [{"label": "Scratch", "minConfidense": 90}]}', "forbid[0].minConfidense: unknown key"),
        ('{"quality": {"minSharpness": 70, "maxSharpness": 20}}', "quality: minSharpness (70)"),
        ('{"require": [{"label": "Widget", "count": {"min": 5, "max": 2}}]}', "require[0].count: min (5)"),
    ],
    ids=["not-json", "not-a-mapping", "no-rules", "out-of-range", "misspelt-key", "min-above-max", "count"],
)
def test_bad_criteria_are_refused_with_the_variable_first_and_the_field_path(
    criteria: str, named: str
) -> None:
    message = refusal(env(ENV_CRITERIA=criteria))

    assert message.startswith(f"{c.ENV_CRITERIA}: ")
    assert named in message


def test_bad_criteria_and_a_missing_bucket_are_both_named_in_one_message() -> None:
    environ = env(ENV_CRITERIA="{not json")
    del environ[c.ENV_BUCKET]

    message = refusal(environ)

    assert c.ENV_CRITERIA in message
    assert c.ENV_BUCKET in message


# --- Numbers, levels, detectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("ENV_MAX_WORKERS", "x", "valid integer"),
        ("ENV_MAX_WORKERS", "0", "greater than or equal to 1"),
        ("ENV_MAX_WORKERS", "100", "less than or equal to 64"),
        ("ENV_MAX_WORKERS", "2.5", "integer"),
        ("ENV_LINK_EXPIRY_SECONDS", "59", "greater than or equal to 60"),
        ("ENV_LINK_EXPIRY_SECONDS", "604801", "less than or equal to 604800"),
        ("ENV_LINK_EXPIRY_SECONDS", "a day", "valid integer"),
        ("ENV_LOG_LEVEL", "TRACE", "DEBUG, INFO, WARNING or ERROR"),
        ("ENV_LOG_LEVEL", "CRITICAL", "DEBUG, INFO, WARNING or ERROR"),
        ("ENV_DETECTOR", "textract", "'rekognition', 'custom-labels', 'local' or 'reference'"),
        ("ENV_BUCKET", "ab", "at least 3 characters"),
    ],
    ids=[
        "workers-not-a-number",
        "workers-zero",
        "workers-too-many",
        "workers-fraction",
        "expiry-under-a-minute",
        "expiry-over-seven-days",
        "expiry-words",
        "level-trace",
        "level-critical",
        "unknown-detector",
        "bucket-too-short",
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(name: str, value: str, named: str) -> None:
    variable = getattr(c, name)

    message = refusal(env(**{name: value}))

    assert f"{variable}: " in message
    assert named in message


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [("60", 60), ("604800", 604800)],
    ids=["one-minute", "seven-days"],
)
def test_link_expiry_bounds_are_inclusive(seconds: str, expected: int) -> None:
    assert expected == Settings.from_env(env(ENV_LINK_EXPIRY_SECONDS=seconds)).link_expiry_seconds


@pytest.mark.parametrize(
    ("workers", "expected"),
    [("1", 1), ("64", 64)],
    ids=["one", "sixty-four"],
)
def test_max_workers_bounds_are_inclusive(workers: str, expected: int) -> None:
    assert expected == Settings.from_env(env(ENV_MAX_WORKERS=workers)).max_workers


@pytest.mark.parametrize(
    ("level", "expected"),
    [("debug", "DEBUG"), ("Info", "INFO"), ("WARNING", "WARNING"), ("error", "ERROR")],
    ids=["debug", "info", "warning", "error"],
)
def test_log_levels_are_accepted_in_any_case_and_kept_upper_case(level: str, expected: str) -> None:
    assert expected == Settings.from_env(env(ENV_LOG_LEVEL=level)).log_level


def test_every_bad_field_is_named_in_one_message() -> None:
    message = refusal(env(ENV_MAX_WORKERS="x", ENV_LINK_EXPIRY_SECONDS="1", ENV_LOG_LEVEL="loud"))

    assert c.ENV_MAX_WORKERS in message
    assert c.ENV_LINK_EXPIRY_SECONDS in message
    assert c.ENV_LOG_LEVEL in message


def test_custom_labels_without_a_model_arn_is_refused_naming_both_variables() -> None:
    message = refusal(env(ENV_DETECTOR="custom-labels"))

    assert f"{c.ENV_CUSTOM_LABELS_ARN} is required when {c.ENV_DETECTOR}=custom-labels" in message


def test_custom_labels_with_quality_rules_is_refused() -> None:
    criteria = json.dumps({**LABEL_RULES, **QUALITY_RULES})

    message = refusal(
        env(ENV_DETECTOR="custom-labels", ENV_CUSTOM_LABELS_ARN="arn:model", ENV_CRITERIA=criteria)
    )

    assert f"{c.ENV_DETECTOR}=custom-labels" in message
    assert "quality rules" in message


def test_custom_labels_with_a_model_arn_and_label_rules_is_accepted() -> None:
    read = Settings.from_env(env(ENV_DETECTOR="custom-labels", ENV_CUSTOM_LABELS_ARN="arn:model"))

    assert DetectorKind.CUSTOM_LABELS == read.detector


def test_local_detector_with_label_rules_is_refused_naming_the_labels() -> None:
    message = refusal(env(ENV_DETECTOR="local"))

    assert f"{c.ENV_DETECTOR}=local: local reports no labels" in message
    assert "Widget" in message
    assert "Scratch" in message


def test_local_detector_with_quality_rules_only_is_accepted() -> None:
    read = Settings.from_env(env(ENV_DETECTOR="local", ENV_CRITERIA=json.dumps(QUALITY_RULES)))

    assert DetectorKind.LOCAL == read.detector


# --- Prefixes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENV_IMAGES_PREFIX", "images"),
        ("ENV_IMAGES_PREFIX", "/images/"),
        ("ENV_ANALYZED_PREFIX", "analyzed"),
        ("ENV_REJECTED_PREFIX", "/rejected/"),
        ("ENV_RESULTS_PREFIX", "results"),
        ("ENV_RESULTS_PREFIX", "/"),
    ],
    ids=[
        "images-no-trailing-slash",
        "images-leading-slash",
        "analyzed-no-trailing-slash",
        "rejected-leading-slash",
        "results-no-trailing-slash",
        "results-only-a-slash",
    ],
)
def test_a_malformed_prefix_is_refused_naming_its_variable(name: str, value: str) -> None:
    variable = getattr(c, name)

    assert f"{variable}: " in refusal(env(**{name: value}))


@pytest.mark.parametrize(
    ("changes", "first", "second"),
    [
        ({"ENV_ANALYZED_PREFIX": "images/analyzed/"}, c.ENV_IMAGES_PREFIX, c.ENV_ANALYZED_PREFIX),
        ({"ENV_RESULTS_PREFIX": "rejected/"}, c.ENV_REJECTED_PREFIX, c.ENV_RESULTS_PREFIX),
        ({"ENV_IMAGES_PREFIX": "analyzed/new/"}, c.ENV_IMAGES_PREFIX, c.ENV_ANALYZED_PREFIX),
        ({"ENV_REJECTED_PREFIX": "images/"}, c.ENV_IMAGES_PREFIX, c.ENV_REJECTED_PREFIX),
        ({"ENV_RESULTS_PREFIX": "analyzed/results/"}, c.ENV_ANALYZED_PREFIX, c.ENV_RESULTS_PREFIX),
    ],
    ids=[
        "analyzed-under-images",
        "results-equal-rejected",
        "images-under-analyzed",
        "rejected-equal-images",
        "results-under-analyzed",
    ],
)
def test_overlapping_prefixes_are_refused_naming_both_variables(
    changes: dict[str, str], first: str, second: str
) -> None:
    message = refusal(env(**changes))

    assert first in message
    assert second in message
    assert "overlap" in message


def test_prefixes_that_only_share_a_beginning_of_a_name_do_not_overlap() -> None:
    read = Settings.from_env(env(ENV_IMAGES_PREFIX="img/", ENV_ANALYZED_PREFIX="img-analyzed/"))

    assert ("img/", "img-analyzed/") == (read.images_prefix, read.analyzed_prefix)


# --- Writing the environment ------------------------------------------------------------------------------


ROUND_TRIPS = [
    settings(),
    settings(
        images_prefix="in/cam/",
        analyzed_prefix="out/",
        rejected_prefix="bad/",
        results_prefix="meta/results/",
    ),
    settings(
        detector=DetectorKind.CUSTOM_LABELS,
        custom_labels_arn="arn:aws:rekognition:eu-west-1:111122223333:project/widgets/version/v1/1",
        link_expiry_seconds=3600,
        max_workers=64,
        log_level="debug",
        metrics_namespace="Factory/QC",
        endpoint_url="http://127.0.0.1:5000",
    ),
    settings(detector=DetectorKind.LOCAL, criteria=Criteria.from_document(QUALITY_RULES)),
    settings(
        criteria=Criteria.from_document(
            {
                "minConfidence": 80,
                "reviewMargin": 7.5,
                "require": [
                    {"label": "Widget", "minConfidence": 92.5, "count": {"min": 1, "max": 1}},
                    {"anyOf": ["Bolt", "Screw"]},
                ],
                "forbid": [{"label": "Rust", "minConfidence": 60}],
                "quality": {"minBrightness": 20, "maxBrightness": 90, "minSharpness": 40},
            }
        )
    ),
]


@pytest.mark.parametrize(
    "original",
    ROUND_TRIPS,
    ids=["defaults", "custom-prefixes", "custom-labels-and-numbers", "local-quality-only", "every-rule-kind"],
)
def test_to_env_is_read_back_by_from_env_into_equal_settings(original: Settings) -> None:
    assert original == Settings.from_env(original.to_env())


def test_to_env_writes_only_strings_and_leaves_unset_optionals_out() -> None:
    written = settings().to_env()

    assert all(isinstance(value, str) for value in written.values())
    assert c.ENV_CUSTOM_LABELS_ARN not in written
    assert c.ENV_ENDPOINT_URL not in written
    assert "rekognition" == written[c.ENV_DETECTOR]


def test_to_env_writes_criteria_as_the_documented_camel_case_json() -> None:
    written = settings(
        criteria=Criteria.from_document({"require": [{"anyOf": ["Bolt"], "minConfidence": 90}]})
    ).to_env()

    assert {"require": [{"anyOf": ["Bolt"], "minConfidence": 90.0}]} == json.loads(written[c.ENV_CRITERIA])


# --- Where images and records go ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "verdict", "expected"),
    [
        ("images/line-3/w1.jpg", "PASS", "analyzed/passed/line-3/w1.jpg"),
        ("images/line-3/w1.jpg", "FAIL", "analyzed/failed/line-3/w1.jpg"),
        ("images/line-3/w1.jpg", "REVIEW", "analyzed/review/line-3/w1.jpg"),
        ("images/line-3/w1.jpg", "REJECTED", "rejected/line-3/w1.jpg"),
        ("images/w1.jpg", "PASS", "analyzed/passed/w1.jpg"),
        ("images/plant/a/line-3/cam 2/w1.jpg", "FAIL", "analyzed/failed/plant/a/line-3/cam 2/w1.jpg"),
        ("images/línea-3/pièce-ü.jpg", "REVIEW", "analyzed/review/línea-3/pièce-ü.jpg"),
        ("images/images/w1.jpg", "REJECTED", "rejected/images/w1.jpg"),
    ],
    ids=["pass", "fail", "review", "rejected", "top-level", "nested", "unicode", "prefix-repeated-below"],
)
def test_destination_files_each_verdict_in_its_own_place(key: str, verdict: str, expected: str) -> None:
    assert expected == settings().destination(key, verdict)


@pytest.mark.parametrize(
    ("key", "verdict", "expected"),
    [
        ("in/cam/line-3/w1.jpg", "PASS", "out/passed/line-3/w1.jpg"),
        ("in/cam/line-3/w1.jpg", "FAIL", "out/failed/line-3/w1.jpg"),
        ("in/cam/line-3/w1.jpg", "REVIEW", "out/review/line-3/w1.jpg"),
        ("in/cam/line-3/w1.jpg", "REJECTED", "bad/line-3/w1.jpg"),
    ],
    ids=["pass", "fail", "review", "rejected"],
)
def test_destination_follows_custom_prefixes(key: str, verdict: str, expected: str) -> None:
    custom = settings(
        images_prefix="in/cam/", analyzed_prefix="out/", rejected_prefix="bad/", results_prefix="meta/"
    )

    assert expected == custom.destination(key, verdict)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("images/line-3/w1.jpg", "results/line-3/w1.jpg.json"),
        ("images/w1.jpg", "results/w1.jpg.json"),
        ("images/línea-3/pièce.png", "results/línea-3/pièce.png.json"),
    ],
    ids=["nested", "top-level", "unicode"],
)
def test_record_key_sits_under_the_results_prefix(key: str, expected: str) -> None:
    assert expected == settings().record_key(key)


def test_record_key_follows_a_custom_results_prefix() -> None:
    custom = settings(images_prefix="in/cam/", results_prefix="meta/results/")

    assert "meta/results/line-3/w1.jpg.json" == custom.record_key("in/cam/line-3/w1.jpg")


def test_relative_is_the_key_below_the_images_prefix() -> None:
    assert "line-3/w1.jpg" == settings().relative("images/line-3/w1.jpg")


@pytest.mark.parametrize(
    "key",
    ["analyzed/passed/w1.jpg", "images", "Images/w1.jpg", "imagesx/w1.jpg", "/images/w1.jpg"],
    ids=["other-prefix", "prefix-without-slash", "other-case", "longer-name", "leading-slash"],
)
def test_a_key_outside_the_images_prefix_has_no_relative_path(key: str) -> None:
    current = settings()

    with pytest.raises(ValueError, match="is not under 'images/'"):
        current.relative(key)
    with pytest.raises(ValueError, match="is not under"):
        current.destination(key, "PASS")
    with pytest.raises(ValueError, match="is not under"):
        current.record_key(key)


def test_settings_are_frozen_and_refuse_unknown_fields() -> None:
    current = settings()

    with pytest.raises(ValidationError):
        current.bucket = "another-bucket"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        settings(region="eu-west-1")


@pytest.mark.parametrize("verdict", ["PASS", "FAIL", "REVIEW", "REJECTED"])
def test_a_key_too_long_to_file_under_its_prefix_gets_a_stable_short_name(verdict: str) -> None:
    settings = Settings.from_env(env())
    key = "images/line-3/" + "w" * 1006 + ".jpg"  # 1,024 bytes: the longest legal upload key

    destination = settings.destination(key, verdict)
    record = settings.record_key(key)

    for derived in (destination, record):
        assert len(derived.encode()) <= 1024
        assert "/_long-keys/" in derived
    assert destination == settings.destination(key, verdict)  # the same name on every delivery
    assert destination != settings.destination(key[:-5] + "x.jpg", verdict)
    assert record.endswith(".json")
    assert destination.endswith("www.jpg")


def test_a_key_that_fits_keeps_its_path_below_the_prefix() -> None:
    settings = Settings.from_env(env())
    key = "images/" + "w" * 990 + ".jpg"  # 1,001 bytes: analyzed/failed/ + 994 = 1,010 bytes fits

    assert f"analyzed/failed/{'w' * 990}.jpg" == settings.destination(key, "FAIL")
