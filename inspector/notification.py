"""The message the QC group gets for each verdict: an SNS subject, a plain-text body and attributes."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from inspector.analysis import Analysis
from inspector.constants import KIND_INSPECTION
from inspector.engine import FAILING, Outcome, Verdict
from inspector.records import ResultRecord

SUBJECT_MAX = 100  # SNS: at most 100 printable ASCII characters, no line breaks
BOXES_SHOWN = 3  # located instances listed per label in the email, best first as the detector gave them

_MARKS = {
    Outcome.MET: "ok ",
    Outcome.CLEAR: "ok ",
    Outcome.UNCERTAIN: "?? ",
    Outcome.UNMET: "XX ",
    Outcome.VIOLATED: "XX ",
}


class Notification(NamedTuple):
    subject: str
    body: str
    attributes: dict[str, str]  # SNS MessageAttributes (String), for subscription filter policies


def compose(
    record: ResultRecord, *, link: str | None, link_expiry_seconds: int, evidence_link: str | None = None
) -> Notification:
    """The notification for one result record. Pure: the same record gives the same message."""
    image = record.image
    lines = [
        f"Verdict: {record.verdict}",
        f"Image: s3://{image.bucket}/{printable(image.key)}",
        f"Filed under: s3://{image.bucket}/{printable(record.destination)}" if record.destination else "",
    ]
    if link:
        lines.append(f"Link ({_duration(link_expiry_seconds)}): {link}")
    if record.evidence:
        lines.append(f"Evidence: s3://{image.bucket}/{printable(record.evidence)}")
    if evidence_link:
        lines.append(f"Evidence link ({_duration(link_expiry_seconds)}): {evidence_link}")
    lines = [line for line in lines if line]
    if record.verdict is Verdict.REJECTED:
        lines += [
            "",
            f"Rejected: {record.rejection}",
            "The image could not be analysed; no criteria were applied.",
        ]
    else:
        reasons = [f for f in record.findings if f.outcome in FAILING] or [
            f for f in record.findings if f.outcome is Outcome.UNCERTAIN
        ]
        if reasons:
            lines += ["", "Why:"] + [f"  - {f.describe()}" for f in reasons]
        lines += ["", "Findings:"] + [f"  {_MARKS[f.outcome]}{f.describe()}" for f in record.findings]
        if record.analysis is not None:
            lines += ["", *_analysis_lines(record.analysis)]
    if record.rejudged_from:
        lines += [
            "",
            f"Judged again under new criteria (was {record.rejudged_from}), from the stored analysis.",
        ]
    lines += [
        "",
        f"Line: {record.line}",
        f"Criteria fingerprint: {record.criteria}",
        f"Detector: {record.detector or 'unknown'}; inspected at {record.inspected_at.isoformat()}",
    ]
    return Notification(
        subject=subject(record.verdict, image.key, line=record.line),
        body="\n".join(lines) + "\n",
        attributes={
            "kind": KIND_INSPECTION,
            "verdict": record.verdict.value,
            "criteria": record.criteria,
            "line": record.line,
        },
    )


def subject(verdict: Verdict, key: str, *, heading: str = "QC", line: str = "default") -> str:
    """`QC FAIL: w1.jpg (line-3)`: ASCII only, one line, at most 100 characters, whatever the key holds.

    An image of a line other than the default one names its line first: `QC FAIL [line-1]: w1.jpg`.
    """
    parts = key.rstrip("/").split("/")
    name = _ascii(parts[-1]) or "image"
    folder = _ascii(parts[-2]) if len(parts) > 2 else ""
    tag = f" [{line}]" if line != "default" else ""
    if folder == line:
        folder = ""  # the line's own folder says nothing more
    text = f"{heading} {verdict}{tag}: {name}" + (f" ({folder})" if folder else "")
    if len(text) > SUBJECT_MAX:
        text = text[: SUBJECT_MAX - 3].rstrip() + "..."
    return text


def _ascii(text: str) -> str:
    """Printable ASCII that keeps the name: `名前.jpg` -> `MingQian.jpg`, `Ölwanne.jpg` -> `Olwanne.jpg`.

    anyascii (ISC licence, in the function's bundle) transliterates every script. Without it, accents are
    dropped and any other character is written as its code point (`U+540D`), which a person can still
    match to the key; never an empty name."""
    try:
        from anyascii import anyascii  # noqa: PLC0415 - ~1 ms, and only when a subject is made
    except ImportError:  # the library is a dependency; kept working without it
        folded = "".join(_fallback(ch) for ch in unicodedata.normalize("NFKD", text))
    else:
        folded = anyascii(text)
    # Printable ASCII only (no control characters), one space between words.
    return " ".join(re.sub(r"[^\x20-\x7e]+", " ", folded).split())


def _fallback(ch: str) -> str:
    if ch.isascii():
        return ch
    if unicodedata.combining(ch):
        return ""  # the accent of a letter NFKD has split off
    return f"U+{ord(ch):04X}"


def printable(text: str) -> str:
    """The text with control characters escaped: a key holding a line break cannot forge a body line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _analysis_lines(analysis: Analysis) -> list[str]:
    labels = sorted(analysis.candidate_labels(), key=lambda label: -label.confidence)
    lines = ["Labels seen (confidence):"]
    if not labels:
        lines.append("  (none reported: none named by the criteria, or all below the minimum confidence)")
    for label in labels:
        located = f", {len(label.instances)} located" if label.instances else ""
        lines.append(f"  {label.name}: {label.confidence:.1f}{located}")
        boxed = [i for i in label.instances if i.bounding_box is not None][:BOXES_SHOWN]
        for instance in boxed:
            box = instance.bounding_box
            assert box is not None  # noqa: S101 - filtered above
            lines.append(
                f"    {instance.confidence:.1f} at left {box.left:.2f}, top {box.top:.2f}, "
                f"{box.width:.2f} x {box.height:.2f} of the image"
            )
        if len(label.instances) > len(boxed) and boxed:
            lines.append(f"    (+{len(label.instances) - len(boxed)} more)")
    quality = analysis.quality
    if quality is not None:
        measures = [
            f"{name} {value:.1f}"
            for name, value in (
                ("brightness", quality.brightness),
                ("sharpness", quality.sharpness),
                ("contrast", quality.contrast),
            )
            if value is not None
        ]
        if measures:
            lines.append("Image quality: " + ", ".join(measures))
    colours = _colour_shares(analysis)
    if colours:
        lines.append("Dominant colours: " + ", ".join(f"{name} {share:.1f}%" for name, share in colours))
    if analysis.model_version:
        lines.append(f"Model version: {analysis.model_version}")
    return lines


def _colour_shares(analysis: Analysis) -> list[tuple[str, float]]:
    """Each simplified colour's share of the image, largest first (what colour rules judge)."""
    shares: dict[str, float] = {}
    for colour in analysis.image_properties.dominant_colors if analysis.image_properties else ():
        if colour.simplified_color and colour.pixel_percent is not None:
            name = colour.simplified_color.lower()
            shares[name] = shares.get(name, 0.0) + colour.pixel_percent
    return sorted(shares.items(), key=lambda item: -item[1])


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"valid {days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        return f"valid {seconds // 3600} h"
    return f"valid {seconds // 60} min"
