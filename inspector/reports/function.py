"""The digest function (`handler.digest_handler`): yesterday's report per line, kept in the bucket, emailed.

Imported only when the digest runs, never by the inspection function's cold start. It queries through
Athena (`AthenaEngine`) and draws with pygal: DuckDB and matplotlib would not fit the Lambda bundle.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inspector import constants as c
from inspector._validation import describe
from inspector.errors import SettingsError
from inspector.notifier import SnsNotifier
from inspector.reports.compact import compacted_days
from inspector.reports.digest import compose_digest
from inspector.reports.engines import AthenaEngine, Engine
from inspector.reports.html import render_html
from inspector.reports.model import collect, summarize
from inspector.reports.sql import Params

log = logging.getLogger("inspector.digest")


class DigestSettings(BaseModel):
    """The digest function's environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str = Field(min_length=3, max_length=63)
    topic_arn: str = Field(min_length=1)
    workgroup: str = Field(min_length=1)
    database: str = Field(min_length=1)
    table: str = Field(min_length=1)
    compact_table: str | None = None  # the compacted days' table; None: every day from `table`
    compact_prefix: str | None = Field(default=None, pattern=r"^[^/].*/$")
    reports_prefix: str = Field(default=c.DEFAULT_REPORTS_PREFIX, pattern=r"^[^/].*/$")
    link_expiry_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600)
    endpoint_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DigestSettings:
        names = {
            "bucket": c.ENV_BUCKET,
            "topic_arn": c.ENV_TOPIC_ARN,
            "workgroup": c.ENV_ATHENA_WORKGROUP,
            "database": c.ENV_ATHENA_DATABASE,
            "table": c.ENV_ATHENA_TABLE,
            "compact_table": c.ENV_ATHENA_COMPACT_TABLE,
            "compact_prefix": c.ENV_COMPACT_PREFIX,
            "reports_prefix": c.ENV_REPORTS_PREFIX,
            "link_expiry_seconds": c.ENV_LINK_EXPIRY_SECONDS,
            "endpoint_url": c.ENV_ENDPOINT_URL,
        }
        document = {field: environ[env] for field, env in names.items() if environ.get(env)}
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            lines = []
            for line in describe(exc):
                field, _, message = line.partition(": ")
                lines.append(f"{names.get(field, field)}: {message}")
            raise SettingsError("invalid digest settings: " + "; ".join(lines)) from None


@dataclass(frozen=True)
class Sent:
    line: str
    report_key: str
    message_id: str


def run_digest(
    settings: DigestSettings,
    *,
    engine: Engine,
    s3: Any,
    notifier: SnsNotifier,
    day: datetime,
    clock: Callable[[], datetime] | None = None,
) -> list[Sent]:
    """The digest of the UTC day starting at `day`: one report and one email per line with data."""
    params = Params(since=day, until=day + timedelta(days=1), by="hour")
    rows = collect(engine, params)
    sent: list[Sent] = []
    for line in rows.lines:
        report = summarize(rows, engine=engine.name, line=line, clock=clock)
        key = f"{settings.reports_prefix}{line}/{day:%Y-%m-%d}.html"
        s3.put_object(
            Bucket=settings.bucket,
            Key=key,
            Body=render_html(report).encode(),
            ContentType="text/html; charset=utf-8",
        )
        try:
            link: str | None = s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": settings.bucket, "Key": key},
                ExpiresIn=settings.link_expiry_seconds,
            )
        except Exception:  # noqa: BLE001 - a missing link must not stop the digest
            link = None
        email = compose_digest(report, link=link, link_expiry_seconds=settings.link_expiry_seconds)
        message_id = notifier.publish(email)
        log.info("digest sent", extra={"line": line, "report": key, "message_id": message_id})
        sent.append(Sent(line, key, message_id))
    if not sent:
        log.info("no images and no REVIEW waiting: no digest", extra={"day": f"{day:%Y-%m-%d}"})
    return sent


def digest_handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point. The event may name the day (`{"day": "2026-11-28"}`); by default, yesterday
    (UTC)."""
    from inspector.aws import make_client  # noqa: PLC0415
    from inspector.observability import configure_logging  # noqa: PLC0415

    configure_logging(os.environ.get(c.ENV_LOG_LEVEL, "INFO"))
    settings = DigestSettings.from_env(os.environ)
    day = _day((event or {}).get("day"), now=datetime.now(UTC))
    s3 = make_client("s3", endpoint_url=settings.endpoint_url)
    engine = athena_engine(settings, athena=make_client("athena", endpoint_url=settings.endpoint_url), s3=s3)
    sent = run_digest(
        settings,
        engine=engine,
        s3=s3,
        notifier=SnsNotifier(settings.topic_arn, make_client("sns", endpoint_url=settings.endpoint_url)),
        day=day,
    )
    return {
        "day": f"{day:%Y-%m-%d}",
        "digests": [{"line": s.line, "report": s.report_key, "message_id": s.message_id} for s in sent],
        "athena_queries": engine.queries,
        "athena_bytes_scanned": engine.scanned_bytes,
    }


def athena_engine(settings: DigestSettings, *, athena: Any, s3: Any) -> AthenaEngine:
    """Athena over the daily copies, and over the compacted days where the stack has them (the days with a
    complete compacted file, from their markers in the bucket)."""
    compact_prefix = settings.compact_prefix

    def compacted() -> set[date]:
        return set(compacted_days(s3, settings.bucket, compact_prefix)) if compact_prefix else set()

    return AthenaEngine(
        athena,
        workgroup=settings.workgroup,
        database=settings.database,
        table=settings.table,
        compact_table=settings.compact_table if compact_prefix else None,
        compacted=compacted,
    )


def _day(value: Any, *, now: datetime) -> datetime:
    if value:
        return datetime.fromisoformat(str(value)).replace(
            tzinfo=UTC, hour=0, minute=0, second=0, microsecond=0
        )
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1)
