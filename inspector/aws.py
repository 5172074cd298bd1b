"""What the AWS adapters share: client construction and the sorting of AWS errors into outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from inspector.errors import ImageRejected, TransientError

# Standard retry mode: exponential backoff with jitter, retrying throttling and 5xx. A few attempts inside
# the function; beyond that SQS redelivery (after the visibility timeout) is the slower, safer retry.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=3, read_timeout=10
)


def make_client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client with this project's retry and timeout policy; boto3 is imported only here."""
    import boto3  # noqa: PLC0415 - keeps `import inspector.aws` cheap for code that injects clients

    config = CLIENT_CONFIG
    if service == "s3":
        # SigV4 presigned links (SigV2 is deprecated), addressed to the bucket's own host name.
        config = config.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    factory: Any = boto3.client  # typed per service by boto3-stubs; `service` is any of them here
    return factory(service, config=config, endpoint_url=endpoint_url, region_name=region)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore `ClientError`, else None."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in {"404", "NoSuchKey", "NotFound"}


def is_precondition_failed(exc: BaseException) -> bool:
    return error_code(exc) in {"412", "PreconditionFailed"}


def translate(exc: BaseException, what: str, *, rejecting: Mapping[str, str] | None = None) -> Exception:
    """Sort an AWS failure: a code in `rejecting` means the image itself is refused; all else is transient.

    Unknown errors count as transient on purpose: a retried message ends in the dead-letter queue with its
    image untouched, while a wrongly rejected image would be filed away without a real inspection.
    """
    code = error_code(exc)
    if code is not None and rejecting and code in rejecting:
        message = exc.response.get("Error", {}).get("Message", "") if isinstance(exc, ClientError) else ""
        detail = f" ({message})" if message else ""
        return ImageRejected(f"{rejecting[code]}{detail}")
    if isinstance(exc, ClientError):
        return TransientError(f"{what} failed: {code}: {exc.response.get('Error', {}).get('Message', '')}")
    if isinstance(exc, BotoCoreError):
        return TransientError(f"{what} failed: {type(exc).__name__}: {exc}")
    return TransientError(f"{what} failed: {type(exc).__name__}: {exc}")
