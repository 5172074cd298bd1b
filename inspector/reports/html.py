"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, no network."""

from __future__ import annotations

from html import escape

from inspector.reports import charts
from inspector.reports.model import Report, Summary

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:920px;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
.meta{color:#555;margin-top:0}table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f5f5f5}.bad{color:#c62828;font-weight:600}.note{color:#555;font-size:.88rem}
.kpi{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}.kpi div{border:1px solid #ddd;border-radius:6px;
padding:.6rem 1rem;min-width:9rem}.kpi b{display:block;font-size:1.5rem}figure{margin:1rem 0}
svg{max-width:100%;height:auto}
"""


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def engine_name(engine: str) -> str:
    """How a person names the engine: DuckDB, Athena."""
    return {"duckdb": "DuckDB", "athena": "Amazon Athena"}.get(engine, engine)


def moment(at: str | None) -> str:
    """A record's UTC time as a person reads it: `2026-11-29T21:01:07.195127Z` -> `2026-11-29 21:01 UTC`."""
    if not at:
        return "-"
    return f"{at[:10]} {at[11:16]} UTC" if len(at) >= 16 and at[10] == "T" else at


def subgroup_label(label: str) -> str:
    """A p-chart subgroup as a person reads it: a day as is, an hour `2026-11-29T21` as `2026-11-29 21h`."""
    return f"{label[:10]} {label[11:13]}h" if len(label) == 13 and label[10] == "T" else label


def waited(hours: float | None) -> str:
    """How long the oldest REVIEW has waited: `under an hour`, `5 h`, `3.5 days`."""
    if hours is None or hours < 1:
        return "under an hour"
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def render_html(report: Report) -> str:
    """The whole page for `report`."""
    scope = f"line {report.line}" if report.line else "every line"
    title = f"QC report, {scope}: {_period(report)}"
    total = report.total
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Times in UTC, [since, until). Queried with {escape(engine_name(report.engine))}; '
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC.</p>",
        '<div class="kpi">',
        f"<div>images<b>{total.images:,}</b></div>",
        f"<div>yield<b>{percent(total.yield_rate)}</b></div>",
        f"<div>first-pass yield<b>{percent(total.first_pass_yield)}</b></div>",
        f"<div>fail rate<b>{percent(total.fail_rate)}</b></div>",
        f"<div>REVIEW backlog<b>{report.backlog.images:,}</b></div>",
        f"<div>out-of-control points<b>{len(report.out_of_control)}</b></div>",
        "</div>",
        "<h2>Counts by verdict</h2>",
        _summary_table([*report.lines, total] if len(report.lines) > 1 else [total]),
        "<p class=\"note\">Effective verdict: the last human decision's, else the machine's. "
        "Yield = effective PASS / judged; first-pass yield = the machine's PASS / judged; "
        "judged = every image but REJECTED (which could not be analysed).</p>",
    ]
    if total.images:
        parts.append(f"<figure>{charts.verdicts_chart(report.lines)}</figure>")
    parts += ["<h2>Why images fail: Pareto</h2>", *_pareto(report)]
    parts += ["<h2>Is the fail rate in control? p-charts</h2>", *_p_charts(report)]
    parts += ["<h2>REVIEW backlog</h2>", *_backlog(report)]
    parts += ["<h2>Agreement with human decisions</h2>", *_agreement(report)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _period(report: Report) -> str:
    since, until = report.since, report.until
    if report.by == "day" and (until - since).days == 1 and since.hour == 0:
        return f"{since:%Y-%m-%d}"
    return f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M}"


def _summary_table(rows: list[Summary]) -> str:
    head = "<tr><th>line</th><th>images</th><th>PASS</th><th>FAIL</th><th>REVIEW</th><th>REJECTED</th>"
    head += "<th>yield</th><th>first-pass yield</th></tr>"
    body = []
    for s in rows:
        cells = [f"<td>{escape(s.line)}</td>", f"<td>{s.images:,}</td>"]
        for verdict in ("PASS", "FAIL", "REVIEW", "REJECTED"):
            machine, effective = s.verdicts.get(verdict, 0), s.effective.get(verdict, 0)
            shown = (
                f"{effective:,}"
                if machine == effective
                else f"{effective:,} <small>(machine {machine:,})</small>"
            )
            cells.append(f"<td>{shown}</td>")
        cells += [f"<td>{percent(s.yield_rate)}</td>", f"<td>{percent(s.first_pass_yield)}</td>"]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _pareto(report: Report) -> list[str]:
    if not report.pareto:
        return ["<p>No FAIL or REVIEW in the period.</p>"]
    rows = "".join(
        f"<tr><td>{escape(b.cause)}</td><td>{escape(b.verdict)}</td><td>{b.count:,}</td>"
        f"<td>{percent(b.share)}</td><td>{percent(b.cumulative)}</td></tr>"
        for b in report.pareto
    )
    return [
        f"<figure>{charts.pareto_chart(report.pareto)}</figure>",
        "<table><tr><th>rule and subject</th><th>verdict</th><th>findings</th><th>share</th>"
        f"<th>cumulative</th></tr>{rows}</table>",
        '<p class="note">One finding per failing rule of each FAIL (unmet or violated) and per uncertain '
        "rule of each REVIEW, as the machine judged: an image can count under several rules.</p>",
    ]


def _p_charts(report: Report) -> list[str]:
    if not report.charts:
        return ["<p>No images were judged in the period.</p>"]
    parts = [
        '<p class="note">p = FAIL (after human decisions) / judged, per '
        f"{escape(report.by)}. Centre line p&#772; = total FAIL / total judged; limits p&#772; &plusmn; "
        "3&radic;(p&#772;(1&minus;p&#772;)/n<sub>i</sub>) for each subgroup's own size n<sub>i</sub>, "
        "clipped to [0, 1] (Montgomery, <i>Introduction to Statistical Quality Control</i>, ch. 7). "
        "Trial limits from the period's own data.</p>"
    ]
    for line_chart in report.charts:
        judged = [s for s in line_chart.chart.subgroups if s.p is not None]
        if len(judged) < 2:  # one point and its own limits: no chart to read, say it in words
            finer = " or <code>--by hour</code>" if report.by == "day" else ""
            parts.extend(
                f"<p>{escape(line_chart.line)}: one {escape(report.by)} with images judged "
                f"({escape(subgroup_label(s.label))}: {s.nonconforming:,} FAIL of {s.n:,}, p = {s.p:.3f}); "
                f"a p-chart needs several subgroups (a longer period{finer}).</p>"
                for s in judged
            )
            continue
        parts.append(f"<figure>{charts.p_chart_svg(line_chart.line, line_chart.chart)}</figure>")
    flagged = report.out_of_control
    if flagged:
        rows = "".join(
            f'<tr><td>{escape(line)}</td><td>{escape(subgroup_label(label))}</td><td class="bad">{p:.3f}</td>'
            f"<td>{lcl:.3f}</td><td>{ucl:.3f}</td></tr>"
            for line, label, p, lcl, ucl in flagged
        )
        parts.append(
            "<p><b>Out of control:</b></p><table><tr><th>line</th><th>subgroup</th><th>p</th><th>LCL</th>"
            f"<th>UCL</th></tr>{rows}</table>"
        )
    else:
        parts.append("<p>No point lies outside its control limits.</p>")
    return parts


def _backlog(report: Report) -> list[str]:
    backlog = report.backlog
    if not backlog.images:
        return ["<p>No REVIEW image of the last 30 days waits for a decision.</p>"]
    rows = "".join(
        f"<tr><td>{escape(d.line)}</td><td>{escape(d.day)}</td><td>{d.images:,}</td></tr>"
        for d in backlog.by_day
    )
    return [
        f"<p>{backlog.images:,} REVIEW image(s) of the last 30 days wait for a decision; the oldest "
        f"was inspected {escape(moment(backlog.oldest))} and has waited {waited(backlog.oldest_age_hours)} "
        "as of the report.</p>",
        f"<table><tr><th>line</th><th>inspected on</th><th>waiting</th></tr>{rows}</table>",
    ]


def _agreement(report: Report) -> list[str]:
    agreement = report.agreement
    if not agreement.decided and not agreement.reviews_decided:
        return ["<p>No record of the period carries a human decision.</p>"]
    parts = [
        f"<p>{agreement.decided:,} machine PASS/FAIL verdict(s) were reviewed by a person; "
        f"{agreement.agreed:,} kept ({percent(agreement.rate)} agreement).</p>"
    ]
    if agreement.overturned:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td>{v:,}</td></tr>" for k, v in agreement.overturned.items()
        )
        parts.append(f"<table><tr><th>overturned</th><th>images</th></tr>{rows}</table>")
    if agreement.reviews_decided:
        rows = "".join(
            f"<tr><td>REVIEW &rarr; {escape(k)}</td><td>{v:,}</td></tr>"
            for k, v in agreement.reviews_decided.items()
        )
        parts.append(f"<table><tr><th>REVIEW decided</th><th>images</th></tr>{rows}</table>")
    return parts
