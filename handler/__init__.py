"""The Lambda adapter: Lambda's handler setting is `handler.lambda_handler`.

The function itself is `inspector.function.lambda_handler`, in the library, so that the local mode runs the
same code; this package only gives it the import path Lambda calls.
"""

from __future__ import annotations

from inspector.function import lambda_handler, reset, use

__all__ = ["lambda_handler", "reset", "use"]
