"""The criteria store's documents and where they live; pure (pydantic only), no S3.

Under the criteria prefix (`criteria/` by default), per line:

    criteria/lines.json                  the line table the stack (or the local mode) wrote: names, prefixes,
                                         detectors, and the bucket's prefixes, for the commands
    criteria/<line>/seed.json            version 0: the stack config's criteria, rewritten by every deploy
    criteria/<line>/versions/000001.json each published version, written once (If-None-Match), never changed
    criteria/<line>/current.json         the version in effect: a copy of the latest version's document

The function reads `current.json`, or `seed.json` while nothing was published; a deploy rewrites only
`seed.json` and `lines.json`, so it never undoes a publication.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, ValidationError

from inspector import constants
from inspector._validation import StrictSpec, describe
from inspector.criteria import Criteria
from inspector.errors import CriteriaError, InspectorError
from inspector.lines import DetectorName, Line, LineName, Lines

SEED_VERSION = 0
VERSION_DIGITS = 6  # versions/000042.json: listed in order by S3's lexicographic listing


class RefusedDocument(InspectorError):
    """A criteria document in the store that must not take effect; the message says why."""


class CriteriaVersion(StrictSpec):
    """One version of one line's criteria, as stored: the criteria document and who made it when."""

    line: LineName
    version: int = Field(ge=0)  # 0: the stack's seed
    fingerprint: str
    criteria: dict[str, Any]  # the criteria document as published (camelCase, validated on every read)
    published_by: str  # the publisher's AWS identity (STS caller ARN), or "stack <name>" for a seed
    # None for a seed: the stack writes the same document on every deploy, so it shows no change (and no
    # diff) while the config's criteria stay the same.
    published_at: AwareDatetime | None = None
    note: str | None = None
    restored_from: int | None = Field(default=None, ge=0)  # a rollback: the version whose criteria these are

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class LineEntry(StrictSpec):
    """What the commands need of a line: where its images and records are, which detectors judge it."""

    name: LineName
    prefix: str | None = None
    detectors: tuple[DetectorName, ...]
    custom_labels_arn: str | None = None
    reference_model: str | None = None

    def line(self) -> Line:
        return Line(
            name=self.name,
            prefix=self.prefix,
            detectors=self.detectors,
            custom_labels_arn=self.custom_labels_arn,
            reference_model=self.reference_model,
        )


class LineTable(StrictSpec):
    """`criteria/lines.json`: the deployment's lines and the bucket's layout."""

    lines: tuple[LineEntry, ...]
    images_prefix: str = constants.DEFAULT_IMAGES_PREFIX
    results_prefix: str = constants.DEFAULT_RESULTS_PREFIX
    analyzed_prefix: str = constants.DEFAULT_ANALYZED_PREFIX
    rejected_prefix: str = constants.DEFAULT_REJECTED_PREFIX
    refresh_seconds: int | None = None  # how soon the function takes up a publication

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def of(cls, lines: Lines, **fields: Any) -> LineTable:
        """The table of `lines` (criteria and recipients left out); `prefixes` as this model's fields."""
        entries = tuple(
            LineEntry(
                name=line.name,
                prefix=line.prefix,
                detectors=line.detectors,
                custom_labels_arn=line.custom_labels_arn,
                reference_model=line.reference_model,
            )
            for line in lines.all
        )
        return cls(lines=entries, **fields)

    def table(self) -> Lines:
        return Lines.of([entry.line() for entry in self.lines])


class Layout:
    """The keys of the criteria store under one prefix."""

    def __init__(self, prefix: str = constants.DEFAULT_CRITERIA_PREFIX) -> None:
        self.prefix = prefix

    @property
    def lines_key(self) -> str:
        return f"{self.prefix}lines.json"

    def current_key(self, line: str) -> str:
        return f"{self.prefix}{line}/current.json"

    def seed_key(self, line: str) -> str:
        return f"{self.prefix}{line}/seed.json"

    def versions_prefix(self, line: str) -> str:
        return f"{self.prefix}{line}/versions/"

    def version_key(self, line: str, version: int) -> str:
        if version == SEED_VERSION:
            return self.seed_key(line)
        return f"{self.versions_prefix(line)}{version:0{VERSION_DIGITS}d}.json"

    def version_of(self, key: str) -> int | None:
        """The version number a key under `versions/` names, None for another key."""
        name = key.rsplit("/", 1)[-1].removesuffix(".json")
        return int(name) if name.isdigit() and key.endswith(".json") else None


def seed_version(line: Line, *, stack: str) -> CriteriaVersion:
    """Version 0 of a line: its criteria from the stack config (or the local mode's files)."""
    if line.criteria is None:
        raise ValueError(f"line {line.name!r} has no criteria to seed")
    return CriteriaVersion(
        line=line.name,
        version=SEED_VERSION,
        fingerprint=line.criteria.fingerprint,
        criteria=line.criteria.canonical(),
        published_by=f"stack {stack}",
        published_at=None,
    )


def new_version(
    line: Line,
    criteria: Criteria,
    *,
    version: int,
    who: str,
    at: datetime,
    note: str | None = None,
    restored_from: int | None = None,
) -> CriteriaVersion:
    """A version to publish; refuses (`RefusedDocument`) criteria the line's detectors cannot judge."""
    problem = line.problem_with(criteria)
    if problem:
        raise RefusedDocument(problem)
    return CriteriaVersion(
        line=line.name,
        version=version,
        fingerprint=criteria.fingerprint,
        criteria=criteria.canonical(),
        published_by=who,
        published_at=at,
        note=note,
        restored_from=restored_from,
    )


def parse(data: bytes | str, *, where: str) -> CriteriaVersion:
    """A stored version document; `RefusedDocument` when it is not one."""
    try:
        return CriteriaVersion.model_validate_json(data)
    except ValidationError as exc:
        problems = describe(exc)
        raise RefusedDocument(
            f"{where}: not a criteria version document: {'; '.join(problems[:3])}"
        ) from None


def accept(data: bytes | str, line: Line, *, where: str) -> tuple[CriteriaVersion, Criteria]:
    """Validate a stored document for `line` as the function does before it takes effect.

    Refused (`RefusedDocument`, naming why): not JSON or not a version document, another line's, criteria
    that fail validation, a fingerprint that does not match its criteria (edited by hand, or damaged), or
    criteria the line's detectors cannot judge.
    """
    try:
        json.loads(data)
    except ValueError as exc:
        raise RefusedDocument(f"{where}: not JSON: {exc}") from None
    version = parse(data, where=where)
    if version.line != line.name:
        raise RefusedDocument(f"{where}: the document is line {version.line!r}'s, not {line.name!r}'s")
    try:
        criteria = Criteria.from_document(version.criteria)
    except CriteriaError as exc:
        raise RefusedDocument(f"{where}: {exc}") from None
    if criteria.fingerprint != version.fingerprint:
        raise RefusedDocument(
            f"{where}: its fingerprint {version.fingerprint} is not its criteria's ({criteria.fingerprint}): "
            "edited by hand or damaged"
        )
    problem = line.problem_with(criteria)
    if problem:
        raise RefusedDocument(f"{where}: {problem}")
    return version, criteria
