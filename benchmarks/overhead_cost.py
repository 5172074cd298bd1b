"""overhead_cost: what the pipeline costs around Rekognition, per 1,000 images, over Rekognition's own price.

Latency model: as batch_concurrency, a `before-call` sleep per API call: DetectLabels 150 ms, S3 and SNS
20 ms (typical same-region p50s). The handler's duration is what Lambda bills, so it is measured here:
`inspector.app.build(...).process(event)` on BATCHES Lambda events of 10 records each (the stack's batch
size), median invocation time, billed as Lambda bills it (rounded up to the millisecond) at `Deployment()`
memory and architecture (512 MB, arm64). This machine's CPU is faster than a 512 MB Lambda's share of one
(~0.3 vCPU), but CPU is only about a tenth of an invocation here (the rest is the modelled waits), and even
a duration several times longer would leave the Lambda part a small fraction of the total (see the
breakdown in the context line).

Request counts per image are measured with an `after-call` hook on the function's clients (every S3 call,
including a GET answered 404, is billed). The rest is counted from the design: SQS: S3's SendMessage per
upload, plus one ReceiveMessage and one DeleteMessageBatch per batch (Lambda's pollers; their empty receives
while the queue is idle cost the same whatever the volume, ~$0.26 a month, and are left out); SNS: one
Publish per image (measured) and one email delivery per recipient (ASSUMED: one recipient who receives every
verdict). The factory's upload PUT is not the pipeline's cost and is left out; so is storage.

Prices: us-east-1, public list prices as given for this task on 2026-11 and partly checked on 2026-11-26:
Lambda arm64 $0.0000133334 per GB-s (matches artillery's AWS price table) and $0.20 per 1M requests;
S3 Standard PUT/COPY/POST/LIST $0.005 per 1,000, GET/HEAD (and other) $0.0004 per 1,000, DELETE free;
SQS standard $0.40 per 1M requests (64 KB chunks); SNS $0.50 per 1M publishes (64 KB chunks), email
$2.00 per 100,000 deliveries. Rekognition DetectLabels $0.001 per image for the first 1M images a month
(Group 2), and IMAGE_PROPERTIES (quality, colours) billed separately at $0.00075 per image: both read from
a transcription of aws.amazon.com/rekognition/pricing dated 2026-10-07 (api-evangelist), not from AWS's
page itself, which renders its prices client-side. Not counted: CloudWatch Logs ingestion ($0.50 per GB),
shown in the context line from the bytes the handler logged.

Figure = overhead per 1,000 images / Rekognition's price per 1,000 images for the request our criteria
make (labels only here: $1.00; with quality or colour rules it is $1.75 and the ratio smaller). Goal <= 0.05.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from benchmarks.common import CallCounter, Figure, at_most, build_ours, jpeg, median, moto_world

BATCHES = 5
BATCH = 10
RECIPIENTS = 1  # email subscriptions that receive every verdict (an assumption)

PRICE_DATE = "2026-11"
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
LAMBDA_X86_PER_GB_SECOND = 0.0000166667
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
S3_PUT_TIER = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_GET_TIER = 0.0004 / 1000  # GET, HEAD and every other request
S3_FREE = frozenset({"DeleteObject", "DeleteObjects"})
S3_PUT_OPERATIONS = frozenset({"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2"})
SQS_PER_REQUEST = 0.40 / 1_000_000
SNS_PER_PUBLISH = 0.50 / 1_000_000
SNS_PER_EMAIL = 2.00 / 100_000
CHUNK_BYTES = 64 * 1024
REKOGNITION_LABELS_PER_IMAGE = 0.001
REKOGNITION_PROPERTIES_PER_IMAGE = 0.00075
CLOUDWATCH_LOGS_PER_GB = 0.50


class PayloadSizes:
    """Largest SNS message seen (SNS bills a publish per 64 KB chunk)."""

    def __init__(self) -> None:
        self.largest = 0
        self._lock = threading.Lock()

    def attach(self, service: str, client: Any) -> None:
        if service == "sns":
            client.meta.events.register("provide-client-params.sns.Publish", self._publish)

    def _publish(self, params: dict[str, Any], **_: Any) -> None:
        size = len(str(params.get("Message", "")).encode()) + len(str(params.get("Subject", "")).encode())
        with self._lock:
            self.largest = max(self.largest, size)


def main() -> list[Figure]:
    from benchmarks.common import CRITERIA_DOCUMENT  # noqa: PLC0415
    from inspector.criteria import Criteria  # noqa: PLC0415
    from inspector.deployment import Deployment  # noqa: PLC0415

    deployment = Deployment.model_validate({"criteria": CRITERIA_DOCUMENT})
    image = jpeg(120)
    counter = CallCounter()
    sizes = PayloadSizes()
    with moto_world() as world:
        ours = build_ours(world, counter=counter, hooks=sizes.attach, max_workers=deployment.batch_size)
        try:
            world.upload(image, count=BATCH)
            ours.processor.process(world.event(BATCH))  # warm-up: not counted
            counter.calls.clear()
            logged_before = ours.logs.chars
            durations = []
            for _ in range(BATCHES):
                world.upload(image, count=BATCH)
                event = world.event(BATCH)
                began = time.perf_counter()
                response = ours.processor.process(event)
                durations.append(time.perf_counter() - began)
                if response["batchItemFailures"]:
                    raise RuntimeError(f"records failed: {response['batchItemFailures']}")
                world.acknowledge(event)
            logged = ours.logs.chars - logged_before
        finally:
            ours.close()

    images = BATCHES * BATCH
    per_image = {name: count / images for name, count in sorted(counter.calls.items())}
    if per_image.get("rekognition.DetectLabels") != 1:
        raise RuntimeError(f"expected one DetectLabels per image, got {per_image}")
    duration = median(durations)
    billed_ms = math.ceil(duration * 1000)
    per_gb_second = (
        LAMBDA_ARM64_PER_GB_SECOND if deployment.architecture == "arm64" else LAMBDA_X86_PER_GB_SECOND
    )
    gb_seconds = billed_ms / 1000 * deployment.memory_mb / 1024 / BATCH
    costs = {
        "Lambda duration": gb_seconds * per_gb_second,
        "Lambda requests": LAMBDA_PER_REQUEST / BATCH,
        "S3 PUT/COPY": sum(
            n for op, n in per_image.items() if op.split(".")[1] in S3_PUT_OPERATIONS and op.startswith("s3.")
        )
        * S3_PUT_TIER,
        "S3 GET/HEAD": sum(
            n
            for op, n in per_image.items()
            if op.startswith("s3.") and op.split(".")[1] not in S3_PUT_OPERATIONS | S3_FREE
        )
        * S3_GET_TIER,
        "SQS": (1 + 2 / BATCH) * SQS_PER_REQUEST,
        "SNS publish": per_image.get("sns.Publish", 0)
        * math.ceil(max(1, sizes.largest) / CHUNK_BYTES)
        * SNS_PER_PUBLISH,
        "SNS email": per_image.get("sns.Publish", 0) * RECIPIENTS * SNS_PER_EMAIL,
    }
    overhead = sum(costs.values()) * 1000
    properties = Criteria.from_document(CRITERIA_DOCUMENT).detection_request().image_properties
    rekognition = (
        REKOGNITION_LABELS_PER_IMAGE + (REKOGNITION_PROPERTIES_PER_IMAGE if properties else 0)
    ) * 1000
    logs_per_1000 = logged / images * 1000 / 1e9 * CLOUDWATCH_LOGS_PER_GB
    breakdown = ", ".join(
        f"{name} ${cost * 1000:.5f}" for name, cost in sorted(costs.items(), key=lambda c: -c[1])
    )
    context = "\n  ".join(
        [
            f"per 1,000 images: overhead ${overhead:.4f} / Rekognition ${rekognition:.2f} "
            f"(DetectLabels{' + image properties' if properties else ', labels only'}); "
            f"prices us-east-1 as of {PRICE_DATE}",
            f"breakdown per 1,000 images: {breakdown}",
            f"measured per image: {', '.join(f'{op} {n:g}' for op, n in per_image.items())}; "
            f"largest SNS message {sizes.largest:,} B (1 chunk)",
            f"Lambda: median invocation {duration * 1000:.0f} ms for {BATCH} images, billed {billed_ms} ms x "
            f"{deployment.memory_mb} MB {deployment.architecture} = {gb_seconds:.5f} GB-s per image",
            f"not counted: CloudWatch Logs ingestion ~{logged / images:,.0f} B logged per image = "
            f"${logs_per_1000:.5f} per 1,000 images; with quality rules Rekognition is $1.75 per 1,000",
        ]
    )
    return [Figure("overhead_cost", overhead / rekognition, at_most(0.05), context)]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
