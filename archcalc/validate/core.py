"""The validation core: a row (:class:`Check`), the comparison rules, the statuses, and
:func:`evaluate`, which applies the rules to a row's candidate conventions.

Every source module (``paper``, ``slim``, ``mnv1_paper``) builds :class:`Check` rows with
these pieces and nothing else; the rule is stated in docs/validation.md.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import archcalc
from archcalc.analysis.convention import Convention
from archcalc.spec.shipped import shipped_specs_dir

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from archcalc.model import Model

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
DEFAULT_SPECS = shipped_specs_dir()  # the repository's specs/, or archcalc/specs in an installed wheel

MATCH = "match"
CONVENTION_MATCH = "match under a stated convention"
DERIVED_MATCH = "match under a derived convention"
NEAR_MISS = "near miss (one unit of the last printed digit)"
DIFFERS = "differs"
INCONSISTENT = "paper inconsistency"
NOT_COMPUTED = "not computed"
REGRESSION = "REGRESSION: expected to match"
STALE = "UNEXPECTED MATCH: explanation is stale"
FAILING = (REGRESSION, STALE)
# the statuses a row expected to match may end in (how it matched is the label)
MATCHING = (MATCH, CONVENTION_MATCH, DERIVED_MATCH, NEAR_MISS)

NO_BN = Convention(bn_params="none")
# TF trainable variables: weights, biases, BN gamma and beta (moving statistics are not trainable)
TRAINABLE = Convention(bn_params="affine")

UNITS = {"": 1, "M": 1e6, "B": 1e9}
COLUMNS = ("id", "table", "row", "quantity", "published", "unit", "computed", "rule", "convention",
           "status", "expected", "explanation", "spec", "settings", "source")

# ---------------------------------------------------------------------------- comparison rules
# ONE rule (docs/validation.md, "The comparison rule"): the printed digits decide the tolerance.
# A number printed with d decimals stands for an interval one unit u = 10**-d wide: a value
# matches when it rounds (half up) to the printed digits, or, for a source that truncates (slim's
# MobileNetV2 table), when it truncates to them. A value within one unit u of the printed number
# that does neither is a NEAR MISS, labelled so. Nothing wider is ever accepted.
def printed_decimals(printed: str) -> int:
    """Digits after the decimal point as printed: ``"1.25"`` -> 2, ``"300"`` -> 0."""
    return len(printed.split(".")[1]) if "." in printed else 0


def _quantize(value: float, printed: str, rounding: str) -> Decimal:
    step = Decimal(1).scaleb(-printed_decimals(printed))
    return Decimal(repr(value)).quantize(step, rounding=rounding)


def rule_printed_rounding(value: float, printed: str) -> bool:
    return _quantize(value, printed, ROUND_HALF_UP) == Decimal(printed)


def rule_truncation(value: float, printed: str) -> bool:
    return _quantize(value, printed, ROUND_FLOOR) == Decimal(printed)


def rule_last_digit(value: float, printed: str) -> bool:
    """The near-miss band: within one unit of the last printed digit."""
    step = 10.0 ** -printed_decimals(printed)
    return abs(value - float(printed)) <= step * (1 + 1e-9)


def rule_exact(value, printed) -> bool:
    return str(value) == str(printed)


def rule_formula(value, printed) -> bool:
    """``value`` is (the printed formula evaluated on the layer's shapes, the IR's count)."""
    evaluated, counted = value
    return evaluated == counted


NEAR = "±1 last digit"
RULES: dict[str, Callable] = {
    "exact": rule_exact,
    "printed rounding": rule_printed_rounding,
    "truncation": rule_truncation,
    NEAR: rule_last_digit,
    "formula": rule_formula,
}
# Rules that only loosen (a hit by one of them is a near miss, never a match).
LOOSE_RULES = frozenset({NEAR})
PAPER_RULES = ("printed rounding", "truncation", NEAR)   # paper values: rounded as printed, else truncated
SLIM_V2_RULES = ("truncation", NEAR)                      # slim's MobileNetV2 table truncates MACs
ROUNDED_RULES = ("printed rounding", NEAR)                # sources that round (slim V1, params)


# ---------------------------------------------------------------------------- one check
@dataclass
class Check:
    """One published number, how archcalc recomputes it, and what to expect.

    ``candidates`` are (convention, value) pairs, the first being the row's own convention;
    values are in the published unit (``unit``). Each rule of ``rules`` is tried across ALL
    candidates before the next rule (strict rules before the near-miss band), so a convention
    that rounds exactly always wins over one that is only a unit off. Conventions named in
    ``derived`` were fitted to the published numbers themselves (not read from a source): a
    match under one of them says so. ``explain`` is the explanation (for a row expected to
    differ, or any row with something to say).
    """

    id: str
    table: str
    row: str
    quantity: str
    published: str
    unit: str
    source: str
    spec: str = ""
    settings: str = ""
    candidates: list = field(default_factory=list)
    rules: Sequence[str] = PAPER_RULES
    expected: str = MATCH
    explain: str = ""
    derived: tuple = ()


def first_hit(check: Check):
    """(rule rank, candidate position, convention, rule, value) of the first rule that holds,
    trying each rule across every candidate before the next rule; None when none holds."""
    for rank, rule in enumerate(check.rules):
        for position, (convention, value) in enumerate(check.candidates):
            if RULES[rule](value, check.published):
                return rank, position, convention, rule, value
    return None


def match_status(check: Check, rank: int, position: int, convention: str, rule: str) -> str:
    if rule in LOOSE_RULES:
        return NEAR_MISS
    if convention in check.derived:
        return DERIVED_MATCH
    return MATCH if rank == 0 and position == 0 else CONVENTION_MATCH


def evaluate(check: Check) -> dict:
    """Apply the rules to the candidates; return one result row (a plain dict)."""
    row = {k: getattr(check, k) for k in ("id", "table", "row", "quantity", "published", "unit", "spec",
                                          "settings", "source", "expected")}
    row["explanation"] = check.explain
    if check.expected == NOT_COMPUTED:
        row.update(computed="", rule="", convention="", status=check.expected)
        return row
    hit = first_hit(check)
    primary_convention, primary_value = check.candidates[0]
    tried = "; ".join(f"{c}: {_show(v)}" for c, v in check.candidates)
    if hit is None:
        row.update(computed=_show(primary_value), rule=" / ".join(check.rules), convention=primary_convention)
        if check.expected == MATCH:
            row["status"] = REGRESSION
            row["explanation"] = _join(check.explain, "Computed values: " + tried)
        else:
            row["status"] = check.expected
        return row
    rank, position, convention, rule, value = hit
    row.update(computed=_show(value), rule=rule, convention=convention)
    if check.expected != MATCH:
        row["status"] = STALE
        return row
    row["status"] = status = match_status(check, rank, position, convention, rule)
    if status == NEAR_MISS:
        rounded = _quantize(value, check.published, ROUND_HALF_UP) if isinstance(value, float) else value
        row["explanation"] = _join(check.explain, (
            f"Near miss: {_show(value)} under '{convention}' rounds to {rounded}, not {check.published}; it lies "
            f"within one unit of the last printed digit, and no convention rounds or truncates to the printed "
            f"value. Values: {tried}."))
    elif status != MATCH:
        note = (f"Not by {check.rules[0]} under '{primary_convention}' ({_show(primary_value)}); holds by {rule} "
                f"under '{convention}'" + (" (a convention derived from these numbers, not read from a source)"
                                           if status == DERIVED_MATCH else "") + f". Values: {tried}.")
        row["explanation"] = _join(check.explain, note)
    return row


def _join(*texts: str) -> str:
    return " ".join(t for t in texts if t)


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.2f}"
    return str(value)


# ---------------------------------------------------------------------------- computing
class Context:
    """Compiled models, cached by (spec, width, resolution, classes)."""

    def __init__(self, specs: Path):
        self.specs = Path(specs)
        self._load = lru_cache(maxsize=None)(self._compile)

    def _compile(self, spec: str, width, resolution, classes) -> "Model":
        return archcalc.load(self.specs / spec, width=width, resolution=resolution, classes=classes)

    def model(self, spec: str, width: float | None = None, resolution: int | None = None,
              classes: int | None = None) -> "Model":
        return self._load(spec, width, resolution, classes)


def total(model: "Model", key: str, convention: Convention = NO_BN) -> int:
    return model.totals(convention)[key]


def part(model: "Model", prefixes: tuple[str, ...], key: str, convention: Convention = NO_BN) -> int:
    """Sum of ``key`` over the layer rows whose top-level name starts with one of ``prefixes``."""
    return sum(r[key] for r in model.layers(convention) if r["name"].split(".")[0].startswith(prefixes))

def shape_text(shape: Sequence[int]) -> str:
    """IR (C, H, W) as the paper prints it: H x W x C."""
    c, h, w = shape if len(shape) == 3 else (shape[0], 1, 1)
    return f"{h}x{w}x{c}"


# ---------------------------------------------------------------------------- the tables
def read_reference(name: str) -> list[dict]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def paper_rows() -> dict[str, dict]:
    return {row["id"]: row for row in read_reference("published_tables.csv")}


def _check(paper: dict, id: str, **kwargs) -> Check:
    row = paper[id]
    return Check(id=id, table=row["table"], row=row["row"], quantity=row["quantity"], published=row["printed"],
                 unit=row["unit"], source=row["source"], **kwargs)


def _in(value: int, unit: str) -> float:
    return value / UNITS[unit]




def failures(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Rows that make ``archcalc validate`` exit 1."""
    return frame[frame["status"].isin(FAILING)]


def summary(frame: "pd.DataFrame") -> dict[str, int]:
    return {str(k): int(v) for k, v in frame["status"].value_counts().items()}
