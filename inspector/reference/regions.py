"""Connected regions of a boolean mask (8-connectivity), by runs and union-find, in numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Region:
    """One connected region of a mask, with the sum of a weight image over it.

    `left`, `top` are inclusive and `right`, `bottom` exclusive pixel bounds (column and row).
    """

    area: int
    weight: float
    left: int
    top: int
    right: int
    bottom: int


def regions(mask: npt.NDArray[np.bool_], weight: npt.NDArray[np.floating] | None = None) -> list[Region]:
    """The 8-connected regions of `mask`, largest `weight` first (then top to bottom, left to right).

    Parameters
    ----------
    mask : (H, W) bool
        The pixels to group.
    weight : (H, W) float, optional
        Summed over each region (its `weight`); the area is used when left out.

    Returns
    -------
    list of Region

    Notes
    -----
    The mask is read as runs of set pixels per row (vectorised); runs of neighbouring rows that touch,
    diagonals included, are joined with a union-find over runs, so the Python work grows with the number
    of runs, not of pixels: the classic two-pass run-length labelling (e.g. Rosenfeld and Pfaltz, 1966).
    """
    height, width = mask.shape
    if weight is None:
        weight = mask.astype(np.float64)
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    changes = np.diff(padded, axis=1)
    start_rows, starts = np.nonzero(changes == 1)
    end_rows, ends = np.nonzero(changes == -1)  # exclusive ends; same order as the starts, row by row
    count = len(starts)
    if count == 0:
        return []
    assert np.array_equal(start_rows, end_rows)  # noqa: S101 - every run that starts ends on its row

    labels, index = np.unique(_join(start_rows, starts, ends, height), return_inverse=True)

    prefix = np.zeros((height, width + 1), dtype=np.float64)
    np.cumsum(weight * mask, axis=1, out=prefix[:, 1:])
    run_weight = prefix[start_rows, ends] - prefix[start_rows, starts]
    run_area = ends - starts
    n = len(labels)
    weights = np.bincount(index, weights=run_weight, minlength=n)
    areas = np.bincount(index, weights=run_area, minlength=n).astype(int)
    lefts = np.full(n, width)
    rights = np.zeros(n, dtype=int)
    tops = np.full(n, height)
    bottoms = np.zeros(n, dtype=int)
    np.minimum.at(lefts, index, starts)
    np.maximum.at(rights, index, ends)
    np.minimum.at(tops, index, start_rows)
    np.maximum.at(bottoms, index, start_rows + 1)
    found = [
        Region(int(areas[i]), float(weights[i]), int(lefts[i]), int(tops[i]), int(rights[i]), int(bottoms[i]))
        for i in range(n)
    ]
    return sorted(found, key=lambda r: (-r.weight, r.top, r.left))


def _join(
    rows: npt.NDArray[np.intp], starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp], height: int
) -> npt.NDArray[np.intp]:
    """Each run's root after joining the runs of neighbouring rows that touch (8-connectivity)."""
    count = len(starts)
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    bounds = np.searchsorted(rows, np.arange(height + 1)).tolist()
    starts_list, ends_list = starts.tolist(), ends.tolist()
    for row in range(1, height):
        above, above_end, here_end = bounds[row - 1], bounds[row], bounds[row + 1]
        for here in range(bounds[row], here_end):
            # [s, e) touches [s2, e2) of the row above when s <= e2 and s2 <= e (diagonals included).
            while above < above_end and ends_list[above] < starts_list[here]:
                above += 1
            other = above
            while other < above_end and starts_list[other] <= ends_list[here]:
                a, b = find(other), find(here)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                other += 1
    return np.array([find(i) for i in range(count)], dtype=np.intp)
