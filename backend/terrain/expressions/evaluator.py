"""Evaluator: trees are compiled once into Python closures (cached), then evaluated against an EvalContext."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from .errors import ExpressionError
from .regex import compiled
from .values import (
    DATETIME_RX,
    date_arith,
    date_days,
    datetime_ms,
    days_to_date,
    is_empty,
    is_number,
    output,
    temporal_kind,
    time_ms,
    to_bool,
    to_number,
    to_string,
)

Node = dict[str, Any]
Value = Any  # JSON value: None, bool, int | float, str, list[str] (or a geopoint dict)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class EvalContext:
    """What an expression sees: answers by name (JSON values), the current value ``.``, the 1-based repeat
    position, the clock. ``now`` is the instant (naive: UTC); ``tz`` is the device's time zone, in which
    ``today()`` and ``now()`` read it (None: ``now``'s own offset). ``types`` is accepted for symmetry with
    the checker; evaluation depends on values only (ISO date strings are recognised by their shape).
    ``current`` is also what ``once()`` returns when it is not empty (for a calculation: its stored
    answer)."""

    answers: Mapping[str, Any] = field(default_factory=dict)
    current: Any = None
    position: int | None = None
    now: datetime = field(default_factory=_utcnow)
    types: Mapping[str, str] | None = None
    tz: tzinfo | None = None
    # choice-label(value, list): the label of that choice in the form's current language (None: no label)
    choice_label: Callable[[str, str], str | None] | None = None
    # choice-property(value, list, prop): that property of the choice (None: no such choice or property)
    choice_property: Callable[[str, str, str], str | None] | None = None
    # indexed-repeat(${f}, ...): the values of field f in every block of its repeat (within the enclosing
    # blocks for a nested repeat). None: ``answers[f]``, which is that list when read from outside the repeat.
    repeat_values: Callable[[str], Any] | None = None


Fn = Callable[[EvalContext], Any]

# ---------------------------------------------------------------------------------------------------------
# Operators


def _eq(a: Any, b: Any) -> bool:
    ea, eb = is_empty(a), is_empty(b)
    if ea or eb:
        return ea and eb
    if isinstance(a, bool) or isinstance(b, bool):
        return to_bool(a) == to_bool(b)
    if is_number(a) or is_number(b):
        return to_number(a) == to_number(b)
    sa, sb = to_string(a), to_string(b)
    if sa == sb:
        return True
    # Two ISO dates/datetimes/times written differently can denote the same instant.
    if _is_temporal(a) and _is_temporal(b):
        return to_number(a) == to_number(b)
    return False


def _is_temporal(v: Any) -> bool:
    return isinstance(v, str) and (temporal_kind(v) is not None or time_ms(v) is not None)


def _relational(cmp: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if is_empty(a) or is_empty(b):
            return False
        x, y = to_number(a), to_number(b)
        if x != x or y != y:
            return False
        return cmp(x, y)

    return compare


def _number_result(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _arith(op: str) -> Callable[[Any, Any], Any]:
    def plus_minus(a: Any, b: Any) -> Any:
        if is_empty(a) or is_empty(b):
            return None
        ka, kb = temporal_kind(a), temporal_kind(b)
        if ka is not None or kb is not None:
            r = date_arith(op, a, ka, b, kb)
            return _number_result(r) if isinstance(r, float) else r
        x, y = to_number(a), to_number(b)
        return _number_result(x + y if op == "+" else x - y)

    def times(a: Any, b: Any) -> Any:
        if is_empty(a) or is_empty(b):
            return None
        return _number_result(to_number(a) * to_number(b))

    def div(a: Any, b: Any) -> Any:
        if is_empty(a) or is_empty(b):
            return None
        y = to_number(b)
        if y == 0:
            return None
        return _number_result(to_number(a) / y)

    def mod(a: Any, b: Any) -> Any:
        if is_empty(a) or is_empty(b):
            return None
        x, y = to_number(a), to_number(b)
        if y == 0 or x != x or y != y:
            return None
        return _number_result(math.fmod(x, y))  # sign of the dividend, as XPath

    return {"+": plus_minus, "-": plus_minus, "*": times, "div": div, "mod": mod}[op]


_RELATIONAL = {
    "<": _relational(operator.lt),
    "<=": _relational(operator.le),
    ">": _relational(operator.gt),
    ">=": _relational(operator.ge),
}

# ---------------------------------------------------------------------------------------------------------
# Functions (eager: receive evaluated arguments)


def _num_or_none(x: float) -> float | None:
    return x if x == x else None


def _selected(items: Any, value: Any) -> bool:
    if is_empty(items):
        return False
    wanted = to_string(value).strip()  # ODK trims the value: selected('a b', ' a ') is true
    if isinstance(items, list):
        return any(to_string(i) == wanted for i in items)
    return wanted in to_string(items).split()


def _selected_at(items: Any, n: Any) -> str:
    index = to_number(n)
    if is_empty(items) or index != index or math.isinf(index):
        return ""
    i = math.trunc(index)
    values = [to_string(v) for v in items] if isinstance(items, list) else to_string(items).split()
    return values[i] if 0 <= i < len(values) else ""


def _count_selected(items: Any) -> int:
    if is_empty(items):
        return 0
    if isinstance(items, list):
        return len(items)
    return len(to_string(items).split())


def _regex(s: Any, pattern: Any) -> bool:
    rx = compiled(to_string(pattern))
    return rx is not None and rx.search(to_string(s)) is not None


def _int(x: Any) -> float | None:
    n = to_number(x)
    return float(math.trunc(n)) if n == n else None


def round_half_away(x: float, digits: int) -> float:
    """sign(x) * floor(|x| * 10^n + 0.5) / 10^n (for n < 0: floor(|x| / 10^-n + 0.5) * 10^-n)."""
    sign = -1.0 if x < 0 else 1.0
    if digits >= 0:
        m = 10.0 ** min(digits, 308)
        v = abs(x) * m + 0.5
        return sign * math.floor(v) / m if math.isfinite(v) else x
    m = 10.0 ** min(-digits, 308)
    return sign * math.floor(abs(x) / m + 0.5) * m


def _round(x: Any, digits: Any = 0) -> float | None:
    n = to_number(x)
    d = to_number(digits)
    if n != n or d != d:
        return None
    return round_half_away(n, math.trunc(d))


def _floor(x: Any) -> float | None:
    n = to_number(x)
    return float(math.floor(n)) if n == n else None


def _ceiling(x: Any) -> float | None:
    n = to_number(x)
    return float(math.ceil(n)) if n == n else None


def _abs(x: Any) -> float | None:
    n = to_number(x)
    return abs(n) if n == n else None


def _date(x: Any) -> str | None:
    if is_empty(x):
        return None
    if isinstance(x, str):
        if date_days(x) is not None:
            return x
        m = DATETIME_RX.fullmatch(x)
        if m is not None and datetime_ms(x) is not None:
            return x[:10]  # the date as written (wall clock), no time zone conversion
    n = to_number(x)
    return days_to_date(n) if n == n else None


def _decimal_date_time(x: Any) -> float | None:
    if is_empty(x):
        return None
    return _num_or_none(to_number(x))


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _wall_clock(x: Any) -> tuple[int, int, int, int, int, int, int] | None:
    """(year, month, day, hour, minute, second, ms) as written, or from a number of days (UTC)."""
    if isinstance(x, str):
        if date_days(x) is not None:
            return int(x[:4]), int(x[5:7]), int(x[8:10]), 0, 0, 0, 0
        m = DATETIME_RX.fullmatch(x)
        if m is not None and datetime_ms(x) is not None:
            frac = int((m[7] or "0")[:3].ljust(3, "0"))
            return int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), frac
    n = to_number(x)
    if n != n:
        return None
    scaled = n * 86_400_000 + 0.5
    if not math.isfinite(scaled):
        return None
    ms = math.floor(scaled)
    day = ms // 86_400_000
    d = days_to_date(day)
    if d is None:
        return None
    rest = ms - day * 86_400_000
    return (
        int(d[:4]),
        int(d[5:7]),
        int(d[8:10]),
        rest // 3_600_000,
        rest // 60_000 % 60,
        rest // 1000 % 60,
        rest % 1000,
    )


def format_date(x: Any, fmt: Any) -> str:
    if is_empty(x):
        return ""
    parts = _wall_clock(x)
    if parts is None:
        return ""
    y, mo, d, h, mi, s, ms = parts
    weekday = (date_days(f"{y:04d}-{mo:02d}-{d:02d}") or 0) + 3  # 1970-01-01 was a Thursday
    codes = {
        "Y": f"{y:04d}",
        "y": f"{y % 100:02d}",
        "m": f"{mo:02d}",
        "n": str(mo),
        "d": f"{d:02d}",
        "e": str(d),
        "H": f"{h:02d}",
        "h": str(h),
        "M": f"{mi:02d}",
        "S": f"{s:02d}",
        "3": f"{ms:03d}",
        "b": _MONTHS[mo - 1],
        "a": _WEEKDAYS[weekday % 7],
        "%": "%",
    }
    text = to_string(fmt)
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%" and i + 1 < len(text) and text[i + 1] in codes:
            out.append(codes[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _count(x: Any) -> int:
    if is_empty(x):
        return 0
    return len(x) if isinstance(x, list) else 1


def _sum(x: Any) -> float | None:
    items = x if isinstance(x, list) else [x]
    total = 0.0
    for item in items:
        if is_empty(item):
            continue
        n = to_number(item)
        if n != n:
            return None
        total += n
    return _number_result(total)


def _not(x: Any) -> bool:
    return not to_bool(x)


def _number(x: Any) -> float | None:
    return _num_or_none(to_number(x))


def _string_length(x: Any) -> int:
    return len(to_string(x))


def _contains(a: Any, b: Any) -> bool:
    return to_string(b) in to_string(a)


def _starts_with(a: Any, b: Any) -> bool:
    return to_string(a).startswith(to_string(b))


def _ends_with(a: Any, b: Any) -> bool:
    return to_string(a).endswith(to_string(b))


def _concat(*args: Any) -> str:
    return "".join(to_string(a) for a in args)


EAGER: dict[str, Callable[..., Any]] = {
    "not": _not,
    "selected": _selected,
    "selected-at": _selected_at,
    "count-selected": _count_selected,
    "string-length": _string_length,
    "regex": _regex,
    "contains": _contains,
    "starts-with": _starts_with,
    "ends-with": _ends_with,
    "concat": _concat,
    "int": _int,
    "number": _number,
    "round": _round,
    "floor": _floor,
    "ceiling": _ceiling,
    "abs": _abs,
    "date": _date,
    "decimal-date-time": _decimal_date_time,
    "format-date": format_date,
    "format-date-time": format_date,
    "string": to_string,
    "boolean": to_bool,
    "count": _count,
    "sum": _sum,
}

# ---------------------------------------------------------------------------------------------------------
# Compilation to closures


def _local_now(ctx: EvalContext) -> datetime:
    """The wall clock of the device: the instant ``now`` in the zone ``tz`` (in its own offset without)."""
    now = ctx.now if ctx.now.tzinfo is not None else ctx.now.replace(tzinfo=UTC)
    return now.astimezone(ctx.tz) if ctx.tz is not None else now


def _today(ctx: EvalContext) -> str:
    return _local_now(ctx).date().isoformat()


def _now(ctx: EvalContext) -> str:
    return _local_now(ctx).replace(microsecond=0).isoformat()


def _position(ctx: EvalContext) -> int | None:
    return ctx.position


def _compile(node: Node) -> Fn:
    t = node["t"]
    if t == "num" or t == "str":
        v: Any = float(node["v"]) if t == "num" else str(node["v"])
        return lambda ctx: v
    if t == "ref":
        name = str(node["n"])
        return lambda ctx: ctx.answers.get(name)
    if t == "cur":
        return lambda ctx: ctx.current
    if t == "neg":
        inner = _compile(node["e"])

        def neg(ctx: EvalContext) -> Any:
            x = inner(ctx)
            if is_empty(x):
                return None
            n = to_number(x)
            return -n if n == n else None

        return neg
    if t == "bin":
        return _compile_bin(node)
    if t == "call":
        return _compile_call(node)
    raise ExpressionError("syntax_error", {"token": str(t)})


def _is_empty_literal(node: Node) -> bool:
    return bool(node["t"] == "str" and node["v"] == "")


def _compile_bin(node: Node) -> Fn:
    op = node["op"]
    left, right = _compile(node["l"]), _compile(node["r"])
    if op == "and":
        return lambda ctx: to_bool(left(ctx)) and to_bool(right(ctx))
    if op == "or":
        return lambda ctx: to_bool(left(ctx)) or to_bool(right(ctx))
    if op in ("=", "!="):
        # Fast path for the very common emptiness test ${x} = '' / ${x} != ''.
        if _is_empty_literal(node["r"]) or _is_empty_literal(node["l"]):
            other = left if _is_empty_literal(node["r"]) else right
            if op == "=":
                return lambda ctx: is_empty(other(ctx))
            return lambda ctx: not is_empty(other(ctx))
        if op == "=":
            return lambda ctx: _eq(left(ctx), right(ctx))
        return lambda ctx: not _eq(left(ctx), right(ctx))
    rel = _RELATIONAL.get(op)
    if rel is not None:
        return lambda ctx: rel(left(ctx), right(ctx))
    try:
        fn = _arith(op)
    except KeyError:
        raise ExpressionError("syntax_error", {"token": str(op)}) from None
    return lambda ctx: fn(left(ctx), right(ctx))


def _compile_call(node: Node) -> Fn:
    name = node["f"]
    args = [_compile(a) for a in node["a"]]
    if name == "if":
        if len(args) != 3:
            raise ExpressionError("wrong_arity", {"name": name, "expected": "3", "got": len(args)})
        cond, then, other = args
        return lambda ctx: then(ctx) if to_bool(cond(ctx)) else other(ctx)
    if name == "coalesce":
        if len(args) != 2:
            raise ExpressionError("wrong_arity", {"name": name, "expected": "2", "got": len(args)})
        first, second = args

        def coalesce(ctx: EvalContext) -> Any:
            v = first(ctx)
            return second(ctx) if is_empty(v) else v

        return coalesce
    if name == "once":
        (inner,) = args

        def once(ctx: EvalContext) -> Any:
            stored = ctx.current
            return inner(ctx) if is_empty(stored) else stored

        return once
    if name == "choice-label":
        value, list_name = args

        def choice_label(ctx: EvalContext) -> Any:
            v = value(ctx)
            hook = ctx.choice_label
            if is_empty(v) or hook is None:
                return ""
            label = hook(to_string(list_name(ctx)), to_string(v).strip())
            return label if isinstance(label, str) else ""

        return choice_label
    if name == "choice-property":
        value, list_name, prop = args

        def choice_property(ctx: EvalContext) -> Any:
            v = value(ctx)
            hook = ctx.choice_property
            if is_empty(v) or hook is None:
                return ""
            found = hook(to_string(list_name(ctx)), to_string(v).strip(), to_string(prop(ctx)))
            return found if isinstance(found, str) else ""

        return choice_property
    if name == "indexed-repeat":
        field_name = str(node["a"][0]["n"])
        index_fn = args[2]

        def indexed_repeat(ctx: EvalContext) -> Any:
            n = to_number(index_fn(ctx))
            if n != n or math.isinf(n):
                return None
            hook = ctx.repeat_values
            values = hook(field_name) if hook is not None else ctx.answers.get(field_name)
            i = math.trunc(n)
            if not isinstance(values, list) or not 1 <= i <= len(values):
                return None
            return values[i - 1]

        return indexed_repeat
    if name == "today":
        return _today
    if name == "now":
        return _now
    if name == "position":
        return _position
    if name == "true":
        return lambda ctx: True
    if name == "false":
        return lambda ctx: False
    fn = EAGER.get(name)
    if fn is None:
        raise ExpressionError("unknown_function", {"name": name, "suggestion": ""})
    if len(args) == 1:
        (a0,) = args
        return lambda ctx: fn(a0(ctx))
    if len(args) == 2:
        a0, a1 = args
        return lambda ctx: fn(a0(ctx), a1(ctx))
    return lambda ctx: fn(*[a(ctx) for a in args])


_CACHE: dict[int, tuple[Node, Fn]] = {}
_CACHE_MAX = 4096


def compile_tree(tree: Node) -> Fn:
    """A fast evaluator for the tree (treat the tree as immutable afterwards). Raises ExpressionError on a
    malformed tree. The returned function gives normalised JSON values."""
    inner = _compile(tree)
    return lambda ctx: output(inner(ctx))


def evaluate(tree: Node, ctx: EvalContext) -> Value:
    """Evaluate a tree. Compiled closures are cached by tree identity (the cache keeps the tree alive, so ids
    are not reused)."""
    entry = _CACHE.get(id(tree))
    if entry is None or entry[0] is not tree:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        entry = (tree, _compile(tree))
        _CACHE[id(tree)] = entry
    return output(entry[1](ctx))
