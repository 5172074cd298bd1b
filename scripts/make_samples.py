"""Draw the sample widget photos `inspector demo` uploads, into inspector/samples/images/.

Run by hand after changing a sample or the demo criteria, then commit the images it writes:

    .venv/bin/python scripts/make_samples.py

Deterministic: no randomness and no timestamps, so the same Pillow writes the same bytes. Each file's name
starts with the verdict it must get under inspector/samples/demo-criteria.yaml (pass-, fail-, review-,
rejected-). The script measures every sample with the local detector, judges it under those criteria and
stops with an error when a verdict differs from its name or lands closer than `MIN_MARGIN` points to a
bound, so a change of the detector or the criteria cannot quietly move a sample onto its border.
"""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter

from inspector.analysis import Analysis
from inspector.criteria import Criteria
from inspector.detectors.local import measure
from inspector.engine import Verdict, evaluate
from inspector.errors import ImageRejected
from inspector.reference import synthetic

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "inspector" / "samples"
IMAGES = SAMPLES / "images"
CRITERIA = SAMPLES / "demo-criteria.yaml"
REFERENCE = SAMPLES / "reference"  # good photos of line 4's widget, to train its reference model from
REFERENCE_SIZE = (320, 240)
MIN_MARGIN = 5.0  # points between any measure and any bound (or review band edge) of the criteria
MAX_FILE_BYTES = 50_000
MAX_TOTAL_BYTES = 500_000  # line 4 and its training photos add ~250 KB

SIZE = (320, 240)
BACKGROUND = (228, 230, 232)  # the light grey conveyor belt
BELT_SEAM = (205, 208, 212)
SHADOW = (170, 172, 176)
BOLT = (150, 152, 156)
STEEL_EDGE = (60, 60, 64)
METAL = (150, 155, 160)  # bare, unpainted steel: grey to the colour rule
BLUE = (32, 88, 196)
NAVY = (24, 64, 160)
RED = (196, 40, 36)
FULL_BOX = (26, 26, 294, 210)  # the widget as the camera frames it: a little over half the picture


def widget(
    *,
    paint: tuple[int, int, int] = BLUE,
    box: tuple[int, int, int, int] = FULL_BOX,
    bolts: int = 4,
    holes: int = 1,
    painted: float = 1.0,
) -> Image.Image:
    """A widget on the belt: a rounded plate with an outline, bolts, holes and ribs; `painted` of it, from
    the left, in `paint`, the rest bare steel."""
    picture = Image.new("RGB", SIZE, BACKGROUND)
    draw = ImageDraw.Draw(picture)
    for y in range(0, SIZE[1], 24):
        draw.line([(0, y), (SIZE[0], y)], fill=BELT_SEAM, width=1)
    x0, y0, x1, y1 = box
    radius = min(x1 - x0, y1 - y0) // 8
    draw.rounded_rectangle((x0 + 4, y0 + 5, x1 + 4, y1 + 5), radius=radius, fill=SHADOW)
    draw.rounded_rectangle(box, radius=radius, fill=paint)
    if painted < 1.0:
        plate = Image.new("L", SIZE, 0)
        ImageDraw.Draw(plate).rounded_rectangle(box, radius=radius, fill=255)
        bare = Image.new("L", SIZE, 0)
        ImageDraw.Draw(bare).rectangle((x0 + round(painted * (x1 - x0)), 0, *SIZE), fill=255)
        picture.paste(METAL, mask=ImageChops.multiply(plate, bare))
    edge = tuple(round(c * 0.55) for c in paint)
    draw.rounded_rectangle(box, radius=radius, outline=edge, width=3)
    inset = radius
    corners = [
        (x0 + inset, y0 + inset),
        (x1 - inset, y0 + inset),
        (x0 + inset, y1 - inset),
        (x1 - inset, y1 - inset),
    ]
    middles = [((x0 + x1) // 2, y0 + inset), ((x0 + x1) // 2, y1 - inset)]
    for cx, cy in (corners + middles)[:bolts]:
        draw.ellipse((cx - 9, cy - 9, cx + 9, cy + 9), fill=BOLT, outline=STEEL_EDGE, width=2)
        draw.line([(cx - 6, cy), (cx + 6, cy)], fill=STEEL_EDGE, width=2)
    hole = min(x1 - x0, y1 - y0) // 8
    cy = (y0 + y1) // 2
    for i in range(holes):
        cx = x0 + (i + 1) * (x1 - x0) // (holes + 1)
        draw.ellipse(
            (cx - hole, cy - hole, cx + hole, cy + hole), fill=BACKGROUND, outline=STEEL_EDGE, width=3
        )
    for i in range(3):
        y = y0 + 2 * inset + i * 8
        draw.line([((x0 + x1) // 2 - 20, y), ((x0 + x1) // 2 + 20, y)], fill=edge, width=2)
    return picture


def jpeg(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=88, optimize=True)
    return out.getvalue()


def png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def gif(frames: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return out.getvalue()


def blurred(picture: Image.Image) -> Image.Image:
    return picture.filter(ImageFilter.GaussianBlur(2.5))  # the camera out of focus


def exposed(picture: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(picture).enhance(factor)


SAMPLE_FILES: dict[str, Callable[[], bytes]] = {
    "line-1/pass-blue-widget-1.jpg": lambda: jpeg(widget()),
    "line-1/pass-blue-widget-2.jpg": lambda: jpeg(widget(paint=NAVY, bolts=6, box=(34, 20, 300, 214))),
    "line-1/fail-red-widget.jpg": lambda: jpeg(widget(paint=RED)),
    "line-1/review-partly-painted.jpg": lambda: jpeg(widget(painted=0.58)),
    "line-2/pass-blue-widget-3.png": lambda: png(widget(holes=2)),
    "line-2/fail-blurry.jpg": lambda: jpeg(blurred(widget())),
    "line-2/fail-too-dark.jpg": lambda: jpeg(exposed(widget(), 0.25)),
    "line-2/fail-overexposed.jpg": lambda: jpeg(exposed(widget(), 3.5)),
    "line-2/review-small-widget.png": lambda: png(widget(box=(58, 44, 262, 196))),
    "line-3/rejected-animation.gif": lambda: gif(
        [widget().resize((160, 120)), widget(paint=NAVY).resize((160, 120))]
    ),
    "line-3/rejected-empty.jpg": lambda: b"",
    "line-3/rejected-not-an-image.jpg": lambda: b"widget 1041, line 3: camera fault, no picture taken\n",
    "line-3/rejected-thumbnail.png": lambda: png(widget().resize((40, 40), Image.Resampling.LANCZOS)),
    "line-3/rejected-truncated.jpg": lambda: jpeg(widget())[:6000],  # the upload was cut off
    # Line 4: a fixed camera over another widget, judged by the reference detector (a model the demo trains
    # from REFERENCE_GOOD first): drawn defects next to good parts.
    "line-4/pass-widget-1.jpg": lambda: synthetic.widget(4001, REFERENCE_SIZE),
    "line-4/pass-widget-2.jpg": lambda: synthetic.widget(4002, REFERENCE_SIZE),
    "line-4/fail-scratch.jpg": lambda: synthetic.widget(4003, REFERENCE_SIZE, defect="scratch"),
    "line-4/fail-missing-screw.jpg": lambda: synthetic.widget(4004, REFERENCE_SIZE, defect="missing-screw"),
    "line-4/fail-stain.jpg": lambda: synthetic.widget(4005, REFERENCE_SIZE, defect="stain"),
    "line-4/fail-chipped-corner.jpg": lambda: synthetic.widget(4006, REFERENCE_SIZE, defect="chipped-corner"),
    "line-4/fail-foreign-particle.jpg": lambda: synthetic.widget(
        4007, REFERENCE_SIZE, defect="foreign-particle"
    ),
}
REFERENCE_LINE = "line-4/"  # judged by the reference detector: the local measures cannot tell its verdicts
REFERENCE_GOOD = 12  # good photos the demo trains line 4's reference model from (samples/reference/)


def expected_verdict(name: str) -> Verdict:
    prefix = Path(name).name.split("-", 1)[0]
    return {
        "pass": Verdict.PASS,
        "fail": Verdict.FAIL,
        "review": Verdict.REVIEW,
        "rejected": Verdict.REJECTED,
    }[prefix]


def margin(criteria: Criteria, quality: dict[str, float], shares: dict[str, float]) -> float:
    """The smallest distance, in points, from a measure to a bound or review band edge that judges it."""
    distances = []
    if criteria.quality is not None:
        for _, metric, _, bound in criteria.quality.bounds():
            distances.append(abs(quality[metric] - bound))
    for rule in criteria.colors:
        share = shares.get(rule.color, 0.0)
        for _, side, bound in rule.bounds():
            edge = bound - criteria.review_margin if side == "min" else bound + criteria.review_margin
            distances += (
                [abs(share - bound), abs(share - edge)] if criteria.review_margin else [abs(share - bound)]
            )
    return min(distances, default=float("inf"))


def main() -> int:
    criteria = Criteria.load(CRITERIA)
    shutil.rmtree(IMAGES, ignore_errors=True)
    shutil.rmtree(REFERENCE, ignore_errors=True)
    REFERENCE.mkdir(parents=True)
    for i in range(REFERENCE_GOOD):
        (REFERENCE / f"good-{i + 1:02}.jpg").write_bytes(synthetic.widget(3000 + i, REFERENCE_SIZE))
    problems: list[str] = []
    total = 0
    columns = ("bytes", "bright", "sharp", "contr", "blue%", "margin")
    header = f"{'file':36} " + " ".join(f"{c:>6}" for c in columns) + "  verdict"
    print(header)
    print("-" * len(header))
    for name, make in SAMPLE_FILES.items():
        data = make()
        path = IMAGES / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
        expected = expected_verdict(name)
        if len(data) > MAX_FILE_BYTES:
            problems.append(f"{name}: {len(data)} bytes, more than {MAX_FILE_BYTES}")
        try:
            properties = measure(data)
        except ImageRejected as exc:
            print(f"{name:36} {len(data):>6} {'':>6} {'':>6} {'':>6} {'':>6} {'':>6}  REJECTED: {exc.reason}")
            if expected is not Verdict.REJECTED:
                problems.append(f"{name}: rejected ({exc.reason}), expected {expected}")
            continue
        assert properties.quality is not None  # noqa: S101 - measure always reports quality
        q = properties.quality
        quality = {
            "brightness": q.brightness or 0.0,
            "sharpness": q.sharpness or 0.0,
            "contrast": q.contrast or 0.0,
        }
        shares: dict[str, float] = {}
        for color in properties.dominant_colors:
            simple = color.simplified_color or "unnamed"
            shares[simple] = shares.get(simple, 0.0) + (color.pixel_percent or 0.0)
        verdict = evaluate(Analysis(image_properties=properties), criteria).verdict
        if name.startswith(REFERENCE_LINE):
            verdict = expected  # the Anomaly label decides there: tests/functional/test_demo.py checks it
        room = margin(criteria, quality, shares)
        print(
            f"{name:36} {len(data):>6} {quality['brightness']:>6.1f} {quality['sharpness']:>6.1f} "
            f"{quality['contrast']:>6.1f} {shares.get('blue', 0.0):>6.1f} {room:>6.1f}  {verdict}"
        )
        if verdict is not expected:
            problems.append(f"{name}: {verdict}, expected {expected}")
        if room < MIN_MARGIN:
            problems.append(f"{name}: only {room:.1f} points from a bound (want {MIN_MARGIN:g})")
    print(f"\n{len(SAMPLE_FILES)} samples, {total} bytes, in {IMAGES.relative_to(ROOT)}/")
    if total > MAX_TOTAL_BYTES:
        problems.append(f"the samples take {total} bytes, more than {MAX_TOTAL_BYTES}")
    sys.stdout.flush()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
