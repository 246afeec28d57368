"""Block types: named templates of primitive ops (and other blocks), defined in YAML.

The built-in blocks live in ``builtin.yaml`` beside this file; a spec's ``blocks:``
section adds its own in the same format. Both go through :func:`parse_block_defs`, the
single place where a block definition is read and checked.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from archcalc.errors import Location, SpecError
from archcalc.spec.loader import IDENTIFIER
from archcalc.spec.yamlio import line_of, read_yaml

PARAM_TYPES = ("int", "number", "bool", "str", "channels", "size", "any")
PARAM_KEYS = {"type", "default", "min", "choices", "first_only", "unless", "doc"}
BLOCK_KEYS = {"doc", "params", "let", "body", "output", "inputs"}
# Keys of a body item or a layer row that are not op attributes / block parameters.
ITEM_KEYS = {"name", "op", "block", "from", "when"}
ROW_KEYS = ITEM_KEYS | {"n", "scale"}

_NO_DEFAULT = object()


class ParamDef(NamedTuple):
    name: str
    type: str
    default: Any = _NO_DEFAULT
    min: float | None = None
    choices: tuple | None = None
    first_only: bool = False
    doc: str = ""  # one phrase for the language reference (docs/spec-language.md)
    unless: str | None = None  # a required param may be left out when this other param is given instead

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT

    def expected(self) -> str:
        text = {
            "int": "an integer", "number": "a number", "bool": "true or false", "str": "a string",
            "channels": "a channel count (integer >= 1)", "size": "an integer", "any": "a value",
        }[self.type]
        if self.min is not None:
            text += f" >= {self.min:g}"
        if self.type == "size":
            text += ", or [height, width] of those"
        if self.choices:
            text = "one of " + ", ".join(map(str, self.choices))
        return text

    def check(self, value: Any) -> bool:
        if self.type == "size" and isinstance(value, (list, tuple)):  # [h, w]
            return len(value) == 2 and all(self._check_number(v, "int") for v in value)
        if self.choices is not None:
            return value in self.choices
        if self.type == "any":
            return True
        if self.type == "bool":
            return isinstance(value, bool)
        if self.type == "str":
            return isinstance(value, str)
        return self._check_number(value, self.type)

    def _check_number(self, value: Any, kind: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if kind in ("int", "channels", "size") and isinstance(value, float) and not value.is_integer():
            return False
        minimum = 1 if kind == "channels" and self.min is None else self.min
        return minimum is None or value >= minimum


class BlockDef(NamedTuple):
    name: str
    doc: str
    params: dict[str, ParamDef]
    let: tuple[tuple[str, Any], ...]
    body: tuple[dict, ...]
    output: str | None
    location: Location
    item_locations: tuple[Location, ...] = ()
    # names of the block's input tensors, in the order a row's `from` lists them; the first
    # is the main input (c_in, h_in, w_in; what `n` repeats chain), the others are read as
    # c_<name>, h_<name>, w_<name> in expressions (a NASNet cell reads its previous cell's output)
    inputs: tuple[str, ...] = ("input",)


def _param(block: str, name: str, raw: Any, where: Location) -> ParamDef:
    if not isinstance(raw, dict):
        raise SpecError(where, f"parameter {name!r} of block {block!r}: expected a mapping with a type, got {raw!r}")
    unknown = set(raw) - PARAM_KEYS
    if unknown:
        raise SpecError(where, f"unknown key {sorted(unknown)[0]!r} in parameter {name!r} (expected {', '.join(sorted(PARAM_KEYS))})")
    kind = raw.get("type", "any")
    if kind not in PARAM_TYPES:
        raise SpecError(where, f"parameter {name!r}: type must be one of {', '.join(PARAM_TYPES)}, got {kind!r}")
    choices = raw.get("choices")
    if choices is not None and not isinstance(choices, list):
        raise SpecError(where, f"parameter {name!r}: choices must be a list, got {choices!r}")
    minimum = raw.get("min")
    if minimum is not None and (isinstance(minimum, bool) or not isinstance(minimum, (int, float))):
        raise SpecError(where, f"parameter {name!r}: min must be a number, got {minimum!r}")
    if not isinstance(raw.get("first_only", False), bool):
        raise SpecError(where, f"parameter {name!r}: first_only must be true or false, got {raw['first_only']!r}")
    unless = raw.get("unless")
    if unless is not None and ("default" in raw or not isinstance(unless, str) or unless == name):
        raise SpecError(where, f"parameter {name!r}: unless must name another parameter of a parameter "
                               f"without a default, got {unless!r}")
    return ParamDef(
        name=name,
        type=kind,
        default=raw.get("default", _NO_DEFAULT),
        min=raw.get("min"),
        choices=tuple(choices) if choices is not None else None,
        first_only=bool(raw.get("first_only", False)),
        doc=str(raw.get("doc", "")).strip(),
        unless=unless,
    )


def parse_block_defs(raw: dict, file: str, prefix: str = "blocks") -> dict[str, BlockDef]:
    """Check and convert a mapping of block definitions (built-in or from a spec)."""
    result = {}
    for name, body in raw.items():
        # a block brought in by `include` keeps the file it was written in
        source = getattr(body, "file", None) or getattr(raw, "file", None) or file
        where = Location(source, line_of(raw, name) if source == getattr(raw, "file", file) else getattr(body, "line", None),
                         f"{prefix}.{name}")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            raise SpecError(where, f"expected a block name (letters, digits, _), got {name!r}")
        if not isinstance(body, dict):
            raise SpecError(where, f"expected a block definition mapping, got {body!r}")
        unknown = set(body) - BLOCK_KEYS
        if unknown:
            key = sorted(unknown)[0]
            raise SpecError(Location(where.file, line_of(body, key), f"{prefix}.{name}.{key}"),
                            f"unknown key {key!r} in block {name!r} (expected {', '.join(sorted(BLOCK_KEYS))})")
        params_raw = body.get("params", {}) or {}
        if not isinstance(params_raw, dict):
            raise SpecError(where, "params must be a mapping")
        params = {
            p: _param(name, p, v, Location(where.file, line_of(params_raw, p), f"{prefix}.{name}.params.{p}"))
            for p, v in params_raw.items()
        }
        for p in params.values():
            if p.unless is not None and p.unless not in params:
                raise SpecError(where, f"parameter {p.name!r}: unless names {p.unless!r}, which is not a parameter of "
                                       f"block {name!r}")
        let_raw = body.get("let", {}) or {}
        if not isinstance(let_raw, dict):
            raise SpecError(where, "let must be a mapping of names to expressions")
        items = body.get("body")
        if not isinstance(items, list) or not items:
            raise SpecError(Location(where.file, line_of(body, "body") or where.line, f"{prefix}.{name}.body"),
                            "expected a non-empty list of ops and blocks")
        inputs = _inputs(body.get("inputs", ["input"]), Location(where.file, line_of(body, "inputs") or where.line,
                                                                f"{prefix}.{name}.inputs"))
        locations = []
        names_seen: set[str] = set()
        for index, item in enumerate(items):
            item_where = Location(where.file, line_of(items, index), f"{prefix}.{name}.body[{index}]")
            locations.append(item_where)
            if not isinstance(item, dict):
                raise SpecError(item_where, f"expected a mapping with op or block, got {item!r}")
            if ("op" in item) == ("block" in item):
                raise SpecError(item_where, "each item needs exactly one of op or block")
            item_name = item.get("name")
            if not isinstance(item_name, str) or not IDENTIFIER.match(item_name) or item_name in inputs:
                raise SpecError(item_where, f"expected a name for the item (letters, digits, _; not an input name: "
                                            f"{', '.join(inputs)}), got {item_name!r}")
            if item_name in names_seen:
                raise SpecError(item_where, f"item name {item_name!r} is used twice in block {name!r}")
            names_seen.add(item_name)
        output = body.get("output")
        if output is not None and output not in names_seen:
            raise SpecError(where, f"output {output!r} is not an item of block {name!r}")
        result[name] = BlockDef(
            name=name,
            doc=str(body.get("doc", "")).strip(),
            params=params,
            let=tuple(let_raw.items()),
            body=tuple(items),
            output=output,
            location=where,
            item_locations=tuple(locations),
            inputs=inputs,
        )
    return result


def _inputs(raw: Any, where: Location) -> tuple[str, ...]:
    """A block's input names: a non-empty list of distinct identifiers, the first being `input`."""
    if (not isinstance(raw, list) or not raw or raw[0] != "input" or len(set(raw)) != len(raw)
            or not all(isinstance(n, str) and IDENTIFIER.match(n) for n in raw)):
        raise SpecError(where, f"inputs: expected a list of distinct names starting with 'input' (e.g. [input, prev]), "
                               f"got {raw!r}")
    return tuple(raw)


BUILTIN_PATH = Path(__file__).with_name("builtin.yaml")


@lru_cache(maxsize=1)
def builtin_blocks() -> dict[str, BlockDef]:
    return parse_block_defs(read_yaml(BUILTIN_PATH, "archcalc/blocks/builtin.yaml"), "archcalc/blocks/builtin.yaml")
