"""Evidence images: the deciding boxes outlined on the upright photo, the heat map, and the writer."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import cast

import numpy as np
import pytest
from PIL import Image, ImageDraw

from inspector.analysis import Analysis
from inspector.criteria import Criteria
from inspector.engine import Verdict, evaluate
from inspector.events import ObjectRef
from inspector.evidence import (
    WHOLE_PHOTO,
    Box,
    Evidence,
    _font,
    deciding_boxes,
    layout,
    render,
    whole_photo_note,
)
from inspector.records import ResultRecord

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
REF = ObjectRef(bucket="b", key="images/line-1/w1.jpg", raw_key="images/line-1/w1.jpg", etag="abc", size=10)
CRITERIA = Criteria.from_document(
    {"require": [{"label": "Widget"}], "forbid": [{"label": "Scratch", "minConfidence": 80}]}
)


def analysis(scratch: float) -> Analysis:
    box = {"Left": 0.5, "Top": 0.25, "Width": 0.25, "Height": 0.25}
    return Analysis.from_detect_labels(
        {
            "Labels": [
                {
                    "Name": "Widget",
                    "Confidence": 99.0,
                    "Instances": [
                        {
                            "Confidence": 99,
                            "BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 1.0, "Height": 1.0},
                        }
                    ],
                },
                {
                    "Name": "Scratch",
                    "Confidence": scratch,
                    "Instances": [{"Confidence": scratch, "BoundingBox": box}],
                },
            ]
        }
    )


def record(scratch: float) -> ResultRecord:
    found = analysis(scratch)
    return ResultRecord.judged(REF, found, evaluate(found, CRITERIA), inspected_at=NOW)


def photo(size: tuple[int, int] = (400, 200), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 200)).save(out, format="JPEG", quality=95, **save)
    return out.getvalue()


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    red, green, blue = cast("tuple[int, int, int]", image.getpixel(xy))
    return red, green, blue


def is_red(colour: tuple[int, int, int]) -> bool:
    red, green, blue = colour
    return red > 180 and green < 90 and blue < 90


def outlined(image: Image.Image, y: int) -> bool:
    """A red outline just left of x = 200 (the box's left edge; the outline sits a few px outside)."""
    return any(is_red(pixel(image, (x, y))) for x in range(192, 201))


def test_only_the_labels_behind_failing_rules_are_outlined() -> None:
    boxes = deciding_boxes(record(95.0))
    assert [Box(0.5, 0.25, 0.25, 0.25, "Scratch 95")] == boxes


def test_a_pass_has_no_deciding_boxes() -> None:
    assert Verdict.PASS is record(10.0).verdict
    assert [] == deciding_boxes(record(10.0))


def test_the_box_is_drawn_where_its_ratios_say() -> None:
    image = Image.open(io.BytesIO(render(photo(), [Box(0.5, 0.25, 0.25, 0.25, "Scratch 95")])))
    assert (400, 200) == image.size
    rgb = image.convert("RGB")
    assert outlined(rgb, 100)  # the left edge, half-way down the box
    assert not is_red(pixel(rgb, (250, 75)))  # inside the box: the photo shows through
    assert not is_red(pixel(rgb, (100, 150)))


def test_boxes_are_in_the_upright_frame_of_a_photo_stored_sideways() -> None:
    # Stored 200 wide and 400 tall, with Orientation 6 (turn 90 degrees clockwise to view): upright it is
    # 400 x 200, the frame Rekognition's boxes are in for a JPEG.
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = photo((200, 400), exif=exif.tobytes())
    image = Image.open(io.BytesIO(render(stored, [Box(0.5, 0.25, 0.25, 0.25, "x")]))).convert("RGB")
    assert (400, 200) == image.size
    assert outlined(image, 100)


def test_the_heat_map_reddens_where_it_is_high() -> None:
    heat = np.zeros((50, 100), dtype=np.float32)
    heat[:, 50:] = 4.0
    image = Image.open(io.BytesIO(render(photo(), [], heat=heat))).convert("RGB")
    left, right = pixel(image, (100, 150)), pixel(image, (300, 150))
    assert right[0] > left[0] + 80
    assert right[2] < left[2]


class MemoryStore:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads: list[str] = []

    def read_whole(self, key: str, *, etag: str) -> bytes:
        self.reads.append(key)
        return self.objects[key]

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        assert "image/jpeg" == content_type
        self.objects[key] = data


def test_a_fail_gets_its_evidence_written_and_named() -> None:
    store = MemoryStore({REF.key: photo()})
    key = Evidence(store).write(REF.key, "results/line-1/w1.jpg.evidence.jpg", "abc", record(95.0))
    assert "results/line-1/w1.jpg.evidence.jpg" == key
    assert store.objects[key].startswith(b"\xff\xd8\xff")


def test_a_pass_gets_no_evidence_and_its_photo_is_not_read() -> None:
    store = MemoryStore({REF.key: photo()})
    assert Evidence(store).write(REF.key, "results/e.jpg", "abc", record(10.0)) is None
    assert [] == store.reads


def test_a_photo_that_cannot_be_drawn_gets_no_evidence_but_keeps_its_verdict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore({REF.key: b"\xff\xd8\xff not really"})
    assert Evidence(store).write(REF.key, "results/e.jpg", "abc", record(95.0)) is None
    assert "results/e.jpg" not in store.objects
    assert "no evidence image" in caplog.text


LONG_REASON = (
    "FAIL: forbid[0] Anomaly: expected confidence < 50 (review from 35), observed 99.8 -> violated; and a "
    "second reason long enough to need a third line on a small photo"
)
SIZES = [(80, 80), (320, 240), (640, 480), (1280, 960), (2000, 300), (120, 900)]
EDGE_BOXES = [
    Box(0.0, 0.0, 0.1, 0.1, "Anomaly 99"),  # top-left corner: no room above
    Box(0.95, 0.5, 0.05, 0.1, "Anomaly 98"),  # against the right edge: its caption would run off
    Box(0.4, 0.97, 0.2, 0.03, "Scratch 97"),  # at the bottom
]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("verdict", [Verdict.FAIL, Verdict.REVIEW])
def test_every_caption_lies_inside_the_image_whatever_its_size(
    size: tuple[int, int], verdict: Verdict
) -> None:
    image = Image.open(io.BytesIO(render(photo(size), EDGE_BOXES, verdict=verdict, caption=LONG_REASON)))
    band, texts = layout(_photo_size(size), EDGE_BOXES, verdict=verdict, caption=LONG_REASON)
    width, height = image.size
    assert width == _photo_size(size)[0]
    assert height == band + _photo_size(size)[1]  # the caption is above the photo, hiding none of it
    draw = ImageDraw.Draw(Image.new("RGB", image.size))
    for text in texts:
        left, top, right, bottom = text.box
        assert 0 <= left < right <= width, text
        assert 0 <= top < bottom <= height, text
        glyph_left, glyph_top, glyph_right, glyph_bottom = draw.textbbox(
            text.xy, text.text, font=_font(text.size)
        )
        assert left <= glyph_left, text
        assert top <= glyph_top, text
        assert glyph_right <= right, text
        assert glyph_bottom <= bottom, text
    assert "".join(t.text for t in texts if t.box[1] < band).replace(" ", "").startswith("FAIL:forbid[0]")
    labels = [t for t in texts if t.box[1] >= band]
    assert 3 == len(labels)


def _photo_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size the photo is drawn at: at most MAX_SIDE a side, its proportions kept."""
    width, height = size
    scale = min(1.0, 1280 / max(width, height))
    return round(width * scale), round(height * scale)


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [(Verdict.FAIL, (255, 255, 255)), (Verdict.REVIEW, (0, 0, 0))],
    ids=["white-on-red", "black-on-orange"],
)
def test_a_region_caption_is_written_in_the_colour_that_reads_on_its_band(
    verdict: Verdict, expected: tuple[int, int, int]
) -> None:
    _, texts = layout((320, 240), [Box(0.3, 0.3, 0.2, 0.2, "Anomaly 99")], verdict=verdict)
    (label,) = texts
    assert expected == label.fill
    assert label.background != label.fill


def test_a_whole_photo_reason_says_that_nothing_is_outlined() -> None:
    # A colour REVIEW has no region: the evidence must not pretend to show where a defect is.
    assert WHOLE_PHOTO == whole_photo_note([], None)
    assert whole_photo_note([Box(0.1, 0.1, 0.1, 0.1, "x")], None) is None
    assert whole_photo_note([], np.zeros((2, 2), dtype=np.float32)) is None
    caption = "REVIEW: colors[0].minPercent blue"
    whole = Image.open(io.BytesIO(render(photo((320, 240)), [], verdict=Verdict.REVIEW, caption=caption)))
    region = render(
        photo((320, 240)), [Box(0.1, 0.1, 0.1, 0.1, "x")], verdict=Verdict.REVIEW, caption=caption
    )
    band, _ = layout((320, 240), [], verdict=Verdict.REVIEW, caption=caption, outlined=WHOLE_PHOTO)
    assert 240 + band == whole.size[1]  # the note's lines are in the band
    assert whole.size[1] > Image.open(io.BytesIO(region)).size[1]
