"""The local detector: image properties measured with Pillow from images generated in memory."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import warnings
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image, ImageDraw, ImageFilter

from inspector.analysis import ImageProperties
from inspector.criteria import DetectionRequest
from inspector.detectors import LabelDetector
from inspector.detectors.local import (
    MAX_IMAGE_BYTES,
    MODEL_VERSION,
    LocalDetector,
    css_color,
    measure,
    simplified_color,
)
from inspector.errors import ImageRejected, TransientError
from inspector.events import ObjectRef

BLUE = (40, 80, 180)  # "#2850b4"
QUALITY_ONLY = DetectionRequest(labels=(), min_confidence=None, image_properties=True)


# --- images, made in memory -------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def solid(color: Any, size: tuple[int, int] = (120, 100), mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def halves(left: tuple[int, int, int], right: tuple[int, int, int], size=(200, 100)) -> Image.Image:
    img = solid(right, size)
    img.paste(left, (0, 0, size[0] // 2, size[1]))
    return img


def checkerboard(size=(256, 192), cell=16) -> Image.Image:
    img = solid("white", size)
    draw = ImageDraw.Draw(img)
    for y in range(0, size[1], cell):
        for x in range(0, size[0], cell):
            if (x // cell + y // cell) % 2 == 0:
                draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill="black")
    return img


def photo_like(size=(320, 240), seed=7) -> Image.Image:
    """A crisp picture of a sky-like gradient with coloured shapes and thin lines over it."""
    rnd = random.Random(seed)  # noqa: S311 - a reproducible picture, not a secret
    img = Image.blend(
        Image.linear_gradient("L").resize(size).convert("RGB"), solid((90, 140, 200), size), 0.6
    )
    draw = ImageDraw.Draw(img)
    for _ in range(25):
        x, y, w, h = (
            rnd.randrange(size[0]),
            rnd.randrange(size[1]),
            rnd.randrange(10, 80),
            rnd.randrange(10, 80),
        )
        shape = draw.ellipse if rnd.random() < 0.5 else draw.rectangle
        shape((x, y, x + w, y + h), fill=tuple(rnd.randrange(256) for _ in range(3)))
    for _ in range(15):
        ends = [(rnd.randrange(size[0]), rnd.randrange(size[1])) for _ in range(2)]
        draw.line(ends, fill=tuple(rnd.randrange(256) for _ in range(3)), width=rnd.randrange(1, 3))
    return img


def quality_of(img: Image.Image, fmt: str = "PNG", **options: Any) -> Any:
    quality = measure(encode(img, fmt, **options)).quality
    assert quality is not None
    return quality


def rejection(data: bytes) -> str:
    with pytest.raises(ImageRejected) as caught:
        measure(data)
    return caught.value.reason


# --- quality ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("color", "expected"),
    [((255, 255, 255), 100.0), ((0, 0, 0), 0.0), ((128, 128, 128), 50.2), (BLUE, 31.0)],
    ids=["white", "black", "mid-grey", "blue-by-its-luma"],
)
def test_brightness_is_the_mean_luma_on_0_to_100(color, expected):
    assert expected == pytest.approx(quality_of(solid(color)).brightness, abs=0.1)


def test_a_white_image_is_brighter_than_a_black_one():
    assert quality_of(solid("white")).brightness > quality_of(solid("black")).brightness


def test_a_uniform_image_has_neither_contrast_nor_sharpness():
    quality = quality_of(solid((128, 128, 128)))

    assert (0.0, 0.0) == (quality.contrast, quality.sharpness)


@pytest.mark.parametrize(
    ("img", "expected"),
    [(checkerboard(), 100.0), (halves((0, 0, 0), (255, 255, 255)), 100.0), (solid("white"), 0.0)],
    ids=["checkerboard", "half-black-half-white", "uniform"],
)
def test_contrast_is_the_spread_of_luma_with_a_black_and_white_split_at_100(img, expected):
    assert expected == pytest.approx(quality_of(img).contrast, abs=0.1)


@pytest.mark.parametrize("img", [checkerboard(), photo_like()], ids=["checkerboard", "photo-like"])
def test_a_crisp_image_is_sharper_than_its_blurred_copy(img):
    crisp = quality_of(img).sharpness
    blurred = quality_of(img.filter(ImageFilter.GaussianBlur(4))).sharpness

    assert crisp > 90
    assert blurred < 10


# The calibration of SHARPNESS_SCALE (500). Laplacian variances of these images: checkerboard 16988,
# blur(1) 1008, blur(4) 19; photo-like 2279, blur(1) 46, blur(4) 1.9.
@pytest.mark.parametrize(
    ("img", "radius", "low", "high"),
    [
        (checkerboard(), 0, 99.9, 100.0),
        (checkerboard(), 1, 80.0, 92.0),
        (checkerboard(), 4, 0.0, 8.0),
        (photo_like(), 0, 95.0, 100.0),
        (photo_like(), 1, 4.0, 15.0),
        (photo_like(), 4, 0.0, 2.0),
    ],
    ids=["checker-crisp", "checker-blur1", "checker-blur4", "photo-crisp", "photo-blur1", "photo-blur4"],
)
def test_sharpness_calibration_holds(img, radius, low, high):
    if radius:
        img = img.filter(ImageFilter.GaussianBlur(radius))

    assert low <= quality_of(img).sharpness <= high


def test_sharpness_is_measured_at_a_bounded_size_so_a_large_upload_stays_fast():
    big = checkerboard(size=(2400, 1800), cell=150)

    assert quality_of(big).sharpness > 90


# --- dominant colours -------------------------------------------------------------------------------


def test_a_half_blue_half_white_image_has_blue_and_white_dominant_colours_at_half_each():
    colors = measure(encode(halves(BLUE, (255, 255, 255)))).dominant_colors

    assert [
        ("blue", "#2850b4", 40, 80, 180, "darkslateblue"),
        ("white", "#ffffff", 255, 255, 255, "white"),
    ] == sorted((c.simplified_color, c.hex_code, c.red, c.green, c.blue, c.css_color) for c in colors)
    assert [50.0, 50.0] == [pytest.approx(c.pixel_percent, abs=1.0) for c in colors]


def test_dominant_colours_are_ranked_by_pixel_percent_and_sum_to_100():
    img = solid("white", (200, 100))
    img.paste((200, 30, 30), (0, 0, 120, 100))  # 60 % red
    img.paste((30, 150, 60), (120, 0, 150, 100))  # 15 % green, 25 % white

    colors = measure(encode(img)).dominant_colors

    assert ["red", "white", "green"] == [c.simplified_color for c in colors]
    assert [60.0, 25.0, 15.0] == [pytest.approx(c.pixel_percent, abs=1.0) for c in colors]


def test_at_most_max_colors_are_reported_and_they_still_cover_every_pixel():
    colors = measure(encode(photo_like()), max_colors=5).dominant_colors

    percents = [c.pixel_percent or 0.0 for c in colors]
    assert 5 >= len(colors)
    assert sorted(percents, reverse=True) == percents
    assert 100.0 == pytest.approx(sum(percents))


@pytest.mark.parametrize(
    ("rgb", "expected"),
    [
        ((0, 0, 255), "blue"),
        ((255, 255, 255), "white"),
        ((128, 128, 128), "gray"),
        ((47, 79, 79), "darkslategray"),
        ((0, 255, 255), "aqua"),
        ((250, 128, 114), "salmon"),
        ((250, 250, 250), "snow"),
    ],
    ids=["blue", "white", "gray", "darkslategray", "aqua-before-cyan", "salmon", "near-white"],
)
def test_css_color_is_the_nearest_named_css_colour(rgb, expected):
    assert expected == css_color(*rgb)


@pytest.mark.parametrize(
    ("rgb", "expected"),
    [
        ((0, 0, 0), "black"),
        ((255, 255, 255), "white"),
        ((128, 128, 128), "grey"),
        ((47, 79, 79), "grey"),  # Rekognition calls darkslategrey "grey"
        ((85, 107, 47), "green"),  # and darkolivegreen "green"
        (BLUE, "blue"),
        ((255, 0, 0), "red"),
        ((255, 165, 0), "orange"),
        ((255, 255, 0), "yellow"),
        ((128, 0, 128), "purple"),
        ((255, 105, 180), "pink"),
        ((139, 69, 19), "brown"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_simplified_color_names_the_plain_colour(rgb, expected):
    assert expected == simplified_color(*rgb)


# --- formats and modes ------------------------------------------------------------------------------


def sixteen_bit_grey() -> bytes:
    img = Image.new("I;16", (100, 100))
    img.paste(128 * 257, (0, 0, 100, 100))
    return encode(img)


@pytest.mark.parametrize(
    ("data", "brightness"),
    [
        (encode(solid((0, 0, 0, 0), mode="RGBA")), 100.0),
        (encode(solid((0, 0, 0, 255), mode="RGBA")), 0.0),
        (encode(solid((0, 0), mode="LA")), 100.0),
        (encode(solid((128, 128, 128)).convert("P")), 50.2),
        (encode(solid(0, mode="P"), transparency=0), 100.0),
        (encode(solid(128, mode="L"), "JPEG"), 50.2),
        (encode(solid((0, 0, 0, 0), mode="CMYK"), "JPEG"), 100.0),
        (sixteen_bit_grey(), 50.2),
        (encode(solid(1, mode="1")), 100.0),
    ],
    ids=[
        "png-transparent-on-white",
        "png-opaque-alpha",
        "png-grey-with-alpha",
        "png-palette",
        "png-palette-transparent",
        "jpeg-greyscale",
        "jpeg-cmyk",
        "png-16-bit-rescaled-not-clipped",
        "png-1-bit",
    ],
)
def test_every_jpeg_and_png_mode_is_read_as_rgb(data, brightness):
    quality = measure(data).quality

    assert quality is not None
    assert brightness == pytest.approx(quality.brightness, abs=0.6)


def test_a_palette_png_keeps_its_colours():
    data = encode(halves(BLUE, (255, 255, 255)).convert("P", palette=Image.Palette.ADAPTIVE))

    assert {"#2850b4", "#ffffff"} == {c.hex_code for c in measure(data).dominant_colors}


# --- rejections ---------------------------------------------------------------------------------------


def truncated(fmt: str) -> bytes:
    data = encode(photo_like(), fmt)
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "image is empty (0 bytes)"),
        (encode(solid("red"), "GIF"), "not a JPEG or PNG image (GIF)"),
        (encode(solid("red"), "BMP"), "not a JPEG or PNG image (BMP)"),
        (encode(solid("red"), "WEBP"), "not a JPEG or PNG image (WebP)"),
        (b"hello, this is not an image", "not a JPEG or PNG image (unknown format, starts with b'hello, t')"),
        (encode(solid("red", (40, 200))), "image is 40x200 px; the minimum is 80 px per side"),
        (encode(solid("red", (200, 79)), "JPEG"), "image is 200x79 px; the minimum is 80 px per side"),
    ],
    ids=["empty", "gif", "bmp", "webp", "text", "too-narrow", "too-short-jpeg"],
)
def test_what_rekognition_would_refuse_is_rejected_with_the_reason(data, reason):
    assert reason == rejection(data)


@pytest.mark.parametrize(
    "data",
    [
        truncated("JPEG"),
        truncated("PNG"),
        b"\xff\xd8\xff" + b"garbage" * 50,
        b"\x89PNG\r\n\x1a\n" + b"x" * 50,
    ],
    ids=["truncated-jpeg", "truncated-png", "jpeg-signature-then-garbage", "png-signature-then-garbage"],
)
def test_a_corrupt_or_truncated_image_is_rejected(data):
    assert rejection(data).startswith("corrupt or truncated image: ")


def test_a_truncated_image_is_named_so():
    assert "corrupt or truncated image: PNG data cannot be decoded (image file is truncated)" == rejection(
        truncated("PNG")
    )


def test_a_signature_followed_by_garbage_is_said_to_have_an_unreadable_header():
    assert "corrupt or truncated image: its JPEG header cannot be read" == rejection(
        b"\xff\xd8\xff" + b"x" * 50
    )


def test_an_image_over_15_mb_is_rejected_before_decoding():
    data = b"\xff\xd8\xff" + bytes(MAX_IMAGE_BYTES)

    assert f"image is {MAX_IMAGE_BYTES + 3} bytes; the maximum is 15728640 bytes (15 MB)" == rejection(data)


@pytest.mark.parametrize(
    ("limit", "warning_action"),
    [(1_000, "default"), (6_000, "error"), (6_000, "ignore")],
    ids=["over-twice-the-limit", "over-the-limit-warning-raised", "over-the-limit-warning-ignored"],
)
def test_a_decompression_bomb_is_rejected(monkeypatch, limit, warning_action):
    data = encode(solid("red", (100, 100)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)

    with warnings.catch_warnings():
        warnings.simplefilter(warning_action, Image.DecompressionBombWarning)
        reason = rejection(data)

    assert reason.startswith("image is too large to decode safely (")


# --- the detector -------------------------------------------------------------------------------------


class FakeS3:
    """Answers get_object with chosen bytes and records each call."""

    def __init__(self, data: bytes = b"", *, error: Exception | None = None, length: int | None = None):
        self.data, self.error, self.length = data, error, length
        self.calls: list[dict[str, Any]] = []

    def get_object(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.error is not None:
            raise self.error
        response: dict[str, Any] = {"Body": io.BytesIO(self.data)}
        if self.length is not None:
            response["ContentLength"] = self.length
        return response


def object_ref(key: str = "images/widget 1.png", version_id: str | None = None) -> ObjectRef:
    return ObjectRef(bucket="qc-bucket", key=key, raw_key=key.replace(" ", "+"), version_id=version_id)


def test_the_local_detector_is_a_label_detector():
    assert isinstance(LocalDetector(), LabelDetector)
    assert "local" == LocalDetector.name


def test_detect_on_bytes_reports_properties_and_no_labels():
    analysis = LocalDetector().detect(encode(halves(BLUE, (255, 255, 255))), QUALITY_ONLY)

    assert () == analysis.labels
    assert () == analysis.custom_labels
    assert "local-1" == MODEL_VERSION == analysis.model_version
    assert analysis.image_properties == measure(encode(halves(BLUE, (255, 255, 255))))


def test_detect_on_an_s3_object_downloads_it_with_the_injected_client():
    s3 = FakeS3(encode(solid("white")))

    analysis = LocalDetector(s3_client=s3).detect(object_ref(), QUALITY_ONLY)

    assert [{"Bucket": "qc-bucket", "Key": "images/widget 1.png"}] == s3.calls
    assert analysis.quality is not None
    assert 100.0 == pytest.approx(analysis.quality.brightness)


def test_detect_reads_the_version_the_event_announced():
    s3 = FakeS3(encode(solid("white")))

    LocalDetector(s3_client=s3).detect(object_ref(version_id="v2"), QUALITY_ONLY)

    assert [{"Bucket": "qc-bucket", "Key": "images/widget 1.png", "VersionId": "v2"}] == s3.calls


def test_detect_rejects_an_object_over_15_mb_without_reading_it():
    s3 = FakeS3(b"never read", length=MAX_IMAGE_BYTES + 1)

    with pytest.raises(ImageRejected, match="maximum is 15728640 bytes"):
        LocalDetector(s3_client=s3).detect(object_ref(), QUALITY_ONLY)


@pytest.mark.parametrize("code", ["NoSuchKey", "SlowDown", "InternalError"])
def test_an_s3_failure_is_transient_as_in_the_other_aws_adapters(code):
    error = ClientError({"Error": {"Code": code, "Message": "oops"}}, "GetObject")

    with pytest.raises(
        TransientError, match=f"S3 GetObject s3://qc-bucket/images/widget 1.png failed: {code}"
    ):
        LocalDetector(s3_client=FakeS3(error=error)).detect(object_ref(), QUALITY_ONLY)


def test_a_rejected_s3_object_is_rejected_not_retried():
    with pytest.raises(ImageRejected, match="GIF"):
        LocalDetector(s3_client=FakeS3(encode(solid("red"), "GIF"))).detect(object_ref(), QUALITY_ONLY)


def test_properties_are_measured_even_when_the_request_does_not_ask_for_them():
    labels_only = DetectionRequest(labels=("Widget",), min_confidence=80.0, image_properties=False)

    analysis = LocalDetector().detect(encode(solid("white")), labels_only)

    assert () == analysis.labels
    assert isinstance(analysis.image_properties, ImageProperties)


def test_max_colors_limits_the_dominant_colours():
    analysis = LocalDetector(max_colors=1).detect(encode(halves(BLUE, (255, 255, 255))), QUALITY_ONLY)

    assert analysis.image_properties is not None
    assert [100.0] == [c.pixel_percent for c in analysis.image_properties.dominant_colors]


@pytest.mark.parametrize("max_colors", [0, 257], ids=["none", "more-than-a-palette"])
def test_an_impossible_max_colors_is_refused(max_colors):
    with pytest.raises(ValueError, match="max_colors must be between 1 and 256"):
        LocalDetector(max_colors=max_colors)


def test_inspector_does_not_import_pillow_and_the_local_detector_does_not_import_boto3():
    probe = (
        "import json, sys, inspector; pil = 'PIL' in sys.modules; "
        "import inspector.detectors.local as m; m.LocalDetector(); "
        "print(json.dumps([pil, sorted(n for n in sys.modules if n.split('.')[0] in ('boto3', 'botocore'))]))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert [False, []] == json.loads(result.stdout)
