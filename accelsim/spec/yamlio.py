"""Safe YAML reading shared by every accelsim input file.

Uses PyYAML's safe loader with one change: a mapping with a duplicate key is an
error (PyYAML silently keeps the last one), so a typo cannot hide a setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from accelsim.errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    """Read one YAML file safely; any failure is a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read: {exc}"]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (safe subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), [f"{where}invalid YAML: {problem}"]) from None


def version_problems(data: dict, supported: tuple, what: str = "") -> list[str]:
    """The problems with a document's ``version`` key (none when it is supported)."""
    version = data.get("version")
    if version is None:
        return [f"version: missing (this accelsim reads {what}version "
                f"{', '.join(str(v) for v in supported)})"]
    # YAML's true and 1.0 equal 1 in Python; neither is a version
    if isinstance(version, bool) or not isinstance(version, int):
        return [f"version: must be an integer (got {version!r})"]
    if version not in supported:
        return [f"version: unsupported, this accelsim reads {list(supported)} (got {version!r})"]
    return []
