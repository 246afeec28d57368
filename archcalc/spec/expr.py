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
    if isinstance(value, str):
        match = _EXPRESSION.match(value.strip())
        if match:
            return match.group(1).strip()
    return None


@lru_cache(maxsize=4096)
def _parse(source: str) -> ast.expr:
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {source!r}: {exc.msg}") from None
    return tree.body


def evaluate(source: str, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
    """Evaluate ``source`` with variables ``names`` and callable ``functions``."""
    return _Interpreter(names, functions).visit(_parse(source))


def free_names(source: str) -> set[str]:
    """The variable names an expression reads (function names excluded)."""
    tree = _parse(source)
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - called


class _Interpreter:
    def __init__(self, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]):
        self.names = names
        self.functions = functions

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"{type(node).__name__} is not allowed in spec expressions")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        raise ExpressionError(f"literal {node.value!r} is not allowed")

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id not in self.names:
            known = ", ".join(sorted(self.names)) or "none"
            raise ExpressionError(f"unknown name {node.id!r} (known: {known})")
        return self.names[node.id]

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        try:
            return op(left, right)
        except (ZeroDivisionError, TypeError, OverflowError) as exc:
            raise ExpressionError(f"cannot compute {ast.unparse(node)!r}: {exc}") from None

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        return op(self.visit(node.operand))

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = self.visit(value)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = self.visit(value)
            if result:
                return result
        return result

    def visit_Compare(self, node: ast.Compare) -> Any:
        left = self.visit(node.left)
        for op_node, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            if not _COMPARE[type(op_node)](left, right):
                return False
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_List(self, node: ast.List) -> Any:
        return [self.visit(item) for item in node.elts]

    visit_Tuple = visit_List

    def visit_Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
            name = ast.unparse(node.func)
            known = ", ".join(sorted(self.functions))
            raise ExpressionError(f"unknown function {name!r} (known: {known})")
        args = [self.visit(arg) for arg in node.args]
        kwargs = {kw.arg: self.visit(kw.value) for kw in node.keywords if kw.arg is not None}
        try:
            return self.functions[node.func.id](*args, **kwargs)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise ExpressionError(f"{ast.unparse(node)} failed: {exc}") from None
