"""`inspector redrive`: move the dead-letter queue's messages back to the inspection queue after a fix.

Receive, send, delete rather than SQS's own StartMessageMoveTask, on purpose: moto (the local mode and the
tests) does not implement StartMessageMoveTask (checked in moto 5.2.5: no such action in moto.sqs), the
task is asynchronous (it would have to be polled with ListMessageMoveTasks to report a count), it has no
"at most N messages" and it only takes a source that is some queue's configured DLQ. Receive/send/delete is
portable, exact about what moved, and deletes from the DLQ only what the queue accepted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from inspector.commands import (
    EXIT_OK,
    UserError,
    add_aws_arguments,
    aws_client,
    count_at_least,
    progress,
)
from inspector.commands import confirm as ask
from inspector.commands.enqueue import queue_url

EXIT_PARTIAL = 1  # some messages could not be moved; the output says which and why
SQS_BATCH = 10
# Long enough for one send and one delete; if the command dies in between, the message reappears in the DLQ
# after this and is moved again (a duplicate, which the pipeline's idempotence absorbs), never lost.
VISIBILITY_TIMEOUT_SECONDS = 30
# A long poll asks every SQS server; a short one may answer "empty" while messages are there.
WAIT_SECONDS = 2


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "redrive",
        help="move messages from the dead-letter queue back to the inspection queue",
        description=(
            "Move the dead-letter queue's messages back to the inspection queue (same body and message "
            "attributes), once whatever failed them is fixed. Asks for confirmation unless --yes."
        ),
    )
    parser.add_argument("--dlq", required=True, metavar="URL", help="the dead-letter queue's URL (or name)")
    parser.add_argument("--queue", required=True, metavar="URL", help="the inspection queue's URL (or name)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--max", type=count_at_least(1), metavar="N", help="move at most N messages")
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


@dataclass
class Moved:
    moved: int = 0
    problems: list[str] = field(default_factory=list)


def run(args: argparse.Namespace, out: TextIO) -> int:
    sqs = aws_client(args, "sqs")
    dlq, queue = queue_url(sqs, args.dlq), queue_url(sqs, args.queue)
    if dlq.rstrip("/") == queue.rstrip("/"):
        raise UserError("--dlq and --queue are the same queue")
    dlq_name, queue_name = _name(dlq), _name(queue)
    waiting = int(
        sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    if waiting == 0:
        out.write(f"{dlq_name} holds no visible messages: nothing to move\n")
        return EXIT_OK
    target = min(waiting, args.max) if args.max else waiting
    noun = "message" if target == 1 else "messages"
    what = f"{target} {noun} from {dlq_name} to {queue_name}"
    if not args.yes and not confirm(what, out):
        out.write("nothing moved\n")
        return EXIT_OK

    result = Moved()
    for _ in progress(move(sqs, dlq, queue, target, result), total=target, description="redrive"):
        pass
    noun = "message" if result.moved == 1 else "messages"
    out.write(f"moved {result.moved} {noun} from {dlq_name} to {queue_name}\n")
    for problem in result.problems:
        print(f"inspector: {problem}", file=sys.stderr)
    return EXIT_PARTIAL if result.problems else EXIT_OK


def confirm(what: str, out: TextIO) -> bool:
    """Ask on the terminal whether to move `what`; without a terminal, refuse rather than guess."""
    return ask(f"Move {what}?", out, refusal=f"not moving {what} unconfirmed")


def move(sqs: Any, dlq: str, queue: str, target: int, result: Moved) -> Iterator[str]:
    """Move up to `target` messages, yielding each moved message's id; stops at the first failed send.

    A message is deleted from the DLQ only once the queue has accepted its copy: one the send refused stays
    in the DLQ (visible again after the visibility timeout).
    """
    fifo = queue.endswith(".fifo")
    while result.moved < target:
        messages = sqs.receive_message(
            QueueUrl=dlq,
            MaxNumberOfMessages=min(SQS_BATCH, target - result.moved),
            VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return  # fewer than counted: another consumer took some, or they were in flight
        entries = [_copy(str(i), message, fifo=fifo) for i, message in enumerate(messages)]
        response = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        accepted = [messages[int(entry["Id"])] for entry in response.get("Successful", [])]
        for failure in response.get("Failed", []):
            message_id = messages[int(failure["Id"])]["MessageId"]
            result.problems.append(
                f"not moved: message {message_id}: {failure.get('Code')}: {failure.get('Message', '')} "
                "(it stays in the DLQ)"
            )
        if accepted:
            deleted = sqs.delete_message_batch(
                QueueUrl=dlq,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(accepted)],
            )
            for failure in deleted.get("Failed", []):
                message_id = accepted[int(failure["Id"])]["MessageId"]
                result.problems.append(
                    f"copied but not deleted from the DLQ: message {message_id}: {failure.get('Code')}: "
                    f"{failure.get('Message', '')} (it will reappear there: a duplicate, not a loss)"
                )
        for message in accepted:
            result.moved += 1
            yield str(message["MessageId"])
        if response.get("Failed"):
            return  # whatever refused these would likely refuse the rest: stop and say so


def _copy(entry_id: str, message: Mapping[str, Any], *, fifo: bool) -> dict[str, Any]:
    """A SendMessageBatch entry carrying the message's body and message attributes unchanged."""
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes = {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in message.get("MessageAttributes", {}).items()
    }
    if attributes:
        entry["MessageAttributes"] = attributes
    system = message.get("Attributes", {})
    if fifo and "MessageGroupId" in system:
        entry["MessageGroupId"] = system["MessageGroupId"]
        if "MessageDeduplicationId" in system:
            entry["MessageDeduplicationId"] = system["MessageDeduplicationId"]
    return entry


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
