"""The whole program of one stack: the inspection pipeline, and the QC reports when daily copies are kept."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.pipeline import InspectionPipeline, InspectionPipelineArgs
from infra.reports import QcReports, QcReportsArgs
from inspector.deployment import Deployment


@dataclass(frozen=True)
class Program:
    pipeline: InspectionPipeline
    reports: QcReports | None  # None when the stack keeps no daily copies (`dailyPrefix` unset)


def declare(settings: Deployment, code: pulumi.Archive) -> Program:
    """Every resource `pulumi up` would manage for these settings (`__main__.py`, the tests, the preview)."""
    pipeline = InspectionPipeline("inspector", InspectionPipelineArgs(config=settings, code=code))
    reports = None
    if settings.daily_prefix is not None:
        reports = QcReports(
            "reports",
            QcReportsArgs(
                config=settings,
                code=code,
                bucket_name=pipeline.bucket_name,
                topic_arn=pipeline.topic_arn,
                function_name=pipeline.function_name,
                queue_url=pipeline.queue_url,
                dlq_url=pipeline.dlq_url,
            ),
        )
    return Program(pipeline, reports)
