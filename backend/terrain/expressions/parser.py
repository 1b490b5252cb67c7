"""Tokenizer and recursive-descent (precedence climbing) parser: XLSForm source -> JSON tree; and back."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from typing import Any

from .errors import ExpressionError
from .functions import FUNCTIONS
from .regex import check_pattern

Node = dict[str, Any]

MAX_DEPTH = 64
# XPath 1.0 has no exponent notation.
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
# NCName with hyphens (count-selected); a hyphen must be followed by a letter so `div-1` is div, -, 1.
# A namespace prefix (jr:choice-name) is lexed so it is reported as an unknown function.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[-:][A-Za-z_][A-Za-z0-9_]*)*")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_SPACE = re.compile(r"\s+")

_OPS2 = ("!=", "<=", ">=")
_OPS1 = "+-*=<>(),"
PRECEDENCE: dict[str, int] = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}
UNARY_PRECEDENCE = 7

# Token kinds: num, str, ref, cur (.), parent (..), name, op, end
Token = tuple[str, Any, int]


def _tokenize(src: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():  # the same characters as \s, without a regex call at every token
            space = _SPACE.match(src, i)
            assert space is not None
            i = space.end()
            continue
        if "0" <= c <= "9" or (c == "." and i + 1 < n and "0" <= src[i + 1] <= "9"):
            m = _NUMBER.match(src, i)
            assert m is not None
            value = _number_value(m.group())
            if value == float("inf"):
                raise ExpressionError("bad_number", {"text": m.group()[:20]}, i)
            tokens.append(("num", value, i))
            i = m.end()
        elif c == ".":
            if src.startswith("..", i):
                tokens.append(("parent", "..", i))
                i += 2
            else:
                tokens.append(("cur", ".", i))
                i += 1
        elif c in "'\"":
            end = src.find(c, i + 1)
            if end < 0:
                raise ExpressionError("unterminated_string", {}, i)
            tokens.append(("str", src[i + 1 : end], i))
            i = end + 1
        elif c == "$":
            m = _REF.match(src, i)
            if m is None:
                raise ExpressionError("bad_reference", {}, i)
            tokens.append(("ref", m.group(1), i))
            i = m.end()
        elif src.startswith(_OPS2, i):
            tokens.append(("op", src[i : i + 2], i))
            i += 2
        elif c in _OPS1:
            tokens.append(("op", c, i))
            i += 1
        else:
            m = _NAME.match(src, i)
            if m is None:
                raise ExpressionError("unexpected_character", {"char": c}, i)
            tokens.append(("name", m.group(), i))
            i = m.end()
    tokens.append(("end", None, n))
    return tokens


def _number_value(text: str) -> int | float:
    # Integral literals are stored as int so the canonical JSON is the same in Python and JavaScript.
    value = float(text)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _describe(tok: Token) -> str:
    kind, value, _ = tok
    if kind == "str":
        return "string '" + str(value) + "'"
    if kind == "ref":
        return "${" + str(value) + "}"
    if kind == "num":
        return f"number {value}"
    return f"'{value}'"


class _Parser:
    def __init__(self, src: str) -> None:
        self.tokens = _tokenize(src)
        self.pos = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def fail(self, tok: Token) -> ExpressionError:
        if tok[0] == "end":
            return ExpressionError("unexpected_end", {}, tok[2])
        return ExpressionError("syntax_error", {"token": _describe(tok)}, tok[2])

    def expect_op(self, op: str) -> Token:
        tok = self.next()
        if tok[0] != "op" or tok[1] != op:
            raise self.fail(tok)
        return tok

    def binary_op(self) -> str | None:
        kind, value, _ = self.peek()
        if kind == "op" and value in PRECEDENCE:
            return str(value)
        if kind == "name" and value in ("and", "or", "div", "mod"):
            return str(value)
        return None

    def expression(self, min_prec: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("too_deep", {"max": MAX_DEPTH}, self.peek()[2])
        left = self.unary()
        while True:
            op = self.binary_op()
            if op is None:
                break
            prec = PRECEDENCE[op]
            if prec < min_prec:
                break
            self.next()
            right = self.expression(prec + 1)  # all binary operators are left-associative
            left = {"t": "bin", "op": op, "l": left, "r": right}
        self.depth -= 1
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok[0] == "op" and tok[1] == "-":
            self.next()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("too_deep", {"max": MAX_DEPTH}, tok[2])
            node: Node = {"t": "neg", "e": self.unary()}
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.next()
        kind, value, offset = tok
        if kind == "num":
            return {"t": "num", "v": value}
        if kind == "str":
            return {"t": "str", "v": value}
        if kind == "ref":
            return {"t": "ref", "n": value}
        if kind == "cur":
            return {"t": "cur"}
        if kind == "op" and value == "(":
            node = self.expression(1)
            self.expect_op(")")
            return node
        if kind == "name":
            nxt = self.peek()
            if nxt[0] != "op" or nxt[1] != "(":
                if value in ("and", "or", "div", "mod"):
                    raise self.fail(tok)
                raise ExpressionError("bare_name", {"name": value}, offset)
            return self.call(str(value), offset)
        raise self.fail(tok)

    def call(self, name: str, offset: int) -> Node:
        spec = FUNCTIONS.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
            raise ExpressionError(
                "unknown_function", {"name": name, "suggestion": close[0] if close else ""}, offset
            )
        self.expect_op("(")
        args: list[Node] = []
        tok = self.peek()
        if tok[0] == "op" and tok[1] == ")":
            self.next()
        elif name == "position" and tok[0] == "parent":
            # XLSForm writes position(..): the parent repeat instance; normalised to position().
            self.next()
            self.expect_op(")")
        else:
            while True:
                args.append(self.expression(1))
                tok = self.next()
                if tok[0] == "op" and tok[1] == ")":
                    break
                if tok[0] != "op" or tok[1] != ",":
                    raise self.fail(tok)
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            if spec.max_args is None:
                expected = f"at least {spec.min_args}"
            elif spec.min_args == spec.max_args:
                expected = str(spec.min_args)
            else:
                expected = f"{spec.min_args} to {spec.max_args}"
            raise ExpressionError(
                "wrong_arity",
                {
                    "name": name,
                    "expected": expected,
                    "min": spec.min_args,
                    "max": spec.max_args,
                    "got": len(args),
                },
                offset,
            )
        # Arguments whose meaning is their form, not their value: a list's name, a field and its repeat.
        if name == "choice-label" and args[1]["t"] != "str":
            raise ExpressionError("argument_kind", {"name": name, "index": 2, "expected": "string"}, offset)
        if name == "choice-property":
            for index in (1, 2):
                if args[index]["t"] != "str":
                    raise ExpressionError(
                        "argument_kind", {"name": name, "index": index + 1, "expected": "string"}, offset
                    )
        if name == "indexed-repeat":
            for index in (0, 1):
                if args[index]["t"] != "ref":
                    raise ExpressionError(
                        "argument_kind", {"name": name, "index": index + 1, "expected": "reference"}, offset
                    )
        if name == "regex" and args[1]["t"] == "str":
            reason = check_pattern(args[1]["v"])
            if reason is not None:
                raise ExpressionError("bad_regex", {"pattern": args[1]["v"], "reason": reason}, offset)
        return {"t": "call", "f": name, "a": args}


def parse(src: str) -> Node:
    """Parse XLSForm expression source into a JSON tree. Raises only ExpressionError."""
    if not isinstance(src, str):
        raise ExpressionError("syntax_error", {"token": type(src).__name__}, 0)
    if not src.strip():
        raise ExpressionError("empty_expression", {}, 0)
    parser = _Parser(src)
    tree = parser.expression(1)
    tok = parser.peek()
    if tok[0] != "end":
        raise parser.fail(tok)
    return tree


# ---------------------------------------------------------------------------------------------------------
# Printing back to source (used by the XLSForm exporter and the round-trip tests).


def format_number(v: float) -> str:
    """Plain decimal, no exponent: 3, 0.5, 0.0000001."""
    if isinstance(v, int):
        return str(v)
    if v.is_integer():
        return str(int(v))
    text = format(Decimal(repr(v)), "f")
    return text


def _quote(s: str) -> str:
    if "'" not in s:
        return "'" + s + "'"
    if '"' not in s:
        return '"' + s + '"'
    # XPath 1.0 strings have no escapes: split on single quotes and concat.
    parts = s.split("'")
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if i:
            pieces.append('"\'"')
        if part:
            pieces.append("'" + part + "'")
    return "concat(" + ", ".join(pieces) + ")"


def to_source(tree: Node) -> str:
    """Print a tree as XLSForm source with minimal parentheses; parse(to_source(t)) == t for parsed trees."""
    return _src(tree, 1)


def _src(node: Node, min_prec: int) -> str:
    t = node["t"]
    if t == "num":
        v = node["v"]
        text = format_number(v)
        return f"({text})" if text.startswith("-") else text
    if t == "str":
        return _quote(str(node["v"]))
    if t == "ref":
        return "${" + str(node["n"]) + "}"
    if t == "cur":
        return "."
    if t == "neg":
        inner = _src(node["e"], UNARY_PRECEDENCE)
        text = "-" + inner
        return f"({text})" if min_prec > UNARY_PRECEDENCE else text
    if t == "bin":
        op = node["op"]
        prec = PRECEDENCE[op]
        text = f"{_src(node['l'], prec)} {op} {_src(node['r'], prec + 1)}"
        return f"({text})" if prec < min_prec else text
    if t == "call":
        if node["f"] == "position" and not node["a"]:
            return "position(..)"
        return str(node["f"]) + "(" + ", ".join(_src(a, 1) for a in node["a"]) + ")"
    raise ValueError(f"unknown node type {t!r}")
