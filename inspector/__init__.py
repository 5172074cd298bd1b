"""Automated visual quality control: S3 event models, QC criteria, the criteria engine and result records.

The names here are the pure core: importing them pulls in pydantic and nothing from AWS or Pulumi. They are
loaded on first use (PEP 562): `import inspector` alone builds no model, and a module of the library (the
function's settings, say) imports only what it uses, not every public name listed here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from inspector.engine import Evaluation, Finding, evaluate
    from inspector.errors import (
        AnalysisError,
        CriteriaError,
        InspectorError,
        MalformedEventError,
        RecordError,
    )
    from inspector.events import Ignored, IgnoreReason, Inspect, ObjectRef, SqsEvent, SqsRecord, parse_body
    from inspector.records import ResultRecord
    from inspector.verdicts import Outcome, Verdict

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ("Analysis", "BoundingBox", "CustomLabel", "ImageProperties", "ImageQuality", "Instance", "Label"),
        "inspector.analysis",
    ),
    **dict.fromkeys(("Criteria", "DetectionRequest"), "inspector.criteria"),
    **dict.fromkeys(("Evaluation", "Finding", "evaluate"), "inspector.engine"),
    **dict.fromkeys(("Outcome", "Verdict"), "inspector.verdicts"),
    **dict.fromkeys(
        ("AnalysisError", "CriteriaError", "InspectorError", "MalformedEventError", "RecordError"),
        "inspector.errors",
    ),
    **dict.fromkeys(
        ("Ignored", "IgnoreReason", "Inspect", "ObjectRef", "SqsEvent", "SqsRecord", "parse_body"),
        "inspector.events",
    ),
    "ResultRecord": "inspector.records",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inspector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


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
