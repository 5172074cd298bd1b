"""Evidence images: the photo with the regions that decided a FAIL or REVIEW outlined, and the heat map."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from inspector.analysis import Analysis
from inspector.engine import FAILING, Finding, Outcome, Verdict
from inspector.errors import ImageRejected, TransientError
from inspector.records import ResultRecord

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger("inspector.evidence")

MAX_SIDE: Final = 1280  # px: evidence is for a person's eye, not a copy of the photo
QUALITY: Final = 85
LABEL_RULES: Final = frozenset({"require", "any_of", "forbid", "count"})
_DECIDING: Final = FAILING | {Outcome.UNCERTAIN}
_COLOURS = {Verdict.FAIL: (230, 30, 30), Verdict.REVIEW: (250, 170, 0)}

HeatMap = Callable[[bytes], "npt.NDArray[np.float32] | None"]
HeatMaps = Callable[[str], "HeatMap | None"]  # a line's name -> its detector's heat map, if it has one


@dataclass(frozen=True)
class Box:
    """A region to outline: Rekognition-style ratios of the upright photo, and its caption."""

    left: float
    top: float
    width: float
    height: float
    caption: str


def deciding_boxes(record: ResultRecord) -> list[Box]:
    """The located instances of the labels behind the record's failing or uncertain label rules."""
    return boxes_of(record.analysis, record.findings)


def boxes_of(analysis: Analysis | None, findings: Sequence[Finding]) -> list[Box]:
    """The located instances of the labels behind the failing or uncertain label rules among `findings`."""
    if analysis is None:
        return []
    names = {
        (f.matched or f.subject).casefold()
        for f in findings
        if f.outcome in _DECIDING and f.kind in LABEL_RULES
    }
    boxes = []
    for label in analysis.candidate_labels():
        if not any(label.matches(name) for name in names):
            continue
        for instance in label.instances:
            box = instance.bounding_box
            if box is not None:
                boxes.append(
                    Box(box.left, box.top, box.width, box.height, f"{label.name} {instance.confidence:.0f}")
                )
    return boxes


@dataclass(frozen=True)
class Text:
    """A piece of text drawn on an evidence image: where (its box, in px), what, and in which colours."""

    xy: tuple[int, int]  # where the text's own box starts
    box: tuple[int, int, int, int]  # left, top, right, bottom of its background, inside the image
    text: str
    fill: tuple[int, int, int]
    background: tuple[int, int, int]
    size: int  # the font's, in px


def _font(size: int) -> Any:
    from PIL import ImageFont  # noqa: PLC0415

    try:
        return ImageFont.load_default(size=size)  # Pillow's own scalable font (needs FreeType)
    except (ImportError, OSError):  # a Pillow without FreeType: its bitmap font, one size
        return ImageFont.load_default()


def _wrap(text: str, font: Any, width: int, *, max_lines: int) -> list[str]:
    """`text` in lines no wider than `width` px (words split only when one alone is wider), at most
    `max_lines`, the last one ending in "..." when text was left out."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        rest = word
        while font.getlength(rest) > width:  # a word wider than the image: cut it
            cut = max(1, int(len(rest) * width / font.getlength(rest)))
            lines.append(rest[:cut])
            rest = rest[cut:]
        line = rest
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "...") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "..."]
    return lines


def _readable_on(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `colour` (WCAG relative luminance)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(colour[0]) + 0.7152 * channel(colour[1]) + 0.0722 * channel(colour[2])
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)


CAPTION_MAX_LINES: Final = 4
WHOLE_PHOTO: Final = "Nothing outlined: the rule measures the whole photo (no region was located)."


def whole_photo_note(boxes: Sequence[Box], heat: object | None) -> str | None:
    """What an evidence image says when it shows no region: a colour share or a quality bound is the whole
    photo's, and the image must not look as if it showed where a defect is."""
    return WHOLE_PHOTO if not boxes and heat is None else None


def layout(
    size: tuple[int, int],
    boxes: Sequence[Box],
    *,
    verdict: Verdict = Verdict.FAIL,
    caption: str = "",
    outlined: str | None = None,
) -> tuple[int, list[Text]]:
    """Where an evidence image's texts go: (the height of the caption band above the photo, every text).

    Every text's box lies inside the image (the band plus the photo, `size` wide): the caption is wrapped to
    the width in a font scaled to it (at most `CAPTION_MAX_LINES` lines, then cut with "..."), and each
    region's caption sits on a band of its outline's colour, above the region when there is room, else
    inside it, moved left as far as needed to end inside the image. `outlined`, when given, is a second
    caption line saying what the picture does (or does not) show.
    """
    width, height = size
    colour = _COLOURS.get(verdict, (230, 30, 30))
    size_px = max(9, min(22, width // 32))
    font = _font(size_px)
    pad = max(2, size_px // 4)
    texts: list[Text] = []
    band = 0
    if caption or outlined:
        wrapped = _wrap(caption, font, width - 2 * pad, max_lines=CAPTION_MAX_LINES) if caption else []
        if outlined:
            wrapped += _wrap(outlined, font, width - 2 * pad, max_lines=2)
        step = sum(font.getmetrics()) + pad  # ascent and descent: a line's full height
        band = pad + step * len(wrapped) + pad
        for i, line in enumerate(wrapped):
            y = pad // 2 + i * step
            box = (0, y, width, y + step if i < len(wrapped) - 1 else band)
            texts.append(Text((pad, y + pad // 2), box, line, (255, 255, 255), (0, 0, 0), size_px))
    label_font_px = max(9, min(16, width // 40))
    label_font = _font(label_font_px)
    stroke = max(3, round(min(width, height) / 150))
    for region in boxes:
        text = _wrap(region.caption, label_font, width - 4, max_lines=1)[0] if region.caption else ""
        if not text:
            continue
        text_w = int(label_font.getlength(text)) + 4
        text_h = sum(label_font.getmetrics()) + 2
        x0 = region.left * width - stroke - 1
        y0 = band + region.top * height - stroke - 1
        left = int(min(max(0, x0), width - text_w))
        top = int(y0 - text_h) if y0 - text_h >= band else int(max(band, y0))  # above, else just inside
        top = min(top, band + height - text_h)
        texts.append(Text((left + 2, top + 1), (left, top, left + text_w, top + text_h), text,
                          _readable_on(colour), colour, label_font_px))  # fmt: skip
    return band, texts


def render(
    data: bytes,
    boxes: Sequence[Box],
    *,
    verdict: Verdict = Verdict.FAIL,
    heat: npt.NDArray[np.float32] | None = None,
    caption: str = "",
) -> bytes:
    """A JPEG of the photo, upright, at most `MAX_SIDE` px a side, with `boxes` outlined and `heat` laid over,
    under a band holding `caption`.

    Parameters
    ----------
    data : bytes
        The photo (JPEG or PNG). The EXIF orientation is applied (`ImageOps.exif_transpose`), as
        Rekognition does for JPEGs before giving boxes, and as the reference detector does.
    boxes : sequence of Box
        Ratios of the upright photo's width and height.
    heat : (h, w) float32, optional
        A defect ratio image in the upright photo's frame, any resolution (stretched to the photo):
        1 is the pixel threshold; shown in red from 0.5, opaque from 3.
    caption : str
        Printed in a band above the photo (the verdict's main reason), wrapped to its width. With a caption
        and nothing to outline or shade, the band also says so: the rule judged the whole photo.

    Raises
    ------
    ImageRejected
        The photo cannot be decoded.
    """
    from PIL import Image, ImageDraw  # noqa: PLC0415 - Pillow only when evidence is drawn

    from inspector.detectors.local import open_rgb  # noqa: PLC0415

    photo = open_rgb(data, orient=True).image
    photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
    if heat is not None:
        import numpy as np  # noqa: PLC0415

        strength = np.clip((heat - 0.5) / 2.5, 0.0, 1.0)
        alpha = Image.fromarray((strength * 160).astype(np.uint8), mode="L").resize(
            photo.size, Image.Resampling.BILINEAR
        )
        red = Image.new("RGB", photo.size, (255, 0, 0))
        photo = Image.composite(red, photo, alpha)
    width, height = photo.size
    outlined = whole_photo_note(boxes, heat) if caption else None
    band, texts = layout(photo.size, boxes, verdict=verdict, caption=caption, outlined=outlined)
    if band:
        canvas = Image.new("RGB", (width, band + height), (0, 0, 0))
        canvas.paste(photo, (0, band))
        photo = canvas
    draw = ImageDraw.Draw(photo)
    colour = _COLOURS.get(verdict, (230, 30, 30))
    line = max(3, round(min(width, height) / 150))
    for box in boxes:
        x0, y0 = box.left * width, band + box.top * height
        x1, y1 = (box.left + box.width) * width, band + (box.top + box.height) * height
        pad = line + 1  # a tiny region still gets a visible outline around it
        draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), outline=colour, width=line)
    caption_px = max(9, min(22, width // 32))
    label_px = max(9, min(16, width // 40))
    for text in texts:
        draw.rectangle(text.box, fill=text.background)
        font = _font(
            caption_px if text.box[0] == 0 and text.box[2] == width and text.box[1] < band else label_px
        )
        draw.text(text.xy, text.text, fill=text.fill, font=font)
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=QUALITY, subsampling=0)  # 4:4:4: a thin red line stays red
    return out.getvalue()


def main_caption(verdict: Verdict, findings: Sequence[Finding]) -> str:
    """The caption of an evidence image: the verdict and its main reason (the first failing finding, else
    the first uncertain one)."""
    reasons = [f for f in findings if f.outcome in FAILING] or [
        f for f in findings if f.outcome is Outcome.UNCERTAIN
    ]
    return f"{verdict}: " + (reasons[0].describe() if reasons else "")


class EvidenceStore(Protocol):
    def read_whole(self, key: str, *, etag: str) -> bytes: ...
    def put(self, key: str, data: bytes, *, content_type: str) -> None: ...


class Evidence:
    """Writes the evidence image of a FAIL or REVIEW record beside it, and says where.

    `heat` gives the heat map of a photo (the reference detector's), or None; `heat_for` gives it per line
    (the record's `line` names it), so each photo's heat map comes from its own line's model. The write is
    idempotent
    (the same photo and record give the same image at the same key), so a retried inspection rewrites it
    harmlessly. A photo that cannot be drawn (corrupt past what the detector read) gets no evidence and a
    warning; S3 failures are raised (`TransientError`) for the inspection to be retried.
    """

    def __init__(
        self, store: EvidenceStore, *, heat: HeatMap | None = None, heat_for: HeatMaps | None = None
    ) -> None:
        self.store = store
        self.heat = heat
        self.heat_for = heat_for

    def write(self, key: str, evidence_key: str, etag: str, record: ResultRecord) -> str | None:
        if record.verdict not in (Verdict.FAIL, Verdict.REVIEW):
            return None
        data = self.store.read_whole(key, etag=etag)
        caption = main_caption(record.verdict, record.findings)
        try:
            heat_map = self.heat_for(record.line) if self.heat_for is not None else self.heat
            heat = heat_map(data) if heat_map is not None else None
            image = render(data, deciding_boxes(record), verdict=record.verdict, heat=heat, caption=caption)
        except TransientError:
            raise
        except (ImageRejected, Exception) as exc:  # noqa: BLE001 - evidence must never cost the verdict
            log.warning("no evidence image", extra={"key": key, "error": f"{type(exc).__name__}: {exc}"})
            return None
        self.store.put(evidence_key, image, content_type="image/jpeg")
        return evidence_key


def reference_heat(detector: Any) -> HeatMap:
    """The heat map of a photo from a `ReferenceDetector` (scored again: the pipeline keeps no pixels)."""

    def heat(data: bytes) -> npt.NDArray[np.float32] | None:
        _, scored = detector.examine(data, properties=False)
        result: npt.NDArray[np.float32] = scored.heat_map()
        return result

    return heat
