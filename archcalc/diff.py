"""Compare two compiled models layer by layer: ``archcalc diff A B``.

The two op graphs are aligned structure first, names second: each op becomes a signature
of what it computes (its kind, kernel, stride, grouping and where its inputs come from,
counted back along the program order), :class:`difflib.SequenceMatcher` aligns the two
signature sequences, and ops the matcher pairs as replaced are paired by equal name first,
then in order. Names never decide an alignment on their own: a spec and an imported
PyTorch model of one network share no names but the same structure.

Ops that only change the view of a tensor (flatten, dropout, identity: ``aliases_input``
in the registry) have no cost and no place in a layer table; they are left out of the
alignment (their count is reported). A 1x1 convolution on a 1x1 map and a linear layer on
the flattened vector compute the same thing and compare as equal kinds; shapes compare with
those trailing 1x1 dimensions dropped. Pure Python: no torch.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from archcalc.analysis.convention import Convention
from archcalc.ops import get_op

INPUT = "input"
COMPARED = ("op", "shape", "params", "madds")
TOTALS = ("madds", "params", "params_without_bn", "flops")


def _flat_shape(shape: tuple) -> tuple:
    """(C, 1, 1) and (C,) are the same values."""
    shape = tuple(shape)
    while len(shape) > 1 and shape[-1] == 1 and shape[-2] == 1 and len(shape) == 3:
        shape = shape[:1]
    return shape


def _kind(model: Any, name: str) -> str:
    data = model.node(name)
    if data["op"] == "conv2d" and data["attrs"]["kernel"] == 1 and _flat_shape(data["in_shapes"][0]) == (data["in_shapes"][0][0],):
        return "linear"  # a 1x1 convolution on a 1x1 map is a fully connected layer
    return data["op"]


def _structure(model: Any, name: str) -> tuple:
    attrs = model.node(name)["attrs"]
    kind = _kind(model, name)
    keys = () if kind == "linear" else ("kernel", "stride", "dilation", "groups", "multiplier")
    return (kind, *((k, attrs[k]) for k in keys if k in attrs))


@dataclass
class Layer:
    name: str
    op: str
    kind: str
    shape: tuple
    params: int
    madds: int
    signature: tuple


def layers(model: Any, convention: Convention) -> tuple[list[Layer], int]:
    """The model's costed ops in program order (view ops left out, and counted)."""
    rows = {row["name"]: row for row in model.layers(convention)}
    alias: dict[str, str] = {}
    kept: list[str] = []
    for name in model.order:
        data = model.node(name)
        if name == INPUT:
            continue
        if get_op(data["op"]).aliases_input:
            alias[name] = alias.get(data["inputs"][0], data["inputs"][0])
            continue
        kept.append(name)
    position = {name: index for index, name in enumerate(kept)}
    result = []
    for index, name in enumerate(kept):
        sources = [alias.get(i, i) for i in model.node(name)["inputs"]]
        # where the inputs come from, counted back from this op (0 = the graph input)
        back = tuple(sorted(index - position[s] if s in position else 0 for s in sources))
        if model.node(name)["op"] != "add":
            back = tuple(index - position[s] if s in position else 0 for s in sources)
        row = rows[name]
        result.append(Layer(name, row["op"], _kind(model, name), _flat_shape(tuple(row["output_shape"])),
                            row["params"], row["madds"], (*_structure(model, name), back)))
    return result, len(model.order) - 1 - len(kept)


@dataclass
class DiffResult:
    """Aligned layer pairs (``a`` or ``b`` is None for an added or removed op) and totals."""

    a_name: str
    b_name: str
    pairs: list[tuple[Layer | None, Layer | None]]
    totals_a: dict
    totals_b: dict
    views_ignored: tuple[int, int]
    rows: list[dict] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.differences and all(self.totals_a[k] == self.totals_b[k] for k in TOTALS)

    @property
    def differences(self) -> list[dict]:
        return [row for row in self.rows if row["status"] != "same"]

    @property
    def first_divergence(self) -> dict | None:
        return next(iter(self.differences), None)

    def total_rows(self) -> list[dict]:
        return [{"total": key, "a": self.totals_a[key], "b": self.totals_b[key],
                 "delta": self.totals_b[key] - self.totals_a[key]} for key in TOTALS]

    def frame(self):
        """Every aligned pair as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows)


def _row(index: int, a: Layer | None, b: Layer | None) -> dict:
    row: dict[str, Any] = {"index": index, "a": a.name if a else "", "b": b.name if b else ""}
    for side, layer in (("a", a), ("b", b)):
        row[f"op_{side}"] = layer.kind if layer else ""
        row[f"shape_{side}"] = "x".join(map(str, layer.shape)) if layer else ""
        row[f"params_{side}"] = layer.params if layer else None
        row[f"madds_{side}"] = layer.madds if layer else None
    if a is None or b is None:
        row["status"], row["differs"] = ("added" if a is None else "removed"), "op"
        return row
    differs = [key for key in COMPARED if row[f"{key}_a"] != row[f"{key}_b"]]
    if a.signature[-1] != b.signature[-1]:
        differs.append("inputs")
    if a.signature[:-1] != b.signature[:-1] and "op" not in differs:
        differs.append("attrs")
    row["status"] = "changed" if differs else "same"
    row["differs"] = ", ".join(differs)
    return row


def _pair_replaced(left: list[Layer], right: list[Layer]) -> list[tuple[Layer | None, Layer | None]]:
    """Pairs inside a replaced stretch: equal names first, then in order; the rest unpaired."""
    by_name = {layer.name: layer for layer in right}
    named = {id(l): by_name[l.name] for l in left if l.name in by_name}
    rest_right = [r for r in right if all(r is not v for v in named.values())]
    pairs: list[tuple[Layer | None, Layer | None]] = []
    for layer in left:
        if id(layer) in named:
            pairs.append((layer, named[id(layer)]))
        elif rest_right:
            pairs.append((layer, rest_right.pop(0)))
        else:
            pairs.append((layer, None))
    pairs += [(None, r) for r in rest_right]
    return pairs


def diff_models(a: Any, b: Any, convention: Convention | None = None, a_name: str | None = None,
                b_name: str | None = None) -> DiffResult:
    """Align ``a`` and ``b`` (compiled models) and compare every aligned op."""
    convention = convention or Convention()
    left, views_a = layers(a, convention)
    right, views_b = layers(b, convention)
    matcher = difflib.SequenceMatcher(None, [l.signature[:-1] for l in left], [r.signature[:-1] for r in right],
                                      autojunk=False)
    pairs: list[tuple[Layer | None, Layer | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += list(zip(left[i1:i2], right[j1:j2]))
        else:
            pairs += _pair_replaced(left[i1:i2], right[j1:j2])
    result = DiffResult(a_name or a.name, b_name or b.name, pairs, a.totals(convention), b.totals(convention),
                        (views_a, views_b))
    result.rows = [_row(index, x, y) for index, (x, y) in enumerate(pairs)]
    return result


def load_side(side: str, *, input: str | None = None, level: str = "ops") -> Any:
    """A diff operand: a spec file, or an import TARGET (``torchvision:mobilenet_v2``,
    ``package.module:callable``, ``file.py:callable``; torch is imported only then)."""
    from pathlib import Path

    import archcalc

    if Path(side).is_file() and not side.endswith(".py"):
        return archcalc.load(side)
    if ":" not in side:
        raise ValueError(f"{side}: no spec file, and not an import TARGET (torchvision:NAME, module:callable, file.py:callable)")
    from archcalc.pytorch.importer import import_model

    return import_model(side, input=input, level=level).model
