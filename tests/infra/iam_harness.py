"""The stack's IAM, enforced: the documents `infra.policies` builds, on roles in moto with IAM checks on.

1. `declare_for_moto` runs the component under Pulumi mocks that name every resource as moto names it
   (us-east-1, moto's account), so the ARNs in the policy documents are the ARNs of moto's resources.
2. `IamWorld.deploy` (inside `mock_aws`, with moto's IAM enforcement on after `SETUP_CALLS` requests)
   makes an administrator with those few unauthenticated calls, then, as that administrator, every bucket,
   queue and topic the stack declares, its bucket notifications as declared, and every role it declares
   with the very documents declared for it (inline `RolePolicy`, managed `Policy` + attachment).
3. `session(role)` assumes a role with STS; `invoke_from_queue` plays the event source mapping: it receives
   from the declared queue and deletes under the function's role, and calls the declared handler
   (`handler.lambda_handler`) with the declared environment and the role's credentials.

Nothing here knows a statement: a role, bucket, queue or topic the stack gains is created from its
declaration. What moto checks less strictly than AWS is listed in the README ("Where moto's IAM is weaker
than AWS's") and covered by assertions on the documents instead.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.loaders
import botocore.session
import pulumi
from moto.athena.models import athena_backends
from moto.athena.responses import AthenaResponse
from moto.awslambda.responses import LambdaResponse
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.rekognition.responses import RekognitionResponse
from moto.sns.responses import SNSResponse

from inspector.local import lambda_record
from tests.infra.conftest import Declared, Mocks, Stack, run_under_mocks

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
# The requests moto serves before it starts checking IAM: create the administrator, give it a policy, make
# its access key. Every later request is signed by a principal moto knows and checked against its policies.
SETUP_CALLS = 3
ADMIN = "harness-admin"
OTHER_BUCKET = "someone-elses-bucket"  # a bucket no role of the stack is given
SUFFIX = "-0a1b2c3"

Bucket = "aws:s3/bucket:Bucket"
Queue = "aws:sqs/queue:Queue"
Topic = "aws:sns/topic:Topic"
Role = "aws:iam/role:Role"
RolePolicy = "aws:iam/rolePolicy:RolePolicy"
ManagedPolicy = "aws:iam/policy:Policy"
Attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
Notification = "aws:s3/bucketNotification:BucketNotification"
Versioning = "aws:s3/bucketVersioning:BucketVersioning"
Function = "aws:lambda/function:Function"
Workgroup = "aws:athena/workgroup:Workgroup"
SourceMapping = "aws:lambda/eventSourceMapping:EventSourceMapping"


# One loader of botocore's service models for every session the harness makes: each new session would
# otherwise parse the JSON models again (seconds per test).
_LOADER = botocore.loaders.create_loader()


def new_session(access_key: str, secret_key: str, token: str | None = None) -> boto3.Session:
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=token,
        region_name=REGION,
        botocore_session=core,
    )


def physical(name: str) -> str:
    return f"{name}{SUFFIX}"


def arn_of(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The ARN moto gives the resource a declaration makes (and the mocks hand back to the program)."""
    service = typ.split(":")[1].split("/", maxsplit=1)[0]
    resource = physical(name)
    if typ == Bucket:
        return f"arn:aws:s3:::{resource}"
    if typ in (Role, ManagedPolicy):
        kind = "role" if typ == Role else "policy"
        return f"arn:aws:iam::{ACCOUNT}:{kind}/{resource}"
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{inputs.get('name', resource)}"
    if typ == "aws:kms/key:Key":
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{resource}"
    if typ == Function:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{resource}"
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


class MotoNamedMocks(Mocks):
    """Mocks whose names and ARNs are the ones moto gives (region us-east-1, moto's default account)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.stack.resources.append(Declared(args.typ, args.name, dict(args.inputs)))
        resource = physical(args.name)
        outputs = {**args.inputs, "arn": arn_of(args.typ, args.name, args.inputs)}
        outputs.setdefault("name", resource)
        if args.typ == Queue:
            outputs["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{resource}"
            return outputs["url"], outputs
        if args.typ == Bucket:
            outputs["bucket"] = resource
        if args.typ == "aws:kms/key:Key":
            outputs["keyId"] = resource
        if args.typ in (Topic, ManagedPolicy):
            return outputs["arn"], outputs
        return resource, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.stack.invokes.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                "userId": "AIDA",
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}, []
        return {}, []


def declare_for_moto(declare: Callable[[], Any]) -> Stack:
    return run_under_mocks(declare, mocks=MotoNamedMocks)


# The request parameter that names the resource AWS authorises a request against, for the services whose
# requests moto checks against resource "*" (so that a statement scoped to one topic or one model, as ours
# are, would never match and every such call would be denied).
RESOURCE_PARAMETERS: dict[type, tuple[str, ...]] = {
    SNSResponse: ("TopicArn", "TargetArn"),  # Publish
    RekognitionResponse: ("ProjectVersionArn",),  # DetectCustomLabels; DetectLabels has none: "*" as in AWS
}


def _athena_resource(self: Any) -> str:
    """The workgroup a request acts in, as AWS authorises Athena's query actions: by the WorkGroup it names
    (StartQueryExecution), or the workgroup of the query it names (Get/StopQueryExecution, results)."""
    workgroup = self._get_param("WorkGroup")
    query_id = self._get_param("QueryExecutionId")
    if query_id:
        execution = athena_backends[self.current_account][self.region].executions.get(query_id)
        if execution is not None and execution.workgroup is not None:
            workgroup = execution.workgroup.name
    if not workgroup:
        return "*"
    return f"arn:aws:athena:{self.region}:{self.current_account}:workgroup/{workgroup}"


def _lambda_resource(self: Any) -> str:
    """The function a Lambda request names in its path (`/2015-03-31/functions/<name or ARN>/...`)."""
    parts = unquote(self.path).split("/")
    named = parts[parts.index("functions") + 1] if "functions" in parts[:-1] else ""
    if not named:
        return "*"
    if named.startswith("arn:"):
        return str(named)
    return f"arn:aws:lambda:{self.region}:{self.current_account}:function:{named}"


# Operations whose IAM action AWS names otherwise than the operation (moto checks `service:Operation`).
IAM_ACTION_NAMES: dict[type, dict[str, str]] = {LambdaResponse: {"Invoke": "InvokeFunction"}}


def _teach_moto_action_names() -> Callable[[], None]:
    """Make moto check AWS's IAM action for these operations (lambda:InvokeFunction, not lambda:Invoke)."""
    undo: list[Callable[[], None]] = []
    for response_class, names in IAM_ACTION_NAMES.items():
        authorize = getattr(response_class, "_authenticate_and_authorize_normal_action")  # noqa: B009

        def renamed(
            self: Any, resource: str = "*", authorize: Any = authorize, names: dict[str, str] = names
        ) -> None:
            operation = self._get_action()
            self._get_action = lambda: names.get(operation, operation)  # for the authorisation only
            try:
                authorize(self, resource)
            finally:
                del self._get_action

        setattr(response_class, "_authenticate_and_authorize_normal_action", renamed)  # noqa: B010

        def restore(cls: type = response_class) -> None:
            delattr(cls, "_authenticate_and_authorize_normal_action")

        undo.append(restore)

    def undo_all() -> None:
        for restore in undo:
            restore()

    return undo_all


def teach_moto_resources() -> Callable[[], None]:
    """Make moto authorise SNS, Rekognition, Athena and Lambda requests against the resource they name, as
    AWS does (moto's `_determine_resource` hook, which its SQS already has). Returns the undo."""
    undo: list[Callable[[], None]] = []
    hooks: dict[type, Callable[[Any], str]] = {}
    for response_class, parameters in RESOURCE_PARAMETERS.items():

        def by_parameter(self: Any, parameters: tuple[str, ...] = parameters) -> str:
            return next((str(v) for p in parameters if (v := self._get_param(p))), "*")

        hooks[response_class] = by_parameter
    hooks[AthenaResponse] = _athena_resource
    hooks[LambdaResponse] = _lambda_resource
    undo.append(_teach_moto_action_names())
    for response_class, resource in hooks.items():
        had = "_determine_resource" in vars(response_class)
        previous = vars(response_class).get("_determine_resource")
        setattr(response_class, "_determine_resource", resource)  # noqa: B010 - moto's own hook

        def restore(cls: type = response_class, had: bool = had, previous: Any = previous) -> None:
            if had:
                setattr(cls, "_determine_resource", previous)  # noqa: B010
            else:
                delattr(cls, "_determine_resource")

        undo.append(restore)

    def undo_all() -> None:
        for restore in undo:
            restore()

    return undo_all


@dataclass
class RoleDocuments:
    """A role as the stack declares it: its trust policy and every identity policy attached to it."""

    name: str
    trust: str
    inline: dict[str, str] = field(default_factory=dict)  # policy name -> document
    managed: list[str] = field(default_factory=list)  # documents of the customer-managed policies


def roles(stack: Stack) -> dict[str, RoleDocuments]:
    """Every role the stack declares, keyed by its declared name (e.g. `inspector-role`), and every
    customer-managed policy attached to none of them, as the role of a person holding only it (keyed by
    the policy's declared name, e.g. `inspector-reviewer`: people attach it to their own roles)."""
    by_physical = {
        physical(r.name): RoleDocuments(r.name, r.inputs["assumeRolePolicy"]) for r in stack.of_type(Role)
    }
    managed = {
        arn_of(ManagedPolicy, p.name, p.inputs): p.inputs["policy"] for p in stack.of_type(ManagedPolicy)
    }
    for declared in stack.of_type(RolePolicy):
        by_physical[declared.inputs["role"]].inline[declared.inputs.get("name", declared.name)] = (
            declared.inputs["policy"]
        )
    attached = set()
    for declared in stack.of_type(Attachment):
        arn = declared.inputs["policyArn"]
        attached.add(arn)
        if arn in managed:
            by_physical[declared.inputs["role"]].managed.append(managed[arn])
        else:  # an AWS-managed policy: moto ships their documents
            by_physical[declared.inputs["role"]].managed.append(arn)
    for policy in stack.of_type(ManagedPolicy):
        if arn_of(ManagedPolicy, policy.name, policy.inputs) not in attached:
            person = json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                         "Action": "sts:AssumeRole"}
                    ],
                }
            )  # fmt: skip
            by_physical[physical(policy.name)] = RoleDocuments(
                policy.name, person, managed=[policy.inputs["policy"]]
            )
    return {documents.name: documents for documents in by_physical.values()}


@dataclass
class IamWorld:
    """moto with IAM enforced, holding what the stack declares; `admin` is a session allowed everything."""

    stack: Stack
    admin: boto3.Session
    role_arns: dict[str, str]

    @classmethod
    def deploy(cls, stack: Stack) -> IamWorld:
        """Create the stack's resources and roles in moto. Call inside `mock_aws`, with IAM enforcement on
        after `SETUP_CALLS` requests (`moto.core.set_initial_no_auth_action_count(SETUP_CALLS)`)."""
        anonymous = new_session("setup", "setup")
        iam = anonymous.client("iam")
        iam.create_user(UserName=ADMIN)  # 1
        iam.put_user_policy(  # 2
            UserName=ADMIN,
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName=ADMIN)["AccessKey"]  # 3 = SETUP_CALLS
        admin = new_session(key["AccessKeyId"], key["SecretAccessKey"])
        world = cls(stack, admin, {})
        world._create_resources()
        world._create_roles()
        world._create_functions()
        return world

    # --- set-up, as the administrator --------------------------------------------------------------------

    def _create_resources(self) -> None:
        s3, sqs, sns = self.admin.client("s3"), self.admin.client("sqs"), self.admin.client("sns")
        for name in [physical(b.name) for b in self.stack.of_type(Bucket)] + [OTHER_BUCKET]:
            s3.create_bucket(Bucket=name)
        for queue in self.stack.of_type(Queue):
            sqs.create_queue(QueueName=physical(queue.name))
        for topic in self.stack.of_type(Topic):
            sns.create_topic(Name=physical(topic.name))
        athena = self.admin.client("athena")
        for workgroup in self.stack.of_type(Workgroup):
            results = workgroup.inputs["configuration"]["resultConfiguration"]
            athena.create_work_group(
                Name=workgroup.inputs["name"],
                Configuration={
                    "ResultConfiguration": {
                        "OutputLocation": results["outputLocation"],
                        "EncryptionConfiguration": {
                            "EncryptionOption": results["encryptionConfiguration"]["encryptionOption"]
                        },
                    },
                    "EnforceWorkGroupConfiguration": True,
                },
            )
        for versioning in self.stack.of_type(Versioning):
            status = versioning.inputs["versioningConfiguration"]["status"]
            s3.put_bucket_versioning(
                Bucket=versioning.inputs["bucket"], VersioningConfiguration={"Status": status}
            )
        for notification in self.stack.of_type(Notification):
            s3.put_bucket_notification_configuration(
                Bucket=notification.inputs["bucket"],
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": q["queueArn"],
                            "Events": q["events"],
                            "Filter": {
                                "Key": {"FilterRules": [{"Name": "prefix", "Value": q["filterPrefix"]}]}
                            },
                        }
                        for q in notification.inputs["queues"]
                    ]
                },
            )

    def _create_roles(self) -> None:
        iam = self.admin.client("iam")
        admin_arn = self.admin.client("sts").get_caller_identity()["Arn"]
        # The declared trust policies name AWS services (lambda.amazonaws.com), which cannot call moto: the
        # harness's administrator assumes the roles instead. The declared trust policies are asserted on
        # their own (tests/infra/test_iam_enforced.py).
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}
                ],
            }
        )
        for documents in roles(self.stack).values():
            role_name = physical(documents.name)
            self.role_arns[documents.name] = iam.create_role(
                RoleName=role_name, AssumeRolePolicyDocument=trust
            )["Role"]["Arn"]
            for policy_name, document in documents.inline.items():
                iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=document)
            for i, document_or_arn in enumerate(documents.managed):
                arn = document_or_arn
                if not document_or_arn.startswith("arn:"):
                    arn = iam.create_policy(PolicyName=f"{role_name}-{i}", PolicyDocument=document_or_arn)[
                        "Policy"
                    ]["Arn"]
                iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)

    def _create_functions(self) -> None:
        """The declared functions, so that a role may be refused or allowed to invoke them (moto runs
        `mock_aws(config={"lambda": {"use_docker": False}})`'s stand-in, not the code: the code runs through
        `run`, under the function's role)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
        lam = self.admin.client("lambda")
        for function in self.stack.of_type(Function):
            lam.create_function(
                FunctionName=physical(function.name),
                Runtime=function.inputs["runtime"],
                Role=function.inputs["role"],
                Handler=function.inputs["handler"],
                Code={"ZipFile": buffer.getvalue()},
            )

    # --- what the tests use ------------------------------------------------------------------------------

    def session(self, role: str) -> boto3.Session:
        """A session with the role's temporary credentials, from STS AssumeRole."""
        credentials = self.admin.client("sts").assume_role(
            RoleArn=self.role_arns[role], RoleSessionName=f"{role}-harness"
        )["Credentials"]
        return new_session(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )

    def bucket(self, suffix: str = "-bucket") -> str:
        """The physical name of the declared bucket whose name ends with `suffix`."""
        [bucket] = [physical(b.name) for b in self.stack.of_type(Bucket) if b.name.endswith(suffix)]
        return bucket

    def topic_arn(self, suffix: str) -> str:
        [topic] = [
            arn_of(Topic, t.name, t.inputs) for t in self.stack.of_type(Topic) if t.name.endswith(suffix)
        ]
        return topic

    def function(self, handler: str = "handler.lambda_handler") -> Declared:
        """The declared function whose Lambda handler setting is `handler`."""
        [function] = [f for f in self.stack.of_type(Function) if f.inputs["handler"] == handler]
        return function

    def function_arn(self, function: Declared) -> str:
        return arn_of(Function, function.name, function.inputs)

    def run(self, function: Declared, event: Any, *, environment: Mapping[str, str] | None = None) -> Any:
        """Call the declared handler as Lambda would: the declared environment (plus `environment`), the
        function's role's credentials, a new container."""
        role_session = self.session(self.function_role(function))
        variables = {**function.inputs["environment"]["variables"], **(environment or {})}
        with function_process(role_session, variables, function.inputs["handler"]) as handler:
            return handler(event, None)

    def function_role(self, function: Declared) -> str:
        [role] = [name for name, arn in self.role_arns.items() if arn == function.inputs["role"]]
        return role

    def invoke_from_queue(
        self, function: Declared, *, environment: Mapping[str, str] | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One poll of the event source mapping: receive a batch from the declared queue and delete what
        succeeded under the function's role, and call the declared handler with the declared environment
        (plus `environment`) and the role's credentials. Returns (the handler's answer, the messages)."""
        function_arn = arn_of(Function, function.name, function.inputs)
        [mapping] = [m for m in self.stack.of_type(SourceMapping) if m.inputs["functionName"] == function_arn]
        queue_arn = mapping.inputs["eventSourceArn"]
        queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue_arn.rsplit(':', 1)[1]}"
        role_session = self.session(self.function_role(function))
        sqs = role_session.client("sqs")
        messages: list[dict[str, Any]] = sqs.receive_message(  # type: ignore[assignment]
            QueueUrl=queue_url,
            MaxNumberOfMessages=int(mapping.inputs.get("batchSize", 10)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        event = {"Records": [lambda_record(m, queue_arn=queue_arn, region=REGION) for m in messages]}
        variables = {**function.inputs["environment"]["variables"], **(environment or {})}
        with function_process(role_session, variables, function.inputs["handler"]) as handler:
            answer: dict[str, Any] = handler(event, None)
        failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return answer, messages


@contextmanager
def function_process(
    role_session: boto3.Session, variables: Mapping[str, str], handler: str
) -> Iterator[Any]:
    """The declared handler as a new container would run it: this environment only (the function's
    variables, its region, the role's credentials), a default boto3 session of the role's (sharing the
    harness's parsed service models), no state kept."""
    credentials = role_session.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key is not None
    assert frozen.secret_key is not None
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(
        {
            **{k: v for k, v in saved.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}},
            **variables,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": frozen.access_key,
            "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_SESSION_TOKEN": frozen.token or "",
        }
    )
    boto3.DEFAULT_SESSION = new_session(frozen.access_key, frozen.secret_key, frozen.token)
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    reset = getattr(module, "reset", None)
    if reset is not None:
        reset()
    try:
        yield getattr(module, attribute)
    finally:
        if reset is not None:
            reset()
        boto3.DEFAULT_SESSION = None
        os.environ.clear()
        os.environ.update(saved)
