"""Exceptions a user of the inspector library can meet, each with a message that says what to do."""

from __future__ import annotations


class InspectorError(Exception):
    """Base class of every error the inspector library raises on purpose."""


class MalformedEventError(InspectorError, ValueError):
    """An SQS message body is not an event this library understands.

    Retrying cannot fix it: the message should be left for the dead-letter queue, where a person can read it.
    """


class CriteriaError(InspectorError, ValueError):
    """A criteria document is invalid; the message names each field path and what is wrong with it."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems if problems is not None else [message]


class RecordError(InspectorError, ValueError):
    """A stored result record cannot be read (not JSON, or not a record this version understands)."""


class AnalysisError(InspectorError, ValueError):
    """A detector response (for example a saved DetectLabels answer) does not have the expected shape."""


class ImageRejected(InspectorError):
    """The image cannot be analysed at all (empty, not JPEG/PNG, too large or small, corrupt).

    A terminal outcome: the image goes to the rejected prefix with `reason`; retrying cannot help.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(InspectorError):
    """A failure that a later attempt may not meet (throttling, a 5xx, a timeout, an SNS outage).

    The message is left on the queue to be retried, and after maxReceiveCount it waits in the dead-letter
    queue with its image untouched.
    """


class RecordConflict(TransientError):
    """Another inspection of the same image wrote its result record first (a conditional write failed).

    The record is the inspections' only meeting point: two containers can hold the same image at once (S3
    announces an upload more than once; a message reappears after its visibility timeout). The one that
    loses a write leaves the image and the copy as they are; its retry resumes from the winner's record.
    """


class SettingsError(InspectorError, ValueError):
    """A setting (environment variable or stack config key) is missing or invalid; the message names it."""
