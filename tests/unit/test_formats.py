"""`sniff`: an image's format (and a PNG's size) from its first bytes, before paying for recognition."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from inspector.commands.analyze import read_image
from inspector.errors import ImageRejected
from inspector.formats import (
    HEAD_BYTES,
    SNIFF_BYTES,
    SUPPORTED,
    TAIL_WIDE_BYTES,
    Sniffed,
    jpeg_frame_size,
    jpeg_header_end,
    require_end,
    require_image,
    sniff,
)


def pillow_head(size: tuple[int, int], kind: str) -> bytes:
    """The first `SNIFF_BYTES` of a real image file that Pillow writes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 80, 180)).save(buffer, kind)
    return buffer.getvalue()[:SNIFF_BYTES]


# An ISO base media file begins with a box: 4 bytes of size, "ftyp", then the major brand.
def ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x1cftyp" + brand + b"\x00\x00\x00\x00mif1miaf"


@pytest.mark.parametrize(
    ("head", "expected", "supported"),
    [
        (pillow_head((640, 480), "JPEG"), "JPEG", True),
        (b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00", "JPEG", True),
        (pillow_head((640, 480), "PNG"), "PNG", True),
        (b"GIF87a\x40\x01\xf0\x00", "GIF", False),
        (b"GIF89a\x40\x01\xf0\x00", "GIF", False),
        (pillow_head((64, 64), "BMP"), "BMP", False),
        (pillow_head((64, 64), "TIFF"), "TIFF", False),
        (b"II*\x00\x08\x00\x00\x00", "TIFF", False),
        (b"MM\x00*\x00\x00\x00\x08", "TIFF", False),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "WebP", False),
        (ftyp(b"heic"), "HEIC", False),
        (ftyp(b"heix"), "HEIC", False),
        (ftyp(b"mif1"), "HEIF", False),
        (ftyp(b"avif"), "AVIF", False),
        (ftyp(b"isom"), "MP4", False),
        (ftyp(b"qt  "), "ISO media", False),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF", False),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP archive", False),
        (b"\x00\x00\x01\x00\x01\x00\x10\x10", "ICO", False),
        (b"widget,line,verdict\r\nw1.jpg,3,PASS\n", "text", False),
        (b"<svg xmlns='http://www.w3.org/2000/svg'>\t", "text", False),
    ],
    ids=[
        "jpeg-pillow",
        "jpeg-exif",
        "png",
        "gif87a",
        "gif89a",
        "bmp",
        "tiff-pillow",
        "tiff-little-endian",
        "tiff-big-endian",
        "webp",
        "heic",
        "heic-heix",
        "heif",
        "avif",
        "mp4",
        "other-iso-media",
        "pdf",
        "zip",
        "ico",
        "csv-text",
        "svg-text",
    ],
)
def test_each_known_signature_is_named_and_only_jpeg_and_png_are_supported(
    head: bytes, expected: str, supported: bool
) -> None:
    sniffed = sniff(head)

    assert expected == sniffed.format
    assert supported == sniffed.supported
    assert expected == sniffed.describe()


@pytest.mark.parametrize(
    "size",
    [(79, 200), (640, 480), (1, 1), (200, 79), (70000, 1)],
    ids=["narrow", "vga", "one-pixel", "flat", "wider-than-16-bits"],
)
def test_a_png_gives_its_width_and_height_from_the_ihdr_chunk(size: tuple[int, int]) -> None:
    width, height = size

    assert Sniffed("PNG", width, height) == sniff(pillow_head(size, "PNG"))


def test_a_png_with_a_palette_and_other_options_still_gives_its_size() -> None:
    buffer = io.BytesIO()
    Image.new("P", (300, 81)).save(buffer, "PNG", optimize=True, dpi=(300, 300))

    assert Sniffed("PNG", 300, 81) == sniff(buffer.getvalue()[:SNIFF_BYTES])


def test_a_whole_png_file_is_sniffed_like_its_first_bytes() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480)).save(buffer, "PNG")

    assert Sniffed("PNG", 640, 480) == sniff(buffer.getvalue())


@pytest.mark.parametrize(
    "head",
    [
        pillow_head((640, 480), "PNG")[:20],
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x04iCCP\x00\x00\x00\x10\x00\x00\x00\x10",
    ],
    ids=["truncated-ihdr", "signature-only", "first-chunk-not-ihdr"],
)
def test_a_png_whose_size_cannot_be_read_is_still_a_supported_png(head: bytes) -> None:
    assert Sniffed("PNG", None, None) == sniff(head)


def test_the_sizes_of_formats_other_than_png_are_not_read() -> None:
    sniffed = sniff(pillow_head((79, 200), "JPEG"))

    assert (None, None) == (sniffed.width, sniffed.height)


@pytest.mark.parametrize(
    "head",
    [
        b"",
        bytes(range(0x80, 0xA0)),
        hashlib.sha256(b"widget-0042").digest(),
        b"\x00" * SNIFF_BYTES,
        "widget über alles\n".encode(),
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
    ],
    ids=["empty", "high-bytes", "hash-bytes", "zeros", "non-ascii-text", "riff-not-webp"],
)
def test_content_without_a_known_signature_is_unknown_and_unsupported(head: bytes) -> None:
    sniffed = sniff(head)

    assert None is sniffed.format
    assert False is sniffed.supported
    assert "unknown content" == sniffed.describe()


def test_jpeg_and_png_are_exactly_what_rekognition_accepts() -> None:
    assert frozenset({"JPEG", "PNG"}) == SUPPORTED


def test_sniff_bytes_cover_a_png_header_up_to_its_height() -> None:
    assert SNIFF_BYTES >= 24


def test_text_that_happens_to_start_with_bm_is_text_not_a_bmp() -> None:
    assert "text" == sniff(b"BMW widget line 3, shift B, crate 12 of 40").describe()
    bmp = io.BytesIO()
    Image.new("RGB", (100, 100)).save(bmp, "BMP")
    assert "BMP" == sniff(bmp.getvalue()[:SNIFF_BYTES]).describe()


# --- the tail and the JPEG frame size (issue 11) ----------------------------------------------------------


def _jpeg(size: tuple[int, int]) -> bytes:
    import io  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415

    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 200)).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize("size", [(120, 90), (80, 80), (79, 300), (1, 1)])
def test_a_jpeg_frame_size_is_read_from_its_first_176_bytes(size: tuple[int, int]):
    assert size == jpeg_frame_size(_jpeg(size)[:HEAD_BYTES])


def test_a_frame_header_beyond_the_first_read_is_not_guessed():
    data = _jpeg((60, 60))
    exif = b"\xff\xe1" + (402).to_bytes(2, "big") + bytes(400)

    assert None is jpeg_frame_size((data[:2] + exif + data[2:])[:HEAD_BYTES])


def test_a_jpeg_under_80_px_is_rejected_from_its_first_bytes():
    with pytest.raises(ImageRejected, match="image is 60x79 px; Rekognition needs at least 80 px per side"):
        require_image(_jpeg((60, 79))[:HEAD_BYTES])


CUT = b"\x8a\x12\xff\x00\x44" * 3  # scan data: every FF stuffed with 00
PNG_END = b"IEND\xaeB`\x82"


@pytest.mark.parametrize(
    ("fmt", "tail", "wider", "passes"),
    [
        pytest.param("JPEG", b"\x12\x34\xff\xd9", None, True, id="jpeg ends with EOI"),
        pytest.param("JPEG", b"\xff\xd9" + bytes(14), None, True, id="EOI then padding"),
        pytest.param("JPEG", bytes(16), None, True, id="zero padding"),
        pytest.param("JPEG", b"\xff" * 16, None, True, id="ff padding"),
        pytest.param("JPEG", CUT, None, False, id="scan data cut short"),
        pytest.param("JPEG", CUT, b"...\xff\xd9SEFH..SEFT", True, id="samsung trailer"),
        pytest.param("JPEG", CUT, b"\x00\x00\x00\x18ftypmp42", True, id="mp4 trailer"),
        pytest.param("JPEG", CUT, b"\x8a\x12\xff\x00" * 100, False, id="wider says cut"),
        pytest.param("PNG", b"\x00\x00\x00\x00IEND\xaeB`\x82", None, True, id="png ends with IEND"),
        pytest.param("PNG", b"IDATxxxxxxxxxxxx", None, False, id="png cut short"),
        pytest.param("PNG", b"notes after iend", PNG_END + b"notes after iend", True, id="bytes after IEND"),
    ],
)
def test_the_tail_check(fmt: str, tail: bytes, wider: bytes | None, passes: bool):
    def check() -> None:
        require_end(fmt, tail, wider=(lambda: wider) if wider is not None else None)

    if passes:
        check()
    else:
        with pytest.raises(ImageRejected, match=f"truncated {fmt}"):
            check()


def _with_exif_thumbnail(image: bytes, thumbnail: bytes) -> bytes:
    """`image` with an APP1 (EXIF) segment after its SOI holding `thumbnail`, a whole JPEG, as cameras do."""
    payload = b"Exif\x00\x00" + b"II*\x00\x08\x00\x00\x00" + thumbnail
    return image[:2] + b"\xff\xe1" + (2 + len(payload)).to_bytes(2, "big") + payload + image[2:]


def _noisy_jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("L", size, hashlib.shake_256(b"scan").digest(size[0] * size[1])).save(buffer, "JPEG")
    return buffer.getvalue()


def test_an_exif_thumbnails_end_marker_does_not_pass_a_file_cut_short_in_its_scan() -> None:
    # The thumbnail's own FF D9 lies inside the header segments: only an EOI after them ends the image.
    whole = _with_exif_thumbnail(_noisy_jpeg((200, 150)), _noisy_jpeg((16, 12)))
    assert len(whole) < TAIL_WIDE_BYTES  # the wider look reads the whole file, thumbnail included
    header_end = jpeg_header_end(whole[:HEAD_BYTES])
    assert whole.index(b"\xff\xd9") < header_end < len(whole)  # the thumbnail's EOI is before it
    require_end("JPEG", whole[-16:], wider=lambda: whole, size=len(whole), header_end=header_end)
    cut = whole[: (header_end + len(whole)) // 2]
    with pytest.raises(ImageRejected, match="truncated JPEG"):
        require_end("JPEG", cut[-16:], wider=lambda: cut, size=len(cut), header_end=header_end)
    inside = whole[: header_end - 5]  # cut inside the EXIF block, just after the thumbnail
    with pytest.raises(ImageRejected, match="inside its header segments"):
        require_end("JPEG", inside[-16:], wider=lambda: inside, size=len(inside), header_end=header_end)


def test_the_header_walk_stops_at_the_first_scan_and_reads_lengths_past_the_head() -> None:
    plain = _noisy_jpeg((100, 100))
    assert plain[jpeg_header_end(plain) : jpeg_header_end(plain) + 2] == b"\xff\xda"  # SOS
    exif = _with_exif_thumbnail(plain, _noisy_jpeg((16, 12)))
    app1_end = 4 + int.from_bytes(exif[4:6], "big")
    assert jpeg_header_end(exif[:HEAD_BYTES]) >= app1_end > HEAD_BYTES
    assert 2 == jpeg_header_end(b"\xff\xd8")


def test_the_analyze_command_refuses_a_cut_file_whose_thumbnail_ends_in_ff_d9(tmp_path: Path) -> None:
    whole = _with_exif_thumbnail(_noisy_jpeg((200, 150)), _noisy_jpeg((16, 12)))
    header_end = jpeg_header_end(whole[:HEAD_BYTES])
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[: (header_end + len(whole)) // 2])
    with pytest.raises(ImageRejected, match="truncated JPEG"):
        read_image(path, limit=10_000_000)
    path.write_bytes(whole)
    assert whole == read_image(path, limit=10_000_000)
