"""Safe YAML reading that remembers the line of every key and list item.

PyYAML's ``SafeLoader`` only builds plain Python values; we subclass it so that every
mapping becomes a :class:`LocatedDict` and every sequence a :class:`LocatedList`, each
carrying the 1-based line of its items. Error messages can then name the exact line.
Duplicate keys are rejected (plain YAML silently keeps the last one); a key that overrides
one brought in by a ``<<:`` merge key is not a duplicate (that is what merge keys are for).

Hostile input is bounded before it is built (archcalc.limits): the file is opened without
blocking and must be a regular file of at most ``FILE_BYTES``; the event stream is checked
for nesting depth and node count; the composed node graph is measured with every alias expanded (shared
nodes are counted once each, by memo, so a 670-byte alias bomb is measured in microseconds)
against ``YAML_NODES`` before any Python object is constructed.

A spec is plain YAML (no anchors, aliases, tags or merge keys): such a text is read in one
pass over the events, checking each as it comes and building the containers directly
(:func:`_read_plain`); anything else is read the general way (check every event, compose,
measure, construct), which also reports every error.
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


def read_yaml(path: str | Path, display_name: str | None = None, *, tag: bool = False) -> Any:
    """Read a YAML file safely, with line numbers. Any problem is a one-line SpecError.
    ``tag``: record the file's display name on every container (:func:`tag_file`)."""
    name = display_name or str(path)
    return parse_yaml(read_spec_text(path, name), name, tag=tag)


def tag_file(value: Any, name: str) -> None:
    """Record the file on every container read from it (for errors after merging).

    Each container is visited once: a YAML alias makes many references to one container,
    and walking it again per reference is exponential in the alias depth."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (LocatedDict, LocatedList)) and id(item) not in seen:
            seen.add(id(item))
            item.file = name
            stack.extend(item.values() if isinstance(item, dict) else item)


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
            from archcalc.spec.shipped import shipped_spec_names

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
        # Read what fstat says is there, plus one byte to see a file growing while read, then
        # on in 64 KiB pieces until the end or past the budget. (Never a read of the whole
        # budget: os.read allocates the size it is asked for, 4 MiB or more, before it reads.)
        chunks, total, want = [], 0, info.st_size + 1
        while total <= budget:
            data = os.read(fd, min(want, budget + 1 - total))
            if not data:
                break
            chunks.append(data)
            total += len(data)
            want = 1 << 16
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


def parse_yaml(text: str, name: str = "<string>", *, tag: bool = False) -> Any:
    """``tag``: record ``name`` on every container (:func:`tag_file`)."""
    with gc_paused():  # a few objects per YAML node, no cycles: see archcalc.allocation
        return _parse_yaml(text, name, tag=tag)


def _parse_yaml(text: str, name: str, general: bool = False, tag: bool = False) -> Any:
    """``general``: skip the one-pass reader (tests compare the two)."""
    try:
        if not general:
            loader = _LineLoader(text)
            try:
                return _read_plain(loader, name, name if tag else None)  # (tagging each container as it is made)
            except _NotPlain:  # read it again the general way below (the same checks, then PyYAML's composer)
                pass
            finally:
                loader.dispose()
        loader = _LineLoader(text)
        try:
            aliases = _check_events(loader, name)
            loader = _LineLoader(text)
            node = loader.get_single_node()
            if node is None:
                return None
            if aliases:  # without one, the expanded tree is the text's tree: checked just now
                _check_expanded_size(node, name)
            document = loader.construct_document(node)
            if tag:
                tag_file(document, name)
            return document
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


class _NotPlain(Exception):
    """The text uses what the one-pass reader leaves to PyYAML's composer and constructor: an
    anchor or alias, an explicit tag, a merge key, a key that is no plain scalar, a key written
    twice, a scalar it does not build (a timestamp), a second document."""


# scalar tags the one-pass reader builds (with SafeConstructor's own functions)
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null"))
_STR_TAG = "tag:yaml.org,2002:str"


def _read_plain(loader: Any, name: str, file: str | None = None) -> Any:
    """The document, read in one pass over the parser's events: the checks of
    :func:`_check_events`, in the same order, and the Located containers built as the events
    come (no node graph composed, no second walk over it), each tagged with ``file`` when
    given. Anything else raises _NotPlain before any error of its own is reported, so that
    the general reader (which checks every event of the text first) reports it as it always
    has."""
    max_depth, max_nodes = limits.NESTING.value, limits.YAML_NODES.value
    depth = nodes = documents = 0
    # the innermost open container, and the key of a mapping waiting for its value (_NO_KEY:
    # waiting for a key) with that key's line; the enclosing ones on `stack`
    container: Any = None
    key: Any = _NO_KEY
    key_line = None
    stack: list[tuple] = []
    root: Any = None
    scalars = _SCALARS
    constructors = loader.yaml_constructors
    get_event = loader.get_event
    scalar_event, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    while True:
        event = get_event()
        kind = event.__class__
        if kind is scalar_event:
            nodes += 1
            if nodes > max_nodes or event.anchor is not None:
                _refuse(event, name, nodes, depth)
            tag = event.tag
            if tag is not None and tag != "!":  # "!": a plain string, as no tag at all
                raise _NotPlain
            value = scalars.get((event.value, event.implicit), _NO_KEY)
            if value is _NO_KEY:
                value = _scalar(loader, constructors, event)
            opened = None
        elif kind is mapping_start or kind is sequence_start:
            depth += 1
            nodes += 1
            if depth > max_depth or nodes > max_nodes or event.anchor is not None or not event.implicit:
                _refuse(event, name, nodes, depth)
            if kind is mapping_start:
                opened = LocatedDict()
                opened.key_lines = {}
            else:
                opened = LocatedList()
                opened.item_lines = []
            opened.line = event.start_mark.line + 1
            if file is not None:
                opened.file = file
            value = opened
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            depth -= 1
            container, key, key_line = stack.pop()
            continue
        elif kind is yaml.AliasEvent:
            raise _NotPlain
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _NotPlain
            continue
        elif kind is yaml.StreamEndEvent:
            return root
        else:
            continue
        if container is None:
            root = value
        elif container.__class__ is LocatedList:
            container.append(value)
            container.item_lines.append(event.start_mark.line + 1)
        elif key is _NO_KEY:  # a key
            if opened is not None or value.__class__ not in _KEY_TYPES or value in container:
                raise _NotPlain
            key, key_line = value, event.start_mark.line + 1
        else:
            container[key] = value
            container.key_lines[key] = key_line
            key = _NO_KEY
        if opened is not None:
            stack.append((container, key, key_line))
            container, key, key_line = opened, _NO_KEY, None


def _refuse(event: Any, name: str, nodes: int, depth: int) -> None:
    """Raise what _read_plain meets over a budget (in _check_events' order: depth, then
    nodes), or _NotPlain for an anchor or an explicit tag on a container."""
    line = event.start_mark.line + 1 if event.start_mark else None
    if depth > limits.NESTING.value and event.__class__ is not yaml.ScalarEvent:
        raise SpecError(Location(name, line, ""), _over(limits.NESTING, depth, "YAML nesting depth"))
    if nodes > limits.YAML_NODES.value:
        raise SpecError(Location(name, line, ""), _over(limits.YAML_NODES, nodes, "YAML nodes"))
    raise _NotPlain


def _scalar(loader: Any, constructors: dict, event: Any) -> Any:
    """The value of a plain scalar event, built as SafeConstructor builds it and kept in
    _SCALARS (or _NotPlain: a tag the one-pass reader leaves to the general one)."""
    tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag not in _PLAIN_TAGS:
        raise _NotPlain
    try:
        value = event.value if tag == _STR_TAG else constructors[tag](
            loader, yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style))
    except Exception:  # (an int of 5,000 digits): reported by the general reader, in its turn
        raise _NotPlain from None
    if len(event.value) <= _SCALAR_CHARS:  # (a long text, a description say, is seldom read twice)
        if len(_SCALARS) >= _SCALARS_LIMIT:  # (bounded per entry: one file may hold 200,000 scalars)
            _SCALARS.clear()
        _SCALARS[event.value, event.implicit] = value
    return value


_NO_KEY = object()
# (text, implicit) -> the scalar built from it (a str, int, float, bool or None: immutable, so
# shared): specs repeat their few scalars, and a process reads the same specs again. A pure
# function of the key, like the parsed expressions; emptied when full.
_SCALARS: dict[tuple, Any] = {}
_SCALARS_LIMIT = 8192
# Only scalars this short are kept, so that what is kept stays small (8,192 x 256 characters at
# most): a process loading specs from anywhere must not hold each one's 4 MiB description.
_SCALAR_CHARS = 256
_KEY_TYPES = frozenset({str, int, float, bool})


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
