"""The $filter language (the subset of OData that SensorThings 1.1 uses): a tokenizer and a recursive-descent
parser producing a small syntax tree, which query.py compiles to SQL with parameters.

    expr    := and ('or' and)*
    and     := unary ('and' unary)*
    unary   := 'not' unary | compare
    compare := operand (('eq'|'ne'|'gt'|'ge'|'lt'|'le') operand)?
    operand := '(' expr ')' | literal | function '(' [expr (',' expr)*] ')' | path
    literal := 'text' ('' inside) | number | true | false | null | 2026-11-23T08:00:00Z
             | geography'POLYGON((...))' | geometry'...'
    path    := name ('/' name)*             (e.g. Datastream/ObservedProperty/name, properties/kind)

Every error names what was found and where (a 1-based character position)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import StaQueryError

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = {
    # name: (number of arguments, result kind)
    "st_within": (2, "boolean"),
    "st_intersects": (2, "boolean"),
    "st_contains": (2, "boolean"),
    "st_disjoint": (2, "boolean"),
    "st_equals": (2, "boolean"),
    "st_touches": (2, "boolean"),
    "st_overlaps": (2, "boolean"),
    "st_crosses": (2, "boolean"),
    "geo.intersects": (2, "boolean"),
    "geo.distance": (2, "number"),
    "st_distance": (2, "number"),
    "substringof": (2, "boolean"),
    "startswith": (2, "boolean"),
    "endswith": (2, "boolean"),
    "tolower": (1, "string"),
    "toupper": (1, "string"),
    "length": (1, "number"),
}
DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})"
TOKEN = re.compile(
    rf"""(?P<space>\s+)
    |(?P<geo>(?:geography|geometry)'(?:[^']*)')
    |(?P<string>'(?:[^']|'')*')
    |(?P<datetime>{DATETIME})
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>@?[A-Za-z_][A-Za-z0-9_.]*)
    |(?P<punct>[()/,])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int  # 1-based


@dataclass(frozen=True)
class Literal:
    value: Any
    kind: str  # string | number | datetime | boolean | null | geometry


@dataclass(frozen=True)
class Path:
    segments: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Literal | Path | Call | Compare | Logical | Not


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        found = TOKEN.match(text, at)
        if found is None:
            snippet = text[at : at + 20]
            if text[at] == "'":
                raise StaQueryError(f"$filter: unterminated string starting at character {at + 1}: {snippet}")
            raise StaQueryError(f"$filter: unexpected character {text[at]!r} at character {at + 1}")
        kind = found.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, found.group(), at + 1))
        at = found.end()
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise StaQueryError("$filter is empty")
        node = self.expr()
        if self.i < len(self.tokens):
            token = self.tokens[self.i]
            raise StaQueryError(f"$filter: unexpected {token.text!r} at character {token.pos}")
        return node

    # --- helpers ---
    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text.lower() in words:
            self.i += 1
            return token.text.lower()
        return None

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.i += 1
            return True
        return False

    def expect(self, char: str, after: str) -> None:
        if not self.punct(char):
            token = self.peek()
            found = f"{token.text!r} at character {token.pos}" if token else "the end of the filter"
            raise StaQueryError(f"$filter: expected {char!r} {after}, found {found}")

    # --- grammar ---
    def expr(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = Logical("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = Logical("and", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return Not(self.unary())
        return self.compare()

    def compare(self) -> Node:
        left = self.operand()
        token = self.peek()
        op = self.keyword(*COMPARISONS)
        if op is None:
            return left
        assert token is not None
        return Compare(op, left, self.operand(), token.pos)

    def operand(self) -> Node:
        token = self.peek()
        if token is None:
            raise StaQueryError("$filter ends where an operand was expected")
        if self.punct("("):
            node = self.expr()
            self.expect(")", f"to close the parenthesis opened at character {token.pos}")
            return node
        self.i += 1
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"), "string")
        if token.kind == "number":
            return Literal(float(token.text) if any(c in token.text for c in ".eE") else int(token.text), "number")
        if token.kind == "datetime":
            return Literal(_datetime(token), "datetime")
        if token.kind == "geo":
            return Literal(token.text[token.text.index("'") + 1 : -1], "geometry")
        if token.kind == "name":
            lowered = token.text.lower()
            if lowered in ("true", "false"):
                return Literal(lowered == "true", "boolean")
            if lowered == "null":
                return Literal(None, "null")
            if lowered in FUNCTIONS and self.punct("("):
                return self.call(lowered, token)
            if lowered in COMPARISONS or lowered in ("and", "or", "not"):
                raise StaQueryError(f"$filter: expected an operand at character {token.pos}, found {token.text!r}")
            return self.path(token)
        raise StaQueryError(f"$filter: unexpected {token.text!r} at character {token.pos}")

    def call(self, name: str, token: Token) -> Call:
        args: list[Node] = []
        if not self.punct(")"):
            args.append(self.expr())
            while self.punct(","):
                args.append(self.expr())
            self.expect(")", f"to close the arguments of {name} (character {token.pos})")
        wanted = FUNCTIONS[name][0]
        if len(args) != wanted:
            raise StaQueryError(f"$filter: {name} takes {wanted} argument(s), got {len(args)} (character {token.pos})")
        return Call(name, tuple(args), token.pos)

    def path(self, first: Token) -> Path:
        segments = [first.text]
        while self.punct("/"):
            token = self.peek()
            if token is None or token.kind != "name":
                raise StaQueryError(f"$filter: a property name must follow '/' after {'/'.join(segments)}")
            self.i += 1
            segments.append(token.text)
        return Path(tuple(segments), first.pos)


def iso_datetime(text: str) -> datetime | None:
    """A quoted literal as a date and time when it is one (FROST accepts '2026-11-23T08:00:00Z' quoted)."""
    return _datetime(Token("datetime", text, 0)) if re.fullmatch(DATETIME, text) else None


def _datetime(token: Token) -> datetime:
    text = token.text.replace("Z", "+00:00")
    if "." in text:  # Python parses at most 6 fractional digits
        head, rest = text.split(".", 1)
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = head + "." + digits.group()[:6].ljust(6, "0") + rest[len(digits.group()) :]
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise StaQueryError(f"$filter: {token.text!r} at character {token.pos} is not a valid date and time") from exc


def parse_filter(text: str) -> Node:
    return Parser(text).parse()
