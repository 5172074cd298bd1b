"""`make preview STACK=dev`: run the Pulumi program under mocks and print what it would declare.

No Pulumi CLI, no AWS account: the program (`__main__.py`) runs with `pulumi.runtime.set_mocks`, the stack
file's config, and mocks that answer every resource with its inputs (names and ARNs are placeholders). It
builds the Lambda bundle as `pulumi up` would. What AWS itself decides (physical names, ARNs, whether
the account's quotas allow it) is not shown: a real `pulumi preview` still has the last word.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_ACCOUNT = "111122223333"
PLACEHOLDER_ID = "0000000"  # stands for the random suffix Pulumi gives a physical name
SKIPPED_INPUTS = frozenset({"tags", "tagsAll", "code", "description", "alarmDescription"})


@dataclass
class Declaration:
    typ: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Recorded:
    declarations: list[Declaration] = field(default_factory=list)
    bundle: str = ""  # the Lambda bundle the program built, described


def stack_config(stack_file: Path, project: str = "inspector") -> dict[str, str]:
    """The stack file's config as the Pulumi engine hands it to a program: namespaced keys, JSON for
    objects and lists, text for scalars."""
    import yaml  # noqa: PLC0415 - the cli extra, installed with the infra one by `make deploy-setup`

    document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    values: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        name = key if ":" in key else f"{project}:{key}"
        values[name] = value if isinstance(value, str) else json.dumps(value)
    return values


def declare(stack: str, config: Mapping[str, str]) -> Recorded:
    """Run `__main__.py` under mocks with this config; every resource it declares, in order."""
    import pulumi  # noqa: PLC0415 - only infra/ imports pulumi

    recorded = Recorded()
    region = config.get("aws:region", "us-east-1")

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            recorded.declarations.append(Declaration(args.typ, args.name, dict(args.inputs)))
            service = args.typ.split(":")[1].split("/")[0]
            physical = f"{args.name}-{PLACEHOLDER_ID}"
            outputs = {
                "arn": f"arn:aws:{service}:{region}:{PLACEHOLDER_ACCOUNT}:{physical}",
                "name": physical,
            }
            outputs |= {"url": f"https://sqs.{region}.amazonaws.com/{PLACEHOLDER_ACCOUNT}/{physical}"}
            if args.typ == "aws:lambda/function:Function":
                # Known once deployed: the version this deployment publishes (snapStart), else $LATEST.
                outputs["version"] = "(published)" if args.inputs.get("publish") else "$LATEST"
            if args.typ == "aws:lambda/alias:Alias":
                # As Lambda names an alias (the function's ARN, then the alias): what the queue invokes.
                function, alias = args.inputs.get("functionName", ""), args.inputs.get("name", "")
                outputs["arn"] = f"arn:aws:lambda:{region}:{PLACEHOLDER_ACCOUNT}:function:{function}:{alias}"
            return physical, {**outputs, **args.inputs, "bucket": physical, "keyId": physical}

        def call(
            self, args: pulumi.runtime.MockCallArgs
        ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
            if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    "accountId": PLACEHOLDER_ACCOUNT,
                    "arn": f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:user/you",
                }, []
            return {}, []

    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_all_config(dict(config))
    pulumi.runtime.set_mocks(Mocks(), project="inspector", stack=stack, preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator] # waits for every registration
    def program() -> Any:
        namespace = runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__")
        from infra.bundle import describe  # noqa: PLC0415

        recorded.bundle = describe(namespace["bundle"])
        return namespace["pipeline"].function_name

    program()
    return recorded


def summarize(inputs: Mapping[str, Any]) -> str:
    """Key properties on one line: scalars as they are, policies by their statement ids, the function's
    environment by variable name."""
    parts = []
    for key, value in sorted(inputs.items()):
        if key in SKIPPED_INPUTS or value is None:
            continue
        if isinstance(value, str) and value.lstrip().startswith("{") and '"Statement"' in value:
            statements = json.loads(value)["Statement"]
            sids = [s.get("Sid") or "-".join(_as_list(s.get("Action"))) for s in _as_list(statements)]
            parts.append(f"{key}=[{', '.join(sids)}]")
        elif key == "environment" and isinstance(value, dict):
            parts.append(f"environment={','.join(sorted(value.get('variables', {})))}")
        elif isinstance(value, dict | list):
            text = json.dumps(_whole(value), sort_keys=True, separators=(",", ":"))
            parts.append(f"{key}={text if len(text) <= 120 else text[:117] + '...'}")
        elif isinstance(value, float) and value.is_integer():
            parts.append(f"{key}={int(value)}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _whole(value: Any) -> Any:
    """Numbers as the program wrote them: the engine hands every number over as a float (10 -> 10.0)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m infra.preview STACK   (reads Pulumi.STACK.yaml)", file=sys.stderr)
        return 2
    stack = args[0]
    stack_file = REPO_ROOT / f"Pulumi.{stack}.yaml"
    from inspector.stack import StackConfigError, load, read_stack_file  # noqa: PLC0415

    try:
        load(read_stack_file(stack_file))
    except StackConfigError as exc:
        for problem in exc.problems:
            print(problem if str(stack_file) in problem else f"{stack_file.name}: {problem}", file=sys.stderr)
        return 2
    recorded = declare(stack, stack_config(stack_file))
    width = max(len(d.name) for d in recorded.declarations)
    print(f"Stack {stack} ({stack_file.name}): {len(recorded.declarations)} resources (under mocks)")
    for declaration in recorded.declarations:
        kind = declaration.typ.split(":")[-1] if declaration.typ.startswith("aws:") else declaration.typ
        print(f"  {declaration.name:<{width}}  {kind:<39} {summarize(declaration.inputs)}")
    print(f"Lambda bundle: {recorded.bundle}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
