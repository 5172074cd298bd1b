"""The stack's settings: `inspector:*` config keys, validated with the library's `Deployment` model."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from inspector._validation import describe
from inspector.deployment import Deployment
from inspector.errors import InspectorError

NAMESPACE = "inspector"


class StackConfigError(InspectorError, ValueError):
    """A stack config key is missing or invalid; the message names it as `inspector:<key>`."""


def load(values: Mapping[str, Any]) -> Deployment:
    """Validate the `inspector:*` config (keys without the namespace; values as Pulumi gives them: strings,
    JSON for objects and lists). Raises `StackConfigError` naming each bad key."""
    document = {key: _decode(value) for key, value in values.items()}
    if "criteria" not in document:
        raise StackConfigError(
            f"{NAMESPACE}:criteria is required: set it in Pulumi.<stack>.yaml, "
            f"or with `pulumi config set --path {NAMESPACE}:criteria...`"
        )
    if document.get("detector") == "local":
        raise StackConfigError(
            f"{NAMESPACE}:detector: 'local' is for the local mode only (it reports no labels and "
            "measures nothing a deployed line needs): use 'rekognition', 'custom-labels' or 'reference'"
        )
    try:
        return Deployment.model_validate(document)
    except ValidationError as exc:
        problems = [_config_key(line) for line in describe(exc)]
        raise StackConfigError("invalid stack config: " + "; ".join(problems)) from None


def read_pulumi_config() -> dict[str, Any]:
    """Every `inspector:*` key of the running stack, without the namespace, typos included (so that
    `load` can refuse an unknown key instead of silently ignoring it)."""
    import pulumi.runtime.config as runtime_config  # noqa: PLC0415 - keeps this module free of pulumi

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix): value for key, value in values.items() if key.startswith(prefix)}


def _decode(value: Any) -> Any:
    # Pulumi hands objects and lists to the program as JSON text, and scalars as plain text, which the
    # models parse themselves ("45" -> 45, "true" -> True; "3.12" stays a version, not a float).
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _config_key(line: str) -> str:
    """Name config keys as a stack does: `inspector:imagesPrefix`."""
    head, sep, rest = line.partition(": ")
    if sep and re.fullmatch(r"[A-Za-z]\w*([.\[].*)?", head):
        return f"{NAMESPACE}:{head}: {_keys_in_text(rest)}"
    return _keys_in_text(line)


def _keys_in_text(text: str) -> str:
    # Fields named inside a sentence: the camelCase ones, and `detector=...`.
    names = sorted((info.alias or n for n, info in Deployment.model_fields.items()), key=len, reverse=True)
    camel = "|".join(re.escape(name) for name in names if not name.islower())
    text = re.sub(rf"(?<![\w:])({camel})\b", rf"{NAMESPACE}:\1", text)
    return re.sub(r"(?<![\w:])detector=", f"{NAMESPACE}:detector=", text)
