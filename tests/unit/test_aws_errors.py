"""Sorting AWS failures into outcomes (the image is refused, or a retry may help) and client construction."""

from __future__ import annotations

import socket

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from inspector.aws import (
    error_code,
    is_conflict,
    is_not_found,
    is_precondition_failed,
    make_client,
    translate,
)
from inspector.commands import aws_failure
from inspector.detectors.rekognition import REJECTIONS
from inspector.errors import ImageRejected, TransientError

WHAT = "Rekognition DetectLabels"


def client_error(
    code: str, message: str = "details from AWS", operation: str = "DetectLabels"
) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# --- error_code, is_not_found, is_precondition_failed ------------------------------------------------------


def test_error_code_is_the_code_of_a_client_error() -> None:
    assert "ThrottlingException" == error_code(client_error("ThrottlingException"))


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
        RuntimeError("boom"),
        ClientError({"Error": {"Message": "no code"}}, "HeadObject"),
        ClientError({}, "HeadObject"),
    ],
    ids=[
        "endpoint-connection",
        "read-timeout",
        "not-botocore",
        "client-error-without-code",
        "empty-response",
    ],
)
def test_error_code_is_none_without_an_aws_error_code(exc: BaseException) -> None:
    assert None is error_code(exc)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("404", True),
        ("NoSuchKey", True),
        ("NotFound", True),
        ("403", False),
        ("AccessDenied", False),
        ("412", False),
        ("NoSuchBucket", False),
    ],
    ids=["http-404", "no-such-key", "not-found", "http-403", "access-denied", "http-412", "no-such-bucket"],
)
def test_is_not_found_recognises_a_missing_object(code: str, expected: bool) -> None:
    assert expected == is_not_found(client_error(code, operation="HeadObject"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [("412", True), ("PreconditionFailed", True), ("404", False), ("ConditionalRequestConflict", False)],
    ids=["http-412", "precondition-failed", "http-404", "conflict"],
)
def test_is_precondition_failed_recognises_a_failed_if_match(code: str, expected: bool) -> None:
    assert expected == is_precondition_failed(client_error(code, operation="DeleteObject"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("412", True),
        ("PreconditionFailed", True),
        ("ConditionalRequestConflict", True),
        ("404", False),
        ("SlowDown", False),
    ],
    ids=["http-412", "precondition-failed", "concurrent-write", "http-404", "slow-down"],
)
def test_is_conflict_recognises_a_conditional_write_that_lost(code: str, expected: bool) -> None:
    assert expected == is_conflict(client_error(code, operation="PutObject"))


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("NoSuchKey"), EndpointConnectionError(endpoint_url="http://x")],
    ids=["not-botocore", "connection"],
)
def test_errors_without_a_code_are_neither_not_found_nor_precondition_failed(exc: BaseException) -> None:
    assert False is is_not_found(exc)
    assert False is is_precondition_failed(exc)
    assert False is is_conflict(exc)


# --- translate --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "reason"), sorted(REJECTIONS.items()), ids=sorted(REJECTIONS))
def test_rekognitions_refusals_of_the_image_reject_it_with_the_reason_and_awss_message(
    code: str, reason: str
) -> None:
    translated = translate(client_error(code, "Request has invalid image format"), WHAT, rejecting=REJECTIONS)

    assert isinstance(translated, ImageRejected)
    assert f"{reason} (Request has invalid image format)" == translated.reason
    assert translated.reason == str(translated)


def test_a_refusal_without_a_message_gives_the_reason_alone() -> None:
    translated = translate(client_error("ImageTooLargeException", ""), WHAT, rejecting=REJECTIONS)

    assert isinstance(translated, ImageRejected)
    assert REJECTIONS["ImageTooLargeException"] == translated.reason


def test_a_refusal_code_is_transient_where_no_refusals_are_given() -> None:
    translated = translate(client_error("InvalidParameterException", "bad"), "S3 CopyObject")

    assert isinstance(translated, TransientError)


@pytest.mark.parametrize(
    "exc",
    [
        client_error("ThrottlingException", "Rate exceeded"),
        client_error("ProvisionedThroughputExceededException", "Slow down"),
        client_error("InternalServerError", "Internal error"),
        client_error("ServiceUnavailableException", "Unavailable"),
        client_error("AccessDeniedException", "not authorized to perform rekognition:DetectLabels"),
        client_error("AccessDenied", "Access Denied"),
        client_error("ResourceNotReadyException", "the model is not running"),
        client_error("InvalidS3ObjectException", "Unable to get object metadata from S3"),
        EndpointConnectionError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
        ConnectTimeoutError(endpoint_url="http://x"),
        NoCredentialsError(),
        TimeoutError("timed out"),
        Exception("something else"),
    ],
    ids=[
        "throttling",
        "provisioned-throughput",
        "internal-server-error",
        "service-unavailable",
        "access-denied-exception",
        "access-denied",
        "model-not-running",
        "invalid-s3-object",
        "endpoint-connection",
        "read-timeout",
        "connect-timeout",
        "no-credentials",
        "builtin-timeout",
        "generic-exception",
    ],
)
def test_everything_else_is_transient_so_that_no_image_is_filed_without_a_real_inspection(
    exc: Exception,
) -> None:
    translated = translate(exc, WHAT, rejecting=REJECTIONS)

    assert isinstance(translated, TransientError)
    assert str(translated).startswith(f"{WHAT} failed: ")


def test_a_transient_client_error_says_what_failed_with_its_code_and_message() -> None:
    translated = translate(client_error("ThrottlingException", "Rate exceeded"), WHAT, rejecting=REJECTIONS)

    assert f"{WHAT} failed: ThrottlingException: Rate exceeded" == str(translated)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ReadTimeoutError(endpoint_url="http://x"),
            'ReadTimeoutError: Read timeout on endpoint URL: "http://x"',
        ),
        (
            EndpointConnectionError(endpoint_url="http://x"),
            'EndpointConnectionError: Could not connect to the endpoint URL: "http://x"',
        ),
        (ValueError("odd"), "ValueError: odd"),
    ],
    ids=["read-timeout", "endpoint-connection", "generic"],
)
def test_a_transient_failure_without_a_code_says_its_type_and_message(exc: Exception, expected: str) -> None:
    assert f"{WHAT} failed: {expected}" == str(translate(exc, WHAT))


def test_translate_returns_the_error_for_the_caller_to_raise() -> None:
    original = client_error("ThrottlingException")

    translated = translate(original, WHAT)

    assert translated is not original
    assert None is translated.__cause__


# --- make_client ------------------------------------------------------------------------------------------


@pytest.fixture
def offline_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials, no config files, no instance metadata, and any attempt to connect fails the test."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a network connection was attempted: {args!r}")

    empty = tmp_path_factory.mktemp("aws") / "none"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)


@pytest.mark.usefixtures("offline_aws")
def test_an_s3_client_retries_in_standard_mode_and_signs_with_sigv4() -> None:
    client = make_client("s3", endpoint_url="http://127.0.0.1:1", region="us-east-1")

    assert "standard" == client.meta.config.retries["mode"]
    assert "s3v4" == client.meta.config.signature_version
    assert {"addressing_style": "path"} == client.meta.config.s3  # an endpoint of one's own: by path
    assert "http://127.0.0.1:1" == client.meta.endpoint_url
    assert "us-east-1" == client.meta.region_name


@pytest.mark.usefixtures("offline_aws")
def test_an_s3_client_for_aws_itself_addresses_buckets_by_host_name() -> None:
    client = make_client("s3", region="eu-west-1")

    assert {"addressing_style": "virtual"} == client.meta.config.s3


@pytest.mark.usefixtures("offline_aws")
@pytest.mark.parametrize("service", ["rekognition", "sns", "sqs"], ids=["rekognition", "sns", "sqs"])
def test_other_clients_share_the_retry_and_timeout_policy(service: str) -> None:
    client = make_client(service, region="eu-west-1")

    assert "standard" == client.meta.config.retries["mode"]
    assert 4 == client.meta.config.retries["total_max_attempts"]
    assert 3 == client.meta.config.connect_timeout
    assert 10 == client.meta.config.read_timeout
    assert "eu-west-1" == client.meta.region_name


@pytest.mark.usefixtures("offline_aws")
def test_the_s3_signing_settings_are_not_applied_to_other_services() -> None:
    client = make_client("rekognition", endpoint_url="http://127.0.0.1:1", region="us-east-1")

    assert None is client.meta.config.s3


# --- what a command says about an SDK failure ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (NoCredentialsError(), "no AWS credentials found: configure some (`aws configure`, AWS_PROFILE"),
        (NoRegionError(), "no AWS region: pass --region"),
        (
            EndpointConnectionError(endpoint_url="http://x"),
            "cannot reach http://x: is it up, and is --endpoint-url right? (EndpointConnectionError)",
        ),
        (
            client_error("AccessDenied", "no s3:PutObject", "PutObject"),
            "AWS refused PutObject: access denied: no s3:PutObject (the credentials in use lack the "
            "permission)",
        ),
        (
            client_error("InvalidAccessKeyId", "The key does not exist", "ListObjectsV2"),
            "AWS did not accept the credentials in use (InvalidAccessKeyId: The key does not exist)",
        ),
        (
            client_error("NoSuchBucket", "The specified bucket does not exist", "ListObjectsV2"),
            "ListObjectsV2: not found (NoSuchBucket: The specified bucket does not exist)",
        ),
        (
            client_error("ThrottlingException", "Rate exceeded"),
            "AWS refused DetectLabels: ThrottlingException",
        ),
    ],
    ids=["no-credentials", "no-region", "unreachable", "denied", "bad-key", "no-bucket", "other-code"],
)
def test_a_command_says_an_sdk_failure_in_words_a_person_can_act_on(exc: Exception, expected: str) -> None:
    said = aws_failure(exc)

    assert expected in said
    assert "\n" not in said
