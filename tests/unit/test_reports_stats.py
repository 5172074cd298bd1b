"""The p-chart, checked against worked textbook examples, and the Pareto."""

from __future__ import annotations

import pytest

from inspector.reports.stats import PChart, p_chart, pareto

# Montgomery, Introduction to Statistical Quality Control (Wiley), chapter 7, the control chart for fraction
# nonconforming with variable sample size: 25 daily samples of purchase orders (the book's Table 7.4), sample
# sizes n_i and nonconforming orders d_i. The book computes p-bar = 234 / 2450 = 0.096 and, for n = 100,
# UCL = 0.096 + 3 * 0.0295 = 0.184 and LCL = 0.008 (its p-bar rounded to three places); sample 11
# (20 of 110, p = 0.182) is the one point above its own UCL (0.180).
MONTGOMERY_N = [100, 80, 80, 100, 110, 110, 100, 100, 90, 90, 110, 120, 120,
                120, 110, 80, 80, 80, 90, 100, 100, 100, 100, 90, 90]  # fmt: skip
MONTGOMERY_D = [12, 8, 6, 9, 10, 12, 11, 16, 10, 6, 20, 15, 9, 8, 6, 8, 10, 7, 5, 8, 5, 8, 10, 6, 9]
# Pyzdek, The Handbook for Quality Management (2nd ed., McGraw-Hill 2013), Table 9.6: bruised peaches in
# crates of 250 opened per shipment, one crate or two; totals 8000 peaches, 1544 bruised.
PYZDEK_CRATES = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]
PYZDEK_BRUISED = [47, 42, 55, 51, 46, 61, 39, 44, 41, 51, 88, 101, 101, 40, 48, 47, 50, 48, 57, 45, 43,
                  105, 98, 100, 96]  # fmt: skip


def montgomery() -> PChart:
    return p_chart(
        [(str(i), n, d) for i, (n, d) in enumerate(zip(MONTGOMERY_N, MONTGOMERY_D, strict=True), 1)]
    )


def test_montgomery_purchase_orders_centre_line_is_234_over_2450():
    assert (2450, 234) == (sum(MONTGOMERY_N), sum(MONTGOMERY_D))
    assert 0.096 == pytest.approx(montgomery().center, abs=0.0005)


@pytest.mark.parametrize(
    ("n", "ucl", "lcl"),
    [
        pytest.param(100, 0.184, 0.008, id="n=100"),
        pytest.param(80, 0.195, 0.0, id="n=80-lcl-clipped-at-0"),
        pytest.param(90, 0.189, 0.003, id="n=90"),
        pytest.param(110, 0.180, 0.011, id="n=110"),
        pytest.param(120, 0.176, 0.015, id="n=120"),
    ],
)
def test_montgomery_limits_follow_each_sample_size(n, ucl, lcl):
    points = [s for s in montgomery().subgroups if s.n == n]

    assert points
    for point in points:
        # The book rounds p-bar to 0.096 before computing: agree to within that rounding.
        assert ucl == pytest.approx(point.ucl, abs=0.0015)
        assert lcl == pytest.approx(point.lcl, abs=0.0015)


def test_montgomery_sample_11_is_the_only_point_out_of_control():
    chart = montgomery()

    assert ["11"] == [s.label for s in chart.out_of_control]
    (eleven,) = chart.out_of_control
    assert eleven.p is not None
    assert eleven.ucl is not None
    assert eleven.p > eleven.ucl
    assert 0.182 == pytest.approx(eleven.p, abs=0.0005)


def test_pyzdek_peaches_are_in_control_with_limits_for_one_and_two_crates():
    chart = p_chart(
        [(str(i), 250 * c, b) for i, (c, b) in enumerate(zip(PYZDEK_CRATES, PYZDEK_BRUISED, strict=True), 1)]
    )

    assert 1544 / 8000 == pytest.approx(chart.center)
    one = next(s for s in chart.subgroups if s.n == 250)
    two = next(s for s in chart.subgroups if s.n == 500)
    assert one.ucl is not None
    assert one.lcl is not None
    assert two.ucl is not None
    assert two.lcl is not None
    assert (0.268, 0.118) == (round(one.ucl, 3), round(one.lcl, 3))
    assert (0.246, 0.140) == (round(two.ucl, 3), round(two.lcl, 3))
    assert () == chart.out_of_control


def test_a_point_below_its_lower_limit_is_out_of_control_too():
    chart = p_chart([("a", 1000, 100), ("b", 1000, 100), ("c", 1000, 100), ("d", 1000, 20)])

    assert ["d"] == [s.label for s in chart.out_of_control]
    low = chart.subgroups[3]
    assert low.p is not None
    assert low.lcl is not None
    assert low.p < low.lcl


def test_upper_limit_is_clipped_at_one():
    chart = p_chart([("a", 1, 1), ("b", 1, 0)])

    assert 1.0 == chart.subgroups[0].ucl
    assert 0.0 == chart.subgroups[0].lcl


def test_a_subgroup_with_nothing_judged_has_no_point_and_no_limits():
    chart = p_chart([("a", 100, 10), ("b", 0, 0)])

    assert (None, None, None, False) == (
        chart.subgroups[1].p,
        chart.subgroups[1].ucl,
        chart.subgroups[1].lcl,
        chart.subgroups[1].out_of_control,
    )
    assert 0.1 == chart.center


def test_nothing_judged_at_all_gives_no_centre_line():
    assert None is p_chart([("a", 0, 0)]).center
    assert None is p_chart([]).center


@pytest.mark.parametrize("subgroup", [("a", 10, 11), ("a", -1, 0), ("a", 5, -1)], ids=["d>n", "n<0", "d<0"])
def test_counts_that_are_not_a_proportion_are_refused(subgroup):
    with pytest.raises(ValueError, match="not a proportion"):
        p_chart([subgroup])


def test_pareto_orders_causes_largest_first_and_accumulates_their_shares():
    bars = pareto(
        [
            ("forbid[0] Scratch", "FAIL", 3),
            ("quality.minSharpness", "FAIL", 5),
            ("forbid[0] Scratch", "FAIL", 2),
            ("forbid[1] Rust", "REVIEW", 10),
        ]
    )

    assert [("forbid[1] Rust", 10), ("forbid[0] Scratch", 5), ("quality.minSharpness", 5)] == [
        (b.cause, b.count) for b in bars
    ]
    assert [0.5, 0.75, 1.0] == [b.cumulative for b in bars]
    assert [0.5, 0.25, 0.25] == [b.share for b in bars]


def test_pareto_of_nothing_is_empty():
    assert () == pareto([])
