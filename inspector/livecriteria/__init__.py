"""Live criteria: each line's criteria published to S3 as numbered versions, read through a cache."""

from __future__ import annotations

from inspector.livecriteria.documents import (
    CriteriaVersion,
    Layout,
    LineEntry,
    LineTable,
    RefusedDocument,
    accept,
    seed_version,
)

__all__ = [
    "CriteriaVersion",
    "Layout",
    "LineEntry",
    "LineTable",
    "RefusedDocument",
    "accept",
    "seed_version",
]
