"""`inspector criteria publish|history|rollback`: a line's live criteria, changed only through a backtest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from inspector import constants
from inspector.commands import (
    EXIT_OK,
    UserError,
    add_aws_arguments,
    aws_client,
    confirm,
    count_at_least,
    progress,
)
from inspector.commands.backtest import DEFAULT_SHOW, backtest, list_records, read_records, text
from inspector.criteria import Criteria

if TYPE_CHECKING:
    from inspector.lines import Line, Lines
    from inspector.livecriteria.documents import CriteriaVersion, LineTable
    from inspector.livecriteria.store import CriteriaStore

DEFAULT_RECORDS = 200  # the line's most recent result records a publication is backtested against


def register(commands: Any) -> None:
    """Add publish, history and rollback to the `inspector criteria` sub-commands."""
    publish = commands.add_parser(
        "publish",
        help="backtest criteria against a line's recent records, then publish them live (asks first)",
        description=(
            "Backtest FILE against the line's most recent result records (which verdicts would flip, and "
            "why), then, once confirmed, publish it as the line's next criteria version. The function "
            "takes it up within its refresh interval, without a deployment. Refuses criteria that fail "
            "validation or that the line's detectors cannot judge."
        ),
    )
    publish.add_argument("file", type=Path, metavar="FILE", help="the new criteria, YAML or JSON")
    _common(publish)
    _gate_arguments(publish)
    publish.add_argument("--note", metavar="TEXT", help="why: kept with the version in its history")
    publish.set_defaults(run=run_publish)

    history = commands.add_parser(
        "history",
        help="list a line's criteria versions: fingerprint, who published each, when",
        description="List a line's criteria versions, the stack's seed (version 0) first; * marks the one "
        "in effect.",
    )
    _common(history)
    history.add_argument("--json", action="store_true", help="print one JSON document")
    history.set_defaults(run=run_history)

    rollback = commands.add_parser(
        "rollback",
        help="publish an earlier version's criteria again (the one before the current by default)",
        description=(
            "Restore an earlier version of a line's criteria: its criteria are published as a new version "
            "(history is never rewritten), after the same backtest and confirmation as publish."
        ),
    )
    _common(rollback)
    rollback.add_argument(
        "--to", type=count_at_least(0), metavar="VERSION", help="the version to restore (0: the seed)"
    )
    _gate_arguments(rollback)
    rollback.set_defaults(run=run_rollback)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--line", required=True, metavar="LINE", help="the line's name (default: keys under no line)"
    )
    parser.add_argument(
        "--bucket",
        required=True,
        metavar="BUCKET",
        help="the stack's bucket (pulumi stack output bucketName)",
    )
    parser.add_argument(
        "--criteria-prefix",
        default=constants.DEFAULT_CRITERIA_PREFIX,
        metavar="PREFIX",
        help=f"where the stack keeps criteria in the bucket (default {constants.DEFAULT_CRITERIA_PREFIX})",
    )
    add_aws_arguments(parser)


def _gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--records",
        type=count_at_least(1),
        default=DEFAULT_RECORDS,
        metavar="N",
        help=f"backtest against the line's N most recent result records (default {DEFAULT_RECORDS})",
    )
    parser.add_argument(
        "--show", type=count_at_least(0), default=DEFAULT_SHOW, metavar="N", help="flipped images to list"
    )
    parser.add_argument("--yes", action="store_true", help="publish without asking (for scripts)")


# --- the commands ------------------------------------------------------------------------------------


def run_publish(args: argparse.Namespace, out: TextIO) -> int:
    criteria = Criteria.load(args.file)
    return _gate_and_publish(args, out, criteria, note=args.note, restored_from=None)


def run_rollback(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.livecriteria.documents import RefusedDocument, accept  # noqa: PLC0415

    store, table, line = _open(args)
    current = _current(store, line)
    if current is None or current.version == 0:
        raise UserError(f"line {line.name!r}: nothing was published, so there is nothing to roll back")
    numbers = [0, *store.version_numbers(line.name)]
    target = args.to if args.to is not None else max((n for n in numbers if n < current.version), default=0)
    if target not in numbers:
        raise UserError(
            f"line {line.name!r} has no version {target} (versions: {', '.join(map(str, numbers))})"
        )
    if target == current.version:
        raise UserError(f"version {target} is the one in effect: nothing to roll back")
    key = store.layout.version_key(line.name, target)
    found = store.get(key)
    body = getattr(found, "body", None)
    if body is None:
        raise UserError(f"version {target} of line {line.name!r} is gone from s3://{store.bucket}/{key}")
    try:
        _, criteria = accept(body, line, where=key)
    except RefusedDocument as exc:
        raise UserError(f"version {target} cannot be restored: {exc}") from None
    out.write(
        f"rolling line {line.name!r} back from version {current.version} to version {target}'s criteria\n"
    )
    return _gate_and_publish(
        args,
        out,
        criteria,
        note=f"rollback to version {target}",
        restored_from=target,
        opened=(store, table, line),
    )


def run_history(args: argparse.Namespace, out: TextIO) -> int:
    store, _, line = _open(args)
    current = _current(store, line)
    in_effect = current.version if current is not None else None
    entries = store.history(line.name)
    if args.json:
        document = [
            {"version": e[0], "error": e[1]}
            if isinstance(e, tuple)
            else {
                **json.loads(e.model_dump_json(exclude={"criteria"}, exclude_none=True)),
                "current": e.version == in_effect,
            }
            for e in entries
        ]
        out.write(
            json.dumps({"line": line.name, "current": in_effect, "versions": document}, indent=2) + "\n"
        )
        return EXIT_OK
    out.write(f"criteria of line {line.name!r} in s3://{store.bucket}/{store.layout.prefix}{line.name}/\n")
    rows = [("", "VERSION", "FINGERPRINT", "PUBLISHED BY", "AT", "NOTE")]
    for entry in entries:
        if isinstance(entry, tuple):
            rows.append(("", str(entry[0]), "?", "", "", f"unreadable: {entry[1]}"))
            continue
        mark = "*" if entry.version == in_effect else ""
        note = entry.note or ""
        if entry.version == 0:
            note = "the stack's seed" + (f"; {note}" if note else "")
        elif in_effect is not None and entry.version > in_effect:
            note = "never in effect (its publication did not complete)" + (f"; {note}" if note else "")
        at = entry.published_at.isoformat(timespec="seconds") if entry.published_at else "(each deploy)"
        rows.append((mark, str(entry.version), entry.fingerprint, entry.published_by, at, note))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        out.write(
            ("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + f"  {row[5]}").rstrip()
            + "\n"
        )
    if in_effect == 0 and len(entries) > 1:
        out.write("note: the seed is in effect although versions exist: current.json is missing\n")
    return EXIT_OK


# --- shared ------------------------------------------------------------------------------------------


def _open(args: argparse.Namespace) -> tuple[CriteriaStore, LineTable, Line]:
    from inspector.livecriteria.documents import Layout, RefusedDocument  # noqa: PLC0415
    from inspector.livecriteria.store import CriteriaStore  # noqa: PLC0415

    store = CriteriaStore(args.bucket, aws_client(args, "s3"), layout=Layout(args.criteria_prefix))
    try:
        table = store.line_table()
    except RefusedDocument as exc:
        raise UserError(str(exc)) from None
    if table is None:
        raise UserError(
            f"no criteria store in s3://{args.bucket}/{args.criteria_prefix} ({store.layout.lines_key} is "
            "missing): is this the stack's bucket, deployed with live criteria? (--criteria-prefix)"
        )
    try:
        line = table.table().named(args.line)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    return store, table, line


def _current(store: CriteriaStore, line: Line) -> CriteriaVersion | None:
    from inspector.livecriteria.documents import RefusedDocument  # noqa: PLC0415

    try:
        return store.current(line.name)
    except RefusedDocument as exc:
        print(f"inspector: warning: the current document is refused: {exc}", file=sys.stderr)
        return None


def _gate_and_publish(
    args: argparse.Namespace,
    out: TextIO,
    criteria: Criteria,
    *,
    note: str | None,
    restored_from: int | None,
    opened: tuple[CriteriaStore, LineTable, Line] | None = None,
) -> int:
    from inspector.livecriteria.store import PublishConflict  # noqa: PLC0415

    store, table, line = opened or _open(args)
    problem = line.problem_with(criteria)
    if problem:
        raise UserError(problem)
    current = _current(store, line)
    if current is not None and current.fingerprint == criteria.fingerprint and restored_from is None:
        out.write(
            f"line {line.name!r} already judges by these criteria ({criteria.fingerprint}, version "
            f"{current.version}): nothing to publish\n"
        )
        return EXIT_OK
    keys = recent_records(store, table, line, args.records)
    if keys:
        records = progress(
            read_records(store.client, store.bucket, keys), total=len(keys), description="backtest"
        )
        report = backtest(records, criteria)
        out.write(f"backtest against line {line.name!r}'s {len(keys)} most recent result records:\n")
        out.write(text(report, show=args.show))
    else:
        out.write(f"line {line.name!r} has no result records yet: nothing to backtest against\n")
    was = f"version {current.version} ({current.fingerprint})" if current is not None else "nothing"
    question = f"Publish criteria {criteria.fingerprint} for line {line.name!r} (in effect now: {was})?"
    if not args.yes and not confirm(
        question, out, refusal=f"not publishing criteria for line {line.name!r} unconfirmed"
    ):
        out.write("nothing published\n")
        return EXIT_OK
    who = caller_identity(args)
    try:
        version = store.publish(line, criteria, who=who, note=note, restored_from=restored_from)
    except PublishConflict as exc:
        raise UserError(str(exc)) from None
    delay = f"within {table.refresh_seconds} s" if table.refresh_seconds else "at its next refresh"
    out.write(
        f"published version {version.version} of line {line.name!r} ({version.fingerprint}) as {who}; "
        f"the function takes it up {delay}, without a deployment\n"
    )
    return EXIT_OK


def recent_records(store: CriteriaStore, table: LineTable, line: Line, limit: int) -> list[str]:
    """The keys of the line's `limit` most recent result records (by their last write), newest first."""
    lines: Lines = table.table()
    prefix = f"{table.results_prefix}{line.prefix or ''}"
    foreign = [f"{table.results_prefix}{p}" for p in lines.foreign_prefixes(line)]
    items = [
        item
        for item in list_records(store.client, store.bucket, prefix)
        if not any(str(item["Key"]).startswith(other) for other in foreign)
    ]
    items.sort(key=lambda item: item.get("LastModified") or 0, reverse=True)
    return [str(item["Key"]) for item in items[:limit]]


def caller_identity(args: argparse.Namespace) -> str:
    """Who is publishing: the caller's AWS identity (STS GetCallerIdentity, which needs no permission)."""
    arn: str = aws_client(args, "sts").get_caller_identity()["Arn"]
    return arn
