"""Reading the YAML and JSON documents people write: every key once, at any depth, or a named refusal."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from inspector.errors import InspectorError

YAML_SUFFIXES = (".yaml", ".yml")


class DocumentError(InspectorError, ValueError):
    """A document cannot be read as written: not valid JSON or YAML, or a key given twice in one mapping.

    A repeated key would otherwise keep its last value only, silently dropping what came before.
    """


def parse_json(text: str | bytes, *, source: str = "document") -> Any:
    """Parse JSON, refusing a key repeated in one object (naming the key and its path)."""
    try:
        document = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, DocumentError):
            raise
        raise DocumentError(f"{source} is not valid JSON: {_one_line(str(exc))}") from None
    return _unique(document, "", source)


def parse_yaml(text: str | bytes, *, source: str = "document") -> Any:
    """Parse one YAML document, refusing a key repeated in one mapping (naming the key, its path and the
    lines of both). Needs PyYAML."""
    try:
        import yaml  # noqa: PLC0415 - optional dependency (the cli extra)
    except ImportError:
        raise DocumentError(
            f"{source} is YAML, which needs PyYAML: pip install 'widget-inspector[cli]', or use JSON"
        ) from None
    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_keys(loader, node, "", source, set(), set())
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "cannot be parsed"
        raise DocumentError(f"{source} is not valid YAML: {_one_line(problem)}{where}") from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"{source} is not valid YAML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise DocumentError(f"{source} is nested too deeply to read") from None
    finally:
        loader.dispose()


def parse(text: str | bytes, *, source: str, suffix: str = "") -> Any:
    """JSON for a `.json` suffix, else YAML (which reads JSON too)."""
    if suffix.lower() == ".json":
        return parse_json(text, source=source)
    return parse_yaml(text, source=source)


def read(path: Path, *, what: str = "file") -> Any:
    """Read and parse a document file; every failure is a `DocumentError` naming the file."""
    if path.is_dir():
        raise DocumentError(f"{what} {path} is a folder, not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DocumentError(f"{what} {path} is not UTF-8 text") from None
    if not text.strip():
        return None  # an empty file, whatever its format: the caller says what belongs in it
    return parse(text, source=f"{what} {path}", suffix=path.suffix)


# --- JSON ---------------------------------------------------------------------------------------------


class _Pairs(list[tuple[str, Any]]):
    """An object as parsed, before its keys are checked."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique(value: Any, path: str, source: str) -> Any:
    if isinstance(value, _Pairs):
        result: dict[str, Any] = {}
        for key, item in value:
            if key in result:
                where = f" in {path}" if path else ""
                raise DocumentError(
                    f"{source}: key {key!r} is given twice{where}; a repeated key would silently drop "
                    "the first value: give it once"
                )
            result[key] = _unique(item, _join(path, key), source)
        return result
    if isinstance(value, list):
        return [_unique(item, f"{path}[{i}]", source) for i, item in enumerate(value)]
    return value


# --- YAML ---------------------------------------------------------------------------------------------

_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"


@functools.cache
def _loader_class() -> Any:
    """PyYAML's safe loader with YAML 1.2's booleans: only true and false. YAML 1.1 also reads yes, no, on
    and off as booleans, which Pulumi (YAML 1.2) reads as text: `forceDestroy: yes` must mean the same to
    both, and to the models it is text, so refused where a boolean belongs."""
    import yaml  # noqa: PLC0415

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return Loader


def _check_yaml_keys(  # noqa: PLR0917 - a recursive walk's state
    loader: Any, node: Any, path: str, source: str, visited: set[int], inside: set[int]
) -> None:
    import yaml  # noqa: PLC0415

    if id(node) in inside:
        raise DocumentError(f"{source}: the alias at {path or 'the top'} refers to a node that contains it")
    if id(node) in visited:  # an alias of a node already checked: checked once (no billion laughs)
        return
    visited.add(id(node))
    inside.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                _check_yaml_keys(loader, value_node, path, source, visited, inside)
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key (a list or mapping): the model refuses it later
                continue
            if first is not None:
                where = f" in {path}" if path else ""
                raise DocumentError(
                    f"{source}: key {key!r} is given twice{where} (line {first.start_mark.line + 1} and "
                    f"line {key_node.start_mark.line + 1}); a repeated key would silently drop the first "
                    "value: give it once"
                )
            seen[key] = key_node
            _check_yaml_keys(loader, value_node, _join(path, str(key)), source, visited, inside)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_yaml_keys(loader, item, f"{path}[{i}]", source, visited, inside)
    inside.discard(id(node))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _one_line(message: str) -> str:
    return " ".join(message.split())
