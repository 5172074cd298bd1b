"""The Lambda adapter: Lambda's handler settings are `handler.lambda_handler` and `handler.digest_handler`.

The functions themselves live in the library (`inspector.function.lambda_handler`,
`inspector.reports.function.digest_handler`), so that the local mode runs the same code; this package only
gives them the import path Lambda calls. The digest's modules (sqlglot, pygal) are imported when a digest
runs, never by the inspection function's cold start.
"""

from __future__ import annotations

from typing import Any

from inspector.function import lambda_handler, reset, use


def digest_handler(event: Any, context: Any) -> dict[str, Any]:
    """The scheduled daily digest (see `inspector.reports.function`)."""
    from inspector.reports.function import digest_handler as run  # noqa: PLC0415 - not on the cold start

    return run(event, context)


__all__ = ["digest_handler", "lambda_handler", "reset", "use"]
