"""`inspector backtest`: what new criteria would have decided on stored result records, without a detector."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from inspector.analysis import Analysis
from inspector.commands import (
    EXIT_OK,
    UserError,
    add_aws_arguments,
    aws_client,
    count_at_least,
    parse_s3_uri,
    progress,
)
from inspector.criteria import Criteria
from inspector.engine import Evaluation, Verdict, evaluate
from inspector.errors import AnalysisError, RecordError
from inspector.records import ResultRecord
from inspector.review.history import latest_of_each_inspection

# What one file or object holds: a result record, a saved analysis (no earlier verdict), or why neither.
Item = ResultRecord | Analysis | str

DEFAULT_SHOW = 20
S3_WORKERS = 8  # concurrent GETs: records are small, so listing a big prefix is latency-bound
JUDGED = (Verdict.PASS, Verdict.FAIL, Verdict.REVIEW)
FILTER_NOTE = (
    "stored analyses hold only what the original request asked for: labels outside its "
    "LabelInclusionFilters and confidences below its MinConfidence were never stored, so rules on them "
    "read as absent"
)


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "backtest",
        help="re-judge stored result records under new criteria (no detector is called)",
        description=(
            "Re-judge the analyses stored in result records under new criteria and report which verdicts "
            "would flip. RESULTS is a folder of record JSON files (searched recursively) or "
            "s3://bucket/prefix. REJECTED records stay REJECTED; unreadable records are skipped and listed."
        ),
    )
    parser.add_argument(
        "results", metavar="RESULTS", help="a folder of result records, or s3://bucket/prefix"
    )
    parser.add_argument(
        "--criteria", required=True, type=Path, metavar="NEW", help="new criteria, YAML or JSON"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--show",
        type=count_at_least(0),
        default=DEFAULT_SHOW,
        metavar="N",
        help=f"how many flipped images to list (default {DEFAULT_SHOW}; --json lists them all)",
    )
    parser.add_argument(
        "--all-versions",
        action="store_true",
        help="with s3://: every inspection of every upload, from the records' S3 versions (the history), "
        "not only the latest record of each key; reads every version",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Flip:
    key: str  # the image's key, as the record names it
    old: Verdict
    new: Verdict
    reason: str  # the finding that decides the new verdict
    # Every finding behind the new verdict reads "not measured": the stored analysis lacks what the new
    # rule needs (its request never asked for it), so the record cannot say what the image would get.
    unmeasured: bool = False

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"key": self.key, "from": self.old.value, "to": self.new.value}
        return {**document, "reason": self.reason, "not_measured": self.unmeasured}


@dataclass
class Agreement:
    """How one set of criteria agrees with people's decisions (the last decision on each record)."""

    decided: int = 0
    agree: int = 0
    escapes: int = 0  # a person said FAIL, the criteria PASS
    false_rejects: int = 0  # a person said PASS, the criteria FAIL
    review: int = 0  # the criteria left it to a person (REVIEW)

    def add(self, person: Verdict, machine: Verdict) -> None:
        self.decided += 1
        if machine is person:
            self.agree += 1
        elif machine is Verdict.REVIEW:
            self.review += 1
        elif person is Verdict.FAIL:
            self.escapes += 1
        else:
            self.false_rejects += 1

    def to_json(self) -> dict[str, int]:
        return {
            "decided": self.decided,
            "agree": self.agree,
            "escapes": self.escapes,
            "false_rejects": self.false_rejects,
            "review": self.review,
        }


@dataclass
class LineTally:
    """One product line's REVIEW load and agreement with people, for the criteria in force and tried."""

    judged: int = 0
    review_in_force: int = 0
    review_tried: int = 0
    in_force: Agreement = field(default_factory=Agreement)
    tried: Agreement = field(default_factory=Agreement)

    def to_json(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "review_load": {"in_force": self.review_in_force, "tried": self.review_tried},
            "in_force": self.in_force.to_json(),
            "tried": self.tried.to_json(),
        }


@dataclass
class Report:
    """Everything a backtest found; `records` counts the readable records, REJECTED ones included."""

    criteria: str
    records: int = 0
    rejected: int = 0
    matrix: Counter[tuple[Verdict, Verdict]] = field(default_factory=Counter)
    flips: list[Flip] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    old_criteria: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    analyses: Counter[Verdict] = field(default_factory=Counter)  # saved analyses: verdicts judged now
    lines: dict[str, LineTally] = field(default_factory=dict)  # per product line

    @property
    def flipped(self) -> int:
        """Verdicts that flip on what was measured; a flip only for want of a measure is not counted."""
        return sum(1 for flip in self.flips if not flip.unmeasured)

    @property
    def unmeasured(self) -> int:
        return sum(1 for flip in self.flips if flip.unmeasured)

    def to_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "flipped": self.flipped,
            "not_measured": self.unmeasured,
            "analyses": {v.value: n for v, n in self.analyses.items() if n},
            "rejected": self.rejected,
            "matrix": {f"{a}->{b}": n for (a, b), n in _ordered(self.matrix) if a is not b},
            "unchanged": {a.value: n for (a, b), n in _ordered(self.matrix) if a is b},
            "flips": [flip.to_json() for flip in self.flips],
            "skipped": [{"key": where, "reason": why} for where, why in self.skipped],
            "criteria": self.criteria,
            "old_criteria": dict(self.old_criteria.most_common()),
            "lines": {name: tally.to_json() for name, tally in sorted(self.lines.items())},
            "notes": self.notes,
        }


def run(args: argparse.Namespace, out: TextIO) -> int:
    criteria = Criteria.load(args.criteria)
    report = backtest(_load(args), criteria)
    if args.json:
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        out.write(text(report, show=args.show))
    return EXIT_OK


def backtest(records: Iterator[tuple[str, Item]], criteria: Criteria) -> Report:
    """Re-judge each record's stored analysis under `criteria`. Pure: no detector, no I/O.

    `records` yields (where, record) or (where, why it could not be read).
    """
    report = Report(criteria=criteria.fingerprint)
    seen: set[str] = set()  # every label name and alias in the stored analyses, case-folded
    without_properties = 0
    for where, record in records:
        if isinstance(record, str):
            report.skipped.append((where, record))
            continue
        if isinstance(record, Analysis):
            report.analyses[evaluate(record, criteria).verdict] += 1
            continue
        report.records += 1
        report.old_criteria[record.criteria] += 1
        if record.verdict is Verdict.REJECTED or record.analysis is None:
            report.rejected += 1  # nothing was analysed: no criteria can judge it otherwise
            continue
        for label in record.analysis.candidate_labels():
            seen.add(label.name.casefold())
            seen.update(alias.casefold() for alias in label.aliases)
        if record.analysis.image_properties is None:
            without_properties += 1
        new = evaluate(record.analysis, criteria)
        _tally(report.lines.setdefault(record.line, LineTally()), record, new.verdict)
        report.matrix[record.verdict, new.verdict] += 1
        if new.verdict is not record.verdict:
            unmeasured = bool(new.reasons) and all(f.observed is None for f in new.reasons)
            flip = Flip(record.image.key, record.verdict, new.verdict, _reason(record, new), unmeasured)
            report.flips.append(flip)
    report.notes = _notes(report, criteria, seen, without_properties)
    return report


def _tally(tally: LineTally, record: ResultRecord, tried: Verdict) -> None:
    """Count a judged record's REVIEW load and, when a person decided it, the agreement with them.

    "In force" is the verdict the record was judged with; "tried" is the criteria under test.
    """
    tally.judged += 1
    tally.review_in_force += record.verdict is Verdict.REVIEW
    tally.review_tried += tried is Verdict.REVIEW
    if record.decisions:
        person = record.decisions[-1].after
        tally.in_force.add(person, record.verdict)
        tally.tried.add(person, tried)


def _reason(record: ResultRecord, new: Evaluation) -> str:
    if new.reasons:
        return new.reasons[0].describe()
    before = record.evaluation().reasons
    was = f"; was: {before[0].describe()}" if before else ""
    return f"every rule is met now{was}"


def _notes(report: Report, criteria: Criteria, seen: set[str], without_properties: int) -> list[str]:
    notes = []
    if len(report.old_criteria) > 1:
        mixed = ", ".join(f"{fp}: {n}" for fp, n in report.old_criteria.most_common())
        notes.append(
            f"mixed criteria: the records were judged under {len(report.old_criteria)} different criteria "
            f"({mixed}), so flips compare against more than one old rule set"
        )
    elif set(report.old_criteria) == {criteria.fingerprint}:
        notes.append("the records were judged under these very criteria: any flip comes from the engine")
    judged = report.records - report.rejected
    never = [name for name in criteria.label_names() if name.casefold() not in seen]
    if judged and never:
        notes.append(
            f"no stored analysis has the label(s) {', '.join(never)}: if the original requests filtered "
            "them out, the rules naming them read as absent, not as judged"
        )
    if without_properties and (criteria.quality is not None or criteria.colors):
        notes.append(
            f"{without_properties} record(s) stored no image properties (their request did not ask for "
            "them): quality and colour rules read as not measured there"
        )
    notes.append(FILTER_NOTE)
    return notes


def text(report: Report, *, show: int) -> str:
    lines = [f"backtest under criteria {report.criteria}"]
    old = ", ".join(report.old_criteria) if len(report.old_criteria) == 1 else "mixed, see the notes"
    judged = report.records - report.rejected
    old = old if report.old_criteria else "nothing"
    if report.records or not report.analyses:
        lines.append(
            f"  {report.records} records (judged under {old}): {judged} re-judged, "
            f"{report.rejected} REJECTED left as they are, {len(report.skipped)} skipped as unreadable"
        )
        unmeasured = (
            f" ({report.unmeasured} more only because a rule reads 'not measured': the stored analysis "
            "lacks what it needs, so the record cannot tell)"
            if report.unmeasured
            else ""
        )
        lines.append(f"  {report.flipped} of {judged - report.unmeasured} verdicts flip{unmeasured}")
    if report.analyses:
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(report.analyses.items(), key=lambda i: i[0].value))
        total = sum(report.analyses.values())
        lines.append(
            f"  {total} saved analyses (no earlier verdict to compare): judged now {verdicts}; "
            "`inspector evaluate` shows their findings"
        )
    if judged:
        lines.append("")
        lines.extend(_matrix_lines(report.matrix))
    if report.flips:
        lines.append("")
        shown = report.flips[:show]
        lines.append(f"flipped images ({len(shown)} of {len(report.flips)}):")
        width = max(len(f.key) for f in shown) if shown else 0
        lines.extend(
            f"  {f.key:<{width}}  {f.old} -> {f.new}: {f.reason}{'  (not measured)' if f.unmeasured else ''}"
            for f in shown
        )
        if len(report.flips) > len(shown):
            lines.append(f"  ... and {len(report.flips) - len(shown)} more (--show N, or --json for all)")
    lines.extend(_agreement_lines(report))
    if report.skipped:
        lines.append("")
        lines.append(f"skipped ({len(report.skipped)}):")
        lines.extend(f"  {where}: {why}" for where, why in report.skipped)
    lines.append("")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines) + "\n"


def _agreement_lines(report: Report) -> list[str]:
    decided = sum(t.in_force.decided for t in report.lines.values())
    if not report.lines:
        return []
    lines = [
        "",
        f"agreement with people's decisions ({decided} decided record(s)) and REVIEW load, per line:",
    ]
    header = ("line", "criteria", "decided", "agree", "escapes", "false rejects", "to REVIEW", "REVIEW load")
    rows = []
    for name, t in sorted(report.lines.items()):
        for which, a, load in (
            ("in force", t.in_force, t.review_in_force),
            ("tried", t.tried, t.review_tried),
        ):
            share = f"{load} of {t.judged} ({100 * load / t.judged:.0f}%)" if t.judged else "0"
            rows.append((name if which == "in force" else "", which, str(a.decided), str(a.agree),
                         str(a.escapes), str(a.false_rejects), str(a.review), share))  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines.extend(
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
    lines.append(
        "  escapes: a person said FAIL, the criteria PASS; false rejects: a person said PASS, the criteria "
        "FAIL; in force: the verdicts the records were judged with; tried: the criteria given"
    )
    return lines


def _ordered(matrix: Counter[tuple[Verdict, Verdict]]) -> list[tuple[tuple[Verdict, Verdict], int]]:
    """The non-zero cells, PASS, FAIL, REVIEW order."""
    rank = {v: i for i, v in enumerate(Verdict)}
    return sorted(
        ((k, n) for k, n in matrix.items() if n), key=lambda item: (rank[item[0][0]], rank[item[0][1]])
    )


def _matrix_lines(matrix: Counter[tuple[Verdict, Verdict]]) -> list[str]:
    flips = [f"{a} -> {b}: {n}" for (a, b), n in _ordered(matrix) if a is not b]
    header = "  old \\ new " + "".join(f"{v.value:>8}" for v in JUDGED)
    rows = [f"  {a.value:<10}" + "".join(f"{matrix[a, b]:>8}" for b in JUDGED) for a in JUDGED]
    return [f"flips: {', '.join(flips) or 'none'}", header, *rows]


# --- reading records ---------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Iterator[tuple[str, Item]]:
    if args.results.startswith("s3://"):
        if args.all_versions:
            return _every_inspection(args, *parse_s3_uri(args.results))
        return _from_s3(args, *parse_s3_uri(args.results))
    if args.all_versions:
        raise UserError("--all-versions reads the records' S3 versions: give s3://bucket/prefix")
    return _from_folder(Path(args.results))


def _parse(data: bytes) -> Item:
    """A result record; else a saved analysis (a DetectLabels answer, as `inspector evaluate` reads);
    else why it is neither."""
    try:
        return ResultRecord.from_json(data)
    except RecordError as exc:
        try:
            return Analysis.from_json(data)
        except AnalysisError:
            return str(exc)


def _from_folder(root: Path) -> Iterator[tuple[str, Item]]:
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*.json") if p.is_file())
        if not files:
            raise UserError(f"{root}: no result records or saved analyses (*.json) in this folder")
    else:
        raise UserError(f"cannot read results {root}: no such file or folder")

    def read(path: Path) -> tuple[str, Item]:
        try:
            return str(path), _parse(path.read_bytes())
        except OSError as exc:
            return str(path), f"cannot read: {exc.strerror or exc}"

    return progress(map(read, files), total=len(files), description="backtest")


def _from_s3(args: argparse.Namespace, bucket: str, prefix: str) -> Iterator[tuple[str, Item]]:
    s3 = aws_client(args, "s3")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(".json")
    ]
    if not keys:
        raise UserError(f"no result records (*.json) under s3://{bucket}/{prefix}")

    def fetch(key: str) -> tuple[str, Item]:
        try:
            data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return key, "deleted since it was listed"
        return key, _parse(data)

    def fetched() -> Iterator[tuple[str, Item]]:
        # boto3 clients are thread-safe; map keeps the listing's order. Any other failure (access denied)
        # ends the command with one line: it would hit every record alike.
        with ThreadPoolExecutor(max_workers=S3_WORKERS) as pool:
            yield from pool.map(fetch, keys)

    return progress(fetched(), total=len(keys), description="backtest")


def _every_inspection(
    args: argparse.Namespace, bucket: str, prefix: str
) -> Iterator[tuple[str, ResultRecord | str]]:
    """Each inspection's last state among every version of every record under the prefix (the history:
    earlier uploads of a key, and the decisions on them, included)."""
    s3 = aws_client(args, "s3")
    versions: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Versions", []):
            if item["Key"].endswith(".json"):
                versions.setdefault(item["Key"], []).append(item["VersionId"])
    if not versions:
        raise UserError(f"no result records (*.json) under s3://{bucket}/{prefix}")
    wanted = [(key, version) for key, listed in versions.items() for version in reversed(listed)]

    def fetch(item: tuple[str, str]) -> ResultRecord | str:
        key, version = item
        try:
            data: bytes = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return "deleted since it was listed"
        parsed = _parse(data)
        # Under results/ only records count: a saved analysis there has no inspection to compare with.
        return "a saved analysis, not a result record" if isinstance(parsed, Analysis) else parsed

    with ThreadPoolExecutor(max_workers=S3_WORKERS) as pool:
        read = list(progress(pool.map(fetch, wanted), total=len(wanted), description="versions"))
    by_key: dict[str, list[ResultRecord]] = {}
    for (key, version), record in zip(wanted, read, strict=True):
        if isinstance(record, str):
            yield f"{key}?versionId={version}", record
        else:
            by_key.setdefault(key, []).append(record)  # oldest first: S3 lists a key's newest first
    for key, snapshots in by_key.items():
        for record in latest_of_each_inspection(snapshots):
            yield f"{key}@{record.inspected_at.isoformat()}", record
