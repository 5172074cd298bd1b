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


class AnalysisError(InspectorError, ValueError):
    """A detector response (for example a saved DetectLabels answer) does not have the expected shape."""
