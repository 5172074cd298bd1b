"""The stack's settings: `inspector:*` config keys, validated by the library (`inspector.stack`)."""

from __future__ import annotations

from typing import Any

from inspector.stack import NAMESPACE, StackConfigError, as_pulumi_gives, load, load_stack_file

__all__ = [
    "NAMESPACE",
    "StackConfigError",
    "as_pulumi_gives",
    "load",
    "load_stack_file",
    "read_pulumi_config",
]


def read_pulumi_config() -> dict[str, Any]:
    """Every `inspector:*` key of the running stack, without the namespace, typos included (so that
    `load` can refuse an unknown key instead of silently ignoring it)."""
    import pulumi.runtime.config as runtime_config  # noqa: PLC0415 - keeps this module free of pulumi

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix): value for key, value in values.items() if key.startswith(prefix)}
