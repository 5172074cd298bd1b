"""The criteria engine: `evaluate(analysis, criteria)` gives a verdict and one finding per rule."""

# No `from __future__ import annotations` here: pydantic would evaluate each annotation string when it builds
# the models, at every cold start (benchmarks/cold_import.py: about a third of their build time).

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from inspector.analysis import Analysis, DominantColor, Label
from inspector.criteria import ColorRule, Count, Criteria, Forbid, Quality, RequireAnyOf, RequireLabel
from inspector.verdicts import FAILING, Outcome, Verdict

__all__ = ["FAILING", "Evaluation", "Finding", "FindingKind", "Outcome", "Verdict", "evaluate"]


FindingKind = Literal["require", "any_of", "count", "forbid", "quality", "color"]


class Finding(BaseModel):
    """How one rule fared: what it expected, what was observed, and the outcome."""

    model_config = ConfigDict(frozen=True)

    rule: str  # where the rule sits in the criteria document, e.g. "require[2].count", "colors[0].minPercent"
    kind: FindingKind
    subject: str  # the label(s), measure or colour the rule is about
    expected: str
    # Confidence, instance count, quality value or colour share in percent; None (left out of record JSON)
    # when not measured.
    observed: float | None = None
    matched: str | None = None  # the label name that matched, when it differs from the subject
    outcome: Outcome

    def describe(self) -> str:
        """One line a QC person can read."""
        unit = "%" if self.kind == "color" else ""
        observed = "not measured" if self.observed is None else f"{round(self.observed, 1):g}{unit}"
        seen = f" as {self.matched!r}" if self.matched else ""
        return (
            f"{self.rule} {self.subject}: expected {self.expected}, observed {observed}{seen}"
            f" -> {self.outcome}"
        )


class Evaluation(BaseModel):
    """The verdict of one analysis under one set of criteria."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    findings: tuple[Finding, ...]
    criteria: str  # the criteria fingerprint

    @property
    def reasons(self) -> tuple[Finding, ...]:
        """The findings that decided a FAIL or REVIEW, most serious first."""
        failing = tuple(f for f in self.findings if f.outcome in FAILING)
        return failing or tuple(f for f in self.findings if f.outcome is Outcome.UNCERTAIN)


def evaluate(analysis: Analysis, criteria: Criteria) -> Evaluation:
    """Judge one analysis. Pure: no I/O, the same inputs always give the same evaluation."""
    labels = analysis.candidate_labels()
    findings: list[Finding] = []
    for i, requirement in enumerate(criteria.require):
        if isinstance(requirement, RequireLabel):
            findings.extend(_require_label(f"require[{i}]", requirement, labels, criteria))
        else:
            findings.append(_require_any_of(f"require[{i}]", requirement, labels, criteria))
    for i, forbid in enumerate(criteria.forbid):
        findings.append(_forbid(f"forbid[{i}]", forbid, labels, criteria))
    if criteria.quality is not None:
        findings.extend(_quality(criteria.quality, analysis))
    for i, color in enumerate(criteria.colors):
        findings.extend(_color(f"colors[{i}]", color, analysis, criteria.review_margin))
    return Evaluation(verdict=_verdict(findings), findings=tuple(findings), criteria=criteria.fingerprint)


def _verdict(findings: list[Finding]) -> Verdict:
    outcomes = {f.outcome for f in findings}
    if outcomes & FAILING:
        return Verdict.FAIL
    if Outcome.UNCERTAIN in outcomes:
        return Verdict.REVIEW
    return Verdict.PASS


def _best_match(names: list[str], labels: tuple[Label, ...]) -> Label | None:
    """The matching label (by name or alias, ignoring case) with the highest confidence."""
    best: Label | None = None
    for label in labels:
        better = best is None or label.confidence > best.confidence
        if better and any(label.matches(name) for name in names):
            best = label
    return best


def _banded(confidence: float, threshold: float, margin: float) -> Literal["above", "band", "below"]:
    if confidence >= threshold:
        return "above"
    if margin > 0 and confidence >= threshold - margin:
        return "band"
    return "below"


def _expected(threshold: float, margin: float, *, forbid: bool = False) -> str:
    rule = f"confidence < {threshold:g}" if forbid else f"confidence >= {threshold:g}"
    return f"{rule} (review from {threshold - margin:g})" if margin > 0 else rule


def _matched(label: Label | None, subject: str) -> str | None:
    return label.name if label is not None and label.name.casefold() != subject.casefold() else None


def _require_label(
    rule: str, requirement: RequireLabel, labels: tuple[Label, ...], criteria: Criteria
) -> list[Finding]:
    t, m = criteria.threshold(requirement), criteria.review_margin
    best = _best_match([requirement.label], labels)
    c = best.confidence if best else 0.0
    outcome = {"above": Outcome.MET, "band": Outcome.UNCERTAIN, "below": Outcome.UNMET}[_banded(c, t, m)]
    findings = [
        Finding(
            rule=rule,
            kind="require",
            subject=requirement.label,
            expected=_expected(t, m),
            observed=c,
            matched=_matched(best, requirement.label),
            outcome=outcome,
        )
    ]
    if requirement.count is not None:
        findings.append(_count(f"{rule}.count", requirement.label, requirement.count, best, t))
    return findings


def _count(rule: str, subject: str, count: Count, best: Label | None, threshold: float) -> Finding:
    n = sum(1 for i in best.instances if i.confidence >= threshold) if best else 0
    within = (count.min is None or n >= count.min) and (count.max is None or n <= count.max)
    if count.min is not None and count.max is not None:
        bounds = f"{count.min}" if count.min == count.max else f"{count.min}-{count.max}"
    elif count.min is not None:
        bounds = f">= {count.min}"
    else:
        bounds = f"<= {count.max}"
    return Finding(
        rule=rule,
        kind="count",
        subject=subject,
        expected=f"{bounds} instances with confidence >= {threshold:g}",
        observed=n,
        matched=_matched(best, subject),
        outcome=Outcome.MET if within else Outcome.UNMET,
    )


def _require_any_of(
    rule: str, requirement: RequireAnyOf, labels: tuple[Label, ...], criteria: Criteria
) -> Finding:
    t, m = criteria.threshold(requirement), criteria.review_margin
    best = _best_match(requirement.any_of, labels)
    c = best.confidence if best else 0.0
    outcome = {"above": Outcome.MET, "band": Outcome.UNCERTAIN, "below": Outcome.UNMET}[_banded(c, t, m)]
    return Finding(
        rule=rule,
        kind="any_of",
        subject=" | ".join(requirement.any_of),
        expected=_expected(t, m),
        observed=c,
        matched=best.name if best else None,
        outcome=outcome,
    )


def _forbid(rule: str, forbid: Forbid, labels: tuple[Label, ...], criteria: Criteria) -> Finding:
    t, m = criteria.threshold(forbid), criteria.review_margin
    best = _best_match([forbid.label], labels)
    c = best.confidence if best else 0.0
    outcome = {"above": Outcome.VIOLATED, "band": Outcome.UNCERTAIN, "below": Outcome.CLEAR}[_banded(c, t, m)]
    return Finding(
        rule=rule,
        kind="forbid",
        subject=forbid.label,
        expected=_expected(t, m, forbid=True),
        observed=c,
        matched=_matched(best, forbid.label),
        outcome=outcome,
    )


def _quality(quality: Quality, analysis: Analysis) -> list[Finding]:
    measured = analysis.quality
    findings = []
    for field, metric, side, bound in quality.bounds():
        value = getattr(measured, metric) if measured is not None else None
        # A bound cannot be shown to hold on a measure the detector did not report.
        holds = value is not None and (value >= bound if side == "min" else value <= bound)
        findings.append(
            Finding(
                rule=f"quality.{field}",
                kind="quality",
                subject=metric,
                expected=f"{'>=' if side == 'min' else '<='} {bound:g}",
                observed=value,
                outcome=Outcome.MET if holds else Outcome.UNMET,
            )
        )
    return findings


_SHARE_OUTCOMES = {"above": Outcome.MET, "band": Outcome.UNCERTAIN, "below": Outcome.UNMET}


def _color(rule: str, color: ColorRule, analysis: Analysis, margin: float) -> list[Finding]:
    properties = analysis.image_properties
    share = _share(color.color, properties.dominant_colors if properties is not None else ())
    findings = []
    for field, side, bound in color.bounds():
        if share is None:
            # A bound cannot be shown to hold on colours the detector did not report.
            outcome = Outcome.UNMET
        elif side == "min":
            outcome = _SHARE_OUTCOMES[_banded(share, bound, margin)]
        else:
            # p <= max is -p >= -max: the band of a min bound, mirrored; negation keeps the edges exact.
            outcome = _SHARE_OUTCOMES[_banded(-share, -bound, margin)]
        findings.append(
            Finding(
                rule=f"{rule}.{field}",
                kind="color",
                subject=color.color,
                expected=_expected_share(color.color, side, bound, margin),
                observed=share,
                outcome=outcome,
            )
        )
    return findings


def _share(name: str, colors: tuple[DominantColor, ...]) -> float | None:
    """Percent of the pixels whose simplified colour is `name`, ignoring case; 0 when none is.

    None (not measured) when no colours were reported, or when one of that colour came without its percent.
    """
    if not colors:
        return None
    percents = [c.pixel_percent for c in colors if (c.simplified_color or "").casefold() == name.casefold()]
    if any(p is None for p in percents):
        return None
    # Rounded so that shares such as 0.3 + 31.9 + 7.8 sum to 40, as written, not to 39.99999999999999.
    return round(math.fsum(p for p in percents if p is not None), 6)


def _expected_share(color: str, side: Literal["min", "max"], bound: float, margin: float) -> str:
    rule = f"{'>=' if side == 'min' else '<='} {bound:g}% {color}"
    if side == "min" and margin > 0 and bound > 0:
        return f"{rule} (review from {max(0.0, bound - margin):g}%)"
    if side == "max" and margin > 0 and bound < 100:
        return f"{rule} (review up to {min(100.0, bound + margin):g}%)"
    return rule
