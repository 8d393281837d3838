"""Safe YAML reading shared by every accelsim input file.

Uses PyYAML's safe loader with one change: a mapping with a duplicate key is an
error (PyYAML silently keeps the last one), so a typo cannot hide a setting.
Files larger than :data:`accelsim.fileio.TEXT_LIMIT_BYTES`, keys that are not
scalars, and nesting deeper than Python's recursion limit are errors too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from accelsim.errors import ConfigError
from accelsim.fileio import read_text_limited, sniff

_NOT_YAML = {"zip": "a zip archive, as a trace (.npz) is", "npy": "a NumPy array (.npy)"}


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (list, dict)):
            raise yaml.constructor.ConstructorError(
                None, None, f"a mapping key must be a string or a number (got a "
                f"{type(key).__name__})", key_node.start_mark)
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
    kind = sniff(path)
    if kind in _NOT_YAML:  # e.g. a trace given where the arch file goes
        raise ConfigError(str(path), [f"not a YAML file: it is {_NOT_YAML[kind]}"])
    try:
        text = read_text_limited(path)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [f"cannot read: not UTF-8 text (byte "
                                      f"0x{exc.object[exc.start]:02x} at offset {exc.start})"]
                          ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), [f"cannot read: {exc}"]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (safe subclass)
    except RecursionError:
        raise ConfigError(str(path), ["invalid YAML: nested deeper than accelsim reads"]
                          ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
            where = f"character {exc.position + 1}: "
            problem = f"unacceptable character #x{exc.character:04x}: {exc.reason}" \
                if isinstance(exc.character, int) else exc.reason
        else:
            problem = getattr(exc, "problem", None) or str(exc)
        problem = " ".join(str(problem).split())  # one line
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
