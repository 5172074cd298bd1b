"""The seed's way, kept as the baseline the benchmarks compare against.

One record at a time: download the whole image (GetObject), send its bytes to Rekognition
(`DetectLabels(Image={"Bytes": ...})`), judge, copy it under `analyzed/`, delete the original, publish the
verdict. No sniffing, no result record, no concurrency. Plain `boto3.client(...)` clients, as the seed made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus


class SeedBaseline:
    """A Lambda handler body the way the seed wrote it, on injected clients (so hooks can be attached)."""

    def __init__(self, *, bucket: str, topic_arn: str, s3: Any, rekognition: Any, sns: Any) -> None:
        self.bucket = bucket
        self.topic_arn = topic_arn
        self.s3 = s3
        self.rekognition = rekognition
        self.sns = sns

    def process(self, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
        for record in event["Records"]:
            body = json.loads(record["body"])
            for s3_record in body.get("Records", []):
                self.inspect(unquote_plus(s3_record["s3"]["object"]["key"]))
        return {"batchItemFailures": []}

    def inspect(self, key: str) -> str:
        data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        response = self.rekognition.detect_labels(Image={"Bytes": data}, MaxLabels=10, MinConfidence=80)
        confidences = {label["Name"]: label["Confidence"] for label in response.get("Labels", [])}
        if confidences.get("Scratch", 0) >= 90:
            verdict = "FAIL"
        elif confidences.get("Widget", 0) >= 90:
            verdict = "PASS"
        else:
            verdict = "REVIEW"
        folder = {"PASS": "passed", "FAIL": "failed", "REVIEW": "review"}[verdict]
        destination = f"analyzed/{folder}/{key.removeprefix('images/')}"
        self.s3.copy_object(
            Bucket=self.bucket, Key=destination, CopySource={"Bucket": self.bucket, "Key": key}
        )
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=f"QC {verdict}: {key}"[:100],
            Message=json.dumps({"key": key, "verdict": verdict, "labels": confidences}),
        )
        return verdict


def build_seed(world: Any, *, latency: bool = True, counter: Any | None = None) -> SeedBaseline:
    """The baseline on fresh plain boto3 clients, with the same latency model and counters as ours."""
    import boto3  # noqa: PLC0415

    from benchmarks.common import REGION, add_latency  # noqa: PLC0415

    clients = {name: boto3.client(name, region_name=REGION) for name in ("s3", "rekognition", "sns")}
    for client in clients.values():
        if latency:
            add_latency(client)
        if counter is not None:
            counter.attach(client)
    return SeedBaseline(
        bucket=world.bucket,
        topic_arn=world.topic_arn,
        s3=clients["s3"],
        rekognition=clients["rekognition"],
        sns=clients["sns"],
    )
