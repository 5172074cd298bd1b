"""Sub-commands of the `inspector` command line, and what they share.

Each module defines `register(commands)`, adding its parser to the `argparse` sub-parsers with `run` set
to a function `(args, out) -> exit status`. Heavy imports (boto3, moto, Pillow) happen inside those
functions, so that `inspector --help` stays instant.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar
from urllib.parse import urlsplit

from inspector.errors import InspectorError

EXIT_OK = 0
EXIT_USAGE = 2  # a user error: bad arguments, missing file, bad criteria, unreachable endpoint; one line

T = TypeVar("T")


class UserError(InspectorError):
    """A mistake in how the command was called or what it was pointed at: one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (`inspector evaluate: error: ... (see ... --help)`), exit 2.

    Sub-parsers are made of the parent's class, so every sub-command, present or future, reports this way."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """`--endpoint-url` and `--region`, so that every AWS command also works against the local mode."""
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        type=endpoint_url,
        help="an AWS endpoint to use instead of AWS's own, e.g. the one `inspector local` prints",
    )
    parser.add_argument(
        "--region", metavar="REGION", type=region, help="AWS region (default: from your AWS configuration)"
    )


def endpoint_url(text: str) -> str:
    """An argparse `type`: an http(s) URL with a host (and a valid port, if any)."""
    example = "e.g. http://127.0.0.1:4566"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is the check ("port out of range", "invalid")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({exc}); {example}") from None
    if "://" not in text:
        raise argparse.ArgumentTypeError(f"{text!r} has no scheme: did you mean http://{text}?")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host; {example}")
    return text


_REGION = re.compile(r"[a-z]{2}(-[a-z]+){1,2}-[0-9]{1,2}")


def region(text: str) -> str:
    """An argparse `type`: an AWS region name botocore knows (`eu-west-1`), else the closest ones."""
    known = _known_regions()
    if _REGION.fullmatch(text) and (not known or text in known):
        return text
    close = difflib.get_close_matches(text.lower(), sorted(known), n=3, cutoff=0.6)
    hint = f": did you mean {' or '.join(close)}?" if close else ", e.g. eu-west-1"
    raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region{hint}")


@functools.cache
def _known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data; empty when botocore is not installed."""
    try:
        from botocore.loaders import create_loader  # noqa: PLC0415 - only when --region is given
    except ImportError:
        return frozenset()
    data = create_loader().load_data("endpoints")
    return frozenset(
        name for partition in data.get("partitions", []) for name in partition.get("regions", {})
    )


def output_file(text: str) -> Path:
    """An argparse `type` for a file the command writes: not a folder, in a folder that exists."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name to write")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path.parent} does not exist: cannot write {path.name} there")
    return path


def output_folder(text: str) -> Path:
    """An argparse `type` for a folder the command writes into, made when missing: not a file, and its
    parent must exist (checked before any work, not when the results are ready)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder: give a folder to write into")
    if not path.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path.parent} does not exist: cannot make {path.name} there")
    return path


def count_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse `type` for a whole number of `minimum` or more ("expected 1 or more, got 0")."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
        return value

    return count


def confirm(question: str, out: TextIO, *, refusal: str) -> bool:
    """Ask `question` on the terminal (y/N); without a terminal, refuse with `refusal` rather than guess."""
    if not sys.stdin.isatty():
        raise UserError(f"{refusal}: pass --yes to confirm (stdin is not a terminal)")
    out.write(f"{question} [y/N] ")
    out.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def aws_client(args: argparse.Namespace, service: str) -> Any:
    """A boto3 client for `service`, honouring --endpoint-url and --region."""
    from inspector.aws import make_client  # noqa: PLC0415 - boto3 only when a command needs AWS

    return make_client(
        service, endpoint_url=getattr(args, "endpoint_url", None), region=getattr(args, "region", None)
    )


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise UserError(f"{uri!r} is not an s3://bucket/prefix address")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise UserError(f"{uri!r} names no bucket")
    return bucket, prefix


def progress(
    items: Iterable[T], *, total: int | None, description: str, out: TextIO = sys.stderr
) -> Iterator[T]:
    """Items, with a progress bar on stderr when it is a terminal and there are several of them."""
    show = out.isatty() and (total is None or total > 1)
    if not show:
        yield from items
        return
    from tqdm import tqdm  # noqa: PLC0415 - the cli extra's progress bar

    yield from tqdm(items, total=total, desc=description, file=out, unit="img")


# What the SDK raises when it finds no credentials, or cannot use the ones it found.
_NO_CREDENTIALS = frozenset(
    {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "NoAuthTokenError"}
)
_UNREACHABLE = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
)
_BAD_CREDENTIALS = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    }
)
NO_CREDENTIALS = (
    "no AWS credentials found: configure some (`aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY), or, against `inspector local`, export the fake ones it prints"
)


def aws_failure(exc: BaseException) -> str:  # noqa: PLR0911 - one sentence per kind of failure
    """One line a person can act on for an AWS SDK failure (botocore, boto3, s3transfer), whatever the
    command: no credentials, no region, an endpoint that does not answer, a refusal with its code."""
    from inspector.aws import error_code  # noqa: PLC0415

    kind = type(exc).__name__
    text = " ".join(str(exc).split())
    if kind in _NO_CREDENTIALS:
        return NO_CREDENTIALS
    if kind == "NoRegionError":
        return "no AWS region: pass --region, or set AWS_REGION (or a region in your AWS profile)"
    if kind in _UNREACHABLE:
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        return f"cannot reach {endpoint}: is it up, and is --endpoint-url right? ({kind})"
    code = error_code(exc)
    if code is None:
        return f"{kind}: {text}"
    operation = getattr(exc, "operation_name", None) or "the request"
    response = getattr(exc, "response", {}) or {}
    message = " ".join(str(response.get("Error", {}).get("Message", "")).split())
    detail = f": {message}" if message else ""
    if code in _BAD_CREDENTIALS:
        return f"AWS did not accept the credentials in use ({code}{detail}): check or renew them"
    if code in {"AccessDenied", "AccessDeniedException", "403", "Forbidden"}:
        return f"AWS refused {operation}: access denied{detail} (the credentials in use lack the permission)"
    if code in {"NoSuchBucket", "404", "NotFound", "NoSuchKey"}:
        return f"{operation}: not found ({code}{detail}): check the bucket and key"
    return f"AWS refused {operation}: {code}{detail}"
