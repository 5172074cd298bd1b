"""Turns pydantic validation errors into the short, path-first lines a person can act on; the base of the
documents people write (criteria, stack settings): every key known, each given once, under one spelling."""

# No `from __future__ import annotations` here: pydantic evaluates a base model's annotation strings again for
# each model built on it (benchmarks/cold_import.py).

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError


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
_TYPE_ERRORS = frozenset({
    "float_type", "int_type", "bool_type", "string_type", "list_type", "dict_type", "model_type",
    "model_attributes_type", "int_from_float",
})  # fmt: skip
_NUMBER_ERRORS = frozenset({"float_type", "int_type", "int_from_float"})
NAMES_A_PATH = re.compile(r"[A-Za-z_][\w:]*(\[\d+\])*(\.[\w:]+|\[\d+\])*(: | and )")
UNKNOWN_KEY = "unknown_key"  # the error type of `StrictSpec`'s key check; its context names the key


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
        loc = tuple(item["loc"])
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling against the reference)"
        elif item["type"] == UNKNOWN_KEY:
            loc = (*loc, str(item.get("ctx", {}).get("key", "")))
        elif item["type"] in _TYPE_ERRORS:
            message = f"{message}, got {_kind(item.get('input'))}"
            if item["type"] in _NUMBER_ERRORS and isinstance(item.get("input"), str):
                message += " (write the number itself, unquoted)"
        # A whole-document check names its own paths in its message.
        lines.append(f"{error_path(loc)}: {message}" if loc else message)
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
        problems: list[tuple[str, str]] = []  # (key, what is wrong with it)
        seen: dict[str, str] = {}
        for key in data:
            if not isinstance(key, str):
                problems.append((repr(key), "not a key name (keys are text)"))
            elif key in cls._misplaced:
                problems.append((key, f"does not belong here: {cls._misplaced[key]}"))
            elif key not in spellings:
                # A key holding a line break or another control character is named as Python writes it,
                # so the message stays one line.
                shown = key if key.isprintable() else repr(key)
                problems.append((shown, f"unknown key{cls._suggest(key, spellings)}"))
            elif spellings[key] in seen:
                first = seen[spellings[key]]
                problems.append(
                    (key, f"`{first}` and `{key}` are two spellings of one setting: give it once")
                )
            else:
                seen[spellings[key]] = key
        hints = cls._missing_hint(data)
        if problems:
            (key, first_problem), rest = problems[0], problems[1:]
            detail = "; ".join([first_problem, *(f"`{k}`: {m}" for k, m in rest), *hints])
            raise PydanticCustomError(UNKNOWN_KEY, "{detail}", {"key": key, "detail": detail})
        if hints:
            raise ValueError("; ".join(hints))
        return data

    @classmethod
    def _missing_hint(cls, data: dict[str, Any]) -> list[str]:
        """What a subclass adds to a refusal (e.g. which key an entry needs)."""
        return []

    @staticmethod
    def _suggest(key: str, spellings: dict[str, str]) -> str:
        import difflib  # noqa: PLC0415 - only a refused document needs it, never the cold start

        documented = [alias for alias in spellings if alias != alias.lower() or "_" not in alias]
        lowered = {alias.lower(): alias for alias in documented}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
        if close:
            return f" (did you mean `{lowered[close[0]]}`?)"
        return f" (known keys: {', '.join(sorted(set(documented)))})"
