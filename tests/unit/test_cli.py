"""The `inspector` command line: evaluate and criteria check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.cli import main
from tests.support import EXAMPLES

CRITERIA = EXAMPLES / "criteria.yaml"
ANALYSES = sorted((EXAMPLES / "analyses").glob("*.json"))


def test_evaluate_prints_the_verdict_and_every_finding(capsys):
    status = main(["evaluate", "--criteria", str(CRITERIA), str(EXAMPLES / "analyses/fail-scratched.json")])

    out = capsys.readouterr().out
    assert 0 == status
    assert "fail-scratched.json: FAIL" in out
    assert "forbid[0]" in out
    assert "observed 83.4: violated" in out
    assert 9 == sum(1 for line in out.splitlines() if line.startswith("  "))


def test_evaluate_json_gives_verdict_findings_and_criteria_fingerprint(capsys):
    status = main(
        ["evaluate", "--json", "--criteria", str(CRITERIA), str(EXAMPLES / "analyses/review-faint-rust.json")]
    )

    document = json.loads(capsys.readouterr().out)
    assert 0 == status
    assert {"verdict", "findings", "criteria"} == set(document)
    assert "REVIEW" == document["verdict"]
    assert 16 == len(document["criteria"])
    uncertain = [f["rule"] for f in document["findings"] if f["outcome"] == "uncertain"]
    assert ["forbid[1]"] == uncertain


def test_evaluate_json_prints_one_line_per_analysis_in_order(capsys):
    main(["evaluate", "--json", "--criteria", str(CRITERIA), *map(str, ANALYSES)])

    verdicts = [json.loads(line)["verdict"] for line in capsys.readouterr().out.splitlines()]
    expected = [path.name.split("-")[0].upper() for path in ANALYSES]
    assert expected == verdicts


def test_evaluate_exits_zero_whatever_the_verdict(capsys):
    assert 0 == main(["evaluate", "--criteria", str(CRITERIA), str(EXAMPLES / "analyses/fail-blurry.json")])
    assert "FAIL" in capsys.readouterr().out


def test_evaluate_accepts_json_criteria(tmp_path, capsys):
    criteria = tmp_path / "criteria.json"
    criteria.write_text(json.dumps({"require": [{"label": "Widget"}]}))

    main(["evaluate", "--json", "--criteria", str(criteria), str(EXAMPLES / "analyses/fail-blurry.json")])

    assert "PASS" == json.loads(capsys.readouterr().out)["verdict"]


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        pytest.param(
            lambda tmp: ["evaluate", "--criteria", str(tmp / "nope.yaml"), str(ANALYSES[0])],
            "cannot read criteria file",
            id="missing criteria file",
        ),
        pytest.param(
            lambda tmp: ["evaluate", "--criteria", str(CRITERIA), str(tmp / "nope.json")],
            "cannot read analysis",
            id="missing analysis file",
        ),
        pytest.param(
            lambda tmp: ["evaluate", "--criteria", str(CRITERIA), str(_write(tmp / "bad.json", "{not json"))],
            "analysis is not valid JSON",
            id="analysis not JSON",
        ),
        pytest.param(
            lambda tmp: [
                "evaluate",
                "--criteria",
                str(CRITERIA),
                str(_write(tmp / "a.json", '{"Labels": 3}')),
            ],
            "invalid DetectLabels response",
            id="analysis of the wrong shape",
        ),
        pytest.param(
            lambda tmp: [
                "evaluate",
                "--criteria",
                str(_write(tmp / "c.yaml", "minConfidence: 120\nrequire: [{label: Widget}]\n")),
                str(ANALYSES[0]),
            ],
            "minConfidence: Input should be less than or equal to 100",
            id="criteria out of range",
        ),
        pytest.param(
            lambda tmp: ["evaluate", "--criteria", str(_write(tmp / "c.json", "{,}")), str(ANALYSES[0])],
            "is not valid JSON",
            id="criteria not JSON",
        ),
        pytest.param(
            lambda tmp: ["criteria", "check", str(_write(tmp / "c.yaml", "require: [{colour: red}]\n"))],
            "require[0].colour: unknown key",
            id="criteria check of a bad rule",
        ),
    ],
)
def test_user_errors_are_one_line_on_stderr_and_exit_2(tmp_path, capsys, make_args, message):
    status = main(make_args(tmp_path))

    captured = capsys.readouterr()
    assert 2 == status
    assert "" == captured.out
    assert 1 == len(captured.err.splitlines())
    assert captured.err.startswith("inspector: error: ")
    assert message in captured.err


def test_criteria_check_prints_the_fingerprint_and_the_compiled_request(capsys):
    status = main(["criteria", "check", str(CRITERIA)])

    out = capsys.readouterr().out
    request = json.loads(out[out.index("{") :])
    assert 0 == status
    assert "valid criteria, fingerprint" in out
    assert ["GENERAL_LABELS", "IMAGE_PROPERTIES"] == request["Features"]
    assert 60.0 == request["MinConfidence"]
    assert ["Widget", "Bolt", "Screw", "Scratch", "Rust"] == request["Settings"]["GeneralLabels"][
        "LabelInclusionFilters"
    ]
    assert "MaxLabels" not in request


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate"])

    assert 2 == exit_info.value.code
    assert "--criteria" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("inspector", path=str(Path(sys.executable).parent)) is None, reason="not installed"
)
def test_the_installed_console_script_reports_errors_without_a_traceback(tmp_path):
    script = shutil.which("inspector", path=str(Path(sys.executable).parent))
    assert script is not None

    result = subprocess.run(
        [script, "evaluate", "--criteria", str(tmp_path / "missing.yaml"), str(ANALYSES[0])],
        capture_output=True,
        text=True,
        check=False,
    )

    assert 2 == result.returncode
    assert "Traceback" not in result.stderr
    assert "cannot read criteria file" in result.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_criteria_check_of_reference_criteria_sends_no_detect_labels_request(tmp_path, capsys):
    path = _write(tmp_path / "c.yaml", "forbid: [{label: Anomaly, minConfidence: 50}]\n")

    status = main(["criteria", "check", str(path)])

    out = capsys.readouterr().out
    assert 0 == status
    assert "detector: reference (assumed; --detector to choose another)" in out
    assert "reference: no request leaves the function" in out
    assert "DetectLabels" not in out
    assert "LabelInclusionFilters" not in out


def test_criteria_check_refuses_criteria_the_chosen_detector_cannot_judge(tmp_path, capsys):
    path = _write(tmp_path / "c.yaml", "quality: {minSharpness: 40}\n")

    status = main(["criteria", "check", str(path), "--detector", "reference"])

    err = capsys.readouterr().err.splitlines()
    assert 2 == status
    assert 1 == len(err)
    assert "forbid: [{label: Anomaly, minConfidence: 50}]" in err[0]


def test_criteria_check_of_a_stack_file_shows_every_lines_criteria_and_requests(capsys):
    status = main(["criteria", "check", str(Path(__file__).resolve().parents[2] / "Pulumi.prod.yaml")])

    out = capsys.readouterr().out
    assert 0 == status
    assert "valid criteria on each of its 3 lines" in out
    for line in ("line default (every key", "line brackets (images/line-1/)", "line gears (images/line-2/)"):
        assert line in out
    assert 3 == out.count("DetectLabels request")
    assert 1 == out.count("DetectCustomLabels request")
    assert '"LabelInclusionFilters": [\n          "Bracket",' in out  # the brackets line's own labels


def test_criteria_check_of_a_stack_file_with_a_reference_line(tmp_path, capsys):
    stack = _write(
        tmp_path / "Pulumi.t.yaml",
        "config:\n  inspector:criteria: {require: [{label: Widget}]}\n  inspector:lines:\n"
        "    - {name: cams, prefix: cams/, detectors: [reference], referenceModel: models/c.npz,\n"
        "       criteria: {forbid: [{label: Anomaly, minConfidence: 50}]}}\n",
    )

    assert 0 == main(["criteria", "check", str(stack)])

    out = capsys.readouterr().out
    cams = out[out.index("line cams") :]
    assert "detectors reference" in cams
    assert "DetectLabels" not in cams
    assert 1 == out.count("DetectLabels request")  # the default line's only
