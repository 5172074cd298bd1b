"""The variation model in numpy: training from good photos, calibration, and scoring one photo.

Method (after the variation model of MVTec HALCON, described by Steger, Ulrich and Wiedemann):

1. Every photo is decoded upright at a working resolution (at most 512 px a side) and aligned to the
   reference pose by a rigid motion (`inspector.reference.align`); its gain, offset and a linear lighting
   gradient are fitted to the ideal image per colour channel, robustly, and undone.
2. Training: the ideal image is the per-pixel median of the aligned good photos, per channel; the
   variation image their scaled median absolute deviation (1.4826 MAD, the standard deviation for
   Gaussian noise), widened where the ideal image has edges by `misalignment_px` x |gradient| (so a
   fraction of a pixel of residual misalignment is not a defect), floored, then spread to the
   3 x 3 neighbourhood (grey dilation).
3. Scoring: the difference to the ideal image is box-filtered (`smoothing`, against JPEG and sensor
   noise); a pixel is defective when, in some channel, ``|x - ideal| > max(abs_threshold, k * variation)``.
   Defective pixels form 8-connected regions; a region's score is the sum over its pixels of
   ``min(z, 6) - 1``, z the ratio of the difference to that bound: big, strong regions score high,
   isolated noise pixels little. The photo's score is its best region's.
4. Calibration (leave-some-out): the good photos are split into folds; each fold is scored by a model
   built from the others. The threshold is `margin_ratio` x the highest held-out score (at least
   `min_threshold`), so none of the held-out good photos reaches it; confidence is
   ``100 s / (s + threshold)``: 50 at the threshold.

References
----------
.. [1] C. Steger, M. Ulrich and C. Wiedemann, "Machine Vision Algorithms and Applications", 2nd ed.,
   Wiley-VCH, 2018, section 3.4.1.3 ("variation model": ideal and variation images, thresholds
   max(a, b * variation)).
.. [2] P. J. Rousseeuw and C. Croux, "Alternatives to the median absolute deviation", Journal of the
   American Statistical Association 88(424), 1993 (the MAD and its 1.4826 consistency factor).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from inspector.errors import ImageRejected, InspectorError
from inspector.reference.align import Aligner, Rigid, warp, warp_valid
from inspector.reference.imaging import Photo, decode, grey, to_array
from inspector.reference.model import (
    Calibration,
    Parameters,
    ReferenceModel,
    TrainingImage,
    library_versions,
)
from inspector.reference.regions import Region, regions

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

MIN_IMAGES: Final = 10
MAX_FOLDS: Final = 5
Z_CAP: Final = 6.0  # a pixel adds at most Z_CAP - 1 to its region's score: one hot pixel cannot decide
_VIEW_SHARE: Final = 0.8  # a pixel is judged when at least this share of the training photos saw it
_HIGH: Final = 250.0  # a pixel at or above this is taken as clipped by the camera
_LOW: Final = 5.0
_SAMPLES: Final = 1000  # the photometric fit uses about this many pixels (a grid), whatever the size


class TrainingError(InspectorError, ValueError):
    """The photos given cannot train a model; the message says why and what to do."""


# -- small numpy image operations ---------------------------------------------------------------


def planar(image: F32) -> F32:
    """(H, W, C) -> (C, H, W), contiguous: per-channel arithmetic is fast there (on a last axis of 3, not)."""
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))


def planar_bytes(image: Image.Image) -> F32:
    """(C, H, W) float32 of an 8-bit RGB Pillow image: each band converted from bytes once."""
    # order="C": astype would otherwise keep the transposed strides, and every later pass (and each
    # reshape to flat rows, then a copy) would walk memory the slow way.
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32, order="C")


def interleaved(image: F32) -> F32:
    """(C, H, W) -> (H, W, C), contiguous."""
    return np.ascontiguousarray(np.moveaxis(image, 0, -1))


def max_filter3(image: F32) -> F32:
    """Grey dilation by a 3 x 3 square: (H, W[, C]) float32 -> same."""
    out = image.copy()
    padded = np.pad(image, [(1, 1), (1, 1)] + [(0, 0)] * (image.ndim - 2), mode="edge")
    h, w = image.shape[:2]
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, padded[dy : dy + h, dx : dx + w], out=out)
    return out


def gradient_magnitude(image: F32) -> F32:
    """|grad| per channel by central differences: (H, W, C) float32 -> (H, W, C) float32."""
    gy, gx = np.gradient(image, axis=(0, 1))
    magnitude: F32 = np.hypot(gx, gy).astype(np.float32)
    return magnitude


def _lighting_coefficients(samples: F32, design: npt.NDArray[np.float64]) -> F32 | None:
    """Robust per-channel fit of ``x_c ~ gain_c ideal_c + offset_c + gx_c u + gy_c v`` on a sample.

    samples : (C, k) float32, the photo's values at k sampled pixels; design : (C, k, 4) float64, the
    ideal's values there, 1, and their centred coordinates u, v in [-1, 1]. Least squares, refitted once
    without the residuals beyond 2.5 robust standard deviations (so a stain does not pull the fit);
    clipped values (at or beyond `_HIGH` / `_LOW`) are left out. Returns (4, C) float32 rows gain,
    offset, gx, gy, or None when too few pixels or a singular system leave nothing to fit.
    """
    unclipped = ((samples < _HIGH) & (samples > _LOW)).all(axis=0)  # clipped values fit no line
    if int(unclipped.sum()) < 50:
        return None
    channels = samples.shape[0]
    design = design[:, unclipped]
    target = samples[:, unclipped].astype(np.float64)
    weight = np.ones(target.shape)
    coef: npt.NDArray[np.float64] = np.zeros((channels, 4))
    transposed = design.transpose(0, 2, 1)  # (C, 4, k): batched matrix products, not einsum (slow)
    for _ in range(2):
        weighted = transposed * weight[:, None, :]
        try:
            coef = np.asarray(
                np.linalg.solve(weighted @ design, weighted @ target[:, :, None])[:, :, 0], np.float64
            )
        except np.linalg.LinAlgError:
            return None
        residual = target - (design @ coef[:, :, None])[:, :, 0]
        # Mean |r| of a Gaussian is 0.80 of its standard deviation: 1.2533 mean |r| estimates it.
        spread = 1.2533 * (np.abs(residual) * weight).sum(axis=1) / weight.sum(axis=1) + 1e-6
        weight = (np.abs(residual) < 2.5 * spread[:, None]).astype(np.float64)
    coef[:, 0] = np.where(coef[:, 0] > 0.2, coef[:, 0], 1.0)  # a wild gain is worse than none
    fitted: F32 = np.ascontiguousarray(coef.T, dtype=np.float32)
    return fitted


class Comparator:
    """Compares photos in the reference pose with one ideal image: lighting fit, then the pixel test.

    Everything that depends only on the model (sample grid, coordinates, the reciprocal of the bound)
    is computed once here; `ratio` then works on whole contiguous planes, in place, in float32.

    Parameters
    ----------
    ideal, bound : (H, W, 3) float32
        The ideal image and each pixel's allowed difference, ``max(abs_threshold, k * variation)``.
    mask : (H, W) bool
        The pixels judged; the outermost `smoothing // 2` rows and columns are always left out.
    smoothing : int
        Side of the box filter applied to the difference (odd).
    """

    def __init__(self, ideal: F32, bound: F32, mask: Mask, smoothing: int, point_factor: float = 0.0) -> None:
        h, w = mask.shape
        self.shape = (h, w)
        self.smoothing = smoothing
        self.ideal = planar(ideal)
        self.mask = mask & _inner(mask.shape, margin=max(1, smoothing // 2))
        # The box filter's 1 / smoothing^2 is folded into the reciprocal of the bound.
        self._scale = planar((1.0 / (bound.astype(np.float64) * smoothing * smoothing)).astype(np.float32))
        self._point_scale = (
            planar((1.0 / (bound.astype(np.float64) * point_factor)).astype(np.float32))
            if point_factor and smoothing > 1
            else None
        )
        step = _sample_step(h, w)
        ys, xs = np.mgrid[0:h:step, 0:w:step]
        self._grid = (ys * w + xs).ravel()
        u = (xs / max(w - 1, 1) * 2 - 1).ravel().astype(np.float32)
        v = (ys / max(h - 1, 1) * 2 - 1).ravel().astype(np.float32)
        self._design = _design(self.ideal.reshape(3, -1)[:, self._grid], u, v)
        self._columns = np.linspace(-1, 1, w, dtype=np.float32)
        # Each channel's pixels in order of the ideal's value: those a given light could push to a clip
        # level are a run at either end (see `_clip_candidates`).
        planes = self.ideal.reshape(3, -1)
        self._order = np.argsort(planes, axis=1, kind="stable")
        self._sorted = np.take_along_axis(planes, self._order, axis=1)
        self._rows = np.linspace(-1, 1, h, dtype=np.float32)

    def lighting(self, image: F32, use: Mask) -> F32 | None:
        """(4, C) gain, offset, gx, gy of `image` ((C, H, W) float32) against the ideal, or None."""
        keep = use.reshape(-1)[self._grid]
        index = self._grid[keep]
        if index.size < 50:
            return None
        return _lighting_coefficients(image.reshape(3, -1)[:, index], self._design[:, keep])

    def predicted(self, coefficients: F32 | None) -> F32:
        """The ideal image as this photo's lighting would show it: (C, H, W) float32."""
        if coefficients is None:
            return self.ideal.copy()
        gain, offset, slope_u, slope_v = (c[:, None, None] for c in coefficients)
        out: F32 = self.ideal * gain
        out += slope_u * self._columns[None, None, :] + offset  # (C, 1, W)
        out += slope_v * self._rows[None, :, None]  # (C, H, 1)
        return out

    def _clip_candidates(self, image: F32, coefficients: F32 | None) -> npt.NDArray[np.intp] | None:
        """Flat indexes where the photo, or the ideal as this light shows it, may be at a clip level."""
        marked = image >= _HIGH
        marked |= image <= _LOW
        flat = marked.reshape(-1)
        size = self.shape[0] * self.shape[1]
        for c in range(3):
            if coefficients is None:
                high, low = _HIGH, _LOW
            else:  # lit = gain ideal + offset + gx u + gy v, |u|, |v| <= 1: bounds on the ideal
                gain, offset, slope_u, slope_v = (float(v) for v in coefficients[:, c])
                reach = abs(slope_u) + abs(slope_v)
                high, low = (_HIGH - offset - reach) / gain, (_LOW - offset + reach) / gain
            # float32 bounds: a float64 one would convert the whole sorted row first
            top = int(np.searchsorted(self._sorted[c], np.float32(high)))
            bottom = int(np.searchsorted(self._sorted[c], np.float32(low), side="right"))
            flat[self._order[c, top:] + c * size] = True
            flat[self._order[c, :bottom] + c * size] = True
        found = np.flatnonzero(flat)
        return found if found.size else None

    def _clipped_difference(self, index: npt.NDArray[np.intp], raw: F32, coefficients: F32 | None) -> F32:
        """(clip(x) - clip(lit ideal)) / gain at flat indexes of the (C, H, W) planes."""
        h, w = self.shape
        channel, pixel = np.divmod(index, h * w)
        lit = self.ideal.reshape(-1)[index].astype(np.float32)
        if coefficients is not None:
            gain, offset, slope_u, slope_v = coefficients
            row, column = np.divmod(pixel, w)
            lit = (
                lit * gain[channel]
                + offset[channel]
                + slope_u[channel] * self._columns[column]
                + slope_v[channel] * self._rows[row]
            )
        difference: F32 = np.clip(raw, _LOW, _HIGH) - np.clip(lit, _LOW, _HIGH)
        if coefficients is not None:
            difference /= coefficients[0][channel]
        return difference

    def ratio(self, image: F32, use: Mask) -> F32:
        """z = max over channels of |box(x - ideal)| / bound after the lighting is undone; 0 outside `use`.

        image : (3, H, W) float32 in the reference pose (overwritten); use : (H, W) bool -> (H, W) float32.
        A pixel is defective where z > 1. Where the camera clipped (at or beyond `_HIGH` or `_LOW`) and
        the ideal, so lit, would clip too, the photo cannot differ: both are compared at the clip level.
        """
        if not image.flags.c_contiguous:  # the flat views below must be views, not copies
            image = np.ascontiguousarray(image)
        coefficients = self.lighting(image, use)
        flat = image.reshape(-1)
        clipped = self._clip_candidates(image, coefficients)
        raw = flat[clipped] if clipped is not None else None
        if coefficients is None:
            image -= self.ideal
        else:  # (x - light) / gain - ideal, in place, in a few passes and no temporary
            gain, offset, slope_u, slope_v = (c[:, None, None] for c in coefficients)
            image -= slope_u * self._columns[None, None, :] + offset  # (C, 1, W)
            image -= slope_v * self._rows[None, :, None]  # (C, H, 1)
            image *= np.reciprocal(gain)
            image -= self.ideal
        if clipped is not None and raw is not None:
            # Where the camera clipped, compare at the clip level: the photo and the ideal as this light
            # would show it, both clipped (brighter light turning a white label to 255 is no defect).
            flat[clipped] = self._clipped_difference(clipped, raw, coefficients)
        difference = _box_sum_flat(image, self.smoothing, self.shape[1])
        np.abs(difference, out=difference)
        difference *= self._scale
        ratio: F32 = difference[0]
        np.maximum(ratio, difference[1], out=ratio)
        np.maximum(ratio, difference[2], out=ratio)
        if self._point_scale is not None:  # the unsmoothed test, for specks and hairlines
            np.abs(image, out=image)
            image *= self._point_scale
            np.maximum(ratio, image[0], out=ratio)
            np.maximum(ratio, image[1], out=ratio)
            np.maximum(ratio, image[2], out=ratio)
        ratio *= use & self.mask
        return ratio


def _box_sum_flat(image: F32, size: int, width: int) -> F32:
    """Sum over a `size` x `size` window of each (H, W) plane of `image` ((C, H, W) float32).

    Works on each plane as one flat row (contiguous slices, several times faster than 2-D slices), so
    the outermost `size // 2` rows and columns hold wrapped or partial sums: callers leave them out.
    """
    if size <= 1:
        return image
    radius = size // 2
    channels = image.shape[0]
    flat = image.reshape(channels, -1)
    n = flat.shape[1]

    def window_sum(source: F32, step: int) -> F32:
        # out[i] = sum of source[i + k step] for k in -radius..radius; the ends (no full window) are 0.
        out = np.empty_like(source)
        reach = radius * step
        inner = out[:, reach : n - reach]
        np.add(source[:, : n - 2 * reach], source[:, step : n - 2 * reach + step], out=inner)
        for k in range(2, 2 * radius + 1):
            inner += source[:, k * step : n - 2 * reach + k * step]
        out[:, :reach] = 0.0
        out[:, n - reach :] = 0.0
        return out

    total = window_sum(window_sum(flat, 1), width)
    return total.reshape(image.shape)


def _sample_step(height: int, width: int) -> int:
    """The grid step that samples about `_SAMPLES` pixels of an image (8 for 288 x 216)."""
    return max(1, round(math.sqrt(height * width / _SAMPLES)))


def _design(ideal: F32, u: F32, v: F32) -> npt.NDArray[np.float64]:
    """(C, k, 4) float64 columns ideal, 1, u, v of the lighting fit, from (C, k) ideal samples."""
    design = np.empty((*ideal.shape, 4))
    design[:, :, 0] = ideal
    design[:, :, 1] = 1.0
    design[:, :, 2] = u
    design[:, :, 3] = v
    return design


def fit_lighting(image: F32, ideal: F32, use: Mask) -> F32:
    """Undo gain, offset and a linear lighting gradient per channel, fitted robustly to the ideal.

    Per channel c, ``image_c ~ a ideal_c + b + g_x u + g_y v`` (u, v: centred coordinates in [-1, 1])
    by least squares on a sample of the pixels in `use`, refitted once without the residuals beyond
    2.5 robust standard deviations (so a stain does not pull the fit); returns
    ``(image_c - b - g_x u - g_y v) / a``. image, ideal : (C, H, W) float32 (planar); use : (H, W) bool.
    Used in training, where photos are corrected before their statistics are taken.
    """
    h, w = use.shape
    step = _sample_step(h, w)
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    keep = use[ys, xs]
    ys, xs = ys[keep], xs[keep]
    if ys.size < 50:
        return image
    u = (xs / max(w - 1, 1) * 2 - 1).astype(np.float32)
    v = (ys / max(h - 1, 1) * 2 - 1).astype(np.float32)
    coefficients = _lighting_coefficients(image[:, ys, xs], _design(ideal[:, ys, xs], u, v))
    if coefficients is None:
        return image
    gain, offset, slope_u, slope_v = (c[:, None, None] for c in coefficients)
    light = (
        np.linspace(-1, 1, w, dtype=np.float32)[None, None, :] * slope_u
        + np.linspace(-1, 1, h, dtype=np.float32)[None, :, None] * slope_v
        + offset
    )
    out: F32 = (image - light) * np.reciprocal(gain)
    # Where the camera clipped (at 255 or 0) and the ideal, so lit, would clip too, the photo cannot
    # differ: take the ideal there (brighter light turning a white label to 255 is no defect).
    extreme = np.nonzero((image >= _HIGH) | (image <= _LOW))  # usually few: only those are looked at
    if extreme[0].size:
        raw = image[extreme]
        predicted = ideal[extreme] * gain[extreme[0], 0, 0] + light[extreme]
        clipped = ((raw >= _HIGH) & (predicted >= _HIGH)) | ((raw <= _LOW) & (predicted <= _LOW))
        where = tuple(axis[clipped] for axis in extreme)
        out[where] = ideal[where]
    return out


def scored_regions(ratio: F32) -> list[Region]:
    """The defective regions (ratio > 1) of a ratio image, with their scores, best first.

    Only the band of rows that holds defective pixels is labelled (a good photo has none or few).
    """
    defective = ratio > 1.0
    rows = np.flatnonzero(defective.any(axis=1))
    if rows.size == 0:
        return []
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    band = regions(defective[top:bottom], np.minimum(ratio[top:bottom], Z_CAP) - 1.0)
    return [Region(r.area, r.weight, r.left, r.top + top, r.right, r.bottom + top) for r in band]


# -- scoring -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One defective region, in the photo's own frame.

    `box` is (left, top, width, height) in ratios of the photo's width and height (Rekognition's
    `BoundingBox`); `area` counts working-resolution pixels.
    """

    score: float
    confidence: float
    box: tuple[float, float, float, float]
    area: int


@dataclass(frozen=True)
class Scored:
    """What scoring one photo gave.

    Attributes
    ----------
    score : float
        The best region's score (0 when no pixel is defective).
    confidence : float
        0-100; 50 at the model's threshold.
    findings : tuple of Finding
        Regions best first, at most `max_regions`, only those with confidence >= 1.
    ratio : (h, w) float32
        The defect ratio image in the reference pose (z; defective where > 1), the heat map.
    motion : Rigid
        The photo's motion from the reference pose, working-resolution px.
    """

    score: float
    confidence: float
    findings: tuple[Finding, ...]
    ratio: F32
    motion: Rigid

    def heat_map(self) -> F32:
        """The ratio image moved into the photo's frame: (h, w) float32 at working resolution."""
        h, w = self.ratio.shape
        inverse = Rigid.from_matrix(
            np.asarray(np.linalg.inv(self.motion.matrix(w, h)), dtype=np.float64), w, h
        )
        return np.asarray(warp(Image.fromarray(self.ratio, mode="F"), inverse), dtype=np.float32)


class Scorer:
    """Scores photos against one model; build once per model (it precomputes the alignment pyramid).

    Thread-safe: it holds no state that scoring changes.
    """

    def __init__(self, model: ReferenceModel) -> None:
        self.model = model
        self._aligner = Aligner(grey(model.ideal))
        p = model.parameters
        bound = np.maximum(p.abs_threshold, p.k * model.variation).astype(np.float32)
        self._comparator = Comparator(model.ideal, bound, model.mask, p.smoothing, p.point_factor)
        self.fingerprint = model.fingerprint

    def check_size(self, photo: Photo) -> None:
        """Raise `ImageRejected` when the photo's size differs from the model's (never resized)."""
        if photo.size != self.model.size:
            w, h = photo.size
            mw, mh = self.model.size
            raise ImageRejected(
                f"image is {w}x{h} px but the reference model was trained on {mw}x{mh} px images "
                "(the reference detector never resizes: train a model for this camera)"
            )

    def score(self, photo: Photo) -> Scored:
        """Score one decoded photo (same size and working resolution as the model's)."""
        self.check_size(photo)
        model = self.model
        motion = self._aligner.align_image(photo.image)
        aligned = planar_bytes(warp(photo.image, motion))
        ratio = self._comparator.ratio(aligned, warp_valid(photo.image.size, motion))
        found = scored_regions(ratio)
        score = found[0].weight if found else 0.0
        h, w = ratio.shape
        matrix = motion.matrix(w, h)
        findings = []
        for region in found[: model.parameters.max_regions]:
            confidence = model.confidence(region.weight)
            if confidence < 1.0:
                break
            findings.append(Finding(region.weight, confidence, _photo_box(region, matrix, w, h), region.area))
        return Scored(score, model.confidence(score), tuple(findings), ratio, motion)


def _photo_box(
    region: Region, matrix: npt.NDArray[np.float64], width: int, height: int
) -> tuple[float, float, float, float]:
    """The region's box moved into the photo's frame, as ratios (left, top, width, height), clipped."""
    corners = np.array(
        [
            [region.left - 0.5, region.top - 0.5, 1.0],
            [region.right - 0.5, region.top - 0.5, 1.0],
            [region.left - 0.5, region.bottom - 0.5, 1.0],
            [region.right - 0.5, region.bottom - 0.5, 1.0],
        ]
    )
    moved = corners @ matrix.T
    left = min(max((moved[:, 0].min() + 0.5) / width, 0.0), 1.0)
    right = min(max((moved[:, 0].max() + 0.5) / width, 0.0), 1.0)
    top = min(max((moved[:, 1].min() + 0.5) / height, 0.0), 1.0)
    bottom = min(max((moved[:, 1].max() + 0.5) / height, 0.0), 1.0)
    return (left, top, right - left, bottom - top)


# -- training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aligned:
    name: str
    image: F32  # (h, w, 3) in the reference pose, lighting not yet corrected
    valid: Mask
    motion: Rigid


def train(
    images: Sequence[tuple[str, bytes]],
    *,
    parameters: Parameters | None = None,
    progress: Callable[[Iterable[tuple[str, bytes]]], Iterable[tuple[str, bytes]]] | None = None,
    now: datetime | None = None,
    reduce: int | None = None,
) -> ReferenceModel:
    """Train a variation model from good photos of one product, taken by one fixed camera.

    Parameters
    ----------
    images : sequence of (name, bytes)
        At least `MIN_IMAGES` JPEG or PNG photos of good parts, all the same size; names are recorded
        with each file's SHA-256.
    parameters : Parameters, optional
        Pixel rule and calibration settings; the defaults suit most cameras.
    progress : callable, optional
        Wraps the iteration over `images` while they are decoded (e.g. a progress bar).
    reduce : {1, 2, 4, 8}, optional
        The working resolution, 1/reduce of the photos' size; by default the largest reduction that
        keeps the longest side at least `inspector.reference.imaging.WORK_SIDE` px. A smaller one sees
        smaller defects (a defect must span about two working pixels) at about 4x the time per halving.

    Returns
    -------
    ReferenceModel

    Raises
    ------
    TrainingError
        Too few photos, photos of different sizes, or a photo that cannot be decoded (named).
    """
    parameters = parameters or Parameters()
    if reduce is not None and reduce not in (1, 2, 4, 8):
        raise TrainingError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    if len(images) < MIN_IMAGES:
        raise TrainingError(
            f"{len(images)} good image{'s' if len(images) != 1 else ''} given; training needs at least "
            f"{MIN_IMAGES}: the variation image is a per-pixel spread measured across them, and the "
            "calibration holds some out to measure false alarms"
        )
    photos: list[tuple[str, Photo]] = []
    for name, data in progress(images) if progress else images:
        try:
            photo = decode(data, reduce=reduce)
        except ImageRejected as exc:
            raise TrainingError(f"{name}: cannot be used: {exc.reason}") from None
        reduce = photo.reduce
        photos.append((name, photo))
    sizes = {photo.size for _, photo in photos}
    if len(sizes) > 1:
        first = photos[0][1].size
        other = next((n, p.size) for n, p in photos if p.size != first)
        raise TrainingError(
            f"images of mixed sizes: {photos[0][0]} is {first[0]}x{first[1]} px, {other[0]} is "
            f"{other[1][0]}x{other[1][1]} px; a model is for one camera and one image size"
        )
    assert reduce is not None  # noqa: S101 - at least MIN_IMAGES were decoded

    # Align twice: to the first photo, then to the mean of the first pass (a sharper, fairer template).
    template = grey(to_array(photos[0][1].image))
    aligned = _align_all(photos, template)
    template = grey(_mean(aligned))
    aligned = _align_all(photos, template)
    stack, valid = _corrected_stack(aligned)
    seen = valid.mean(axis=0) >= _VIEW_SHARE
    mask = seen & _inner(seen.shape, margin=2)

    ideal, variation = _statistics(stack, valid, parameters)
    calibration = _calibrate(stack, valid, mask, parameters)
    shifts = [math.hypot(a.motion.dx, a.motion.dy) * reduce for a in aligned]
    angles = [a.motion.degrees for a in aligned]
    return ReferenceModel(
        ideal=ideal,
        variation=variation,
        mask=mask,
        size=photos[0][1].size,
        reduce=reduce,
        parameters=parameters,
        calibration=calibration,
        images=tuple(TrainingImage(name, hashlib.sha256(data).hexdigest()) for name, data in images),
        alignment={
            "max_shift_px": round(max(shifts), 2),
            "min_rotation_deg": round(min(angles), 3),
            "max_rotation_deg": round(max(angles), 3),
        },
        created=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        versions=library_versions(),
    )


def _align_all(photos: list[tuple[str, Photo]], template: F32) -> list[_Aligned]:
    aligner = Aligner(template)
    out = []
    for name, photo in photos:
        motion = aligner.align_image(photo.image)
        out.append(
            _Aligned(name, to_array(warp(photo.image, motion)), warp_valid(photo.image.size, motion), motion)
        )
    return out


def _mean(aligned: list[_Aligned]) -> F32:
    total = np.zeros_like(aligned[0].image, dtype=np.float64)
    count = np.zeros(aligned[0].valid.shape, dtype=np.float64)
    for a in aligned:
        total += a.image * a.valid[..., None]
        count += a.valid
    return (total / np.maximum(count, 1)[..., None]).astype(np.float32)


def _corrected_stack(aligned: list[_Aligned]) -> tuple[F32, Mask]:
    """(N, h, w, 3) photos with lighting fitted to their mean, invalid pixels filled with it; (N, h, w)."""
    mean = _mean(aligned)
    valid = np.stack([a.valid for a in aligned])
    everywhere: Mask = np.asarray(valid.all(axis=0), dtype=bool)
    stack = np.empty((len(aligned), *mean.shape), dtype=np.float32)
    for round_ in range(2):  # against the mean, then against the median, a steadier target
        target = mean if round_ == 0 else _fast_median(stack)
        flat = planar(target)
        for i, a in enumerate(aligned):
            corrected = interleaved(
                fit_lighting(planar(a.image), flat, everywhere if everywhere.any() else a.valid)
            )
            stack[i] = np.where(a.valid[..., None], corrected, target)
    return stack, valid


def _median(stack: F32, valid: Mask) -> F32:
    """Per-pixel median over the photos that saw the pixel: (N, h, w, 3), (N, h, w) -> (h, w, 3)."""
    out = _fast_median(stack)
    partial = ~valid.all(axis=0)
    if partial.any():  # only near the borders: nanmedian is slow
        values = stack[:, partial].copy()
        values[~valid[:, partial]] = np.nan
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a pixel no photo saw: the mask leaves it out
            out[partial] = np.nan_to_num(np.nanmedian(values, axis=0))
    return out.astype(np.float32)


def _fast_median(stack: F32) -> F32:
    """np.median over axis 0, by an in-place partition along a contiguous axis (several times faster)."""
    n = stack.shape[0]
    values = np.ascontiguousarray(np.moveaxis(stack, 0, -1))
    middle = n // 2
    if n % 2:
        values.partition(middle, axis=-1)
        return values[..., middle].astype(np.float32)
    values.partition((middle - 1, middle), axis=-1)
    return ((values[..., middle - 1] + values[..., middle]) / 2).astype(np.float32)


def _statistics(stack: F32, valid: Mask, parameters: Parameters) -> tuple[F32, F32]:
    """Ideal (median) and variation (scaled MAD, widened at edges, floored, dilated): (h, w, 3) each."""
    ideal = _median(stack, valid)
    mad = 1.4826 * _median(np.abs(stack - ideal), valid)
    edges = parameters.misalignment_px * gradient_magnitude(ideal)
    spread = np.sqrt(mad**2 + edges**2 + parameters.variation_floor**2).astype(np.float32)
    return ideal, max_filter3(spread)


def _calibrate(stack: F32, valid: Mask, mask: Mask, parameters: Parameters) -> Calibration:
    """Leave-some-out: each fold scored by a model built without it; threshold from the worst score."""
    n = len(stack)
    folds = min(MAX_FOLDS, n)
    scores = np.zeros(n)
    for fold in range(folds):
        held = np.arange(fold, n, folds)
        kept = np.setdiff1d(np.arange(n), held)
        ideal, variation = _statistics(stack[kept], valid[kept], parameters)
        bound = np.maximum(parameters.abs_threshold, parameters.k * variation).astype(np.float32)
        comparator = Comparator(ideal, bound, mask, parameters.smoothing, parameters.point_factor)
        for i in held:
            ratio = comparator.ratio(planar(stack[i]), valid[i])
            found = scored_regions(ratio)
            scores[i] = found[0].weight if found else 0.0
    threshold = max(parameters.min_threshold, parameters.margin_ratio * float(scores.max()))
    return Calibration(threshold=threshold, held_out_scores=tuple(float(s) for s in scores), folds=folds)


def _inner(shape: tuple[int, ...], *, margin: int) -> Mask:
    inner = np.zeros(shape, dtype=bool)
    inner[margin : shape[0] - margin, margin : shape[1] - margin] = True
    return inner
