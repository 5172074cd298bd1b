"""The daily digest email of one line: yesterday's counts, yield, top reasons, control chart, backlog."""

from __future__ import annotations

from inspector.constants import KIND_DIGEST
from inspector.notification import SUBJECT_MAX, Notification
from inspector.reports.html import moment, percent, subgroup_label, waited
from inspector.reports.model import Report

TOP_REASONS = 5


def compose_digest(  # noqa: PLR0912 - one branch per optional part of the email, read top to bottom
    report: Report, *, link: str | None, link_expiry_seconds: int, no_link: str = "no link could be made"
) -> Notification:
    """The digest of `report` (one line's, or every line's): subject, plain-text body and SNS attributes."""
    line = report.line or "all lines"
    day = f"{report.since:%Y-%m-%d}"
    total = report.total
    flagged = report.out_of_control
    subject = f"QC digest {day} {line}: {total.images} images, yield {percent(total.yield_rate)}"
    if flagged:
        subject += f", {len(flagged)} out of control"
    subject = _ascii(subject)[:SUBJECT_MAX]
    v, e = total.verdicts, total.effective
    lines = [
        f"QC digest for {line}, {_period(report)} (UTC)",
        "",
        f"Images: {total.images:,}  PASS {v['PASS']:,}  FAIL {v['FAIL']:,}  REVIEW {v['REVIEW']:,}  "
        f"REJECTED {v['REJECTED']:,}",
        f"Yield: {percent(total.yield_rate)} (first pass {percent(total.first_pass_yield)}); "
        f"fail rate {percent(total.fail_rate)}",
    ]
    if e != v:
        lines.append(
            f"After human decisions: PASS {e['PASS']:,}  FAIL {e['FAIL']:,}  "
            f"REVIEW (undecided) {e['REVIEW']:,}"
        )
    lines += ["", "Top failure reasons:"]
    if report.pareto:
        for i, bar in enumerate(report.pareto[:TOP_REASONS], 1):
            lines.append(f"  {i}. {bar.cause} ({bar.verdict}): {bar.count:,} ({bar.share:.0%})")
    else:
        lines.append("  none: no FAIL or REVIEW")
    lines += ["", f"Out-of-control points (p-chart by {report.by}, 3-sigma limits):"]
    if flagged:
        for name, label, p, lcl, ucl in flagged:
            side = "above UCL" if p > ucl else "below LCL"
            lines.append(
                f"  {name} {subgroup_label(label)}: p {p:.3f} {side} (limits {lcl:.3f} to {ucl:.3f})"
            )
    else:
        lines.append("  none")
    backlog = report.backlog
    lines += ["", "Review backlog (REVIEW images of the last 30 days without a decision):"]
    if backlog.images:
        lines.append(
            f"  {backlog.images:,} waiting; the oldest inspected {moment(backlog.oldest)}, waiting "
            f"{waited(backlog.oldest_age_hours)} at the period's end"
        )
    else:
        lines.append("  none waiting")
    if report.agreement.decided:
        lines.append(
            f"Human decisions on machine verdicts: {report.agreement.agreed:,} of "
            f"{report.agreement.decided:,} "
            f"agreed ({percent(report.agreement.rate)})"
        )
    lines.append("")
    if link:
        lines.append(f"Full report (charts; link valid {link_expiry_seconds // 3600} h): {link}")
    else:
        lines.append(f"Full report: {no_link}")
    attributes = {"kind": KIND_DIGEST, "line": report.line or "all"}
    return Notification(subject=subject, body="\n".join(lines) + "\n", attributes=attributes)


def _period(report: Report) -> str:
    if (report.until - report.since).days == 1 and report.since.hour == 0:
        return f"{report.since:%Y-%m-%d}"
    return f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M}"


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)
