"""reference_speed: judging a 1 MP JPEG with the reference detector, against decoding it with Pillow.

Latency model: none (CPU only; no AWS). A model is trained on 12 generated good photos of 1152 x 864 px
(1.0 MP); then, alternating, Pillow decodes an unseen 1 MP JPEG fully (`Image.open(...).load()`, the
baseline) and `ReferenceDetector.detect` judges the same bytes (decode at the working resolution,
alignment, lighting fit, variation test, regions, the Rekognition-shaped analysis) under
`forbid: [{label: Anomaly, minConfidence: 50}]`, ROUNDS times each.

Times are CPU time of the benchmark's thread (`time.thread_time`): on a shared machine, wall time
also counts the other processes' turns, which fall unevenly on a long Python-heavy call and a short C one.
Figures:
- reference_judge_vs_decode = median judge CPU time / median decode CPU time (goal <= 3);
- reference_cost = cost per 1,000 images / Rekognition DetectLabels' $1.00 per 1,000 (goal <= 0.01): the
  judge's wall time (the larger, billed one), scaled from this machine's core to the share of a vCPU
  Lambda gives the function's memory
  (1,769 MB = one vCPU, AWS docs), billed at arm64's $0.0000133334 per GB-s plus $0.20 per million requests
  (us-east-1 list prices, 2026-11, as in overhead_cost). The S3 GET of the photo is left out (it is in
  overhead_cost's request counts for every detector alike).
Context: the cold import of the handler with INSPECTOR_DETECTOR=reference plus the reference detector's
modules (numpy, Pillow: what the first invocation imports to build it), in the Lambda-like layout of
cold_import, over `import boto3` alone, beside the same for the default (Rekognition) settings.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from PIL import Image

from benchmarks import cold_import
from benchmarks.common import Figure, at_most, median
from inspector.criteria import Criteria
from inspector.deployment import Deployment
from inspector.reference import ReferenceDetector, train
from inspector.reference import synthetic as syn

SIZE = (1152, 864)
ROUNDS = 40
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
REKOGNITION_PER_IMAGE = 1.00 / 1000
ONE_VCPU_MB = 1769
CRITERIA = Criteria.from_document({"forbid": [{"label": "Anomaly", "minConfidence": 50}]})

# cold_import's measured code, plus what the first invocation imports to build the reference detector.
_SETTINGS_LINE = "Settings.from_env(os.environ)\n"
REFERENCE_IMPORTS = cold_import.OURS.replace(
    _SETTINGS_LINE,
    _SETTINGS_LINE + "import inspector.reference.detector, inspector.reference.files, inspector.evidence\n",
)
assert REFERENCE_IMPORTS != cold_import.OURS  # cold_import's code changed shape: update this


def timings() -> tuple[float, float, float]:
    """Median CPU seconds (this thread's) to judge and to decode, and the judge's median wall time."""
    model = train([(f"{i}.jpg", syn.widget(40 + i, SIZE)) for i in range(12)])
    detector = ReferenceDetector(model)
    data = syn.widget(4_000, SIZE)
    request = CRITERIA.detection_request()

    def decode() -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    def judge() -> None:
        detector.detect(data, request)

    decode()  # warm-up
    judge()
    decodes, judges, walls = [], [], []
    for _ in range(ROUNDS):
        started = time.thread_time()
        decode()
        decodes.append(time.thread_time() - started)
        started, wall = time.thread_time(), time.perf_counter()
        judge()
        judges.append(time.thread_time() - started)
        walls.append(time.perf_counter() - wall)
    return median(judges), median(decodes), median(walls)


def reference_environment() -> dict[str, str]:
    """The function's environment with the reference detector and fixed criteria (no lines, no live ones).

    The settings refuse fixed and live criteria at once, and a line without criteria when criteria are not
    live, so the stack's live-criteria prefix and its line are left out.
    """
    env = {k: v for k, v in cold_import.function_environment().items()
           if k not in {"INSPECTOR_CRITERIA_PREFIX", "INSPECTOR_LINES"}}  # fmt: skip
    env["INSPECTOR_DETECTOR"] = "reference"
    env["INSPECTOR_REFERENCE_MODEL"] = "models/widget.npz"
    env["INSPECTOR_CRITERIA"] = CRITERIA.model_dump_json(by_alias=True, exclude_defaults=True)
    return env


def cold_imports() -> str:
    base_env = cold_import.function_environment()
    env = reference_environment()
    with tempfile.TemporaryDirectory(prefix="bench-cold-ref-") as directory:
        root = Path(directory)
        path = cold_import.lambda_layout(root / "warm", compiled=True)
        runs = cold_import.CONTEXT_RUNS
        ours, samples, base = cold_import.measure(
            {**env, "PYTHONPATH": path}, runs=runs, flags=("-S",), cwd=root, code=REFERENCE_IMPORTS
        )
        default, _, _ = cold_import.measure(
            {**base_env, "PYTHONPATH": path}, runs=runs, flags=("-S",), cwd=root
        )
    total = median([s["total"] for s in samples]) * 1000
    boto3 = median([b["total"] for b in base]) * 1000
    return (
        f"cold import with the reference detector configured (handler, settings, numpy, Pillow, the detector "
        f"and evidence modules): {ours:.2f} x import boto3 ({total:.0f} ms / {boto3:.0f} ms, "
        f"median of {runs}); "
        f"the default (Rekognition) configuration in the same run, which imports neither numpy nor Pillow: "
        f"{default:.2f} (the cold_import figure)"
    )


def main() -> list[Figure]:
    judge, decode, wall = timings()
    memory_mb = Deployment.model_fields["memory_mb"].default
    lambda_seconds = max(wall, judge) * ONE_VCPU_MB / memory_mb  # Lambda gives memory/1769 of a vCPU
    per_image = lambda_seconds * memory_mb / 1024 * LAMBDA_ARM64_PER_GB_SECOND + LAMBDA_PER_REQUEST
    cost_ratio = per_image / REKOGNITION_PER_IMAGE
    speed_context = (
        f"1 MP JPEG ({SIZE[0]}x{SIZE[1]}): judge {judge * 1000:.1f} ms / Pillow full decode "
        f"{decode * 1000:.1f} ms of CPU (this thread's time, so that other processes on a shared machine "
        f"do not count), medians of {ROUNDS} alternating rounds; the judge's wall time {wall * 1000:.1f} ms"
    )
    cost_context = (
        f"${per_image * 1000:.5f} per 1,000 images: {max(wall, judge) * 1000:.1f} ms here x "
        f"{ONE_VCPU_MB}/{memory_mb} "
        f"(vCPU share at {memory_mb} MB) = {lambda_seconds * 1000:.0f} ms at {memory_mb} MB, arm64 "
        f"${LAMBDA_ARM64_PER_GB_SECOND}/GB-s + $0.20 per 1M requests; vs Rekognition $1.00 per 1,000\n  "
        + cold_imports()
    )
    return [
        Figure("reference_judge_vs_decode", judge / decode, at_most(3.0), speed_context),
        Figure("reference_cost", cost_ratio, at_most(0.01), cost_context, digits=3),
    ]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
