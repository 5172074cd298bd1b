"""The criteria store on S3: read (conditionally), list, publish. Takes an injected boto3 S3 client."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inspector.aws import error_code, is_conflict, is_not_found, make_client, translate
from inspector.criteria import Criteria
from inspector.errors import InspectorError
from inspector.lines import Line
from inspector.livecriteria.documents import (
    SEED_VERSION,
    CriteriaVersion,
    Layout,
    LineTable,
    RefusedDocument,
    new_version,
    parse,
)


class PublishConflict(InspectorError):
    """Another publication of the same line happened meanwhile; nothing was changed by this one."""


@dataclass(frozen=True)
class Stored:
    """An object of the store as read: its bytes and its ETag."""

    key: str
    body: bytes
    etag: str


class NotModified:
    """The object still has the ETag the reader named (HTTP 304)."""


NOT_MODIFIED = NotModified()


class CriteriaStore:
    """One bucket's criteria store under `layout.prefix` (`inspector.livecriteria.documents`)."""

    def __init__(self, bucket: str, client: Any | None = None, *, layout: Layout | None = None) -> None:
        self.bucket = bucket
        self.layout = layout or Layout()
        self._client = client if client is not None else make_client("s3")

    @property
    def client(self) -> Any:
        """The S3 client it reads and writes with (the commands read result records with it too)."""
        return self._client

    # --- reading ---

    def get(self, key: str, *, unless: str | None = None) -> Stored | NotModified | None:
        """The object at `key`; `NOT_MODIFIED` when its ETag is still `unless`; None when there is none."""
        condition = {"IfNoneMatch": unless} if unless else {}
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key, **condition)
            body: bytes = response["Body"].read()
        except Exception as exc:
            if error_code(exc) in {"304", "NotModified"}:
                return NOT_MODIFIED
            if is_not_found(exc):
                return None
            raise translate(exc, f"S3 GetObject {key}") from exc
        return Stored(key, body, str(response.get("ETag", "")))

    def version_numbers(self, line: str) -> list[int]:
        """The published versions of a line, oldest first (the seed not included)."""
        prefix = self.layout.versions_prefix(line)
        numbers: list[int] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    number = self.layout.version_of(str(item["Key"]))
                    if number is not None:
                        numbers.append(number)
        except Exception as exc:
            raise translate(exc, f"S3 ListObjectsV2 {prefix}") from exc
        return sorted(numbers)

    def read_version(self, line: str, version: int) -> CriteriaVersion | None:
        """One version's document (0: the seed); None when there is none. `RefusedDocument` if unreadable."""
        key = self.layout.version_key(line, version)
        found = self.get(key)
        if not isinstance(found, Stored):
            return None
        return parse(found.body, where=key)

    def current(self, line: str) -> CriteriaVersion | None:
        """The version in effect (the seed while nothing was published); None when there is neither."""
        for key in (self.layout.current_key(line), self.layout.seed_key(line)):
            found = self.get(key)
            if isinstance(found, Stored):
                return parse(found.body, where=key)
        return None

    def history(self, line: str) -> list[CriteriaVersion | tuple[int, str]]:
        """Every version, the seed first: the document, or (version, why it cannot be read)."""
        found: list[CriteriaVersion | tuple[int, str]] = []
        for number in [SEED_VERSION, *self.version_numbers(line)]:
            try:
                version = self.read_version(line, number)
            except RefusedDocument as exc:
                found.append((number, str(exc)))
                continue
            if version is not None:
                found.append(version)
        return found

    def line_table(self) -> LineTable | None:
        found = self.get(self.layout.lines_key)
        if not isinstance(found, Stored):
            return None
        try:
            return LineTable.model_validate_json(found.body)
        except ValueError as exc:
            raise RefusedDocument(f"{self.layout.lines_key}: not a line table: {exc}") from None

    # --- writing ---

    def write_line_table(self, table: LineTable) -> None:
        self._put(self.layout.lines_key, table.to_json())

    def write_seed(self, version: CriteriaVersion) -> None:
        """The stack's seed (version 0): rewritten by every deploy, in effect only until a publication."""
        if version.version != SEED_VERSION:
            raise ValueError("a seed is version 0")
        self._put(self.layout.seed_key(version.line), version.to_json())

    def publish(
        self,
        line: Line,
        criteria: Criteria,
        *,
        who: str,
        note: str | None = None,
        restored_from: int | None = None,
        now: datetime | None = None,
    ) -> CriteriaVersion:
        """Publish `criteria` as the line's next version and make it current.

        The version's own object is written first, and only if no object has its number (If-None-Match);
        then `current.json`, only if it is still the one read at the start (If-Match), so two publishers
        racing never both win: the loser gets `PublishConflict` and changed nothing in effect.
        """
        current_key = self.layout.current_key(line.name)
        found = self.get(current_key)
        expected = found.etag if isinstance(found, Stored) else None
        number = max([0, *self.version_numbers(line.name)]) + 1
        if isinstance(found, Stored):
            with contextlib.suppress(RefusedDocument):  # a damaged current.json is replaced by this one
                number = max(number, parse(found.body, where=current_key).version + 1)
        version = new_version(
            line,
            criteria,
            version=number,
            who=who,
            at=now or datetime.now(UTC),
            note=note,
            restored_from=restored_from,
        )
        body = version.to_json()
        self._put(self.layout.version_key(line.name, number), body, if_none_match=True)
        self._put(current_key, body, if_match=expected, if_none_match=expected is None)
        return version

    def _put(self, key: str, body: str, *, if_match: str | None = None, if_none_match: bool = False) -> None:
        condition: dict[str, str] = {}
        if if_match is not None:
            condition["IfMatch"] = if_match
        elif if_none_match:
            condition["IfNoneMatch"] = "*"
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/json", **condition
            )
        except Exception as exc:
            if condition and (is_conflict(exc) or is_not_found(exc)):
                raise PublishConflict(
                    f"{key} changed while publishing (another publication of this line?): nothing new is in "
                    "effect; look at `inspector criteria history` and try again"
                ) from exc
            raise translate(exc, f"S3 PutObject {key}") from exc
