"""A detector that needs no AWS: Rekognition-like image properties measured from the pixels with Pillow.

It reports no labels (it cannot honestly compute them) and measures what DetectLabels returns under
`ImageProperties`: `Quality` (Brightness, Sharpness, Contrast, each 0-100) and `DominantColors`. Rekognition
does not disclose its algorithms; these are our own approximations, close in spirit and scale, not in value:

- Brightness: the mean luma, scaled so black is 0 and white is 100. Luma is Pillow's "L" mode, the
  ITU-R BT.601 weighting L = 0.299 R + 0.587 G + 0.114 B, measured on the full image.
- Contrast: RMS contrast, the standard deviation of luma, divided by 127.5 (the largest possible, an image
  half black and half white) so that split scores 100 and a uniform image 0.
- Sharpness: the variance `v` of the 4-neighbour Laplacian of luma, mapped to 0-100 by the saturating curve
  `100 * (1 - exp(-v / SHARPNESS_SCALE))`, SHARPNESS_SCALE = 500. It is measured after downscaling the
  longer side to at most `SHARPNESS_SIDE` (512) px, one pixel of border left out, so that it judges the
  picture at a fixed viewing size: a large photo is not called soft for blur finer than that. The scale was
  calibrated on generated images (tests/unit/test_local_detector.py): a crisp picture of shapes and lines
  (v ~ 2300) scores 99, its GaussianBlur(1) copy (v ~ 46) 9 and GaussianBlur(4) under 1; a uniform image 0.
- Dominant colours: the image is sampled (nearest neighbour, so no blended colours appear at edges) down to
  at most `COLOR_SAMPLE_SIDE` px a side and quantized by median cut into at most `max_colors` colours
  (Rekognition's default is 10), reported by pixel percent, highest first; the percents sum to 100.
  HexCode is "#rrggbb" in lower case as Rekognition writes it. CSSColor is the nearest CSS named colour
  (Pillow's `ImageColor.colormap`, CSS Color 4; plain RGB distance; of two spellings the alphabetically first,
  e.g. "gray"). SimplifiedColor comes from thresholds on hue, saturation, value and chroma onto 11 names:
  red, orange, yellow, green, blue, purple, pink, brown, black, white, grey. Rekognition documents "one of 12
  simplified color names" without listing them; the lower-case names and "grey" match real responses seen.

Foreground and Background properties are not computed (that needs segmentation).

Images are accepted as Rekognition accepts them: JPEG or PNG only, at most 15 MB, at least 80 px per side;
anything else, an empty, corrupt or truncated file, or a decompression bomb (more pixels than Pillow's
`Image.MAX_IMAGE_PIXELS`) raises `ImageRejected`. Transparent pixels are composited on white, as the
image would show on a white page; CMYK, palette, greyscale and 16-bit images are converted to 8-bit RGB
(16-bit greyscale is rescaled, not clipped). Colour profiles and EXIF orientation are ignored: none of
the measures depends on them but the colours, which are taken as stored.
"""

from __future__ import annotations

import colorsys
import io
import math
import struct
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, cast

from PIL import Image, ImageColor, ImageFilter, ImageMath, ImageOps, ImageStat, UnidentifiedImageError

from inspector.analysis import Analysis, DominantColor, ImageProperties, ImageQuality
from inspector.constants import REKOGNITION_MAX_S3_OBJECT_BYTES, REKOGNITION_MIN_IMAGE_SIDE_PX
from inspector.criteria import DetectionRequest
from inspector.detectors import ImageSource
from inspector.errors import ImageRejected
from inspector.events import ObjectRef

MODEL_VERSION: Final = "local-1"
DEFAULT_MAX_COLORS: Final = 10
COLOR_SAMPLE_SIDE: Final = 128
SHARPNESS_SIDE: Final = 512
SHARPNESS_SCALE: Final = 500.0  # Laplacian variance at which sharpness reaches 63 (1 - 1/e)
MAX_IMAGE_BYTES: Final = REKOGNITION_MAX_S3_OBJECT_BYTES
MIN_SIDE_PX: Final = REKOGNITION_MIN_IMAGE_SIDE_PX

_LUMA_SPREAD_MAX = 127.5  # the standard deviation of an image half 0 and half 255
_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=1024)
_LAPLACIAN_OFFSET = 1024  # Pillow clips kernel output at 0 even in "I" mode: values run from -1020 to 1020
_16_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
# Only to name what was sent instead; nothing but JPEG and PNG is ever decoded.
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
)
# Saturated colours by hue: (upper bound in degrees, name); shades are adjusted in `simplified_color`.
_HUE_BANDS: tuple[tuple[float, str], ...] = (
    (15, "red"),
    (45, "orange"),
    (70, "yellow"),
    (165, "green"),
    (255, "blue"),
    (290, "purple"),
    (345, "pink"),
    (360, "red"),
)
# Decoder failures Pillow raises for corrupt or truncated data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


class LocalDetector:
    """Measures image properties from the pixels with Pillow; needs no AWS and reports no labels.

    Criteria that `require` a label can never pass with this detector and `forbid` rules always pass:
    use it for quality rules, or to try the pipeline offline. Properties are measured even when the
    request does not ask for them (`request.image_properties` is False): the image is decoded anyway to be
    checked, they cost little more, and they are recorded with the verdict. S3 objects are downloaded with
    `s3_client`, or a client made on first use (boto3 is imported only then).
    """

    name = "local"

    def __init__(
        self,
        s3_client: Any | None = None,
        *,
        endpoint_url: str | None = None,
        max_colors: int = DEFAULT_MAX_COLORS,
    ) -> None:
        _check_max_colors(max_colors)
        self._s3 = s3_client
        self._endpoint_url = endpoint_url
        self.max_colors = max_colors

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        data = self.fetch(image)
        return Analysis(
            image_properties=measure(data, max_colors=self.max_colors), model_version=MODEL_VERSION
        )

    def fetch(self, image: ImageSource) -> bytes:
        """The image's bytes: as given, or downloaded (refused with `ImageRejected` when over 15 MB)."""
        return image if isinstance(image, bytes) else self._download(image)

    def _client(self) -> Any:
        if self._s3 is None:
            from inspector.aws import make_client  # noqa: PLC0415 - imports boto3; only when S3 is used

            self._s3 = make_client("s3", endpoint_url=self._endpoint_url)
        return self._s3

    def _download(self, ref: ObjectRef) -> bytes:
        params = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        try:
            response = self._client().get_object(**params)
            size = response.get("ContentLength")
            if isinstance(size, int) and size > MAX_IMAGE_BYTES:
                raise ImageRejected(_too_large(size))
            body: bytes = response["Body"].read()
        except ImageRejected:
            raise
        except Exception as exc:  # any other failure is sorted as the AWS adapters sort theirs
            from inspector.aws import translate  # noqa: PLC0415 - imports botocore; only on failure

            raise translate(exc, f"S3 GetObject {ref.uri}") from exc
        return body


def measure(data: bytes, *, max_colors: int = DEFAULT_MAX_COLORS) -> ImageProperties:
    """Brightness, sharpness, contrast and dominant colours of a JPEG or PNG image (see the module doc).

    Raises `ImageRejected` for anything Rekognition would refuse: not JPEG/PNG, empty, corrupt or
    truncated, over 15 MB, under 80 px on a side, or too many pixels to decode safely.
    """
    _check_max_colors(max_colors)
    return properties(open_rgb(data).image, max_colors=max_colors)


def properties(rgb: Image.Image, *, max_colors: int = DEFAULT_MAX_COLORS) -> ImageProperties:
    """Brightness, sharpness, contrast and dominant colours of an RGB image already decoded."""
    _check_max_colors(max_colors)
    luma = rgb.convert("L")
    stats = ImageStat.Stat(luma)
    quality = ImageQuality(
        brightness=_clamp(100.0 * stats.mean[0] / 255.0),
        sharpness=sharpness(luma),
        contrast=_clamp(100.0 * stats.stddev[0] / _LUMA_SPREAD_MAX),
    )
    return ImageProperties(quality=quality, dominant_colors=dominant_colors(rgb, max_colors))


def sharpness(luma: Image.Image) -> float:
    """Sharpness 0-100 of a luma ("L") image: the saturating curve of its Laplacian's variance."""
    variance = laplacian_variance(luma)
    return _clamp(100.0 * (1.0 - math.exp(-variance / SHARPNESS_SCALE)))


def laplacian_variance(luma: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian of a luma image, downscaled to `SHARPNESS_SIDE` px at most."""
    if max(luma.size) > SHARPNESS_SIDE:
        luma = luma.copy()
        luma.thumbnail((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.Resampling.LANCZOS)
    width, height = luma.size
    if width < 3 or height < 3:
        return 0.0
    # Pillow leaves the one-pixel border unfiltered: drop it.
    edges = luma.convert("I").filter(_LAPLACIAN).crop((1, 1, width - 1, height - 1))
    laplacian = ImageMath.lambda_eval(lambda a: a["x"] - _LAPLACIAN_OFFSET, x=edges.convert("F"))
    squared = ImageMath.lambda_eval(lambda a: a["x"] * a["x"], x=laplacian)
    mean, mean_square = _mean(laplacian), _mean(squared)
    return max(0.0, mean_square - mean * mean)


def dominant_colors(rgb: Image.Image, max_colors: int = DEFAULT_MAX_COLORS) -> tuple[DominantColor, ...]:
    """Up to `max_colors` colours of an RGB image by median cut, highest pixel percent first."""
    _check_max_colors(max_colors)
    sample = rgb
    if max(rgb.size) > COLOR_SAMPLE_SIDE:
        scale = COLOR_SAMPLE_SIDE / max(rgb.size)
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        sample = rgb.resize(size, Image.Resampling.NEAREST)
    quantized = sample.quantize(colors=max_colors, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    counts: dict[tuple[int, int, int], int] = {}
    for count, index in quantized.getcolors(maxcolors=256) or []:
        if not isinstance(index, int):  # a "P" image's pixels are palette indexes
            continue
        red, green, blue = palette[3 * index : 3 * index + 3]
        counts[(red, green, blue)] = counts.get((red, green, blue), 0) + count
    total = sample.width * sample.height
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(_describe(color, 100.0 * count / total) for color, count in ranked[:max_colors])


def simplified_color(red: int, green: int, blue: int) -> str:
    """One of 11 plain colour names, from hue, saturation, value and chroma thresholds (our approximation)."""
    hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
    chroma = (max(red, green, blue) - min(red, green, blue)) / 255
    if value < 0.2:
        return "black"
    if chroma < 0.15:  # too little colour to name a hue: dark slate is grey, lavender white
        return "white" if value > 0.85 else "grey"
    name = next(band for bound, band in _HUE_BANDS if hue * 360 < bound)
    if name == "red" and saturation < 0.5 and value > 0.7:
        name = "pink"
    elif name == "orange" and (value < 0.65 or saturation < 0.45):
        name = "white" if value > 0.9 else "brown"  # wheat and bisque are off-white; tan and sienna brown
    elif name == "yellow" and value < 0.45:
        name = "brown"
    elif name == "pink" and value < 0.55:
        name = "purple"
    return name


def css_color(red: int, green: int, blue: int) -> str:
    """The nearest CSS named colour by RGB distance; of equal candidates the alphabetically first."""
    return min(
        _css_palette(),
        key=lambda entry: (entry[1][0] - red) ** 2 + (entry[1][1] - green) ** 2 + (entry[1][2] - blue) ** 2,
    )[0]


@cache
def _css_palette() -> tuple[tuple[str, tuple[int, int, int]], ...]:
    entries = []
    for name in sorted(ImageColor.colormap):
        red, green, blue = ImageColor.getrgb(name)[:3]
        entries.append((name, (red, green, blue)))
    return tuple(entries)


def _describe(color: tuple[int, int, int], percent: float) -> DominantColor:
    red, green, blue = color
    return DominantColor(
        red=red,
        green=green,
        blue=blue,
        hex_code=f"#{red:02x}{green:02x}{blue:02x}",
        css_color=css_color(red, green, blue),
        simplified_color=simplified_color(red, green, blue),
        pixel_percent=percent,
    )


@dataclass(frozen=True)
class Opened:
    """A decoded image: 8-bit RGB, and the size of the full image (after EXIF orientation when applied)."""

    image: Image.Image
    size: tuple[int, int]  # (width, height) px at full resolution


def open_rgb(data: bytes, *, reduce: int = 1, orient: bool = False) -> Opened:
    """Decode a JPEG or PNG image into 8-bit RGB, or raise `ImageRejected` saying why not.

    `reduce` (1, 2, 4 or 8) divides each side, rounding up: a JPEG is decoded at that scale directly
    (Pillow's `draft`, DCT scaling, much faster than a full decode), a PNG is decoded and box-averaged.
    `orient` applies the EXIF orientation (`ImageOps.exif_transpose`) so the image is as a viewer shows it.
    """
    if reduce not in (1, 2, 4, 8):
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    if not data:
        raise ImageRejected("image is empty (0 bytes)")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRejected(_too_large(len(data)))
    kind = _sniff(data)
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as img:
            width, height = img.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:  # reached only where Pillow merely warns
                raise ImageRejected(_bomb(f"{width}x{height} px is more than {limit} pixels"))
            if min(width, height) < MIN_SIDE_PX:
                raise ImageRejected(f"image is {width}x{height} px; the minimum is {MIN_SIDE_PX} px per side")
            target = (-(-width // reduce), -(-height // reduce))
            if reduce > 1 and kind == "JPEG":
                img.draft("RGB", target)
            img.load()  # decodes everything now, so truncation shows here and not later
            transposed = ImageOps.exif_transpose(img) if orient else img
            rgb = _to_rgb(transposed)
            if orient and transposed is not img:
                width, height = transposed.size if reduce == 1 else _swap_if_turned(img, (width, height))
                target = (-(-width // reduce), -(-height // reduce))
            if rgb.size != target:
                rgb = rgb.resize(target, Image.Resampling.BOX)
            return Opened(rgb, (width, height))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(_bomb(str(exc))) from None
    except UnidentifiedImageError:
        raise ImageRejected(f"corrupt or truncated image: its {kind} header cannot be read") from None
    except _DECODE_ERRORS as exc:
        raise ImageRejected(f"corrupt or truncated image: {kind} data cannot be decoded ({exc})") from None


def _swap_if_turned(img: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    # EXIF orientations 5 to 8 turn the image a quarter: width and height trade places.
    orientation = img.getexif().get(0x0112, 1)
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _sniff(data: bytes) -> str:
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    for signature, other in _OTHER_SIGNATURES:
        if data.startswith(signature):
            raise ImageRejected(f"not a JPEG or PNG image ({other})")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        raise ImageRejected("not a JPEG or PNG image (WebP)")
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        raise ImageRejected("not a JPEG or PNG image (HEIF/AVIF)")
    raise ImageRejected(f"not a JPEG or PNG image (unknown format, starts with {data[:8]!r})")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in _16_BIT_MODES:
        # Pillow's "I;16" -> "L" conversion clips at 255; scale 0-65535 down to 0-255 instead.
        img = img.convert("I").point(lambda v: v / 257).convert("L")
    has_alpha = img.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _mean(image: Image.Image) -> float:
    # A box filter down to one pixel averages every pixel, in C; ImageStat would bin float images.
    return cast("float", image.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)))


def _clamp(score: float) -> float:
    return min(100.0, max(0.0, score))


def _too_large(size: int) -> str:
    return f"image is {size} bytes; the maximum is {MAX_IMAGE_BYTES} bytes ({MAX_IMAGE_BYTES >> 20} MB)"


def _bomb(detail: str) -> str:
    return f"image is too large to decode safely ({detail}); resize it before uploading"


def _check_max_colors(max_colors: int) -> None:
    if not 1 <= max_colors <= 256:
        raise ValueError(f"max_colors must be between 1 and 256, got {max_colors}")
