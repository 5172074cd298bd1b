"""Evidence images: the photo with the regions that decided a FAIL or REVIEW outlined, and the heat map."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from inspector.analysis import Analysis
from inspector.engine import FAILING, Outcome, Verdict
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
    analysis: Analysis | None = record.analysis
    if analysis is None:
        return []
    names = {
        (f.matched or f.subject).casefold()
        for f in record.findings
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


def render(
    data: bytes,
    boxes: Sequence[Box],
    *,
    verdict: Verdict = Verdict.FAIL,
    heat: npt.NDArray[np.float32] | None = None,
    caption: str = "",
) -> bytes:
    """A JPEG of the photo, upright, at most `MAX_SIDE` px a side, with `boxes` outlined and `heat` laid over.

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
        Printed in a band at the top (the verdict's main reason).

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
    draw = ImageDraw.Draw(photo)
    colour = _COLOURS.get(verdict, (230, 30, 30))
    width, height = photo.size
    line = max(3, round(min(width, height) / 150))
    for box in boxes:
        x0, y0 = box.left * width, box.top * height
        x1, y1 = (box.left + box.width) * width, (box.top + box.height) * height
        pad = line + 1  # a tiny region still gets a visible outline around it
        draw.rectangle((x0 - pad, y0 - pad, x1 + pad, y1 + pad), outline=colour, width=line)
        draw.text((x0 - pad, max(0, y0 - pad - 12)), box.caption, fill=colour)
    if caption:
        draw.rectangle((0, 0, width, 16), fill=(0, 0, 0))
        draw.text((4, 2), caption[:160], fill=(255, 255, 255))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=QUALITY, subsampling=0)  # 4:4:4: a thin red line stays red
    return out.getvalue()


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
        reasons = [f for f in record.findings if f.outcome in FAILING] or [
            f for f in record.findings if f.outcome is Outcome.UNCERTAIN
        ]
        caption = f"{record.verdict}: " + (reasons[0].describe() if reasons else "")
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
