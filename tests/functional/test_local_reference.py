"""`inspector local` with the reference detector: the model given on the command line or in --lines is put in
the embedded bucket, the function reads it from there, and the drawn defects FAIL."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from inspector.cli import _parser, main
from inspector.commands import UserError
from inspector.commands.local import LocalSession, session_inputs
from inspector.errors import InspectorError
from inspector.reference import train
from tests.functional.test_local_command import keys, record, wait_until

SAMPLES = Path(__file__).resolve().parents[2] / "inspector" / "samples"
LINE_4 = sorted((SAMPLES / "images" / "line-4").iterdir())


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = resources.files("inspector") / "samples" / "reference"
    images = [(entry.name, entry.read_bytes()) for entry in sorted(folder.iterdir(), key=lambda e: e.name)]
    path = tmp_path_factory.mktemp("model") / "widget.npz"
    path.write_bytes(train(images).to_bytes())
    return path


def inputs(*argv: str) -> Any:
    return session_inputs(_parser().parse_args(["local", *argv]))


@contextmanager
def running(*argv: str) -> Iterator[tuple[LocalSession, io.StringIO]]:
    deployment, models, source = inputs(*argv)
    out = io.StringIO()
    with LocalSession(deployment, models=models, out=out, errors=io.StringIO(), criteria_source=source) as s:
        s.announce()
        stop = threading.Event()
        loop = threading.Thread(target=s.run, args=(stop,), name="local-session")
        loop.start()
        try:
            yield s, out
        finally:
            stop.set()
            loop.join(timeout=5)


def judge_line_4(session: LocalSession, prefix: str) -> dict[str, str]:
    bucket = session.provisioned.bucket
    for path in LINE_4:
        session.s3.put_object(Bucket=bucket, Key=f"images/{prefix}{path.name}", Body=path.read_bytes())
    names = [f"results/{prefix}{path.name}.json" for path in LINE_4]
    wait_until(lambda: set(names) <= set(keys(session.s3, bucket, "results/")), what="every record")
    return {name.rsplit("/", 1)[-1].removesuffix(".json"): record(session.s3, bucket, name).verdict.value
            for name in names}  # fmt: skip


def expected() -> dict[str, str]:
    return {path.name: path.name.split("-", 1)[0].upper() for path in LINE_4}


def test_detector_reference_with_a_model_file_fails_the_drawn_defects(model_file: Path) -> None:
    with running("--detector", "reference", "--reference-model", str(model_file)) as (session, out):
        assert expected() == judge_line_4(session, "")
        models = keys(session.s3, session.provisioned.bucket, "models/")
    assert ["models/default.npz"] == models
    banner = out.getvalue()
    assert "judged by the reference detector (model models/default.npz" in banner
    assert "and forbid Anomaly >= 50" in banner  # the demo criteria, with the reference detector's rule
    assert "detector  local" not in banner


def test_a_lines_file_naming_a_model_file_runs_that_line_by_it(model_file: Path, tmp_path: Path) -> None:
    lines = tmp_path / "lines.yaml"
    lines.write_text(
        "- name: widgets\n  prefix: line-4/\n  detectors: [reference]\n"
        f"  referenceModel: {model_file.name}\n"  # relative to the lines file's folder
        "  criteria: {forbid: [{label: Anomaly, minConfidence: 50}]}\n"
    )
    (tmp_path / model_file.name).write_bytes(model_file.read_bytes())
    with running("--lines", str(lines)) as (session, out):
        assert expected() == judge_line_4(session, "line-4/")
    banner = out.getvalue()
    uploads = "s3://inspector-local-images/images/"
    assert f"line      default: {uploads} (under no line's prefix), judged by the local detector" in banner
    assert (
        f"line      widgets: {uploads}line-4/, judged by the reference detector (model models/widgets"
        in banner
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--detector", "reference"], "--detector reference needs --reference-model"),
        (["--reference-model", "{model}"], "--reference-model is only used with --detector reference"),
        (["--detector", "reference", "--reference-model", "nowhere.npz"], "cannot read model nowhere.npz"),
    ],
    ids=["no-model", "model-without-reference", "missing-model"],
)
def test_bad_reference_arguments_are_refused_before_anything_starts(
    argv: list[str], message: str, model_file: Path
) -> None:
    with pytest.raises(InspectorError, match=message):  # exit 2 and one line, from the command line
        inputs(*(word.format(model=model_file) for word in argv))


def test_reference_criteria_with_no_anomaly_rule_exit_2_with_one_line(
    model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    criteria = tmp_path / "quality.yaml"
    criteria.write_text("quality: {minSharpness: 40}\n")

    status = main(["local", "--detector", "reference", "--reference-model", str(model_file),
                   "--criteria", str(criteria)])  # fmt: skip

    (line,) = capsys.readouterr().err.splitlines()
    assert 2 == status
    assert "no rule forbids it, so every defect it finds would PASS" in line


def test_a_lines_file_naming_a_model_that_is_not_here_is_refused(tmp_path: Path) -> None:
    lines = tmp_path / "lines.yaml"
    lines.write_text(
        "- name: widgets\n  prefix: line-4/\n  detectors: [reference]\n  referenceModel: models/widget.npz\n"
        "  criteria: {forbid: [{label: Anomaly}]}\n"
    )
    with pytest.raises(
        UserError, match=r"line 'widgets': referenceModel models/widget\.npz: no such model file"
    ):
        inputs("--lines", str(lines))
