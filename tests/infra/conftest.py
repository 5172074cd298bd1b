"""Pulumi under mocks: run the program or the component, then assert on what it declared.

Pitfalls this guards against (see FACTS.md): mocks are set before anything declares a resource; preview
is off so every output is known; and every declaration is collected only after `pulumi.runtime.test` has
waited for all outstanding registrations, so a check never runs on a half-declared stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.mocks as pulumi_mocks
import pytest

from infra.config import as_pulumi_gives
from inspector import documents

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass
class Declared:
    """One resource as the engine saw it: its type token, name, and inputs (camelCase, numbers as floats)."""

    typ: str
    name: str
    inputs: dict[str, Any]
    parent_typ: str | None = None


@dataclass
class Stack:
    resources: list[Declared] = field(default_factory=list)
    invokes: list[str] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Declared]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str | None = None) -> Declared:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(typ)]
            raise AssertionError(f"expected exactly one {typ} named {name!r}, found {names}")
        return found[0]


class Mocks(pulumi.runtime.Mocks):
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.stack.resources.append(Declared(args.typ, args.name, dict(args.inputs)))
        physical = f"{args.name}-0a1b2c3"
        outputs = dict(args.inputs)
        service = args.typ.split(":")[1].split("/")[0]
        outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}")
        outputs.setdefault("name", physical)
        if args.typ == "aws:sqs/queue:Queue":
            outputs["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
            return outputs["url"], outputs
        if args.typ == "aws:s3/bucket:Bucket":
            outputs["bucket"] = physical
            outputs["arn"] = f"arn:aws:s3:::{physical}"
        if args.typ == "aws:lambda/function:Function":
            # As Lambda answers: the version a deployment published, else the unpublished $LATEST.
            outputs["version"] = "1" if args.inputs.get("publish") else "$LATEST"
        if args.typ == "aws:lambda/alias:Alias":
            # As Lambda names an alias: the function's ARN, then the alias.
            function, alias = args.inputs.get("functionName", ""), args.inputs.get("name", "")
            outputs["arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{alias}"
        return physical, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        self.stack.invokes.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/test", "userId": "AIDA"}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "id": REGION,
                "name": REGION,
                "region": REGION,
                "endpoint": f"ec2.{REGION}.amazonaws.com",
            }, []
        return {}, []


def run_under_mocks(
    declare: Callable[[], Any],
    *,
    stack_name: str = "test",
    config: dict[str, str] | None = None,
    mocks: Callable[[Stack], pulumi.runtime.Mocks] = Mocks,
) -> Stack:
    """Run `declare` (which declares resources and returns an Output or None) and collect the result."""
    stack = Stack()
    pulumi.runtime.set_all_config(config or {})
    pulumi.runtime.set_mocks(mocks(stack), project="inspector", stack=stack_name, preview=False)

    @pulumi.runtime.test
    def program() -> Any:
        return declare()

    program()
    if not stack.resources:
        raise AssertionError("nothing was declared: the program never ran under the mocks")
    return stack


def stack_config_values(stack_file: str) -> dict[str, str]:
    """A Pulumi.<stack>.yaml's config, as the Pulumi engine hands it to the program (JSON for objects)."""
    document = documents.read(REPO / stack_file, what="stack file")  # strict: a repeated key is refused
    return {key: as_pulumi_gives(value) for key, value in document["config"].items()}


@pytest.fixture(scope="session", autouse=True)
def event_loops_for_pulumi() -> Iterator[None]:
    # One loop for every program run under the mocks (Pulumi's runtime keeps using the current one).
    # The mock monitor also gives each of its worker threads a loop of its own and never closes them;
    # track those and close them all at the end, so no unclosed loop or socket is left to the GC.
    loops = [asyncio.new_event_loop()]
    asyncio.set_event_loop(loops[0])
    original: Callable[[], asyncio.AbstractEventLoop] = vars(pulumi_mocks)["_ensure_event_loop"]

    def ensure_event_loop() -> asyncio.AbstractEventLoop:
        loop = original()
        if loop not in loops:
            loops.append(loop)
        return loop

    setattr(pulumi_mocks, "_ensure_event_loop", ensure_event_loop)  # noqa: B010 - a private hook
    yield
    setattr(pulumi_mocks, "_ensure_event_loop", original)  # noqa: B010
    for loop in loops:
        loop.close()


@pytest.fixture
def fake_archive(tmp_path: Path) -> pulumi.Archive:
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip: the mocks never read it
    return pulumi.FileArchive(str(archive))
