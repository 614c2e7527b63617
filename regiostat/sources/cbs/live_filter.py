"""Which dimension codes a table's live ``$filter`` lets through, decided without fetching.

A live filter that drops the codes an indicator reads makes the indicator silently empty (03759NED's
filter once fetched only Leeftijd '10000' while the potential labour force sums the single years
15-74). :func:`admits` evaluates the filter for one dimension and code, with every other field
unknown (three-valued logic): a code is excluded only when the filter is false whatever the other
fields hold. It reads the OData subset the config uses: ``and``, ``or``, ``not``, parentheses,
``eq ne gt ge lt le`` against quoted text, ``startswith``, ``endswith``, ``substringof`` and
``contains``. Codes are compared without the padding of v3 keys ('CR08  ' = 'CR08').
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_]*))")
_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
}
_FUNCTIONS: dict[str, Callable[[str, str], bool]] = {  # (field value, text) -> bool
    "startswith": lambda v, t: v.startswith(t), "endswith": lambda v, t: v.endswith(t),
    "contains": lambda v, t: t in v, "substringof": lambda v, t: t in v,
}
_TEXT_FIRST = {"substringof"}  # substringof('CR', RegioS): the text comes first


class LiveFilterError(ValueError):
    """A live_filter uses OData this reader does not know, so what it admits cannot be checked."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m:
            raise LiveFilterError(f"cannot read {text[pos:pos + 20]!r} in live_filter {text!r}")
        kind = ("(", ")", ",", "text", "name")[m.lastindex - 1]
        value = m.group(m.lastindex)
        out.append((kind, value.replace("''", "'") if kind == "text" else value))
        pos = m.end()
    return out


class _Evaluator:
    """Recursive descent over the tokens; True, False or None (unknown) for the one field that is known."""

    def __init__(self, text: str, field: str, code: str) -> None:
        self.text, self.tokens, self.pos = text, _tokens(text), 0
        self.field, self.code = field, code.strip()

    def run(self) -> bool | None:
        value = self._or()
        if self.pos != len(self.tokens):
            raise LiveFilterError(f"unexpected {self.tokens[self.pos][1]!r} in live_filter {self.text!r}")
        return value

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def _take(self, kind: str, value: str | None = None) -> str:
        got = self._peek()
        if got[0] != kind or (value is not None and got[1].lower() != value):
            raise LiveFilterError(f"expected {value or kind} at {got[1]!r} in live_filter {self.text!r}")
        self.pos += 1
        return got[1]

    def _keyword(self, word: str) -> bool:
        if self._peek()[0] == "name" and self._peek()[1].lower() == word:
            self.pos += 1
            return True
        return False

    def _or(self) -> bool | None:
        value = self._and()
        while self._keyword("or"):
            right = self._and()
            value = True if value is True or right is True else (None if None in (value, right) else False)
        return value

    def _and(self) -> bool | None:
        value = self._not()
        while self._keyword("and"):
            right = self._not()
            value = False if value is False or right is False else (None if None in (value, right) else True)
        return value

    def _not(self) -> bool | None:
        if self._keyword("not"):
            value = self._not()
            return None if value is None else not value
        return self._primary()

    def _primary(self) -> bool | None:
        kind, value = self._peek()
        if kind == "(":
            self.pos += 1
            inner = self._or()
            self._take(")")
            return inner
        name = self._take("name")
        if name.lower() in _FUNCTIONS and self._peek()[0] == "(":
            return self._function(name.lower())
        op = self._take("name").lower()
        if op not in _COMPARE:
            raise LiveFilterError(f"unknown operator {op!r} in live_filter {self.text!r}")
        text = self._take("text")
        return None if name != self.field else _COMPARE[op](self.code, text.strip())

    def _function(self, name: str) -> bool | None:
        self._take("(")
        first_kind, first = self._peek()
        self.pos += 1
        self._take(",")
        second_kind, second = self._peek()
        self.pos += 1
        self._take(")")
        field, text = (second, first) if name in _TEXT_FIRST else (first, second)
        if {first_kind, second_kind} != {"name", "text"}:
            raise LiveFilterError(f"{name}() needs a field and a quoted text in live_filter {self.text!r}")
        value = None if field != self.field else _FUNCTIONS[name](self.code, text.strip())
        if self._keyword("eq"):  # substringof('CR', RegioS) eq true
            wanted = self._take("name").lower() == "true"
            value = None if value is None else value == wanted
        return value


def admits(live_filter: str | None, dimension: str, code: str) -> bool:
    """False only when the filter excludes ``code`` of ``dimension`` whatever the other fields hold."""
    if not live_filter:
        return True
    return _Evaluator(live_filter, dimension, code).run() is not False
