"""Automated visual quality control: S3 event models, QC criteria, the criteria engine and result records.

The names here are the pure core: importing them pulls in pydantic and nothing from AWS or Pulumi.
"""

from __future__ import annotations

from inspector.analysis import (
    Analysis,
    BoundingBox,
    CustomLabel,
    ImageProperties,
    ImageQuality,
    Instance,
    Label,
)
from inspector.criteria import Criteria, DetectionRequest
from inspector.engine import Evaluation, Finding, Outcome, Verdict, evaluate
from inspector.errors import AnalysisError, CriteriaError, InspectorError, MalformedEventError, RecordError
from inspector.events import Ignored, IgnoreReason, Inspect, ObjectRef, SqsEvent, SqsRecord, parse_body
from inspector.records import ResultRecord

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "AnalysisError",
    "BoundingBox",
    "Criteria",
    "CriteriaError",
    "CustomLabel",
    "DetectionRequest",
    "Evaluation",
    "Finding",
    "IgnoreReason",
    "Ignored",
    "ImageProperties",
    "ImageQuality",
    "Inspect",
    "InspectorError",
    "Instance",
    "Label",
    "MalformedEventError",
    "ObjectRef",
    "Outcome",
    "RecordError",
    "ResultRecord",
    "SqsEvent",
    "SqsRecord",
    "Verdict",
    "__version__",
    "evaluate",
    "parse_body",
]
