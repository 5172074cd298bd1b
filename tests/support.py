"""Helpers shared by the test suites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"
EXAMPLES = Path(__file__).parent.parent / "examples"


def event_text(name: str) -> str:
    """The raw text of a fixture under tests/events/, e.g. an SQS message body."""
    return (EVENTS / name).read_text(encoding="utf-8")


def load_event(name: str) -> Any:
    """A fixture under tests/events/, parsed from JSON."""
    return json.loads(event_text(name))
