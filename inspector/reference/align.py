"""Rigid alignment to the reference pose: phase correlation, then inverse-compositional Gauss-Newton."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

FloatImage = npt.NDArray[np.float32]

ALIGN_SIDE = 112  # the finest alignment level: longest side, px
COARSE_SIDE = 80  # the coarse level, where phase correlation finds the translation
MAX_ITERATIONS = 20
_STEP_TOLERANCE = 0.05  # stop when the update moves no pixel of the level by more than this (px); the robust
# step that follows still refines (each step shrinks the error about 2.5-fold)
_ROBUST_CUTOFF = 3.0  # residuals beyond this many robust standard deviations are left out (defects)
_ROBUST_STEPS = 1


@dataclass(frozen=True)
class Rigid:
    """A rotation about the image centre followed by a shift, in working-image pixels.

    Maps the reference pose to the photo: the point `p` of the reference is seen at
    `R(angle) (p - c) + c + (dx, dy)` in the photo, `c` the centre of the working image.
    """

    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0  # radians, counter-clockwise in image coordinates (y down: clockwise on screen)

    @property
    def degrees(self) -> float:
        return math.degrees(self.angle)

    def matrix(self, width: int, height: int) -> npt.NDArray[np.float64]:
        """The (3, 3) float64 homogeneous matrix mapping reference (x, y) to photo (x, y) pixel coords."""
        cx, cy = (width - 1) / 2, (height - 1) / 2
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        return np.array(
            [
                [cos, -sin, cx + self.dx - cos * cx + sin * cy],
                [sin, cos, cy + self.dy - sin * cx - cos * cy],
                [0.0, 0.0, 1.0],
            ]
        )

    @classmethod
    def from_matrix(cls, matrix: npt.NDArray[np.float64], width: int, height: int) -> Rigid:
        cx, cy = (width - 1) / 2, (height - 1) / 2
        angle = math.atan2(matrix[1, 0], matrix[0, 0])
        cos, sin = math.cos(angle), math.sin(angle)
        dx = matrix[0, 2] - cx + cos * cx - sin * cy
        dy = matrix[1, 2] - cy + sin * cx + cos * cy
        return cls(float(dx), float(dy), float(angle))

    def scaled(self, factor: float) -> Rigid:
        """The same motion measured in pixels `factor` times larger (the angle is unchanged)."""
        return Rigid(self.dx * factor, self.dy * factor, self.angle)


def warp(image: Image.Image, motion: Rigid) -> Image.Image:
    """Resample `image` into the reference pose (bilinear): pixel (x, y) of the result is the photo's
    point `motion` maps (x, y) to. Pixels that fall outside the photo are black (0)."""
    m = motion.matrix(image.width, image.height)
    data = (m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2])
    return image.transform(image.size, Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)


def warp_valid(size: tuple[int, int], motion: Rigid) -> npt.NDArray[np.bool_]:
    """(H, W) bool: the pixels of `warp`'s result whose bilinear neighbourhood lies inside the photo,
    with one pixel to spare (Pillow extends the edge for points just outside).

    A rigid motion maps each row of the result onto a line of the photo, so each row's valid pixels are
    one run: found per row from the two linear constraints, then broadcast (no per-pixel coordinates).
    """
    width, height = size
    m = motion.matrix(width, height)
    rows = np.arange(height, dtype=np.float64)
    lo = np.zeros(height)
    hi = np.full(height, float(width - 1))
    for a, b, c, top in ((m[0, 0], m[0, 1], m[0, 2], width - 2), (m[1, 0], m[1, 1], m[1, 2], height - 2)):
        rest = b * rows + c  # the coordinate is a * x + rest, wanted in [1, top]
        if abs(a) < 1e-12:
            hi = np.where((rest >= 1) & (rest <= top), hi, -1.0)
            continue
        first, last = (1 - rest) / a, (top - rest) / a
        if a < 0:
            first, last = last, first
        lo = np.maximum(lo, first)
        hi = np.minimum(hi, last)
    # A hair of tolerance, so a point computed exactly on the border (as the per-pixel test did) counts.
    start = np.ceil(lo - 1e-9).astype(np.int32)
    stop = np.floor(hi + 1e-9).astype(np.int32)
    xs = np.arange(width, dtype=np.int32)[None, :]
    inside: npt.NDArray[np.bool_] = (xs >= start[:, None]) & (xs <= stop[:, None])
    return inside


def phase_correlation(reference: FloatImage, moving: FloatImage) -> tuple[float, float]:
    """The shift (dx, dy) in px such that `moving(p) ~ reference(p - (dx, dy))`, to a fraction of a pixel.

    Parameters
    ----------
    reference, moving : (H, W) float32
        Two grey images of the same shape.

    Returns
    -------
    (dx, dy) : tuple of float
        Pixels; shifts are found up to half the image size either way.

    References
    ----------
    .. [1] C. D. Kuglin and D. C. Hines, "The phase correlation image alignment method", Proc. IEEE Int.
       Conf. on Cybernetics and Society, 1975, pp. 163-165.
    .. [2] B. S. Reddy and B. N. Chatterji, "An FFT-based technique for translation, rotation, and
       scale-invariant image registration", IEEE Trans. Image Processing 5(8), 1996, pp. 1266-1271.
    """
    return _Correlator(reference).shift(moving)


class _Correlator:
    """Phase correlation against one fixed reference: its windowed spectrum is computed once."""

    def __init__(self, reference: FloatImage) -> None:
        self.shape = reference.shape
        height, width = reference.shape
        self._window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
        self._conj = np.conj(np.fft.rfft2((reference - reference.mean()) * self._window))

    def shift(self, moving: FloatImage) -> tuple[float, float]:
        height, width = self.shape
        cross = self._conj * np.fft.rfft2((moving - moving.mean()) * self._window)
        cross /= np.abs(cross) + 1e-9
        surface = np.fft.irfft2(cross, s=self.shape)
        row, col = np.unravel_index(int(np.argmax(surface)), surface.shape)

        def refine(values: tuple[float, float, float]) -> float:
            left, centre, right = values
            denominator = left - 2 * centre + right
            return 0.0 if denominator >= 0 else 0.5 * (left - right) / denominator

        peak = surface[row, col]
        dy = row + refine((surface[(row - 1) % height, col], peak, surface[(row + 1) % height, col]))
        dx = col + refine((surface[row, (col - 1) % width], peak, surface[row, (col + 1) % width]))
        if dy > height / 2:
            dy -= height
        if dx > width / 2:
            dx -= width
        return float(dx), float(dy)


class Aligner:
    """Finds the `Rigid` motion of a photo from a template grey image of the reference pose.

    Translation first, by phase correlation at a coarse level (so shifts of up to a quarter of the image
    are found); then translation and rotation together by inverse-compositional Gauss-Newton on two levels
    of a grey pyramid, each image normalised to zero mean and unit variance over the pixels compared (so
    a change of gain or offset does not move the answer) and with outlying residuals left out (so a
    defect does not pull the alignment). Converges for rotations of a few degrees.

    Parameters
    ----------
    template : (H, W) float32
        The reference pose's grey image at working resolution (0-255).

    References
    ----------
    .. [1] S. Baker and I. Matthews, "Lucas-Kanade 20 years on: a unifying framework", International
       Journal of Computer Vision 56(3), 2004, pp. 221-255 (the inverse compositional algorithm).
    """

    def __init__(self, template: FloatImage) -> None:
        self.height, self.width = template.shape
        self._fine = _Level(template, ALIGN_SIDE)
        self._coarse_factor = max(1, math.ceil(max(self.height, self.width) / COARSE_SIDE))
        self._coarse = _Correlator(_shrink(template, self._coarse_factor))

    def align_image(self, image: Image.Image) -> Rigid:
        """The motion of an RGB photo at working resolution (same size as the template).

        Its grey levels are made and shrunk by Pillow in C (luma as ITU-R BT.601, box averages), several
        times faster than the float path of `align`; the answer agrees with it to rounding.
        """
        if image.size != (self.width, self.height):
            raise ValueError(f"expected a {self.width}x{self.height} image, got {image.width}x{image.height}")
        luma = image.convert("L")
        fine = _reduce(luma, self._fine.factor)
        coarse = fine if self._coarse_factor == self._fine.factor else _reduce(luma, self._coarse_factor)
        return self._from_levels(fine, coarse)

    def align(self, grey: FloatImage) -> Rigid:
        """The motion of `grey` ((H, W) float32, same shape as the template) from the reference pose."""
        if grey.shape != (self.height, self.width):
            raise ValueError(
                f"expected a {self.width}x{self.height} image, got {grey.shape[1]}x{grey.shape[0]}"
            )
        fine = _shrink(grey, self._fine.factor)
        coarse = fine if self._coarse_factor == self._fine.factor else _shrink(grey, self._coarse_factor)
        return self._from_levels(fine, coarse)

    def _from_levels(self, fine: FloatImage, coarse: FloatImage) -> Rigid:
        dx, dy = self._coarse.shift(coarse)
        motion = Rigid(dx, dy, 0.0).scaled(self._coarse_factor)
        return self._fine.refine(fine, motion)


class _Level:
    """One pyramid level of the template, with what inverse compositional precomputes."""

    def __init__(self, template: FloatImage, side: int) -> None:
        height, width = template.shape
        self.factor = max(1, math.ceil(max(height, width) / side))
        level = _shrink(template, self.factor).astype(np.float64)
        h, w = level.shape
        self.shape = (h, w)
        margin = max(2, round(0.03 * max(h, w)))
        inside = np.zeros((h, w), dtype=bool)
        inside[margin : h - margin, margin : w - margin] = True
        gy, gx = np.gradient(level)
        self.index = np.flatnonzero(inside)  # the compared points, sampled directly at each step
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        chosen = level.ravel()[self.index]
        spread = float(chosen.std()) + 1e-6
        self.template = ((chosen - chosen.mean()) / spread).astype(np.float32)
        # Steepest-descent images of the rigid warp at identity (d/dtx, d/dty, d/dangle), for the
        # template normalised to zero mean and unit variance; the Gauss-Newton Hessian is their Gram matrix.
        steepest = np.stack([gx, gy, -gx * (ys - cy) + gy * (xs - cx)], axis=-1).reshape(-1, 3)[self.index]
        steepest /= spread
        self.steepest_t = np.ascontiguousarray(steepest.T.astype(np.float32))
        self.inverse_hessian = np.linalg.inv(steepest.T @ steepest)
        self.xs = xs.ravel()[self.index].astype(np.float32)
        self.ys = ys.ravel()[self.index].astype(np.float32)
        first, last_x, last_y = margin, w - margin - 1, h - margin - 1
        self.corners = np.array([[first, last_x, first, last_x], [first, first, last_y, last_y]], dtype=float)
        self.diagonal = math.hypot(w, h) / 2

    def refine(self, grey: FloatImage, start: Rigid) -> Rigid:
        h, w = self.shape
        matrix = start.scaled(1 / self.factor).matrix(w, h)
        flat = np.ascontiguousarray(grey, dtype=np.float32).reshape(-1)
        # Plain least squares until the pose settles; then a few steps that leave outliers (a defect) out.
        # Cutting outliers from the start would also cut the misaligned edges that carry the answer.
        robust_steps = 0
        cutoff: float | None = None
        for iteration in range(MAX_ITERATIONS):
            warped = _bilinear(flat, (w, h), matrix, self.xs, self.ys)
            # Points that land inside the photo, with a pixel to spare for the bilinear neighbourhood.
            # The compared area is a rectangle: when its corners land inside, every point does.
            corners = matrix[:2, :2] @ self.corners + matrix[:2, 2:]
            if corners.min() >= 1 and (corners[0] <= w - 2).all() and (corners[1] <= h - 2).all():
                use: npt.NDArray[np.bool_] | None = None
                seen = warped
            else:
                px = matrix[0, 0] * self.xs + matrix[0, 1] * self.ys + matrix[0, 2]
                py = matrix[1, 0] * self.xs + matrix[1, 1] * self.ys + matrix[1, 2]
                use = (px >= 1) & (px <= w - 2) & (py >= 1) & (py <= h - 2)
                if use.sum() < 0.25 * use.size:
                    break  # moved too far off the image to say more
                seen = warped[use]
            n = seen.size  # mean and spread by two reductions (numpy's mean/std cost more in calls)
            mean = float(seen.sum()) / n
            spread = math.sqrt(max(float(np.dot(seen, seen)) / n - mean * mean, 0.0)) + 1e-6
            residual = warped - mean
            residual *= 1.0 / spread
            residual -= self.template
            if use is not None:
                residual[~use] = 0.0
            if cutoff is not None:
                residual[np.abs(residual) > cutoff] = 0.0  # outliers: a defect must not pull the pose
                robust_steps += 1
            step = self.inverse_hessian @ (self.steepest_t @ residual).astype(np.float64)
            # Compose with the inverse of the step's rigid motion (its inverse in closed form).
            matrix = matrix @ _rigid_inverse(
                Rigid(float(step[0]), float(step[1]), float(step[2])).matrix(w, h)
            )
            settled = math.hypot(step[0], step[1]) + abs(step[2]) * self.diagonal < _STEP_TOLERANCE
            if robust_steps >= _ROBUST_STEPS or (settled and cutoff is not None):
                break
            if cutoff is None and (settled or iteration >= MAX_ITERATIONS // 2):
                compared = residual if use is None else residual[use]
                cutoff = _ROBUST_CUTOFF * 1.2533 * float(np.abs(compared).mean()) + 1e-6
        return Rigid.from_matrix(matrix, w, h).scaled(self.factor)


def _rigid_inverse(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The inverse of a (3, 3) rigid-motion matrix: the transposed rotation, and the shift undone."""
    rotation = matrix[:2, :2].T
    inverse = np.eye(3)
    inverse[:2, :2] = rotation
    inverse[:2, 2] = -rotation @ matrix[:2, 2]
    return inverse


def _bilinear(
    flat: FloatImage, size: tuple[int, int], matrix: npt.NDArray[np.float64], xs: FloatImage, ys: FloatImage
) -> FloatImage:
    """The flattened image of `size` (width, height) bilinearly sampled where `matrix` maps (xs, ys).

    Points outside are read at the nearest inside position (callers leave them out).
    """
    width, height = size
    a0, a1, a2, a3, a4, a5 = (float(v) for v in matrix[:2].ravel())  # Python floats keep float32 arrays
    px = xs * a0
    px += ys * a1
    px += a2
    py = xs * a3
    py += ys * a4
    py += a5
    np.clip(px, 0, width - 1.001, out=px)
    np.clip(py, 0, height - 1.001, out=py)
    x0 = px.astype(np.int32)
    y0 = py.astype(np.int32)
    px -= x0  # the fractions
    py -= y0
    index = y0 * width
    index += x0
    top = _along_row(flat, index, px)
    index += width
    bottom = _along_row(flat, index, px)
    bottom -= top
    bottom *= py
    top += bottom
    return top


def _along_row(flat: FloatImage, index: npt.NDArray[np.int32], fraction: FloatImage) -> FloatImage:
    """flat[index] + fraction * (flat[index + 1] - flat[index]): a new array, built in place."""
    left = flat[index]
    right = flat[index + 1]
    right -= left
    right *= fraction
    left += right
    return left


def _reduce(luma: Image.Image, factor: int) -> FloatImage:
    """`_shrink` of a Pillow "L" image, in C: (H // factor, W // factor) float32."""
    if factor > 1:
        w, h = luma.size
        luma = luma.reduce(factor, box=(0, 0, w // factor * factor, h // factor * factor))
    return np.asarray(luma, dtype=np.float32)


def _shrink(grey: FloatImage, factor: int) -> FloatImage:
    """Box-average `grey` by an integer factor (the last rows/columns that do not fill a box are dropped)."""
    if factor == 1:
        return grey
    h, w = grey.shape
    h2, w2 = h // factor, w // factor
    boxes = grey[: h2 * factor, : w2 * factor].reshape(h2, factor, w2, factor)
    shrunk: FloatImage = boxes.mean(axis=(1, 3), dtype=np.float32)
    return shrunk
