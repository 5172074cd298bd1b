"""batch_concurrency: how much longer a batch of 10 takes than a batch of 1, ours against the seed's way.

Latency model: every API call sleeps before it is sent (a botocore `before-call` hook on each client):
DetectLabels 150 ms, each S3 and SNS call 20 ms, typical same-region p50s seen from Lambda. moto answers
after a few milliseconds of CPU and no wait, so without the model this would time moto's CPU, not the
waiting a real function does; with it, the figure shows whether the waits of a batch overlap (ours: one
worker per record) or add up (the seed: one record after another).

What it cannot leave out: moto runs in process, so its CPU shares the function's GIL, where AWS's would not.
A batch of 10 costs ~400 ms of CPU here (`time.process_time()`), more than the 310 ms of waits injected for
one record (DetectLabels and eight S3/SNS calls). On 2026-11-30 py-spy's samples of the batch's threads, taken
before `fast_moto_s3_urls`, fell 64% in moto, 31% in botocore and 5% in ours, so the figure sits near its
goal and moves with the machine. moto's server in a process of its own was tried and read worse (~1.9): one
server process answers the ten workers' calls one at a time, and each call then also pays for HTTP on both
sides.

Ours is the real handler path: `inspector.app.build(...)` with the real `RekognitionDetector` on moto's
Rekognition, clients from `inspector.aws.make_client`, logs formatted as in Lambda; `.process(event)` on
Lambda SQS events taken off the queue S3 announced the uploads on. The baseline is
`benchmarks/seed_baseline.py` on the same world with the same hooks. Each ratio is the median of REPEATS
timings of a batch of 10 over the median of REPEATS timings of a batch of 1, interleaved, after a warm-up
invocation (the warm container the ratio is about).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from benchmarks.common import Figure, at_least, at_most, build_ours, jpeg, median, moto_world, timed
from benchmarks.seed_baseline import build_seed

REPEATS = 5
BATCH = 10


def _ratio(world: Any, process: Any, image: bytes) -> tuple[float, float, float]:
    """(median batch-of-10 time / median batch-of-1 time, median of 1, median of 10)."""
    world.upload(image, count=1)
    process(world.event(1))  # warm-up: endpoint resolution, first-call caches
    ones: list[float] = []
    tens: list[float] = []
    for _ in range(REPEATS):
        for size, times in ((1, ones), (BATCH, tens)):
            world.upload(image, count=size)
            event = world.event(size)
            times.append(timed(partial(process, event)))
            world.acknowledge(event)
    one, ten = median(ones), median(tens)
    return ten / one, one, ten


def main() -> list[Figure]:
    image = jpeg(120)  # the size does not matter to ours; the seed downloads and sends it
    with moto_world() as world:
        ours = build_ours(world)
        try:
            ratio, one, ten = _ratio(world, ours.processor.process, image)
        finally:
            ours.close()
        seed = build_seed(world)
        seed_ratio, seed_one, seed_ten = _ratio(world, seed.process, image)
    return [
        Figure(
            "batch_concurrency",
            ratio,
            at_most(1.5),
            f"ours: batch of 10 {ten * 1000:.0f} ms / batch of 1 {one * 1000:.0f} ms "
            f"(median of {REPEATS}); pool of 10 workers, one per record",
        ),
        Figure(
            "batch_concurrency_seed_baseline",
            seed_ratio,
            at_least(5),
            f"seed: batch of 10 {seed_ten * 1000:.0f} ms / batch of 1 {seed_one * 1000:.0f} ms "
            f"(median of {REPEATS}); informational contrast: records one after another",
        ),
    ]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
