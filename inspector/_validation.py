"""Turns pydantic validation errors into the short, path-first lines a person can act on."""

from __future__ import annotations

from pydantic import ValidationError


def error_path(loc: tuple[int | str, ...]) -> str:
    """Render an error location as a path: ("require", 0, "minConfidence") -> require[0].minConfidence."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-", "tagged-union", "literal[")):
            # Internal steps of pydantic's validators, not fields the user wrote.
            continue
        else:
            path += f".{part}" if path else part
    return path or "(document)"


def describe(error: ValidationError) -> list[str]:
    """One ``path: message`` line per problem, in document order."""
    lines = []
    for item in error.errors(include_url=False):
        message = str(item["msg"])
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling against the reference)"
        # A whole-document check names its own paths in its message.
        lines.append(f"{error_path(item['loc'])}: {message}" if item["loc"] else message)
    return lines
