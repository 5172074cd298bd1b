"""A peer of our handler, as a user would write it on Powertools for AWS Lambda: batch + parser utilities.

It does the function's work with Powertools' pieces where Powertools has them: `BatchProcessor` (SQS,
partial batch response) and the parser's `SqsRecordModel` / `S3Model` for the events; the QC judgement is
the library's own (`inspector.criteria`, `inspector.engine`), which Powertools has no counterpart for.
Cold start: boto3, Powertools' batch and parser utilities with their event models, and the criteria
validated from the environment, as our handler validates its settings. Used by `cold_import` only.

Note (FACTS.md): Powertools' parser models reject moto's S3 events (required fields moto leaves out), so
this handler is measured for its cold start, not run against moto.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3Model, SqsRecordModel

from inspector.analysis import Analysis
from inspector.criteria import Criteria
from inspector.engine import evaluate

# The criteria as a document in the environment (cold_import sets PEER_CRITERIA): the peer validates them at
# cold start, as our handler validates its settings (which, with live criteria, hold no criteria document).
CRITERIA = Criteria.from_document(json.loads(os.environ["PEER_CRITERIA"]))
BUCKET = os.environ["INSPECTOR_BUCKET"]
TOPIC_ARN = os.environ["INSPECTOR_TOPIC_ARN"]
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)
_clients: dict[str, Any] = {}


def client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = boto3.client(service)
    return _clients[service]


def record_handler(record: SqsRecordModel) -> None:
    event = parse(event=record.body, model=S3Model)
    for s3_record in event.Records:
        key = unquote_plus(s3_record.s3.object.key)
        response = client("rekognition").detect_labels(
            Image={"S3Object": {"Bucket": BUCKET, "Name": key}},
            **CRITERIA.detection_request().detect_labels_params(),
        )
        verdict = evaluate(Analysis.from_detect_labels(response), CRITERIA).verdict
        destination = f"analyzed/{verdict.value.lower()}/{key.removeprefix('images/')}"
        client("sns").publish(TopicArn=TOPIC_ARN, Subject=f"QC {verdict.value}", Message=key)
        client("s3").copy_object(Bucket=BUCKET, Key=destination, CopySource={"Bucket": BUCKET, "Key": key})
        client("s3").delete_object(Bucket=BUCKET, Key=key)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
