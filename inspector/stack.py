"""A Pulumi stack's `inspector:*` settings, validated offline with the `Deployment` model (no Pulumi)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inspector import documents
from inspector._validation import describe
from inspector.deployment import Deployment
from inspector.errors import InspectorError

NAMESPACE = "inspector"


class StackConfigError(InspectorError, ValueError):
    """A stack config key is missing or invalid; the message names it as `inspector:<key>`."""

    def __init__(self, problems: str | list[str], *, heading: str = "") -> None:
        self.problems = [problems] if isinstance(problems, str) else problems  # one line each
        super().__init__(heading + "; ".join(self.problems))


def load(values: Mapping[str, Any]) -> Deployment:
    """Validate the `inspector:*` config (keys without the namespace; values as Pulumi gives them: strings,
    JSON for objects and lists). Raises `StackConfigError` naming each bad key."""
    unknown = unknown_keys(values)
    if unknown:
        # First, and alone: a misspelt key is why a required one seems missing (`inspector:critera`).
        raise StackConfigError(unknown, heading="invalid stack config: ")
    try:
        document = {key: _decode(key, value) for key, value in values.items()}
    except documents.DocumentError as exc:
        raise StackConfigError(str(exc), heading="invalid stack config: ") from None
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
        raise StackConfigError(problems, heading="invalid stack config: ") from None


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """The `inspector:*` keys of a `Pulumi.<stack>.yaml`, without the namespace, as written (bare keys
    belong to the project, as Pulumi reads them; other namespaces, `aws:region`, are Pulumi's to check).
    Read strictly: a key given twice at any depth is refused, with its lines. Raises `StackConfigError`."""
    try:
        document = documents.read(Path(path), what="stack file")
    except documents.DocumentError as exc:
        raise StackConfigError(str(exc)) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackConfigError(f"stack file {path} has no `config:` mapping")
    values: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in config.items():
        namespace, sep, name = str(key).partition(":")
        if not sep:
            namespace, name = NAMESPACE, namespace
        if namespace != NAMESPACE:
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.append(name)
        values[name] = value
    # An unknown key is named as such (with the key it was probably meant to be) whatever it holds, a
    # secret included: only a known setting's secret is one that cannot be checked offline.
    problems = unknown_keys(values) or [
        f"{NAMESPACE}:{name}: a secret cannot be checked offline (`pulumi config get {NAMESPACE}:{name}` "
        "shows it; check the stack with its value in place)"
        for name in secrets
    ]
    if problems:
        raise StackConfigError(problems)
    return values


def unknown_keys(names: Iterable[str]) -> list[str]:
    """One line per key that is no setting of a deployment, naming the closest one (`inspector:critera:
    unknown key (did you mean `inspector:criteria`?)`), in the order given."""
    spellings: dict[str, str] = {}
    for name, info in Deployment.model_fields.items():
        spellings[name] = name
        spellings[info.alias or name] = name
    problems = []
    for name in names:
        if name in spellings:
            continue
        shown = name if name.isprintable() else repr(name)
        hint = Deployment._suggest(name, spellings).replace("`", f"`{NAMESPACE}:", 1)
        problems.append(f"{NAMESPACE}:{shown}: unknown key{hint}")
    return problems


def load_stack_file(path: str | Path) -> Deployment:
    """Validate the `inspector:*` keys of a `Pulumi.<stack>.yaml` file as `pulumi up` would: read strictly
    (`read_stack_file`), then handed over as Pulumi hands them to the program (scalars as text, objects as
    JSON). Raises `StackConfigError`."""
    return load({key: as_pulumi_gives(value) for key, value in read_stack_file(path).items()})


def as_pulumi_gives(value: Any) -> str:
    """A stack file's value as the Pulumi engine hands it to the program: objects and lists as JSON, scalars
    as text (`true`, `45`)."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# The fields whose text Pulumi's scalars are turned into numbers or booleans for, exactly as written.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")


def _decode(key: str, value: Any) -> Any:
    # Pulumi hands objects and lists to the program as JSON text, and scalars as plain text. Text is turned
    # into a number or a boolean only where the setting is one, and only from its exact spelling ("45",
    # "true"); anything else ("yes", "1e3", "4.0") stays text, which the strict models refuse by name.
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith(("{", "[")):
        try:
            return documents.parse_json(value, source=f"{NAMESPACE}:{key}")
        except documents.DocumentError as exc:
            if "given twice" in str(exc):
                raise
            return value
    kind = _field_kind(key)
    if kind is bool and value in {"true", "false"}:
        return value == "true"
    if kind is int and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    return value


def _field_kind(key: str) -> type | None:
    for name, info in Deployment.model_fields.items():
        if key in {name, info.alias}:
            if info.annotation is bool:
                return bool
            return int if info.annotation is int else None
    return None


def _config_key(line: str) -> str:
    """Name config keys as a stack does: `inspector:imagesPrefix`."""
    head, sep, rest = line.partition(": ")
    if sep and re.fullmatch(r"[A-Za-z]\w*([.\[].*)?", head):
        # A line's own fields (lines[0]: ... customLabelsArn) are the line's, not top-level keys.
        return f"{NAMESPACE}:{head}: {rest if head.startswith('lines') else _keys_in_text(rest)}"
    return _keys_in_text(line)


def _keys_in_text(text: str) -> str:
    # Fields named inside a sentence: the camelCase ones, and `detector=...`.
    names = sorted((info.alias or n for n, info in Deployment.model_fields.items()), key=len, reverse=True)
    camel = "|".join(re.escape(name) for name in names if not name.islower())
    text = re.sub(rf"(?<![\w:])({camel})\b", rf"{NAMESPACE}:\1", text)
    return re.sub(r"(?<![\w:])detector=", f"{NAMESPACE}:detector=", text)
