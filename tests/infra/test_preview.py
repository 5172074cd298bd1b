"""`make preview`: the Pulumi program under mocks, printed resource by resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import infra.bundle
from infra import preview
from infra.bundle import Bundle


@pytest.fixture
def no_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    archive = tmp_path / "inspector-lambda-arm64-py3.13.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)

    def fake_build(*, architecture: str, python_version: str, **_: Any) -> Bundle:
        return Bundle(archive, "0" * 64, archive.stat().st_size, architecture, python_version)

    monkeypatch.setattr(infra.bundle, "build_bundle", fake_build)


def test_preview_prints_every_resource_with_its_key_properties(no_build: None, capsys):
    status = preview.main(["prod"])

    out = capsys.readouterr().out.splitlines()
    assert 0 == status
    count = int(out[0].split(": ")[1].split()[0])
    assert count == len([line for line in out if line.startswith("  ")])
    by_name = {line.split()[0]: line for line in out[1:] if line.startswith("  ")}
    assert "enableKeyRotation=True" in by_name["inspector-ops-key"]
    assert "runtime=python3.13" in by_name["inspector-function"]
    assert "memorySize=512" in by_name["inspector-function"]
    assert "INSPECTOR_CRITERIA" in by_name["inspector-function"]
    assert "policy=[WriteOwnLogs," in by_name["inspector-role-policy"]
    assert "sqsManagedSseEnabled=True" in by_name["inspector-queue"]
    assert out[-1].startswith("Lambda bundle: inspector-lambda-arm64-py3.13.zip")


def test_preview_of_a_stack_without_a_file_is_one_line_and_exit_2(capsys):
    status = preview.main(["nosuchstack"])

    err = capsys.readouterr().err.splitlines()
    assert 2 == status
    assert [
        f"cannot read stack file {preview.REPO_ROOT}/Pulumi.nosuchstack.yaml: No such file or directory"
    ] == err
