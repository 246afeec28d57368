"""A tiny, safe expression language for specs: ``"${make_divisible(in * t, 8)}"``.

Expressions are parsed with :func:`ast.parse` (parsing runs no code) and interpreted by
:func:`evaluate`, which accepts only literals, names from the namespace it is given,
arithmetic, comparisons, ``and``/``or``/``not``, ``a if cond else b``, lists, and calls to
functions it is handed explicitly. Anything else (attribute access, subscripts, lambdas,
comprehensions, dunder names) is rejected. Nothing is ever passed to ``eval`` or ``sympify``.

Values flowing through are ints, floats, bools, strings — or sympy expressions when the
symbolic analysis feeds symbols in (the operators below are plain Python operators, so
they work on any value that implements them).
"""
from __future__ import annotations

import ast
import operator
import re
from functools import lru_cache
from typing import Any, Callable, Mapping

from archcalc import limits
from archcalc.errors import quote

_EXPRESSION = re.compile(r"^\$\{(.*)\}$", re.DOTALL)

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ExpressionError(ValueError):
    """An expression that is malformed, uses something not allowed, or fails to evaluate."""


def expression_source(value: Any) -> str | None:
    """The expression text inside ``${...}``, or None when ``value`` is a plain literal."""
    return _expression_text(value) if isinstance(value, str) else None


@lru_cache(maxsize=8192)
def _expression_text(value: str) -> str | None:
    match = _EXPRESSION.match(value.strip())
    return match.group(1).strip() if match else None


_NO_NAMES = frozenset({int, float, bool, type(None)})


def names_in(value: Any) -> set[str]:
    """Every variable name read by the expressions anywhere in ``value`` (nested lists and
    mappings walked; a malformed expression reads nothing here, it fails where it is used).
    One loop over a stack, not a set per value: a compile asks this of the spec's whole
    layer list."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if item.__class__ in _NO_NAMES:  # (most values of a spec are numbers)
            continue
        if isinstance(item, str):
            source = _expression_text(item)
            if source is not None:
                try:
                    found |= names_used(source)
                except ExpressionError:
                    pass
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


@lru_cache(maxsize=4096)
def _parse(source: str) -> ast.expr:
    _within(limits.EXPRESSION_CHARS, len(source), "expression length")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {quote(source)}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):  # ValueError: a NUL character in the source
        raise ExpressionError(f"cannot parse expression {quote(source)}: too deeply nested or malformed") from None
    _check_depth(tree.body)
    return tree.body


def _check_depth(root: ast.AST) -> None:
    """Nesting depth of the syntax tree, iteratively (translation and evaluation recurse)."""
    limit = limits.NESTING.value
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            _within(limits.NESTING, depth, "expression nesting depth")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _within(budget: limits.Budget, amount: int, what: str) -> None:
    try:
        limits.check(budget, amount, what)
    except limits.LimitExceeded as exc:
        raise ExpressionError(str(exc)) from None


# An expression is translated once into a tree of small closures, each taking the variable
# and function namespaces; evaluating it again (a block instantiated hundreds of times) is
# then only function calls, with no AST walking and no string matching.
_Compiled = Callable[[Mapping[str, Any], Mapping[str, Callable[..., Any]]], Any]


@lru_cache(maxsize=4096)
def _compiled(source: str) -> _Compiled:
    return _translate(_parse(source))


@lru_cache(maxsize=4096)
def names_used(source: str) -> frozenset[str]:
    """The variable names an expression reads (not the functions it calls)."""
    called = set()
    found = set()
    for node in ast.walk(_parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called.add(id(node.func))
        elif isinstance(node, ast.Name) and id(node) not in called and node.id not in _CONSTANT_NAMES:
            found.add(node.id)
    return frozenset(found)


@lru_cache(maxsize=8192)
def compiled_expression(text: str) -> _Compiled | None:
    """The closure computing the expression in ``text`` (``"${c * 2}"``), or None when ``text``
    holds no expression; a malformed one raises ExpressionError (not kept). One lookup on the
    text as written: the compiler asks this for every string value of every block copy."""
    source = _expression_text(text)
    return None if source is None else _compiled(source)


# the budgets _parse checked for what the caches above keep (see parsed_under_budgets), and
# how many times they were emptied (what else was derived from parses checks it: parse_generation)
_PARSED_UNDER: tuple[int, int] | None = None
_GENERATION = 0


def parse_generation() -> int:
    """Changes whenever the parsed expressions are forgotten: a result worked out from them
    (say, the names a block reads, which skips an expression over a budget) is stale then."""
    return _GENERATION


def parsed_under_budgets() -> None:
    """Forget the parsed expressions unless they were parsed under the expression length and
    nesting budgets in force now: a parse checks them once, and a budget lowered between two
    loads of one process must still hold (a compile calls this once)."""
    global _PARSED_UNDER, _GENERATION
    try:
        budgets = (limits.EXPRESSION_CHARS.value, limits.NESTING.value)
    except ValueError:  # a malformed ARCHCALC_MAX_*: parse afresh, which reports it
        budgets = None
    if budgets is None or budgets != _PARSED_UNDER:
        for cached in (_parse, _compiled, names_used, compiled_expression):
            cached.cache_clear()
        _PARSED_UNDER = budgets
        _GENERATION += 1


def evaluate(source: str, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
    """Evaluate ``source`` with variables ``names`` and callable ``functions``."""
    return _compiled(source)(names, functions)


_CONSTANT_NAMES = {"True": True, "False": False, "None": None}


def _translate(node: ast.AST) -> _Compiled:
    """The closure computing ``node``; anything outside the language is rejected here."""
    translate = _TRANSLATORS.get(type(node))
    if translate is None:
        raise ExpressionError(f"{type(node).__name__} is not allowed in spec expressions")
    return translate(node)


def _constant(node: ast.Constant) -> _Compiled:
    value = node.value
    if not (isinstance(value, (int, float, str, bool)) or value is None):
        raise ExpressionError(f"literal {value!r} is not allowed")
    return lambda names, functions: value


def _name(node: ast.Name) -> _Compiled:
    key = node.id
    if key in _CONSTANT_NAMES:
        constant = _CONSTANT_NAMES[key]
        return lambda names, functions: constant

    def lookup(names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        try:
            return names[key]
        except KeyError:
            known = ", ".join(sorted(names)) or "none"
            raise ExpressionError(f"unknown name {quote(key)} (known: {known})") from None

    return lookup


def _binop(node: ast.BinOp) -> _Compiled:
    op = _BINARY.get(type(node.op))
    if op is None:
        raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
    left, right, text = _translate(node.left), _translate(node.right), ast.unparse(node)

    def binop(names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        a, b = left(names, functions), right(names, functions)
        _check_before(op, a, b, text)
        try:
            result = op(a, b)
        except (ZeroDivisionError, TypeError, OverflowError, ValueError, MemoryError) as exc:
            raise ExpressionError(f"cannot compute {quote(text)}: {exc}") from None
        return checked(result, text)

    return binop


# Spec arithmetic is about channel counts and sizes: a huge power or a repeated string can
# only be a mistake (or an attack), and would hang or exhaust memory if computed. So every
# value an expression builds is bounded (limits.VALUE_ITEMS for strings and lists,
# limits.INT_BITS for integers): the size of a result is predicted from its operands
# before an operator that can blow up runs, and every result is checked after, whatever
# built it (operator, list display, function call).


def size_of(value: Any, cap: int) -> int:
    """Characters of a string, items of a list counted through nested lists (a list
    repeated inside a list counts every time), bits of an int; stops counting past ``cap``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length()
    if isinstance(value, (list, tuple)):
        total = len(value)
        for item in value:
            if total > cap:
                break
            if isinstance(item, (list, tuple, str)):
                total += size_of(item, cap - total)
        return total
    return 0


def _budget_for(value: Any) -> limits.Budget | None:
    if isinstance(value, (str, list, tuple)):
        return limits.VALUE_ITEMS
    if isinstance(value, int) and not isinstance(value, bool):
        return limits.INT_BITS
    return None


def checked(value: Any, text: str) -> Any:
    """``value`` if it is within its size budget, else an ExpressionError."""
    budget = _budget_for(value)
    if budget is not None:
        cap = budget.value
        size = size_of(value, cap)
        if size > cap:
            _within(budget, size, f"value of {quote(text)}")
    return value


def _check_before(op: Callable[[Any, Any], Any], a: Any, b: Any, text: str) -> None:
    """Refuse an operation whose result would be over budget, before computing it."""
    sequences = (str, list, tuple)
    if op is operator.mod and isinstance(a, str):
        raise ExpressionError(f"cannot compute {quote(text)}: string formatting with % is not allowed")
    if op is operator.mul and (isinstance(a, sequences) or isinstance(b, sequences)):
        seq, count = (a, b) if isinstance(a, sequences) else (b, a)
        if isinstance(count, int) and count > 0:
            cap = limits.VALUE_ITEMS.value
            _within(limits.VALUE_ITEMS, size_of(seq, cap) * count, f"value of {quote(text)}")
    elif op is operator.add and isinstance(a, sequences) and isinstance(b, sequences):
        cap = limits.VALUE_ITEMS.value
        _within(limits.VALUE_ITEMS, size_of(a, cap) + size_of(b, cap), f"value of {quote(text)}")
    elif isinstance(a, int) and isinstance(b, int):
        if op is operator.mul:
            _within(limits.INT_BITS, a.bit_length() + b.bit_length(), f"value of {quote(text)}")
        elif op is operator.pow and b > 0 and abs(a) > 1:
            _within(limits.INT_BITS, (a.bit_length() - 1) * b, f"value of {quote(text)}")


def _unaryop(node: ast.UnaryOp) -> _Compiled:
    op = _UNARY.get(type(node.op))
    if op is None:
        raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
    operand, text = _translate(node.operand), ast.unparse(node)

    def unaryop(names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        try:
            return op(operand(names, functions))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"cannot compute {quote(text)}: {exc}") from None

    return unaryop


def _boolop(node: ast.BoolOp) -> _Compiled:
    values = [_translate(value) for value in node.values]
    is_and = isinstance(node.op, ast.And)

    def boolop(names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        result: Any = is_and
        for value in values:  # short-circuit, returning the deciding operand as Python does
            result = value(names, functions)
            if bool(result) != is_and:
                return result
        return result

    return boolop


def _compare(node: ast.Compare) -> _Compiled:
    first, text = _translate(node.left), ast.unparse(node)
    for op in node.ops:
        if type(op) not in _COMPARE:
            raise ExpressionError(f"operator {type(op).__name__} is not allowed (use == or !=)")
    rest = [(_COMPARE[type(op)], _translate(right)) for op, right in zip(node.ops, node.comparators)]

    def compare(names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        left = first(names, functions)
        for op, right_fn in rest:
            right = right_fn(names, functions)
            try:
                if not op(left, right):
                    return False
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                raise ExpressionError(f"cannot compute {quote(text)}: {exc}") from None
            left = right
        return True

    return compare


def _ifexp(node: ast.IfExp) -> _Compiled:
    test, body, orelse = _translate(node.test), _translate(node.body), _translate(node.orelse)
    return lambda names, functions: body(names, functions) if test(names, functions) else orelse(names, functions)


def _sequence(node: ast.List | ast.Tuple) -> _Compiled:
    items, text = [_translate(item) for item in node.elts], ast.unparse(node)
    return lambda names, functions: checked([item(names, functions) for item in items], text)


def _call(node: ast.Call) -> _Compiled:
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(f"unknown function {ast.unparse(node.func)!r}")
    fname, text = node.func.id, ast.unparse(node)
    args = [_translate(arg) for arg in node.args]
    kwargs = [(kw.arg, _translate(kw.value)) for kw in node.keywords if kw.arg is not None]

    def call(names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
        function = functions.get(fname)
        if function is None:
            raise ExpressionError(f"unknown function {fname!r} (known: {', '.join(sorted(functions))})")
        values = [arg(names, functions) for arg in args]
        keywords = {key: value(names, functions) for key, value in kwargs}
        try:
            return checked(function(*values, **keywords), text)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, MemoryError) as exc:
            if isinstance(exc, ExpressionError):
                raise
            raise ExpressionError(f"{quote(text)} failed: {exc}") from None

    return call


_TRANSLATORS: dict[type, Callable[[Any], _Compiled]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.BinOp: _binop,
    ast.UnaryOp: _unaryop,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.IfExp: _ifexp,
    ast.List: _sequence,
    ast.Tuple: _sequence,
    ast.Call: _call,
}
