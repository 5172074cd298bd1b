"""`inspector analyze`: judge image files on disk directly, without the bucket, the queue or the function."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from inspector.commands import EXIT_OK, UserError, add_aws_arguments, aws_client, progress
from inspector.constants import REKOGNITION_MAX_S3_OBJECT_BYTES
from inspector.criteria import Criteria
from inspector.engine import Evaluation, Finding, Verdict, evaluate
from inspector.errors import ImageRejected
from inspector.formats import HEAD_BYTES, TAIL_WIDE_BYTES, jpeg_header_end, require_end, require_image

if TYPE_CHECKING:
    from inspector.detectors import LabelDetector

# Rekognition's limits for an image sent as Bytes (not read from S3): DetectLabels 5 MB, DetectCustomLabels
# 4 MB (Rekognition developer guide, "Guidelines and quotas"). The local detector reads up to what the
# pipeline would hand it from S3.
MAX_BYTES = {
    "local": REKOGNITION_MAX_S3_OBJECT_BYTES,
    "rekognition": 5 * 1024 * 1024,
    "custom-labels": 4 * 1024 * 1024,
    "reference": REKOGNITION_MAX_S3_OBJECT_BYTES,
}
DETECTORS = tuple(MAX_BYTES)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})  # what a folder argument is searched for


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "analyze",
        help="judge image files on disk under a criteria file (no bucket, no queue)",
        description=(
            "Inspect image files directly: the same checks, detector and criteria as the pipeline, "
            "without uploading anything. A folder stands for every .jpg, .jpeg and .png file under it. "
            "Exit 0 whatever the verdicts."
        ),
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="an image file or a folder")
    parser.add_argument("--criteria", required=True, type=Path, metavar="FILE", help="criteria, YAML or JSON")
    parser.add_argument(
        "--detector",
        choices=DETECTORS,
        default="local",
        help="local: image properties from the pixels, no AWS (default); rekognition: DetectLabels; "
        "custom-labels: DetectCustomLabels with --model-arn; reference: a variation model trained by "
        "`inspector reference train`, with --reference-model",
    )
    parser.add_argument(
        "--reference-model", metavar="MODEL", help="the reference model: a path or s3://bucket/key"
    )
    parser.add_argument("--model-arn", metavar="ARN", help="the Custom Labels project version ARN")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Judged:
    """One file's outcome."""

    file: Path
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    rejection: str | None = None
    reasons: tuple[Finding, ...] = ()

    def reason(self) -> str:
        """The main reason, in one line."""
        if self.rejection is not None:
            return self.rejection
        if not self.reasons:
            return "all rules met"
        more = f" (+{len(self.reasons) - 1} more)" if len(self.reasons) > 1 else ""
        return self.reasons[0].describe() + more

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file": str(self.file),
            "verdict": self.verdict.value,
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }
        if self.rejection is not None:
            document["rejection"] = self.rejection
        return document


def run(args: argparse.Namespace, out: TextIO) -> int:
    criteria = Criteria.load(args.criteria)
    files = image_files(args.images)  # every argument checked before the first (maybe paid) detection
    detector = build_detector(args, criteria)
    limit = MAX_BYTES[args.detector]
    request = criteria.detection_request()
    results: list[Judged] = []
    for path in progress(files, total=len(files), description="analyze"):
        try:
            data = read_image(path, limit=limit)
            analysis = detector.detect(data, request)
        except ImageRejected as exc:
            results.append(Judged(path, Verdict.REJECTED, rejection=exc.reason))
            continue
        evaluation: Evaluation = evaluate(analysis, criteria)
        results.append(Judged(path, evaluation.verdict, evaluation.findings, reasons=evaluation.reasons))
    if args.json:
        document = {"images": [r.to_json() for r in results], "criteria": criteria.fingerprint}
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(table(results, criteria=criteria.fingerprint, detector=args.detector))
    return EXIT_OK


def image_files(arguments: list[Path]) -> list[Path]:
    """The files to analyse: files as given, folders as their .jpg/.jpeg/.png files (recursively, sorted).

    A file named explicitly is analysed whatever its suffix (a GIF is then REJECTED with its reason).
    """
    files: list[Path] = []
    for path in arguments:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise UserError(f"{path}: no .jpg, .jpeg or .png files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise UserError(f"{path} is neither a file nor a folder")
        else:
            raise UserError(f"cannot read image {path}: no such file or folder")
    return files


def read_image(path: Path, *, limit: int) -> bytes:
    """The file's bytes, after the checks the pipeline makes before paying for recognition.

    Raises `ImageRejected` for an empty file, one over `limit` bytes (checked before reading it), anything
    but JPEG or PNG, and a PNG under Rekognition's minimum side; `UserError` when the file cannot be read.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            raise ImageRejected("empty file (0 bytes)")
        if size > limit:
            raise ImageRejected(f"file is {size:,} bytes; the detector takes at most {limit:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read image {path}: {exc.strerror or exc}") from None
    sniffed = require_image(data[:HEAD_BYTES])  # the checks the pipeline makes, on the same bytes
    header_end = jpeg_header_end(data[:HEAD_BYTES]) if sniffed.format == "JPEG" else 0
    require_end(sniffed.format, data[-TAIL_WIDE_BYTES:], size=len(data), header_end=header_end)
    return data


def build_detector(args: argparse.Namespace, criteria: Criteria) -> LabelDetector:
    """The chosen detector, once the criteria are known to be judgeable by it."""
    request = criteria.detection_request()
    if args.model_arn and args.detector != "custom-labels":
        raise UserError("--model-arn is only used with --detector custom-labels")
    if args.reference_model and args.detector != "reference":
        raise UserError("--reference-model is only used with --detector reference")
    if args.detector == "reference":
        return reference_detector(args, criteria)
    if args.detector == "local":
        if request.labels:
            names = ", ".join(request.labels[:5]) + (", ..." if len(request.labels) > 5 else "")
            raise UserError(
                f"the local detector reports no labels, but the criteria name labels ({names}): "
                "use quality or colour rules only, or --detector rekognition"
            )
        try:
            from inspector.detectors.local import LocalDetector  # noqa: PLC0415 - needs Pillow
        except ImportError:
            raise UserError(
                "the local detector needs Pillow: pip install 'widget-inspector[local]'"
            ) from None
        return LocalDetector()
    from inspector.detectors.rekognition import (  # noqa: PLC0415 - boto3 only when AWS is used
        CustomLabelsDetector,
        RekognitionDetector,
    )

    if args.detector == "custom-labels":
        if not args.model_arn:
            raise UserError("--detector custom-labels needs --model-arn (the project version ARN)")
        if request.image_properties:
            raise UserError(
                "Custom Labels reports no image properties, but the criteria have quality or colour rules: "
                "use --detector rekognition or local for them"
            )
        return CustomLabelsDetector(args.model_arn, aws_client(args, "rekognition"))
    return RekognitionDetector(aws_client(args, "rekognition"))


def reference_detector(args: argparse.Namespace, criteria: Criteria) -> LabelDetector:
    """The reference detector with the model named by --reference-model (a path or s3://bucket/key)."""
    from inspector.constants import REFERENCE_LABEL  # noqa: PLC0415

    if not args.reference_model:
        raise UserError(
            "--detector reference needs --reference-model (a model made by `inspector reference train`)"
        )
    others = [n for n in criteria.detection_request().labels if n.casefold() != REFERENCE_LABEL.casefold()]
    if others:
        raise UserError(
            f"the reference detector reports only the label {REFERENCE_LABEL}, but the criteria name "
            f"{', '.join(others[:5])}: use {REFERENCE_LABEL}, quality and colour rules"
        )
    try:
        from inspector.reference.detector import ReferenceDetector  # noqa: PLC0415 - numpy and Pillow
        from inspector.reference.files import read_model  # noqa: PLC0415
    except ImportError:
        raise UserError(
            "the reference detector needs numpy and Pillow: pip install 'widget-inspector[local]'"
        ) from None
    location: str = args.reference_model
    s3 = aws_client(args, "s3") if location.startswith("s3://") else None
    return ReferenceDetector(read_model(location, s3=s3))


def table(results: list[Judged], *, criteria: str, detector: str) -> str:
    """FILE, VERDICT, REASON columns, then a summary line."""
    rows = [("FILE", "VERDICT", "REASON")] + [(str(r.file), r.verdict.value, r.reason()) for r in results]
    file_width = max(len(row[0]) for row in rows)
    verdict_width = max(len(row[1]) for row in rows)
    lines = [f"{f:<{file_width}}  {v:<{verdict_width}}  {reason}".rstrip() for f, v, reason in rows]
    counts = {v: sum(1 for r in results if r.verdict is v) for v in Verdict}
    summary = ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
    noun = "image" if len(results) == 1 else "images"
    lines.append(f"{len(results)} {noun}: {summary}  (criteria {criteria}, detector {detector})")
    return "\n".join(lines) + "\n"
