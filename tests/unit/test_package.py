"""The installable package: what `import inspector` costs and exposes."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import pytest

import inspector

HEAVY = ("boto3", "botocore", "pulumi", "pulumi_aws", "yaml")


def _probe(code: str) -> list[str]:
    """What `code`, run in a fresh interpreter, prints as a JSON list of names."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found: list[str] = json.loads(result.stdout)
    return found


def _loaded_after(code: str) -> list[str]:
    """Every module a fresh interpreter holds once `code` has run (the probe's own json and sys too)."""
    return _probe(f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))")


def _heavy_after(code: str) -> list[str]:
    return [m for m in _loaded_after(code) if m.split(".")[0] in HEAVY]


def test_importing_inspector_pulls_in_neither_boto3_nor_pulumi():
    assert [] == _heavy_after("import inspector")


def test_the_probe_would_see_boto3_when_it_is_imported():
    # Guards the test above: the same probe does report a heavy module once it is imported.
    assert "boto3" in _heavy_after("import boto3, inspector")


def test_every_public_name_is_importable_from_the_package():
    missing = [name for name in inspector.__all__ if not hasattr(inspector, name)]

    assert [] == missing


def test_the_package_is_marked_typed():
    assert files("inspector").joinpath("py.typed").is_file()


def test_the_lambda_entry_point_is_the_librarys_function():
    import handler  # noqa: PLC0415 - the source tree's Lambda adapter
    from inspector import function  # noqa: PLC0415

    assert function.lambda_handler is handler.lambda_handler


def _modules_after(code: str) -> list[str]:
    return [m for m in _loaded_after(code) if m.startswith("inspector")]


def test_importing_inspector_loads_no_submodule_until_a_name_is_used():
    assert ["inspector"] == _modules_after("import inspector")
    loaded = _modules_after("import inspector; inspector.Verdict")
    assert ["inspector", "inspector.verdicts"] == loaded


def test_a_public_name_is_the_defining_modules_object_and_an_unknown_one_is_an_attribute_error():
    from inspector import engine, records  # noqa: PLC0415

    assert engine.evaluate is inspector.evaluate
    assert records.ResultRecord is inspector.ResultRecord
    assert engine.Verdict is inspector.Verdict
    assert set(inspector.__all__) <= set(dir(inspector))
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        inspector.Nothing  # noqa: B018 - the look-up is the test


def test_the_settings_load_only_what_they_validate():
    # The function validates its settings first; the events, analyses and records are built for the batch.
    loaded = _modules_after("from inspector.settings import Settings")

    built_later = {"inspector.events", "inspector.records", "inspector.analysis", "inspector.engine"}
    assert "inspector.criteria" in loaded
    assert [] == sorted(built_later & set(loaded))


@pytest.mark.parametrize(
    "module",
    ["inspector.reports", "inspector.review", "inspector.reference", "inspector.cli", "inspector.local",
     "inspector.detectors.combined", "inspector.deployment", "inspector.other_events"],
)  # fmt: skip
def test_the_functions_import_leaves_out_what_the_default_configuration_does_not_use(module: str):
    loaded = _modules_after("import handler")

    assert "inspector.pipeline" in loaded  # the probe sees the function's own modules
    assert module not in loaded


def _dataclasses_after(code: str) -> list[str]:
    """The dataclasses the project's modules define once `code` has run."""
    return _probe(
        f"import json, sys, dataclasses\n{code}\n"
        "print(json.dumps(sorted(f'{name}.{attr}' for name, module in list(sys.modules.items())\n"
        "    if name.startswith(('inspector', 'handler')) for attr, value in vars(module).items()\n"
        "    if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == name)))"
    )


# Work every cold start pays for nothing the function needs (benchmarks/cold_import.py measures both).
def test_the_functions_import_leaves_out_difflib_which_only_a_refused_document_needs():
    assert "difflib" not in _loaded_after("import handler")


def test_the_functions_import_defines_no_dataclass():
    # A dataclass compiles its methods from source when defined: as much CPU as a pydantic model of eight
    # fields. The function's value objects are NamedTuples.
    assert [] == _dataclasses_after("import handler")


def test_the_probe_would_see_a_dataclass_where_one_is_defined():
    assert "inspector.reference.model.Parameters" in _dataclasses_after("import inspector.reference.model")
