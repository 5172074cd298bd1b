"""The installable package: what `import inspector` costs and exposes."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import inspector

HEAVY = ("boto3", "botocore", "pulumi", "pulumi_aws", "yaml")


def test_importing_inspector_pulls_in_neither_boto3_nor_pulumi():
    probe = (
        "import json, sys, inspector; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert [] == json.loads(result.stdout)


def test_the_probe_would_see_boto3_when_it_is_imported():
    # Guards the test above: the same probe does report a heavy module once it is imported.
    probe = (
        "import json, sys, boto3, inspector; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert "boto3" in json.loads(result.stdout)


def test_every_public_name_is_importable_from_the_package():
    missing = [name for name in inspector.__all__ if not hasattr(inspector, name)]

    assert [] == missing


def test_the_package_is_marked_typed():
    assert files("inspector").joinpath("py.typed").is_file()


def test_the_lambda_entry_point_is_the_librarys_function():
    import handler  # noqa: PLC0415 - the source tree's Lambda adapter
    from inspector import function  # noqa: PLC0415

    assert function.lambda_handler is handler.lambda_handler
