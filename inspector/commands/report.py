"""`inspector report`: the QC report of a period (HTML, or --json numbers, or --digest emails)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

from inspector.commands import (
    EXIT_OK,
    UserError,
    add_aws_arguments,
    aws_client,
    output_file,
    parse_s3_uri,
)
from inspector.constants import DEFAULT_COMPACT_PREFIX

LINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# `pulumi stack output --json` keys that --stack-outputs reads.
OUTPUT_WORKGROUP, OUTPUT_DATABASE, OUTPUT_TABLE = "reportsWorkgroup", "reportsDatabase", "reportsTable"
OUTPUT_COMPACT_TABLE, OUTPUT_BUCKET = "reportsCompactTable", "bucketName"


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "report",
        help="QC report of a period: counts, yield, Pareto, p-chart, review backlog (HTML or JSON)",
        description=(
            "The QC report of a period, from result records: a folder of record files (searched "
            "recursively), s3://bucket/prefix (fetched to a temporary folder, then queried with DuckDB), "
            "or --athena (the stack's Glue table, queried in its Athena workgroup). Times are UTC; the "
            "period is [since, until). Without --json or --digest, writes one self-contained HTML file."
        ),
    )
    parser.add_argument(
        "source", nargs="?", metavar="RECORDS", help="a folder of result records, or s3://bucket/prefix"
    )
    parser.add_argument(
        "--since", type=moment, metavar="WHEN", help="YYYY-MM-DD or an ISO time (default: yesterday)"
    )
    parser.add_argument(
        "--until", type=moment, metavar="WHEN", help="YYYY-MM-DD or an ISO time (default: since + 1 day)"
    )
    parser.add_argument("--line", type=line_name, metavar="LINE", help="one line only (default: every line)")
    parser.add_argument(
        "--by",
        choices=("day", "hour"),
        default=None,
        help="p-chart subgroups (default: day; hour for one day)",
    )
    parser.add_argument(
        "--out", type=output_file, metavar="FILE", help="the HTML file to write (default report.html)"
    )
    parser.add_argument("--json", action="store_true", help="print the numbers as one JSON document")
    parser.add_argument(
        "--digest",
        action="store_true",
        help="print the digest email(s) the schedule would send, one per line",
    )
    athena = parser.add_argument_group("Athena (the deployed stack)")
    athena.add_argument("--athena", action="store_true", help="query the stack's Glue table with Athena")
    athena.add_argument(
        "--workgroup", metavar="NAME", help=f"Athena workgroup (stack output {OUTPUT_WORKGROUP})"
    )
    athena.add_argument("--database", metavar="NAME", help=f"Glue database (stack output {OUTPUT_DATABASE})")
    athena.add_argument("--table", metavar="NAME", help=f"Glue table (stack output {OUTPUT_TABLE})")
    athena.add_argument(
        "--compact-table",
        metavar="NAME",
        help=f"the compacted days' Glue table (stack output {OUTPUT_COMPACT_TABLE}); with --bucket, "
        "compacted days are read from it",
    )
    athena.add_argument(
        "--bucket",
        metavar="NAME",
        help=f"the bucket whose compaction markers say which days (output {OUTPUT_BUCKET})",
    )
    athena.add_argument(
        "--stack-outputs", type=Path, metavar="FILE", help="`pulumi stack output --json` saved to a file"
    )
    parser.add_argument(
        "--compact-prefix",
        metavar="PREFIX",
        help="with s3://.../daily/: where the compacted days are (default: compact/ beside the daily prefix)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run)

    compact: argparse.ArgumentParser = commands.add_parser(
        "compact",
        help="merge each closed day's daily record copies into one Parquet file the reports read",
        description=(
            "Merge each closed UTC day's daily record copies (s3://bucket/daily/dt=DAY/) into one Parquet "
            "file (compact/dt=DAY/records.parquet, then its _SUCCESS marker), which `inspector report` and "
            "Athena read instead of the day's copies. By default: every closed day without a marker, and "
            "the last 14 days' whose copies changed since. Run it daily, after midnight UTC."
        ),
    )
    compact.add_argument("source", metavar="DAILY", help="the daily copies: s3://bucket/daily/")
    compact.add_argument(
        "--day", type=day_arg, action="append", metavar="YYYY-MM-DD", help="compact this day (repeatable)"
    )
    compact.add_argument(
        "--compact-prefix", metavar="PREFIX", help="where to write (default: compact/ beside DAILY)"
    )
    compact.add_argument("--dry-run", action="store_true", help="list the days it would compact")
    add_aws_arguments(compact)
    compact.set_defaults(run=run_compact)


def day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _prefixes(source: str, compact_prefix: str | None) -> tuple[str, str, str]:
    from inspector.settings import compact_prefix_beside  # noqa: PLC0415

    bucket, prefix = parse_s3_uri(source)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    target = compact_prefix or compact_prefix_beside(prefix)
    if not target.endswith("/"):
        target += "/"
    if target == prefix or target.startswith(prefix) or prefix.startswith(target):
        raise UserError(f"the compacted prefix {target!r} must lie apart from the daily copies' {prefix!r}")
    return bucket, prefix, target


def run_compact(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.reports.compact import compact_day, compactable_days  # noqa: PLC0415

    if not args.source.startswith("s3://"):
        raise UserError(
            "DAILY must be s3://bucket/prefix/ (the stack's daily copies, e.g. s3://BUCKET/daily/)"
        )
    bucket, prefix, target = _prefixes(args.source, args.compact_prefix)
    s3 = aws_client(args, "s3")
    now = datetime.now(UTC)
    if args.day:
        today = now.date()
        open_days = [d for d in args.day if d >= today]
        if open_days:
            raise UserError(
                f"{open_days[0]} is not closed yet (UTC): only days before today can be compacted"
            )
        days = sorted(set(args.day))
    else:
        days = compactable_days(s3, bucket, prefix, target, now=now)
    if not days:
        out.write(f"nothing to compact under s3://{bucket}/{prefix}: every closed day is compacted\n")
        return EXIT_OK
    for day in days:
        if args.dry_run:
            out.write(f"would compact {day}\n")
            continue
        done = compact_day(s3, bucket, prefix, target, day)
        out.write(f"compacted {day}: {done.records:,} records -> s3://{bucket}/{done.key}\n")
    return EXIT_OK


def moment(text: str) -> datetime:
    """An argparse type: `2026-11-28` (midnight UTC) or an ISO 8601 time (UTC when it names no offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def line_name(text: str) -> str:
    if not LINE_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a line name (a-z, 0-9 and '-', at most 63)")
    return text


def period(since: datetime | None, until: datetime | None, *, now: datetime) -> tuple[datetime, datetime]:
    """The period asked for; by default yesterday (UTC)."""
    if since is None:
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        since = today - timedelta(days=1) if until is None else until - timedelta(days=1)
    until = until or since + timedelta(days=1)
    if until <= since:
        raise UserError(f"--until ({until:%Y-%m-%d %H:%M}) must be after --since ({since:%Y-%m-%d %H:%M})")
    return since, until


def run(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.reports.model import collect, summarize  # noqa: PLC0415 - duckdb/sqlglot on demand
    from inspector.reports.sql import Params  # noqa: PLC0415

    since, until = period(args.since, args.until, now=datetime.now(UTC))
    by: Literal["day", "hour"] = args.by or ("hour" if until - since <= timedelta(days=1) else "day")
    params = Params(since=since, until=until, line=args.line, by=by)
    with tempfile.TemporaryDirectory(prefix="inspector-report-") as scratch:
        engine, note = _engine(args, Path(scratch), params)
        rows = collect(engine, params)
    report = summarize(rows, engine=engine.name)
    if args.digest:
        from inspector.reports.digest import compose_digest  # noqa: PLC0415

        source = "--athena" if args.athena else shlex.quote(args.source)
        for line in rows.lines if args.line is None else (args.line,):
            day = f"{params.since:%Y-%m-%d}"
            email = compose_digest(
                summarize(rows, engine=engine.name, line=line),
                link=None,
                link_expiry_seconds=0,
                no_link=f"on demand, none is kept; `inspector report {source} --since {day} --line {line}` "
                "writes it",
            )
            out.write(
                f"Subject: {email.subject}\nAttributes: {json.dumps(email.attributes)}\n\n{email.body}\n"
            )
        if not rows.lines:
            out.write("no images in the period, and no REVIEW waiting: no digest would be sent\n")
        return EXIT_OK
    if args.json:
        out.write(report.to_json() + "\n")
    if not args.json or args.out is not None:
        from inspector.reports.html import render_html  # noqa: PLC0415

        target = args.out or Path("report.html")
        try:
            target.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
        if not args.json:
            total = report.total
            out.write(
                f"{note}; {total.images:,} images in the period: PASS {total.verdicts['PASS']:,}, FAIL "
                f"{total.verdicts['FAIL']:,}, REVIEW {total.verdicts['REVIEW']:,}, REJECTED "
                f"{total.verdicts['REJECTED']:,}; {len(report.out_of_control)} out-of-control point(s); "
                f"REVIEW backlog {report.backlog.images:,}\nwrote {target}\n"
            )
    return EXIT_OK


def _engine(args: argparse.Namespace, scratch: Path, params: Any) -> tuple[Any, str]:
    if args.athena:
        if args.source:
            raise UserError("give either RECORDS or --athena, not both")
        from inspector.reports.engines import AthenaEngine  # noqa: PLC0415

        workgroup, database, table, outputs = _athena_names(args)
        compact_table = args.compact_table or outputs.get(OUTPUT_COMPACT_TABLE)
        bucket = args.bucket or outputs.get(OUTPUT_BUCKET)
        markers = None
        if compact_table and bucket:
            from inspector.reports.compact import compacted_days  # noqa: PLC0415

            s3 = aws_client(args, "s3")
            prefix = args.compact_prefix or DEFAULT_COMPACT_PREFIX
            markers = lambda: set(compacted_days(s3, str(bucket), prefix))  # noqa: E731
        athena = AthenaEngine(
            aws_client(args, "athena"),
            workgroup=workgroup,
            database=database,
            table=table,
            compact_table=str(compact_table) if markers else None,
            compacted=markers,
        )
        tables = f"{database}.{table}" + (f" and {database}.{compact_table}" if markers else "")
        return athena, f"Athena {workgroup}: {tables}"
    if not args.source:
        raise UserError("say where the records are: a folder, s3://bucket/prefix, or --athena")
    from inspector.reports.engines import DuckDbEngine  # noqa: PLC0415

    if args.source.startswith("s3://"):
        from inspector.reports.fetch import day_folders, fetch_compacted, fetch_records  # noqa: PLC0415
        from inspector.reports.model import BACKLOG_DAYS  # noqa: PLC0415

        bucket, prefix = parse_s3_uri(args.source)
        s3 = aws_client(args, "s3")
        last = params.until - timedelta(microseconds=1)
        # The backlog looks back BACKLOG_DAYS from the period's end: those days' records too.
        first = min(params.since, params.until - timedelta(days=BACKLOG_DAYS))
        days = (first.date(), last.date())
        compacted: set[date] = set()
        if day_folders(s3, bucket, prefix):  # the daily copies: closed days may be compacted
            _, _, target = _prefixes(args.source, args.compact_prefix)
            compacted = fetch_compacted(s3, bucket, target, scratch, days=days)
        fetched = fetch_records(s3, bucket, prefix, scratch, days=days, skip=compacted)
        engine = DuckDbEngine(scratch)
        note = f" and {len(compacted)} compacted day(s)" if compacted else ""
        return engine, f"{fetched:,} records fetched from {args.source}{note}, {engine.read:,} read"
    folder = Path(args.source)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of result records")
    engine = DuckDbEngine(folder)
    skipped = engine.skipped
    return engine, f"{engine.read:,} records read from {folder}" + (
        f" ({skipped:,} file(s) were not records and were skipped)" if skipped else ""
    )


def _athena_names(args: argparse.Namespace) -> tuple[str, str, str, dict[str, Any]]:
    outputs: dict[str, Any] = {}
    if args.stack_outputs is not None:
        try:
            outputs = json.loads(args.stack_outputs.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read stack outputs {args.stack_outputs}: {exc}") from None
        if not isinstance(outputs, dict):
            raise UserError(
                f"{args.stack_outputs} is not the JSON object `pulumi stack output --json` prints"
            )
    names = (
        args.workgroup or outputs.get(OUTPUT_WORKGROUP),
        args.database or outputs.get(OUTPUT_DATABASE),
        args.table or outputs.get(OUTPUT_TABLE),
    )
    missing = [
        flag for flag, value in zip(("--workgroup", "--database", "--table"), names, strict=True) if not value
    ]
    if missing:
        raise UserError(f"--athena needs {', '.join(missing)} (or --stack-outputs with the stack's outputs)")
    return str(names[0]), str(names[1]), str(names[2]), outputs
