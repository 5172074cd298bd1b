"""A Pulumi stack's `inspector:*` settings, validated offline with the `Deployment` model (no Pulumi)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inspector._validation import describe
from inspector.deployment import Deployment
from inspector.errors import InspectorError

NAMESPACE = "inspector"


class StackConfigError(InspectorError, ValueError):
    """A stack config key is missing or invalid; the message names it as `inspector:<key>`."""

    def __init__(self, problems: list[str], *, heading: str = "") -> None:
        self.problems = problems  # one line each, for `inspector stack check`
        super().__init__(heading + "; ".join(problems))


def load(values: Mapping[str, Any]) -> Deployment:
    """Validate the `inspector:*` config (keys without the namespace; values as Pulumi gives them: strings,
    JSON for objects and lists, or the objects themselves). Raises `StackConfigError` naming each bad key."""
    document = {key: _decode(value) for key, value in values.items()}
    if "criteria" not in document:
        raise StackConfigError(
            [
                f"{NAMESPACE}:criteria is required: set it in Pulumi.<stack>.yaml, "
                f"or with `pulumi config set --path {NAMESPACE}:criteria...`"
            ]
        )
    if document.get("detector") == "local":
        raise StackConfigError(
            [
                f"{NAMESPACE}:detector: 'local' is for the local mode only (it needs Pillow, which the "
                "function's bundle lacks): use 'rekognition' or 'custom-labels'"
            ]
        )
    try:
        return Deployment.model_validate(document)
    except ValidationError as exc:
        problems = [_config_key(line) for line in describe(exc)]
        raise StackConfigError(problems, heading="invalid stack config: ") from None


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `inspector:*` keys of a `Pulumi.<stack>.yaml`, without the namespace (bare keys belong to the
    project, as Pulumi reads them). Raises `StackConfigError` for a file that cannot be read as one (its
    messages do not repeat the path)."""
    import yaml  # noqa: PLC0415 - the cli extra; the Pulumi program gets its config from the engine

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StackConfigError([f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise StackConfigError([f"not YAML{line}: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackConfigError(["not a Pulumi stack file: expected a mapping with a `config:` mapping"])
    values: dict[str, Any] = {}
    for key, value in (document.get("config") or {}).items():
        namespace, sep, name = str(key).partition(":")
        if not sep:
            namespace, name = NAMESPACE, namespace
        if namespace != NAMESPACE:
            continue  # aws:region and other providers' settings are Pulumi's to check
        if isinstance(value, dict) and set(value) == {"secure"}:
            raise StackConfigError([f"{NAMESPACE}:{name}: a secret cannot be checked offline"])
        values[name] = value
    return values


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
