"""The benchmarks' set-ups still run: each cold-start snippet once, in the Lambda-like layout.

`make bench` is not part of `make test` (it takes minutes), so a change to the settings or the handler can
break a benchmark's environment unnoticed (it did once: live criteria left the Powertools peer and the
reference detector's run without criteria). These run each measured snippet a single time, untimed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks import cold_import, reference_speed

SNIPPETS = {
    "ours": cold_import.OURS,
    "floor": cold_import.FLOOR,
    "one model": cold_import.FLOOR_ONE_MODEL,
    "botocore floor": cold_import.FLOOR_BOTOCORE,
    "Powertools peer": cold_import.PEER,
    "ours, first batch": cold_import.OURS_FIRST,
    "peer, first batch": cold_import.PEER_FIRST,
    "ours, first batch's whole work": cold_import.OURS_FULL,
    "peer, first batch's whole work": cold_import.PEER_FULL,
    "boto3": cold_import.BASELINE,
}


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("bench-layout")
    return root, cold_import.lambda_layout(root / "warm", compiled=True)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_each_cold_import_snippet_runs_with_the_functions_environment(
    name: str, layout: tuple[Path, str]
) -> None:
    root, path = layout
    env = {**cold_import.function_environment(), "PYTHONPATH": path}
    result = cold_import._run(SNIPPETS[name], env, flags=("-S",), cwd=root)
    assert result["total"] > 0
    assert result["modules"] > 10


def test_the_reference_detectors_cold_import_runs_with_its_environment(layout: tuple[Path, str]) -> None:
    root, path = layout
    env = {**reference_speed.reference_environment(), "PYTHONPATH": path}
    result = cold_import._run(reference_speed.REFERENCE_IMPORTS, env, flags=("-S",), cwd=root)
    assert result["total"] > 0
    assert "INSPECTOR_CRITERIA_PREFIX" not in env


@pytest.mark.skipif(shutil.which(cold_import.VALGRIND) is None, reason="valgrind is not installed")
def test_the_instruction_count_repeats_and_grows_with_the_work(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "")}
    empty = cold_import.instructions("pass", env, flags=("-S",), cwd=tmp_path)
    first = cold_import.instructions("import json, decimal", env, flags=("-S",), cwd=tmp_path)
    again = cold_import.instructions("import json, decimal", env, flags=("-S",), cwd=tmp_path)

    assert empty is not None
    assert first is not None
    assert again is not None
    assert first > empty * 1.02
    assert abs(first - again) < first * 0.001


def test_without_valgrind_the_benchmark_says_how_to_get_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    assert cold_import.instructions("pass", {}, flags=(), cwd=tmp_path) is None
    assert cold_import.instruction_counts({}, flags=(), cwd=tmp_path) is None
    assert "apt install valgrind" in cold_import.describe_counts(None)


def test_without_the_functions_python_the_benchmark_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import infra.bundle  # noqa: PLC0415 - patched where the benchmark looks it up

    monkeypatch.setattr(infra.bundle, "find_interpreter", lambda version: None)
    monkeypatch.setattr(infra.bundle, "build_bundle", lambda **_: pytest.fail("nothing to build for"))

    line = cold_import.on_the_functions_python({})

    assert "not measured, no Python 3.13 here (`pyenv install 3.13`)" in line
