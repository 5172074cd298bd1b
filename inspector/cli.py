"""The `inspector` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from inspector import __version__
from inspector.analysis import Analysis
from inspector.commands import EXIT_OK, EXIT_USAGE, Parser, UserError, aws_failure
from inspector.criteria import Criteria
from inspector.engine import Evaluation, Outcome, evaluate
from inspector.errors import InspectorError

# Sub-command modules under inspector/commands/, each with `register(commands)`.
COMMANDS = (
    "demo",
    "local",
    "analyze",
    "backtest",
    "enqueue",
    "redrive",
    "review",
    "report",
    "reference",
    "stack",
)


_MARKS = {
    Outcome.MET: "ok",
    Outcome.CLEAR: "ok",
    Outcome.UNCERTAIN: "??",
    Outcome.UNMET: "XX",
    Outcome.VIOLATED: "XX",
}


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per kind of failure
    if sys.stdout is None or sys.stdout.closed:  # started with stdout closed (`inspector ... >&-`)
        _error("standard output is closed: nothing could be written (give it a file or a pipe)")
        return EXIT_USAGE
    try:
        args = _parser().parse_args(argv)
        status: int = args.run(args, sys.stdout)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's own flush at exit
    except BrokenPipeError:
        # The reader went away (`| head -1`): the Python docs' "Note on SIGPIPE". Point stdout at devnull
        # so that the interpreter's last flush cannot fail again, and say so once.
        _stdout_to_devnull()
        _error("the output was closed before all of it was written (e.g. by `| head`)")
        return EXIT_USAGE
    except InspectorError as exc:
        cause = exc.__cause__
        if cause is not None and _from_the_sdk(cause) and " failed: " in str(exc):
            # An adapter's TransientError ("Rekognition DetectLabels failed: ...") around an SDK failure: say
            # what failed, and why in words a person can act on.
            _error(f"{str(exc).split(' failed: ', 1)[0]} failed: {aws_failure(cause)}")
        else:
            _error(_one_line(str(exc)))
        return EXIT_USAGE
    except OSError as exc:
        # The file system said no where a command reads or writes a file the user named (a folder for a
        # file, no permission, a full disk): the user's to fix.
        where = f" {exc.filename}" if exc.filename else ""
        _error(f"{exc.strerror or type(exc).__name__}:{where}".rstrip(":"))
        return EXIT_USAGE
    except Exception as exc:
        # AWS SDK failures (no credentials, unreachable endpoint, access denied, no such bucket) are the
        # user's to fix: one line, not a traceback. botocore is only imported by commands that use AWS.
        if not _from_the_sdk(exc):
            raise
        _error(aws_failure(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return status


def _from_the_sdk(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in {"botocore", "boto3", "s3transfer"}


def _error(message: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed too: the status says it
        print(f"inspector: error: {message}", file=sys.stderr, flush=True)


def _stdout_to_devnull() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):  # a stdout without a descriptor (tests)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="inspector", description="Automated visual quality control: QC criteria, verdicts, tools."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    ev = commands.add_parser(
        "evaluate",
        help="judge saved analyses (raw DetectLabels responses) under a criteria file",
        description="Judge saved analyses under a criteria file. Exit 0 whatever the verdict.",
    )
    ev.add_argument("--criteria", required=True, type=Path, metavar="FILE", help="criteria, YAML or JSON")
    ev.add_argument("analyses", nargs="+", type=Path, metavar="ANALYSIS.json", help="DetectLabels response")
    ev.add_argument("--json", action="store_true", help="print JSON (one object per analysis, one per line)")
    ev.set_defaults(run=_evaluate)

    criteria = commands.add_parser("criteria", help="work with criteria files")
    criteria_commands = criteria.add_subparsers(title="commands", required=True, metavar="COMMAND")
    check = criteria_commands.add_parser(
        "check",
        help="validate a criteria file (or each line's in a stack file) and print what each detector is sent",
    )
    check.add_argument("file", type=Path, metavar="FILE", help="a criteria file, or a Pulumi stack file")
    check.add_argument(
        "--detector",
        choices=("rekognition", "custom-labels", "reference", "local"),
        help="the detector the criteria are for (default: reference for criteria naming only Anomaly, else "
        "rekognition); a stack file names each line's",
    )
    check.set_defaults(run=_criteria_check)
    importlib.import_module("inspector.commands.criteria").register(criteria_commands)
    for name in COMMANDS:
        importlib.import_module(f"inspector.commands.{name}").register(commands)
    return parser


def _evaluate(args: argparse.Namespace, out: TextIO) -> int:
    criteria = Criteria.load(args.criteria)
    for path in args.analyses:
        evaluation = evaluate(_read_analysis(path), criteria)
        if args.json:
            out.write(json.dumps(_evaluation_json(evaluation)) + "\n")
        else:
            out.write(_evaluation_text(path, evaluation))
    return EXIT_OK


def _read_analysis(path: Path) -> Analysis:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read analysis {path}: {exc.strerror or exc}") from None
    try:
        return Analysis.from_json(text)
    except InspectorError as exc:
        raise UserError(f"{path}: {exc}") from None


def _evaluation_json(evaluation: Evaluation) -> dict[str, object]:
    return {
        "verdict": evaluation.verdict.value,
        "findings": [f.model_dump(mode="json") for f in evaluation.findings],
        "criteria": evaluation.criteria,
    }


def _evaluation_text(path: Path, evaluation: Evaluation) -> str:
    lines = [f"{path}: {evaluation.verdict}  (criteria {evaluation.criteria})"]
    width = max((len(f.rule) for f in evaluation.findings), default=0)
    subject_width = max((len(f.subject) for f in evaluation.findings), default=0)
    for f in evaluation.findings:
        if f.observed is None:
            observed = "not measured"
        elif f.kind in ("require", "any_of", "forbid") and f.observed == 0:
            observed = "not seen"
        else:
            observed = f"{round(f.observed, 1):g}"
        if f.matched:
            observed += f" ({f.matched})"
        lines.append(
            f"  {_MARKS[f.outcome]} {f.rule:<{width}}  {f.subject:<{subject_width}}  "
            f"expected {f.expected}; observed {observed}: {f.outcome}"
        )
    return "\n".join(lines) + "\n"


def _criteria_check(args: argparse.Namespace, out: TextIO) -> int:
    from inspector import documents  # noqa: PLC0415
    from inspector.constants import REFERENCE_LABEL  # noqa: PLC0415
    from inspector.lines import DetectorName, detectors_problem  # noqa: PLC0415

    try:
        document = documents.read(args.file, what="criteria file")
    except documents.DocumentError as exc:
        raise UserError(str(exc)) from None
    if isinstance(document, dict) and set(document) == {"config"}:
        if args.detector is not None:
            raise UserError("--detector is for a criteria file: a stack file names each line's detectors")
        return _stack_criteria_check(args.file, out)
    criteria = Criteria.load(args.file)
    request = criteria.detection_request()
    if args.detector is not None:
        detector = DetectorName(args.detector)
    elif request.labels and {n.casefold() for n in request.labels} == {REFERENCE_LABEL.casefold()}:
        detector = DetectorName.REFERENCE  # only the reference detector reports Anomaly
    else:
        detector = DetectorName.REKOGNITION
    problem = detectors_problem((detector,), criteria, labels_elsewhere="check them with another --detector")
    if problem is not None:
        raise UserError(f"{args.file} with --detector {detector}: {problem}")
    out.write(f"{args.file}: valid criteria, fingerprint {criteria.fingerprint}\n")
    chosen = "given" if args.detector is not None else "assumed; --detector to choose another"
    out.write(f"detector: {detector} ({chosen})\n")
    out.write("".join(f"{line}\n" for line in _requests((detector,), criteria, custom_labels_arn=None)))
    return EXIT_OK


def _stack_criteria_check(path: Path, out: TextIO) -> int:
    """Each line's criteria in a stack file, with its detectors and the request each detector sends."""
    from inspector.stack import load_stack_file  # noqa: PLC0415

    deployment = load_stack_file(path)  # StackConfigError names each bad key
    table = deployment.line_table
    out.write(
        f"{path}: valid criteria on each of its {len(table)} lines (seeds; live criteria replace them)\n"
    )
    for line in table.all:
        assert line.criteria is not None  # noqa: S101 - a stack gives every line its seed
        where = (
            f"{deployment.images_prefix}{line.prefix}" if line.prefix else "every key under no line's prefix"
        )
        out.write(
            f"line {line.name} ({where}): fingerprint {line.criteria.fingerprint}; "
            f"detectors {', '.join(line.detectors)}\n"
        )
        requests = _requests(line.detectors, line.criteria, custom_labels_arn=line.custom_labels_arn)
        out.write("".join(f"  {text}\n" for text in "\n".join(requests).splitlines()))
    return EXIT_OK


def _requests(detectors: Sequence[str], criteria: Criteria, *, custom_labels_arn: str | None) -> list[str]:
    """What each detector is sent for these criteria: Rekognition's requests as JSON, and a sentence for a
    detector that sends none (the reference and local ones judge the photo in the function)."""
    request = criteria.detection_request()
    said: list[str] = []
    for name in detectors:
        if name == "rekognition":
            said.append("DetectLabels request (Image is added per object):")
            said.append(json.dumps(request.detect_labels_params(), indent=2))
            if request.labels and not request.inclusion_filter:
                said.append(
                    "note: the labels cannot all go in Rekognition's LabelInclusionFilters "
                    "(over 100, or a name it refuses); every label will be requested instead"
                )
        elif name == "custom-labels":
            params: dict[str, object] = {"ProjectVersionArn": custom_labels_arn or "<--model-arn>"}
            if request.min_confidence is not None:
                params["MinConfidence"] = request.min_confidence
            said.append("DetectCustomLabels request (Image is added per object):")
            said.append(json.dumps(params, indent=2))
        elif name == "reference":
            said.append(
                "reference: no request leaves the function; the model reports Anomaly (50 = its calibrated "
                "threshold) with its regions, and the image's quality and colours"
            )
        else:
            said.append("local: no request; image properties measured from the pixels, no labels")
    return said


def _one_line(message: str) -> str:
    return " ".join(message.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
