"""Where models and training photos live: local paths or S3 (through an injected client)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from inspector.errors import InspectorError
from inspector.reference.model import ModelError, ReferenceModel

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png"})
MAX_MODEL_BYTES: Final = 256 * 1024 * 1024


class LocationError(InspectorError, ValueError):
    """A model or image location cannot be read or written; the message says which and why."""


def split_s3(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); raises `LocationError` when it is not one."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise LocationError(f"{uri!r} is not an s3://bucket/key address")
    return bucket, key


def model_object(location: str, *, bucket: str | None = None) -> tuple[str, str]:
    """The (bucket, key) of a model given as `s3://bucket/key` or as a key in `bucket`."""
    if location.startswith("s3://"):
        return split_s3(location)
    if bucket is None:
        raise LocationError(f"{location!r} is a key, but no bucket was given")
    return bucket, location


def read_model(location: str, *, s3: Any | None = None, bucket: str | None = None) -> ReferenceModel:
    """Load a model from a file path, `s3://bucket/key`, or (with `bucket`) a key in that bucket.

    Raises `ModelError` for a file that is not a usable model, `LocationError` when it cannot be read;
    S3 failures are raised as the client raises them.
    """
    if location.startswith("s3://") or (bucket is not None and s3 is not None):
        if s3 is None:
            raise LocationError(f"{location}: an S3 client is needed to read it")
        name, key = model_object(location, bucket=bucket)
        body = s3.get_object(Bucket=name, Key=key)["Body"]
        data: bytes = body.read(MAX_MODEL_BYTES + 1)
        source = f"s3://{name}/{key}"
    else:
        path = Path(location)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LocationError(f"cannot read model {location}: {exc.strerror or exc}") from None
        source = location
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{source} is over {MAX_MODEL_BYTES >> 20} MB: not a reference model")
    return ReferenceModel.from_bytes(data, source=source)


def write_model(model: ReferenceModel, location: str, *, s3: Any | None = None) -> int:
    """Write the model file to a path or `s3://bucket/key`; returns its size in bytes."""
    data = model.to_bytes()
    if location.startswith("s3://"):
        if s3 is None:
            raise LocationError(f"{location}: an S3 client is needed to write it")
        bucket, key = split_s3(location)
        if not key or key.endswith("/"):
            raise LocationError(f"{location!r} names no object key for the model")
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/octet-stream")
    else:
        path = Path(location)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise LocationError(f"cannot write model {location}: {exc.strerror or exc}") from None
    return len(data)


def training_images(location: str, *, s3_factory: Callable[[], Any] | None = None) -> list[tuple[str, bytes]]:
    """The .jpg/.jpeg/.png photos in a folder (recursively) or under `s3://bucket/prefix`, sorted by name."""
    if location.startswith("s3://"):
        if s3_factory is None:
            raise LocationError(f"{location}: an S3 client is needed to read it")
        bucket, prefix = split_s3(location)
        s3 = s3_factory()
        keys = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
            if Path(item["Key"]).suffix.lower() in IMAGE_SUFFIXES
        ]
        return [(key, s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in sorted(keys)]
    folder = Path(location)
    if not folder.is_dir():
        raise LocationError(
            f"{location}: no such folder (give a folder of good images or s3://bucket/prefix)"
        )
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    out = []
    for path in files:
        try:
            out.append((str(path.relative_to(folder)), path.read_bytes()))
        except OSError as exc:
            raise LocationError(f"cannot read image {path}: {exc.strerror or exc}") from None
    return out
