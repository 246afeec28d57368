"""Recover block rows from a list of op rows (what ``archcalc import --level blocks`` prints).

A block is recognized by its expanded op graph: for a candidate set of parameters the
compiler itself expands the block (the same code that compiles specs), and the expansion
must equal a window of the op rows exactly: the same ops, attributes, shapes and edges, one
input from outside, and only its output read outside. Candidate parameter values are read
off the window (a parameter written straight into an op attribute takes that attribute's
values there; a parameter used only inside expressions takes the ratios of the window's
channel counts), so any block written in the spec language is recognized the same way,
the built-in ones and those of a ``--blocks FILE.yaml``.

Consecutive instances of one block with equal parameters (stride on the first only) fold
into one row with ``n``. Whatever is not recognized stays an op row; nothing is dropped.
Pure Python: no torch.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from archcalc.blocks import BlockDef, builtin_blocks, parse_block_defs
from archcalc.errors import Location, SpecError
from archcalc.ops import get_op
from archcalc.ops.base import pair
from archcalc.ops.conv import resolve_padding
from archcalc.spec.writer import flow
from archcalc.spec.yamlio import read_yaml

INPUT = "input"
EXACT_PARAM = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")
MAX_CANDIDATES = 4096  # parameter combinations tried per block and position
OMIT = object()  # a candidate that leaves a parameter to its default


def _is_activation(kind: str) -> bool:
    op = get_op(kind)
    return op.elementwise_inplace and not op.attrs and op.min_inputs == 1 and op.max_inputs == 1


def _normalized(kind: str, attrs: dict) -> tuple:
    """Attributes compared for equality: ``3`` as ``(3, 3)``, ``padding: same`` as the numbers
    it stands for."""
    schema = get_op(kind).attrs
    items = dict(attrs)
    if "padding" in items and "kernel" in items:
        try:
            items["padding"] = resolve_padding(kind, items["padding"], items["kernel"], items.get("dilation", 1))
        except ValueError:
            pass  # an even kernel with 'same': compared as written
    for key, value in items.items():
        if key in schema and schema[key].pair and not isinstance(value, str):
            items[key] = pair(value)
    return (kind, tuple(sorted((k, repr(v)) for k, v in items.items())))


# --------------------------------------------------------------------------- static analysis of blocks
def param_flows(block: BlockDef, library: dict[str, BlockDef], seen: tuple = ()) -> dict[str, set[tuple]]:
    """Where each parameter is written verbatim: {param: {(op kind or None, attribute)}};
    attribute ``"op"`` means the parameter names the op kind. A parameter that is another's
    default (``first_dilation: {default: "${dilation}"}``) flows where that one does."""
    flows = _direct_flows(block, library, seen)
    for name, param in block.params.items():
        match = EXACT_PARAM.match(param.default) if isinstance(param.default, str) else None
        if match and match.group(1) in block.params and name in flows:
            flows.setdefault(match.group(1), set()).update(flows[name])
    return flows


def _direct_flows(block: BlockDef, library: dict[str, BlockDef], seen: tuple) -> dict[str, set[tuple]]:
    flows: dict[str, set[tuple]] = {}
    for item in block.body:
        if "op" in item:
            kind = item["op"]
            for key, raw in item.items():
                match = EXACT_PARAM.match(raw) if isinstance(raw, str) else None
                if match and key not in ("name", "from", "when"):
                    literal = None if EXACT_PARAM.match(str(kind)) else kind
                    flows.setdefault(match.group(1), set()).add((literal, key))
        else:
            sub = library.get(item["block"])
            if sub is None or sub.name in seen:
                continue
            inner = param_flows(sub, library, (*seen, block.name))
            for key, raw in item.items():
                match = EXACT_PARAM.match(raw) if isinstance(raw, str) else None
                if match and key in inner:
                    flows.setdefault(match.group(1), set()).update(inner[key])
    return flows


# --------------------------------------------------------------------------- expansion through the compiler
class Expander:
    """Expand one block instance on a given input shape with the real compiler."""

    def __init__(self, defaults: dict, rounding: dict, library: dict[str, BlockDef]):
        from archcalc.compiler import _Compiler
        from archcalc.spec.loader import Spec

        data = {"input": {"channels": 1, "resolution": 1}, "defaults": defaults, "rounding": rounding, "layers": []}
        self.compiler = _Compiler(Spec(path="<recognize>", data=data))
        self.compiler.blocks = dict(library)
        # every candidate is expanded on a state reset by _expand (and cached here by key), so the
        # compiler's own expansion cache, which indexes into logs of one whole compile, stays off
        self.compiler.memoize = False
        self.where = Location("<recognize>", None, "")
        self.cache: dict[tuple, list[dict] | None] = {}

    def expand(self, block: BlockDef, params: dict, in_shape: tuple) -> tuple[list[dict], dict] | None:
        """The instance's ops (name inside the instance, op, attrs, inputs, shape, output flag)
        and its parameter values as the compiler resolved them; None if it cannot be built."""
        key = (block.name, tuple(sorted(params.items(), key=lambda kv: kv[0])), in_shape)
        if key not in self.cache:
            self.cache[key] = self._expand(block, params, in_shape)
        return self.cache[key]

    def _expand(self, block: BlockDef, params: dict, in_shape: tuple) -> tuple[list[dict], dict] | None:
        c = self.compiler
        c.nodes, c.order, c.scopes, c.instances, c.trail, c.row_where = {}, [], {}, [], [], self.where
        c.add_node(INPUT, get_op("input"), {"channels": in_shape[0], "height": in_shape[1], "width": in_shape[2]}, [],
                   self.where)
        try:  # a candidate the block rejects (a SpecError names why) is simply not this block
            values = c.block_params(block, params, c.globals, None, lambda key: self.where, "b", 0, in_shape)
            output = c.expand_block(block, values, "b", [INPUT], 0)
        except (SpecError, ZeroDivisionError):
            return None
        nodes = []
        for name in c.order[1:]:
            data = c.nodes[name]
            nodes.append({"name": name[2:], "op": data["op"], "attrs": data["attrs"],
                          "inputs": [i if i == INPUT else i[2:] for i in data["inputs"]], "shape": data["shape"]})
        if not nodes or output == INPUT:
            return None
        for node in nodes:  # the block's output (not always its last item)
            node["output"] = node["name"] == output[2:]
        return nodes, values


def _same_inputs(kind: str, found: list, wanted: list) -> bool:
    """Input lists agree (in any order for a sum: x + y is y + x)."""
    if kind == "add":
        return sorted(found, key=str) == sorted(wanted, key=str)
    return found == wanted


# --------------------------------------------------------------------------- matching
@dataclass
class Instance:
    block: str
    params: dict  # the parameters given (the others took their defaults)
    values: dict  # every parameter's value, as the compiler resolved it
    start: int
    rows: list[int]  # indices of the op rows it covers
    mapping: dict[str, str]  # expanded node name (inside the instance) -> op row name
    output: str  # op row name of its output


class Recognizer:
    def __init__(self, rows: Sequence, outputs: Sequence[str], defaults: dict, rounding: dict,
                 library: dict[str, BlockDef], order: Sequence[str]):
        self.rows, self.outputs = list(rows), list(outputs)
        self.index = {row.name: i for i, row in enumerate(self.rows)}
        self.library, self.order = library, list(order)
        self.expander = Expander(defaults, rounding, library)
        self.flows = {name: param_flows(block, library) for name, block in library.items()}
        self.readers: dict[str, list[int]] = {}
        for i, row in enumerate(self.rows):
            for source in row.inputs:
                self.readers.setdefault(source, []).append(i)
        self.signatures = [_normalized(row.op, row.attrs) for row in self.rows]
        self.sizes = {name: self.max_size(block) for name, block in library.items()}

    def max_size(self, block: BlockDef) -> int:
        total = 0
        for item in block.body:
            total += self.max_size(self.library[item["block"]]) if "block" in item and item["block"] in self.library else 1
        return total

    def shape_of(self, name: str) -> tuple:
        return self.rows[self.index[name]].shape if name != INPUT else self.input_shape

    def candidates(self, block: BlockDef, window: list, in_shape: tuple) -> list[dict]:
        """Parameter sets to try, the plainest first: a parameter with a default is first left
        out (the row then writes only what differs), then given each value the window shows."""
        flows = self.flows[block.name]
        counts = sorted({in_shape[0], *(row.shape[0] for row in window if len(row.shape) == 3)})
        options: dict[str, list] = {}
        for key, param in block.params.items():
            values: list = []
            for kind, attr in flows.get(key, ()):
                if attr == "op":
                    values += [row.op for row in window if _is_activation(row.op)] + ["identity"]
                else:
                    values += [row.attrs[attr] for row in window if attr in row.attrs and kind in (None, row.op)]
            if not flows.get(key):  # used only inside expressions: channel counts and their ratios
                if param.choices:
                    values = list(param.choices)
                elif param.type == "channels":
                    values = counts
                elif param.type in ("int", "number"):
                    ratios = {a / b for a in counts for b in counts}
                    values = sorted({int(r) if float(r).is_integer() else r for r in ratios}, key=float)
                    values = values if param.type == "number" else [v for v in values if isinstance(v, int)]
            values = [v for v in dict.fromkeys(values) if param.check(v)]
            if not param.required:
                values = [OMIT, *values]
            elif param.unless is not None:
                values = [*values, OMIT]  # given if it can be (t before the expanded width)
            if not values:
                return []
            options[key] = values
        keys = list(options)
        combos = itertools.islice(itertools.product(*(options[k] for k in keys)), MAX_CANDIDATES)
        return [{k: v for k, v in zip(keys, combo) if v is not OMIT} for combo in combos]

    def match_at(self, start: int, block: BlockDef) -> Instance | None:
        first = self.rows[start]
        if len(first.inputs) != 1 or len(getattr(block, "inputs", (INPUT,))) != 1:
            return None  # blocks read one tensor here (multi-input blocks are not recognized yet)
        source = first.inputs[0]
        in_shape = self.shape_of(source)
        if len(in_shape) != 3:
            return None
        window = self.rows[start:start + self.sizes[block.name]]
        best = None
        for params in self.candidates(block, window, in_shape):
            expanded = self.expander.expand(block, params, in_shape)
            if not expanded or (best is not None and len(expanded[0]) <= len(best.rows)):
                continue
            nodes, values = expanded
            found = self.compare(nodes, start, source)
            if found is not None:
                mapping, output = found
                best = Instance(block.name, params, values, start, sorted(self.index[v] for v in mapping.values()),
                                mapping, output)
        return best

    def compare(self, nodes: list[dict], start: int, source: str) -> tuple[dict, str] | None:
        """Map the expansion onto rows[start:start+len(nodes)]: equal ops and edges, one way in, one way out."""
        span = range(start, start + len(nodes))
        if span.stop > len(self.rows):
            return None
        free = set(span)
        mapping: dict[str, str] = {INPUT: source}
        for node in nodes:
            signature = _normalized(node["op"], node["attrs"])
            wanted = [mapping.get(i) for i in node["inputs"]]
            hit = next((i for i in sorted(free) if self.signatures[i] == signature
                        and _same_inputs(node["op"], self.rows[i].inputs, wanted)
                        and tuple(self.rows[i].shape) == tuple(node["shape"])), None)
            if hit is None:
                return None
            free.discard(hit)
            mapping[node["name"]] = self.rows[hit].name
        del mapping[INPUT]
        output = mapping[next(n["name"] for n in nodes if n["output"])]
        inside = set(mapping.values())
        for name in inside:
            if name == output:
                continue
            if name in self.outputs or any(self.rows[r].name not in inside for r in self.readers.get(name, [])):
                return None  # an inner tensor read outside the block: not this block
        return mapping, output

    def run(self) -> list[Instance | int]:
        """The rows as a sequence of recognized instances and leftover op-row indices."""
        result: list[Instance | int] = []
        position = 0
        while position < len(self.rows):
            best = None
            for name in self.order:
                found = self.match_at(position, self.library[name])
                if found is not None and (best is None or len(found.rows) > len(best.rows)):
                    best = found
            if best is not None and best.rows == list(range(position, position + len(best.rows))):
                result.append(best)
                position += len(best.rows)
            else:
                result.append(position)
                position += 1
        return result


# --------------------------------------------------------------------------- writing
def ir_name(path: str) -> str:
    """A module path as a spec name: ``features.1.conv.0.0`` -> ``features_1_conv_0_0``."""
    name = re.sub(r"\W", "_", path)
    return name if re.match(r"[A-Za-z_]", name) else "m_" + name


def non_default_attrs(kind: str, attrs: dict) -> dict:
    schema = get_op(kind).attrs
    return {k: attrs[k] for k in schema if k in attrs and (schema[k].required or schema[k].default != attrs[k])}


def op_row_mappings(rows: Sequence, logits: str | None) -> list[dict]:
    """Spec rows (``from`` only where the input is not the previous row)."""
    written, previous = [], INPUT
    for row in rows:
        entry: dict[str, Any] = {"name": row.name, "op": row.op}
        attrs = non_default_attrs(row.op, row.attrs)
        if row.name == logits:
            attrs["out"], entry_scale = "${classes}", True
        else:
            entry_scale = False
        entry.update(attrs)
        if row.inputs != [previous]:
            entry["from"] = row.inputs[0] if len(row.inputs) == 1 else list(row.inputs)
        if entry_scale:
            entry["scale"] = "none"
        written.append(entry)
        previous = row.name
    return written


def load_block_library(blocks_file: str | Path | None) -> tuple[dict[str, BlockDef], list[str]]:
    """Built-in blocks plus a ``--blocks`` file (a spec with ``blocks:``, or a bare mapping);
    the user's blocks are tried first."""
    library = dict(builtin_blocks())
    user: list[str] = []
    if blocks_file is not None:
        raw = read_yaml(blocks_file, str(blocks_file))
        if isinstance(raw, dict) and "blocks" in raw:
            raw = raw["blocks"]
        if not isinstance(raw, dict):
            raise SpecError(Location(str(blocks_file), None, ""), "expected a mapping of block definitions")
        parsed = parse_block_defs(raw, str(blocks_file))
        library.update(parsed)
        user = list(parsed)
    # larger blocks first: a bottleneck is tried before the conv_bn_act it contains
    builtin_order = ["bottleneck", "resnet_bottleneck", "dw_separable", "squeeze_excite", "conv_bn_act", "dw_bn_act"]
    order = user + [n for n in builtin_order if n in library and n not in user]
    order += [n for n in library if n not in order]
    return library, order


def user_block_lines(blocks_file: str | Path, used: set[str]) -> list[str]:
    """The ``blocks:`` section of an imported spec: the user's definitions it uses, as written."""
    import yaml

    raw = yaml.safe_load(Path(blocks_file).read_text(encoding="utf-8"))
    raw = raw.get("blocks", raw) if isinstance(raw, dict) else {}
    chosen = {name: body for name, body in raw.items() if name in used}
    if not chosen:
        return []
    text = yaml.safe_dump({"blocks": chosen}, sort_keys=False, default_flow_style=None, width=120)
    return [f"# block definitions from {blocks_file}"] + text.rstrip("\n").splitlines()


def spec_defaults(rows: Sequence) -> dict:
    """What the built-in blocks read from ``defaults``: kernel, activation, norm, BN eps."""
    activations = Counter(row.op for row in rows if _is_activation(row.op) and row.op != "identity")
    eps = Counter(row.attrs["eps"] for row in rows if row.op == "batch_norm")
    defaults: dict[str, Any] = {"kernel": 3, "activation": activations.most_common(1)[0][0] if activations else "relu",
                                "norm": "batch_norm"}
    if eps:
        defaults["batch_norm_eps"] = eps.most_common(1)[0][0]
    return defaults


def fold(items: list, library: dict[str, BlockDef], rows: Sequence) -> list[tuple]:
    """Group consecutive equal instances: [(Instance, [instances...]) or (row index,)]."""
    groups: list[tuple] = []
    readers: dict[str, set[int]] = {}
    for index, row in enumerate(rows):
        for source in row.inputs:
            readers.setdefault(source, set()).add(index)
    for item in items:
        if isinstance(item, Instance) and groups and isinstance(groups[-1][0], Instance):
            head, members = groups[-1][0], groups[-1][1]
            last = members[-1]
            block = library[item.block]
            # repeats take the row's parameters, their first_only ones (the stride) at the default
            plain = {k for k, p in block.params.items() if not p.first_only}
            same = (item.block == head.block and not set(item.params) - plain
                    and {k: v for k, v in head.params.items() if k in plain} == item.params)
            # the previous instance's output feeds this one and nothing else
            chained = rows[item.rows[0]].inputs == [last.output] and readers[last.output] <= set(item.rows)
            if same and chained:
                members.append(item)
                continue
        groups.append((item, [item]) if isinstance(item, Instance) else (item,))
    return groups


def block_row(head: Instance, count: int, block: BlockDef, name: str) -> dict:
    """The row: the parameters the match gave, and the first_only ones with a fixed default
    (the paper's tables print the stride of every row)."""
    entry: dict[str, Any] = {"name": name, "block": head.block}
    for key, param in block.params.items():
        printed = param.first_only and not (isinstance(param.default, str) and "${" in param.default)
        if key in head.params or (printed and head.values.get(key) is not None):
            entry[key] = head.params.get(key, head.values.get(key))
    if count > 1:
        entry["n"] = count
    return entry


def _block_row_name(head: Instance, rows: Sequence, used: set[str], position: int) -> str:
    """The module that holds the instance (its rows' common scope), else its first row's
    name, else the block type and position; never a name already taken."""
    scope = _common_scope([rows[i].source.split(" [")[0] for i in head.rows])
    own = {rows[i].name for i in head.rows}
    for candidate in (ir_name(scope) if scope else None, rows[head.rows[0]].name, f"{head.block}_{position}"):
        if candidate and (candidate not in used or candidate in own):
            used.add(candidate)
            return candidate
    raise AssertionError("unreachable: the position makes the last candidate unique")


def _common_scope(paths: list[str]) -> str:
    parts = [p.split(".") for p in paths]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common)


def build_spec_text(rows: Sequence, outputs: Sequence[str], input_shape: tuple, *, level: str,
                    blocks_file: str | Path | None, header: Callable[[dict, dict, list], list[str]],
                    logits: str | None) -> tuple[str, dict[str, str]]:
    """The spec text of an imported model and, for each IR node it compiles to, the source
    (module path) it came from."""
    defaults = spec_defaults(rows) if level == "blocks" else {}
    rounding = {"channels": "nearest", "expansion": "round"}
    by_name = {row.name: row for row in rows}
    if level == "ops":
        entries = op_row_mappings(list(rows), logits)
        sources = dict(by_name)
        out_names = list(outputs)
    else:
        library, order = load_block_library(blocks_file)
        recognizer = Recognizer(rows, outputs, defaults, rounding, library, order)
        recognizer.input_shape = tuple(input_shape)
        groups = fold(recognizer.run(), library, rows)
        entries, sources, renamed, used = [], {}, {}, {row.name for row in rows}
        previous = INPUT
        for group in groups:
            if not isinstance(group[0], Instance):
                row = rows[group[0]]
                entry = op_row_mappings([row], logits)[0]
                inputs = [renamed.get(i, i) for i in row.inputs]
                entry.pop("from", None)
                entry.pop("scale", None)
                if inputs != [previous]:
                    entry["from"] = inputs[0] if len(inputs) == 1 else inputs
                if row.name == logits:
                    entry["scale"] = "none"
                entries.append(entry)
                sources[row.name] = row
                previous = row.name
                continue
            head, members = group
            block = library[head.block]
            name = _block_row_name(head, rows, used, len(entries))
            entry = block_row(head, len(members), block, name)
            source = renamed.get(rows[head.rows[0]].inputs[0], rows[head.rows[0]].inputs[0])
            if source != previous:
                entry["from"] = source
            entries.append(entry)
            for k, member in enumerate(members, start=1):
                prefix = f"{name}.block{k}" if len(members) > 1 else name
                for inner, row_name in member.mapping.items():
                    sources[f"{prefix}.{inner}"] = by_name[row_name]
            renamed[members[-1].output] = name
            previous = name
        out_names = [renamed.get(o, o) for o in outputs]
        used_blocks = {group[0].block for group in groups if isinstance(group[0], Instance)}
    lines = header(defaults, rounding, out_names if out_names != [entries[-1]["name"]] else [])
    if level == "blocks" and blocks_file is not None:
        lines[-1:-1] = user_block_lines(blocks_file, used_blocks)
    lines += [f"  - {flow(entry)}" for entry in entries]
    return "\n".join(lines) + "\n", sources
