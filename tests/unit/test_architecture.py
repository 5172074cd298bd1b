"""The import-linter contracts in pyproject.toml catch what they promise to (`make test` runs them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages and the contracts, copied, for a test to break."""
    for package in ("inspector", "handler", "infra"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_tree_as_it_is(tree: Path):
    result = lint(tree)

    assert 0 == result.returncode, result.stdout
    assert "0 broken" in result.stdout


BREAKAGES = [
    # (module, a line added to it, the contract that must then break)
    ("inspector/criteria.py", "import boto3", "The core (models, criteria, engine, records, settings)"),
    ("inspector/newthing/__init__.py", "import pulumi", "Only infra/ and __main__.py import Pulumi"),
    ("inspector/function.py", "from inspector import cli", "The function never imports the command line"),
    ("inspector/storage.py", "def later():\n    from inspector.commands import stack", "Adapters and wiring"),
    ("inspector/aws.py", "import inspector.pipeline", "Layers: the command line on top"),
    ("inspector/batch.py", "from inspector.review import decisions", "The function's path never imports"),
    ("inspector/lines.py", "from inspector.engine import Verdict as V", "The settings build only"),
]


def test_every_contract_breaks_when_its_rule_is_broken(tree: Path):
    # One tree broken seven ways (lint-imports takes seconds per run): a new subpackage importing pulumi,
    # an import inside a function, a lower layer importing a higher one each break their own contract.
    for module, line, _ in BREAKAGES:
        path = tree / module
        path.parent.mkdir(exist_ok=True)
        path.write_text((path.read_text() if path.exists() else '"""New."""\n') + f"\n{line}\n")

    result = lint(tree)

    report = result.stdout.split("Broken contracts", 1)[-1]
    assert 1 == result.returncode
    assert [] == [contract for _, _, contract in BREAKAGES if contract not in report]
    assert f"Contracts: 0 kept, {len(BREAKAGES)} broken." in result.stdout
