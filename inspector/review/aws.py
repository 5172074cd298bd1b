"""The review desk's AWS side: who the reviewer is (STS), and a desk wired to S3 and SNS clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspector.aws import translate
from inspector.notifier import SnsNotifier
from inspector.review.desk import ReviewDesk
from inspector.settings import Layout
from inspector.storage import S3Store


def caller_arn(sts: Any) -> Callable[[], str]:
    """The caller's identity ARN, asked of STS GetCallerIdentity (which needs no permission)."""

    def who() -> str:
        try:
            return str(sts.get_caller_identity()["Arn"])
        except Exception as exc:
            raise translate(exc, "STS GetCallerIdentity") from exc

    return who


def desk(
    layout: Layout, *, bucket: str, topic_arn: str | None, s3: Any, sns: Any | None, sts: Any
) -> ReviewDesk:
    """A desk over `bucket` with the given clients (the reviewer's own credentials)."""
    notifier = SnsNotifier(topic_arn, sns) if topic_arn and sns is not None else None
    return ReviewDesk(layout, store=S3Store(bucket, s3), notifier=notifier, who=caller_arn(sts))
