"""Telling image formats apart by their first bytes, and cut-short files by their last, before paying for
recognition."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import NamedTuple

from inspector.constants import REKOGNITION_MIN_IMAGE_SIDE_PX
from inspector.errors import ImageRejected

SNIFF_BYTES = 32  # enough for every signature below and for a PNG's dimensions (IHDR ends at byte 24)
# The first read: every signature, a PNG's size, and a JPEG's frame size when its frame header (SOF) lies
# this early, as in a JPEG without EXIF (Pillow's SOF ends at byte 167). A camera's EXIF block puts the SOF
# further on: then the size is left to the detector, as before.
HEAD_BYTES = 176
# The second read, of the file's last bytes: a PNG ends with its 12-byte IEND chunk, a JPEG with its
# end-of-image marker (FF D9). Together, 192 bytes of a ~200 KB image.
TAIL_BYTES = 16
# Only when those last bytes neither end the image nor are padding: a wider look for the marker followed
# by a trailer (cameras append data after a JPEG's EOI: Samsung's SEFH/SEFT block, a motion photo's MP4).
TAIL_WIDE_BYTES = 64 * 1024
PNG_IEND = b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC: nothing of a PNG follows it
JPEG_EOI = b"\xff\xd9"
# Trailers known to follow a JPEG's EOI in files straight from cameras and phones.
JPEG_TRAILERS = (b"SEFT", b"SEFH", b"ftyp", b"moov", b"mdat")
# JPEG frame headers (SOF0-SOF15 but DHT C4, JPG C8 and DAC CC) carry the image's height and width.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}

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


class Sniffed(NamedTuple):
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
            size = jpeg_frame_size(head) if name == "JPEG" else None
            return Sniffed(name, *size) if size else Sniffed(name)
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return Sniffed("text")
    return Sniffed(None)


def _jpeg_segments(head: bytes) -> Iterator[tuple[int, int]]:
    """(offset, marker) of each marker segment from the start of image, as far as `head` shows them.

    Each segment is `FF xx` and, but for the markers without one, a 2-byte length; a segment may run past
    `head` (its length is read, not its body). Stops at a byte that is not a marker where one belongs, at
    the first scan (SOS, yielded), or where `head` ends: then yields (offset, -1) with the offset reached."""
    i = 2
    while i + 4 <= len(head):
        if head[i] != 0xFF:
            return  # not a marker where one belongs
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        yield i, marker
        if marker == 0xDA:  # start of scan
            return
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", head[i + 2 : i + 4])
        i += 2 + length
    yield i, -1


def jpeg_frame_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header (SOF), when it lies within `head`; else None (also when
    the first scan (SOS) comes first or the walk meets a byte that is not a marker: then the detector
    judges the size)."""
    for i, marker in _jpeg_segments(head):
        if marker in _SOF_MARKERS:
            if i + 9 > len(head):
                return None
            height, width = struct.unpack(">HH", head[i + 5 : i + 9])
            return (width, height) if height else None  # height 0: given later by a DNL marker
    return None


def jpeg_header_end(head: bytes) -> int:
    """The file offset up to which a JPEG is known, from `head`, to hold only header segments.

    The segments are walked as far as their lengths can be read in `head` (a segment may end beyond it: an
    EXIF block with its thumbnail usually does), up to the first scan (SOS). No end-of-image marker before
    this offset can end the image: an EXIF thumbnail's own EOI lies there. Returns 2 (just past SOI) when
    nothing more can be read."""
    end = 2
    for end, _ in _jpeg_segments(head):  # noqa: B007 - the last offset reached is the answer
        pass
    return end


def require_end(
    fmt: str | None,
    tail: bytes,
    *,
    wider: Callable[[], bytes] | None = None,
    size: int | None = None,
    header_end: int = 0,
) -> None:
    """Refuse a JPEG or PNG cut short: its last bytes (`tail`) must end the image.

    A PNG must hold its IEND chunk, a JPEG its end-of-image marker; bytes after them (a camera's trailer,
    padding) are fine. When `tail` is inconclusive, `wider()` gives more of the file's end to look in.
    For a JPEG, `size` (the file's length in bytes) and `header_end` (from `jpeg_header_end` on its first
    bytes) place those bytes in the file: a marker or trailer inside the header segments (an EXIF
    thumbnail's EOI) does not count, and a file no longer than its header segments is cut short.
    Raises `ImageRejected`."""
    if fmt == "PNG":
        if PNG_IEND in tail or (wider is not None and PNG_IEND in wider()):
            return
        raise ImageRejected("truncated PNG: the file does not end with its IEND chunk (cut short?)")
    if fmt == "JPEG":
        cut = ImageRejected(
            "truncated JPEG: the file does not end with its end-of-image marker (FF D9) (cut short?)"
        )
        if size is not None and size <= header_end:
            raise ImageRejected(
                f"truncated JPEG: the file ends at byte {size:,}, inside its header segments, which run "
                f"to byte {header_end:,} (cut short?)"
            )

        def past_header(found: bytes) -> bytes:
            """`found`, the file's last bytes, without what lies inside the header segments."""
            if size is None:
                return found
            return found[max(0, header_end - (size - len(found))) :]

        tail = past_header(tail)
        if JPEG_EOI in tail or (tail and (not tail.strip(b"\x00") or not tail.strip(b"\xff"))):
            return  # the end-of-image marker, maybe with a few bytes after it; or padding
        if wider is not None:
            more = past_header(wider())
            if JPEG_EOI in more or any(trailer in more for trailer in JPEG_TRAILERS):
                return  # a trailer after the end of the image, as phones and cameras write
        raise cut


def require_image(head: bytes) -> Sniffed:
    """What the first bytes say, provided Rekognition could take it: JPEG or PNG, and no smaller than its
    minimum side when the size can be read there (a PNG's always; a JPEG's when its frame header lies in
    `head`). Raises `ImageRejected` with the reason otherwise."""
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
