"""Decoding photos for the reference model: working resolution, EXIF orientation, arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from inspector.detectors.local import open_rgb

WORK_SIDE: Final = 240  # the working resolution keeps the longest side at least this (px)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as Pillow's "L"


@dataclass(frozen=True)
class Photo:
    """One decoded photo.

    Attributes
    ----------
    image : PIL.Image.Image
        RGB at working resolution: the full image divided by `reduce` per side, rounding up, upright
        (EXIF orientation applied).
    size : (int, int)
        (width, height) of the full image, upright.
    """

    image: Image.Image
    size: tuple[int, int]
    reduce: int


def reduction(size: tuple[int, int]) -> int:
    """The largest factor (1, 2, 4 or 8) that keeps the longest side of an image of `size` at least
    `WORK_SIDE` px: 1 for 400 px, 2 for 640 px, 4 for 1,152 px (1 MP), 8 for 4,000 px."""
    factor = 1
    while max(size) / (factor * 2) >= WORK_SIDE and factor < 8:
        factor *= 2
    return factor


def decode(data: bytes, *, reduce: int | None = None) -> Photo:
    """Decode a JPEG or PNG photo upright at working resolution.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    reduce : int, optional
        1, 2, 4 or 8; chosen from the image's size (`reduction`) when left out.

    Raises
    ------
    ImageRejected
        Not JPEG or PNG, empty, corrupt or truncated, too small or too large (as the local detector).
    """
    if reduce is None:
        probe = open_rgb(data, reduce=8, orient=True)  # a JPEG at 1/8 scale costs little
        reduce = reduction(probe.size)
    opened = open_rgb(data, reduce=reduce, orient=True)
    return Photo(opened.image, opened.size, reduce)


def to_array(image: Image.Image) -> npt.NDArray[np.float32]:
    """(H, W, 3) float32, 0-255, of an RGB image."""
    return np.asarray(image, dtype=np.float32)


def grey(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(H, W) float32 luma of an (H, W, 3) float32 image."""
    return np.ascontiguousarray(rgb @ _LUMA)
