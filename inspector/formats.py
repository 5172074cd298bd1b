"""Telling image formats apart by their first bytes, before paying for recognition."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from inspector.constants import REKOGNITION_MIN_IMAGE_SIDE_PX
from inspector.errors import ImageRejected

SNIFF_BYTES = 32  # enough for every signature below and for a PNG's dimensions (IHDR ends at byte 24)

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"BM", 0, "BMP"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"%PDF", 0, "PDF"),
    (b"PK\x03\x04", 0, "ZIP archive"),
    (b"\x00\x00\x01\x00", 0, "ICO"),
)
_FTYP_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF", b"isom": "MP4"}

SUPPORTED = frozenset({"JPEG", "PNG"})  # what Rekognition accepts


@dataclass(frozen=True)
class Sniffed:
    """The format read off an image's first bytes; width and height when they are that easy to read."""

    format: str | None  # None: no known signature
    width: int | None = None
    height: int | None = None

    @property
    def supported(self) -> bool:
        return self.format in SUPPORTED

    def describe(self) -> str:
        return self.format or "unknown content"


def sniff(head: bytes) -> Sniffed:
    """Identify an image format from its first bytes (at least `SNIFF_BYTES` of them when available)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("WebP")
    if head[4:8] == b"ftyp":
        return Sniffed(_FTYP_BRANDS.get(head[8:12], "ISO media"))
    for signature, offset, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if name == "BMP" and head[6:10] != b"\x00\x00\x00\x00":
                continue  # a BMP header's reserved bytes are zero; text starting "BM" is not a BMP
            if name == "PNG" and len(head) >= 24 and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return Sniffed(name, width, height)
            return Sniffed(name)
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return Sniffed("text")
    return Sniffed(None)


def require_image(head: bytes) -> Sniffed:
    """What the first bytes say, provided Rekognition could take it: JPEG or PNG, and a PNG no smaller than
    its minimum side. Raises `ImageRejected` with the reason otherwise."""
    sniffed = sniff(head)
    if not sniffed.supported:
        raise ImageRejected(f"not a JPEG or PNG image ({sniffed.describe()})")
    width, height = sniffed.width, sniffed.height
    if width is not None and height is not None and min(width, height) < REKOGNITION_MIN_IMAGE_SIDE_PX:
        raise ImageRejected(
            f"image is {width}x{height} px; "
            f"Rekognition needs at least {REKOGNITION_MIN_IMAGE_SIDE_PX} px per side"
        )
    return sniffed
