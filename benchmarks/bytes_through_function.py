"""bytes_through_function: image bytes the function reads from S3 and sends to Rekognition, per image.

Latency model: none. Bytes do not depend on time, so no sleeps are injected here.

Counted with botocore hooks on the function's own clients, ours and the seed baseline's, on the same
IMAGES uploads of a ~200 KB JPEG (a typical factory photo):
- sent to Rekognition: `provide-client-params.rekognition.DetectLabels`, the length of `Image.Bytes`
  (0 when the request names the S3 object instead);
- read from S3: `after-call.s3.GetObject`, the `ContentLength` S3 answered, for keys under `images/` only
  (the result records our pipeline reads and writes are not image bytes).

Two figures, because our pipeline does read a little of each image: before paying for recognition it
fetches the first 176 bytes (one ranged GET) to refuse what is not a JPEG or PNG, or is under 80 px, and the
last 16 (a second ranged GET) to refuse a file cut short (`inspector.formats`).
- `bytes_through_function`: image bytes sent to Rekognition by the function per image; ours. Goal 0:
  Rekognition reads the object from S3 itself.
- `image_bytes_read`: image bytes read by the function per image, ours over the baseline's (the seed
  downloads every image whole). Goal <= 0.001: the two reads are 192 bytes of a ~200 KB image.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from benchmarks.common import Figure, at_most, build_ours, exactly, jpeg_of_about, moto_world
from benchmarks.seed_baseline import build_seed

IMAGES = 20
IMAGE_BYTES = 200 * 1024


class ByteCounter:
    """Image bytes read from S3 (GetObject under `images/`) and sent to Rekognition (Image.Bytes)."""

    def __init__(self, images_prefix: str = "images/") -> None:
        self.images_prefix = images_prefix
        self.totals: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def attach(self, service: str, client: Any) -> None:
        if service == "s3":
            client.meta.events.register("provide-client-params.s3.GetObject", self._remember_key)
            client.meta.events.register("after-call.s3.GetObject", self._read)
        elif service == "rekognition":
            for operation in ("DetectLabels", "DetectCustomLabels"):
                client.meta.events.register(f"provide-client-params.rekognition.{operation}", self._sent)

    def _add(self, name: str, amount: int) -> None:
        with self._lock:
            self.totals[name] += amount

    def _remember_key(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["benchmark_key"] = params.get("Key", "")

    def _read(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if str(context.get("benchmark_key", "")).startswith(self.images_prefix):
            self._add("read", int(parsed.get("ContentLength", 0)))
            self._add("gets", 1)

    def _sent(self, params: dict[str, Any], **_: Any) -> None:
        self._add("sent", len(params.get("Image", {}).get("Bytes", b"")))
        self._add("detections", 1)


def _run(world: Any, process: Any, image: bytes) -> None:
    world.upload(image, count=IMAGES)
    for _ in range(IMAGES // 10):
        event = world.event(10)
        response = process(event)
        if response["batchItemFailures"]:
            raise RuntimeError(f"records failed: {response['batchItemFailures']}")
        world.acknowledge(event)


def main() -> list[Figure]:
    image = jpeg_of_about(IMAGE_BYTES)
    with moto_world() as world:
        ours_bytes = ByteCounter()
        ours = build_ours(world, latency=False, hooks=ours_bytes.attach)
        try:
            _run(world, ours.processor.process, image)
        finally:
            ours.close()
        seed_bytes = ByteCounter()
        seed = build_seed(world, latency=False)
        seed_bytes.attach("s3", seed.s3)
        seed_bytes.attach("rekognition", seed.rekognition)
        _run(world, seed.process, image)
    ours_t, seed_t = ours_bytes.totals, seed_bytes.totals
    if ours_t["detections"] != IMAGES or seed_t["detections"] != IMAGES:
        raise RuntimeError(
            f"expected {IMAGES} detections each, got {ours_t['detections']}/{seed_t['detections']}"
        )
    sent_per_image = ours_t["sent"] / IMAGES
    read_per_image = ours_t["read"] / IMAGES
    seed_read_per_image = seed_t["read"] / IMAGES
    seed_sent_per_image = seed_t["sent"] / IMAGES
    return [
        Figure(
            "bytes_through_function",
            sent_per_image,
            exactly(0),
            f"image bytes sent to Rekognition per image: ours {sent_per_image:,.0f} B (Image.S3Object), "
            f"seed {seed_sent_per_image:,.0f} B (Image.Bytes); {IMAGES} images of {len(image):,} B",
        ),
        Figure(
            "image_bytes_read",
            read_per_image / seed_read_per_image,
            at_most(0.001),
            f"image bytes read from S3 per image: ours {read_per_image:,.0f} B "
            f"({ours_t['gets'] / IMAGES:g} ranged GETs: the first and last bytes) "
            f"/ seed {seed_read_per_image:,.0f} B "
            f"({seed_t['gets'] / IMAGES:g} whole GET)",
            digits=2,
        ),
    ]


if __name__ == "__main__":
    for figure in main():
        print(figure.line())
        print(f"  {figure.context}")
