"""The S3 side of an inspection: look at the upload, keep the result record, file the image away."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from inspector.aws import (
    error_code,
    is_conflict,
    is_not_found,
    is_precondition_failed,
    make_client,
    translate,
)
from inspector.errors import RecordConflict, RecordError
from inspector.records import ResultRecord

# The value objects here and in the pipeline are NamedTuples, not dataclasses: a dataclass compiles its
# methods from source when defined, about as much CPU at cold start as a pydantic model of eight fields
# (benchmarks/cold_import.py), and these need nothing a NamedTuple lacks.


class ObjectInfo(NamedTuple):
    """What a HEAD request says of an object, and its first bytes when they were read with it (`peek`)."""

    size: int  # bytes, the whole object's
    etag: str
    content_type: str | None = None
    metadata: Mapping[str, str] = MappingProxyType({})  # read-only: one empty mapping serves every default
    version_id: str | None = None
    last_modified: datetime | None = None  # when this version was written (HEAD's LastModified)
    start: bytes = b""  # the object's first bytes, as `S3Store.peek` read them (b"" from `head`)


class RecordVersion(NamedTuple):
    """One stored version of a result record (S3 versioning keeps every write: the key's history)."""

    version_id: str
    last_modified: datetime
    record: ResultRecord | None  # None when the stored body is not a record this version can read
    problem: str | None = None  # why it could not be read


class StoredRecord(NamedTuple):
    """A result record as read, with the ETag a write replacing it must name."""

    etag: str
    record: ResultRecord | None  # None when the stored body is not a record this version can read


class S3Store:
    """One bucket's objects, through an injected boto3 S3 client (one is made when none is given).

    Every AWS failure comes out as `TransientError`; "not found" and "changed since" are answers, not errors,
    but for a result record's write that lost to another writer's (`RecordConflict`, a `TransientError`).
    """

    def __init__(self, bucket: str, client: Any | None = None, *, endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self._client = client if client is not None else make_client("s3", endpoint_url=endpoint_url)

    def head(self, key: str) -> ObjectInfo | None:
        """The object's size, eTag and metadata; None when it does not exist."""
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, f"S3 HeadObject {key}") from exc
        return _object_info(response, size=int(response.get("ContentLength", 0)))

    def peek(self, key: str, *, length: int) -> ObjectInfo | None:
        """What `head` says, and the object's first `length` bytes (fewer when it is shorter) in `start`: one
        ranged GET where a HEAD and a ranged GET took two. None when the object does not exist.

        An empty object has no byte a range could name (S3 answers 416 InvalidRange): a HEAD then says what
        it is. The bytes and the facts come from one response, so they are of one version.
        """
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}")
            data: bytes = response["Body"].read()
        except Exception as exc:
            if is_not_found(exc):
                return None
            if error_code(exc) in {"InvalidRange", "416"}:
                return self.head(key)
            raise translate(exc, f"S3 GetObject (range) {key}") from exc
        # A ranged answer's ContentLength is the range's; the object's size follows the slash of
        # ContentRange ("bytes 0-175/48213"). Without one (a whole-object answer), it is ContentLength.
        content_range = str(response.get("ContentRange") or "")
        _, slash, total = content_range.rpartition("/")
        size = int(total) if slash and total.isdigit() else int(response.get("ContentLength", len(data)))
        return _object_info(response, size=size, start=data)

    def read_start(self, key: str, *, etag: str, length: int = 32) -> bytes:
        """The object's first `length` bytes (one ranged GET), provided it is still the version `etag`."""
        return self._read_range(key, etag=etag, byte_range=f"bytes=0-{length - 1}", what="range")

    def read_end(self, key: str, *, etag: str, length: int = 16) -> bytes:
        """The object's last `length` bytes (one ranged GET), provided it is still the version `etag`."""
        return self._read_range(key, etag=etag, byte_range=f"bytes=-{length}", what="tail")

    def _read_range(self, key: str, *, etag: str, byte_range: str, what: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key, Range=byte_range, IfMatch=etag)
            data: bytes = response["Body"].read()
        except Exception as exc:
            raise translate(exc, f"S3 GetObject ({what}) {key}") from exc
        return data

    def read_whole(self, key: str, *, etag: str) -> bytes:
        """The whole object, provided it is still the version `etag` (for evidence images)."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key, IfMatch=etag)
            data: bytes = response["Body"].read()
        except Exception as exc:
            raise translate(exc, f"S3 GetObject {key}") from exc
        return data

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Write an object (an evidence image): unconditional, as its content is the same on a retry."""
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as exc:
            raise translate(exc, f"S3 PutObject {key}") from exc

    def load_record(self, key: str) -> StoredRecord | None:
        """The result record stored at `key` and its ETag; None when there is none."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, f"S3 GetObject {key}") from exc
        etag = str(response.get("ETag", ""))
        try:
            return StoredRecord(etag, ResultRecord.from_json(body))
        except RecordError:
            # An unreadable record cannot prove anything was done: inspect again and replace it.
            return StoredRecord(etag, None)

    def save_record(self, key: str, record: ResultRecord, *, replacing: str | None) -> str:
        """Write `record` if the stored one is still the one with ETag `replacing` (None: if there is none).

        Returns the new ETag. Raises `RecordConflict` when another writer changed the record first.
        """
        condition = {"IfMatch": replacing} if replacing is not None else {"IfNoneMatch": "*"}
        try:
            response = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=record.to_json().encode(),
                ContentType="application/json",
                **condition,
            )
        except Exception as exc:
            if is_conflict(exc) or (replacing is not None and is_not_found(exc)):
                message = f"the result record {key} was written by another inspection first"
                raise RecordConflict(message) from exc
            raise translate(exc, f"S3 PutObject {key}") from exc
        return str(response["ETag"])

    def save_daily(self, key: str, record: ResultRecord) -> None:
        """Write the record's daily copy: one line of JSON (what Athena's JSON SerDe reads), its time in UTC.

        Unconditional and idempotent: the same finished record always gives the same bytes.
        """
        utc = record.model_copy(update={"inspected_at": record.inspected_at.astimezone(UTC)})
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=(utc.model_dump_json(exclude_none=True) + "\n").encode(),
                ContentType="application/json",
            )
        except Exception as exc:
            raise translate(exc, f"S3 PutObject {key}") from exc

    def copy(self, source: str, destination: str, *, info: ObjectInfo, metadata: dict[str, str]) -> None:
        """Server-side copy of exactly the inspected version (`info.etag`), adding `metadata`."""
        extra: dict[str, Any] = {}
        if info.content_type:
            extra["ContentType"] = info.content_type
        copy_source = {"Bucket": self.bucket, "Key": source}
        if info.version_id:
            copy_source["VersionId"] = info.version_id  # on a versioned bucket: exactly that version
        try:
            self._client.copy_object(
                Bucket=self.bucket,
                Key=destination,
                CopySource=copy_source,
                CopySourceIfMatch=info.etag,
                MetadataDirective="REPLACE",
                Metadata={**info.metadata, **metadata},
                **extra,
            )
        except Exception as exc:
            raise translate(exc, f"S3 CopyObject {source} -> {destination}") from exc

    def delete(self, key: str, *, etag: str) -> bool:
        """Delete the object if it is still version `etag`; False when it changed or is already gone."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except Exception as exc:
            if is_precondition_failed(exc) or is_not_found(exc):
                return False
            raise translate(exc, f"S3 DeleteObject {key}") from exc
        return True

    def discard(self, key: str) -> None:
        """Delete the object whatever its version (a marker); nothing when it is already gone."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if is_not_found(exc):
                return
            raise translate(exc, f"S3 DeleteObject {key}") from exc

    def read(self, key: str, *, version_id: str | None = None) -> tuple[bytes, str | None] | None:
        """The object's bytes and content type (a given version of it); None when it does not exist."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        try:
            response = self._client.get_object(**params)
            body: bytes = response["Body"].read()
        except Exception as exc:
            if is_not_found(exc) or error_code(exc) == "NoSuchVersion":
                return None
            raise translate(exc, f"S3 GetObject {key}") from exc
        return body, response.get("ContentType")

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix`, in S3's (lexicographic) order."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield str(item["Key"])
        except Exception as exc:
            raise translate(exc, f"S3 ListObjectsV2 {prefix}") from exc

    def versioned(self) -> bool:
        """Whether the bucket keeps every version of its objects (S3 versioning enabled)."""
        try:
            status = self._client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except Exception as exc:
            raise translate(exc, f"S3 GetBucketVersioning {self.bucket}") from exc
        return bool(status == "Enabled")

    def record_versions(self, key: str) -> list[RecordVersion]:
        """Every stored version of the result record at `key`, oldest first (delete markers left out).

        On a bucket without versioning only the current record exists."""
        found: list[tuple[str, datetime]] = []
        paginator = self._client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                for item in page.get("Versions", []):
                    if item["Key"] == key:
                        found.append((str(item["VersionId"]), item["LastModified"]))
        except Exception as exc:
            raise translate(exc, f"S3 ListObjectVersions {key}") from exc
        found.reverse()  # S3 lists a key's versions newest first; timestamps can tie within a second
        versions = []
        for version_id, modified in found:
            read = self.read(key, version_id=None if version_id == "null" else version_id)
            if read is None:
                continue  # expired or removed since it was listed
            try:
                versions.append(RecordVersion(version_id, modified, ResultRecord.from_json(read[0])))
            except RecordError as exc:
                versions.append(RecordVersion(version_id, modified, None, str(exc)))
        return versions

    def presign(self, key: str, *, expires_in: int) -> str | None:
        """A presigned GET link to the object; None when one cannot be made (no credentials)."""
        try:
            url: str = self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        except Exception:  # noqa: BLE001 - a missing link must not fail the inspection
            return None
        return url


def _object_info(response: Mapping[str, Any], *, size: int, start: bytes = b"") -> ObjectInfo:
    """An `ObjectInfo` from a HeadObject or GetObject response."""
    return ObjectInfo(
        size=size,
        etag=str(response.get("ETag", "")),
        content_type=response.get("ContentType"),
        metadata=dict(response.get("Metadata") or {}),
        version_id=response.get("VersionId"),
        last_modified=response.get("LastModified"),
        start=start,
    )
