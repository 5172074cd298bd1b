"""Every role of the stack under moto's IAM enforcement, with the very documents `infra.policies` builds.

The function runs its real handler (`handler.lambda_handler`, the declared environment) under its own
role's STS credentials, fed by the declared queue under that role: every verdict path must succeed, and
every call it must never make must be refused. See tests/infra/iam_harness.py for how the stack's
declarations become moto's resources, and the README for where moto checks less than AWS (the assertions
on the documents at the end of this file cover those parts).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pulumi
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import set_initial_no_auth_action_count
from moto.sns.models import sns_backends

from infra.config import load
from infra.program import declare
from infra.reports import DIGEST_HANDLER
from inspector.criteria import Criteria
from inspector.engine import Verdict
from inspector.lines import Line
from inspector.livecriteria.documents import seed_version
from inspector.livecriteria.store import CriteriaStore
from inspector.review.aws import desk as make_desk
from inspector.settings import Layout
from tests.functional.world import image_bytes, jpeg
from tests.infra.conftest import Stack, stack_config_values
from tests.infra.iam_harness import (
    ACCOUNT,
    OTHER_BUCKET,
    REGION,
    SETUP_CALLS,
    IamWorld,
    declare_for_moto,
    new_session,
    roles,
    teach_moto_resources,
)

# moto's Rekognition answers "Mobile Phone" at 99.94 whatever the image: criteria that turn that answer
# into each verdict.
PASS_CRITERIA = {"minConfidence": 90, "require": [{"label": "Mobile Phone"}]}
FAIL_CRITERIA = {"minConfidence": 90, "forbid": [{"label": "Mobile Phone"}]}
REVIEW_CRITERIA = {"minConfidence": 100, "reviewMargin": 5, "require": [{"label": "Mobile Phone"}]}


@dataclass(frozen=True)
class RoleScenario:
    """How a role's real work is exercised under it, and which of the `NEVER` probes it is meant to pass."""

    exercise: Callable[[IamWorld, boto3.Session], None]  # the role's real work, asserting it succeeds
    may: frozenset[str] = frozenset()


def exercise_the_function(world: IamWorld, _: boto3.Session) -> None:
    """One upload through the declared queue and handler under the function's role (every verdict path:
    test_every_verdict_path_succeeds_under_the_functions_role)."""
    world.admin.client("s3").put_object(Bucket=world.bucket(), Key="images/line-1/w.jpg", Body=jpeg())
    assert all(answer == {"batchItemFailures": []} for answer in drain(world, PASS_CRITERIA))
    world.admin.client("s3").head_object(Bucket=world.bucket(), Key="analyzed/passed/line-1/w.jpg")


def exercise_the_reviewer(world: IamWorld, reviewer: boto3.Session) -> None:
    """The review desk (`inspector review`, `inspector history`) on the reviewer policy alone: the queue,
    a decision that re-files the image and is announced, the history."""
    world.admin.client("s3").put_object(Bucket=world.bucket(), Key="images/line-1/r.jpg", Body=jpeg())
    drain(world, REVIEW_CRITERIA)
    desk = make_desk(
        Layout(),
        bucket=world.bucket(),
        topic_arn=world.topic_arn("-verdicts"),
        s3=reviewer.client("s3"),
        sns=reviewer.client("sns"),
        sts=reviewer.client("sts"),
    )

    assert ["images/line-1/r.jpg"] == [p.key for p in desk.queue()]
    outcome = desk.decide("images/line-1/r.jpg", Verdict.FAIL, note="dented")
    assert (True, True) == (outcome.moved, outcome.notified)
    assert ["inspection", "decision"] == [e.kind for e in desk.history("images/line-1/r.jpg")]
    world.admin.client("s3").head_object(Bucket=world.bucket(), Key="analyzed/failed/line-1/r.jpg")


def exercise_the_publisher(world: IamWorld, publisher: boto3.Session) -> None:
    """`inspector criteria publish|history` on the publisher policy alone: a new version of a line's
    criteria made current, the history read back."""
    line = Line(name="default", criteria=Criteria.from_document(PASS_CRITERIA))
    CriteriaStore(world.bucket(), world.admin.client("s3")).write_seed(seed_version(line, stack="test"))
    store = CriteriaStore(world.bucket(), publisher.client("s3"))
    published = store.publish(line, Criteria.from_document(FAIL_CRITERIA), who="qc")

    assert [0, 1] == [v.version for v in store.history("default") if not isinstance(v, tuple)]
    assert published.fingerprint == store.current("default").fingerprint  # type: ignore[union-attr]


DAY = "2026-11-28"
VERDICT_COLUMNS = [
    {"Name": n, "Type": t}
    for n, t in (("line", "varchar"), ("verdict", "varchar"), ("effective", "varchar"), ("images", "bigint"))
]


def exercise_the_digest(world: IamWorld, digest: boto3.Session) -> None:
    """The declared digest handler (`handler.digest_handler`, its environment) under its own role: the
    day's queries in its workgroup, the HTML report kept under reports/, the digest published."""
    s3 = world.admin.client("s3")
    daily = f"daily/dt={DAY}/line-1/w.jpg.json"
    s3.put_object(Bucket=world.bucket(), Key=daily, Body=b'{"line": "line-1", "verdict": "PASS"}\n')
    # Athena reads the table's objects with the caller's permissions; moto's Athena reads nothing, so the
    # role reads them itself: the day's folder listed, a copy read.
    listed = digest.client("s3").list_objects_v2(Bucket=world.bucket(), Prefix=f"daily/dt={DAY}/")
    assert [daily] == [o["Key"] for o in listed["Contents"]]
    digest.client("s3").get_object(Bucket=world.bucket(), Key=daily)
    # moto runs no SQL: the verdicts query answers 9 PASS and 1 FAIL on line-1, the others nothing.
    rows = [["line", "verdict", "effective", "images"], ["line-1", "PASS", "PASS", "9"],
            ["line-1", "FAIL", "FAIL", "1"]]  # fmt: skip
    answered = [{"Data": [{"VarCharValue": v} for v in r]} for r in rows]
    athena_backends[ACCOUNT][REGION].query_results_queue.append(QueryResults(answered, VERDICT_COLUMNS))

    answer = world.run(world.function(DIGEST_HANDLER), {"day": DAY})

    assert (["line-1"], 5) == ([d["line"] for d in answer["digests"]], answer["athena_queries"])
    s3.head_object(Bucket=world.bucket(), Key=f"reports/line-1/{DAY}.html")
    assert [f"QC digest {DAY} line-1"] == [
        e[: len(f"QC digest {DAY} line-1")] for e in verdict_emails(world) if e.startswith("QC digest")
    ]


def exercise_the_scheduler(world: IamWorld, scheduler: boto3.Session) -> None:
    """EventBridge Scheduler's role invokes the digest function (moto answers for it without running it)."""
    answer = scheduler.client("lambda").invoke(
        FunctionName=world.function_arn(world.function(DIGEST_HANDLER)), Payload=b'{"source": "schedule"}'
    )
    assert 200 == answer["StatusCode"]


# Every role the stack declares (and every managed policy for people), by its declared name. A role added to
# the stack fails test_every_role_the_stack_declares_has_a_scenario until it has its line here; its
# documents are then created and enforced by the harness with nothing else to write.
ROLE_SCENARIOS: dict[str, RoleScenario] = {
    "inspector-reviewer": RoleScenario(exercise_the_reviewer),
    "inspector-role": RoleScenario(exercise_the_function),
    "inspector-criteria-publisher": RoleScenario(exercise_the_publisher),
    "reports-digest-role": RoleScenario(exercise_the_digest, may=frozenset({"write a report"})),
    "reports-scheduler-role": RoleScenario(exercise_the_scheduler, may=frozenset({"invoke the digest"})),
}
ROLE_SCENARIOS["inspector-role"] = RoleScenario(
    exercise_the_function,
    may=frozenset({"delete an upload", "write a result record", "file an image", "write a daily copy"}),
)
ROLE_SCENARIOS["inspector-reviewer"] = RoleScenario(
    # A decision rewrites the record's daily copy too (the reports count it).
    exercise_the_reviewer,
    may=frozenset({"write a result record", "file an image", "write a daily copy"}),
)


@dataclass(frozen=True)
class Probe:
    """A call no role may make unless its scenario says so, and the error code moto refuses it with."""

    name: str
    call: Callable[[IamWorld, boto3.Session], Any]
    code: str = "AccessDenied"  # AWS says AuthorizationError for SNS; moto says AccessDenied everywhere


def _s3(session: boto3.Session) -> Any:
    return session.client("s3")


def _destroy_a_version(world: IamWorld, session: boto3.Session, key: str) -> Any:
    """DeleteObject with a VersionId (s3:DeleteObjectVersion): on the versioned bucket, the one delete that
    destroys instead of hiding behind a delete marker."""
    versions = world.admin.client("s3").list_object_versions(Bucket=world.bucket(), Prefix=key)["Versions"]
    return _s3(session).delete_object(Bucket=world.bucket(), Key=key, VersionId=versions[0]["VersionId"])


def _delete_an_upload(world: IamWorld, session: boto3.Session) -> Any:
    # Uploaded here, not in the seed: an upload is announced to the queue, which other tests drain.
    world.admin.client("s3").put_object(Bucket=world.bucket(), Key="images/line-1/up.jpg", Body=jpeg())
    return _s3(session).delete_object(Bucket=world.bucket(), Key="images/line-1/up.jpg")


NEVER = [
    Probe(
        "destroy a version of a filed image",
        lambda w, s: _destroy_a_version(w, s, "analyzed/passed/line-1/filed.jpg"),
    ),
    Probe(
        "destroy a version of a result record",
        lambda w, s: _destroy_a_version(w, s, "results/line-1/filed.jpg.json"),
    ),
    Probe(
        "delete a result record",
        lambda w, s: _s3(s).delete_object(Bucket=w.bucket(), Key="results/line-1/filed.jpg.json"),
    ),
    Probe(
        "write criteria",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key="criteria/current.json", Body=b"{}"),
    ),
    Probe(
        "write a reference model",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key="models/line-1/model.npz", Body=b"x"),
    ),
    Probe(
        "read another bucket", lambda w, s: _s3(s).get_object(Bucket=OTHER_BUCKET, Key="images/secret.jpg")
    ),
    Probe(
        "read the access logs",
        lambda w, s: _s3(s).get_object(Bucket=w.bucket("inspector-access-logs"), Key="images-bucket/log"),
    ),
    Probe(
        "publish to the ops topic",
        lambda w, s: s.client("sns").publish(TopicArn=w.topic_arn("-ops"), Message="fake alarm"),
    ),
    Probe(
        "send to the inspection queue",
        lambda w, s: s.client("sqs").send_message(
            QueueUrl=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/inspector-queue-0a1b2c3", MessageBody="{}"
        ),
        code="403",  # moto's SQS (JSON protocol) answers the bare status; AWS says AccessDenied
    ),
    Probe("create an IAM user", lambda w, s: s.client("iam").create_user(UserName="intruder")),
    Probe("delete an upload", _delete_an_upload),
    Probe(
        "upload an image",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key="images/line-1/forged.jpg", Body=b"x"),
    ),
    Probe(
        "write a result record",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key="results/line-1/forged.jpg.json", Body=b"{}"),
    ),
    Probe(
        "file an image",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key="analyzed/passed/line-1/forged.jpg", Body=b"x"),
    ),
    Probe(
        "write a daily copy",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key=f"daily/dt={DAY}/forged.json", Body=b"{}"),
    ),
    Probe(
        "write a report",
        lambda w, s: _s3(s).put_object(Bucket=w.bucket(), Key=f"reports/line-1/{DAY}.html", Body=b"x"),
    ),
    Probe(
        "run a query in another workgroup",
        lambda w, s: s.client("athena").start_query_execution(QueryString="SELECT 1", WorkGroup="primary"),
        code="403",  # moto's Athena and Lambda answer the bare status; AWS: AccessDeniedException
    ),
    Probe(
        "invoke the inspection function",
        lambda w, s: s.client("lambda").invoke(FunctionName=w.function_arn(w.function())),
        code="403",  # moto's Athena and Lambda answer the bare status; AWS: AccessDeniedException
    ),
    Probe(
        "invoke the digest",
        lambda w, s: s.client("lambda").invoke(FunctionName=w.function_arn(w.function(DIGEST_HANDLER))),
        code="403",
    ),
]


CUSTOM_MODEL = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:project/widgets/version/widgets.2026-11-01/1"
OTHER_MODEL = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:project/other/version/other.2026-11-01/1"


def declare_stack(**overrides: str) -> Stack:
    """The component as the prod example stack declares it (plus `overrides`), named as moto names things."""
    values = {k.removeprefix("inspector:"): v for k, v in stack_config_values("Pulumi.prod.yaml").items()}
    config = load({**{k: v for k, v in values.items() if ":" not in k}, **overrides})
    archive = pulumi.FileArchive(__file__)  # never read under the mocks

    def program() -> Any:
        # The whole program as __main__.py declares it: the pipeline and the QC reports.
        declared = declare(config, archive)
        assert declared.reports is not None
        return pulumi.Output.all(declared.pipeline.bucket_name, declared.reports.digest_function_name)

    return declare_for_moto(program)


@pytest.fixture(scope="module")
def declared() -> Stack:
    return declare_stack()


@pytest.fixture(scope="module")
def declared_custom_labels() -> Stack:
    """The same stack with the Custom Labels detector: DetectCustomLabels granted on one model only."""
    criteria = json.dumps({"require": [{"label": "MyLogo", "minConfidence": 70}]})
    return declare_stack(detector="custom-labels", customLabelsArn=CUSTOM_MODEL, criteria=criteria)


@contextmanager
def enforced(declared: Stack) -> Iterator[IamWorld]:
    """moto with the stack deployed and IAM enforced from the first request after `SETUP_CALLS`.

    Call from a test decorated with `set_initial_no_auth_action_count(SETUP_CALLS)`.
    """
    undo = teach_moto_resources()
    try:
        with mock_aws(config={"lambda": {"use_docker": False}}):
            world = IamWorld.deploy(declared)
            # Exactly SETUP_CALLS went unchecked: the very next request, signed by nobody moto knows, fails.
            stranger = new_session("AKIASTRANGER", "x")
            with pytest.raises(ClientError) as refused:
                stranger.client("s3").list_buckets()
            assert "InvalidAccessKeyId" == refused.value.response["Error"]["Code"]
            _seed(world)
            yield world
    finally:
        undo()


def _seed(world: IamWorld) -> None:
    """Objects for the probes to aim at, so that a refusal is IAM's and not a missing object's."""
    s3 = world.admin.client("s3")
    s3.put_object(Bucket=world.bucket(), Key="analyzed/passed/line-1/filed.jpg", Body=jpeg())
    s3.put_object(Bucket=world.bucket(), Key="results/line-1/filed.jpg.json", Body=b"{}")
    s3.put_object(Bucket=OTHER_BUCKET, Key="images/secret.jpg", Body=jpeg())
    s3.put_object(Bucket=world.bucket("inspector-access-logs"), Key="images-bucket/log", Body=b"log")


def drain(world: IamWorld, criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """Poll as the event source mapping would until the queue is empty; every answer."""
    answers: list[dict[str, Any]] = []
    for _ in range(5):
        answer, messages = world.invoke_from_queue(
            world.function(),
            # Fixed criteria and no lines instead of the live store (the declared ones left out):
            # each scenario names its own.
            environment={
                "INSPECTOR_CRITERIA": json.dumps(criteria),
                "INSPECTOR_CRITERIA_PREFIX": "",
                "INSPECTOR_LINES": "",
            },
        )
        if not messages:
            return answers
        answers.append(answer)
    raise AssertionError("the queue never emptied")


def verdict_emails(world: IamWorld) -> list[str]:
    topic = sns_backends[ACCOUNT][REGION].topics[world.topic_arn("-verdicts")]
    return [str(subject) for _, _, subject, _, _ in topic.sent_notifications]


@set_initial_no_auth_action_count(SETUP_CALLS)
@pytest.mark.parametrize(
    ("criteria", "data", "verdict", "destination"),
    [
        pytest.param(PASS_CRITERIA, jpeg(), "PASS", "analyzed/passed/", id="PASS"),
        pytest.param(FAIL_CRITERIA, jpeg(), "FAIL", "analyzed/failed/", id="FAIL"),
        pytest.param(REVIEW_CRITERIA, jpeg(), "REVIEW", "analyzed/review/", id="REVIEW"),
        pytest.param(PASS_CRITERIA, image_bytes("GIF"), "REJECTED", "rejected/", id="REJECTED (format)"),
        pytest.param(PASS_CRITERIA, b"", "REJECTED", "rejected/", id="REJECTED (empty)"),
    ],
)
def test_every_verdict_path_succeeds_under_the_functions_role(
    declared: Stack, criteria: dict[str, Any], data: bytes, verdict: str, destination: str
):
    with enforced(declared) as world:
        s3 = world.admin.client("s3")
        s3.put_object(Bucket=world.bucket(), Key="images/line-1/w 1.jpg", Body=data)

        answers = drain(world, criteria)

        assert [{"batchItemFailures": []}] * len(answers) == answers
        record = json.loads(
            s3.get_object(Bucket=world.bucket(), Key="results/line-1/w 1.jpg.json")["Body"].read()
        )
        assert (verdict, f"{destination}line-1/w 1.jpg") == (record["verdict"], record["destination"])
        assert record["notified_at"] is not None
        s3.head_object(Bucket=world.bucket(), Key=f"{destination}line-1/w 1.jpg")
        assert "Contents" not in s3.list_objects_v2(Bucket=world.bucket(), Prefix="images/")
        assert [f"QC {verdict}: w 1.jpg (line-1)"] == verdict_emails(world)


@set_initial_no_auth_action_count(SETUP_CALLS)
def test_a_repeated_event_for_a_filed_image_and_a_missing_object_are_acknowledged_under_the_role(
    declared: Stack,
):
    with enforced(declared) as world:
        s3 = world.admin.client("s3")
        s3.put_object(Bucket=world.bucket(), Key="images/line-1/w1.jpg", Body=jpeg())
        queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/inspector-queue-0a1b2c3"
        sqs = world.admin.client("sqs")
        first = drain(world, PASS_CRITERIA)
        # S3 announces an upload more than once at times: the same event again, after the image was filed.
        body = json.dumps(
            {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": REGION,
                          "s3": {"bucket": {"name": world.bucket(), "arn": f"arn:aws:s3:::{world.bucket()}"},
                                 "object": {"key": "images/line-1/w1.jpg", "size": 1}}}]}
        )  # fmt: skip
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

        again = drain(world, PASS_CRITERIA)

        assert [{"batchItemFailures": []}] == first[-1:] == again
        assert ["QC PASS: w1.jpg (line-1)"] == verdict_emails(world)  # no second email


@set_initial_no_auth_action_count(SETUP_CALLS)
def test_every_call_no_role_may_make_is_denied_to_every_role(declared: Stack):
    outcomes: dict[tuple[str, str], str] = {}
    expected: dict[tuple[str, str], str] = {}
    with enforced(declared) as world:
        for role, scenario in ROLE_SCENARIOS.items():
            session = world.session(role)
            for probe in NEVER:
                if probe.name in scenario.may:
                    continue
                expected[role, probe.name] = probe.code
                try:
                    probe.call(world, session)
                except ClientError as refused:
                    outcomes[role, probe.name] = refused.response["Error"]["Code"]
                else:
                    outcomes[role, probe.name] = "allowed"

    assert len(NEVER) <= len(expected)
    assert expected == outcomes


@set_initial_no_auth_action_count(SETUP_CALLS)
@pytest.mark.parametrize("role", list(ROLE_SCENARIOS))
def test_each_role_can_do_its_work_under_its_documents(declared: Stack, role: str):
    with enforced(declared) as world:
        ROLE_SCENARIOS[role].exercise(world, world.session(role))


@set_initial_no_auth_action_count(SETUP_CALLS)
def test_the_custom_labels_model_is_the_only_one_the_function_may_use(declared_custom_labels: Stack):
    # moto's Custom Labels answers "MyLogo" at 77.77 whatever the image or model.
    with enforced(declared_custom_labels) as world:
        world.admin.client("s3").put_object(Bucket=world.bucket(), Key="images/line-1/w.jpg", Body=jpeg())
        answers = drain(world, {"require": [{"label": "MyLogo", "minConfidence": 70}]})
        rekognition = world.session("inspector-role").client("rekognition")
        image: Any = {"S3Object": {"Bucket": world.bucket(), "Name": "analyzed/passed/line-1/w.jpg"}}
        with pytest.raises(ClientError) as refused:
            rekognition.detect_custom_labels(ProjectVersionArn=OTHER_MODEL, Image=image)
        emails = verdict_emails(world)

    assert all(answer == {"batchItemFailures": []} for answer in answers)
    assert ["QC PASS: w.jpg (line-1)"] == emails
    assert (
        "403" == refused.value.response["Error"]["Code"]
    )  # moto (JSON protocol); AWS: AccessDeniedException


@set_initial_no_auth_action_count(SETUP_CALLS)
def test_the_labels_detector_stack_may_use_no_custom_labels_model(declared: Stack):
    with enforced(declared) as world:
        rekognition = world.session("inspector-role").client("rekognition")
        image: Any = {"S3Object": {"Bucket": world.bucket(), "Name": "images/line-1/filed.jpg"}}
        with pytest.raises(ClientError) as refused:
            rekognition.detect_custom_labels(ProjectVersionArn=CUSTOM_MODEL, Image=image)

    assert (
        "403" == refused.value.response["Error"]["Code"]
    )  # moto (JSON protocol); AWS: AccessDeniedException


def test_every_role_the_stack_declares_has_a_scenario(declared: Stack):
    assert set(ROLE_SCENARIOS) == set(roles(declared))


def test_the_probes_aim_at_resources_the_stack_declares(declared: Stack):
    # A renamed bucket or topic would make a probe fail for the wrong reason (NoSuchBucket, NotFound).
    names = {r.name for r in declared.resources}
    assert {
        "inspector-bucket",
        "inspector-access-logs",
        "inspector-ops",
        "inspector-verdicts",
        "inspector-queue",
    } <= names


# --- what moto checks less than AWS, asserted on the documents ------------------------------------------


def _statements(document: str) -> list[dict[str, Any]]:
    statements = json.loads(document)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _identity_documents(declared: Stack) -> dict[str, list[str]]:
    return {name: [*r.inline.values(), *r.managed] for name, r in roles(declared).items()}


def test_every_role_is_trusted_by_aws_services_or_this_account_only(declared: Stack):
    # The harness assumes the roles itself (moto cannot be called by lambda.amazonaws.com): the declared
    # trust is checked here. A service, or principals of the stack's own account (a reviewer role people
    # assume), may assume a role of the stack; never "*" or another account.
    own_account = f"arn:aws:iam::{ACCOUNT}:"
    for role in roles(declared).values():
        for statement in _statements(role.trust):
            assert "Allow" == statement["Effect"], role.name
            assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"]), role.name
            principal = statement["Principal"]
            assert isinstance(principal, dict), role.name
            assert set(principal) <= {"Service", "AWS"}, role.name
            accounts = principal.get("AWS", [])
            assert all(
                a.startswith(own_account) for a in ([accounts] if isinstance(accounts, str) else accounts)
            )
    assert {"Service": "lambda.amazonaws.com"} == _statements(roles(declared)["inspector-role"].trust)[0][
        "Principal"
    ]
    # The digest's schedule: only EventBridge Scheduler, and only for schedules of this account (the
    # confused-deputy guard moto cannot exercise: no service assumes roles there).
    [scheduler] = _statements(roles(declared)["reports-scheduler-role"].trust)
    assert {"Service": "scheduler.amazonaws.com"} == scheduler["Principal"]
    assert {"StringEquals": {"aws:SourceAccount": ACCOUNT}} == scheduler["Condition"]
    [digest] = _statements(roles(declared)["reports-digest-role"].trust)
    assert {"Service": "lambda.amazonaws.com"} == digest["Principal"]


# Every condition in an identity policy of the stack, with what it must say. moto does not evaluate
# condition keys such as s3:prefix (the statement applies as if unconditioned), so each is checked here
# with AWS's semantics, and a new one fails until it is reviewed and listed.
CONDITIONS = {
    # People list the review queue and the records (their history), and the daily copies (to tell a
    # decided record's missing copy from a forbidden one), never the uploads.
    ("inspector-reviewer", "ListQueueAndHistory"): {
        "StringLike": {"s3:prefix": ["analyzed/*", "results/*", "daily/*"]}
    },
    # Criteria publishers list the criteria store and the records they backtest against, nothing else.
    ("inspector-criteria-publisher", "ListCriteriaAndResults"): {
        "StringLike": {"s3:prefix": ["criteria/*", "results/*"]}
    },
    # The digest lists the daily copies and the compacted days (Athena's reads, with the digest's
    # permissions), nothing else.
    ("reports-digest-role", "ListDailyCopiesOnly"): {"StringLike": {"s3:prefix": ["daily/*", "compact/*"]}},
}


def test_every_condition_moto_would_not_evaluate_is_reviewed_here(declared: Stack):
    conditioned = {
        (role, s.get("Sid")): s["Condition"] for role, documents in _identity_documents(declared).items()
        for d in documents if not d.startswith("arn:") for s in _statements(d) if "Condition" in s
    }  # fmt: skip

    assert CONDITIONS == conditioned


def test_the_function_may_read_what_it_copies_and_what_rekognition_reads_for_it(declared: Stack):
    # AWS authorises CopyObject's source with s3:GetObject, and Rekognition reads Image.S3Object with the
    # caller's permissions; moto checks neither (only PutObject on the copy's destination).
    [document] = _identity_documents(declared)["inspector-role"]
    reads = {r for s in _statements(document) if "s3:GetObject" in s["Action"] for r in s["Resource"]}
    bucket = "arn:aws:s3:::inspector-bucket-0a1b2c3"
    assert f"{bucket}/images/*" in reads


def test_a_missing_object_reads_as_404_because_the_function_may_list_the_bucket(declared: Stack):
    # AWS answers 403 instead of 404 for a missing key without s3:ListBucket; moto answers 404 regardless.
    [document] = _identity_documents(declared)["inspector-role"]
    listing = [s for s in _statements(document) if s["Action"] == ["s3:ListBucket"]]
    assert [["arn:aws:s3:::inspector-bucket-0a1b2c3"]] == [s["Resource"] for s in listing]
