"""Arithmetic over named inputs, for the keys of numeric questions: parsed into a syntax tree
and evaluated node by node, never with `eval`, so a curriculum file cannot run code.

    evaluate("(actual - forecast) / forecast", {"actual": 1150, "forecast": 1000})  # 0.15
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
#: The few functions a statistics or finance key needs.
FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "ln": math.log,
    "exp": math.exp,
}


class FormulaError(ValueError):
    """A formula that cannot be evaluated; the message says what is wrong with it."""


def evaluate(formula: str, inputs: dict[str, float]) -> float:
    """The value of `formula` with `inputs`; raises FormulaError for anything but arithmetic."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"cannot read the formula: {error.msg}") from error
    try:
        return float(_value(tree.body, inputs))
    except (ZeroDivisionError, OverflowError, ValueError) as error:
        if isinstance(error, FormulaError):
            raise
        raise FormulaError(f"cannot evaluate the formula: {error}") from error


def _value(node: ast.AST, inputs: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise FormulaError("true and false are not numbers")
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in inputs:
            raise FormulaError(f"{node.id!r} is not one of the inputs ({', '.join(inputs)})")
        return inputs[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, inputs), _value(node.right, inputs)
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise FormulaError("an exponent above 100 is not arithmetic a key needs")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand, inputs))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
    ):
        return FUNCTIONS[node.func.id](*(_value(arg, inputs) for arg in node.args))
    raise FormulaError(
        f"only numbers, inputs, + - * / ** and {', '.join(FUNCTIONS)} are allowed "
        f"(found {type(node).__name__})"
    )
