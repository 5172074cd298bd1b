"""The report's charts as inline SVG (pygal: pure Python, no JavaScript, no network), apart from queries."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from inspector.reports.model import Summary
from inspector.reports.stats import ParetoBar, PChart

VERDICT_COLOURS = {"PASS": "#2e7d32", "FAIL": "#c62828", "REVIEW": "#ef6c00", "REJECTED": "#757575"}
WIDTH, HEIGHT = 860, 360


def _pygal() -> Any:
    import pygal  # type: ignore[import-untyped]  # noqa: PLC0415 - pygal only when a chart is drawn

    # pygal appends a legacy sys.meta_path finder for its map plugins (pygal.maps.*), which the report never
    # uses; on Python 3.11 every later import that no other finder resolves then warns "find_spec() not
    # found" (ImportWarning). Take it out again.
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]
    return pygal


def _style() -> Any:
    Style = _pygal().style.Style

    return Style(
        background="white",
        plot_background="white",
        foreground="#222",
        foreground_strong="#111",
        foreground_subtle="#ddd",
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=12,
        major_label_font_size=12,
        value_font_size=11,
        legend_font_size=12,
        title_font_size=15,
        colors=("#1565c0", "#c62828", "#616161", "#9e9e9e", "#c62828"),
    )


def _config(**options: Any) -> dict[str, Any]:
    # js=[]: pygal's default pulls its tooltip script from a CDN; the report must open with no network.
    return {
        "js": [],
        "width": WIDTH,
        "height": HEIGHT,
        "style": _style(),
        "disable_xml_declaration": True,
        "explicit_size": True,
        **options,
    }


def _render(chart: Any) -> str:
    svg: str = chart.render(is_unicode=True)
    return svg


def verdicts_chart(summaries: Sequence[Summary]) -> str:
    """Images per line, stacked by effective verdict."""
    pygal = _pygal()
    style = _style()
    style.colors = tuple(VERDICT_COLOURS.values())
    chart = pygal.StackedBar(
        **{
            **_config(title="Images by line and verdict (after human decisions)"),
            "style": style,
            "legend_at_bottom": True,
        }
    )
    chart.x_labels = [s.line for s in summaries]
    for verdict in VERDICT_COLOURS:
        chart.add(verdict, [s.effective.get(verdict, 0) for s in summaries])
    return _render(chart)


def pareto_chart(bars: Sequence[ParetoBar], *, top: int = 12) -> str:
    """Causes of FAIL and REVIEW, largest first; each bar's label gives its share and the cumulative share."""
    pygal = _pygal()
    shown = list(bars[:top])
    chart = pygal.Bar(
        **_config(
            title="Pareto: rules behind FAIL and REVIEW (share; cumulative)",
            x_label_rotation=20,
            print_values=True,
            show_legend=False,
            truncate_label=40,
        )
    )
    chart.x_labels = [f"{b.cause} ({b.verdict})" for b in shown]
    chart.add(
        "findings",
        [
            {
                "value": b.count,
                "color": VERDICT_COLOURS.get(b.verdict, "#1565c0"),
                "formatter": lambda _v, b=b: f"{b.count}: {b.share:.0%}; {b.cumulative:.0%}",
            }
            for b in shown
        ],
    )
    return _render(chart)


def p_chart_svg(line: str, chart: PChart) -> str:
    """The fraction nonconforming per subgroup, the centre line, each subgroup's 3-sigma limits, and the
    points outside them in red."""
    pygal = _pygal()
    points = chart.subgroups
    style = _style()
    # p, UCL, centre, LCL, out of control
    style.colors = ("#1565c0", "#616161", "#2e7d32", "#616161", "#c62828")
    few = len(points) < 3  # a line needs two points: show the limits as marks too
    svg = pygal.Line(
        **_config(
            title=f"p-chart, {line}: fraction FAIL per subgroup, 3-sigma limits for each subgroup's size",
            x_label_rotation=30 if len(points) > 10 else 0,
            show_minor_x_labels=len(points) <= 31,
            legend_at_bottom=True,
            dots_size=3,
            value_formatter=lambda v: f"{v:.3f}",
            range=(
                0,
                min(1.0, max([s.ucl or 0 for s in points] + [s.p or 0 for s in points] + [0.05]) * 1.15),
            ),
            style=style,
        )
    )
    svg.x_labels = [s.label for s in points]
    svg.add("p (fraction FAIL)", [s.p for s in points])
    svg.add("UCL", [s.ucl for s in points], show_dots=few, stroke_style={"dasharray": "6,4"})
    svg.add("centre (p-bar)", [chart.center if s.p is not None else None for s in points], show_dots=few)
    svg.add("LCL", [s.lcl for s in points], show_dots=few, stroke_style={"dasharray": "6,4"})
    svg.add("out of control", [s.p if s.out_of_control else None for s in points], stroke=False, dots_size=7)
    return _render(svg)
