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
_SAMPLE_STEP: Final = 6  # photometric fit on every 6th pixel each way


class TrainingError(InspectorError, ValueError):
    """The photos given cannot train a model; the message says why and what to do."""


# -- small numpy image operations ---------------------------------------------------------------


def planar(image: F32) -> F32:
    """(H, W, C) -> (C, H, W), contiguous: per-channel arithmetic is fast there (on a last axis of 3, not)."""
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))


def interleaved(image: F32) -> F32:
    """(C, H, W) -> (H, W, C), contiguous."""
    return np.ascontiguousarray(np.moveaxis(image, 0, -1))


def box_filter(image: F32, size: int) -> F32:
    """Mean over a `size` x `size` window of the last two axes (odd size; cut short at the edges).

    image : (H, W) or (C, H, W) float32 -> same shape, float32.
    """
    if size <= 1:
        return image
    radius = size // 2
    out: F32 = image.astype(np.float32, copy=True)
    for axis in (out.ndim - 2, out.ndim - 1):
        total = out.copy()
        count = np.ones(out.shape[axis], dtype=np.float32)
        n = out.shape[axis]
        for offset in range(1, radius + 1):
            ahead = [slice(None)] * out.ndim
            behind = [slice(None)] * out.ndim
            ahead[axis], behind[axis] = slice(0, n - offset), slice(offset, n)
            total[tuple(ahead)] += out[tuple(behind)]
            total[tuple(behind)] += out[tuple(ahead)]
            count[: n - offset] += 1
            count[offset:] += 1
        shape = [1] * out.ndim
        shape[axis] = n
        out = (total / count.reshape(shape)).astype(np.float32, copy=False)
    return out


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


def fit_lighting(image: F32, ideal: F32, use: Mask) -> F32:
    """Undo gain, offset and a linear lighting gradient per channel, fitted robustly to the ideal.

    Per channel c, ``image_c ~ a ideal_c + b + g_x u + g_y v`` (u, v: centred coordinates in [-1, 1])
    by least squares on a sample of the pixels in `use`, refitted once without the residuals beyond
    2.5 robust standard deviations (so a stain does not pull the fit); returns
    ``(image_c - b - g_x u - g_y v) / a``. image, ideal : (C, H, W) float32 (planar); use : (H, W) bool.
    """
    h, w = use.shape
    ys, xs = np.mgrid[0:h:_SAMPLE_STEP, 0:w:_SAMPLE_STEP]
    keep = use[ys, xs]
    ys, xs = ys[keep], xs[keep]
    samples = image[:, ys, xs]  # (C, k)
    unclipped = ((samples < _HIGH) & (samples > _LOW)).all(axis=0)  # clipped values fit no line
    ys, xs = ys[unclipped], xs[unclipped]
    if ys.size < 50:
        return image
    u = xs / max(w - 1, 1) * 2 - 1
    v = ys / max(h - 1, 1) * 2 - 1
    channels = image.shape[0]
    # One design per channel, (C, k, 4): ideal, 1, u, v; all channels solved at once (4 x 4 systems).
    design = np.empty((channels, ys.size, 4))
    design[:, :, 0] = ideal[:, ys, xs]
    design[:, :, 1] = 1.0
    design[:, :, 2] = u
    design[:, :, 3] = v
    target = samples[:, unclipped].astype(np.float64)
    weight = np.ones(target.shape)
    coef = np.zeros((channels, 4))
    for _ in range(2):
        weighted = design * weight[:, :, None]
        try:
            normal = np.einsum("cki,ckj->cij", weighted, design)
            coef = np.linalg.solve(normal, np.einsum("cki,ck->ci", weighted, target)[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            return image
        residual = target - np.einsum("cki,ci->ck", design, coef)
        # Mean |r| of a Gaussian is 0.80 of its standard deviation: 1.2533 mean |r| estimates it.
        spread = 1.2533 * (np.abs(residual) * weight).sum(axis=1) / weight.sum(axis=1) + 1e-6
        weight = (np.abs(residual) < 2.5 * spread[:, None]).astype(np.float64)
    coef[:, 0] = np.where(coef[:, 0] > 0.2, coef[:, 0], 1.0)  # a wild gain is worse than none
    coefficients = coef.T.astype(np.float32).reshape(4, channels, 1, 1)
    gain, offset, slope_u, slope_v = coefficients  # each (C, 1, 1)
    # The light's offset and gradient, (C, h, w) by broadcasting along contiguous rows.
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


def pixel_ratio(image: F32, ideal: F32, bound: F32, use: Mask, smoothing: int) -> F32:
    """z = max over channels of |box(image - ideal)| / bound; 0 outside `use`.

    image, ideal, bound : (3, H, W) float32 (planar); use : (H, W) bool -> (H, W) float32.
    A pixel is defective where z > 1.
    """
    difference = box_filter(image - ideal, smoothing)
    np.abs(difference, out=difference)
    difference /= bound
    ratio: F32 = np.maximum(np.maximum(difference[0], difference[1]), difference[2])
    ratio[~use] = 0.0
    return ratio


def scored_regions(ratio: F32) -> list[Region]:
    """The defective regions (ratio > 1) of a ratio image, with their scores, best first."""
    return regions(ratio > 1.0, np.minimum(ratio, Z_CAP) - 1.0)


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
        self._ideal = planar(model.ideal)
        self._bound = planar(np.maximum(p.abs_threshold, p.k * model.variation).astype(np.float32))
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
        rgb = to_array(photo.image)
        motion = self._aligner.align(grey(rgb))
        aligned = planar(to_array(warp(photo.image, motion)))
        use = model.mask & warp_valid(photo.image.size, motion)
        corrected = fit_lighting(aligned, self._ideal, use)
        ratio = pixel_ratio(corrected, self._ideal, self._bound, use, model.parameters.smoothing)
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

    Returns
    -------
    ReferenceModel

    Raises
    ------
    TrainingError
        Too few photos, photos of different sizes, or a photo that cannot be decoded (named).
    """
    parameters = parameters or Parameters()
    if len(images) < MIN_IMAGES:
        raise TrainingError(
            f"{len(images)} good image{'s' if len(images) != 1 else ''} given; training needs at least "
            f"{MIN_IMAGES}: the variation image is a per-pixel spread measured across them, and the "
            "calibration holds some out to measure false alarms"
        )
    photos: list[tuple[str, Photo]] = []
    reduce: int | None = None
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
        motion = aligner.align(grey(to_array(photo.image)))
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
        bound = planar(np.maximum(parameters.abs_threshold, parameters.k * variation).astype(np.float32))
        flat = planar(ideal)
        for i in held:
            use = mask & valid[i]
            corrected = fit_lighting(planar(stack[i]), flat, use)
            ratio = pixel_ratio(corrected, flat, bound, use, parameters.smoothing)
            found = scored_regions(ratio)
            scores[i] = found[0].weight if found else 0.0
    threshold = max(parameters.min_threshold, parameters.margin_ratio * float(scores.max()))
    return Calibration(threshold=threshold, held_out_scores=tuple(float(s) for s in scores), folds=folds)


def _inner(shape: tuple[int, ...], *, margin: int) -> Mask:
    inner = np.zeros(shape, dtype=bool)
    inner[margin : shape[0] - margin, margin : shape[1] - margin] = True
    return inner
