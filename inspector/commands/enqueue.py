"""`inspector enqueue`: announce objects already in S3 to the inspection queue, as S3 itself would."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote_plus, unquote_plus

from inspector.commands import EXIT_OK, UserError, add_aws_arguments, aws_client, parse_s3_uri, progress
from inspector.constants import DEFAULT_CRITERIA_PREFIX, DEFAULT_IMAGES_PREFIX

EXIT_PARTIAL = 1  # some messages were not sent; the output names them
SQS_BATCH = 10  # SendMessageBatch's most entries
CONFIGURATION_ID = "inspector-enqueue"  # where a real event names its notification configuration


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "enqueue",
        help='send S3 "object created" events for objects already in a bucket (backfill, re-inspection)',
        description=(
            'Send one S3 "object created" event per object under s3://bucket/prefix to the inspection '
            "queue, shaped exactly as S3 sends them, so the function inspects them as new uploads: a "
            "backfill after the first deploy, or a re-inspection. Folder markers (keys ending in /) are "
            "skipped."
        ),
    )
    parser.add_argument("source", metavar="s3://BUCKET/PREFIX", help="the objects to announce")
    parser.add_argument("--queue", required=True, metavar="URL", help="the inspection queue's URL (or name)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be sent; send nothing")
    parser.add_argument(
        "--images-prefix",
        default=DEFAULT_IMAGES_PREFIX,
        metavar="PREFIX",
        help="the prefix the function watches, to warn about keys it would ignore "
        f"(default {DEFAULT_IMAGES_PREFIX})",
    )
    parser.add_argument(
        "--rejudge",
        metavar="LINE",
        help="re-judge the line's images whose result records were judged under other criteria than the "
        "line's current ones: filed images are returned under the images prefix (source: s3://BUCKET)",
    )
    parser.add_argument(
        "--criteria-prefix",
        default=DEFAULT_CRITERIA_PREFIX,
        metavar="PREFIX",
        help=f"with --rejudge: where the stack keeps criteria (default {DEFAULT_CRITERIA_PREFIX})",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.rejudge is not None:
        from inspector.commands.rejudge import rejudge  # noqa: PLC0415

        return rejudge(args, out)
    bucket, prefix = parse_s3_uri(args.source)
    s3 = aws_client(args, "s3")
    objects, markers = list_objects(s3, bucket, prefix)
    if not objects:
        raise UserError(f"no objects under s3://{bucket}/{prefix}: nothing to enqueue")
    outside = sum(1 for obj in objects if not obj["Key"].startswith(args.images_prefix))
    if outside:
        print(
            f"warning: {outside} of {len(objects)} objects are outside {args.images_prefix}, which the "
            "function watches: it will ignore their events (--images-prefix if your stack uses another)",
            file=sys.stderr,
        )
    skipped = f" ({markers} folder marker{'s' if markers != 1 else ''} skipped)" if markers else ""
    sqs = aws_client(args, "sqs")
    queue = queue_url(sqs, args.queue)
    if args.dry_run:
        out.write(f"would send {len(objects)} events to {queue}{skipped}:\n")
        out.writelines(f"  s3://{bucket}/{obj['Key']}  ({obj.get('Size', 0):,} bytes)\n" for obj in objects)
        return EXIT_OK

    region = args.region or s3.meta.region_name
    now = datetime.now(UTC)
    events = (
        object_created_event(bucket, obj, region=region, partition=s3.meta.partition, now=now)
        for obj in objects
    )
    sent, failed = send_all(sqs, queue, progress(events, total=len(objects), description="enqueue"))
    out.write(f"sent {sent} events to {queue}{skipped}\n")
    for key, why in failed:
        print(f"inspector: not sent: s3://{bucket}/{key}: {why}", file=sys.stderr)
    return EXIT_PARTIAL if failed else EXIT_OK


def list_objects(s3: Any, bucket: str, prefix: str) -> tuple[list[dict[str, Any]], int]:
    """Every object under the prefix (ListObjectsV2, paginated), and how many folder markers were left out."""
    objects: list[dict[str, Any]] = []
    markers = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/"):
                markers += 1  # the console's "create folder": the pipeline would ignore it anyway
            else:
                objects.append(item)
    return objects, markers


def queue_url(sqs: Any, queue: str) -> str:
    """A queue URL as given, or the URL of a queue given by name."""
    if queue.startswith(("https://", "http://")):
        return queue
    try:
        return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        raise UserError(f"no queue named {queue!r} (give its URL, or check --region)") from None


def object_created_event(
    bucket: str, obj: Mapping[str, Any], *, region: str | None, partition: str = "aws", now: datetime
) -> dict[str, Any]:
    """The S3 event notification S3 would send for a PUT of `obj` (a ListObjectsV2 entry), one record.

    The key is URL-encoded as S3 encodes it (spaces as `+`, `/` kept). `sequencer` is derived from the
    object's LastModified, so a later version of a key sorts after an earlier one, as S3's does; it is not
    comparable with sequencers S3 wrote itself.
    """
    modified = obj.get("LastModified")
    sequencer = (
        f"{int(modified.timestamp() * 1_000_000_000):018X}" if isinstance(modified, datetime) else None
    )
    record_object: dict[str, Any] = {
        "key": quote_plus(obj["Key"], safe="/"),
        "size": obj.get("Size", 0),
        "eTag": str(obj.get("ETag", "")).strip('"'),
    }
    if sequencer is not None:
        record_object["sequencer"] = sequencer
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{now.microsecond // 1000:03d}Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": CONFIGURATION_ID,
                    "bucket": {"name": bucket, "arn": f"arn:{partition}:s3:::{bucket}"},
                    "object": record_object,
                },
            }
        ]
    }


def send_all(sqs: Any, queue: str, events: Iterator[dict[str, Any]]) -> tuple[int, list[tuple[str, str]]]:
    """Send each event as one message, in batches of 10; returns (sent, [(key, why not sent)])."""
    sent = 0
    failed: list[tuple[str, str]] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal sent
        entries = [{"Id": str(i), "MessageBody": json.dumps(event)} for i, event in enumerate(batch)]
        response = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        sent += len(response.get("Successful", []))
        for failure in response.get("Failed", []):
            key = batch[int(failure["Id"])]["Records"][0]["s3"]["object"]["key"]
            failed.append((unquote_plus(key), f"{failure.get('Code')}: {failure.get('Message', '')}"))
        batch.clear()

    for event in events:
        batch.append(event)
        if len(batch) == SQS_BATCH:
            flush()
    if batch:
        flush()
    return sent, failed
