"""A seeded generator of widget photos from a fixed camera: good ones, and defects of seven kinds.

The scene is a painted metal plate on a textured conveyor: four screws, a hole, a label, an indicator.
`photograph` adds what a fixed camera really varies from shot to shot: the part's position (shift of a
few px and rotation of about a degree), lighting (gain, offset and a gradient), focus, sensor noise and
JPEG compression. Defects are drawn into the scene before the camera: scratch, missing screw, stain,
chipped corner, foreign particle, crack and dent.

Everything is drawn from `numpy.random.default_rng(seed)`: the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

DEFECTS: Final = (
    "scratch",
    "missing-screw",
    "stain",
    "chipped-corner",
    "foreign-particle",
    "crack",
    "dent",
)
SCENE_SEED: Final = 20261129  # the product itself (texture, layout) never changes between photos
BACKGROUND: Final = (112, 114, 118)
PLATE: Final = (52, 96, 168)


@dataclass(frozen=True)
class Camera:
    """How much a fixed camera's photos vary (each drawn uniformly within +-, or within the range)."""

    shift_px: float = 4.0  # at 1,000 px wide; scaled with the image
    rotation_deg: float = 1.0
    gain: tuple[float, float] = (0.9, 1.1)
    offset: float = 8.0  # grey levels
    gradient: float = 0.06  # share of brightness that changes from one side to the other
    noise: tuple[float, float] = (1.0, 3.0)  # sensor noise standard deviation, grey levels
    blur: tuple[float, float] = (0.3, 0.9)  # Gaussian blur radius, px at 1,000 px wide
    jpeg_quality: tuple[int, int] = (80, 95)


def scene(
    size: tuple[int, int], *, defect: str | None = None, rng: np.random.Generator | None = None
) -> Image.Image:
    """The widget in its reference pose, RGB, with `defect` drawn in (placed by `rng`)."""
    if defect is not None and defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; one of {', '.join(DEFECTS)}")
    width, height = size
    s = min(width, height)
    fixed = np.random.default_rng(SCENE_SEED)
    # Conveyor: a static texture (the same in every photo).
    texture = fixed.normal(0, 6, (height // 4 + 1, width // 4 + 1))
    base = np.clip(np.kron(texture, np.ones((4, 4)))[:height, :width] + BACKGROUND[0], 0, 255)
    img = Image.fromarray(np.stack([base, base + 2, base + 6], axis=-1).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    plate = _plate_box(size)
    radius = int(0.04 * s)
    draw.rounded_rectangle(plate, radius=radius, fill=PLATE, outline=(30, 50, 90), width=max(1, s // 300))
    # Brushed finish: faint horizontal streaks, fixed.
    x0, y0, x1, y1 = plate
    for _ in range(int(0.15 * s)):
        y = int(fixed.uniform(y0 + radius, y1 - radius))
        xa = int(fixed.uniform(x0 + radius, x1 - radius))
        length = int(fixed.uniform(0.05, 0.2) * s)
        tone = int(fixed.uniform(-10, 10))
        draw.line((xa, y, min(xa + length, x1 - radius), y), fill=(52 + tone, 96 + tone, 168 + tone))
    # Label with text-like bars.
    lx0, ly0 = x0 + 0.30 * (x1 - x0), y0 + 0.12 * (y1 - y0)
    lx1, ly1 = x0 + 0.70 * (x1 - x0), y0 + 0.32 * (y1 - y0)
    draw.rectangle((lx0, ly0, lx1, ly1), fill=(232, 232, 224))
    bar_h = (ly1 - ly0) / 7
    for row in range(3):
        by = ly0 + (1 + 2 * row) * bar_h
        bx = lx0 + 0.06 * (lx1 - lx0)
        end = lx1 - fixed.uniform(0.06, 0.4) * (lx1 - lx0)
        while bx < end:
            w = fixed.uniform(0.02, 0.08) * (lx1 - lx0)
            draw.rectangle((bx, by, min(bx + w, end), by + bar_h * 0.8), fill=(40, 40, 48))
            bx += w + 0.02 * (lx1 - lx0)
    # Central hole and indicator.
    cx, cy = (x0 + x1) / 2, y0 + 0.62 * (y1 - y0)
    hole = 0.07 * s
    draw.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=(160, 165, 170))
    draw.ellipse((cx - 0.7 * hole, cy - 0.7 * hole, cx + 0.7 * hole, cy + 0.7 * hole), fill=(18, 18, 20))
    led = 0.02 * s
    lx, ly = x0 + 0.85 * (x1 - x0), y0 + 0.85 * (y1 - y0)
    draw.ellipse((lx - led, ly - led, lx + led, ly + led), fill=(60, 200, 90))
    screws = _screws(size)
    missing = int(rng.integers(4)) if defect == "missing-screw" and rng is not None else -1
    for i, (sx, sy) in enumerate(screws):
        _screw(draw, sx, sy, 0.035 * s, missing=i == missing)
    if defect is not None and defect != "missing-screw":
        if rng is None:
            raise ValueError("a defect needs an rng to place it")
        _draw_defect(img, defect, rng)
    return img


def photograph(
    image: Image.Image, rng: np.random.Generator, camera: Camera | None = None, *, quality: int | None = None
) -> bytes:
    """A JPEG of the scene as the fixed camera takes it: moved, lit, blurred, noisy and compressed."""
    camera = camera or Camera()
    width, height = image.size
    scale = width / 1000
    angle = math.radians(rng.uniform(-camera.rotation_deg, camera.rotation_deg))
    dx, dy = (rng.uniform(-camera.shift_px, camera.shift_px) * scale for _ in range(2))
    cx, cy = (width - 1) / 2, (height - 1) / 2
    cos, sin = math.cos(angle), math.sin(angle)
    # Output pixel p shows scene point R^-1 (p - c - d) + c.
    data = (
        cos,
        sin,
        cx - cos * (cx + dx) - sin * (cy + dy),
        -sin,
        cos,
        cy + sin * (cx + dx) - cos * (cy + dy),
    )
    moved = image.transform(
        image.size, Image.Transform.AFFINE, data, resample=Image.Resampling.BICUBIC, fillcolor=BACKGROUND
    )
    moved = moved.filter(ImageFilter.GaussianBlur(rng.uniform(*camera.blur) * scale))
    pixels = np.asarray(moved, dtype=np.float32)
    gain = rng.uniform(*camera.gain)
    offset = rng.uniform(-camera.offset, camera.offset)
    direction = rng.uniform(0, 2 * math.pi)
    u = np.linspace(-0.5, 0.5, width)[None, :]
    v = np.linspace(-0.5, 0.5, height)[:, None]
    light = 1 + camera.gradient * (math.cos(direction) * u + math.sin(direction) * v)
    pixels = (pixels * (gain * light)[..., None] + offset).astype(np.float32)
    pixels += rng.normal(0, rng.uniform(*camera.noise), pixels.shape).astype(np.float32)
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=quality or int(rng.integers(*camera.jpeg_quality, endpoint=True)))
    return buffer.getvalue()


def widget(
    seed: int, size: tuple[int, int] = (1000, 750), *, defect: str | None = None, camera: Camera | None = None
) -> bytes:
    """One photo (JPEG bytes): good when `defect` is None; the same arguments give the same bytes."""
    rng = np.random.default_rng(seed)
    return photograph(scene(size, defect=defect, rng=rng), rng, camera)


def _plate_box(size: tuple[int, int]) -> tuple[float, float, float, float]:
    width, height = size
    return (0.1 * width, 0.08 * height, 0.9 * width, 0.92 * height)


def _screws(size: tuple[int, int]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = _plate_box(size)
    inset = 0.07 * min(size)
    return [
        (x0 + inset, y0 + inset),
        (x1 - inset, y0 + inset),
        (x0 + inset, y1 - inset),
        (x1 - inset, y1 - inset),
    ]


def _screw(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, *, missing: bool) -> None:
    if missing:  # the threaded hole shows
        draw.ellipse((x - 0.55 * r, y - 0.55 * r, x + 0.55 * r, y + 0.55 * r), fill=(20, 22, 26))
        return
    draw.ellipse(
        (x - r, y - r, x + r, y + r), fill=(196, 198, 202), outline=(120, 122, 128), width=max(1, int(r / 8))
    )
    slot = max(1, int(r / 5))
    draw.line((x - 0.7 * r, y, x + 0.7 * r, y), fill=(70, 72, 78), width=slot)
    draw.line((x, y - 0.7 * r, x, y + 0.7 * r), fill=(70, 72, 78), width=slot)


@dataclass(frozen=True)
class _Canvas:
    """Where a defect is drawn: the drawing, the plate's box, the image's shorter side, the rng."""

    draw: ImageDraw.ImageDraw
    plate: tuple[float, float, float, float]
    side: float
    rng: np.random.Generator

    def spot(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.plate
        margin = 0.08 * self.side
        return self.rng.uniform(x0 + margin, x1 - margin), self.rng.uniform(y0 + margin, y1 - margin)


def _draw_defect(img: Image.Image, kind: str, rng: np.random.Generator) -> None:
    canvas = _Canvas(ImageDraw.Draw(img, "RGBA"), _plate_box(img.size), min(img.size), rng)
    _DRAWERS[kind](canvas)


def _scratch(c: _Canvas) -> None:
    rng, s = c.rng, c.side
    x, y = c.spot()
    angle = rng.uniform(0, math.pi)
    length = rng.uniform(0.12, 0.3) * s
    points = [
        (
            x + t * length * math.cos(angle) + rng.normal(0, 0.003 * s),
            y + t * length * math.sin(angle) + rng.normal(0, 0.003 * s),
        )
        for t in np.linspace(0, 1, 8)
    ]
    tone = int(rng.integers(150, 220))
    fill = (tone, tone, tone, int(rng.integers(170, 255)))
    c.draw.line(points, fill=fill, width=max(1, round(rng.uniform(0.002, 0.004) * s)))


def _stain(c: _Canvas) -> None:
    rng = c.rng
    x, y = c.spot()
    r = rng.uniform(0.025, 0.05) * c.side
    colour = (int(rng.integers(90, 140)), int(rng.integers(60, 90)), int(rng.integers(20, 50)))
    for _ in range(6):
        ex, ey = x + rng.normal(0, r / 2), y + rng.normal(0, r / 2)
        rx, ry = r * rng.uniform(0.4, 0.9), r * rng.uniform(0.4, 0.9)
        c.draw.ellipse((ex - rx, ey - ry, ex + rx, ey + ry), fill=(*colour, int(rng.integers(40, 80))))


def _chipped_corner(c: _Canvas) -> None:
    rng = c.rng
    x0, y0, x1, y1 = c.plate
    corner = int(rng.integers(4))
    cx = x0 if corner in (0, 2) else x1
    cy = y0 if corner in (0, 1) else y1
    sx = 1 if cx == x0 else -1
    sy = 1 if cy == y0 else -1
    depth = rng.uniform(0.05, 0.09) * c.side
    points = [(cx - sx * 3, cy - sy * 3), (cx + sx * depth * rng.uniform(0.8, 1.4), cy - sy * 3)]
    for t in np.linspace(0.2, 0.8, 4):
        points.append(
            (cx + sx * depth * (1 - t) * rng.uniform(0.7, 1.1), cy + sy * depth * t * rng.uniform(0.7, 1.1))
        )
    points.append((cx - sx * 3, cy + sy * depth * rng.uniform(0.8, 1.4)))
    c.draw.polygon(points, fill=(*BACKGROUND, 255))


def _foreign_particle(c: _Canvas) -> None:
    rng, s = c.rng, c.side
    x, y = c.spot()
    if rng.random() < 0.5:  # a speck of dirt or swarf
        r = rng.uniform(0.006, 0.012) * s
        tone = int(rng.integers(10, 40)) if rng.random() < 0.7 else int(rng.integers(210, 250))
        c.draw.ellipse((x - r, y - r * rng.uniform(0.6, 1), x + r, y + r), fill=(tone, tone, tone, 255))
        return
    points = [(x, y)]  # a hair
    angle = rng.uniform(0, 2 * math.pi)
    for _ in range(12):
        angle += rng.normal(0, 0.3)
        x, y = x + 0.008 * s * math.cos(angle), y + 0.008 * s * math.sin(angle)
        points.append((x, y))
    c.draw.line(points, fill=(20, 16, 14, 255), width=max(1, round(0.002 * s)))


def _crack(c: _Canvas) -> None:
    rng, s = c.rng, c.side
    x, y = c.spot()
    angle = rng.uniform(0, 2 * math.pi)
    points = [(x, y)]
    for _ in range(int(rng.integers(6, 12))):
        angle += rng.normal(0, 0.6)
        step = rng.uniform(0.01, 0.025) * s
        x, y = x + step * math.cos(angle), y + step * math.sin(angle)
        points.append((x, y))
    c.draw.line(points, fill=(14, 20, 34, 255), width=max(1, round(0.0025 * s)))


def _dent(c: _Canvas) -> None:
    rng = c.rng
    x, y = c.spot()
    r = rng.uniform(0.03, 0.05) * c.side
    angle = rng.uniform(0, 2 * math.pi)
    ox, oy = 0.35 * r * math.cos(angle), 0.35 * r * math.sin(angle)
    c.draw.ellipse((x - r, y - r, x + r, y + r), fill=(0, 0, 0, 70))  # the dent's shadowed side
    c.draw.ellipse((x - r + ox, y - r + oy, x + r + ox, y + r + oy), fill=(255, 255, 255, 60))  # lit side


_DRAWERS: dict[str, Callable[[_Canvas], None]] = {
    "scratch": _scratch,
    "stain": _stain,
    "chipped-corner": _chipped_corner,
    "foreign-particle": _foreign_particle,
    "crack": _crack,
    "dent": _dent,
}
