"""Human review: people's decisions on result records, the re-filing they lead to, and each key's history."""

from inspector.review.decisions import DecisionConflict, DecisionRefused, decide, is_pending, pending
from inspector.review.desk import Outcome, Pending, ReviewDesk
from inspector.review.history import Event, timeline

__all__ = [
    "DecisionConflict",
    "DecisionRefused",
    "Event",
    "Outcome",
    "Pending",
    "ReviewDesk",
    "decide",
    "is_pending",
    "pending",
    "timeline",
]
