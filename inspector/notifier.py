"""Publishes notifications to the QC group's SNS topic."""

from __future__ import annotations

from typing import Any

from inspector.aws import make_client, translate
from inspector.notification import Notification


class SnsNotifier:
    """Publishes to one topic through an injected boto3 SNS client (one is made when none is given)."""

    def __init__(self, topic_arn: str, client: Any | None = None, *, endpoint_url: str | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client if client is not None else make_client("sns", endpoint_url=endpoint_url)

    def publish(self, notification: Notification) -> str:
        """Publish and return the SNS message id; a failure is a `TransientError`: the message is retried."""
        try:
            response = self._client.publish(
                TopicArn=self.topic_arn,
                Subject=notification.subject,
                Message=notification.body,
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in notification.attributes.items()
                },
            )
        except Exception as exc:
            raise translate(exc, "SNS Publish") from exc
        return str(response.get("MessageId", ""))
