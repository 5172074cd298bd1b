"""`inspector stack check`: a Pulumi stack file validated offline, with the models `pulumi up` uses."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.stack import StackConfigError, load, read_stack_file

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_example_stacks_are_valid(stack: str, capsys):
    status = main(["stack", "check", str(REPO / f"Pulumi.{stack}.yaml")])

    assert 0 == status
    assert "valid stack config" in capsys.readouterr().out


def test_the_summary_says_when_snapstart_is_on_and_a_non_switch_is_refused(tmp_path: Path, capsys):
    on = write(
        tmp_path,
        """
        config:
          inspector:criteria:
            require: [{label: Widget}]
          inspector:snapStart: true
        """,
    )

    assert 0 == main(["stack", "check", str(on)])
    assert capsys.readouterr().out.rstrip().endswith("timeout 60 s, SnapStart")

    on.write_text(on.read_text().replace("snapStart: true", "snapStart: 'yes'"))
    assert 2 == main(["stack", "check", str(on)])
    assert "inspector:snapStart" in capsys.readouterr().err


def test_every_problem_is_one_line_naming_its_key_and_the_exit_status_is_2(tmp_path: Path, capsys):
    path = write(
        tmp_path,
        """
        config:
          aws:region: eu-west-1
          inspector:criteria:
            require: [{label: Widget, minConfidence: 120}]
          inspector:memoryMb: 64
        """,
    )

    status = main(["stack", "check", str(path)])

    err = capsys.readouterr().err.splitlines()
    assert 2 == status
    assert [
        f"inspector: error: {path}: inspector:criteria.require[0].minConfidence: Input should be less "
        "than or equal to 100",
        f"inspector: error: {path}: inspector:memoryMb: Input should be greater than or equal to 128",
    ] == err


def test_an_unknown_key_is_named_with_the_key_it_was_probably_meant_to_be(tmp_path: Path, capsys):
    path = write(
        tmp_path, "config:\n  inspector:criteria: {forbid: [{label: Rust}]}\n  inspector:batchSzie: 5\n"
    )

    status = main(["stack", "check", str(path)])

    assert 2 == status
    assert [
        f"inspector: error: {path}: inspector:batchSzie: unknown key (did you mean `inspector:batchSize`?)"
    ] == (capsys.readouterr().err.splitlines())


def test_a_key_given_twice_and_yes_for_a_switch_are_refused_as_pulumi_up_would(tmp_path: Path, capsys):
    settings = "config:\n  inspector:criteria: {forbid: [{label: Rust}]}\n"
    twice = write(tmp_path, settings + "  inspector:memoryMb: 1024\n  inspector:memoryMb: 2048\n")
    assert 2 == main(["stack", "check", str(twice)])
    assert "key 'inspector:memoryMb' is given twice in config" in capsys.readouterr().err
    switch = write(tmp_path, settings + "  inspector:forceDestroy: yes\n")
    assert 2 == main(["stack", "check", str(switch)])
    assert "inspector:forceDestroy: Input should be a valid boolean" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "config:\n  inspector:memoryMb: 512\n", "inspector:criteria is required", id="no criteria"
        ),
        pytest.param("config: [1, 2]\n", "has no `config:` mapping", id="config not a mapping"),
        pytest.param("config:\n  a: [\n", "is not valid YAML", id="not YAML"),
        pytest.param(
            "config:\n  inspector:criteria:\n    secure: AAABA==\n", "cannot be checked offline", id="secret"
        ),
        pytest.param(
            "config:\n  inspector:detector: local\n  inspector:criteria: {quality: {minSharpness: 1}}\n",
            "local mode only",
            id="local detector",
        ),
    ],
)
def test_a_file_that_is_not_a_valid_stack_is_one_line_and_exit_2(tmp_path: Path, capsys, text, message):
    status = main(["stack", "check", str(write(tmp_path, text))])

    err = capsys.readouterr().err.splitlines()
    assert 2 == status
    assert 1 == len(err)
    assert message in err[0]


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path, capsys):
    status = main(["stack", "check", str(tmp_path / "Pulumi.nope.yaml")])

    assert 2 == status
    assert "cannot read stack file" in capsys.readouterr().err


def test_bare_keys_belong_to_the_project_and_other_namespaces_are_left_to_pulumi(tmp_path: Path):
    path = write(tmp_path, "config:\n  aws:region: 42\n  memoryMb: 1024\n  inspector:criteria: {}\n")

    assert {"memoryMb": 1024, "criteria": {}} == read_stack_file(path)


def test_the_stack_file_and_the_pulumi_engine_forms_give_the_same_deployment():
    # The engine hands objects to the program as JSON text; the file holds them as YAML objects.
    values = read_stack_file(REPO / "Pulumi.prod.yaml")
    as_engine = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}

    assert load(values) == load(as_engine)


def test_load_names_every_bad_key_in_one_message_for_the_pulumi_program():
    with pytest.raises(StackConfigError) as refused:
        load({"criteria": {"require": [{"label": "W"}]}, "memoryMb": "1", "batchSize": "99"})

    assert 2 == len(refused.value.problems)
    assert str(refused.value).startswith("invalid stack config: inspector:")


def test_stack_check_needs_neither_pulumi_nor_boto3():
    code = (
        "import sys; from inspector.cli import main; "
        f"status = main(['stack', 'check', {str(REPO / 'Pulumi.dev.yaml')!r}]); "
        "print(sorted(m for m in ('pulumi', 'pulumi_aws', 'boto3', 'botocore') if m in sys.modules), status)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert "[] 0" == result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "config:\n  inspector:critera:\n    forbid: [{label: Rust}]\n",
            ["inspector:critera: unknown key (did you mean `inspector:criteria`?)"],
            id="misspelt required key",
        ),
        pytest.param(
            "config:\n  inspector:criteria: {forbid: [{label: Rust}]}\n  inspector:opsNotfy:\n"
            "    secure: AAABA==\n",
            ["inspector:opsNotfy: unknown key (did you mean `inspector:opsNotify`?)"],
            id="unknown key holding a secret",
        ),
        pytest.param(
            "config:\n  inspector:critera: {}\n  inspector:memroyMb: 512\n",
            [
                "inspector:critera: unknown key (did you mean `inspector:criteria`?)",
                "inspector:memroyMb: unknown key (did you mean `inspector:memoryMb`?)",
            ],
            id="two unknown keys",
        ),
    ],
)
def test_an_unknown_key_is_named_first_with_did_you_mean_one_line_each(
    tmp_path: Path, capsys, text, expected
):
    path = write(tmp_path, text)

    status = main(["stack", "check", str(path)])

    assert 2 == status
    assert [f"inspector: error: {path}: {line}" for line in expected] == capsys.readouterr().err.splitlines()


def test_the_pulumi_program_names_an_unknown_key_before_a_missing_one():
    with pytest.raises(StackConfigError) as refused:
        load({"critera": '{"forbid": [{"label": "Rust"}]}'})

    assert ["inspector:critera: unknown key (did you mean `inspector:criteria`?)"] == refused.value.problems


def test_a_reference_stack_whose_criteria_cannot_fail_on_anomaly_is_refused(tmp_path: Path, capsys):
    path = write(
        tmp_path,
        """
        config:
          inspector:detector: reference
          inspector:referenceModel: models/widget.npz
          inspector:criteria:
            quality: {minSharpness: 40}
        """,
    )

    status = main(["stack", "check", str(path)])

    err = capsys.readouterr().err.splitlines()
    assert 2 == status
    assert 1 == len(err)
    assert "no rule forbids it, so every defect it finds would PASS" in err[0]
    assert "forbid: [{label: Anomaly, minConfidence: 50}]" in err[0]
