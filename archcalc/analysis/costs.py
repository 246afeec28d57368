"""Per-node costs and parameters from the registry, and their roll-up by scope.

Pure Python on purpose: the ``archcalc cost`` path imports neither pandas nor numpy
(:meth:`archcalc.model.Model.cost_table` builds a DataFrame only when asked).
"""
from __future__ import annotations

from typing import Iterable

from archcalc.analysis.convention import BN_PARAM_MODES, Convention
from archcalc.ops import EXTRA_TERMS, Cost, Params, numel

COST_FIELDS = Cost._fields
PARAM_FIELDS = Params._fields
COLUMNS = ("madds", "params", "params_without_bn", *EXTRA_TERMS, "flops", "activations")


def tally_row(cost: Cost, params: Params, shape: tuple) -> tuple:
    """One node's numbers as a flat tuple (cost fields, param fields, output numel): the
    compiler sums these columns once, so totals need no walk over the nodes."""
    return (*cost, *params, numel(shape))


def tally_totals(sums: tuple, convention: Convention) -> dict[str, int]:
    """:func:`model_totals` from the column sums of :func:`tally_row` rows."""
    costs, params = len(COST_FIELDS), len(PARAM_FIELDS)
    return row_values(Cost(*sums[:costs]), Params(*sums[costs:costs + params]), sums[-1], convention)


def params_total(params: Params, convention: Convention) -> int:
    counted = BN_PARAM_MODES[convention.bn_params][1]
    return params.weights + params.bias + sum(getattr(params, field) for field in counted)


def row_values(cost: Cost, params: Params, activations: int, convention: Convention) -> dict[str, int]:
    """The numeric columns of one node (or one sum of nodes) under ``convention``."""
    batch = convention.batch
    values = {
        "madds": cost.madds * batch,
        "params": params_total(params, convention),
        "params_without_bn": params.weights + params.bias,
    }
    for term in EXTRA_TERMS:
        values[term] = getattr(cost, term) * batch
    values["flops"] = convention.flops_per_madd * values["madds"] + sum(values[t] for t in convention.flops_terms)
    values["activations"] = activations * batch
    return values


def layer_rows(nodes: dict[str, dict], order: Iterable[str], convention: Convention) -> list[dict]:
    """One row per op node (the graph input excluded), in program order."""
    rows = []
    for name in order:
        data = nodes[name]
        if data["op"] == "input":
            continue
        rows.append({
            "name": name,
            "op": data["op"],
            "output_shape": list(data["shape"]),
            **row_values(data["cost"], data["params"], numel(data["shape"]), convention),
        })
    return rows


def rollup(rows: list[dict], depth: int) -> list[dict]:
    """Sum rows by the first ``depth`` components of their names, keeping first-seen order.

    A group keeps the op and output shape of its last node (the tensor it hands on).
    """
    groups: dict[str, dict] = {}
    for row in rows:
        key = ".".join(row["name"].split(".")[:depth])
        group = groups.get(key)
        if group is None:
            groups[key] = {**row, "name": key, "nodes": 1}
            continue
        for column in COLUMNS:
            if column == "activations":
                continue
            group[column] += row[column]
        group["activations"] = row["activations"]
        group["op"] = row["op"] if key == row["name"] else "block"
        group["output_shape"] = row["output_shape"]
        group["nodes"] += 1
    for key, group in groups.items():
        if group["nodes"] > 1:
            group["op"] = "block"
    return list(groups.values())


def model_totals(nodes: dict[str, dict], order: Iterable[str], convention: Convention) -> dict[str, int]:
    """The same numbers as ``totals(layer_rows(...))``, summed straight from the records
    (no per-node dicts): this is the hot path of "count one variant"."""
    cost_terms = [0] * len(COST_FIELDS)
    param_terms = [0] * len(PARAM_FIELDS)
    activations = 0
    for name in order:
        data = nodes[name]
        if data["op"] == "input":
            continue
        cost, params = data["cost"], data["params"]
        for i, field in enumerate(COST_FIELDS):
            cost_terms[i] += getattr(cost, field)
        for i, field in enumerate(PARAM_FIELDS):
            param_terms[i] += getattr(params, field)
        activations += numel(data["shape"])
    return row_values(Cost(*cost_terms), Params(*param_terms), activations, convention)


def totals(rows: list[dict]) -> dict[str, int]:
    result = {column: sum(row[column] for row in rows) for column in COLUMNS if column != "activations"}
    result["activations"] = sum(row["activations"] for row in rows)
    return result


__all__ = ["COLUMNS", "BN_PARAM_MODES", "layer_rows", "model_totals", "params_total", "rollup",
           "row_values", "tally_row", "tally_totals", "totals"]
