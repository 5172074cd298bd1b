"""`inspector analyze`: judge image files on disk directly, without the bucket, the queue or the function."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from inspector.commands import EXIT_OK, UserError, add_aws_arguments, aws_client, output_folder, progress
from inspector.constants import REKOGNITION_MAX_S3_OBJECT_BYTES
from inspector.criteria import Criteria
from inspector.engine import Evaluation, Finding, Verdict, evaluate
from inspector.errors import ImageRejected
from inspector.formats import HEAD_BYTES, TAIL_WIDE_BYTES, jpeg_header_end, require_end, require_image

if TYPE_CHECKING:
    from inspector.analysis import Analysis
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
    parser.add_argument(
        "--evidence",
        type=output_folder,
        metavar="DIR",
        help="write an evidence image for every FAIL and REVIEW into DIR (made if missing): the photo with "
        "the regions that decided outlined, as the pipeline stores beside its records",
    )
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
    analysis: Analysis | None = None
    evidence: Path | None = None  # the evidence image written with --evidence

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
        if self.analysis is not None:
            # Each label with its confidence and located instances (boxes in ratios of the upright photo),
            # as the pipeline's result record holds them.
            document["labels"] = [
                label.model_dump(mode="json", exclude_defaults=True) for label in self.analysis.labels
            ]
            document["model_version"] = self.analysis.model_version
        if self.evidence is not None:
            document["evidence"] = str(self.evidence)
        return document

    def where(self) -> list[str]:
        """Where the labels behind the failing or uncertain rules were seen, one line per located instance."""
        from inspector.evidence import boxes_of  # noqa: PLC0415

        return [
            f"{box.caption} at left {box.left:.2f}, top {box.top:.2f}, {box.width:.2f} x {box.height:.2f} "
            "of the photo"
            for box in boxes_of(self.analysis, self.findings)
        ]


def run(args: argparse.Namespace, out: TextIO) -> int:
    criteria = Criteria.load(args.criteria)
    files = image_files(args.images)  # every argument checked before the first (maybe paid) detection
    detector = build_detector(args, criteria)
    limit = MAX_BYTES[args.detector]
    request = criteria.detection_request()
    results: list[Judged] = []
    names = evidence_names(files) if args.evidence is not None else {}
    for path in progress(files, total=len(files), description="analyze"):
        try:
            data = read_image(path, limit=limit)
            analysis = detector.detect(data, request)
        except ImageRejected as exc:
            results.append(Judged(path, Verdict.REJECTED, rejection=exc.reason))
            continue
        evaluation: Evaluation = evaluate(analysis, criteria)
        evidence = None
        if args.evidence is not None and evaluation.verdict in (Verdict.FAIL, Verdict.REVIEW):
            evidence = write_evidence(args.evidence / names[path], data, analysis, evaluation, detector)
        results.append(
            Judged(
                path,
                evaluation.verdict,
                evaluation.findings,
                reasons=evaluation.reasons,
                analysis=analysis,
                evidence=evidence,
            )
        )
    if args.json:
        document = {"images": [r.to_json() for r in results], "criteria": criteria.fingerprint}
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(table(results, criteria=criteria.fingerprint, detector=args.detector))
    return EXIT_OK


def evidence_names(files: list[Path]) -> dict[Path, str]:
    """Each file's evidence image name, `<name>.evidence.jpg` as beside a record; files of one name in
    different folders get their folder path in theirs, so none overwrites another's."""
    counts: dict[str, int] = {}
    for path in files:
        counts[path.name] = counts.get(path.name, 0) + 1
    return {
        path: (
            path.name if counts[path.name] == 1 else "_".join(p for p in path.parts if p not in ("/", ".."))
        )
        + ".evidence.jpg"
        for path in files
    }


def write_evidence(
    target: Path, data: bytes, analysis: Analysis, evaluation: Evaluation, detector: LabelDetector
) -> Path | None:
    """The evidence image the pipeline would store for this FAIL or REVIEW, written to `target`; None (with
    a warning on stderr) when the photo cannot be drawn."""
    import sys  # noqa: PLC0415

    from inspector.evidence import boxes_of, main_caption, reference_heat, render  # noqa: PLC0415

    try:
        heat = reference_heat(detector)(data) if hasattr(detector, "examine") else None
        image = render(
            data,
            boxes_of(analysis, evaluation.findings),
            verdict=evaluation.verdict,
            heat=heat,
            caption=main_caption(evaluation.verdict, evaluation.findings),
        )
    except ImportError:
        raise UserError("evidence images need Pillow: pip install 'widget-inspector[local]'") from None
    except Exception as exc:  # noqa: BLE001 - as in the pipeline, evidence never costs the verdict
        print(f"inspector: warning: no evidence image for {target.name}: {exc}", file=sys.stderr)
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(image)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


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
    from inspector.lines import DetectorName, detectors_problem  # noqa: PLC0415

    if args.model_arn and args.detector != "custom-labels":
        raise UserError("--model-arn is only used with --detector custom-labels")
    if args.reference_model and args.detector != "reference":
        raise UserError("--reference-model is only used with --detector reference")
    # The same check as a line's in a stack: labels no detector reports, properties none measures, and the
    # reference detector's Anomaly judged by no rule are refused before anything is read or paid for.
    problem = detectors_problem(
        (DetectorName(args.detector),),
        criteria,
        labels_elsewhere="use --detector rekognition (or custom-labels)",
    )
    if problem is not None:
        raise UserError(f"{args.criteria} with --detector {args.detector}: {problem}")
    if args.detector == "reference":
        return reference_detector(args)
    if args.detector == "local":
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
        return CustomLabelsDetector(args.model_arn, aws_client(args, "rekognition"))
    return RekognitionDetector(aws_client(args, "rekognition"))


def reference_detector(args: argparse.Namespace) -> LabelDetector:
    """The reference detector with the model named by --reference-model (a path or s3://bucket/key)."""
    if not args.reference_model:
        raise UserError(
            "--detector reference needs --reference-model (a model made by `inspector reference train`)"
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
    """FILE, VERDICT, REASON columns, where each deciding label was seen and the evidence image under its
    row, then a summary line."""
    rows = [("FILE", "VERDICT", "REASON")] + [(str(r.file), r.verdict.value, r.reason()) for r in results]
    file_width = max(len(row[0]) for row in rows)
    verdict_width = max(len(row[1]) for row in rows)
    indent = " " * (file_width + verdict_width + 4)
    lines = [f"{rows[0][0]:<{file_width}}  {rows[0][1]:<{verdict_width}}  {rows[0][2]}"]
    for (f, v, reason), result in zip(rows[1:], results, strict=True):
        lines.append(f"{f:<{file_width}}  {v:<{verdict_width}}  {reason}".rstrip())
        lines += [f"{indent}where: {where}" for where in result.where()]
        if result.evidence is not None:
            lines.append(f"{indent}evidence: {result.evidence}")
    counts = {v: sum(1 for r in results if r.verdict is v) for v in Verdict}
    summary = ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
    noun = "image" if len(results) == 1 else "images"
    lines.append(f"{len(results)} {noun}: {summary}  (criteria {criteria}, detector {detector})")
    return "\n".join(lines) + "\n"
