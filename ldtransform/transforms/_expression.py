"""The small expression language of the ``filter`` transform, parsed, never ``eval``-ed.

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expression ")" | comparison
    comparison := column op literal | column ["not"] "in" "[" literal ("," literal)* "]"
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    column     := a name (letters, digits, _ and .) or any name in backticks: `Account ID`
    literal    := "text" | 'text' | a number | true | false

Each comparison is one Arrow kernel over a whole batch. A text literal compares the
column as text, a number literal as numbers, true/false as booleans (``yes``/``no``,
``1``/``0`` too). A missing value matches no comparison (as in SQL); a value that is
present but cannot be compared (``abc`` against a number) makes the row *undecided*: the
filter passes it on for validation to report rather than dropping it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ldtransform.errors import ConfigError

__all__ = ["Expression", "parse"]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<quoted>`[^`]+`)
    | (?P<op>==|!=|<>|<=|>=|=|<|>)
    | (?P<punct>[()\[\],])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
_KERNELS = {"=": pc.equal, "==": pc.equal, "!=": pc.not_equal, "<>": pc.not_equal,
            "<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal}

Literal = str | float | bool


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, quoted, op, punct, word, end
    text: str
    at: int


#: What evaluating a node gives: the answer per row (null: missing value), and the rows
#: where a present value could not be compared (never dropped).
_Value = tuple[pa.Array, np.ndarray]


class Expression:
    """A parsed filter expression; :meth:`keep` evaluates it on a batch."""

    def __init__(self, text: str, tree: Any) -> None:
        self.text = text
        self.tree = tree

    @property
    def columns(self) -> list[str]:
        """The columns the expression names, in order of appearance."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if node[0] in ("and", "or"):
                walk(node[1])
                walk(node[2])
            elif node[0] == "not":
                walk(node[1])
            elif node[1] not in found:
                found.append(node[1])

        walk(self.tree)
        return found

    def keep(self, batch: pa.RecordBatch) -> np.ndarray:
        """True for the rows the expression holds for, and for undecided rows."""
        result, undecided = self._evaluate(self.tree, batch)
        holds = np.asarray(result.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return holds | undecided

    def _evaluate(self, node: Any, batch: pa.RecordBatch) -> _Value:
        kind = node[0]
        if kind in ("and", "or"):
            left, left_undecided = self._evaluate(node[1], batch)
            right, right_undecided = self._evaluate(node[2], batch)
            joined = pc.and_kleene(left, right) if kind == "and" else pc.or_kleene(left, right)
            return joined, left_undecided | right_undecided
        if kind == "not":
            inner, undecided = self._evaluate(node[1], batch)
            return pc.invert(inner), undecided
        return _compare(batch.column(node[1]), node[0], node[2])


def _compare(column: pa.Array, op: str, literal: Literal | list[Literal]) -> _Value:
    sample = literal[0] if isinstance(literal, list) else literal
    kind = "boolean" if isinstance(sample, bool) else \
        "number" if isinstance(sample, float) else "string"
    values, undecided = _as(column, kind)
    if op == "in":
        members = pa.array(literal, type=values.type)
        found = pc.is_in(values, value_set=members)
        return pc.if_else(pc.is_valid(values), found, pa.scalar(None, pa.bool_())), undecided
    return _KERNELS[op](values, pa.scalar(literal, type=values.type)), undecided


def _as(column: pa.Array, kind: str) -> tuple[pa.Array, np.ndarray]:
    """``column`` as ``kind``, and where a present value could not become one."""
    from ldtransform._casting import convert_scalar, to_text

    if kind == "string":
        return to_text(column), np.zeros(len(column), dtype=bool)
    converted = convert_scalar(column, kind, missing=("",))
    failed = np.asarray(converted.failed.to_numpy(zero_copy_only=False), dtype=bool)
    values = converted.values
    if kind == "number" and not pa.types.is_floating(values.type):
        values = pc.cast(values, pa.float64())
    return values, failed


def parse(text: str) -> Expression:
    """Parse ``text``; a mistake is a ConfigError showing where."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("filter: 'where' is an expression such as "
                          "'country = \"US\" and amount > 0'")
    return Expression(text, _Parser(text).parse())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize()
        self.position = 0

    def _tokenize(self) -> list[_Token]:
        tokens, at = [], 0
        while self.text[at:].strip():
            match = _TOKEN.match(self.text, at)
            if match is None or match.lastgroup is None:
                start = len(self.text) - len(self.text[at:].lstrip())
                raise self._error(start, "unexpected character")
            kind = match.lastgroup
            tokens.append(_Token(kind, match.group(kind), match.start(kind)))
            at = match.end()
        tokens.append(_Token("end", "", len(self.text)))
        return tokens

    def _error(self, at: int, problem: str) -> ConfigError:
        return ConfigError(f"filter: {problem} at character {at + 1} of {self.text!r}: "
                           f"{self.text[:at]}<here>{self.text[at:]}")

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() in words:
            self.position += 1
            return True
        return False

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise self._error(token.at, f"expected {text!r}")

    def parse(self) -> Any:
        tree = self.expression()
        token = self.peek()
        if token.kind != "end":
            raise self._error(token.at, "expected 'and', 'or' or the end")
        return tree

    def expression(self) -> Any:
        tree = self.term()
        while self.word("or"):
            tree = ("or", tree, self.term())
        return tree

    def term(self) -> Any:
        tree = self.factor()
        while self.word("and"):
            tree = ("and", tree, self.factor())
        return tree

    def factor(self) -> Any:
        if self.word("not"):
            return ("not", self.factor())
        if self.peek().text == "(":
            self.take()
            tree = self.expression()
            self.expect(")")
            return tree
        return self.comparison()

    def comparison(self) -> Any:
        token = self.take()
        if token.kind == "quoted":
            column = token.text[1:-1]
        elif token.kind == "word" and token.text.lower() not in _KEYWORDS:
            column = token.text
        else:
            raise self._error(token.at, "expected a column name (in backticks if it has "
                              "spaces: `Account ID`)")
        negated = self.word("not")
        if self.word("in"):
            found = ("in", column, self.literals())
            return ("not", found) if negated else found
        if negated:
            raise self._error(self.peek().at, "expected 'in' after 'not'")
        op = self.take()
        if op.kind != "op":
            raise self._error(op.at, "expected a comparison (= != < <= > >=) or 'in'")
        return (op.text, column, self.literal())

    def literals(self) -> list[Literal]:
        self.expect("[")
        values = [self.literal()]
        while self.peek().text == ",":
            self.take()
            values.append(self.literal())
        self.expect("]")
        if len({type(v) for v in values}) > 1:
            raise self._error(self.peek().at, "a list holds values of one kind")
        return values

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise self._error(token.at, "expected a value: \"text\", a number, true or false")
