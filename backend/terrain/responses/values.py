"""Typed answer values: the shape each item's answer must have, the per-spec index that validation and
flattening share, and the flattening of a record's answers into rows of ``response_values``.

Pure: no database, no HTTP. The answer format is described in docs/responses.md.

Build a :class:`SpecIndex` once per compiled spec (``index_for(compiled)``) and keep it next to the
compiled spec (it holds compiled expression closures); every function here also accepts the compiled
spec itself and then builds a throwaway index.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from terrain import expressions as ex
from terrain.expressions.values import date_days, datetime_ms, format_number

# --- limits -------------------------------------------------------------------------------------------

# Integers are exact up to 2^53 in JavaScript (the PWA) and in a double (value_num).
MAX_SAFE_INT = 2**53 - 1
# A short text; longer ones are long_text. Bounded so that a spec's regex() constraint (which may be
# quadratic on some patterns) stays cheap on hostile input.
TEXT_MAX_CHARS = 4_000
LONG_TEXT_MAX_CHARS = 200_000
# Repeat blocks: at most the repeat's own max (else the compiler's bound) per repeat, and this many in one
# record in all (nested repeats multiply); blocks past these bounds are neither validated nor flattened.
MAX_REPEAT_BLOCKS = 500
MAX_BLOCKS = 5_000
# value_text is a VARCHAR(255).
SHORT_TEXT_CHARS = 255

# --- item kinds ---------------------------------------------------------------------------------------

TEXT = "text"
LONG = "long_text"
INT = "integer"
DEC = "decimal"
CHOICE = "single_choice"  # single_choice, yes_no, matrix rows
LIKERT = "likert"
MULTI = "multiple_choice"
RANK = "ranking"
DATE = "date"
TIME = "time"
DATETIME = "datetime"
GEO = "geopoint"
BIN = "binary"  # photo, audio, file, signature
CONSENT = "consent"
CALC = "calculate"

KINDS: dict[str, str] = {
    "text": TEXT,
    "long_text": LONG,
    "integer": INT,
    "decimal": DEC,
    "single_choice": CHOICE,
    "yes_no": CHOICE,
    "likert": LIKERT,
    "multiple_choice": MULTI,
    "ranking": RANK,
    "date": DATE,
    "time": TIME,
    "datetime": DATETIME,
    "geopoint": GEO,
    "photo": BIN,
    "audio": BIN,
    "file": BIN,
    "signature": BIN,
    "consent": CONSENT,
    "calculate": CALC,
}

# Expression function: ctx -> JSON value.
Fn = Callable[[ex.EvalContext], Any]


def compile_expr(expr: Any) -> Fn | None:
    """The evaluator closure of a compiled expression ``{"src", "ast"}`` (None when absent)."""
    if not isinstance(expr, dict) or not isinstance(expr.get("ast"), dict):
        return None
    return ex.compile_tree(expr["ast"])


def text_of(label: Any, lang: str) -> str | None:
    if not isinstance(label, dict):
        return None
    value = label.get(lang) or label.get("fr")
    return value if isinstance(value, str) else None


# --- the spec index -----------------------------------------------------------------------------------


class Field:
    """One answer key: an item with a value (matrix rows, `other` companions, theme notes included)."""

    __slots__ = (
        "calc",
        "chain",
        "choice_props",
        "choices",
        "item",
        "kind",
        "label",
        "name",
        "repeat",
        "row_type",
        "sensitive",
        "time_dependent",
        "type",
    )

    def __init__(self, name: str, type_: str, item: dict[str, Any], chain: tuple[str, ...]) -> None:
        self.name = name
        self.type = type_
        self.kind = KINDS.get(type_, TEXT)
        self.item = item
        self.chain = chain
        self.repeat = chain[-1] if chain else None
        self.label: dict[str, str] = {"fr": name, "en": name}
        self.sensitive = bool(item.get("sensitive"))
        self.choices: frozenset[str] | None = None
        # value -> {"choice.value": v, "choice.<prop>": ...}: what a choice_filter sees
        self.choice_props: dict[str, dict[str, Any]] = {}
        # response_values.value_type: the item type; a calculation's inferred value type
        self.row_type = str(item.get("value_type") or "any") if self.kind == CALC else type_
        self.time_dependent = False
        self.calc: Fn | None = compile_expr(item.get("calculation")) if self.kind == CALC else None


class Scope:
    """The answers of one level: the top level, or one block of a repeat."""

    __slots__ = ("calcs", "chain", "direct", "item", "label", "members", "name", "nodes", "plan")

    def __init__(self, chain: tuple[str, ...], item: dict[str, Any] | None) -> None:
        self.chain = chain
        # the repeat's name ("" for the top level)
        self.name = chain[-1] if chain else ""
        self.item = item
        self.label = _labels((item or {}).get("label"), self.name)
        # allowed keys: the fields of this level and its repeats
        self.members: dict[str, Field | Scope] = {}
        # validation walk, in document order
        self.nodes: list[Node] = []
        # flattening order: fields and repeats in document order
        self.plan: list[Field | Scope] = []
        # names an expression at this level reads directly -> depth of the frame holding them
        self.direct: dict[str, int] = {}
        # names of the calculations of this level
        self.calcs: list[str] = []


# Validation walk nodes
N_VALUE = 1
N_CALC = 2
N_NOTE = 3
N_GROUP = 4
N_REPEAT = 5
N_THEME = 6


class Node:
    __slots__ = (
        "audiences",
        "children",
        "choice_filter",
        "constraint",
        "constraint_message",
        "constraint_src",
        "count",
        "field",
        "kind",
        "label",
        "max",
        "min",
        "name",
        "relevant",
        "required",
        "required_if",
        "required_message",
        "scope",
    )

    def __init__(self, kind: int, name: str, item: dict[str, Any]) -> None:
        self.kind = kind
        self.name = name
        self.label: dict[str, str] = _labels(item.get("label") or item.get("title"), name)
        self.relevant = compile_expr(item.get("relevant"))
        self.required = bool(item.get("required"))
        self.required_if = compile_expr(item.get("required_if"))
        self.required_message = _opt_labels(item.get("required_message"))
        self.constraint = compile_expr(item.get("constraint"))
        constraint = item.get("constraint")
        self.constraint_src = str(constraint.get("src", "")) if isinstance(constraint, dict) else ""
        self.constraint_message = _opt_labels(item.get("constraint_message"))
        self.choice_filter = compile_expr(item.get("choice_filter"))
        self.field: Field | None = None
        self.children: list[Node] = []
        self.scope: Scope | None = None
        self.min = _opt_int(item.get("min"))
        self.max = _opt_int(item.get("max"))
        self.count = compile_expr(item.get("count"))
        self.audiences: frozenset[str] | None = None


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _labels(label: Any, fallback: str) -> dict[str, str]:
    fr = text_of(label, "fr") or fallback
    return {"fr": fr, "en": text_of(label, "en") or fr}


def _opt_labels(label: Any) -> dict[str, str] | None:
    fr = text_of(label, "fr")
    if fr is None:
        return None
    return {"fr": fr, "en": text_of(label, "en") or fr}


class SpecIndex:
    """Everything validation and flattening need from a compiled spec, computed once.

    Raises ValueError (``ExpressionError`` included) on a compiled spec that the compiler did not produce.
    """

    def __init__(self, compiled: Mapping[str, Any]) -> None:
        if not isinstance(compiled, Mapping) or not isinstance(compiled.get("items"), list):
            raise ValueError("not a compiled spec")
        self.compiled = compiled
        self.kind = str(compiled.get("kind") or "questionnaire")
        self.fields: dict[str, Field] = {}
        self.scopes: dict[tuple[str, ...], Scope] = {}
        # names that take no answer (groups, notes, matrices, repeats) -> their type
        self.containers: dict[str, str] = {}
        self.repeats: dict[str, Scope] = {}
        lists = compiled.get("choice_lists") or {}
        self._lists: dict[str, tuple[frozenset[str], dict[str, dict[str, Any]]]] = {}
        for list_name, values in lists.items() if isinstance(lists, dict) else ():
            props: dict[str, dict[str, Any]] = {}
            for choice in values if isinstance(values, list) else ():
                if isinstance(choice, dict) and isinstance(choice.get("value"), str):
                    value = choice["value"]
                    entry = {"choice.value": value}
                    filt = choice.get("filter")
                    if isinstance(filt, dict):
                        entry.update({f"choice.{k}": v for k, v in filt.items()})
                    props[value] = entry
            self._lists[str(list_name)] = (frozenset(props), props)
        self.fields_json: dict[str, Any] = dict(compiled.get("fields") or {})
        self.root = Scope((), None)
        self.scopes[()] = self.root
        self.root.nodes = self._nodes(compiled["items"], self.root)
        # interview guides
        self.audiences: tuple[str, ...] = ()
        self.themes: dict[str, frozenset[str]] = {}
        self.consent_mode: str | None = None
        if self.kind == "interview_guide":
            self._guide(compiled)
        self.metadata: frozenset[str] = frozenset(
            m for m in compiled.get("metadata") or () if isinstance(m, str)
        )
        self.calc_order: list[Field] = [
            self.fields[name]
            for name in compiled.get("calculation_order") or ()
            if isinstance(name, str) and name in self.fields and self.fields[name].kind == CALC
        ]
        for scope in self.scopes.values():
            depth = len(scope.chain)
            for f in self.fields.values():
                if len(f.chain) <= depth and scope.chain[: len(f.chain)] == f.chain:
                    scope.direct[f.name] = len(f.chain)

    # --- building ---

    def _nodes(self, items: Any, scope: Scope) -> list[Node]:
        out: list[Node] = []
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            name: str = item["name"]
            type_ = str(item.get("type"))
            if type_ == "group":
                node = Node(N_GROUP, name, item)
                self.containers[name] = type_
                node.children = self._nodes(item.get("items"), scope)
            elif type_ == "repeat":
                node = Node(N_REPEAT, name, item)
                self.containers[name] = type_
                child = Scope((*scope.chain, name), item)
                self.scopes[child.chain] = child
                self.repeats[name] = child
                scope.members[name] = child
                scope.plan.append(child)
                node.scope = child
                child.nodes = self._nodes(item.get("items"), child)
            elif type_ == "note":
                node = Node(N_NOTE, name, item)
                self.containers[name] = type_
            elif type_ == "matrix":
                # a container of single-choice rows sharing the matrix's list, required and constraint
                node = Node(N_GROUP, name, item)
                node.required = False
                node.required_if = None
                node.constraint = None
                self.containers[name] = type_
                for row in item.get("rows") or ():
                    if not isinstance(row, dict) or not isinstance(row.get("name"), str):
                        continue
                    row_item = dict(item, name=row["name"], label=row.get("label"), relevant=None)
                    row_node = Node(N_VALUE, row["name"], row_item)
                    row_node.field = self._field(row["name"], "single_choice", row_item, scope)
                    node.children.append(row_node)
            elif type_ == "calculate":
                node = Node(N_CALC, name, item)
                node.field = self._field(name, type_, item, scope)
                tree = (item.get("calculation") or {}).get("ast")
                if isinstance(tree, dict):
                    node.field.time_dependent = ex.uses_function(tree, "now") or ex.uses_function(
                        tree, "today"
                    )
            elif type_ in KINDS:
                node = Node(N_VALUE, name, item)
                node.field = self._field(name, type_, item, scope)
                if type_ == "consent":
                    node.required = True
            else:
                continue
            out.append(node)
        return out

    def _field(self, name: str, type_: str, item: dict[str, Any], scope: Scope) -> Field:
        f = Field(name, type_, item, scope.chain)
        f.label = _labels(item.get("label"), name)
        list_name = item.get("choice_list")
        if type_ == "yes_no" and list_name is None:
            list_name = "yes_no"
        if isinstance(list_name, str) and list_name in self._lists:
            f.choices, f.choice_props = self._lists[list_name]
        elif type_ == "yes_no":
            f.choices = frozenset({"yes", "no"})
            f.choice_props = {v: {"choice.value": v} for v in ("yes", "no")}
        elif f.kind in (CHOICE, LIKERT, MULTI, RANK):
            f.choices = frozenset()
        self.fields[name] = f
        if f.kind == CALC:
            scope.calcs.append(name)
        scope.members[name] = f
        scope.plan.append(f)
        return f

    def _guide(self, compiled: Mapping[str, Any]) -> None:
        self.audiences = tuple(
            a["name"] for a in compiled.get("audiences") or () if isinstance(a, dict) and "name" in a
        )
        consent = compiled.get("consent")
        if isinstance(consent, dict) and isinstance(consent.get("mode"), str):
            self.consent_mode = consent["mode"]
        for theme in compiled.get("themes") or ():
            if not isinstance(theme, dict) or not isinstance(theme.get("name"), str):
                continue
            name: str = theme["name"]
            audiences = frozenset(a for a in theme.get("audiences") or () if isinstance(a, str))
            self.themes[name] = audiences
            node = Node(N_THEME, name, theme)
            node.audiences = audiences
            title = _labels(theme.get("title"), name)
            # the generated fields: the theme's notes and, when offered, its "covered" mark
            generated = [
                (
                    f"{name}__notes",
                    "long_text",
                    {"fr": f"Notes : {title['fr']}", "en": f"Notes: {title['en']}"},
                )
            ]
            if theme.get("covered", True):
                covered = {"fr": f"Thème abordé : {title['fr']}", "en": f"Theme covered: {title['en']}"}
                generated.append((f"{name}__covered", "yes_no", covered))
            for fname, ftype, label in generated:
                item: dict[str, Any] = {"name": fname, "type": ftype, "label": label}
                if ftype == "yes_no":
                    item["choice_list"] = "yes_no"
                child = Node(N_VALUE, fname, item)
                child.field = self._field(fname, ftype, item, self.root)
                node.children.append(child)
            node.children.extend(self._nodes(theme.get("items"), self.root))
            self.root.nodes.append(node)

    def repeat_limit(self, scope: Scope) -> int:
        """How many blocks of this repeat are looked at."""
        limit = _opt_int((scope.item or {}).get("max"))
        return min(limit, MAX_REPEAT_BLOCKS) if limit is not None and limit >= 0 else MAX_REPEAT_BLOCKS


def index_for(spec: SpecIndex | Mapping[str, Any]) -> SpecIndex:
    """The index of a compiled spec (an index is returned as is). Cache it per stored spec version."""
    return spec if isinstance(spec, SpecIndex) else SpecIndex(spec)


# --- value shapes -------------------------------------------------------------------------------------

# A problem with one value: (problem code, message key, message parameters).
Invalid = tuple[str, str, dict[str, Any]]

SHA256_RX = re.compile(r"[0-9a-f]{64}")
TIME_RX = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?")
DATETIME_RX = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
GEO_KEYS = frozenset({"lat", "lon", "alt", "accuracy"})

E_NUL: Invalid = ("type", "nul", {})
E_TEXT: Invalid = ("type", "text", {})
E_TOO_LONG_TEXT: Invalid = ("too_long", "too_long", {"max": TEXT_MAX_CHARS})
E_TOO_LONG_LONG: Invalid = ("too_long", "too_long", {"max": LONG_TEXT_MAX_CHARS})
E_INT: Invalid = ("type", "integer", {})
E_NUM: Invalid = ("type", "number", {})
E_RANGE: Invalid = ("type", "range", {})
E_CHOICE_TYPE: Invalid = ("type", "choice_text", {})
E_LIKERT: Invalid = ("type", "likert", {})
E_LIST: Invalid = ("type", "list", {})
E_DUPLICATE: Invalid = ("choice", "duplicate", {})
E_TOO_MANY: Invalid = ("choice", "too_many", {})
E_DATE: Invalid = ("type", "date", {})
E_TIME: Invalid = ("type", "time", {})
E_DATETIME: Invalid = ("type", "datetime", {})
E_GEO: Invalid = ("type", "geopoint", {})
E_BIN: Invalid = ("type", "binary", {})
E_CONSENT: Invalid = ("consent", "consent", {})


def is_empty(value: Any) -> bool:
    """Unanswered: missing, null, "" or []."""
    return value is None or (isinstance(value, str | list) and not value)


def finite_number(value: Any) -> float | None:
    """A JSON number as a float, when it is one and finite (huge integers are not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else None
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def is_datetime(value: Any) -> bool:
    """ISO 8601 date and time with an offset, a real calendar date."""
    return (
        isinstance(value, str)
        and len(value) <= 40
        and DATETIME_RX.fullmatch(value) is not None
        and datetime_ms(value) is not None
    )


def is_date(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 10 and date_days(value) is not None


def _not_a_choice(value: str) -> Invalid:
    return ("choice", "not_a_choice", {"value": value[:40]})


def check_value(f: Field, value: Any) -> tuple[Any, Invalid | None]:
    """The answer normalised (integral floats -> int for integers and likert), or the problem with it.
    ``value`` is not empty (see :func:`is_empty`). Calculations are not checked here."""
    kind = f.kind
    if kind is CHOICE:
        if not isinstance(value, str):
            return None, E_CHOICE_TYPE
        if f.choices is None or value not in f.choices:
            return None, _not_a_choice(value)
        return value, None
    if kind is TEXT or kind is LONG:
        if not isinstance(value, str):
            return None, E_TEXT
        if kind is TEXT and len(value) > TEXT_MAX_CHARS:
            return None, E_TOO_LONG_TEXT
        if len(value) > LONG_TEXT_MAX_CHARS:
            return None, E_TOO_LONG_LONG
        if "\x00" in value:  # PostgreSQL refuses it in text
            return None, E_NUL
        return value, None
    if kind is INT or kind is LIKERT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, E_INT if kind is INT else E_LIKERT
        if isinstance(value, float):
            if not (math.isfinite(value) and value.is_integer()):
                return None, E_INT if kind is INT else E_LIKERT
            if abs(value) > MAX_SAFE_INT:
                return None, E_RANGE
            value = int(value)
        elif not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            return None, E_RANGE
        if kind is LIKERT and (f.choices is None or str(value) not in f.choices):
            return None, _not_a_choice(str(value))
        return value, None
    if kind is DEC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, E_NUM
        if finite_number(value) is None:
            return None, E_RANGE
        return value, None
    if kind is MULTI or kind is RANK:
        if not isinstance(value, list):
            return None, E_LIST
        choices = f.choices or frozenset()
        if len(value) > len(choices):
            return None, E_TOO_MANY
        seen: set[str] = set()
        for v in value:
            if not isinstance(v, str):
                return None, E_LIST
            if v not in choices:
                return None, _not_a_choice(v)
            if v in seen:
                return None, E_DUPLICATE
            seen.add(v)
        return value, None
    if kind is DATE:
        return (value, None) if is_date(value) else (None, E_DATE)
    if kind is TIME:
        ok = isinstance(value, str) and len(value) <= 18 and TIME_RX.fullmatch(value) is not None
        return (value, None) if ok else (None, E_TIME)
    if kind is DATETIME:
        return (value, None) if is_datetime(value) else (None, E_DATETIME)
    if kind is GEO:
        return (value, None) if _is_geopoint(value) else (None, E_GEO)
    if kind is BIN:
        ok = isinstance(value, str) and len(value) == 64 and SHA256_RX.fullmatch(value) is not None
        return (value, None) if ok else (None, E_BIN)
    if kind is CONSENT:
        if value == "OK":
            return value, None
        return None, (E_CONSENT if isinstance(value, str) else E_TEXT)
    return None, E_TEXT


def _is_geopoint(value: Any) -> bool:
    if not isinstance(value, dict) or not value.keys() <= GEO_KEYS:
        return False
    lat, lon = finite_number(value.get("lat")), finite_number(value.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    alt, accuracy = value.get("alt"), value.get("accuracy")
    if alt is not None and finite_number(alt) is None:
        return False
    if accuracy is not None:
        acc = finite_number(accuracy)
        if acc is None or acc < 0:
            return False
    return True


# --- flattening ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueRow:
    """One row of ``response_values`` (without the record's ids)."""

    item: str
    repeat: str | None
    instance: str
    ordinal: int
    value_type: str
    value_text: str | None
    value_num: float | None
    value_long: str | None


_ROW_SETTERS = tuple(ValueRow.__dict__[f].__set__ for f in ValueRow.__dataclass_fields__)


def _row(
    item: str,
    repeat: str | None,
    instance: str,
    ordinal: int,
    value_type: str,
    value_text: str | None,
    value_num: float | None,
    value_long: str | None,
) -> ValueRow:
    """``ValueRow(...)`` without the frozen dataclass's per-field ``object.__setattr__`` calls (twice as fast;
    flattening builds one row per answer of every record pushed). The row is immutable afterwards."""
    row = object.__new__(ValueRow)
    s0, s1, s2, s3, s4, s5, s6, s7 = _ROW_SETTERS
    s0(row, item)
    s1(row, repeat)
    s2(row, instance)
    s3(row, ordinal)
    s4(row, value_type)
    s5(row, value_text)
    s6(row, value_num)
    s7(row, value_long)
    return row


def _geo_text(value: dict[str, Any]) -> str:
    return f"{format_number(float(value['lat']))},{format_number(float(value['lon']))}"


def _text_row(f: Field, instance: str, ordinal: int, value_type: str, text: str) -> ValueRow:
    if len(text) <= SHORT_TEXT_CHARS:
        return _row(f.name, f.repeat, instance, ordinal, value_type, text, None, None)
    return _row(f.name, f.repeat, instance, ordinal, value_type, None, None, text)


def _calc_rows(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    """A computed value, stored after its runtime type."""
    vt = f.row_type
    if isinstance(value, bool):
        out.append(_row(f.name, f.repeat, instance, 0, vt, "true" if value else "false", float(value), None))
    elif isinstance(value, int | float):
        x = finite_number(value)
        if x is not None:
            out.append(_row(f.name, f.repeat, instance, 0, vt, None, x, None))
    elif isinstance(value, str):
        if len(value) <= LONG_TEXT_MAX_CHARS and "\x00" not in value:
            out.append(_text_row(f, instance, 0, vt, value))
    elif isinstance(value, list):
        for ordinal, v in enumerate(value[:MAX_REPEAT_BLOCKS], 1):
            if isinstance(v, str) and len(v) <= SHORT_TEXT_CHARS and v and "\x00" not in v:
                out.append(_row(f.name, f.repeat, instance, ordinal, vt, v, None, None))
            elif (x := finite_number(v)) is not None:
                out.append(_row(f.name, f.repeat, instance, ordinal, vt, None, x, None))
    elif _is_geopoint(value):
        out.append(_row(f.name, f.repeat, instance, 0, vt, _geo_text(value), None, None))


def _rows_text_value(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    """Choices, dates, times, attachments, consent: the value as text."""
    value, problem = check_value(f, value)
    if problem is None:
        out.append(_row(f.name, f.repeat, instance, 0, f.type, value, None, None))


def _rows_choice(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    # check_value's rule for choices, inlined: the most common answer
    if isinstance(value, str) and f.choices is not None and value in f.choices:
        out.append(_row(f.name, f.repeat, instance, 0, f.type, value, None, None))


def _rows_text(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    value, problem = check_value(f, value)
    if problem is None:
        out.append(_text_row(f, instance, 0, f.type, value))


def _rows_long(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    value, problem = check_value(f, value)
    if problem is None:
        out.append(_row(f.name, f.repeat, instance, 0, f.type, None, None, value))


def _rows_number(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    value, problem = check_value(f, value)
    if problem is None:
        out.append(_row(f.name, f.repeat, instance, 0, f.type, None, float(value), None))


def _rows_likert(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    value, problem = check_value(f, value)
    if problem is None:
        out.append(_row(f.name, f.repeat, instance, 0, f.type, str(value), float(value), None))


def _rows_list(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    value, problem = check_value(f, value)
    if problem is None:
        name, repeat, vt = f.name, f.repeat, f.type
        for ordinal, v in enumerate(value, 1):
            out.append(_row(name, repeat, instance, ordinal, vt, v, None, None))


def _rows_geo(f: Field, instance: str, value: Any, out: list[ValueRow]) -> None:
    value, problem = check_value(f, value)
    if problem is None:
        out.append(_row(f.name, f.repeat, instance, 0, f.type, _geo_text(value), None, None))


RowMaker = Callable[[Field, str, Any, list[ValueRow]], None]
ROW_MAKERS: dict[str, RowMaker] = {
    CHOICE: _rows_choice,
    DATE: _rows_text_value,
    TIME: _rows_text_value,
    DATETIME: _rows_text_value,
    BIN: _rows_text_value,
    CONSENT: _rows_text_value,
    TEXT: _rows_text,
    LONG: _rows_long,
    INT: _rows_number,
    DEC: _rows_number,
    LIKERT: _rows_likert,
    MULTI: _rows_list,
    RANK: _rows_list,
    GEO: _rows_geo,
    CALC: _calc_rows,
}


class _Budget:
    __slots__ = ("blocks",)

    def __init__(self) -> None:
        self.blocks = MAX_BLOCKS


def _flatten_scope(
    index: SpecIndex, scope: Scope, block: dict[str, Any], instance: str, out: list[ValueRow], budget: _Budget
) -> None:
    prefix = f"{instance}/" if instance else ""
    get = block.get
    for member in scope.plan:
        value = get(member.name)
        if value is None or value == "" or value == []:
            continue
        if isinstance(member, Field):
            ROW_MAKERS[member.kind](member, instance, value, out)
            continue
        if not isinstance(value, list):
            continue
        for position, child in enumerate(value[: index.repeat_limit(member)], 1):
            if budget.blocks <= 0:
                return
            budget.blocks -= 1
            if isinstance(child, dict):
                _flatten_scope(index, member, child, f"{prefix}{member.name}.{position}", out, budget)


def flatten_answers(spec: SpecIndex | Mapping[str, Any], answers: Any) -> list[ValueRow]:
    """The rows of ``response_values`` for a record's answers (compute calculations first:
    ``validation.computed_answers``). Rows come in document order, repeat blocks in order. Unknown keys
    and values of the wrong shape are skipped: validation reports them."""
    index = index_for(spec)
    out: list[ValueRow] = []
    if isinstance(answers, dict):
        _flatten_scope(index, index.root, answers, "", out, _Budget())
    return out
