"""A second, independently designed generator of part photos, harder than `inspector.reference.synthetic`.

For the benchmark only (never the library): it stands in for a hidden set drawn differently from ours.
What differs from the library's generator, on purpose:

- other parts: a machined flange (a disc with a bore and six bolt holes, near-grey, brushed) and a
  painted bracket (a coloured plate with two slots and a printed mark), drawn in numpy, not ImageDraw;
- other sizes: 640 x 480 and 1600 x 1200 px;
- textured surfaces that differ from piece to piece: brushed-metal grain (noise smeared along one axis)
  and a fine paint texture, both drawn anew for every photo;
- lighting that is not a linear gradient: a quadratic hot spot whose place and strength move a little
  between shots, vignetting (radial fall-off), gain and offset;
- camera motion of up to `SHIFT_PX` px at full resolution and up to 1 degree, bilinear;
- sensor noise, slight defocus and JPEG quality 70-95;
- defects of varied size, small ones included: a 3-6 px particle, a 1-2 px scratch (both at full
  resolution), a low-contrast stain, a missing bolt (or slot fill), a chipped edge, a discoloured patch
  (hue changed at about the same brightness).

Everything is drawn from `numpy.random.default_rng(seed)`: the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

F64 = npt.NDArray[np.float64]

KINDS: Final = ("particle", "hairline", "faint-stain", "missing-bolt", "chipped-edge", "discoloured")
SHIFT_PX: Final = 8.0  # at full resolution, either way
ROTATION_DEG: Final = 1.0


@dataclass(frozen=True)
class Product:
    """A part and the camera that photographs it."""

    name: str
    size: tuple[int, int]
    colour: bool  # a painted bracket (True) or a grey machined flange (False)


PRODUCTS: Final = (
    Product("bracket-640x480", (640, 480), colour=True),
    Product("flange-1600x1200", (1600, 1200), colour=False),
)


def photo(product: Product, seed: int, defect: str | None = None) -> bytes:
    """One JPEG photo of `product`; good when `defect` is None."""
    if defect is not None and defect not in KINDS:
        raise ValueError(f"unknown defect {defect!r}; one of {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    scene = _bracket(product.size, rng) if product.colour else _flange(product.size, rng)
    if defect is not None:
        _defect(scene, defect, product, rng)
    return _camera(scene, rng)


# -- the parts ------------------------------------------------------------------------------------


def _grid(size: tuple[int, int]) -> tuple[F64, F64]:
    width, height = size
    return np.mgrid[0:height, 0:width].astype(np.float64)[::-1]  # xs, ys


def _grain(size: tuple[int, int], rng: np.random.Generator, *, sd: float, along: int) -> F64:
    """Brushed-metal grain: noise smeared along x (along=1) or y (0), drawn anew for each piece."""
    width, height = size
    noise = rng.normal(0, 1, (height, width))
    length = max(3, width // 40)
    total = np.cumsum(noise, axis=along)  # a moving sum of `length` along the axis, by differences
    smeared = np.zeros_like(noise)
    if along == 1:
        smeared[:, length:] = total[:, length:] - total[:, :-length]
    else:
        smeared[length:] = total[length:] - total[:-length]
    return smeared / (smeared.std() + 1e-9) * sd


def _flange(size: tuple[int, int], rng: np.random.Generator) -> F64:
    """A grey machined disc with a bore and six bolt heads, on a dark mat: (H, W, 3) float64, 0-255."""
    width, height = size
    xs, ys = _grid(size)
    cx, cy, s = width / 2, height / 2, min(width, height)
    r = np.hypot(xs - cx, ys - cy)
    mat = 38 + _fixed_noise(size, 4.0)
    img = np.repeat(mat[..., None], 3, axis=-1)
    disc = r < 0.42 * s
    # Turned finish: concentric grain (fixed by the lathe) plus this piece's brushing.
    metal = 150 + 6 * np.sin(r / (0.004 * s)) + _grain(size, rng, sd=3.0, along=1)
    img[disc] = metal[disc, None] * np.array([1.0, 1.0, 1.02])
    rim = (r >= 0.40 * s) & (r < 0.42 * s)
    img[rim] = (115 + _grain(size, rng, sd=2.0, along=0)[rim])[:, None]
    bore = r < 0.12 * s
    img[bore] = 25
    for i in range(6):
        a = i * math.pi / 3 + 0.2
        bx, by = cx + 0.30 * s * math.cos(a), cy + 0.30 * s * math.sin(a)
        head = np.hypot(xs - bx, ys - by)
        img[head < 0.05 * s] = 95
        img[head < 0.035 * s] = 175  # the bolt's face
        img[head < 0.012 * s] = 80  # its hex socket
    return img


def _bracket(size: tuple[int, int], rng: np.random.Generator) -> F64:
    """A painted (green-blue) bracket with two slots and a printed mark, on a light table."""
    width, height = size
    xs, ys = _grid(size)
    table = 200 + _fixed_noise(size, 3.0)
    img = np.stack([table, table - 4, table - 10], axis=-1)
    x0, x1, y0, y1 = 0.12 * width, 0.88 * width, 0.15 * height, 0.85 * height
    plate = (xs > x0) & (xs < x1) & (ys > y0) & (ys < y1)
    paint = PAINT
    texture = _grain(size, rng, sd=2.5, along=0)  # this piece's paint texture
    img[plate] = paint + texture[plate, None]
    for sx in (0.3, 0.7):
        slot = (np.abs(xs - sx * width) < 0.05 * width) & (np.abs(ys - height / 2) < 0.22 * height)
        img[slot] = np.stack([table, table - 4, table - 10], axis=-1)[slot] * 0.6
    mark = (np.abs(xs - width / 2) < 0.08 * width) & (np.abs(ys - 0.28 * height) < 0.03 * height)
    img[mark] = [235, 230, 90]
    return img


def _fixed_noise(size: tuple[int, int], sd: float) -> F64:
    """Texture of the surroundings: the same in every photo of the product."""
    width, height = size
    fixed = np.random.default_rng(width * 7919 + height)
    return fixed.normal(0, sd, (height, width))


# -- the defects ----------------------------------------------------------------------------------


def _defect(img: F64, kind: str, product: Product, rng: np.random.Generator) -> None:
    width, height = product.size
    s = min(width, height)
    # A place on the part (inside the plate, or the disc away from its rim and bore).
    if product.colour:
        px, py = rng.uniform(0.2, 0.8) * width, rng.uniform(0.25, 0.75) * height
    else:
        a, rad = rng.uniform(0, 2 * math.pi), rng.uniform(0.16, 0.36) * s
        px, py = width / 2 + rad * math.cos(a), height / 2 + rad * math.sin(a)
    _DEFECTS[kind](_Place(img, product, rng, px, py, s))


@dataclass(frozen=True)
class _Place:
    img: F64
    product: Product
    rng: np.random.Generator
    x: float
    y: float
    side: float

    def around(self, x: float, y: float, radius: float) -> tuple[slice, slice, F64, F64]:
        """The window of the image within `radius` of (x, y): its slices and coordinates."""
        height, width = self.img.shape[:2]
        r = int(radius) + 2
        rows = slice(max(0, int(y) - r), min(height, int(y) + r + 1))
        cols = slice(max(0, int(x) - r), min(width, int(x) + r + 1))
        ys, xs = np.mgrid[rows, cols].astype(np.float64)
        return rows, cols, xs, ys


def _particle(p: _Place) -> None:  # a speck 3-6 px across at full resolution, dark or bright
    radius = p.rng.uniform(1.5, 3.0)
    tone = p.rng.choice([-1.0, 1.0]) * p.rng.uniform(60, 100)
    rows, cols, xs, ys = p.around(p.x, p.y, radius + 1)
    weight = np.clip(radius + 0.5 - np.hypot(xs - p.x, ys - p.y), 0, 1)
    p.img[rows, cols] += (tone * weight)[..., None]


def _hairline(p: _Place) -> None:  # a bright scratch (bare metal) 1-2 px wide, 5-12 % of the side long
    a = p.rng.uniform(0, math.pi)
    length = p.rng.uniform(0.05, 0.12) * p.side
    width_px = p.rng.uniform(1.0, 2.0)
    tone = p.rng.uniform(45, 80)
    rows, cols, xs, ys = p.around(p.x, p.y, length / 2 + 2)
    dx, dy = math.cos(a), math.sin(a)
    along = (xs - p.x) * dx + (ys - p.y) * dy
    across = np.abs(-(xs - p.x) * dy + (ys - p.y) * dx)
    weight = np.clip(width_px / 2 + 0.5 - across, 0, 1) * (np.abs(along) < length / 2)
    p.img[rows, cols] += (tone * weight)[..., None]


def _faint_stain(p: _Place) -> None:  # large and soft, 12-22 grey levels at its centre
    radius = p.rng.uniform(0.03, 0.07) * p.side
    depth = p.rng.uniform(12, 22)
    rows, cols, xs, ys = p.around(p.x, p.y, 3 * radius)
    weight = np.exp(-((xs - p.x) ** 2 + (ys - p.y) ** 2) / (2 * radius**2))
    p.img[rows, cols] -= (depth * weight)[..., None] * np.array([1.0, 0.9, 0.7])


def _missing_bolt(p: _Place) -> None:  # the flange's bolt gone (a hole), or the bracket's slot filled
    width, height = p.product.size
    s = p.side
    if p.product.colour:
        sx = p.rng.choice([0.3, 0.7]) * width
        rows = slice(int(height / 2 - 0.22 * height), int(height / 2 + 0.22 * height))
        cols = slice(int(sx - 0.05 * width), int(sx + 0.05 * width))
        p.img[rows, cols] = PAINT + _grain_patch(p, p.img[rows, cols].shape[:2])
    else:
        a = int(p.rng.integers(6)) * math.pi / 3 + 0.2
        bx, by = width / 2 + 0.30 * s * math.cos(a), height / 2 + 0.30 * s * math.sin(a)
        rows, cols, xs, ys = p.around(bx, by, 0.05 * s)
        hole = np.hypot(xs - bx, ys - by) < 0.05 * s
        p.img[rows, cols][hole] = 30


def _chipped_edge(p: _Place) -> None:  # a bite out of the part's edge, showing what is under it
    width, height = p.product.size
    s = p.side
    if p.product.colour:
        ex, ey = p.rng.choice([0.12, 0.88]) * width, p.rng.uniform(0.25, 0.75) * height
        under = np.array([200.0, 196.0, 190.0])
    else:
        a = p.rng.uniform(0, 2 * math.pi)
        ex, ey = width / 2 + 0.42 * s * math.cos(a), height / 2 + 0.42 * s * math.sin(a)
        under = np.array([38.0, 38.0, 38.0])
    radius = p.rng.uniform(0.015, 0.03) * s
    rows, cols, xs, ys = p.around(ex, ey, radius)
    p.img[rows, cols][np.hypot(xs - ex, ys - ey) < radius] = under


def _discoloured(p: _Place) -> None:  # a patch whose hue shifts at about the same brightness
    radius = p.rng.uniform(0.03, 0.05) * p.side
    rows, cols, xs, ys = p.around(p.x, p.y, radius)
    patch = np.hypot(xs - p.x, ys - p.y) < radius
    # Green-blue paint (luma ~95) turned ochre (luma ~95); grey metal heat-tinted: warmer, not brighter.
    shift = PAINT_TO_OCHRE if p.product.colour else np.array([30.0, 0.0, -30.0])
    p.img[rows, cols][patch] += shift


def _grain_patch(p: _Place, shape: tuple[int, ...]) -> F64:
    return p.rng.normal(0, 2.5, (*shape, 1))


PAINT: Final = np.array([40.0, 120.0, 110.0])
PAINT_TO_OCHRE: Final = np.array([110.0, 95.0, 60.0]) - PAINT
_DEFECTS: Final = {
    "particle": _particle,
    "hairline": _hairline,
    "faint-stain": _faint_stain,
    "missing-bolt": _missing_bolt,
    "chipped-edge": _chipped_edge,
    "discoloured": _discoloured,
}


# -- the camera -----------------------------------------------------------------------------------


def _camera(scene: F64, rng: np.random.Generator) -> bytes:
    height, width = scene.shape[:2]
    image = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8))
    angle = math.radians(rng.uniform(-ROTATION_DEG, ROTATION_DEG))
    dx, dy = rng.uniform(-SHIFT_PX, SHIFT_PX, 2)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    cos, sin = math.cos(angle), math.sin(angle)
    data = (
        cos,
        sin,
        cx - cos * (cx + dx) - sin * (cy + dy),
        -sin,
        cos,
        cy + sin * (cx + dx) - cos * (cy + dy),
    )
    corner = tuple(int(c) for c in np.clip(scene[0, 0], 0, 255))  # what lies beyond the frame: the surround
    moved = image.transform(
        image.size, Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR, fillcolor=corner
    )
    moved = moved.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8) * width / 1000))
    pixels = np.asarray(moved, dtype=np.float64)
    xs, ys = _grid((width, height))
    u, v = xs / width - 0.5, ys / height - 0.5
    # A hot spot (quadratic), moving a little from shot to shot, and the lens's vignetting.
    hx, hy = rng.normal(0.1, 0.04), rng.normal(-0.1, 0.04)
    spot = 1 + rng.uniform(0.08, 0.14) * (1 - 2.5 * ((u - hx) ** 2 + (v - hy) ** 2))
    vignette = 1 - rng.uniform(0.18, 0.24) * (u**2 + v**2) * 2
    light = rng.uniform(0.9, 1.1) * spot * vignette
    pixels = pixels * light[..., None] + rng.uniform(-6, 6)
    pixels += rng.normal(0, rng.uniform(1.0, 3.0), pixels.shape)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
        out, format="JPEG", quality=int(rng.integers(70, 95, endpoint=True))
    )
    return out.getvalue()
