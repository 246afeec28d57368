"""Safe YAML reading that remembers the line of every key and list item.

PyYAML's ``SafeLoader`` only builds plain Python values; we subclass it so that every
mapping becomes a :class:`LocatedDict` and every sequence a :class:`LocatedList`, each
carrying the 1-based line of its items. Error messages can then name the exact line.
Duplicate keys are rejected (plain YAML silently keeps the last one); a key that overrides
one brought in by a ``<<:`` merge key is not a duplicate (that is what merge keys are for).

Hostile input is bounded before it is built (archcalc.limits): the file is opened without
blocking and must be a regular file of at most ``FILE_BYTES``; the event stream is checked
for nesting depth; the composed node graph is measured with every alias expanded (shared
nodes are counted once each, by memo, so a 670-byte alias bomb is measured in microseconds)
against ``YAML_NODES`` before any Python object is constructed.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from archcalc import limits
from archcalc.allocation import gc_paused
from archcalc.errors import Location, SpecError, quote


class LocatedDict(dict):
    """A dict that knows the source line of each key (``.key_lines``) and of itself."""

    line: int | None = None
    key_lines: dict

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)

    def __repr__(self) -> str:  # bounded: an alias bomb's value must not print itself whole
        return quote(dict(self))


class LocatedList(list):
    """A list that knows the source line of each item."""

    line: int | None = None
    item_lines: list

    def line_of(self, index: int) -> int | None:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line

    def __repr__(self) -> str:
        return quote(list(self))


def line_of(container: Any, key: Any) -> int | None:
    """Line of ``container[key]`` when the container was read from YAML, else None."""
    getter = getattr(container, "line_of", None)
    return getter(key) if getter else getattr(container, "line", None)


# libyaml's C parser when PyYAML was built with it (5-10x faster to scan); the constructor
# layer is SafeConstructor either way, so only safe tags are ever built.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """SafeLoader that builds Located containers. Only safe tags are constructed."""


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LocatedDict:
    own = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
    loader.flatten_mapping(node)  # merged pairs first, then the mapping's own keys
    merged_count = len(node.value) - own
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    own_keys: set = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping keys must be scalars, got {type(key).__name__}", key_node.start_mark
            )
        if position >= merged_count:  # a merged key may be overridden; the mapping's own may not repeat
            if key in own_keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {quote(key)}", key_node.start_mark
                )
            own_keys.add(key)
        # (merged pairs: flatten_mapping orders them so that the later one wins, as in PyYAML)
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
    return parse_yaml(read_spec_text(path, name), name)


def read_spec_text(path: str | Path, name: str) -> str:
    """The text of a spec file, refusing what cannot be a spec before reading it: a
    directory, a device (``/dev/zero``), a FIFO (opened without blocking, so a pipe with no
    writer is an error, not a hang), a file over the size budget, text that is not UTF-8."""
    where = Location(name, None, "")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        hint = ""
        if Path(path).parent == Path(".") and not Path(path).exists():
            from archcalc.spec.loader import shipped_spec_names

            hint = f" (neither a file nor a shipped spec: {', '.join(shipped_spec_names())})"
        raise SpecError(where, f"cannot read spec file: {exc.strerror or exc}{hint}") from None
    except (ValueError, TypeError) as exc:  # a NUL byte in the name
        raise SpecError(where, f"cannot read spec file: {exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(where, "cannot read spec file: it is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(where, "cannot read spec file: not a regular file (a device, pipe or socket)")
        budget = limits.FILE_BYTES.value
        if info.st_size > budget:
            raise SpecError(where, _over(limits.FILE_BYTES, info.st_size, "the spec file"))
        data = os.read(fd, budget + 1) if info.st_size else b""
        chunks = [data]
        while data and sum(map(len, chunks)) <= budget:  # a file growing while read: still bounded
            data = os.read(fd, budget + 1)
            chunks.append(data)
        raw = b"".join(chunks)
        if len(raw) > budget:
            raise SpecError(where, _over(limits.FILE_BYTES, len(raw), "the spec file"))
    except OSError as exc:
        raise SpecError(where, f"cannot read spec file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(Location(name, line, ""), f"not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})") from None


def _over(budget: limits.Budget, amount: int, what: str) -> str:
    try:
        limits.check(budget, amount, what)
    except limits.LimitExceeded as exc:
        return str(exc)
    return ""  # pragma: no cover - only called when over


def parse_yaml(text: str, name: str = "<string>") -> Any:
    with gc_paused():  # a few objects per YAML node, no cycles: see archcalc.allocation
        return _parse_yaml(text, name)


def _parse_yaml(text: str, name: str) -> Any:
    try:
        loader = _LineLoader(text)
        try:
            aliases = _check_events(loader, name)
            loader = _LineLoader(text)
            node = loader.get_single_node()
            if node is None:
                return None
            if aliases:  # without one, the expanded tree is the text's tree: checked just now
                _check_expanded_size(node, name)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise SpecError(Location(name, line, ""), f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(Location(name, None, ""), f"invalid YAML: {exc}") from None
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. an int literal of 5,000 digits
        if isinstance(exc, SpecError):
            raise
        raise SpecError(Location(name, None, ""), f"invalid YAML: {type(exc).__name__}: {exc}") from None


_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NODES = (*_OPENING, yaml.ScalarEvent, yaml.AliasEvent)


def _check_events(loader: Any, name: str) -> bool:
    """Nesting depth and raw node count, from the event stream (the parser keeps an explicit
    stack, so this pass cannot recurse however deep the input nests; the composer can).
    True when the text uses an alias (then the expanded tree is measured as well)."""
    max_depth, max_nodes = limits.NESTING.value, limits.YAML_NODES.value
    depth = nodes = 0
    aliases = False
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, _OPENING):
            depth += 1
            if depth > max_depth:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise SpecError(Location(name, line, ""), _over(limits.NESTING, depth, "YAML nesting depth"))
        elif isinstance(event, _CLOSING):
            depth -= 1
        if isinstance(event, _NODES):
            nodes += 1
            if nodes > max_nodes:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise SpecError(Location(name, line, ""), _over(limits.YAML_NODES, nodes, "YAML nodes"))
            aliases = aliases or event.__class__ is yaml.AliasEvent
    return aliases


def _check_expanded_size(root: yaml.Node, name: str) -> None:
    """Nodes in the document with every alias expanded, memoized per node (linear in the
    file, whatever the expansion): the work any later pass over the values would do."""
    budget = limits.YAML_NODES.value
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > limits.NESTING.value:  # aliases can nest deeper than the text does
            raise SpecError(Location(name, node.start_mark.line + 1, ""),
                            _over(limits.NESTING, depth, "YAML nesting depth with aliases expanded"))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key, depth + 1) + size(value, depth + 1) for key, value in node.value)
        sizes[id(node)] = total
        if total > budget:
            raise SpecError(Location(name, node.start_mark.line + 1, ""),
                            _over(limits.YAML_NODES, total, "YAML nodes with aliases expanded"))
        return total

    size(root, 0)
