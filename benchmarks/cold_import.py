"""cold_import: the function's cold start against what a user would pick instead, in fresh interpreters.

Figures (goals from issue #15):
- `cold_import_vs_floor`: ours over the floor any pydantic-validating handler pays (`import boto3` and
  pydantic's `BaseModel`, none of our code): <= 1.10;
- `cold_import_vs_powertools`: ours over a peer handler built on Powertools for AWS Lambda (batch and parser
  utilities, benchmarks/powertools_peer.py) doing the same work: <= 1.0 (no slower);
- `cold_import`: ours over `import boto3` alone, the old figure, kept as context (the old goal, 1.25, cannot
  be met by anything that imports pydantic: the floor alone is above it).

Latency model: none; this times CPU in fresh subprocesses of the venv's Python, which stand for new Lambda
containers. No AWS call is made: the handler makes its clients on the first invocation.

The two goal figures are ratios of **instructions executed** (valgrind's cachegrind, one run of each code,
beyond an empty interpreter's start-up) when valgrind is installed, else of CPU-time medians. On this
project's shared VMs the CPU-time ratio of one and the same tree came out anywhere from 1.08 to 1.27 in
runs minutes apart (medians of 15 fresh interpreters each, 2026-11-30), more than the differences the goal
is about; an instruction count repeats to 0.1%. It leaves out what an instruction costs (cache misses,
file-system calls), so CPU time is still measured and printed beside it. Counting instructions rather than
timing is how the Rust compiler's performance suite (rustc-perf) tracks small changes, for the same reason.

Timed inside each subprocess by its CPU time (`time.process_time()`, user and system: the snippets below are
written with `time.perf_counter()` and `_run` swaps the clock, set by CLOCK). CPU time is what the cold
start costs the function and, unlike wall time, does not count the time other processes hold the CPU
(runs under a load average of 4 gave wall-time ratios 0.2 apart), but it still moves with the machine.
Interpreter start-up, equal for all, is left out:
- ours: `import boto3` (the handler needs it for its clients on the first invocation, so it is fair to count
  it), `import handler`, `Settings.from_env(os.environ)` with the INSPECTOR_* variables the stack sets;
- baseline: `import boto3`, all a seed-style handler needs at import.
CPU-time ratio = median over RUNS subprocesses of ours / median over RUNS of the baseline; the kinds
alternate, to spread the machine's noise over both, after one warm-up run of each (bytecode caches written).

Where the modules come from matters, so the figure is measured in a Lambda-like layout: `task/` holds what
the bundle holds (handler, inspector, and the distributions `infra.bundle.RUNTIME_DISTRIBUTIONS` names),
`runtime/` what the Lambda Python runtime provides (boto3 and its dependencies), both symlinked from the
venv, and the interpreter runs with `-S` (no site-packages): pydantic's plugin discovery would then scan a
handful of distributions, as in Lambda, not the ~200 of this venv. The environment is the function's:
the INSPECTOR_* variables, AWS_REGION, and what the stack adds (`infra.pipeline.RUNTIME_ENVIRONMENT`, read
from its source; today PYDANTIC_DISABLE_PLUGINS=__all__). Context lines add: the same without the stack's
additions; a bundle without .pyc files (built where the function's Python version is missing: Lambda's
code directory is read-only, so its modules are compiled again on every cold start, while the runtime's
boto3 comes compiled; the bundle ships .pyc files when it can, see infra/bundle.py); and this venv as it is.

One more context line measures the bundle itself, as `make bundle` builds it for this machine's
architecture, unzipped, on the function's own Python (the stack's default `pythonVersion`, when this
machine has it): the layout above stands for it with this venv's Python and files.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from benchmarks.common import CRITERIA_DOCUMENT, Figure, Goal, at_most, median

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
CLOCK = "time.process_time()"  # see the module docstring; "time.perf_counter()" for wall time
CONTEXT_RUNS = 5
PEER_DISTRIBUTIONS = ("aws-lambda-powertools",)  # bundled with the peer, beside the bundle's own
# What the Lambda Python runtime provides next to the function (/var/runtime): boto3 and its dependencies.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six")

OURS = """
import time
started = time.perf_counter()
import os
import boto3
boto3_done = time.perf_counter()
import handler
handler_done = time.perf_counter()
from inspector.settings import Settings
Settings.from_env(os.environ)
done = time.perf_counter()
import json, sys
print(json.dumps({"total": done - started, "boto3": boto3_done - started,
                  "handler": handler_done - boto3_done, "settings": done - handler_done,
                  "modules": len(sys.modules)}))
"""

# The floor while settings are pydantic models: boto3 and pydantic's BaseModel, nothing of ours.
FLOOR = """
import time
started = time.perf_counter()
import os
import boto3
from pydantic import BaseModel, ConfigDict, Field
done = time.perf_counter()
import json, sys
print(json.dumps({"total": done - started, "modules": len(sys.modules)}))
"""

# The floor with one (trivial) model built: pydantic imports its schema generator (and zoneinfo, fractions,
# annotated_types...) only when the first model is defined, which any handler that validates anything with
# pydantic does, the Powertools peer included. Context: what of ours-over-floor is pydantic's, not ours.
FLOOR_ONE_MODEL = FLOOR.replace(
    "\ndone = time.perf_counter()",
    "\nclass Probe(BaseModel):\n    name: str = Field(min_length=1)\n"
    "Probe(name='x')\ndone = time.perf_counter()",
    1,
)

# The same floor with the leanest SDK import a handler could make (botocore's session, without boto3's).
FLOOR_BOTOCORE = """
import time
started = time.perf_counter()
import os
import botocore.session
from pydantic import BaseModel, ConfigDict, Field
done = time.perf_counter()
import json, sys
print(json.dumps({"total": done - started, "modules": len(sys.modules)}))
"""

# The Powertools peer: its module imports boto3, Powertools' batch and parser utilities and their event
# models, and validates the criteria from the environment.
PEER = """
import time
started = time.perf_counter()
import peer_handler
done = time.perf_counter()
import json, sys
print(json.dumps({"total": done - started, "modules": len(sys.modules)}))
"""

# One SQS batch parsed after the cold start, as the first invocation does: context, for both handlers.
FIRST_EVENT = json.dumps(
    {"Records": [{"messageId": "m1", "receiptHandle": "r", "attributes": {"ApproximateReceiveCount": "1",
     "SentTimestamp": "1", "SenderId": "s", "ApproximateFirstReceiveTimestamp": "1"},
     "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
     "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
     "body": json.dumps({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-03T09:14:27.512Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:X"}, "requestParameters": {"sourceIPAddress": "1.2.3.4"},
        "responseElements": {"x-amz-request-id": "r", "x-amz-id-2": "i"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": "inspector-images", "ownerIdentity": {"principalId": "X"},
                          "arn": "arn:aws:s3:::inspector-images"},
               "object": {"key": "images/line-1/w1.jpg", "size": 1, "eTag": "e", "sequencer": "0"}}}]})}]}
)  # fmt: skip
OURS_FIRST = OURS.replace(
    "\ndone = time.perf_counter()",
    "\nfrom inspector.events import SqsEvent, parse_body\n"
    f"for r in SqsEvent.model_validate_json({FIRST_EVENT!r}).records: parse_body(r.body, prefix='images/', "
    "bucket='inspector-images')\ndone = time.perf_counter()",
    1,
)
PEER_FIRST = PEER.replace(
    "\ndone = time.perf_counter()",
    "\nfrom aws_lambda_powertools.utilities.parser import parse\n"
    "from aws_lambda_powertools.utilities.parser.models import SqsModel, S3Model\n"
    f"for r in parse(event={FIRST_EVENT!r}, model=SqsModel).Records: parse(event=r.body, model=S3Model)\n"
    "done = time.perf_counter()",
    1,
)

# A DetectLabels answer for the first image (one required label seen, one forbidden label not).
FIRST_RESPONSE = {
    "Labels": [
        {"Name": "Widget", "Confidence": 97.5, "Instances": [{"BoundingBox": {"Width": 0.5, "Height": 0.4,
         "Left": 0.2, "Top": 0.3}, "Confidence": 97.5}], "Parents": [], "Aliases": [], "Categories": []},
    ],
    "LabelModelVersion": "3.0",
}  # fmt: skip
# The first batch's whole work in models, I/O left out, for ours: the SQS batch parsed, the line's criteria
# validated from their document (as the live store's current.json is read on the line's first image), the
# detection request compiled, the answer read as an Analysis, judged, the result record built and
# serialised, the email composed. Context that deferring cannot hide: whatever is not built at the cold
# start is built here.
OURS_FULL = OURS_FIRST.replace(
    "\ndone = time.perf_counter()",
    "\nimport datetime\nfrom inspector.analysis import Analysis\nfrom inspector.criteria import Criteria\n"
    "from inspector.engine import evaluate\nfrom inspector.notification import compose\n"
    "from inspector.records import ResultRecord\n"
    "ref = parse_body(SqsEvent.model_validate_json(" + repr(FIRST_EVENT) + ").records[0].body, "
    "prefix='images/', bucket='inspector-images').objects[0]\n"
    f"criteria = Criteria.from_document({CRITERIA_DOCUMENT!r})\n"
    "request = criteria.detection_request(); request.detect_labels_params()\n"
    f"analysis = Analysis.from_detect_labels({FIRST_RESPONSE!r})\n"
    "record = ResultRecord.judged(ref, analysis, evaluate(analysis, criteria), "
    "inspected_at=datetime.datetime.now(datetime.UTC), detector='rekognition', line='line-1', "
    "request=request)\nrecord.model_dump_json()\ncompose(record, link=None, link_expiry_seconds=3600)\n"
    "done = time.perf_counter()",
    1,
)
# The peer's counterpart: its batch parsed with Powertools' models, the answer read and judged.
PEER_FULL = PEER_FIRST.replace(
    "\ndone = time.perf_counter()",
    "\nfrom inspector.analysis import Analysis\nfrom inspector.engine import evaluate\n"
    f"evaluate(Analysis.from_detect_labels({FIRST_RESPONSE!r}), peer_handler.CRITERIA)\n"
    "done = time.perf_counter()",
    1,
)

BASELINE = """
import time
started = time.perf_counter()
import os
import boto3
done = time.perf_counter()
import json, sys
print(json.dumps({"total": done - started, "modules": len(sys.modules)}))
"""


def runtime_environment() -> dict[str, str]:
    """`infra.pipeline.RUNTIME_ENVIRONMENT`, the variables the stack adds to the function's settings.

    Read from the source, not imported: importing infra.pipeline imports pulumi (~1 s).
    """
    tree = ast.parse((REPO_ROOT / "infra" / "pipeline.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "RUNTIME_ENVIRONMENT" for t in targets):
            return {str(k): str(v) for k, v in ast.literal_eval(value).items()}
    return {}


def function_environment() -> dict[str, str]:
    """The variables Lambda and the stack give the function (fake account and names)."""
    from inspector.criteria import Criteria  # noqa: PLC0415
    from inspector.deployment import Deployment  # noqa: PLC0415

    # As the stack sets it: live criteria (read from S3 at the first image, not at import) and one line.
    deployment = Deployment.model_validate(
        {
            "criteria": Criteria.from_document(CRITERIA_DOCUMENT),
            "lines": [{"name": "line-1", "prefix": "line-1/", "criteria": CRITERIA_DOCUMENT}],
        }
    )
    settings = deployment.settings(
        topic_arn="arn:aws:sns:us-east-1:123456789012:inspector-verdicts", bucket="inspector-images"
    )
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "inspector-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        **settings.to_env(),
        **runtime_environment(),
        "PEER_CRITERIA": json.dumps(CRITERIA_DOCUMENT),  # for benchmarks/powertools_peer.py
    }


def _top_level_names(distribution: str) -> set[str]:
    names = set()
    for file in metadata.distribution(distribution).files or ():
        first = file.parts[0]
        if first in {"..", "__pycache__"} or first.endswith(".dist-info"):
            continue
        names.add(first)
    return names


def _dist_info(distribution: str) -> Path:
    path = getattr(metadata.distribution(distribution), "_path", None)
    if path is None:
        raise RuntimeError(f"cannot find the dist-info of {distribution}")
    return Path(path)


def lambda_layout(root: Path, *, compiled: bool, source_root: Path = REPO_ROOT) -> str:
    """Build task/ and runtime/ under `root`; returns the PYTHONPATH for them.

    compiled=True symlinks everything (the venv's warm bytecode caches serve); compiled=False copies the
    bundle's sources without any .pyc (a bundle built without the function's Python), for runs with
    PYTHONDONTWRITEBYTECODE=1.
    """
    from infra.bundle import RUNTIME_DISTRIBUTIONS as BUNDLE_DISTRIBUTIONS  # noqa: PLC0415

    site_packages = Path(str(metadata.distribution("pydantic").locate_file("")))
    task, runtime = root / "task", root / "runtime"
    task.mkdir(parents=True)
    runtime.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")

    def place(source: Path, target: Path, *, link: bool) -> None:
        if link:
            target.symlink_to(source)
        elif source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)

    for package in ("handler", "inspector"):
        place(source_root / package, task / package, link=compiled)
    for distribution in sorted(BUNDLE_DISTRIBUTIONS):
        for name in _top_level_names(distribution):
            place(site_packages / name, task / name, link=compiled)
        info = _dist_info(distribution)
        place(info, task / info.name, link=compiled)
    for distribution in PEER_DISTRIBUTIONS:
        for name in _top_level_names(distribution):
            place(site_packages / name, task / name, link=compiled)
    place(REPO_ROOT / "benchmarks" / "powertools_peer.py", task / "peer_handler.py", link=compiled)
    for distribution in RUNTIME_DISTRIBUTIONS:
        if distribution in BUNDLE_DISTRIBUTIONS:
            continue  # the bundle carries the SDK itself (infra/bundle.py): task/ has it
        for name in _top_level_names(distribution):
            place(site_packages / name, runtime / name, link=True)  # the runtime ships compiled
        info = _dist_info(distribution)
        place(info, runtime / info.name, link=True)
    return f"{task}{os.pathsep}{runtime}"


def _run(
    code: str, env: Mapping[str, str], *, flags: tuple[str, ...], cwd: Path, python: str = sys.executable
) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [python, *flags, "-c", code.replace("time.perf_counter()", CLOCK)],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"subprocess failed:\n{result.stderr.strip()}")
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def measure(
    env: Mapping[str, str], *, runs: int, flags: tuple[str, ...], cwd: Path, code: str = OURS
) -> tuple[float, list[dict[str, float]], list[dict[str, float]]]:
    """(ours median / baseline median, ours samples, baseline samples), alternating after a warm-up."""
    _run(code, env, flags=flags, cwd=cwd)
    _run(BASELINE, env, flags=flags, cwd=cwd)
    ours: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for _ in range(runs):
        ours.append(_run(code, env, flags=flags, cwd=cwd))
        base.append(_run(BASELINE, env, flags=flags, cwd=cwd))
    ratio = median([o["total"] for o in ours]) / median([b["total"] for b in base])
    return ratio, ours, base


def alternate(
    codes: Mapping[str, str],
    env: Mapping[str, str],
    *,
    runs: int,
    flags: tuple[str, ...],
    cwd: Path,
    python: str = sys.executable,
) -> dict[str, list[dict[str, float]]]:
    """Samples of each code, in rotation (one of each per round) after one warm-up run of each."""
    for code in codes.values():
        _run(code, env, flags=flags, cwd=cwd, python=python)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            samples[name].append(_run(code, env, flags=flags, cwd=cwd, python=python))
    return samples


VALGRIND = "valgrind"


def instructions(
    code: str, env: Mapping[str, str], *, flags: tuple[str, ...], cwd: Path, python: str = sys.executable
) -> int | None:
    """Instructions the interpreter executes running `code` (valgrind's cachegrind, no cache simulation).

    Deterministic: the same code and files give the same count from one run to the next, on a loaded
    machine too, where CPU time moves by 10% or more (see the module docstring for why the goal figures use
    it). None when valgrind is not installed (Debian: `apt install valgrind`).
    """
    valgrind = shutil.which(VALGRIND)
    if valgrind is None:
        return None
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         python, *flags, "-c", code],
        env={**env, "PYTHONHASHSEED": "0"},  # str hashes fixed: set and dict orders repeat
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    match = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"valgrind failed:\n{result.stderr.strip()[-2000:]}")
    return int(match[1].replace(",", ""))


def instruction_counts(
    env: Mapping[str, str],
    *,
    flags: tuple[str, ...],
    cwd: Path,
    python: str = sys.executable,
    codes: Mapping[str, str] | None = None,
) -> dict[str, float] | None:
    """Instructions each code executes beyond an empty interpreter's start-up; None without valgrind.

    `codes` defaults to the floor, ours, ours with the first batch's whole work, and the Powertools peer.
    """
    codes = codes if codes is not None else {"floor": FLOOR, "ours": OURS, "full": OURS_FULL, "peer": PEER}
    empty = instructions("pass", env, flags=flags, cwd=cwd, python=python)
    if empty is None:
        return None
    return {
        name: float((instructions(code, env, flags=flags, cwd=cwd, python=python) or 0) - empty)
        for name, code in codes.items()
    }


def describe_counts(counts: Mapping[str, float] | None) -> str:
    """The instruction counts as a context line (or how to get them)."""
    if counts is None:
        return "instructions: valgrind is not installed (`apt install valgrind` adds a deterministic count)"
    floor, ours, full = counts["floor"], counts["ours"], counts["full"]
    line = (
        f"instructions executed beyond an empty interpreter (valgrind cachegrind, deterministic): floor "
        f"{floor / 1e6:.0f} M, ours {ours / 1e6:.0f} M: {ours / floor:.3f}; with the first batch's whole "
        f"work {full / floor:.3f}"
    )
    if "peer" in counts:
        line += (
            f"; the Powertools peer {counts['peer'] / 1e6:.0f} M, ours over it {ours / counts['peer']:.3f}"
        )
    return line


def on_the_functions_python(env: Mapping[str, str]) -> str:
    """A context line: ours over the floor in the bundle itself, unzipped, on the function's Python.

    The bundle is built as `make bundle` builds it (infra/bundle.py, cached under build/lambda), for this
    machine's architecture, with the stack's default `pythonVersion`; the runtime's boto3 is not needed,
    the bundle carries its own. The line says why when that Python or the build is not to be had here.
    """
    from infra.bundle import ARCHITECTURES, BundleError, build_bundle, find_interpreter  # noqa: PLC0415
    from inspector.deployment import Deployment  # noqa: PLC0415

    version = str(Deployment.model_fields["python_version"].default)
    what = f"the bundle on the function's Python {version}"
    python = find_interpreter(version)
    if python is None:
        return f"{what}: not measured, no Python {version} here (`pyenv install {version}`)"
    architecture = next((name for name, m in ARCHITECTURES.items() if m == platform.machine()), None)
    if architecture is None:
        return f"{what}: not measured, Lambda has no {platform.machine()} architecture"
    try:
        bundle = build_bundle(architecture=architecture, python_version=version)
    except (BundleError, subprocess.CalledProcessError, OSError) as exc:
        return f"{what}: not measured, the bundle did not build ({str(exc).splitlines()[0]})"
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as directory:
        root = Path(directory)
        with zipfile.ZipFile(bundle.path) as archive:
            archive.extractall(root / "task")
        bundle_env = {**env, "PYTHONPATH": str(root / "task")}
        samples = alternate(
            {"ours": OURS, "floor": FLOOR},
            bundle_env,
            runs=CONTEXT_RUNS,
            flags=("-S",),
            cwd=root,
            python=python,
        )
        counted = describe_counts(
            instruction_counts(
                bundle_env,
                flags=("-S",),
                cwd=root,
                python=python,
                codes={"floor": FLOOR, "ours": OURS, "full": OURS_FULL},
            )
        )
    ours, floor = (median([s["total"] for s in samples[name]]) for name in ("ours", "floor"))
    return (
        f"{what} ({python}; {architecture}, {'with' if bundle.compiled else 'without'} .pyc, as deployed): "
        f"{counted}; CPU time, ours over the floor {ours / floor:.2f} (median of {CONTEXT_RUNS})"
    )


def importtime_breakdown(env: Mapping[str, str], *, flags: tuple[str, ...], cwd: Path) -> list[str]:
    """What ours imports beyond boto3 (from `-X importtime`): top 10 cumulative, then self time by package."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *flags, "-X", "importtime", "-c", OURS],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[int, int, int, str]] = []  # self us, cumulative us, depth, module
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    # -X importtime prints children before their parent: everything up to the top-level boto3 line is
    # boto3's (or the interpreter's); what follows is what ours adds.
    boto3_at = next(i for i, row in enumerate(rows) if row[3] == "boto3" and row[2] == 0)
    added = rows[boto3_at + 1 :]
    lines = ["top 10 cumulative imports beyond boto3 (-X importtime, wall ms of one run; nested by depth):"]
    for self_us, cumulative_us, depth, module in sorted(added, key=lambda row: -row[1])[:10]:
        lines.append(f"    {cumulative_us / 1000:6.1f}  {'  ' * depth}{module} (self {self_us / 1000:.1f})")
    lines.append(
        "top 10 self times beyond boto3 (-X importtime, wall ms): "
        + ", ".join(
            f"{module} {self_us / 1000:.1f}"
            for self_us, _, _, module in sorted(added, key=lambda r: -r[0])[:10]
        )
    )
    by_package: dict[str, int] = defaultdict(int)
    for self_us, _, _, module in added:
        by_package[module.split(".")[0]] += self_us
    total = sum(by_package.values())
    top = sorted(by_package.items(), key=lambda item: -item[1])[:8]
    lines.append(
        f"self time beyond boto3 by package ({total / 1000:.1f} ms in all; a module's self time includes "
        "building the pydantic models it defines): "
        + ", ".join(f"{name} {us / 1000:.1f}" for name, us in top)
    )
    return lines


def main() -> list[Figure]:
    base_env = function_environment()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as directory:
        root = Path(directory)
        warm_path = lambda_layout(root / "warm", compiled=True)
        cold_path = lambda_layout(root / "shipped", compiled=False)
        lambda_env = {**base_env, "PYTHONPATH": warm_path}
        flags = ("-S",)
        main_codes = {
            "ours": OURS, "floor": FLOOR, "peer": PEER, "boto3": BASELINE, "one_model": FLOOR_ONE_MODEL
        }  # fmt: skip
        samples = alternate(main_codes, lambda_env, runs=RUNS, flags=flags, cwd=root)
        first = alternate(
            {"ours": OURS_FIRST, "peer": PEER_FIRST, "ours_full": OURS_FULL, "peer_full": PEER_FULL},
            lambda_env,
            runs=CONTEXT_RUNS,
            flags=flags,
            cwd=root,
        )
        extra = runtime_environment()
        bare_env = {k: v for k, v in lambda_env.items() if k not in extra}
        bare_ratio, _, _ = measure(bare_env, runs=CONTEXT_RUNS, flags=flags, cwd=root)
        shipped_ratio, shipped, _ = measure(
            {**base_env, "PYTHONPATH": cold_path, "PYTHONDONTWRITEBYTECODE": "1"},
            runs=CONTEXT_RUNS,
            flags=flags,
            cwd=root,
        )
        botocore_floor_ratio, _, _ = measure(
            lambda_env, runs=CONTEXT_RUNS, flags=flags, cwd=root, code=FLOOR_BOTOCORE
        )
        venv_ratio, _, _ = measure(
            {**base_env, "PYTHONPATH": str(REPO_ROOT)}, runs=CONTEXT_RUNS, flags=(), cwd=root
        )
        breakdown = importtime_breakdown(lambda_env, flags=flags, cwd=root)
        counts = instruction_counts(lambda_env, flags=flags, cwd=root)
        deployed = on_the_functions_python(base_env)

    def ms(found: list[dict[str, float]], key: str = "total") -> float:
        return median([s[key] for s in found]) * 1000

    ours, floor, peer, base = (samples[name] for name in ("ours", "floor", "peer", "boto3"))
    cpu_floor, cpu_peer = ms(ours) / ms(floor), ms(ours) / ms(peer)
    if counts is not None:
        basis = (
            "from instruction counts (below): deterministic, where the CPU-time ratio of the same tree moves "
            f"by 0.1 or more between runs on a shared VM; CPU time in this run: {cpu_floor:.2f}"
        )
        vs_floor, vs_peer = counts["ours"] / counts["floor"], counts["ours"] / counts["peer"]
    else:
        basis = (
            "from CPU time (valgrind is not installed: `apt install valgrind` makes the figure deterministic)"
        )
        vs_floor, vs_peer = cpu_floor, cpu_peer
    context = "\n  ".join(
        [
            basis,
            f"CPU time ({CLOCK}); Lambda-like layout (the bundle's files in task/, SDK included), warm .pyc, "
            f"medians of {RUNS}, "
            f"in rotation: ours {ms(ours):.0f} ms (boto3 {ms(ours, 'boto3'):.0f} + handler "
            f"{ms(ours, 'handler'):.0f} + settings {ms(ours, 'settings'):.1f}; "
            f"{ours[0]['modules']:.0f} modules); "
            f"floor {ms(floor):.0f} ms ({floor[0]['modules']:.0f} modules); "
            f"Powertools peer {ms(peer):.0f} ms "
            f"({peer[0]['modules']:.0f} modules); import boto3 alone {ms(base):.0f} ms",
            f"with the first SQS batch parsed (median of {CONTEXT_RUNS}): ours {ms(first['ours']):.0f} ms, "
            f"Powertools peer {ms(first['peer']):.0f} ms: "
            f"{ms(first['ours']) / ms(first['peer']):.2f}",
            f"with the first batch's whole work in models (criteria validated, detection request, analysis, "
            f"verdict, result record, email; no I/O; median of {CONTEXT_RUNS}): ours "
            f"{ms(first['ours_full']):.0f} ms, Powertools peer (parse, analysis, verdict) "
            f"{ms(first['peer_full']):.0f} ms: {ms(first['ours_full']) / ms(first['peer_full']):.2f}; "
            f"ours over the floor: {ms(first['ours_full']) / ms(floor):.2f}",
            f"over import boto3 alone: ours {ms(ours) / ms(base):.2f}, floor {ms(floor) / ms(base):.2f}, "
            f"peer {ms(peer) / ms(base):.2f}; ours over the floor with one trivial model built (pydantic's "
            f"schema machinery loaded): {ms(ours) / ms(samples['one_model']):.2f}; "
            f"floor with `import botocore.session` instead of boto3: "
            f"{botocore_floor_ratio:.2f} (median of {CONTEXT_RUNS})",
            "environment: INSPECTOR_* from Settings.to_env(), AWS_REGION, and the stack's "
            f"RUNTIME_ENVIRONMENT {extra or '(none)'}; without the latter, ours over boto3: {bare_ratio:.2f} "
            f"(median of {CONTEXT_RUNS})",
            f"a bundle without .pyc: ours over boto3 {shipped_ratio:.2f}, "
            f"handler {ms(shipped, 'handler'):.0f} ms "
            f"(median of {CONTEXT_RUNS})",
            f"this venv as it is (editable install, ~200 distributions): {venv_ratio:.2f} "
            f"(median of {CONTEXT_RUNS})",
            describe_counts(counts),
            deployed,
            *breakdown,
        ]
    )
    return [
        Figure("cold_import_vs_floor", vs_floor, at_most(1.10), context, digits=3),
        Figure(
            "cold_import_vs_powertools",
            vs_peer,
            at_most(1.0),
            "same run and basis as above: ours over the Powertools peer (batch + parser utilities, the same "
            f"settings work); CPU time in this run: {cpu_peer:.2f}",
            digits=3,
        ),
        Figure(
            "cold_import",
            ms(ours) / ms(base),
            Goal(">=", 0.0),
            "context only (the old goal, <= 1.25 x import boto3, is below the floor of any pydantic handler)",
            digits=3,
        ),
    ]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
