"""What reaches the queue besides uploads: test events, folder markers, other shapes, poison, the gone."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote_plus

import pytest

from inspector.batch import RecordOutcome, RecordStatus
from inspector.engine import Verdict
from inspector.errors import TransientError
from inspector.pipeline import Status
from inspector.testing import FakeDetector
from tests.functional.world import BUCKET, PASS_LABELS, World, failures, jpeg
from tests.support import load_event


def run_one_record(world: World) -> tuple[RecordOutcome, dict[str, Any], FakeDetector]:
    """The one record on the queue through a processor answering PASS: the record's outcome, then the
    invocation's response as the event source mapping sees it (an acknowledged message is deleted)."""
    detector = FakeDetector(default=PASS_LABELS)
    processor = world.processor(detector)
    event = world.deliver()
    (outcome,) = processor.run(event)
    return outcome, world.run(processor, event), detector


def test_the_s3_test_event_moto_queued_is_acknowledged_and_does_nothing(world: World) -> None:
    event = world.lambda_event([world.test_event])
    assert "s3:TestEvent" == json.loads(event["Records"][0]["body"])["Event"]
    detector = FakeDetector(default=PASS_LABELS)
    processor = world.processor(detector)

    (outcome,) = processor.run(event)
    response = processor.process(event)

    assert RecordStatus.IGNORED == outcome.status
    assert f"s3:TestEvent for bucket {BUCKET}" == outcome.detail
    assert {"batchItemFailures": []} == response
    assert [] == detector.calls
    assert [] == world.keys()
    assert [] == world.emails()


def test_a_folder_marker_is_acknowledged_and_left_alone(world: World) -> None:
    world.upload("images/line-3/", b"", content_type="application/x-directory")

    outcome, response, detector = run_one_record(world)

    assert RecordStatus.IGNORED == outcome.status
    assert "is a folder marker" in outcome.detail
    assert {"batchItemFailures": []} == response
    assert [] == detector.calls
    assert ["images/line-3/"] == world.keys()
    assert [] == world.emails()
    assert 0 == world.queued()


def test_an_event_for_another_bucket_is_ignored_with_the_reason(world: World) -> None:
    other = "other-widget-images"
    world.s3.create_bucket(Bucket=other)
    world.s3.put_bucket_notification_configuration(
        Bucket=other,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": world.queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    world.drain()  # moto's s3:TestEvent for the other bucket
    world.s3.put_object(Bucket=other, Key="images/w1.jpg", Body=jpeg())

    outcome, response, detector = run_one_record(world)

    assert RecordStatus.IGNORED == outcome.status
    assert f"s3://{other}/images/w1.jpg is not in bucket {BUCKET}" == outcome.detail
    assert {"batchItemFailures": []} == response
    assert [] == detector.calls
    assert ["images/w1.jpg"] == [item["Key"] for item in world.s3.list_objects_v2(Bucket=other)["Contents"]]
    assert [] == world.keys()
    assert [] == world.emails()


def test_an_object_deleted_before_delivery_is_acknowledged_as_gone(world: World) -> None:
    world.upload("images/line-3/w1.jpg", jpeg())
    world.s3.delete_object(Bucket=BUCKET, Key="images/line-3/w1.jpg")

    outcome, response, detector = run_one_record(world)

    assert RecordStatus.DONE == outcome.status
    (inspection,) = outcome.inspections
    assert Status.GONE == inspection.status
    assert inspection.verdict is None
    assert {"batchItemFailures": []} == response
    assert [] == detector.calls
    assert [] == world.keys()
    assert [] == world.emails()


# --- the same upload announced through SNS fan-out or EventBridge --------------------------------------


def sns_fanout_body(key: str, etag: str, size: int) -> str:
    """snsS3ObjectCreated.json (what real S3 -> SNS -> SQS delivers) announcing this object."""
    envelope = load_event("snsS3ObjectCreated.json")
    message = json.loads(envelope["Message"])
    record = message["Records"][0]
    record["s3"]["bucket"].update(name=BUCKET, arn=f"arn:aws:s3:::{BUCKET}")
    # Real S3 keeps '/' and writes spaces as '+'; the bucket is not versioned, so no versionId.
    record["s3"]["object"] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag}
    envelope["Message"] = json.dumps(message)
    return json.dumps(envelope)


def eventbridge_body(key: str, etag: str, size: int) -> str:
    """eventBridgeObjectCreated.json (S3 -> EventBridge -> SQS) announcing this object; keys unencoded."""
    event = copy.deepcopy(load_event("eventBridgeObjectCreated.json"))
    event["resources"] = [f"arn:aws:s3:::{BUCKET}"]
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"] = {"key": key, "size": size, "etag": etag, "sequencer": "00672741A37D2E1F08"}
    return json.dumps(event)


@pytest.mark.parametrize("shape", [sns_fanout_body, eventbridge_body], ids=["sns-fanout", "eventbridge"])
def test_other_event_shapes_give_the_same_outcome(world: World, shape: Any) -> None:
    key = "images/line 3/a+b%c/é.jpg"
    data = jpeg()
    etag = world.upload(key, data)
    world.drain()  # moto's own S3 -> SQS announcement: only the other shape is delivered
    world.send(shape(key, etag, len(data)))
    detector = FakeDetector(default=PASS_LABELS)

    response = world.run(world.processor(detector))

    assert {"batchItemFailures": []} == response
    assert [key] == detector.keys()
    assert ["analyzed/passed/line 3/a+b%c/é.jpg", "results/line 3/a+b%c/é.jpg.json"] == world.keys()
    assert Verdict.PASS == world.record(key).verdict
    assert 1 == len(world.emails())


def test_moto_s3_to_sns_to_sqs_fanout_is_inspected(world: World) -> None:
    """The envelope moto itself writes when the bucket notifies a topic the queue subscribes to."""
    uploads = world.sns.create_topic(Name="widget-uploads")["TopicArn"]
    world.sns.subscribe(TopicArn=uploads, Protocol="sqs", Endpoint=world.queue_arn)
    world.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "TopicArn": uploads,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}},
                }
            ]
        },
    )
    world.upload("images/line 3/w+1.jpg", jpeg())
    detector = FakeDetector(default=PASS_LABELS)
    processor = world.processor(detector)
    event = world.deliver()
    assert ["Notification", "Notification"] == [json.loads(r["body"])["Type"] for r in event["Records"]]

    statuses = [outcome.status for outcome in processor.run(event)]
    response = world.run(processor, event)

    assert [RecordStatus.IGNORED, RecordStatus.DONE] == statuses  # the wrapped s3:TestEvent, the upload
    assert {"batchItemFailures": []} == response
    assert ["images/line 3/w+1.jpg"] == detector.keys()
    assert ["analyzed/passed/line 3/w+1.jpg", "results/line 3/w+1.jpg.json"] == world.keys()


def test_moto_s3_to_eventbridge_to_sqs_is_inspected(world: World) -> None:
    """moto's EventBridge event: a unix-seconds `time`, and `eTag` where AWS writes `etag`."""
    events = world.session.client("events")
    events.put_rule(
        Name="widget-uploads",
        EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}),
    )
    events.put_targets(Rule="widget-uploads", Targets=[{"Id": "inspection", "Arn": world.queue_arn}])
    world.s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    world.upload("images/line 3/w 2.jpg", jpeg())
    detector = FakeDetector(default=PASS_LABELS)
    event = world.deliver()
    assert ["Object Created"] == [json.loads(r["body"])["detail-type"] for r in event["Records"]]

    response = world.run(world.processor(detector), event)

    assert {"batchItemFailures": []} == response
    assert ["images/line 3/w 2.jpg"] == detector.keys()
    assert ["analyzed/passed/line 3/w 2.jpg", "results/line 3/w 2.jpg.json"] == world.keys()


# --- a poison record among good ones ------------------------------------------------------------------


def test_a_malformed_body_in_a_batch_of_ten_fails_alone(world: World) -> None:
    for i in range(9):
        world.upload(f"images/line-3/w{i}.jpg", jpeg())
    world.send("this is not an S3 event {")
    detector = FakeDetector(default=PASS_LABELS)
    event = world.deliver()
    assert 10 == len(event["Records"])
    (poison,) = [r["messageId"] for r in event["Records"] if r["body"].startswith("this is not")]

    response = world.run(world.processor(detector), event)

    assert [poison] == failures(response)
    assert 9 == len(detector.calls)
    assert (
        sorted(
            [f"analyzed/passed/line-3/w{i}.jpg" for i in range(9)]
            + [f"results/line-3/w{i}.jpg.json" for i in range(9)]
        )
        == world.keys()
    )
    assert 9 == len(world.emails())
    assert 1 == world.queued()  # left for redelivery, then the DLQ


def test_a_transient_detector_failure_in_a_batch_of_ten_fails_alone(world: World) -> None:
    for i in range(10):
        world.upload(f"images/line-3/w{i}.jpg", jpeg())
    detector = FakeDetector(
        {"images/line-3/w4.jpg": TransientError("Rekognition DetectLabels failed: ThrottlingException")},
        default=PASS_LABELS,
    )
    event = world.deliver()
    assert 10 == len(event["Records"])
    (w4,) = [r["messageId"] for r in event["Records"] if "w4.jpg" in r["body"]]

    response = world.run(world.processor(detector), event)

    assert [w4] == failures(response)
    assert 10 == len(detector.calls)
    assert world.exists("images/line-3/w4.jpg")
    assert not world.exists("results/line-3/w4.jpg.json")
    assert 9 == len(world.emails())
