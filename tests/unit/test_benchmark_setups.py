"""The benchmarks' set-ups still run: each cold-start snippet once, in the Lambda-like layout.

`make bench` is not part of `make test` (it takes minutes), so a change to the settings or the handler can
break a benchmark's environment unnoticed (it did once: live criteria left the Powertools peer and the
reference detector's run without criteria). These run each measured snippet a single time, untimed.
"""

from __future__ import annotations

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
