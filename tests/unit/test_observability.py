"""JSON log lines and CloudWatch embedded-metric-format (EMF) documents, written with the standard library."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from inspector.observability import JsonFormatter, Metrics, configure_logging

NAMESPACE = "WidgetInspector"
# CloudWatch's units (PutMetricData's StandardUnit), the ones EMF accepts.
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Count/Second",
        "None",
    }
)


@pytest.fixture(autouse=True)
def inspector_logger() -> Iterator[logging.Logger]:
    """The `inspector` logger, put back as it was: `configure_logging` changes process-wide state."""
    logger = logging.getLogger("inspector")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    """Each line of the stream parsed as one JSON object (fails on a line that is not)."""
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def logged(level: str = "DEBUG") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level, stream)
    return stream


# --- JSON log lines -------------------------------------------------------------------------------------


def test_a_record_is_one_json_object_with_time_level_logger_and_message() -> None:
    stream = logged()

    logging.getLogger("inspector.batch").info("inspected %s of %d", "w1.jpg", 3)

    (line,) = lines_of(stream)
    assert {"timestamp", "level", "logger", "message"} == set(line)
    assert "INFO" == line["level"]
    assert "inspector.batch" == line["logger"]
    assert "inspected w1.jpg of 3" == line["message"]


def test_the_timestamp_is_utc_iso_8601_with_milliseconds() -> None:
    record = logging.LogRecord("inspector.x", logging.INFO, __file__, 1, "hello", None, None)
    record.created = datetime(2026, 11, 3, 9, 14, 27, 512000, tzinfo=UTC).timestamp()
    record.msecs = 512.0

    document = json.loads(JsonFormatter().format(record))

    assert "2026-11-03T09:14:27.512Z" == document["timestamp"]


def test_extra_fields_are_top_level_keys() -> None:
    stream = logged()

    logging.getLogger("inspector.pipeline").warning(
        "inspected",
        extra={"key": "images/line-3/w1.jpg", "verdict": "FAIL", "attempt": 2, "tags": ["a", "b"]},
    )

    (line,) = lines_of(stream)
    assert "WARNING" == line["level"]
    assert "images/line-3/w1.jpg" == line["key"]
    assert "FAIL" == line["verdict"]
    assert 2 == line["attempt"]
    assert ["a", "b"] == line["tags"]


def test_extras_that_json_cannot_write_are_written_as_their_str() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "<opaque widget>"

    when = datetime(2026, 11, 3, 9, 14, 27, tzinfo=UTC)
    stream = logged()

    logging.getLogger("inspector.x").info(
        "odd values", extra={"when": when, "thing": Opaque(), "nested": {"at": when}, "raw": b"\x00"}
    )

    (line,) = lines_of(stream)
    assert str(when) == line["when"]
    assert "<opaque widget>" == line["thing"]
    assert {"at": str(when)} == line["nested"]
    assert str(b"\x00") == line["raw"]


def test_a_message_with_line_breaks_and_unicode_stays_on_one_line() -> None:
    stream = logged()

    logging.getLogger("inspector.x").info("first\nsecond\r\nthird: pièce 😀", extra={"key": "a\nb"})

    (line,) = lines_of(stream)
    assert "first\nsecond\r\nthird: pièce 😀" == line["message"]
    assert "a\nb" == line["key"]


def test_an_exception_is_included_with_its_traceback() -> None:
    stream = logged()
    log = logging.getLogger("inspector.batch")

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("unexpected failure", extra={"message_id": "m-1"})

    (line,) = lines_of(stream)
    assert "ERROR" == line["level"]
    assert "unexpected failure" == line["message"]
    assert "m-1" == line["message_id"]
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("RuntimeError: boom")


def test_a_record_without_an_exception_has_no_exception_key() -> None:
    stream = logged()

    logging.getLogger("inspector.x").error("plain error")

    assert "exception" not in lines_of(stream)[0]


def test_logging_internals_are_not_written_as_fields() -> None:
    stream = logged()

    logging.getLogger("inspector.x").info("only the contract")

    assert {"timestamp", "level", "logger", "message"} == set(lines_of(stream)[0])


# --- configure_logging ---------------------------------------------------------------------------------


def test_configure_logging_routes_every_inspector_logger_to_the_stream() -> None:
    stream = logged("INFO")

    logging.getLogger("inspector").info("root of the library")
    logging.getLogger("inspector.batch").info("batch")
    logging.getLogger("inspector.detectors.rekognition").info("detector")

    assert ["inspector", "inspector.batch", "inspector.detectors.rekognition"] == [
        line["logger"] for line in lines_of(stream)
    ]


def test_configure_logging_leaves_other_loggers_alone() -> None:
    stream = logged("DEBUG")

    logging.getLogger("botocore.credentials").warning("not ours")
    logging.getLogger("inspectorate").warning("not ours either")

    assert "" == stream.getvalue()


def test_configure_logging_drops_records_below_its_level() -> None:
    stream = logged("WARNING")
    log = logging.getLogger("inspector.pipeline")

    log.debug("debug")
    log.info("info")
    log.warning("warning")
    log.error("error")

    assert ["WARNING", "ERROR"] == [line["level"] for line in lines_of(stream)]


def test_configure_logging_twice_writes_each_record_once_to_the_latest_stream() -> None:
    first = logged("INFO")
    second = logged("INFO")

    logging.getLogger("inspector.x").info("once")

    assert "" == first.getvalue()
    assert ["once"] == [line["message"] for line in lines_of(second)]


def test_configured_records_do_not_also_reach_the_root_logger(caplog: pytest.LogCaptureFixture) -> None:
    stream = logged("INFO")

    with caplog.at_level(logging.INFO):
        logging.getLogger("inspector.x").info("only in the stream")

    assert [] == caplog.records
    assert 1 == len(lines_of(stream))


def test_configure_logging_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")

    logging.getLogger("inspector.x").info("to stdout")

    assert "to stdout" == json.loads(capsys.readouterr().out)["message"]


# --- EMF metrics ------------------------------------------------------------------------------------------


def assert_valid_emf(document: dict[str, Any], namespace: str = NAMESPACE) -> None:
    """What CloudWatch requires of an embedded metric format document to extract its metrics."""
    metadata = document["_aws"]
    assert isinstance(metadata["Timestamp"], int)
    directives = metadata["CloudWatchMetrics"]
    assert 1 <= len(directives)
    for directive in directives:
        assert namespace == directive["Namespace"]
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for dimension in dimension_set:
                assert isinstance(document[dimension], str), f"dimension {dimension} has no string value"
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert metric["Unit"] in UNITS
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def test_counts_by_dimension_give_one_valid_emf_document_per_dimension_value() -> None:
    metrics = Metrics(NAMESPACE, stream=io.StringIO())
    metrics.count("Images", dimension="Verdict", value="PASS")
    metrics.count("Images", dimension="Verdict", value="FAIL")
    metrics.count("Images", dimension="Verdict", value="PASS")
    metrics.count("Errors", dimension="Kind", value="retry", amount=3)

    documents = metrics.flush()

    for document in documents:
        assert_valid_emf(document)
    assert [
        ("Errors", "Kind", "retry", 3),
        ("Images", "Verdict", "FAIL", 1),
        ("Images", "Verdict", "PASS", 2),
    ] == [
        (
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1],
            d[d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1]],
            d[d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]],
        )
        for d in documents
    ]


def test_a_count_document_is_dimensioned_by_service_and_its_own_dimension() -> None:
    metrics = Metrics(NAMESPACE, service="widget-line-3", stream=io.StringIO())
    metrics.count("Images", dimension="Verdict", value="REVIEW")

    (document,) = metrics.flush()

    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert [["Service", "Verdict"]] == directive["Dimensions"]
    assert [{"Name": "Images", "Unit": "Count"}] == directive["Metrics"]
    assert "widget-line-3" == document["Service"]
    assert "REVIEW" == document["Verdict"]
    assert 1 == document["Images"]


def test_timings_give_one_valid_emf_document_per_metric_in_milliseconds() -> None:
    metrics = Metrics(NAMESPACE, stream=io.StringIO())
    metrics.timing("RecognitionLatency", 412.34567)
    metrics.timing("RecognitionLatency", 98.0)
    metrics.timing("CopyLatency", 12.5)

    copy, recognition = metrics.flush()

    for document in (copy, recognition):
        assert_valid_emf(document)
        assert [["Service"]] == document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert [{"Name": "CopyLatency", "Unit": "Milliseconds"}] == copy["_aws"]["CloudWatchMetrics"][0][
        "Metrics"
    ]
    assert [{"Name": "RecognitionLatency", "Unit": "Milliseconds"}] == recognition["_aws"][
        "CloudWatchMetrics"
    ][0]["Metrics"]
    assert [412.346, 98.0] == recognition["RecognitionLatency"]
    assert [12.5] == copy["CopyLatency"]


def test_flush_writes_each_document_as_one_json_line_and_returns_them() -> None:
    stream = io.StringIO()
    metrics = Metrics(NAMESPACE, stream=stream)
    metrics.count("Images", dimension="Verdict", value="PASS")
    metrics.timing("RecognitionLatency", 100)

    documents = metrics.flush()

    assert 2 == len(documents)
    assert documents == lines_of(stream)


def test_flush_starts_afresh() -> None:
    stream = io.StringIO()
    metrics = Metrics(NAMESPACE, stream=stream)
    metrics.count("Images", dimension="Verdict", value="PASS")
    metrics.timing("RecognitionLatency", 100)
    metrics.flush()
    written = stream.getvalue()

    assert [] == metrics.flush()
    assert written == stream.getvalue()


def test_counts_after_a_flush_are_not_added_to_the_flushed_ones() -> None:
    metrics = Metrics(NAMESPACE, stream=io.StringIO())
    metrics.count("Images", dimension="Verdict", value="PASS", amount=5)
    metrics.flush()
    metrics.count("Images", dimension="Verdict", value="PASS")

    (document,) = metrics.flush()

    assert 1 == document["Images"]


def test_nothing_gathered_writes_nothing() -> None:
    stream = io.StringIO()

    assert [] == Metrics(NAMESPACE, stream=stream).flush()
    assert "" == stream.getvalue()


def test_metrics_go_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = Metrics(NAMESPACE)
    metrics.count("Errors", dimension="Kind", value="malformed")

    metrics.flush()

    document = json.loads(capsys.readouterr().out)
    assert_valid_emf(document)
    assert "malformed" == document["Kind"]


def test_counts_from_many_threads_are_all_kept() -> None:
    metrics = Metrics(NAMESPACE, stream=io.StringIO())
    start = threading.Barrier(8)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to give a race every chance

    def work() -> None:
        start.wait(timeout=10)
        for _ in range(125):
            metrics.count("Images", dimension="Verdict", value="PASS")
            metrics.timing("RecognitionLatency", 1.0)

    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        sys.setswitchinterval(interval)

    counts, *timings = metrics.flush()
    assert 1000 == counts["Images"]
    assert 1000 == sum(len(document["RecognitionLatency"]) for document in timings)


def test_more_than_100_timings_of_one_name_are_written_as_valid_emf_documents() -> None:
    metrics = Metrics(NAMESPACE, stream=io.StringIO())
    for i in range(150):
        metrics.timing("RecognitionLatency", float(i))

    documents = metrics.flush()

    for document in documents:
        assert_valid_emf(document)
    assert 150 == sum(len(d["RecognitionLatency"]) for d in documents)
    assert [100, 50] == [len(d["RecognitionLatency"]) for d in documents]
