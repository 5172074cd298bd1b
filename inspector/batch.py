"""A batch of SQS records run concurrently; the answer is Lambda's partial batch response.

A record is acknowledged (left out of `batchItemFailures`) only when every object it announces has reached
its terminal place, or when it needs nothing. A failure of one record never fails its neighbours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import ValidationError

from inspector.errors import MalformedEventError, TransientError
from inspector.events import Ignored, SqsRecord, parse_body
from inspector.observability import Metrics
from inspector.pipeline import Inspection, Inspector

log = logging.getLogger("inspector.batch")

# Stop waiting this long before Lambda's deadline, so the partial batch response still gets out.
DEADLINE_MARGIN_SECONDS = 2.0


class RecordStatus(StrEnum):
    DONE = "done"  # every object it announced reached its terminal place
    IGNORED = "ignored"  # a well-formed message that needs nothing (test event, folder marker, ...)
    MALFORMED = "malformed"  # no retry can fix it; it is left to reach the dead-letter queue
    RETRY = "retry"  # a transient failure: SQS delivers it again after the visibility timeout
    ERROR = "error"  # an unexpected failure; retried like a transient one
    TIMED_OUT = "timed-out"  # still running when the invocation's time ran out


FAILED = frozenset({RecordStatus.MALFORMED, RecordStatus.RETRY, RecordStatus.ERROR, RecordStatus.TIMED_OUT})


class RecordOutcome(NamedTuple):
    message_id: str
    status: RecordStatus
    detail: str = ""
    inspections: tuple[Inspection, ...] = ()


class BatchProcessor:
    """Runs the records of each batch in a bounded thread pool kept for the container's lifetime."""

    def __init__(
        self, inspector: Inspector, *, max_workers: int = 10, metrics: Metrics | None = None
    ) -> None:
        self.inspector = inspector
        self.metrics = metrics
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="inspect")

    def close(self) -> None:
        """Wait for running inspections, then stop the pool (the local mode and tests call this)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def process(
        self, event: Mapping[str, Any], *, time_left: Callable[[], float] | None = None
    ) -> dict[str, list[dict[str, str]]]:
        """Lambda's answer for an SQS event: `{"batchItemFailures": [{"itemIdentifier": id}, ...]}`."""
        outcomes = self.run(event, time_left=time_left)
        if self.metrics is not None:
            self.metrics.flush()
        return {
            "batchItemFailures": [{"itemIdentifier": o.message_id} for o in outcomes if o.status in FAILED]
        }

    def run(
        self, event: Mapping[str, Any], *, time_left: Callable[[], float] | None = None
    ) -> list[RecordOutcome]:
        """Every record's outcome, in the event's order."""
        records = event.get("Records") if isinstance(event, Mapping) else None
        if not isinstance(records, list):
            # Without records there is nothing to acknowledge piecemeal: fail the invocation.
            raise MalformedEventError("not an SQS event: no Records list")
        ids = [_message_id(raw) for raw in records]
        futures: dict[Future[RecordOutcome], str] = {
            self._pool.submit(self._one, raw, message_id): message_id
            for raw, message_id in zip(records, ids, strict=True)
        }
        timeout = None if time_left is None else max(0.0, time_left() - DEADLINE_MARGIN_SECONDS)
        done, _ = wait(futures, timeout=timeout)
        by_id: dict[str, RecordOutcome] = {}
        for future, message_id in futures.items():
            if future in done:
                by_id[message_id] = future.result()
            else:
                future.cancel()
                log.error(
                    "record still running at the deadline; it will be retried",
                    extra={"message_id": message_id},
                )
                by_id[message_id] = RecordOutcome(message_id, RecordStatus.TIMED_OUT, "deadline")
        outcomes = [by_id[message_id] for message_id in ids]
        if self.metrics is not None:
            for outcome in outcomes:
                if outcome.status in FAILED:
                    self.metrics.count("Errors", dimension="Kind", value=outcome.status.value)
        return outcomes

    def _one(self, raw: Any, message_id: str) -> RecordOutcome:
        context = {"message_id": message_id}
        try:
            record = SqsRecord.model_validate(raw)
            context["receive_count"] = str(record.attributes.approximate_receive_count)
            settings = self.inspector.settings
            message = parse_body(record.body, prefix=settings.images_prefix, bucket=settings.bucket)
            if isinstance(message, Ignored):
                log.info("ignored", extra={**context, "reason": message.reason, "detail": message.detail})
                return RecordOutcome(message_id, RecordStatus.IGNORED, message.detail)
            for skipped in message.skipped:
                log.info("ignored", extra={**context, "reason": skipped.reason, "detail": skipped.detail})
            inspections = tuple(self.inspector.inspect(ref) for ref in message.objects)
            return RecordOutcome(message_id, RecordStatus.DONE, inspections=inspections)
        except (MalformedEventError, ValidationError) as exc:
            log.error(
                "malformed message; it goes to the dead-letter queue after maxReceiveCount receives",
                extra={**context, "error": str(exc)},
            )
            return RecordOutcome(message_id, RecordStatus.MALFORMED, str(exc))
        except TransientError as exc:
            log.warning(
                "transient failure; the message will be retried", extra={**context, "error": str(exc)}
            )
            return RecordOutcome(message_id, RecordStatus.RETRY, str(exc))
        except Exception as exc:
            log.exception("unexpected failure; the message will be retried", extra=context)
            return RecordOutcome(message_id, RecordStatus.ERROR, f"{type(exc).__name__}: {exc}")


def _message_id(raw: Any) -> str:
    message_id = raw.get("messageId") if isinstance(raw, Mapping) else None
    if not isinstance(message_id, str) or not message_id:
        # Lambda fails the whole batch for a failure it cannot attribute; say why before it does.
        raise MalformedEventError("an SQS record has no messageId: the whole batch must be retried")
    return message_id
