"""`inspector local`: the whole pipeline on an embedded AWS at a loopback endpoint, judging uploads live."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from inspector.commands import EXIT_OK, UserError
from inspector.criteria import Criteria
from inspector.deployment import Deployment
from inspector.notification import printable

if TYPE_CHECKING:
    from types import FrameType

    from inspector.events import ObjectRef
    from inspector.lines import Line
    from inspector.local import LocalAws, Poller, Provisioned
    from inspector.records import ResultRecord
    from inspector.settings import Settings

# The criteria `inspector demo` judges its samples by, shipped as package data.
DEMO_CRITERIA = ("samples", "demo-criteria.yaml")
POLL_WAIT_SECONDS = 1  # SQS long poll: a verdict shows within about a second, and Ctrl-C is seen as fast
WATCH_INTERVAL_SECONDS = 0.5
# A dropped file is uploaded once its size and time have not changed for this long and no process has it
# open for writing: a writer that pauses between parts (a camera's upload, a slow copy) is not cut short.
SETTLE_SECONDS = 5.0
PARTIAL_SUFFIXES = (".part", ".tmp")  # files still being written by a browser, rsync, an editor, ...
# The detectors that run on this machine (Rekognition cannot read the embedded S3), and where the reference
# models given on the command line or in --lines are put in the embedded bucket.
LOCAL_DETECTORS = ("local", "reference")
MODELS_PREFIX = "models/"

Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "local",
        help="run the whole pipeline on an embedded AWS on this machine and judge uploads as they arrive",
        description=(
            "Start an embedded AWS (moto) at a loopback endpoint, create the bucket, queue, dead-letter "
            "queue and topic a stack would have, and run the Lambda handler on every upload under images/, "
            "printing one line per verdict. Nothing reaches a real AWS account. Ctrl-C stops; all state goes."
        ),
    )
    parser.add_argument(
        "--criteria",
        type=Path,
        metavar="FILE",
        help="criteria, YAML or JSON (default: the demo criteria shipped with inspector)",
    )
    parser.add_argument(
        "--port", type=_port, default=0, metavar="N", help="port on 127.0.0.1 (default: any free port)"
    )
    parser.add_argument(
        "--watch",
        type=Path,
        metavar="DIR",
        help="also upload every file dropped into DIR (made if missing) to images/<path below DIR>",
    )
    parser.add_argument(
        "--settle",
        type=_seconds,
        default=SETTLE_SECONDS,
        metavar="SECONDS",
        help=f"with --watch: upload a file once it has not changed for SECONDS and no process has it open "
        f"for writing (default {SETTLE_SECONDS:g})",
    )
    parser.add_argument(
        "--detector",
        choices=LOCAL_DETECTORS,
        default="local",
        help="the default line's detector (and that of --lines lines naming none): local: brightness, "
        "sharpness, contrast and colours measured with Pillow, no labels (default); reference: a model made "
        "by `inspector reference train`, given with --reference-model",
    )
    parser.add_argument(
        "--reference-model",
        type=Path,
        metavar="MODEL",
        help="with --detector reference: the model file, uploaded to the embedded bucket under "
        f"{MODELS_PREFIX} for the function to read as it would in Lambda",
    )
    parser.add_argument(
        "--lines",
        type=Path,
        metavar="FILE",
        help="product lines, YAML or JSON: a list shaped as the stack's inspector:lines (name, prefix, "
        "criteria, detectors, notify); keys under no line's prefix belong to the default line",
    )
    parser.add_argument(
        "--json-lines", action="store_true", help="print one JSON object per line instead of text"
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    # Everything that can be wrong with the arguments is found before anything starts.
    deployment, models, source = session_inputs(args)
    watch = _watch_directory(args.watch)
    session = LocalSession(
        deployment,
        models=models,
        port=args.port,
        watch=watch,
        out=out,
        json_lines=args.json_lines,
        criteria_source=source,
        settle_seconds=args.settle,
    )
    stop = threading.Event()
    with _stop_on_signals(stop), session:
        try:
            session.announce()
            session.run(stop)
        except KeyboardInterrupt:
            stop.set()
    session.say("stopped")
    return EXIT_OK


def session_inputs(args: argparse.Namespace) -> tuple[Deployment, dict[str, bytes], str]:
    """The deployment `inspector local ARGS` runs, the reference models to put in its embedded bucket
    (key -> bytes, each checked to be a model) and where the criteria came from; `UserError` when the
    arguments cannot make one."""
    criteria, source = load_criteria(args.criteria, anomaly_rule=args.detector == "reference")
    models: dict[str, bytes] = {}
    default_model = None
    if args.reference_model is not None:
        default_model = f"{MODELS_PREFIX}default.npz"
        models[default_model] = read_model_file(args.reference_model, what="--reference-model")
        if args.detector != "reference":
            raise UserError("--reference-model is only used with --detector reference")
    elif args.detector == "reference":
        raise UserError(
            "--detector reference needs --reference-model (a model made by `inspector reference train`)"
        )
    lines = load_lines(args.lines) if args.lines is not None else []
    if args.lines is not None:
        lines = [_line_with_uploaded_model(line, models, base=args.lines.parent) for line in lines]
    deployment = local_deployment(
        criteria, detector=args.detector, lines=lines, reference_model=default_model
    )
    return deployment, models, source


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM (`kill`, a service manager, a container stopping) stop the session: the
    loop ends within a poll, the embedded AWS is stopped and "stopped" is said, with exit status 0.

    The first Ctrl-C only sets `stop`: raised as KeyboardInterrupt, it could land in a finalizer that the
    garbage collector runs (an SDK file closed late), where Python reports and drops it, and the session
    would go on. A second Ctrl-C interrupts as usual (the previous handler is back), for a session that
    does not stop."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous_int)

    previous_term = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is not signal.SIG_IGN:  # a job started in the background ignores Ctrl-C: it still does
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 3600 seconds")
    return value


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535; 0 picks a free one)")
    return port


def load_criteria(path: Path | None, *, anomaly_rule: bool = False) -> tuple[Criteria, str]:
    """The criteria from `path`, else the packaged demo criteria (with `anomaly_rule`, and the reference
    detector's `forbid: Anomaly >= 50`, which the local detector could not judge); and whence."""
    if path is not None:
        return Criteria.load(path), str(path)
    resource = files("inspector").joinpath(*DEMO_CRITERIA)
    if not resource.is_file():
        raise UserError("this installation lacks the demo criteria (inspector/samples/): pass --criteria")
    with as_file(resource) as demo:
        criteria = Criteria.load(demo)
    source = "the demo criteria (inspector/" + "/".join(DEMO_CRITERIA) + ")"
    if not anomaly_rule:
        return criteria, source
    return with_anomaly_rule(criteria), f"{source} and forbid Anomaly >= 50"


def with_anomaly_rule(criteria: Criteria) -> Criteria:
    """`criteria` with `forbid: [{label: Anomaly, minConfidence: 50}]` added: the reference detector's rule
    at its model's calibrated threshold."""
    from inspector.constants import REFERENCE_LABEL  # noqa: PLC0415

    document = criteria.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    document["forbid"] = [*document.get("forbid", []), {"label": REFERENCE_LABEL, "minConfidence": 50}]
    return Criteria.from_document(document)


def read_model_file(path: Path, *, what: str) -> bytes:
    """A reference model file's bytes, checked to be one (never unpickled), for the embedded bucket."""
    from inspector.reference.files import read_model  # noqa: PLC0415 - numpy

    if path.is_dir():
        raise UserError(f"{what} {path}: a folder, not a model file (made by `inspector reference train`)")
    read_model(str(path))  # ModelError / LocationError: one line naming the file
    return path.read_bytes()


def _line_with_uploaded_model(line: Any, models: dict[str, bytes], *, base: Path) -> Any:
    """A `--lines` line whose `referenceModel` names a model file on this machine (relative to the lines
    file's folder, or as given), with it replaced by the key the file is uploaded to in the embedded bucket.
    """
    if not isinstance(line, dict):
        return line
    field = next((k for k in ("referenceModel", "reference_model") if k in line), None)
    if field is None or not isinstance(line[field], str) or not isinstance(line.get("name"), str):
        return line  # the line's own validation names what is wrong
    location: str = line[field]
    candidates = [Path(location), base / location]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise UserError(
            f"line {line['name']!r}: referenceModel {location}: no such model file on this machine; in the "
            "local mode name the file `inspector reference train` wrote (a path, relative to the lines "
            f"file's folder or the current one): it is uploaded to the embedded bucket under {MODELS_PREFIX}"
        )
    key = f"{MODELS_PREFIX}{line['name']}.npz"
    models[key] = read_model_file(found, what=f"line {line['name']!r}: referenceModel")
    return {**line, field: key}


def load_lines(path: Path) -> list[Any]:
    """The lines of a `--lines` file: a list of line documents (or `{"lines": [...]}`), not yet validated."""
    from inspector import documents  # noqa: PLC0415

    try:
        document = documents.read(path, what="lines file")
    except documents.DocumentError as exc:
        raise UserError(str(exc)) from None
    if isinstance(document, dict) and set(document) == {"lines"}:
        document = document["lines"]
    if not isinstance(document, list):
        raise UserError(f"{path}: expected a list of lines (name, prefix, criteria, ...)")
    return document


def local_deployment(
    criteria: Criteria,
    *,
    detector: Literal["local", "reference"] = "local",
    lines: list[Any] | None = None,
    reference_model: str | None = None,
) -> Deployment:
    """The deployment the local mode provisions: short timeouts, so that a retry shows within a minute,
    and the shortest criteria refresh, so that a publication shows within seconds."""
    from pydantic import ValidationError  # noqa: PLC0415

    from inspector._validation import describe  # noqa: PLC0415
    from inspector.lines import DetectorName, detectors_problem  # noqa: PLC0415
    from inspector.settings import MIN_CRITERIA_REFRESH_SECONDS  # noqa: PLC0415

    labels = criteria.detection_request().labels
    if labels and detector == "local":
        # Rekognition cannot read the embedded S3, so "add a detector that reports labels" would point
        # nowhere: say what can be done.
        raise UserError(
            "inspector local judges with the local detector (image properties measured from the pixels), "
            f"which reports no labels, but the criteria name labels ({', '.join(labels[:5])}): give "
            "quality and colour rules only (or --detector reference with its Anomaly label), or judge "
            "labels with `inspector analyze --detector rekognition --criteria FILE IMAGE...` (needs AWS "
            "credentials)"
        )
    problem = detectors_problem((DetectorName(detector),), criteria)
    if problem is not None:
        raise UserError(f"inspector local --detector {detector}: {problem}")
    # Lines without their own detectors run the default line's (and its model).
    inherited: dict[str, Any] = {"detectors": [detector]}
    if reference_model is not None:
        inherited["referenceModel"] = reference_model
    documents = [
        {**inherited, **line} if isinstance(line, dict) and "detectors" not in line else line
        for line in lines or []
    ]
    try:
        return Deployment.model_validate(
            {
                "criteria": criteria,
                "lines": documents,
                "detector": detector,
                "reference_model": reference_model,
                "criteria_refresh_seconds": MIN_CRITERIA_REFRESH_SECONDS,
                "timeout_seconds": 10,
                "batch_size": 10,
                "max_receive_count": 3,
                # The handler's logs are not for this terminal; errors are shown on stderr.
                "log_level": "ERROR",
            }
        )
    except ValidationError as exc:  # e.g. criteria naming labels, which the local detector never reports
        raise UserError("; ".join(describe(exc))) from None


def _watch_directory(path: Path | None) -> Path | None:
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise UserError(f"--watch {path}: not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--watch {path}: cannot create the directory: {exc.strerror or exc}") from None
    return path.resolve()


# --- the session --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One line of the stream: a verdict, an upload from the watched folder, or a message to be retried."""

    event: Literal["verdict", "uploaded", "retry", "dead-letter", "already-inspected"]
    time: datetime
    key: str
    verdict: str | None = None
    reason: str = ""
    destination: str | None = None
    record: str | None = None  # the result record's key
    file: str | None = None  # the watched file that was uploaded

    def text(self) -> str:
        clock = self.time.astimezone().strftime("%H:%M:%S")
        key = printable(self.key)
        if self.event == "uploaded":
            return f"{clock}  uploaded  {printable(self.file or '')} -> {key}"
        if self.event == "already-inspected":
            return f"{clock}  {'SAME':<8}  {key}  {printable(self.reason)}"
        if self.event != "verdict":
            return f"{clock}  {'RETRY' if self.event == 'retry' else 'DLQ':<8}  {key}  {self.reason}"
        reason = f"  {printable(self.reason)}" if self.reason else ""
        return f"{clock}  {self.verdict:<8}  {key}{reason}  -> {printable(self.destination or '')}"

    def document(self) -> dict[str, Any]:
        document = {
            "event": self.event,
            "time": self.time.isoformat(),
            "key": self.key,
            "verdict": self.verdict,
            "reason": self.reason or None,
            "destination": self.destination,
            "record": self.record,
            "file": self.file,
        }
        return {name: value for name, value in document.items() if value is not None}


class LocalSession:
    """The pipeline on an embedded AWS: a context manager that starts and provisions it, then stops it.

    Inside it, `poll` runs the handler once on what the queue holds and prints a line per verdict,
    `watch_once` uploads what is new in a folder, and `run` does both until a `threading.Event` is set.
    The handler, its environment variables and moto's state are the process's own: one session at a time.
    """

    _active = threading.Lock()

    def __init__(
        self,
        deployment: Deployment,
        *,
        models: Mapping[str, bytes] | None = None,
        port: int = 0,
        watch: Path | None = None,
        out: TextIO | None = None,
        errors: TextIO | None = None,
        json_lines: bool = False,
        criteria_source: str = "given",
        settle_seconds: float = SETTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deployment = deployment
        self.models = dict(models or {})  # key in the embedded bucket -> a reference model file's bytes
        self.port = port
        self.watch = watch
        self.json_lines = json_lines
        self.criteria_source = criteria_source
        self._out = out or sys.stdout
        self._errors = errors or sys.stderr
        self._write_lock = threading.Lock()
        self._stack: ExitStack | None = None
        # (record key, image eTag, inspected at) -> the event times seen: each verdict once, each upload
        # again of the same content once more ("already inspected"), no duplicate event of either. A new
        # inspection of the same bytes (a new upload on the versioned bucket) has its own time: a verdict.
        self._reported: dict[tuple[str, str | None, datetime], set[datetime | None]] = {}
        self.settle_seconds = settle_seconds
        self._clock = clock
        self._last_look: dict[Path, tuple[tuple[int, int], float]] = {}  # signature, since when
        self._uploaded: dict[Path, tuple[int, int]] = {}
        self._batches: list[tuple[dict[str, Any], Mapping[str, Any] | None]] = []

    # --- start and stop ---

    def __enter__(self) -> LocalSession:
        if not LocalSession._active.acquire(blocking=False):
            raise UserError("a local session is already running in this process")
        with ExitStack() as stack:
            stack.callback(LocalSession._active.release)
            from inspector import function  # noqa: PLC0415
            from inspector.local import LocalAws, Poller, function_process, provision  # noqa: PLC0415 - moto

            self.aws: LocalAws = stack.enter_context(LocalAws(port=self.port))
            self.provisioned: Provisioned = provision(self.aws, self.deployment)
            for key, model in self.models.items():  # where the function reads them, as in Lambda
                self.aws.client("s3").put_object(Bucket=self.provisioned.bucket, Key=key, Body=model)
            self.settings: Settings = self.deployment.settings(
                topic_arn=self.provisioned.topic_arn,
                bucket=self.provisioned.bucket,
                endpoint_url=self.aws.endpoint_url,
            )
            self.function_name = "handler.lambda_handler"  # what Lambda calls `inspector.function` by
            # The function's environment: fake credentials only, the embedded endpoint, the deployment's
            # settings.
            stack.enter_context(function_process({**self.aws.environment(), **self.settings.to_env()}))
            function.reset()  # a fresh container: it reads the settings above on its first invocation
            stack.callback(function.reset)
            self._invoke_function: Handler = function.lambda_handler
            self._handler_output = _HandlerOutput(self._errors, self._write_lock)
            self.s3 = self.aws.client("s3")
            self.sqs = self.aws.client("sqs")
            stack.callback(self.s3.close)
            stack.callback(self.sqs.close)
            self.poller: Poller = Poller(
                self.sqs,
                self.provisioned.queue_url,
                self.provisioned.queue_arn,
                self._invoke,
                batch_size=self.deployment.batch_size,
                function_timeout_seconds=self.deployment.timeout_seconds,
                region=self.aws.region,
            )
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *_: object) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    @property
    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    # --- what the session does ---

    def run(self, stop: threading.Event) -> None:
        """Judge uploads (and upload from the watched folder) until `stop` is set; returns within ~1 s."""
        halt = threading.Event()
        watcher: threading.Thread | None = None
        if self.watch is not None:
            watcher = threading.Thread(
                target=self._watch_loop, args=(self.watch, halt), name="inspector-local-watch", daemon=True
            )
            watcher.start()
        try:
            while not stop.is_set():
                self.poll(POLL_WAIT_SECONDS)
        finally:
            halt.set()
            if watcher is not None:
                watcher.join()

    def poll(self, wait_seconds: int = 0) -> list[Report]:
        """One receive (long-polling up to `wait_seconds`) and one invocation; prints and returns reports."""
        self._batches.clear()
        self.poller.poll_once(wait_seconds=wait_seconds)
        reports = [report for event, response in self._batches for report in self._judged(event, response)]
        for report in reports:
            self._emit(report)
        return reports

    def watch_once(self, directory: Path) -> list[Report]:
        """Upload each file in `directory` that is new or changed, once it is finished, to
        `images/<path below directory>`: its size and time unchanged for `settle_seconds` (seen on two looks
        at least), and no process holding it open for writing. A file is never uploaded half-written, so
        one drop gives one verdict, filed in one place."""
        now = self._clock()
        looks: dict[Path, tuple[tuple[int, int], float]] = {}
        for path in _files(directory):
            try:
                status = path.stat()
            except OSError:  # removed since it was listed
                continue
            signature = (status.st_size, status.st_mtime_ns)
            previous = self._last_look.get(path)
            looks[path] = previous if previous is not None and previous[0] == signature else (signature, now)
        reports: list[Report] = []
        for path, (signature, since) in looks.items():
            previous = self._last_look.get(path)
            if previous is None or previous[0] != signature or now - since < self.settle_seconds:
                continue  # new, changed since the last look, or not yet settled
            if self._uploaded.get(path) == signature or open_for_writing(path):
                continue
            self._uploaded[path] = signature  # also on failure: tried again only once the file changes
            key = self.settings.images_prefix + path.relative_to(directory).as_posix()
            try:
                self.s3.upload_file(str(path), self.provisioned.bucket, key)
            except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the watch
                self._error(f"cannot upload {path}: {exc}")
                continue
            report = Report("uploaded", datetime.now().astimezone(), key, file=str(path))
            self._emit(report)
            reports.append(report)
        for gone in self._uploaded.keys() - looks.keys():
            del self._uploaded[gone]  # dropped again later under the same name: a new upload
        self._last_look = looks
        return reports

    # --- what the session prints ---

    def announce(self) -> None:
        """Print where everything is and how to use it."""
        p, url, region = self.provisioned, self.endpoint_url, self.aws.region
        upload_to = f"s3://{p.bucket}/{self.settings.images_prefix}"
        environment = {k: v for k, v in self.aws.environment().items() if v is not None}
        if self.json_lines:
            document = {
                "event": "ready",
                "endpoint_url": url,
                "region": region,
                "bucket": p.bucket,
                "upload_prefix": self.settings.images_prefix,
                "queue_url": p.queue_url,
                "dlq_url": p.dlq_url,
                "topic_arn": p.topic_arn,
                "mailbox_url": p.mailbox_url,
                "criteria": self.criteria_source,
                "fingerprint": self.deployment.criteria.fingerprint,
                "lines": self._lines_documents(),
                "detector": self.deployment.detector,  # the default line's; each line's are in `lines`
                "watch": str(self.watch) if self.watch else None,
                "environment": environment,
            }
            self._write(json.dumps(document))
            return
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in environment.items())
        q = shlex.quote
        lines = [
            "inspector local: the pipeline on an embedded AWS (moto) on this machine; nothing reaches AWS.",
            "",
            f"  endpoint  {url}",
            f"  region    {region}",
            f"  bucket    {p.bucket}",
            f"  uploads   {upload_to}  (anything below it is judged)",
            f"  results   s3://{p.bucket}/{self.settings.results_prefix}<path>.json; images are filed under "
            f"{self.settings.analyzed_prefix}passed|failed|review/ or {self.settings.rejected_prefix}",
            f"  queue     {p.queue_url}",
            f"  DLQ       {p.dlq_url}  (after {self.deployment.max_receive_count} failed receives)",
            f"  topic     {p.topic_arn}",
            f"  mailbox   {p.mailbox_url}  (the topic's emails, as an SQS queue)",
            f"  criteria  {self.criteria_source}, fingerprint {self.deployment.criteria.fingerprint}; live: "
            f"published under s3://{p.bucket}/{self.deployment.criteria_prefix}<line>/, taken up within "
            f"{self.deployment.criteria_refresh_seconds} s",
            *(
                f"  line      {line['name']}: {line['uploads']}, judged by {line['judged_by']}"
                for line in self._lines_documents()
            ),
            "",
            "Upload with the AWS CLI (fake credentials moto accepts; without them the CLI would sign with",
            "your own):",
            f"  export {exports}",
            "  unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN",
            f"  aws --endpoint-url {url} s3 cp w.jpg {q(upload_to)}",
            f"  aws --endpoint-url {url} s3 ls --recursive {q(f's3://{p.bucket}/')}",
            "or with boto3:",
            "  import boto3",
            f'  s3 = boto3.client("s3", endpoint_url="{url}", region_name="{region}",',
            '                    aws_access_key_id="testing", aws_secret_access_key="testing")',
            f'  s3.upload_file("w.jpg", "{p.bucket}", "{self.settings.images_prefix}w.jpg")',
            "",
            "Change a line's criteria live, with the same exports (backtested first against its records):",
            f"  inspector criteria publish new.yaml --line default --bucket {p.bucket} --endpoint-url {url}",
            f"  inspector criteria history --line default --bucket {p.bucket} --endpoint-url {url}",
            "",
        ]
        lines += [
            "Review what lands under REVIEW (with the exports above), on a page or from the command line:",
            f"  inspector review serve --endpoint-url {url} --bucket {p.bucket} --topic-arn {q(p.topic_arn)}",
            f"  inspector review list --endpoint-url {url} --bucket {p.bucket}",
            "",
        ]
        if self.watch is not None:
            lines.append(f"Watching {self.watch}: files dropped there go to {upload_to}<path below it>.")
        lines.append("Waiting for images; Ctrl-C stops (and everything above is gone).")
        self._write("\n".join(lines))

    def _lines_documents(self) -> list[dict[str, Any]]:
        upload_to = f"s3://{self.provisioned.bucket}/{self.settings.images_prefix}"
        return [
            {
                "name": line.name,
                "uploads": f"{upload_to}{line.prefix}"
                if line.prefix
                else f"{upload_to} (under no line's prefix)",
                "detectors": list(line.detectors),
                "judged_by": judged_by(line),
                **({"reference_model": line.reference_model} if line.reference_model else {}),
            }
            for line in self.deployment.line_table.all
        ]

    def say(self, event: str) -> None:
        """A one-word event (`stopped`), as text or as `{"event": ...}`."""
        self._write(json.dumps({"event": event}) if self.json_lines else event)

    # --- internals ---

    def _invoke(self, event: dict[str, Any], context: Any) -> Mapping[str, Any]:
        # The handler writes JSON logs and EMF metrics to stdout, as Lambda wants: keep them off the
        # terminal. redirect_stdout swaps sys.stdout for the whole process, so only around the invocation;
        # our own lines go to self._out, a reference taken before.
        try:
            with contextlib.redirect_stdout(self._handler_output):
                response = self._invoke_function(event, context)
        except BaseException:
            self._batches.append((event, None))  # the whole batch fails, as in Lambda
            raise
        self._batches.append((event, response))
        return response

    def _judged(self, event: dict[str, Any], response: Mapping[str, Any] | None) -> list[Report]:
        """What became of each record of a batch: the verdicts it led to, or its retry."""
        failed = (
            None if response is None else {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        )
        reports: list[Report] = []
        for record in event["Records"]:
            refs = self._objects(record["body"])
            if failed is None or record["messageId"] in failed:
                reports.extend(self._retry(record, [ref.key for ref in refs] or ["(unreadable message)"]))
                continue
            for ref in refs:
                report = self._verdict(ref)
                if report is not None:
                    reports.append(report)
        return reports

    def _objects(self, body: str) -> list[ObjectRef]:
        from inspector.errors import MalformedEventError  # noqa: PLC0415
        from inspector.events import Inspect, parse_body  # noqa: PLC0415

        try:
            message = parse_body(body, prefix=self.settings.images_prefix, bucket=self.settings.bucket)
        except MalformedEventError:
            return []
        return list(message.objects) if isinstance(message, Inspect) else []

    def _verdict(self, ref: ObjectRef) -> Report | None:
        from inspector.storage import S3Store  # noqa: PLC0415 - botocore

        record_key = self.settings.record_key(ref.key)
        stored = S3Store(self.provisioned.bucket, self.s3).load_record(record_key)
        record = stored.record if stored is not None else None
        if record is None:
            return None  # gone before it was judged
        seen = self._reported.get((record_key, record.image.etag, record.inspected_at))
        if seen is not None:
            if ref.event_time in seen or ref.etag is None or ref.etag.strip('"') != record.image.etag:
                return None  # a duplicate event of an upload already shown
            seen.add(ref.event_time)
            from inspector.pipeline import already_inspected  # noqa: PLC0415

            destination = record.destination or ""
            return Report(
                "already-inspected",
                ref.event_time or datetime.now().astimezone(),
                ref.key,
                verdict=record.verdict.value,
                reason=already_inspected(record.verdict.value, destination),
                destination=record.destination,
                record=record_key,
            )
        self._reported[(record_key, record.image.etag, record.inspected_at)] = {ref.event_time}
        return Report(
            "verdict",
            record.inspected_at,
            ref.key,
            verdict=record.verdict.value,
            reason=main_reason(record),
            destination=record.destination,
            record=record_key,
        )

    def _retry(self, record: Mapping[str, Any], keys: list[str]) -> list[Report]:
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        limit = self.deployment.max_receive_count
        now = datetime.now().astimezone()
        if receives >= limit:
            reason = f"failed on receive {receives} of {limit}: SQS moves it to the dead-letter queue"
            return [Report("dead-letter", now, key, reason=reason) for key in keys]
        reason = (
            f"failed on receive {receives} of {limit}: SQS delivers it again in "
            f"{self.deployment.visibility_timeout_seconds} s"
        )
        return [Report("retry", now, key, reason=reason) for key in keys]

    def _watch_loop(self, directory: Path, halt: threading.Event) -> None:
        while not halt.is_set():
            try:
                self.watch_once(directory)
            except Exception as exc:  # noqa: BLE001 - the watch goes on; the server may be stopping
                self._error(f"watching {directory}: {type(exc).__name__}: {exc}")
            halt.wait(WATCH_INTERVAL_SECONDS)

    def _emit(self, report: Report) -> None:
        self._write(json.dumps(report.document(), ensure_ascii=False) if self.json_lines else report.text())

    def _write(self, text: str) -> None:
        with self._write_lock:
            self._out.write(text + "\n")
            self._out.flush()

    def _error(self, message: str) -> None:
        with self._write_lock:
            self._errors.write(f"inspector local: {printable(message)}\n")
            self._errors.flush()


def judged_by(line: Line) -> str:
    """What judges a line's images, in words: its detectors, each with what it reports."""
    from inspector.lines import DetectorName  # noqa: PLC0415

    said = {
        DetectorName.LOCAL: "the local detector (image properties from the pixels; no labels)",
        DetectorName.REFERENCE: f"the reference detector (model {line.reference_model}; label Anomaly, "
        "and image properties)",
        DetectorName.REKOGNITION: "Rekognition DetectLabels",
        DetectorName.CUSTOM_LABELS: "Rekognition Custom Labels",
    }
    return " and ".join(said[name] for name in line.detectors)


def main_reason(record: ResultRecord) -> str:
    """Why a record has its verdict, in one line: the rejection, the first failing or uncertain rule."""
    from inspector.engine import FAILING, Outcome, Verdict  # noqa: PLC0415

    if record.verdict is Verdict.REJECTED:
        return record.rejection or ""
    if record.verdict is Verdict.PASS:
        count = len(record.findings)
        return f"all {count} rule{'s' if count != 1 else ''} met" if count else "no rules"
    wanted = FAILING if record.verdict is Verdict.FAIL else frozenset({Outcome.UNCERTAIN})
    reasons = [f for f in record.findings if f.outcome in wanted]
    if not reasons:
        return ""
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return reasons[0].describe() + more


class _HandlerOutput(io.TextIOBase):
    """Where the handler's stdout goes: log lines at ERROR and above are shown on stderr, briefly; the
    rest (INFO logs, EMF metrics) is dropped."""

    def __init__(self, errors: TextIO, lock: threading.Lock) -> None:
        self._errors = errors
        self._lock = lock
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            message = _error_line(line)
            if message:
                with self._lock:
                    self._errors.write(f"inspector local: handler {message}\n")
                    self._errors.flush()
        return len(text)


def _error_line(line: str) -> str | None:
    try:
        document = json.loads(line)
    except ValueError:
        return printable(line) if line.strip() else None  # not ours: a print() somewhere
    if not isinstance(document, dict) or document.get("level") not in {"ERROR", "CRITICAL"}:
        return None
    details = [
        f"{name}={document[name]}"
        for name in ("key", "message_id", "error")
        if document.get(name) is not None
    ]
    text = f"{str(document['level']).lower()}: {document.get('message', '')}"
    return printable(text + (f" ({', '.join(details)})" if details else ""))


def open_for_writing(path: Path) -> bool:
    """Whether a process has `path` open for writing, as far as this process can see: Linux's /proc (every
    process of this user; all of them for root). False where there is no /proc: the settle time decides."""
    proc = Path("/proc")
    try:
        target = path.stat()
        pids = [entry.name for entry in os.scandir(proc) if entry.name.isdigit()]
    except OSError:
        return False
    for pid in pids:
        try:
            descriptors = list(os.scandir(proc / pid / "fd"))
        except OSError:  # gone, or not ours to look at
            continue
        for descriptor in descriptors:
            try:
                opened = os.stat(descriptor.path)
                if (opened.st_dev, opened.st_ino) != (target.st_dev, target.st_ino):
                    continue
                info = (proc / pid / "fdinfo" / descriptor.name).read_text()
            except OSError:
                continue
            flags = next((line.split()[1] for line in info.splitlines() if line.startswith("flags:")), "0")
            if int(flags, 8) & (os.O_WRONLY | os.O_RDWR):
                return True
    return False


def _files(directory: Path) -> Iterator[Path]:
    """Files below `directory`, leaving out dotfiles, dot-folders and partial files."""
    for folder, subfolders, names in os.walk(directory):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES):
                continue
            path = Path(folder, name)
            if path.is_file():
                yield path
