"""Budgets on what one input may make archcalc do: every limit in one place.

A spec is data from anywhere: a 670-byte YAML alias bomb, ``/dev/zero``, a string repeated
a billion times inside ``${...}``. Each budget below bounds one way an input could make
archcalc use unbounded time or memory; exceeding one is an ordinary one-line error
(``file:line: ...``, exit 2), raised before the expensive work starts.

Every budget has a default that is generous for real networks (the largest shipped spec
uses a few percent of it) and can be raised with an environment variable,
``ARCHCALC_MAX_<NAME>`` (e.g. ``ARCHCALC_MAX_IR_NODES=200000``); sizes in bytes accept
``K``, ``M``, ``G`` suffixes. ``verify`` and ``bench`` also take ``--max-memory``.
The table is printed in the README's "Limits" section.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, NamedTuple

_SUFFIXES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class Budget(NamedTuple):
    name: str
    default: int
    unit: str
    what: str

    @property
    def variable(self) -> str:
        return f"ARCHCALC_MAX_{self.name.upper()}"

    @property
    def value(self) -> int:
        """The budget now: the environment variable when set (read each time, so tests and
        notebooks can change it; once per :func:`held` span), else the default."""
        if _held is not None:
            value = _held.get(self.name)
            if value is None:
                value = _held[self.name] = self.read()
            return value
        return self.read()

    def read(self) -> int:
        raw = os.environ.get(self.variable)
        if raw is None or not raw.strip():
            return self.default
        return parse_size(raw, self.variable)


# The budgets read by the innermost enclosing `held()` span, else None (read each time).
_held: dict[str, int] | None = None


@contextmanager
def held() -> Iterator[None]:
    """Read each budget at most once while inside: a compile checks the node and dimension
    budgets for every op and every expression result (thousands of times for one network),
    and reading the environment costs more than the check. Nested spans share the outer one."""
    global _held
    if _held is not None:
        yield
        return
    _held = {}
    try:
        yield
    finally:
        _held = None


def parse_size(text: str, what: str = "size") -> int:
    """``"64M"`` -> 67108864; a plain integer is taken as is."""
    raw = text.strip().lower().removesuffix("b").removesuffix("i")
    factor = _SUFFIXES.get(raw[-1:], 1)
    digits = raw[:-1] if factor != 1 else raw
    try:
        value = int(digits) * factor
    except ValueError:
        raise ValueError(f"{what}: expected a whole number with an optional K/M/G suffix, got {text[:40]!r}") from None
    if value < 1:
        raise ValueError(f"{what}: expected a positive size, got {text[:40]!r}")
    return value


class LimitExceeded(ValueError):
    """Raised (then placed in a spec) when an input would go over a budget."""


def check(budget: Budget, amount: int, what: str | None = None) -> None:
    """Raise :class:`LimitExceeded` when ``amount`` is over ``budget``."""
    limit = budget.value
    if amount > limit:
        raise LimitExceeded(
            f"{what or budget.what} ({_short(amount)} {budget.unit}) is over the limit of {_short(limit)} "
            f"{budget.unit}; raise it with {budget.variable}=N if this is intended")


def _short(amount: int) -> str:
    """A count for a message: exact when short, else its order of magnitude (never a 10^6-digit int)."""
    if amount < 10**15:
        return f"{amount:,}"
    return f"about 2^{amount.bit_length() - 1}"


# -- reading specs
FILE_BYTES = Budget("file_bytes", 4 << 20, "bytes", "spec file size")
YAML_NODES = Budget("yaml_nodes", 200_000, "nodes", "YAML nodes after expanding aliases")
NESTING = Budget("nesting", 64, "levels", "nesting depth")
SPEC_FILES = Budget("spec_files", 64, "files", "spec files read through extends/include")
# -- spec expressions (``${...}``)
EXPRESSION_CHARS = Budget("expression_chars", 2_000, "characters", "expression length")
VALUE_ITEMS = Budget("value_items", 10_000, "characters or items", "size of a string or list built by an expression")
INT_BITS = Budget("int_bits", 4_096, "bits", "size of an integer built by an expression")
# -- the compiled network
# 5.5x the largest shipped spec (nasnet_a_mobile: 909 nodes); at 5,000 nodes the slowest
# command on one spec (a 5 x 5 sweep) still takes under 5 s of CPU
IR_NODES = Budget("ir_nodes", 5_000, "nodes", "IR nodes")
DIMENSION = Budget("dimension", 1 << 40, "elements", "tensor dimension")
# -- command-line grids
GRID_VALUES = Budget("grid_values", 10_000, "values", "values in one sweep axis")
# -- PyTorch (verify, bench, materialize)
TORCH_BYTES = Budget("torch_bytes", 4 << 30, "bytes", "memory PyTorch would allocate (parameters + activations)")

ALL = (FILE_BYTES, YAML_NODES, NESTING, SPEC_FILES, EXPRESSION_CHARS, VALUE_ITEMS, INT_BITS, IR_NODES, DIMENSION,
       GRID_VALUES, TORCH_BYTES)


def markdown_table() -> str:
    """The README's limits table, from the budgets themselves (one place for each number)."""
    lines = ["| budget | default | raise with |", "|---|---|---|"]
    lines += [f"| {b.what} | {b.default:,} {b.unit} | `{b.variable}` |" for b in ALL]
    return "\n".join(lines) + "\n"


def torch_bytes(model, batch: int = 1) -> int:
    """Bytes PyTorch would hold to materialize and run ``model`` (float32), computed from
    the IR before anything is built: every parameter and BN statistic, plus every
    activation tensor (an upper bound: verification's tracing keeps intermediates alive)."""
    from archcalc.analysis.convention import Convention
    from archcalc.ops import numel

    params = model.totals(Convention(bn_params="all"))["params"]
    activations = sum(numel(node["shape"]) for node in model.nodes.values()) * batch
    return 4 * (params + activations)


def check_torch_memory(model, batch: int = 1) -> None:
    """A one-line SpecError when materializing ``model`` would go over ``TORCH_BYTES``."""
    from archcalc.errors import Location, SpecError

    try:
        check(TORCH_BYTES, torch_bytes(model, batch), "memory PyTorch would allocate (parameters + activations)")
    except LimitExceeded as exc:
        raise SpecError(Location(model.spec.path, None, ""),
                        f"{exc} (or pass --max-memory to verify/bench)") from None
