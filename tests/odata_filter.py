"""The OData ``$filter`` subset CBS serves and regiostat sends, evaluated column-wise for the test server.

CBS answers filters such as ``substringof('CR', RegioS)`` (v3), ``startswith(RegioS,'GM')`` (v4),
``Perioden ge '2019JJ00'``, ``eq``/``ne``/``gt``/``ge``/``lt``/``le``, ``and``/``or``/``not`` and
parentheses. The local server must do the same, or live mode cannot be tested with the shipped
config. Every comparison names one field, so a predicate is evaluated once per *distinct* value of
that field and spread to the rows through an index column: a 1.87M-row table costs a few polars
operations per clause, not a Python call per row. Anything outside the subset is a ``FilterError``
(the server answers HTTP 400, as CBS does for a filter it cannot parse).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import polars as pl

COMPARISONS: dict[str, Callable[[object, object], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
}
# name -> (argument order, test on (value, text)); v3 writes substringof(text, Field), v4 contains(Field, text)
FUNCTIONS: dict[str, tuple[str, Callable[[str, str], bool]]] = {
    "substringof": ("text,field", lambda value, text: text in value),
    "contains": ("field,text", lambda value, text: text in value),
    "startswith": ("field,text", lambda value, text: value.startswith(text)),
    "endswith": ("field,text", lambda value, text: value.endswith(text)),
}
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<name>[A-Za-z_][\w.]*)"
                    r"|(?P<punct>[(),]))")


class FilterError(ValueError):
    """A $filter outside the subset, or naming a field the entity set does not have."""


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    literal: str | float


@dataclass(frozen=True)
class Call:
    function: str
    field: str
    text: str


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Compare | Call | Logical | Not


class Columns(Protocol):
    """What a filter needs from a table: per field, its distinct values and each row's index into them."""

    def distinct(self, field: str) -> tuple[Sequence[object], pl.Series]: ...

    @property
    def row_count(self) -> int: ...


def parse(expr: str) -> Node:
    tokens = _tokenize(expr)
    node, pos = _parse_or(tokens, 0, expr)
    if pos != len(tokens):
        raise FilterError(f"unexpected {tokens[pos][1]!r} in $filter={expr!r}")
    return node


def evaluate(node: Node, columns: Columns) -> pl.Series:
    """A boolean mask over the rows of ``columns``."""
    if isinstance(node, Logical):
        left, right = evaluate(node.left, columns), evaluate(node.right, columns)
        return left & right if node.op == "and" else left | right
    if isinstance(node, Not):
        return ~evaluate(node.operand, columns)
    values, inverse = columns.distinct(node.field)
    keep = pl.Series([_leaf(node, v) for v in values], dtype=pl.Boolean)
    return keep.gather(inverse) if len(values) else pl.repeat(False, columns.row_count, eager=True)


def matching_rows(expr: str | None, columns: Columns) -> pl.Series | None:
    """Row numbers (ascending) that ``expr`` keeps; None when there is no filter (every row)."""
    if not expr:
        return None
    return evaluate(parse(expr), columns).arg_true().cast(pl.Int64)


class RowColumns:
    """``Columns`` over a list of JSON rows (the recorded tables: thousands of rows, not millions)."""

    def __init__(self, rows: Sequence[dict]):
        self.rows = rows
        self._cache: dict[str, tuple[list[object], pl.Series]] = {}

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def distinct(self, field: str) -> tuple[Sequence[object], pl.Series]:
        if field not in self._cache:
            if self.rows and field not in self.rows[0]:
                raise FilterError(f"no property named {field!r} in this entity set")
            index: dict[object, int] = {}
            inverse = pl.Series([index.setdefault(r.get(field), len(index)) for r in self.rows], dtype=pl.UInt32)
            self._cache[field] = (list(index), inverse)
        return self._cache[field]


def _leaf(node: Compare | Call, value: object) -> bool:
    if value is None:
        return False  # OData: a comparison with null is false (eq null is not in the subset)
    if isinstance(node, Call):
        if not isinstance(value, str):
            raise FilterError(f"{node.function} needs a text field; {node.field} holds {value!r}")
        return FUNCTIONS[node.function][1](value, node.text)
    if isinstance(node.literal, str) != isinstance(value, str):
        raise FilterError(f"cannot compare {node.field} (value {value!r}) with {node.literal!r}")
    return COMPARISONS[node.op](value, node.literal)


# -- parsing ------------------------------------------------------------------------------------


def _tokenize(expr: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise FilterError(f"cannot read $filter={expr!r} at position {pos}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _parse_or(tokens: list, pos: int, expr: str) -> tuple[Node, int]:
    node, pos = _parse_and(tokens, pos, expr)
    while pos < len(tokens) and tokens[pos] == ("name", "or"):
        right, pos = _parse_and(tokens, pos + 1, expr)
        node = Logical("or", node, right)
    return node, pos


def _parse_and(tokens: list, pos: int, expr: str) -> tuple[Node, int]:
    node, pos = _parse_unary(tokens, pos, expr)
    while pos < len(tokens) and tokens[pos] == ("name", "and"):
        right, pos = _parse_unary(tokens, pos + 1, expr)
        node = Logical("and", node, right)
    return node, pos


def _parse_unary(tokens: list, pos: int, expr: str) -> tuple[Node, int]:
    if pos >= len(tokens):
        raise FilterError(f"$filter={expr!r} ends too early")
    if tokens[pos] == ("name", "not"):
        operand, pos = _parse_unary(tokens, pos + 1, expr)
        return Not(operand), pos
    if tokens[pos] == ("punct", "("):
        node, pos = _parse_or(tokens, pos + 1, expr)
        return node, _expect(tokens, pos, ")", expr)
    kind, text = tokens[pos]
    if kind == "name" and text in FUNCTIONS and pos + 1 < len(tokens) and tokens[pos + 1] == ("punct", "("):
        return _parse_call(tokens, pos, expr)
    return _parse_comparison(tokens, pos, expr)


def _parse_call(tokens: list, pos: int, expr: str) -> tuple[Node, int]:
    function = tokens[pos][1]
    first, pos = _operand(tokens, pos + 2, expr)
    pos = _expect(tokens, pos, ",", expr)
    second, pos = _operand(tokens, pos, expr)
    pos = _expect(tokens, pos, ")", expr)
    field, text = (first, second) if FUNCTIONS[function][0] == "field,text" else (second, first)
    if field[0] != "name" or text[0] != "str":
        raise FilterError(f"{function} takes {FUNCTIONS[function][0].replace('text', 'a string')}: {expr!r}")
    return Call(function, field[1], _unquote(text[1])), pos


def _parse_comparison(tokens: list, pos: int, expr: str) -> tuple[Node, int]:
    left, pos = _operand(tokens, pos, expr)
    if pos >= len(tokens) or tokens[pos][0] != "name" or tokens[pos][1] not in COMPARISONS:
        raise FilterError(f"expected a comparison (eq, ne, gt, ge, lt, le) in $filter={expr!r}")
    op = tokens[pos][1]
    right, pos = _operand(tokens, pos + 1, expr)
    if left[0] != "name" and right[0] == "name":  # '2019JJ00' le Perioden -> Perioden ge '2019JJ00'
        left, right = right, left
        op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
    if left[0] != "name" or right[0] == "name":
        raise FilterError(f"a comparison needs one field and one literal: {expr!r}")
    literal = _unquote(right[1]) if right[0] == "str" else float(right[1])
    return Compare(left[1], op, literal), pos


def _operand(tokens: list, pos: int, expr: str) -> tuple[tuple[str, str], int]:
    if pos >= len(tokens) or tokens[pos][0] == "punct":
        raise FilterError(f"expected a field or a literal in $filter={expr!r}")
    return tokens[pos], pos + 1


def _expect(tokens: list, pos: int, punct: str, expr: str) -> int:
    if pos >= len(tokens) or tokens[pos] != ("punct", punct):
        raise FilterError(f"expected {punct!r} in $filter={expr!r}")
    return pos + 1


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("''", "'")
