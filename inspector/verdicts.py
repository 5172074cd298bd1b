"""The verdicts and rule outcomes as plain enums, so that settings and lines name them without the engine."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    REVIEW = "REVIEW"
    REJECTED = "REJECTED"  # the input could not be analysed at all (not a JPEG/PNG, empty, too large, ...)


class Outcome(StrEnum):
    MET = "met"  # a requirement or bound holds
    UNMET = "unmet"  # a requirement or bound does not hold: FAIL
    UNCERTAIN = "uncertain"  # the confidence lies in the review band [t - margin, t): REVIEW
    VIOLATED = "violated"  # a forbidden label was seen: FAIL
    CLEAR = "clear"  # a forbidden label was not seen


FAILING = frozenset({Outcome.UNMET, Outcome.VIOLATED})
