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


def coerce_odk(tree: Node, types: Mapping[str, str], current: str | None = None) -> tuple[Node, int]:
    """ODK's loose typing made explicit: a copy of the tree where each operand or argument that the strict
    checker refuses but ODK converts (XPath 1.0: ``${choice} = 1`` compares numbers, ``'2' < ${n}`` too, text
    in arithmetic is a number, ``. >= ${date_text}`` compares dates) is wrapped in number(), date(),
    boolean() or string(), and the number of conversions. The evaluator already compares and computes by
    converting, so the value is the one ODK gives; the conversion only makes the type explicit. Type errors
    that no conversion explains still raise ExpressionError. For XLSForm imports only: specs written in
    Terrain's YAML keep the strict check, where such mixes are mistakes."""
    copy = _copy(tree)
    checker = _Checker(types, current, loose=True)
    checker.infer(copy)
    return copy, checker.converted


def _copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _wrap(function: str, node: Node) -> Node:
    if function == "number" and node["t"] == "str":
        try:
            value = float(node["v"].strip())
        except ValueError:
            pass
        else:
            if value == value and abs(value) != float("inf"):  # not NaN
                return {"t": "num", "v": int(value) if value.is_integer() else value}
    return {"t": "call", "f": function, "a": [node]}


_TO_NUMBER = frozenset({"string", "boolean"})


def _odk_operands(op: str, ln: Node, lt: str, rn: Node, rt: str) -> tuple[Node, Node] | None:
    """The operands converted as ODK would (None: ODK would not convert them either)."""
    if op in ("=", "!="):
        if lt == "number" and rt in _TO_NUMBER:
            return ln, _wrap("number", rn)
        if rt == "number" and lt in _TO_NUMBER:
            return _wrap("number", ln), rn
        if lt in _DATES and rt == "string":
            return ln, _wrap("date", rn)
        if rt in _DATES and lt == "string":
            return _wrap("date", ln), rn
        if lt == "boolean" and rt != "boolean":
            return ln, _wrap("boolean", rn)
        if rt == "boolean" and lt != "boolean":
            return _wrap("boolean", ln), rn
        return None
    if op in _RELATIONAL:
        if lt in _DATES and rt == "string":
            return ln, _wrap("date", rn)
        if rt in _DATES and lt == "string":
            return _wrap("date", ln), rn
        if lt in _DATES and rt == "number":
            return _wrap("decimal-date-time", ln), rn
        if rt in _DATES and lt == "number":
            return ln, _wrap("decimal-date-time", rn)
    if op in _RELATIONAL or op in _ARITH:
        new_l = _wrap("date" if op == "-" and rt in _DATES else "number", ln) if lt in _TO_NUMBER else ln
        new_r = _wrap("date" if op == "-" and lt in _DATES else "number", rn) if rt in _TO_NUMBER else rn
        if new_l is ln and new_r is rn:
            return None
        return new_l, new_r
    return None


class _Checker:
    def __init__(self, types: Mapping[str, str], current: str | None, loose: bool = False) -> None:
        self.types = types
        self.current = current
        self.loose = loose
        self.converted = 0

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
            if self.loose and inner in _TO_NUMBER:
                node["e"] = _wrap("number", node["e"])
                self.converted += 1
                return "number"
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
        try:
            return self.binary_type(op, ln, lt, rn, rt)
        except ExpressionError:
            fixed = _odk_operands(op, ln, lt, rn, rt) if self.loose else None
            if fixed is None:
                raise
        node["l"], node["r"] = fixed
        self.converted += 1
        return self.binary_type(op, fixed[0], self.infer(fixed[0]), fixed[1], self.infer(fixed[1]))

    def binary_type(self, op: str, ln: Node, lt: str, rn: Node, rt: str) -> str:
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
        if name == "indexed-repeat":
            for index in (0, 1):
                if args[index]["t"] != "ref":
                    raise ExpressionError(
                        "argument_kind", {"name": name, "index": index + 1, "expected": "reference"}
                    )
        if name == "choice-label" and args[1]["t"] != "str":
            raise ExpressionError("argument_kind", {"name": name, "index": 2, "expected": "string"})
        if name == "choice-property":
            for index in (1, 2):
                if args[index]["t"] != "str":
                    raise ExpressionError(
                        "argument_kind", {"name": name, "index": index + 1, "expected": "string"}
                    )
        # indexed-repeat's second argument names the repeat: it has no value, so no type.
        skip = 1 if name == "indexed-repeat" else -1
        arg_types = ["any" if index == skip else self.infer(a) for index, a in enumerate(args)]
        for index, actual in enumerate(arg_types):
            allowed = spec.args[min(index, len(spec.args) - 1)]
            if actual == "any" or allowed == "any" or actual in allowed.split("|"):
                continue
            if self.loose:
                target = next((f for f in ("string", "number", "date") if f in allowed.split("|")), None)
                if target is not None:
                    args[index] = _wrap(target, args[index])
                    arg_types[index] = self.infer(args[index])
                    self.converted += 1
                    continue
            raise ExpressionError(
                "argument_type", {"name": name, "index": index + 1, "expected": allowed, "actual": actual}
            )
        if spec.returns != "same":
            return spec.returns
        if name in ("once", "indexed-repeat"):
            return arg_types[0]
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
