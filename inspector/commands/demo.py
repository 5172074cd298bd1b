"""`inspector demo`: the whole pipeline end to end on an embedded AWS, with the sample images it ships."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from inspector.commands import EXIT_OK, UserError, output_file, output_folder

if TYPE_CHECKING:
    from inspector.analysis import Analysis
    from inspector.criteria import Criteria, DetectionRequest
    from inspector.deployment import Deployment
    from inspector.detectors import ImageSource
    from inspector.lines import Line
    from inspector.local import Email

# Not every upload reached a verdict (or something went to the DLQ): the demo ran, but did not show what
# it should. Distinct from EXIT_USAGE, which means it could not start.
EXIT_INCOMPLETE = 1
DETECTORS = ("local", "rekognition")
VERDICT_ORDER = ("PASS", "FAIL", "REVIEW", "REJECTED")
RECIPIENT = "qc-group@example.com"
# The demo's product lines, one per samples folder, each with its own lead: line-1 and line-2 judged by the
# local detector (quality and colours), line-3 a camera that sends broken files (every one REJECTED before
# any detector), line-4 a fixed camera judged by the reference detector. The default line takes any other
# key (none of the samples).
DEMO_LINES = ("line-1", "line-2", "line-3")
# Where the demo leaves what a person wants to look at after the embedded AWS is gone: the evidence
# images, every email in full, the bucket's listing (gitignored in the repository).
OUTPUT_DIR = Path("demo-output")
# The samples take a few seconds; a failed message would only come back after the visibility timeout
# (6 x the 10 s function timeout), so waiting longer than this would show nothing more.
DRAIN_TIMEOUT_SECONDS = 45.0
# Line 4's camera is judged by the reference detector, with a model the demo trains from the good photos
# in samples/reference/ and stores in the embedded bucket, where the function reads it as in Lambda.
REFERENCE_LINE = "line-4"
REFERENCE_MODEL_KEY = "models/line-4-widget.npz"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="run the whole pipeline on sample images, on an embedded AWS (no account needed)",
        description=(
            "Start an embedded AWS (moto's server on 127.0.0.1), provision the bucket, queues and topic as "
            "a stack would, upload the sample widget photos under images/, and run the Lambda handler on "
            "the queue until it is drained; then show each verdict, the emails sent, the bucket's layout "
            "and the dead-letter queue. Everything stops when it ends. Exit 0 when every image reached a "
            f"verdict, {EXIT_INCOMPLETE} when one did not."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--detector",
        choices=DETECTORS,
        default="local",
        help="local: measure the pixels, no AWS (default); rekognition: the real Amazon Rekognition "
        "with your AWS credentials (the images stay in the embedded S3 and are sent as bytes)",
    )
    parser.add_argument(
        "--criteria",
        type=Path,
        metavar="FILE",
        help="criteria, YAML or JSON (default: the samples' own, inspector/samples/demo-criteria.yaml)",
    )
    parser.add_argument(
        "--out",
        type=output_folder,
        default=OUTPUT_DIR,
        metavar="DIR",
        help=f"where to leave the evidence images, every email in full and the bucket's listing "
        f"(default: ./{OUTPUT_DIR}; its files are overwritten on each run)",
    )
    parser.add_argument(
        "--report",
        type=output_file,
        metavar="FILE",
        help="also write the QC report of the run (HTML, as `inspector report` makes it) to FILE",
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class ImageResult:
    """Where one uploaded sample ended, read back from its result record."""

    key: str
    verdict: str | None  # None: no result record, the image was not inspected
    destination: str | None
    reason: str
    more: tuple[str, ...] = ()  # the other failing or uncertain findings, each as the table shows it
    findings: tuple[dict[str, Any], ...] = ()  # every finding of the record, as JSON
    anomaly: float | None = None  # the reference detector's Anomaly confidence, when it judged the image
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # its regions: left, top, width, height
    evidence: str | None = None  # the evidence image's key (FAIL and REVIEW)
    line: str | None = None
    detector: str | None = None  # the record's: which detector judged
    evidence_file: str | None = None  # the evidence image's copy on this machine (--out)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "key": self.key,
            "line": self.line,
            "verdict": self.verdict,
            "destination": self.destination,
            "reason": self.reason,
            "reasons": [self.reason, *self.more],
            "findings": list(self.findings),
        }
        if self.anomaly is not None:
            document["anomaly"] = {
                "confidence": round(self.anomaly, 1),
                "boxes": [
                    dict(zip(("left", "top", "width", "height"), (round(v, 4) for v in box), strict=True))
                    for box in self.boxes
                ],
            }
        if self.evidence is not None:
            document["evidence"] = self.evidence
        if self.evidence_file is not None:
            document["evidence_file"] = self.evidence_file
        if self.detector is not None:
            document["detector"] = self.detector
        return document

    def anomaly_text(self) -> str:
        if self.anomaly is None:
            return "-"
        if not self.boxes:
            return f"{self.anomaly:.1f}"
        left, top, width, height = self.boxes[0]
        more = f" +{len(self.boxes) - 1}" if len(self.boxes) > 1 else ""
        return f"{self.anomaly:.1f} at ({left:.2f}, {top:.2f}) {width:.2f}x{height:.2f}{more}"


@dataclass
class DemoRun:
    """Everything the run showed, gathered before the embedded AWS stopped."""

    detector: str
    criteria: str  # where the criteria came from
    fingerprint: str
    endpoint: str
    bucket: str
    images_prefix: str
    images: list[ImageResult] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)  # every key in the bucket at the end
    queue: int = 0  # messages left in the queue, visible or in flight
    dlq: int = 0
    batches: int = 0
    logs: list[str] = field(default_factory=list)  # the function's warnings and errors, JSON lines
    lines: list[str] = field(default_factory=list)  # each line: name, prefix, recipients
    elapsed_seconds: float = 0.0
    report: str | None = None  # the QC report's HTML file, with --report
    output: Path | None = None  # where the evidence images, the emails and the listing were kept

    @property
    def counts(self) -> Counter[str]:
        return Counter(image.verdict or "NOT INSPECTED" for image in self.images)

    @property
    def complete(self) -> bool:
        return all(image.verdict is not None for image in self.images) and self.dlq == 0 and self.queue == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "images": [image.to_json() for image in self.images],
            "emails": len(self.emails),
            "dlq": self.dlq,
            "queue": self.queue,
            "counts": dict(sorted(self.counts.items())),
            "bucket": self.bucket,
            "layout": self.layout,
            "detector": self.detector,
            "criteria": self.fingerprint,
            "endpoint": self.endpoint,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            **({"report": self.report} if self.report else {}),
            **(
                {"output": str(self.output), "emails_file": str(self.output / "emails.txt")}
                if self.output
                else {}
            ),
        }


def run(args: argparse.Namespace, out: TextIO) -> int:
    started = time.monotonic()
    criteria, source = _criteria(args.criteria)
    deployment = _deployment(criteria, args.detector, source)
    samples = dict(_samples(resources.files("inspector") / "samples" / "images"))
    # Made before the embedded AWS's variables replace the user's: the real Rekognition is the only
    # thing that may use the user's credentials, and only it.
    rekognition = _real_rekognition() if args.detector == "rekognition" else None
    result = _run(
        deployment,
        samples,
        rekognition,
        detector=args.detector,
        source=source,
        report=args.report,
        output=args.out,
    )
    result.elapsed_seconds = time.monotonic() - started
    if args.json:
        out.write(json.dumps(result.to_json()) + "\n")
    else:
        out.write(render(result))
    for line in result.logs:
        print(line, file=sys.stderr)
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


# --- set-up -------------------------------------------------------------------------------------


def _criteria(path: Path | None) -> tuple[Criteria, str]:
    from inspector.criteria import Criteria  # noqa: PLC0415

    if path is not None:
        return Criteria.load(path), str(path)
    packaged = resources.files("inspector") / "samples" / "demo-criteria.yaml"
    with resources.as_file(packaged) as file:
        # What the local detector can judge (`inspector local` uses it as it is); line 4 adds the reference
        # detector's rule (`_deployment`).
        return Criteria.load(file), "the samples' demo-criteria.yaml"


def _reference_criteria(criteria: Criteria) -> Criteria:
    """Line 4's criteria: the others', and the reference detector's rule at its calibrated threshold (35-50
    goes to REVIEW by the file's review margin), unless they forbid Anomaly already."""
    from inspector.commands.local import with_anomaly_rule  # noqa: PLC0415
    from inspector.constants import REFERENCE_LABEL  # noqa: PLC0415

    if any(rule.label.casefold() == REFERENCE_LABEL.casefold() for rule in criteria.forbid):
        return criteria
    return with_anomaly_rule(criteria)


def _deployment(criteria: Criteria, detector: str, source: str) -> Deployment:
    """The settings a stack would deploy, shortened so that a failed message would not hold up the demo.

    Every samples folder is a line with its own detectors: the function builds each line's as it does in
    Lambda, so the records and emails say truthfully which detector judged and by which rules.
    """
    from pydantic import ValidationError  # noqa: PLC0415

    from inspector._validation import describe  # noqa: PLC0415
    from inspector.deployment import Deployment, Recipient  # noqa: PLC0415
    from inspector.lines import DetectorName, Line  # noqa: PLC0415

    local = detector == "local"
    kind = DetectorName.LOCAL if local else DetectorName.REKOGNITION
    try:
        lines = [
            Line(
                name=name,
                prefix=f"{name}/",
                criteria=criteria,
                detectors=(kind,),
                notify=[Recipient(email=f"{name}-lead@example.com")],
            )
            for name in DEMO_LINES
        ]
        lines.append(
            Line(
                name=REFERENCE_LINE,
                prefix=f"{REFERENCE_LINE}/",
                criteria=_reference_criteria(criteria) if local else criteria,
                detectors=(DetectorName.REFERENCE,) if local else (kind,),
                reference_model=REFERENCE_MODEL_KEY if local else None,
                notify=[Recipient(email=f"{REFERENCE_LINE}-lead@example.com")],
            )
        )
        return Deployment(
            criteria=criteria,
            lines=lines,
            detector=kind.value,
            timeout_seconds=10,
            batch_size=10,
            max_receive_count=3,
            notify=[Recipient(email=RECIPIENT)],
            # The function's own logs (JSON lines) are kept out of the report; its warnings and errors are
            # shown on stderr after it.
            log_level="WARNING",
        )
    except ValidationError as exc:
        # e.g. criteria naming labels, which the local detector never reports.
        raise UserError(f"{source}: {'; '.join(describe(exc))}") from None


def _samples(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, bytes]]:
    """(path under the samples folder, content), nested folders kept, in name order."""
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _samples(entry, f"{prefix}{entry.name}/")
        elif not entry.name.startswith("."):
            yield f"{prefix}{entry.name}", entry.read_bytes()


def _real_rekognition() -> Any:
    """A client of the real Amazon Rekognition from the user's default credential chain and region."""
    import boto3  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415

    from inspector.aws import client_config  # noqa: PLC0415

    session = boto3.Session()
    try:
        credentials = session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except BotoCoreError as exc:
        raise UserError(f"--detector rekognition: cannot load your AWS credentials: {exc}") from None
    if frozen is None or not frozen.access_key:
        raise UserError(
            "--detector rekognition calls the real Amazon Rekognition and needs AWS credentials, but "
            "none were found: configure some (aws configure, AWS_PROFILE, AWS_ACCESS_KEY_ID) "
            "or use --detector local"
        )
    if not session.region_name:
        raise UserError(
            "--detector rekognition needs an AWS region: set AWS_REGION or a region in your profile"
        )
    # Frozen: the embedded AWS sets AWS_ACCESS_KEY_ID and friends while it runs, and credentials that
    # refresh from the environment would pick those up.
    return session.client(
        "rekognition",
        region_name=session.region_name,
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
        config=client_config("rekognition"),
    )


def _train_reference_model() -> bytes:
    """Line 4's model, trained from the good photos the package ships (about a second)."""
    from inspector.reference import train  # noqa: PLC0415

    folder = resources.files("inspector") / "samples" / "reference"
    images = [(name, data) for name, data in _samples(folder)]
    return train(images).to_bytes()


class BytesRekognition:
    """The real Rekognition on images kept in the embedded S3, which it cannot read: the bytes are sent.

    Not tested: it needs an AWS account (and spends Rekognition calls); tests/functional/test_demo.py only
    checks that the demo refuses to start without credentials. Bytes are capped at 5 MB by DetectLabels
    (S3 objects at 15 MB): a larger image comes back REJECTED with Rekognition's ImageTooLargeException.
    """

    name = "rekognition"

    def __init__(self, s3: Any, rekognition: Any) -> None:
        from inspector.detectors.rekognition import RekognitionDetector  # noqa: PLC0415

        self._s3 = s3
        self._detector = RekognitionDetector(rekognition)

    def detect(self, image: ImageSource, request: DetectionRequest) -> Analysis:
        if not isinstance(image, bytes):
            from inspector.aws import translate  # noqa: PLC0415

            try:
                kwargs = {"VersionId": image.version_id} if image.version_id else {}
                image = self._s3.get_object(Bucket=image.bucket, Key=image.key, **kwargs)["Body"].read()
            except Exception as exc:
                raise translate(exc, "S3 GetObject") from exc
        return self._detector.detect(image, request)


# --- the run ------------------------------------------------------------------------------------


def _run(
    deployment: Deployment,
    samples: Mapping[str, bytes],
    rekognition: Any,
    *,
    detector: str,
    source: str,
    report: Path | None = None,
    output: Path | None = None,
) -> DemoRun:
    from inspector import function  # noqa: PLC0415
    from inspector.app import Clients, build  # noqa: PLC0415
    from inspector.aws import make_client  # noqa: PLC0415
    from inspector.local import (  # noqa: PLC0415
        LocalAws,
        Poller,
        function_process,
        provision,
        queue_depth,
        read_mailbox,
    )
    from inspector.observability import configure_logging  # noqa: PLC0415

    # The handler's JSON logs and EMF metric lines go to stdout, as in Lambda: kept here instead, so that
    # the report (or the one JSON document) is all stdout holds.
    captured = io.StringIO()
    with LocalAws() as aws:
        provisioned = provision(aws, deployment)
        s3, sqs = aws.client("s3"), aws.client("sqs")
        settings = deployment.settings(
            topic_arn=provisioned.topic_arn, bucket=provisioned.bucket, endpoint_url=aws.endpoint_url
        )
        result = DemoRun(
            detector=f"local, and reference for {REFERENCE_LINE} (model {REFERENCE_MODEL_KEY})"
            if detector == "local"
            else detector,
            output=output,
            criteria=source,
            fingerprint=deployment.criteria.fingerprint,
            endpoint=aws.endpoint_url,
            bucket=provisioned.bucket,
            images_prefix=deployment.images_prefix,
            lines=[_describe_line(deployment, line) for line in deployment.line_table.all],
        )
        keys = [f"{deployment.images_prefix}{name}" for name in samples]
        env = {**aws.environment(), **settings.to_env()}
        models = {line.reference_model for line in deployment.line_table.all if line.reference_model}
        if models:
            model = _train_reference_model()
            for key in sorted(models):
                s3.put_object(Bucket=provisioned.bucket, Key=key, Body=model)
        with function_process(env), contextlib.redirect_stdout(captured):
            configure_logging(settings.log_level, stream=captured)
            function.reset()
            try:
                local_s3 = make_client("s3", endpoint_url=aws.endpoint_url)
                local_sns = make_client("sns", endpoint_url=aws.endpoint_url)
                # Locally, each line's own detectors, built by the function as in Lambda (the reference
                # model read from the embedded bucket); with real Rekognition, it for every line.
                function.use(
                    build(
                        settings,
                        clients=Clients(s3=local_s3, sns=local_sns),
                        detector=None if rekognition is None else BytesRekognition(local_s3, rekognition),
                    )
                )
                for key, data in zip(keys, samples.values(), strict=True):
                    s3.put_object(Bucket=provisioned.bucket, Key=key, Body=data)
                poller = Poller(
                    sqs,
                    provisioned.queue_url,
                    provisioned.queue_arn,
                    function.lambda_handler,
                    batch_size=deployment.batch_size,
                    function_timeout_seconds=deployment.timeout_seconds,
                    region=aws.region,
                )
                poller.drain(timeout_seconds=DRAIN_TIMEOUT_SECONDS)
            finally:
                function.reset()  # stops the function's worker threads
        result.batches = poller.stats.batches
        result.queue = poller.depth()
        result.dlq = queue_depth(sqs, provisioned.dlq_url)
        result.images = [_result(s3, provisioned.bucket, key, settings.record_key(key)) for key in keys]
        result.emails = read_mailbox(sqs, provisioned.mailbox_url)
        result.layout = _keys(s3, provisioned.bucket)
        if output is not None:
            _keep(s3, provisioned.bucket, result, output, results_prefix=deployment.results_prefix)
        if report is not None:
            _write_report(s3, provisioned.bucket, deployment, report)
            result.report = str(report)
    result.logs = [line for line in captured.getvalue().splitlines() if _is_log(line)]
    return result


def _describe_line(deployment: Deployment, line: Line) -> str:
    from inspector.commands.local import judged_by  # noqa: PLC0415

    where = f"{deployment.images_prefix}{line.prefix}" if line.prefix else "every other key"
    people = [r.email for r in deployment.subscriptions() if r.lines is None or line.name in r.lines]
    anomaly = line.criteria is not None and line.criteria.fingerprint != deployment.criteria.fingerprint
    rules = f"criteria {line.criteria.fingerprint}" if line.criteria is not None else ""
    if anomaly:
        rules += " (the others' and forbid Anomaly >= 50)"
    return f"{line.name} ({where}): {judged_by(line)}; {rules}; emails to {', '.join(people)}"


def _keep(s3: Any, bucket: str, result: DemoRun, output: Path, *, results_prefix: str) -> None:
    """Copy out of the embedded bucket, before it goes, what a person looks at afterwards: each evidence image
    (`output/evidence/<path>.evidence.jpg`), every email in full (`emails.txt`), the bucket's listing."""
    try:
        # Files are overwritten, never a folder removed: --out may name a folder holding other things.
        (output / "evidence").mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(result.images):
            if image.evidence is None:
                continue
            name = image.evidence.removeprefix(results_prefix)
            target = output / "evidence" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=image.evidence)["Body"].read())
            result.images[i] = replace(image, evidence_file=str(target))
        emails = [f"Subject: {email.subject}\n\n{email.body.rstrip()}\n" for email in result.emails]
        (output / "emails.txt").write_text(f"\n{'-' * 78}\n".join(emails), encoding="utf-8")
        (output / "bucket.txt").write_text("".join(f"{key}\n" for key in result.layout), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out {output}: cannot write there: {exc.strerror or exc}") from None


def _write_report(s3: Any, bucket: str, deployment: Deployment, target: Path) -> None:
    """The QC report of today's daily record copies (the run's), fetched from the embedded S3."""
    import tempfile  # noqa: PLC0415
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from inspector.reports.engines import DuckDbEngine  # noqa: PLC0415
    from inspector.reports.fetch import fetch_records  # noqa: PLC0415
    from inspector.reports.html import render_html  # noqa: PLC0415
    from inspector.reports.model import build_report  # noqa: PLC0415
    from inspector.reports.sql import Params  # noqa: PLC0415

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="inspector-demo-report-") as scratch:
        fetch_records(s3, bucket, deployment.daily_prefix or deployment.results_prefix, Path(scratch))
        engine = DuckDbEngine(Path(scratch))
        page = render_html(
            build_report(engine, Params(since=today, until=today + timedelta(days=1), by="hour"))
        )
        engine.close()
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None


def _result(s3: Any, bucket: str, key: str, record_key: str) -> ImageResult:
    from inspector.records import ResultRecord  # noqa: PLC0415

    try:
        text = s3.get_object(Bucket=bucket, Key=record_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return ImageResult(key, None, None, "not inspected: no result record")
    record = ResultRecord.from_json(text)
    described: list[str] = []
    if record.rejection is not None:
        described = [record.rejection]
    else:
        for finding in record.evaluation().reasons:
            unit = "%" if finding.kind == "color" else ""
            observed = "not measured" if finding.observed is None else f"{round(finding.observed, 1):g}{unit}"
            rule = (
                f"{finding.rule} {finding.subject}"
                if finding.kind in ("require", "any_of", "forbid")
                else finding.rule
            )
            described.append(f"{rule} {observed}, expected {finding.expected}")
    reason, *more = described or ["every rule met"]
    findings = tuple(f.model_dump(mode="json") for f in record.findings)
    anomaly = next(
        (label for label in (record.analysis.labels if record.analysis else ()) if label.name == "Anomaly"),
        None,
    )
    boxes = tuple(
        (box.left, box.top, box.width, box.height)
        for instance in (anomaly.instances if anomaly else ())
        if (box := instance.bounding_box) is not None and instance.confidence >= 1
    )
    return ImageResult(
        key,
        record.verdict.value,
        record.destination,
        reason,
        tuple(more),
        findings,
        anomaly=anomaly.confidence if anomaly else None,
        boxes=boxes,
        evidence=record.evidence,
        line=record.line,
        detector=record.detector,
    )


def _keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)


def _is_log(line: str) -> bool:
    """A log record of the function's (EMF metric documents, the other stdout lines, are not)."""
    try:
        document = json.loads(line)
    except ValueError:
        return bool(line.strip())
    return isinstance(document, dict) and "level" in document


# --- the report ---------------------------------------------------------------------------------


def render(result: DemoRun) -> str:
    """The report for a person: the lines, the emails and the bucket in brief (in full in the output folder),
    the DLQ, the evidence images, and last the verdict table and a summary line, which stay on screen."""
    lines = [
        f"inspector demo: {len(result.images)} sample images through the whole pipeline on an embedded AWS "
        f"({result.endpoint})",
        f"criteria: {result.criteria} (fingerprint {result.fingerprint})",
        "lines (each samples folder is one):",
        *(f"  {line}" for line in result.lines),
        "",
        *_emails(result),
        "",
        *_bucket(result),
        f"DLQ: {result.dlq} message{'s' if result.dlq != 1 else ''}",
    ]
    if result.queue:
        lines.append(f"Queue: {result.queue} messages still waiting (retried after the visibility timeout)")
    lines += ["", *_table(result)]
    counts = result.counts
    summary = ", ".join(f"{counts[v]} {v}" for v in (*VERDICT_ORDER, "NOT INSPECTED") if counts[v])
    if result.report:
        lines.append(f"QC report of the run (open it in a browser): {result.report}")
    if not result.complete:
        lines.append("Not every image reached a verdict: see the function's log on stderr.")
    lines += [
        "",
        f"{len(result.images)} images: {summary}; {len(result.emails)} emails; "
        f"{result.batches} batches; {result.elapsed_seconds:.1f} s. The embedded AWS is stopped.",
    ]
    return "\n".join(lines) + "\n"


# A presigned link is some 400 characters of signature: the demo's screen shows where it points.
_LINK = re.compile(r"(https?://[^\s?]+)\?\S{40,}")


def _emails(result: DemoRun) -> list[str]:
    """How many emails went out, one of them in full (a line-4 FAIL, else the first FAIL), links shortened."""
    counts = Counter(email.verdict or "?" for email in result.emails)
    by_verdict = ", ".join(f"{counts[v]} {v}" for v in VERDICT_ORDER if counts[v])
    where = f" (each in full: {result.output / 'emails.txt'})" if result.output else ""
    lines = [
        f"Emails: {len(result.emails)} to {RECIPIENT} and each line's lead, one per image: {by_verdict}"
        + where
    ]
    fails = sorted(
        (e for e in result.emails if e.verdict == "FAIL"), key=lambda e: ("Anomaly" not in e.body, e.subject)
    )
    if fails:
        lines.append("One of them (signed links shortened):")
        lines.append(f"  Subject: {fails[0].subject}")
        body = _LINK.sub(r"\1?... (signed)", fails[0].body.rstrip("\n"))
        lines += [f"  | {line}".rstrip() for line in body.splitlines()]
    return lines


def _bucket(result: DemoRun) -> list[str]:
    """The bucket at the end in a few lines: the number of objects under each top folder."""
    tops = Counter(key.split("/", 1)[0] + "/" for key in result.layout)
    if result.images_prefix not in tops:
        tops[result.images_prefix] = 0
    listing = f"; every key: {result.output / 'bucket.txt'}" if result.output else ""
    return [
        f"Bucket s3://{result.bucket} at the end{listing}:",
        *(
            f"  {top:<12}{count} object{'s' if count != 1 else ''}"
            + ("  (empty: every upload was filed)" if top == result.images_prefix and not count else "")
            for top, count in sorted(tops.items())
        ),
    ]


def _table(result: DemoRun) -> list[str]:
    header = (
        f"IMAGE (under {result.images_prefix})",
        "LINE",
        "VERDICT",
        "DESTINATION",
        "ANOMALY (BEST BOX)",
        "MAIN REASON",
    )
    rows = [
        (
            image.key.removeprefix(result.images_prefix),
            image.line or "-",
            image.verdict or "-",
            image.destination or f"still at {image.key}",
            image.anomaly_text(),
            image.reason,
        )
        for image in result.images
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    lines = []
    for row, more in [(header, ()), *zip(rows, (image.more for image in result.images), strict=True)]:
        lines.append(
            "  ".join(f"{cell:<{width}}" for cell, width in zip(row[:5], widths, strict=True)) + f"  {row[5]}"
        )
        # Every other failing or uncertain finding, on its own line under the main reason.
        lines += [" " * (sum(widths) + 8) + f"also: {reason}" for reason in more]
    evidence = [image for image in result.images if image.evidence]
    if evidence:
        where = (
            f", copied out of the bucket before it stopped, into {result.output / 'evidence'}/:"
            if result.output is not None
            else ", beside the records:"
        )
        lines[:0] = [
            "Evidence images of every FAIL and REVIEW (the photo; the regions that decided outlined, where "
            "a detector located them)" + where,
            *(f"  {image.evidence_file or f's3://{result.bucket}/{image.evidence}'}" for image in evidence),
            "",
        ]  # fmt: skip
    return [line.rstrip() for line in lines]
