"""`inspector stack check`: validate a Pulumi stack file offline, with the models the Pulumi program uses."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from inspector.commands import EXIT_OK, EXIT_USAGE


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "stack", help="work with Pulumi stack files (Pulumi.<stack>.yaml)"
    )
    stack_commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    check = stack_commands.add_parser(
        "check",
        help="validate a stack file's inspector:* settings offline (no Pulumi, no AWS)",
        description=(
            "Validate the inspector:* keys of a Pulumi stack file with the very models `pulumi up` validates "
            "them with (inspector.stack, inspector.deployment): one line per problem and exit status 2, or "
            "a summary of what the stack would deploy. Other namespaces (aws:region) are left to Pulumi."
        ),
    )
    check.add_argument("file", type=Path, metavar="Pulumi.<stack>.yaml")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    from inspector.stack import (  # noqa: PLC0415 - pydantic, yaml
        StackConfigError,
        as_pulumi_gives,
        load,
        read_stack_file,
    )

    try:
        values = read_stack_file(args.file)
        deployment = load({key: as_pulumi_gives(value) for key, value in values.items()})
    except StackConfigError as exc:
        for problem in exc.problems:
            line = " ".join(problem.split())
            # A problem with the file itself already names it; a setting's problem is prefixed with it.
            where = "" if str(args.file) in line else f"{args.file}: "
            print(f"inspector: error: {where}{line}", file=sys.stderr)
        return EXIT_USAGE
    out.write(
        f"{args.file}: valid stack config ({len(values)} inspector:* keys): function "
        f"{deployment.architecture} Python {deployment.python_version}, {deployment.memory_mb} MB, "
        f"timeout {deployment.timeout_seconds} s{', SnapStart' if deployment.snap_start else ''}\n"
    )
    return EXIT_OK
