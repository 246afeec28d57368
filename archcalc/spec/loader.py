"""Read a spec file: safe YAML, ``extends`` chains, top-level schema, command-line overrides.

The result is a :class:`Spec`: plain data plus enough location information that every
later error can name the file, line and spec path it comes from.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from archcalc import limits
from archcalc.errors import Location, SpecError
from archcalc.spec.shipped import resolve_spec_path
from archcalc.spec.yamlio import LocatedDict, LocatedList, line_of, read_yaml
from archcalc.width import CHANNEL_RULES, EXPANSION_RULES

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Top-level keys: name -> (expected types, description for errors)
TOP_LEVEL: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), "a string"),
    "description": ((str,), "a string"),
    "source": ((str,), "a string"),
    "extends": ((str,), "a path to another spec, relative to this file"),
    "input": ((dict,), "a mapping with channels and resolution"),
    "width": ((int, float), "a number > 0"),
    "depth": ((int, float), "a number > 0 (the depth multiplier, read as `depth` in expressions)"),
    "classes": ((int,), "an integer >= 1"),
    "rounding": ((dict,), "a mapping (channels, divisor, min_depth, expansion)"),
    "defaults": ((dict,), "a mapping of names to values"),
    "blocks": ((dict,), "a mapping of block names to block definitions"),
    "layers": ((list,), "a list of layer rows"),
    "outputs": ((list,), "a list of layer names"),
}
# allowed values of the rounding keys (their defaults live with the rules: width.channel_rule)
ROUNDING_KEYS = {
    "channels": tuple(CHANNEL_RULES),
    "divisor": int,
    "min_depth": int,
    "expansion": tuple(EXPANSION_RULES),
}
OVERRIDABLE = ("width", "resolution", "classes", "depth")
OPTION_NAMES = {"depth": "depth-multiplier"}  # the command-line option of a setting, where it differs


class Spec:
    """A loaded spec. ``data`` holds the merged YAML; ``files`` where each top-level key came from.
    (A plain class: the start-up of ``archcalc cost`` does not import dataclasses, issue 12.)"""

    def __init__(self, path: str, data: dict, files: dict[str, str] | None = None,
                 overrides: dict[str, Any] | None = None, own_defaults: set | None = None) -> None:
        self.path = path
        self.data = data
        self.files = {} if files is None else files
        self.overrides = {} if overrides is None else overrides
        self.own_defaults = set() if own_defaults is None else own_defaults  # defaults keys written in this file

    def __repr__(self) -> str:
        return f"Spec({self.path!r})"

    def with_data(self, data: dict) -> "Spec":
        """The same spec (path, files, overrides) with other merged YAML."""
        return Spec(self.path, data, self.files, self.overrides, self.own_defaults)

    def where(self, key: str, sub: Any = None, path: str | None = None) -> Location:
        """Location of top-level ``key`` (or of ``data[key][sub]`` when ``sub`` is given)."""
        container = self.data.get(key)
        if key in self.overrides:
            return Location("command line", None, f"--{OPTION_NAMES.get(key, key)}")
        line = line_of(container, sub) if sub is not None else line_of(self.data, key)
        return Location(self.files.get(key, self.path), line, path or (key if sub is None else f"{key}.{sub}"))

    @property
    def name(self) -> str:
        return self.data.get("name") or Path(self.path).stem

    @property
    def width(self) -> float:
        return float(self.data.get("width", 1.0))

    @property
    def depth(self) -> float:
        """The depth multiplier (EfficientNet's d): specs read it as ``depth``, e.g.
        ``n: "${ceil(3 * depth)}"``. 1 unless the spec or ``--depth-multiplier`` sets it."""
        return float(self.data.get("depth", 1.0))

    @property
    def resolution(self) -> int:
        return int(self.data["input"]["resolution"])

    @property
    def classes(self) -> int | None:
        return self.data.get("classes")

    @property
    def uses_classes(self) -> bool:
        """Whether any layer or block of the spec reads ``classes`` (has a classifier)."""
        from archcalc.spec.expr import names_in

        return "classes" in names_in([self.data.get("layers", []), self.data.get("blocks", {}),
                                      self.data.get("defaults", {})])


MERGED_BY_KEY = ("input", "rounding", "defaults", "blocks")


def _merge(base: dict, child: dict, depth: int = 0) -> LocatedDict:
    """Child keys win. The top-level mappings in MERGED_BY_KEY merge one level deep: a child
    adds or replaces single defaults or whole block definitions (a redefined block replaces
    the parent's, never mixes with it); everything else, lists included, is replaced."""
    merged = LocatedDict()
    merged.line = getattr(child, "line", None)
    merged.key_lines = {}
    merged.file = getattr(child, "file", None)
    for source in (base, child):
        for key, value in source.items():
            previous = merged.get(key)
            if depth == 0 and key in MERGED_BY_KEY and isinstance(previous, dict) and isinstance(value, dict):
                value = _merge(previous, value, depth + 1)
            merged[key] = value
            merged.key_lines[key] = line_of(source, key)
    return merged


def _expand_includes(data: dict, path: Path, display: str, seen: tuple[str, ...], reads: list[str]) -> None:
    """Replace each ``{include: other.yaml, until: name}`` row by the other spec's layer rows
    (through the row named ``until``, or all of them), so that a detection or segmentation
    spec reuses its backbone's rows instead of repeating them. The included spec's block
    definitions and defaults come along (the including spec's own win); its rounding does not.
    Included rows keep their own file and line for error messages."""
    rows = data.get("layers")
    if not _has_includes(rows):
        return
    expanded = LocatedList()
    expanded.line, expanded.item_lines, expanded.file = rows.line, [], display
    for index, row in enumerate(rows):
        if not (isinstance(row, dict) and "include" in row):
            expanded.append(row)
            expanded.item_lines.append(line_of(rows, index))
            continue
        where = Location(display, line_of(rows, index), f"layers[{index}].include")
        unknown = set(row) - {"include", "until"}
        if unknown:
            raise SpecError(where, f"unknown key {sorted(unknown)[0]!r} in an include row (expected include, until)")
        target = row["include"]
        if not isinstance(target, str) or not (path.parent / target).is_file():
            raise SpecError(where, f"no spec file {target!r} next to this one")
        other, _ = _read_chain(path.parent / target, str(Path(display).parent / target), seen, reads)
        included = list(other.get("layers", []))
        until = row.get("until")
        if until is not None:
            names = row_names_as_compiled(included)
            if until not in names:
                raise SpecError(where, f"{target} has no layer named {until!r} (its layers: {', '.join(names)})")
            included = included[: names.index(until) + 1]
        for other_row in included:
            expanded.append(other_row)
            expanded.item_lines.append(getattr(other_row, "line", None))
        for section in ("blocks", "defaults"):
            for name, value in other.get(section, {}).items():
                data.setdefault(section, _empty_located(display)).setdefault(name, value)
    data["layers"] = expanded


def _has_includes(rows: Any) -> bool:
    return isinstance(rows, list) and any(isinstance(row, dict) and "include" in row for row in rows)


def row_names_as_compiled(rows: list) -> list[str]:
    """The names the compiler gives ``rows``: a row's ``name``, or ``stage1``, ``stage2``, ...
    counting the unnamed rows (archcalc.compiler.Compiler.row_names, which also checks them)."""
    names, auto = [], 0
    for row in rows:
        if isinstance(row, dict) and "name" in row:
            names.append(str(row["name"]))
        else:
            auto += 1
            names.append(f"stage{auto}")
    return names


def _empty_located(display: str) -> LocatedDict:
    empty = LocatedDict()
    empty.line, empty.key_lines, empty.file = None, {}, display
    return empty


def _read_chain(path: Path, display: str, seen: tuple[str, ...], reads: list[str],
                own_defaults: set | None = None) -> tuple[dict, dict[str, str]]:
    """Read ``path`` and what it extends and includes. ``reads`` lists every file read for
    this load: the total is bounded (16 files each including the next twice would be 2^16
    reads), as well as loops. ``own_defaults`` receives the ``defaults`` keys written in
    ``path`` itself (not inherited)."""
    # first: a missing file, a symlink loop, /dev/zero are one-line errors; every container
    # read records the file (for errors after merging)
    data = read_yaml(path, display, tag=True)
    if own_defaults is not None and isinstance(data, dict) and isinstance(data.get("defaults"), dict):
        own_defaults.update(data["defaults"])
    # (the real path names the file in the chain of files being read: only a file read through
    # another needs it, or one that reads others)
    reads_others = isinstance(data, dict) and ("extends" in data or _has_includes(data.get("layers")))
    resolved = str(path.resolve()) if seen or reads_others else ""
    if resolved in seen:
        chain = " -> ".join(Path(p).name for p in (*seen, resolved))
        raise SpecError(Location(display, None, "extends"), f"extends/include loop: {chain}")
    reads.append(display)
    try:
        limits.check(limits.SPEC_FILES, len(reads), "spec files read through extends/include")
    except limits.LimitExceeded as exc:
        raise SpecError(Location(display, None, ""), str(exc)) from None
    if not isinstance(data, dict):
        raise SpecError(Location(display, getattr(data, "line", None), ""), f"expected a mapping at the top of the spec, got {type(data).__name__}")
    _check_top_level(data, display)
    _expand_includes(data, path, display, (*seen, resolved), reads)
    files = {key: display for key in data}
    parent_ref = data.get("extends")
    if parent_ref is None:
        return data, files
    parent_path = (path.parent / parent_ref)
    parent_display = str(Path(display).parent / parent_ref)
    if not parent_path.is_file():
        raise SpecError(Location(display, line_of(data, "extends"), "extends"), f"no spec file {parent_ref!r} next to this one")
    parent, parent_files = _read_chain(parent_path, parent_display, (*seen, resolved), reads)
    merged = _merge(parent, data)
    merged.pop("extends", None)
    return merged, {**parent_files, **files}


def _check_top_level(data: dict, name: str) -> None:
    for key, value in data.items():
        if key not in TOP_LEVEL:
            raise SpecError(Location(name, line_of(data, key), str(key)),
                            f"unknown key {key!r} (expected one of: {', '.join(TOP_LEVEL)})")
        types, expected = TOP_LEVEL[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise SpecError(Location(name, line_of(data, key), str(key)), f"expected {expected}, got {value!r}")


def _check_value(spec: Spec, key: str, value: Any, sub: str | None = None) -> None:
    problem = _value_problem(key, value)
    if problem:  # (its place worked out only then)
        raise SpecError(spec.where(key, sub, f"{key}.{sub}" if sub else key), f"{problem}, got {value!r}")


def _value_problem(key: str, value: Any) -> str | None:
    """What is wrong with setting ``key`` (width, depth, classes, resolution) to ``value``."""
    if key == "width" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
                           or not math.isfinite(value)):
        return "expected a finite width multiplier > 0"
    if key == "depth" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0
                           or not math.isfinite(value)):
        return "expected a finite depth multiplier > 0"
    if key == "classes" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return "expected a class count >= 1"
    if key == "resolution" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return "expected an input resolution >= 1"
    return None


def _validate(spec: Spec) -> None:
    data = spec.data
    for required in ("input", "layers"):
        if required not in data:
            raise SpecError(Location(spec.path, None, required), f"missing required key {required!r}")
    inp = data["input"]
    for key, value in inp.items():
        if key not in ("channels", "resolution"):
            raise SpecError(spec.where("input", key, f"input.{key}"), f"unknown key {key!r} (expected channels, resolution)")
    for key in ("channels", "resolution"):
        if key not in inp:
            raise SpecError(spec.where("input", path="input"), f"missing input.{key}")
        value = inp[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(spec.where("input", key, f"input.{key}"), f"expected an integer >= 1, got {value!r}")
    for key in ("width", "classes", "depth"):
        if key in data:
            _check_value(spec, key, data[key])
    rounding = data.setdefault("rounding", LocatedDict())
    for key, value in rounding.items():
        if key not in ROUNDING_KEYS:
            raise SpecError(spec.where("rounding", key, f"rounding.{key}"), f"unknown key {key!r} (expected {', '.join(ROUNDING_KEYS)})")
        kind = ROUNDING_KEYS[key]
        if isinstance(kind, tuple):
            if value not in kind:
                raise SpecError(spec.where("rounding", key, f"rounding.{key}"), f"expected one of {', '.join(kind)}, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(spec.where("rounding", key, f"rounding.{key}"), f"expected an integer >= 1, got {value!r}")
    for key, value in data.get("defaults", {}).items():
        if not isinstance(key, str) or not IDENTIFIER.match(key):
            raise SpecError(spec.where("defaults", key, f"defaults.{key}"), f"expected a name (letters, digits, _), got {key!r}")
        if not isinstance(value, (int, float, str, bool)):
            raise SpecError(spec.where("defaults", key, f"defaults.{key}"), f"expected a number, string or boolean, got {value!r}")
    for index, name in enumerate(data.get("outputs", [])):
        if not isinstance(name, str):
            raise SpecError(spec.where("outputs", index, f"outputs[{index}]"), f"expected a layer name, got {name!r}")


def load_spec(path: str | Path, *, width: float | None = None, resolution: int | None = None, classes: int | None = None,
              depth: float | None = None) -> Spec:
    """Load ``path`` (a file, or the name of a shipped spec: :func:`resolve_spec_path`),
    following ``extends``; validate the top level; apply overrides."""
    from archcalc.spec.expr import parsed_under_budgets

    parsed_under_budgets()  # (whether the spec reads classes is read from its expressions)
    path = resolve_spec_path(path)
    display = str(path)
    own_defaults: set = set()
    data, files = _read_chain(path, display, (), [], own_defaults)
    spec = Spec(path=display, data=data, files=files, own_defaults=own_defaults)
    _validate(spec)
    for key, value in (("width", width), ("resolution", resolution), ("classes", classes), ("depth", depth)):
        if value is None:
            continue
        spec.overrides[key] = value
        _check_value(spec, key, value)
        if key == "classes" and not spec.uses_classes:
            raise SpecError(Location("command line", None, "--classes"),
                            f"{display} has no classifier (no layer reads ${{classes}}), so a class count changes "
                            f"nothing; leave --classes out")
        if key == "resolution":
            data["input"]["resolution"] = value
        else:
            data[key] = value
    return spec
