"""`inspector redrive`'s move loop: what the queue refused is never deleted from the DLQ."""

from __future__ import annotations

from typing import Any

from inspector.commands.redrive import Moved, move

DLQ = "https://sqs.eu-west-1.amazonaws.com/123456789012/inspect-dlq"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/inspect"


class FakeSqs:
    """Hands out `messages` from the DLQ; the queue refuses the bodies listed in `refuse`."""

    def __init__(self, count: int, *, refuse: frozenset[str] = frozenset()) -> None:
        self.dlq = [
            {
                "MessageId": f"m{i}",
                "ReceiptHandle": f"r{i}",
                "Body": f"body {i}",
                "MessageAttributes": {"attempt": {"DataType": "Number", "StringValue": str(i)}},
                "Attributes": {"ApproximateReceiveCount": "5"},
            }
            for i in range(count)
        ]
        self.refuse = refuse
        self.sent: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.receives: list[dict[str, Any]] = []

    def receive_message(self, **params: Any) -> dict[str, Any]:
        self.receives.append(params)
        taken, self.dlq = self.dlq[: params["MaxNumberOfMessages"]], self.dlq[params["MaxNumberOfMessages"] :]
        return {"Messages": taken} if taken else {}

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert QUEUE == QueueUrl
        ok = [e for e in Entries if e["MessageBody"] not in self.refuse]
        self.sent.extend(ok)
        failed = [
            {"Id": e["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "no"}
            for e in Entries
            if e["MessageBody"] in self.refuse
        ]
        return {"Successful": [{"Id": e["Id"], "MessageId": "new"} for e in ok], "Failed": failed}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert DLQ == QueueUrl
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_every_message_is_sent_with_its_body_and_attributes_then_deleted():
    sqs = FakeSqs(12)
    result = Moved()

    ids = list(move(sqs, DLQ, QUEUE, 12, result))

    assert [f"m{i}" for i in range(12)] == ids
    assert 12 == result.moved
    assert [] == result.problems
    assert [f"body {i}" for i in range(12)] == [e["MessageBody"] for e in sqs.sent]
    assert {"attempt": {"DataType": "Number", "StringValue": "3"}} == sqs.sent[3]["MessageAttributes"]
    assert [f"r{i}" for i in range(12)] == sqs.deleted
    assert [10, 2] == [r["MaxNumberOfMessages"] for r in sqs.receives]


def test_a_message_the_queue_refused_is_not_deleted_and_the_move_stops():
    sqs = FakeSqs(15, refuse=frozenset({"body 4"}))
    result = Moved()

    list(move(sqs, DLQ, QUEUE, 15, result))

    assert 9 == result.moved
    assert "r4" not in sqs.deleted
    assert [f"r{i}" for i in range(10) if i != 4] == sqs.deleted
    assert 1 == len(sqs.receives)  # stopped after the batch with a refusal
    (problem,) = result.problems
    assert problem.startswith("not moved: message m4: InvalidMessageContents")


def test_the_move_stops_at_the_target_and_when_the_dlq_runs_dry():
    at_target, dry = FakeSqs(30), FakeSqs(3)

    assert 13 == len(list(move(at_target, DLQ, QUEUE, 13, Moved())))
    assert 3 == len(list(move(dry, DLQ, QUEUE, 7, Moved())))
    assert 17 == len(at_target.dlq)
