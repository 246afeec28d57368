"""Safe YAML reading that remembers the line of every key and list item.

PyYAML's ``SafeLoader`` only builds plain Python values; we subclass it so that every
mapping becomes a :class:`LocatedDict` and every sequence a :class:`LocatedList`, each
carrying the 1-based line of its items. Error messages can then name the exact line.
Duplicate keys are rejected (plain YAML silently keeps the last one).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from archcalc.errors import Location, SpecError


class LocatedDict(dict):
    """A dict that knows the source line of each key (``.key_lines``) and of itself."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    """A list that knows the source line of each item."""

    line: int | None = None
    item_lines: list

    def line_of(self, index: int) -> int | None:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def line_of(container: Any, key: Any) -> int | None:
    """Line of ``container[key]`` when the container was read from YAML, else None."""
    getter = getattr(container, "line_of", None)
    return getter(key) if getter else getattr(container, "line", None)


# libyaml's C parser when PyYAML was built with it (5-10x faster to scan); the constructor
# layer is SafeConstructor either way, so only safe tags are ever built.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """SafeLoader that builds Located containers. Only safe tags are constructed."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping keys must be scalars, got {type(key).__name__}", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(path: str | Path, display_name: str | None = None) -> Any:
    """Read a YAML file safely, with line numbers. Any problem is a one-line SpecError."""
    name = display_name or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        hint = ""
        if Path(path).parent == Path(".") and not Path(path).exists():
            from archcalc.spec.loader import shipped_spec_names

            hint = f" (neither a file nor a shipped spec: {', '.join(shipped_spec_names())})"
        raise SpecError(Location(name, None, ""), f"cannot read spec file: {exc.strerror}{hint}") from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise SpecError(Location(name, line, ""), f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(Location(name, None, ""), f"invalid YAML: {exc}") from None
