"""Structured JSON logs and CloudWatch embedded-metric-format (EMF) metrics, with the standard library only.

Powertools for AWS Lambda does both, but its import alone costs more than this project's cold-start budget
allows (see benchmarks/); these few lines write the same formats.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, TextIO

EMF_MAX_VALUES = 100
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and every `extra=` field."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RESERVED and not name.startswith("_"):
                document[name] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send the `inspector` loggers' records to `stream` (stdout) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("inspector")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class Metrics:
    """Counts and timings gathered during one invocation, written as EMF documents by `flush`.

    Thread-safe: the records of a batch run concurrently.
    """

    def __init__(self, namespace: str, *, service: str = "inspector", stream: TextIO | None = None) -> None:
        self.namespace = namespace
        self.service = service
        self._stream = stream
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._timings: dict[str, list[float]] = defaultdict(list)

    def count(
        self,
        name: str,
        *,
        dimension: str,
        value: str,
        amount: float = 1,
        also: Mapping[str, str] | None = None,
    ) -> None:
        """Count `name` by `dimension`; with `also` (e.g. `{"Line": "line-1"}`), by those dimensions and
        `dimension` together as well (one EMF document, two dimension sets)."""
        with self._lock:
            self._counts[(name, dimension, value, tuple(sorted((also or {}).items())))] += amount

    def timing(self, name: str, milliseconds: float) -> None:
        with self._lock:
            self._timings[name].append(round(milliseconds, 3))

    def flush(self) -> list[dict[str, Any]]:
        """Write (and return) the EMF documents for everything gathered, then start afresh."""
        with self._lock:
            counts, self._counts = self._counts, defaultdict(float)
            timings, self._timings = self._timings, defaultdict(list)
        now = int(time.time() * 1000)
        documents: list[dict[str, Any]] = []
        for (name, dimension, value, also), amount in sorted(counts.items()):
            dimensions = [["Service", dimension]]
            if also:
                dimensions.append(["Service", *(extra for extra, _ in also), dimension])
            documents.append(
                {
                    "_aws": {
                        "Timestamp": now,
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self.namespace,
                                "Dimensions": dimensions,
                                "Metrics": [{"Name": name, "Unit": "Count"}],
                            }
                        ],
                    },
                    "Service": self.service,
                    **dict(also),
                    dimension: value,
                    name: amount,
                }
            )
        for name, values in sorted(timings.items()):
            # CloudWatch takes at most 100 values of a metric in one EMF document.
            for start in range(0, len(values), EMF_MAX_VALUES):
                documents.append(
                    {
                        "_aws": {
                            "Timestamp": now,
                            "CloudWatchMetrics": [
                                {
                                    "Namespace": self.namespace,
                                    "Dimensions": [["Service"]],
                                    "Metrics": [{"Name": name, "Unit": "Milliseconds"}],
                                }
                            ],
                        },
                        "Service": self.service,
                        name: values[start : start + EMF_MAX_VALUES],
                    }
                )
        stream = self._stream or sys.stdout
        for document in documents:
            stream.write(json.dumps(document) + "\n")
        stream.flush()
        return documents
