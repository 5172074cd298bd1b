"""The Lambda function: SQS batch in, partial batch response out.

Lambda calls it as `handler.lambda_handler` (the `handler/` package re-exports it); it lives in the
library so that the local mode (`inspector demo`, `inspector local`) runs the very same function.
"""

from __future__ import annotations

import os
from typing import Any

from inspector.app import build_from_env
from inspector.batch import BatchProcessor
from inspector.observability import configure_logging

_processor: BatchProcessor | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Inspect every image the batch announces; report the records to retry in `batchItemFailures`."""
    processor = _processor or _cold_start()
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    return processor.process(event, time_left=time_left)


def _cold_start() -> BatchProcessor:
    # Settings are validated once per container: a bad variable fails every invocation with one message
    # naming it (see Settings.from_env), and the clients are made once and reused.
    global _processor  # noqa: PLW0603 - the per-container singleton Lambda's execution model calls for
    processor = build_from_env(os.environ)
    configure_logging(processor.inspector.settings.log_level)
    _processor = processor
    return processor


def use(processor: BatchProcessor) -> None:
    """Run this processor instead of one built from the environment.

    For the local mode with real Rekognition, whose detector reads images from the embedded S3 and sends
    their bytes; Lambda itself never calls this.
    """
    global _processor  # noqa: PLW0603
    _processor = processor


def reset() -> None:
    """Forget the container's state, as a new container would (for tests and the local mode)."""
    global _processor  # noqa: PLW0603
    if _processor is not None:
        _processor.close()
    _processor = None
