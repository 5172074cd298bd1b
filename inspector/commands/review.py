"""`inspector review list|decide|serve` and `inspector history`: people's decisions and each key's history."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from inspector import constants as c
from inspector.commands import EXIT_OK, UserError, add_aws_arguments, aws_client
from inspector.engine import Verdict
from inspector.settings import Layout

if TYPE_CHECKING:
    from inspector.review.desk import ReviewDesk

EXIT_CONFLICT = 3  # another decision (or a new upload) was recorded first: nothing was changed
DEFAULT_PORT = 8765


def register(commands: Any) -> None:
    review = commands.add_parser(
        "review",
        help="decide images awaiting review (REVIEW), override verdicts, or open the review page",
        description="People's decisions: list what awaits review, decide, or serve the review page.",
    )
    sub = review.add_subparsers(title="commands", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="images filed under REVIEW that nobody decided yet, oldest first")
    _common(listing)
    listing.add_argument("--line", metavar="NAME", help="only this product line")
    listing.set_defaults(run=_list)

    decide = sub.add_parser(
        "decide",
        help="record a person's PASS or FAIL on an image and re-file it (also overrides a PASS or FAIL)",
        description=(
            "Record a decision (with your AWS identity, from STS), re-file the image under the decided "
            f"verdict and notify the topic. Exit {EXIT_CONFLICT} when another decision was recorded first."
        ),
    )
    decide.add_argument("key", metavar="KEY", help="the image's key as uploaded, e.g. images/line-1/w1.jpg")
    decide.add_argument("--verdict", required=True, choices=["PASS", "FAIL"], type=str.upper)
    decide.add_argument("--note", default="", metavar="TEXT", help="why (kept in the history)")
    _common(decide, topic=True)
    decide.set_defaults(run=_decide)

    serve = sub.add_parser(
        "serve",
        help="open the review page on this machine (127.0.0.1), acting with your own AWS credentials",
    )
    _common(serve, topic=True, json_output=False)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    serve.set_defaults(run=_serve)

    history = commands.add_parser(
        "history",
        help="every inspection and decision of an image key, oldest first",
        description="Every inspection of every upload of KEY and every decision on it, oldest first.",
    )
    history.add_argument("key", metavar="KEY", help="the image's key as uploaded, e.g. images/line-1/w1.jpg")
    _common(history)
    history.set_defaults(run=_history)


def _common(parser: argparse.ArgumentParser, *, topic: bool = False, json_output: bool = True) -> None:
    parser.add_argument(
        "--bucket",
        default=os.environ.get(c.ENV_BUCKET),
        metavar="NAME",
        help=f"the stack's bucket (`pulumi stack output bucketName`; default ${c.ENV_BUCKET})",
    )
    if topic:
        parser.add_argument(
            "--topic-arn",
            default=os.environ.get(c.ENV_TOPIC_ARN),
            metavar="ARN",
            help=f"the verdict topic decisions are announced on (`pulumi stack output topicArn`; "
            f"default ${c.ENV_TOPIC_ARN})",
        )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON")
    add_aws_arguments(parser)


def _desk(args: argparse.Namespace) -> ReviewDesk:
    from inspector.review import aws  # noqa: PLC0415 - boto3 only when a command needs AWS

    if not args.bucket:
        raise UserError(f"which bucket? pass --bucket NAME or set {c.ENV_BUCKET}")
    topic = getattr(args, "topic_arn", None)
    if hasattr(args, "topic_arn") and not topic:
        raise UserError(
            f"decisions are announced on the verdict topic: pass --topic-arn ARN or set {c.ENV_TOPIC_ARN}"
        )
    return aws.desk(
        layout(),
        bucket=args.bucket,
        topic_arn=topic,
        s3=aws_client(args, "s3"),
        sns=aws_client(args, "sns") if topic else None,
        sts=aws_client(args, "sts"),
    )


def layout() -> Layout:
    """The bucket's layout, from the function's own `INSPECTOR_*_PREFIX` variables when they are set."""
    from pydantic import ValidationError  # noqa: PLC0415

    from inspector._validation import describe  # noqa: PLC0415
    from inspector.errors import SettingsError  # noqa: PLC0415
    from inspector.settings import ENV_NAMES  # noqa: PLC0415

    document: dict[str, str | None] = {
        field: os.environ[ENV_NAMES[field]]
        for field in Layout.model_fields
        if os.environ.get(ENV_NAMES[field])
    }
    # A decision rewrites the record's daily copy where there is one: the stack's default place, unless
    # the variable says otherwise (empty: the stack keeps no daily copies).
    daily = os.environ.get(ENV_NAMES["daily_prefix"])
    document["daily_prefix"] = c.DEFAULT_DAILY_PREFIX if daily is None else (daily or None)
    try:
        return Layout.model_validate(document)
    except ValidationError as exc:
        problems = []
        for line in describe(exc):
            field, _, message = line.partition(": ")
            problems.append(f"{ENV_NAMES.get(field, field)}: {message}")
        raise SettingsError("invalid prefix settings: " + "; ".join(problems)) from None


def _list(args: argparse.Namespace, out: TextIO) -> int:
    pending = _desk(args).queue(line=args.line)
    if args.json:
        items = [
            {
                "key": p.key,
                "line": p.record.line,
                "inspected_at": p.record.inspected_at.isoformat(),
                "filed": p.record.destination,
                "criteria": p.record.criteria,
                "why": [f.describe() for f in p.record.evaluation().reasons],
                "etag": p.etag.strip('"'),
            }
            for p in pending
        ]
        out.write(json.dumps({"pending": items, "count": len(items)}, indent=2) + "\n")
        return EXIT_OK
    if not pending:
        out.write("nothing awaits review" + (f" on line {args.line}" if args.line else "") + "\n")
        return EXIT_OK
    rows = [
        (p.record.line, p.record.inspected_at.isoformat(timespec="seconds"), p.key,
         "; ".join(f.describe() for f in p.record.evaluation().reasons))
        for p in pending
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [("LINE", "INSPECTED", "IMAGE", ""), *rows]) for i in range(3)]
    for row in [("LINE", "INSPECTED", "IMAGE", "WHY"), *rows]:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + f"  {row[3]}\n"
        )
    per_line: dict[str, int] = {}
    for p in pending:
        per_line[p.record.line] = per_line.get(p.record.line, 0) + 1
    counts = ", ".join(f"{name}: {n}" for name, n in sorted(per_line.items()))
    out.write(f"{len(pending)} image(s) await review ({counts}), oldest first\n")
    return EXIT_OK


def _decide(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.review import DecisionConflict  # noqa: PLC0415

    desk = _desk(args)
    try:
        outcome = desk.decide(args.key, Verdict(args.verdict), note=args.note)
    except DecisionConflict as exc:
        print(f"inspector: conflict: {exc}", file=sys.stderr)
        return EXIT_CONFLICT
    d = outcome.decision
    if args.json:
        document = {
            "key": outcome.key,
            "before": d.before.value,
            "after": d.after.value,
            "who": d.who,
            "at": d.at.isoformat(),
            "note": d.note,
            "filed": outcome.destination,
            "moved": outcome.moved,
            "notified": outcome.notified,
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        where = f"re-filed at {outcome.destination}" if outcome.moved else f"stays at {outcome.destination}"
        out.write(f"{outcome.key}: {d.before} -> {d.after} by {d.who}; {where}\n")
    return EXIT_OK


def _history(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.review.history import text  # noqa: PLC0415

    desk = _desk(args)
    events = desk.history(args.key)
    versioned = desk.store.versioned()
    if args.json:
        document = {"key": args.key, "versioned": versioned, "events": [e.to_json() for e in events]}
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(text(args.key, events, versioned=versioned))
    return EXIT_OK


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.review.web import create_app, serve  # noqa: PLC0415 - Flask only for the page

    if not _is_loopback(args.host):
        print(
            f"inspector: warning: listening on {args.host}, not only this machine: anyone who reaches it "
            "decides with your AWS credentials",
            file=sys.stderr,
        )
    desk = _desk(args)
    who = desk.who()  # fails early, with one line, when the credentials do not work
    hosts = None if _is_loopback(args.host) else [args.host]
    try:
        server = serve(create_app(desk, hosts=hosts), host=args.host, port=args.port)
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    out.write(f"review page: http://{args.host}:{server.server_port}/  (deciding as {who}; Ctrl-C stops)\n")
    out.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return EXIT_OK


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
