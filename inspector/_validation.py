"""Turns pydantic validation errors into the short, path-first lines a person can act on; the base of the
documents people write (criteria, stack settings): every key known, each given once, under one spelling."""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.alias_generators import to_camel


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


# Type errors whose input is worth showing: `true` where a number belongs is the usual YAML surprise.
_TYPE_ERRORS = {
    "float_type": "a number",
    "int_type": "a whole number",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_from_float": "a whole number",
}


def _kind(value: Any) -> str:  # noqa: PLR0911 - one answer per kind of value
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def describe(error: ValidationError) -> list[str]:
    """One ``path: message`` line per problem, in document order."""
    lines = []
    for item in error.errors(include_url=False):
        message = str(item["msg"])
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling against the reference)"
        elif item["type"] in _TYPE_ERRORS:
            wanted = _TYPE_ERRORS[item["type"]]
            message = f"expected {wanted}, got {_kind(item.get('input'))}"
            if wanted.startswith(("a number", "a whole")):
                message += " (write the number itself, unquoted)"
        # A whole-document check names its own paths in its message.
        lines.append(f"{error_path(item['loc'])}: {message}" if item["loc"] else message)
    return lines


class StrictSpec(BaseModel):
    """A document people write: camelCase as documented, snake_case accepted, and every key checked before
    anything else. An unknown key is named with the closest known one; a setting written twice under its
    two spellings (`minConfidence` and `min_confidence`) is refused rather than one of them dropped.

    `_misplaced` maps keys that belong elsewhere to what to do instead (`count` on an `anyOf` entry)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )

    _misplaced: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        spellings: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            spellings[name] = name
            spellings[info.alias or name] = name
        problems: list[str] = []
        seen: dict[str, str] = {}
        for key in data:
            if not isinstance(key, str):
                problems.append(f"{key!r} is not a key name (keys are text, e.g. {next(iter(spellings))})")
                continue
            if key in cls._misplaced:
                problems.append(f"`{key}` does not belong here: {cls._misplaced[key]}")
                continue
            field = spellings.get(key)
            if field is None:
                problems.append(f"unknown key `{key}`{cls._suggest(key, spellings)}")
                continue
            if field in seen:
                problems.append(f"`{seen[field]}` and `{key}` are two spellings of one setting: give it once")
            seen[field] = key
        if problems:
            raise ValueError("; ".join(problems + cls._missing_hint(data)))
        return data

    @classmethod
    def _missing_hint(cls, data: dict[str, Any]) -> list[str]:
        """What a subclass adds to a refusal (e.g. which key an entry needs)."""
        return []

    @staticmethod
    def _suggest(key: str, spellings: dict[str, str]) -> str:
        documented = [alias for alias in spellings if alias != alias.lower() or "_" not in alias]
        lowered = {alias.lower(): alias for alias in documented}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
        if close:
            return f" (did you mean `{lowered[close[0]]}`?)"
        return f" (known keys: {', '.join(sorted(set(documented)))})"
