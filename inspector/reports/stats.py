"""The report's statistics, pure: the p-chart for unequal subgroup sizes, the Pareto, yield, agreement."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

SIGMAS = 3.0


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Subgroup(_Frozen):
    """One p-chart point: a day (or hour) of one line, with its own control limits."""

    label: str  # "2026-11-28", or "2026-11-28T09" by hour
    n: int  # images judged (PASS, FAIL or REVIEW)
    nonconforming: int  # of which FAIL (after human decisions)
    p: float | None  # nonconforming / n; None when nothing was judged
    ucl: float | None
    lcl: float | None
    out_of_control: bool  # p above its UCL or below its LCL


class PChart(_Frozen):
    """A p-chart (fraction nonconforming) with 3-sigma limits for each subgroup's own size."""

    center: float | None  # p-bar: total nonconforming over total judged; None when nothing was judged
    subgroups: tuple[Subgroup, ...]

    @property
    def out_of_control(self) -> tuple[Subgroup, ...]:
        return tuple(s for s in self.subgroups if s.out_of_control)


def p_chart(subgroups: Sequence[tuple[str, int, int]], *, sigmas: float = SIGMAS) -> PChart:
    """The p-chart of `(label, n_i, d_i)` subgroups: images judged and nonconforming in each.

    The centre line is p-bar = sum(d_i) / sum(n_i). Each subgroup has its own limits,
    p-bar +/- 3 * sqrt(p-bar * (1 - p-bar) / n_i), clipped to [0, 1], and is out of control when its
    p_i = d_i / n_i lies strictly above its UCL or below its LCL. A subgroup with n_i = 0 has no p and
    no limits. The limits are trial limits computed from the same data they judge (phase I).

    Raises `ValueError` for a negative count, or more nonconforming than judged.

    References
    ----------
    D. C. Montgomery, *Introduction to Statistical Quality Control*, Wiley, chapter 7 ("Control Charts
    for Attributes"), the control chart for fraction nonconforming with variable sample size.
    """
    for label, n, d in subgroups:
        if n < 0 or d < 0 or d > n:
            raise ValueError(f"subgroup {label}: {d} nonconforming of {n} judged is not a proportion")
    total_n = sum(n for _, n, _ in subgroups)
    total_d = sum(d for _, _, d in subgroups)
    if total_n == 0:
        points = tuple(
            Subgroup(label=lb, n=0, nonconforming=0, p=None, ucl=None, lcl=None, out_of_control=False)
            for lb, _, _ in subgroups
        )
        return PChart(center=None, subgroups=points)
    center = total_d / total_n
    points_list: list[Subgroup] = []
    for label, n, d in subgroups:
        if n == 0:
            points_list.append(
                Subgroup(label=label, n=0, nonconforming=0, p=None, ucl=None, lcl=None, out_of_control=False)
            )
            continue
        spread = sigmas * math.sqrt(center * (1 - center) / n)
        ucl, lcl, p = min(1.0, center + spread), max(0.0, center - spread), d / n
        points_list.append(
            Subgroup(
                label=label, n=n, nonconforming=d, p=p, ucl=ucl, lcl=lcl, out_of_control=p > ucl or p < lcl
            )
        )
    return PChart(center=center, subgroups=tuple(points_list))


class ParetoBar(_Frozen):
    cause: str  # "forbid[0] Scratch": the rule and what it is about
    verdict: str  # FAIL or REVIEW
    count: int
    share: float  # of all causes counted
    cumulative: float  # share of this cause and every larger one


def pareto(causes: Iterable[tuple[str, str, int]]) -> tuple[ParetoBar, ...]:
    """Causes `(cause, verdict, count)` merged by (cause, verdict), largest first, with cumulative shares."""
    merged: dict[tuple[str, str], int] = {}
    for cause, verdict, count in causes:
        merged[(cause, verdict)] = merged.get((cause, verdict), 0) + count
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    total = sum(merged.values())
    bars: list[ParetoBar] = []
    running = 0
    for (cause, verdict), count in ordered:
        running += count
        bars.append(
            ParetoBar(
                cause=cause, verdict=verdict, count=count, share=count / total, cumulative=running / total
            )
        )
    return tuple(bars)


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is no whole."""
    return part / whole if whole else None
