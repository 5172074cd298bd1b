"""Every sub-command, misused: exit status 2, one line on stderr, never a traceback (issue 11, part 2).

The sub-commands are enumerated from the parser itself, so a command added later is covered by the
generic cases (an unknown option, a malformed endpoint URL, a bad region, a missing required argument, a
missing file for each of its file arguments) without touching this file. Commands listed in VALID also get
the file cases on top of arguments that would otherwise run (a folder for a file, an unreadable file, a
closed stdout).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from inspector import cli
from inspector.cli import main
from tests.support import EXAMPLES

SCRIPT = Path(sys.executable).parent / "inspector"
CRITERIA = EXAMPLES / "criteria.yaml"
ANALYSIS = EXAMPLES / "analyses" / "fail-scratched.json"
SAMPLES = Path(cli.__file__).parent / "samples"
DEMO_CRITERIA = SAMPLES / "demo-criteria.yaml"
SAMPLE_IMAGE = SAMPLES / "images" / "line-1" / "pass-blue-widget-1.jpg"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there

BAD_URLS = ["127.0.0.1:4566", "http://[::1", "localhost", "ftp://example.com/", "http://host:99999"]
BAD_REGIONS = ["nowhere", "us-east-99", "EU_WEST_1"]


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable sub-command: (its words, its parser)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, parser
        return
    for group in groups:
        for name, child in group.choices.items():
            yield from leaves(child, (*path, name))


COMMANDS = dict(leaves(cli._parser()))


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def path_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.type is Path]


# Arguments with which each known command would do real work, all of it local (`--endpoint-url` where the
# command talks to AWS points at nothing, so it fails fast without an account). Folder-taking arguments
# are named, so the "folder for a file" case leaves them out. `demo` and `local` only ever get a bad file
# (they would start servers otherwise).
@dataclass(frozen=True)
class Valid:
    options: dict[str, str]
    positionals: tuple[str, ...] = ()
    folders_allowed: frozenset[str] = frozenset()
    made_if_missing: frozenset[str] = frozenset()  # e.g. `local --watch DIR`: a missing one is created
    writes_output: bool = True  # runs to completion and prints: the closed-stdout case applies

    @property
    def argv(self) -> list[str]:
        return [*(word for pair in self.options.items() for word in pair), *self.positionals]


VALID: dict[tuple[str, ...], Valid] = {
    ("evaluate",): Valid({"--criteria": str(CRITERIA)}, (str(ANALYSIS),)),
    ("criteria", "check"): Valid({}, (str(CRITERIA),)),
    ("analyze",): Valid(
        {"--criteria": str(DEMO_CRITERIA)},
        (str(SAMPLE_IMAGE),),
        frozenset({"images", "evidence"}),
        made_if_missing=frozenset({"evidence"}),
    ),
    ("backtest",): Valid(
        {"--criteria": str(CRITERIA)}, (str(EXAMPLES / "analyses"),), frozenset({"results"})
    ),
    ("demo",): Valid(
        {"--criteria": str(DEMO_CRITERIA)},
        folders_allowed=frozenset({"out"}),
        made_if_missing=frozenset({"out"}),
        writes_output=False,
    ),
    ("local",): Valid(
        {"--criteria": str(DEMO_CRITERIA)},
        folders_allowed=frozenset({"watch"}),
        made_if_missing=frozenset({"watch"}),
        writes_output=False,
    ),
}


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


def run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Run:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        status = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Run(status, captured.out, captured.err)


def assert_one_line_exit_2(run: Run, *words: str) -> None:
    assert "Traceback" not in run.err
    assert 2 == run.status, run.err
    lines = run.err.splitlines()
    assert 1 == len(lines), run.err
    assert lines[0].startswith("inspector"), lines[0]
    for word in words:
        assert word in lines[0]


def ids(commands: Mapping[tuple[str, ...], object]) -> list[str]:
    return [" ".join(words) for words in commands]


def test_the_table_knows_every_command_there_is():
    # The generic cases below run on whatever the parser has; this only guards the enumeration itself.
    assert {("evaluate",), ("criteria", "check"), ("demo",), ("local",), ("analyze",), ("backtest",)} <= set(
        COMMANDS
    )
    assert {("enqueue",), ("redrive",)} <= set(COMMANDS)


# --- generic: every command ---------------------------------------------------------------------------


@pytest.mark.parametrize("words", list(COMMANDS), ids=ids(COMMANDS))
def test_an_unknown_option_is_one_line(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]):
    assert_one_line_exit_2(run_in_process([*words, "--no-such-option"], capsys))


@pytest.mark.parametrize("words", list(COMMANDS), ids=ids(COMMANDS))
def test_missing_required_arguments_are_one_line(words: tuple[str, ...], capsys: pytest.CaptureFixture[str]):
    parser = COMMANDS[words]
    if not any(a.required for a in parser._actions):
        pytest.skip(f"{' '.join(words)} has no required argument")
    assert_one_line_exit_2(run_in_process(list(words), capsys), "required")


AWS_COMMANDS = {w: p for w, p in COMMANDS.items() if "--endpoint-url" in options(p)}


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("words", list(AWS_COMMANDS), ids=ids(AWS_COMMANDS))
def test_a_malformed_endpoint_url_is_one_line(
    words: tuple[str, ...], url: str, capsys: pytest.CaptureFixture[str]
):
    assert_one_line_exit_2(run_in_process([*words, "--endpoint-url", url], capsys), "--endpoint-url", url)


REGION_COMMANDS = {w: p for w, p in COMMANDS.items() if "--region" in options(p)}


@pytest.mark.parametrize("region", BAD_REGIONS)
@pytest.mark.parametrize("words", list(REGION_COMMANDS), ids=ids(REGION_COMMANDS))
def test_a_bad_region_is_one_line(words: tuple[str, ...], region: str, capsys: pytest.CaptureFixture[str]):
    assert_one_line_exit_2(run_in_process([*words, "--region", region], capsys), "--region", region)


FILE_COMMANDS = {w: p for w, p in COMMANDS.items() if path_arguments(p)}


@pytest.mark.parametrize("words", list(FILE_COMMANDS), ids=ids(FILE_COMMANDS))
def test_a_missing_file_is_one_line_for_every_file_argument(
    words: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    for action in path_arguments(COMMANDS[words]):
        if words in VALID and action.dest in VALID[words].made_if_missing:
            continue
        if words in VALID:
            argv = substitute(VALID[words], COMMANDS[words], action, tmp_path / "nowhere.yaml")
            assert_one_line_exit_2(run_in_process([*words, *argv], capsys), "nowhere.yaml")
        elif action.required or not action.option_strings:
            # A command this table does not know yet: its other arguments are filled with plain words; a
            # well-behaved command still refuses the missing file, in a subprocess so nothing can hang here.
            argv = generic_arguments(COMMANDS[words], action, tmp_path / "nowhere.yaml")
            result = subprocess.run(
                [str(SCRIPT), *words, *argv], capture_output=True, text=True, timeout=60, check=False
            )
            assert_one_line_exit_2(Run(result.returncode, result.stdout, result.stderr))


# --- the known commands, with arguments that would otherwise run ----------------------------------------


def file_cases(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a-folder"
    folder.mkdir(parents=True)
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)  # unreadable even for root: ELOOP
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"\xff\xfe\x00binary\x00\x80")
    cases = {"folder": folder, "symlink loop": loop, "not text": garbage}
    if os.geteuid() != 0:  # root reads anything whatever its mode
        locked = tmp_path / "locked.yaml"
        locked.write_text("forbid: [{label: Rust}]\n")
        locked.chmod(0)
        cases["no permission"] = locked
    return cases


KNOWN = {w: v for w, v in VALID.items() if w in COMMANDS}


@pytest.mark.parametrize("words", list(KNOWN), ids=ids(KNOWN))
def test_a_folder_or_an_unreadable_file_for_a_file_is_one_line(
    words: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    valid = VALID[words]
    checked = 0
    for action in path_arguments(COMMANDS[words]):
        for case, bad in file_cases(tmp_path / action.dest).items():
            if case == "folder" and action.dest in valid.folders_allowed:
                continue
            if case == "not text" and action.dest in {"images", "analyses"}:
                continue  # any bytes are an image or an analysis to judge (REJECTED, or a bad analysis)
            argv = substitute(valid, COMMANDS[words], action, bad)
            assert_one_line_exit_2(run_in_process([*words, *argv], capsys))
            checked += 1
    assert checked


def test_a_not_json_analysis_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe\x00binary")

    run = run_in_process(["evaluate", "--criteria", str(CRITERIA), str(garbage)], capsys)

    assert_one_line_exit_2(run, "garbage.json")


WRITERS = {w: v for w, v in KNOWN.items() if v.writes_output}


@pytest.mark.parametrize("words", list(WRITERS), ids=ids(WRITERS))
@pytest.mark.parametrize("json_flag", [False, True], ids=["text", "json"])
def test_a_closed_stdout_is_one_line(words: tuple[str, ...], json_flag: bool):
    flags = ["--json"] if json_flag and "--json" in options(COMMANDS[words]) else []

    result = run_with_closed_stdout([*words, *flags, *VALID[words].argv])

    assert_one_line_exit_2(Run(result.returncode, "", result.stderr), "output was closed")


def test_head_dash_1_takes_the_first_line_and_nothing_traces_back():
    analyses = [
        str(p) for p in sorted((EXAMPLES / "analyses").glob("*.json"))
    ] * 400  # more than a pipe holds
    evaluate = subprocess.Popen(
        [str(SCRIPT), "evaluate", "--criteria", str(CRITERIA), *analyses],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.run(["head", "-1"], stdin=evaluate.stdout, capture_output=True, check=True)
    assert evaluate.stdout is not None
    evaluate.stdout.close()
    err = evaluate.communicate(timeout=120)[1].decode()

    assert head.stdout.decode().startswith(analyses[0])
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert 2 == evaluate.returncode
    assert 1 == len(err.splitlines())


@pytest.mark.parametrize("words", list(COMMANDS), ids=ids(COMMANDS))
def test_help_to_a_closed_stdout_never_traces_back(words: tuple[str, ...]):
    result = run_with_closed_stdout([*words, "--help"])

    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) <= 1


def test_an_unreachable_endpoint_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    run = run_in_process(
        ["backtest", "--criteria", str(CRITERIA), "s3://widgets/results/", "--endpoint-url", UNREACHABLE,
         "--region", "eu-west-1"],
        capsys,
    )  # fmt: skip

    assert_one_line_exit_2(run)


# --- helpers ----------------------------------------------------------------------------------------------


def run_with_closed_stdout(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """The console script with a stdout whose reader is gone before the first byte (`| head -0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [str(SCRIPT), *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def substitute(
    valid: Valid, parser: argparse.ArgumentParser, action: argparse.Action, value: Path
) -> list[str]:
    """The valid arguments with `action`'s value replaced by `value` (or added, when they leave it out)."""
    if action.option_strings:
        flag = next((f for f in action.option_strings if f in valid.options), action.option_strings[0])
        return Valid({**valid.options, flag: str(value)}, valid.positionals).argv
    positionals = [a for a in parser._actions if not a.option_strings]
    words = list(valid.positionals)
    words[positionals.index(action)] = str(value)
    return Valid(valid.options, tuple(words)).argv


def generic_arguments(parser: argparse.ArgumentParser, bad: argparse.Action, value: Path) -> list[str]:
    """Every required argument filled: `bad` with `value`, any other with a plain word (or a valid file)."""
    argv: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not (action.required or not action.option_strings):
            continue
        filler = str(value) if action is bad else str(CRITERIA if action.type is Path else "x")
        if action.choices:
            filler = str(next(iter(action.choices)))
        count = 1
        if action.nargs in {"+", "*"} or isinstance(action.nargs, int):
            count = action.nargs if isinstance(action.nargs, int) else 1
        if action.nargs == 0:
            argv.append(action.option_strings[0])
            continue
        argv.extend(
            [action.option_strings[0], *[filler] * count] if action.option_strings else [filler] * count
        )
    return argv
