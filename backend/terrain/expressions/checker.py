"""Static types: infer the type of a tree, raise ExpressionError on type errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ExpressionError
from .functions import FUNCTIONS

Node = dict[str, Any]

TYPES = frozenset(
    {"number", "string", "boolean", "date", "time", "datetime", "list", "geopoint", "binary", "any"}
)
_TEMPORAL = frozenset({"date", "time", "datetime"})
_DATES = frozenset({"date", "datetime"})
_ARITH = frozenset({"+", "-", "*", "div", "mod"})
_RELATIONAL = frozenset({"<", "<=", ">", ">="})


def _is_str_lit(node: Node) -> bool:
    return bool(node["t"] == "str")


def _is_empty_lit(node: Node) -> bool:
    return bool(node["t"] == "str" and node["v"] == "")


def infer_type(tree: Node, types: Mapping[str, str], current: str | None = None) -> str:
    """Static type of the tree. ``types`` maps referenced names to their value types, ``current`` is the type
    of ``.`` (None: ``.`` is not allowed here)."""
    return _Checker(types, current).infer(tree)


class _Checker:
    def __init__(self, types: Mapping[str, str], current: str | None) -> None:
        self.types = types
        self.current = current

    def infer(self, node: Node) -> str:
        t = node["t"]
        if t == "num":
            return "number"
        if t == "str":
            return "string"
        if t == "ref":
            name = node["n"]
            found = self.types.get(name)
            if found is None:
                raise ExpressionError("unknown_reference", {"name": name})
            return found
        if t == "cur":
            if self.current is None:
                raise ExpressionError("current_not_allowed", {})
            return self.current
        if t == "neg":
            inner = self.infer(node["e"])
            if inner not in ("number", "any"):
                raise ExpressionError("bad_operand", {"op": "-", "type": inner})
            return "number"
        if t == "bin":
            return self.binary(node)
        if t == "call":
            return self.call(node)
        raise ExpressionError("syntax_error", {"token": str(t)})

    def binary(self, node: Node) -> str:
        op = node["op"]
        ln, rn = node["l"], node["r"]
        lt, rt = self.infer(ln), self.infer(rn)
        if op in ("and", "or"):
            return "boolean"
        if op in ("=", "!="):
            if self._comparable(lt, ln, rt, rn) or {lt, rt} == {"list", "string"}:
                return "boolean"
            raise ExpressionError("type_mismatch", {"op": op, "left": lt, "right": rt})
        if op in _RELATIONAL:
            if _is_empty_lit(ln) or _is_empty_lit(rn) or _ordered(lt, ln, rt, rn):
                return "boolean"
            raise ExpressionError("type_mismatch", {"op": op, "left": lt, "right": rt})
        return self.arithmetic(op, lt, rt)

    @staticmethod
    def _comparable(lt: str, ln: Node, rt: str, rn: Node) -> bool:
        if lt == "any" or rt == "any" or _is_empty_lit(ln) or _is_empty_lit(rn):
            return True
        if lt == rt:
            return True
        if (_is_str_lit(ln) and rt in _TEMPORAL) or (_is_str_lit(rn) and lt in _TEMPORAL):
            return True
        return lt in _DATES and rt in _DATES

    @staticmethod
    def arithmetic(op: str, lt: str, rt: str) -> str:
        if lt == "number" and rt == "number":
            return "number"
        if op in ("*", "div", "mod"):
            if lt in ("number", "any") and rt in ("number", "any"):
                return "number"
        elif "any" in (lt, rt):
            other = rt if lt == "any" else lt
            if other in ("number", "any", "date", "datetime"):
                return "any"  # could be date arithmetic
        elif lt in _DATES and rt == "number":
            return lt
        elif op == "+" and lt == "number" and rt in _DATES:
            return rt
        elif op == "-" and lt in _DATES and rt in _DATES:
            return "number"
        raise ExpressionError("type_mismatch", {"op": op, "left": lt, "right": rt})

    def call(self, node: Node) -> str:
        name = node["f"]
        args: list[Node] = node["a"]
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise ExpressionError("unknown_function", {"name": name, "suggestion": ""})
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            raise ExpressionError(
                "wrong_arity",
                {
                    "name": name,
                    "expected": str(spec.min_args),
                    "min": spec.min_args,
                    "max": spec.max_args,
                    "got": len(args),
                },
            )
        arg_types = [self.infer(a) for a in args]
        for index, actual in enumerate(arg_types):
            allowed = spec.args[min(index, len(spec.args) - 1)]
            if actual == "any" or allowed == "any" or actual in allowed.split("|"):
                continue
            raise ExpressionError(
                "argument_type", {"name": name, "index": index + 1, "expected": allowed, "actual": actual}
            )
        if spec.returns != "same":
            return spec.returns
        if name == "if":
            return _unify(arg_types[1], args[1], arg_types[2], args[2])
        return _unify(arg_types[0], args[0], arg_types[1], args[1])


def _ordered(lt: str, ln: Node, rt: str, rn: Node) -> bool:
    """Relational operators compare numbers, dates/datetimes, times (and ISO string literals with them)."""
    if lt == "any" or rt == "any":
        return True
    if lt == rt and lt in ("number", "time"):
        return True
    if lt in _DATES and rt in _DATES:
        return True
    return (_is_str_lit(ln) and rt in _TEMPORAL) or (_is_str_lit(rn) and lt in _TEMPORAL)


def _unify(lt: str, ln: Node, rt: str, rn: Node) -> str:
    """Common type of two alternatives (if/coalesce); 'any' when they differ."""
    if lt == rt:
        return lt
    if _is_empty_lit(ln):
        return rt
    if _is_empty_lit(rn):
        return lt
    if _is_str_lit(ln) and rt in _TEMPORAL:
        return rt
    if _is_str_lit(rn) and lt in _TEMPORAL:
        return lt
    return "any"
