"""cold_import: the function's cold-start imports, over `import boto3` alone, in fresh interpreters.

Latency model: none; this times CPU in fresh subprocesses of the venv's Python, which stand for new Lambda
containers. No AWS call is made: the handler makes its clients on the first invocation.

Timed inside each subprocess with `time.perf_counter()` (interpreter start-up, equal for both, is left
out):
- ours: `import boto3` (the handler needs it for its clients on the first invocation, so it is fair to count
  it), `import handler`, `Settings.from_env(os.environ)` with the INSPECTOR_* variables the stack sets;
- baseline: `import boto3`, all a seed-style handler needs at import.
Figure = median over RUNS subprocesses of ours / median over RUNS of the baseline; the two kinds alternate,
to spread the machine's noise over both, after one warm-up run of each (bytecode caches written).

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
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from benchmarks.common import CRITERIA_DOCUMENT, Figure, at_most, median

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
CONTEXT_RUNS = 7
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
    for distribution in RUNTIME_DISTRIBUTIONS:
        for name in _top_level_names(distribution):
            place(site_packages / name, runtime / name, link=True)  # the runtime ships compiled
        info = _dist_info(distribution)
        place(info, runtime / info.name, link=True)
    return f"{task}{os.pathsep}{runtime}"


def _run(code: str, env: Mapping[str, str], *, flags: tuple[str, ...], cwd: Path) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *flags, "-c", code],
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
    lines = ["top 10 cumulative imports beyond boto3 (ms, nested by depth):"]
    for self_us, cumulative_us, depth, module in sorted(added, key=lambda row: -row[1])[:10]:
        lines.append(f"    {cumulative_us / 1000:6.1f}  {'  ' * depth}{module} (self {self_us / 1000:.1f})")
    lines.append(
        "top 10 self times beyond boto3 (ms): "
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
        ratio, ours, base = measure(lambda_env, runs=RUNS, flags=flags, cwd=root)
        extra = runtime_environment()
        bare_env = {k: v for k, v in lambda_env.items() if k not in extra}
        bare_ratio, _, _ = measure(bare_env, runs=CONTEXT_RUNS, flags=flags, cwd=root)
        shipped_ratio, shipped, _ = measure(
            {**base_env, "PYTHONPATH": cold_path, "PYTHONDONTWRITEBYTECODE": "1"},
            runs=CONTEXT_RUNS,
            flags=flags,
            cwd=root,
        )
        floor_ratio, _, _ = measure(lambda_env, runs=CONTEXT_RUNS, flags=flags, cwd=root, code=FLOOR)
        botocore_floor_ratio, _, _ = measure(
            lambda_env, runs=CONTEXT_RUNS, flags=flags, cwd=root, code=FLOOR_BOTOCORE
        )
        venv_ratio, _, _ = measure(
            {**base_env, "PYTHONPATH": str(REPO_ROOT)}, runs=CONTEXT_RUNS, flags=(), cwd=root
        )
        breakdown = importtime_breakdown(lambda_env, flags=flags, cwd=root)

    def ms(samples: list[dict[str, float]], key: str) -> float:
        return median([s[key] for s in samples]) * 1000

    context = "\n  ".join(
        [
            f"Lambda-like layout, warm .pyc, median of {RUNS}: ours {ms(ours, 'total'):.0f} ms "
            f"(boto3 {ms(ours, 'boto3'):.0f} + handler {ms(ours, 'handler'):.0f} + "
            f"settings {ms(ours, 'settings'):.1f}; {ours[0]['modules']:.0f} modules) / "
            f"import boto3 alone {ms(base, 'total'):.0f} ms ({base[0]['modules']:.0f} modules)",
            "environment: INSPECTOR_* from Settings.to_env(), AWS_REGION, and the stack's "
            f"RUNTIME_ENVIRONMENT {extra or '(none)'}; without the latter: {bare_ratio:.2f} "
            f"(median of {CONTEXT_RUNS})",
            f"a bundle without .pyc (boto3 compiled, as in the runtime): {shipped_ratio:.2f}, "
            f"handler {ms(shipped, 'handler'):.0f} ms (median of {CONTEXT_RUNS})",
            f"this venv as it is (editable install, ~200 distributions): {venv_ratio:.2f} "
            f"(median of {CONTEXT_RUNS})",
            f"floor while the settings are pydantic models (import boto3 + pydantic.BaseModel, nothing of "
            f"ours): {floor_ratio:.2f} (median of {CONTEXT_RUNS}); with `import botocore.session` instead "
            f"of boto3, the leanest SDK import: {botocore_floor_ratio:.2f}",
            *breakdown,
        ]
    )
    return [Figure("cold_import", ratio, at_most(1.25), context, digits=3)]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
