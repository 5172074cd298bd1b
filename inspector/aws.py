"""What the AWS adapters share: client construction and the sorting of AWS errors into outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from inspector.errors import ImageRejected, TransientError

# botocore is imported only where a client is made: importing it costs a cold start ~40 ms, and the
# handler makes its clients on the first invocation, not at import. Errors are recognised by shape.

# Standard retry mode: exponential backoff with jitter, retrying throttling and 5xx. A few attempts inside
# the function; beyond that SQS redelivery (after the visibility timeout) is the slower, safer retry.
RETRY_MODE: Final = "standard"
TOTAL_MAX_ATTEMPTS: Final = 4
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10


def make_client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client with this project's retry and timeout policy; boto3 is imported only here."""
    import boto3  # noqa: PLC0415 - keeps `import inspector.aws` cheap for code that injects clients

    factory: Any = boto3.client  # typed per service by boto3-stubs; `service` is any of them here
    config = client_config(service, custom_endpoint=endpoint_url is not None)
    return factory(service, config=config, endpoint_url=endpoint_url, region_name=region)


def client_config(service: str, *, custom_endpoint: bool = False) -> Any:
    """This project's botocore `Config` for `service`: retry policy, timeouts, S3 signing."""
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        retries={"mode": RETRY_MODE, "total_max_attempts": TOTAL_MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    if service == "s3":
        # SigV4 presigned links (SigV2 is deprecated), addressed to the bucket's own host name on AWS; an
        # endpoint of one's own (the local mode, `localhost`) serves buckets by path.
        style: Literal["path", "virtual"] = "path" if custom_endpoint else "virtual"
        config = config.merge(Config(signature_version="s3v4", s3={"addressing_style": style}))
    return config


def _error(exc: BaseException) -> Mapping[str, Any] | None:
    """The `Error` part of a botocore `ClientError`'s response, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping) and isinstance(response.get("Error"), Mapping):
        error: Mapping[str, Any] = response["Error"]
        return error
    return None


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore `ClientError`, else None."""
    error = _error(exc)
    code = error.get("Code") if error is not None else None
    return str(code) if code is not None else None


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in {"404", "NoSuchKey", "NotFound"}


def is_precondition_failed(exc: BaseException) -> bool:
    return error_code(exc) in {"412", "PreconditionFailed"}


def is_conflict(exc: BaseException) -> bool:
    """A conditional write lost: the precondition failed, or a concurrent conditional write won (409)."""
    return is_precondition_failed(exc) or error_code(exc) == "ConditionalRequestConflict"


def translate(exc: BaseException, what: str, *, rejecting: Mapping[str, str] | None = None) -> Exception:
    """Sort an AWS failure: a code in `rejecting` means the image itself is refused; all else is transient.

    Unknown errors count as transient on purpose: a retried message ends in the dead-letter queue with its
    image untouched, while a wrongly rejected image would be filed away without a real inspection.
    """
    error = _error(exc)
    if error is None:
        return TransientError(f"{what} failed: {type(exc).__name__}: {exc}")
    code = error_code(exc)
    message = str(error.get("Message", ""))
    if code is not None and rejecting and code in rejecting:
        detail = f" ({message})" if message else ""
        return ImageRejected(f"{rejecting[code]}{detail}")
    return TransientError(f"{what} failed: {code}: {message}")
