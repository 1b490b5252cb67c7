"""The spec compiler: YAML text -> compiled spec JSON, with every issue found in one pass (never raises)."""

from __future__ import annotations

import datetime as dt
import difflib
import heapq
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrain import expressions as ex

from .canonical import content_hash
from .issues import Severity, SpecIssue
from .limits import MAX_ISSUES, MAX_ITEMS, MAX_SOURCE_BYTES, MAX_SUGGESTION_WORK, utf8_size
from .yamlsource import (
    Pos,
    PosMap,
    PosSeq,
    YamlProblem,
    item_pos,
    key_pos,
    load,
    node_pos,
    scalar_offset_pos,
    value_pos,
)

logger = logging.getLogger(__name__)

FORMAT = 1
# The issue code of a compiler bug (never a defect of the spec): tests fail when it appears.
INTERNAL_ERROR = "internal_error"
KINDS = ("questionnaire", "interview_guide", "observation_log")
SPEC_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
# At most 55 characters: with the suffixes the compiler derives (`__covered`, `_other`) a stored item
# name stays within the 64 characters of response_values.item.
ITEM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,54}$")
THEME_NAME = re.compile(r"^[a-z][a-z0-9_]{0,54}$")
LANG_CODE = re.compile(r"^[a-z]{2,3}$")
LABEL_REF = re.compile(r"\$\{([^}]*)\}")
BARE_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INT_TEXT = re.compile(r"^-?[0-9]+$")
MAX_NESTING = 32
MAX_REPEAT = 500
CONSENT_MODES = ("notes_only", "recording_allowed")
AGGREGATES = frozenset({"count", "sum"})
CHOICE_PREFIX = "choice."

# type -> value type in expressions (None: no value)
VALUE_TYPES: dict[str, str | None] = {
    "text": "string",
    "long_text": "string",
    "integer": "number",
    "decimal": "number",
    "single_choice": "string",
    "multiple_choice": "list",
    "yes_no": "string",
    "likert": "number",
    "matrix": "string",
    "date": "date",
    "time": "time",
    "datetime": "datetime",
    "ranking": "list",
    "geopoint": "geopoint",
    "photo": "binary",
    "audio": "binary",
    "file": "binary",
    "signature": "binary",
    "note": None,
    "calculate": "any",
    "consent": "string",
    "group": None,
    "repeat": None,
}
ITEM_TYPES = tuple(VALUE_TYPES)
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice", "likert", "matrix", "ranking"})
CONTAINERS = frozenset({"group", "repeat"})

_VALUE_KEYS = (
    "required",
    "required_message",
    "constraint",
    "constraint_message",
    "default",
    "read_only",
    "sensitive",
)
_BASE = ("name", "type", "label", "hint", "relevant", "appearance")
_ALLOWED: dict[str, frozenset[str]] = {}
for _t in ITEM_TYPES:
    keys = set(_BASE)
    if _t in CONTAINERS:
        keys.add("items")
        if _t == "repeat":
            keys |= {"min", "max", "count"}
    elif _t == "note":
        pass
    elif _t == "calculate":
        keys |= {"calculation", "sensitive"}
    else:
        keys |= set(_VALUE_KEYS)
        if _t in CHOICE_TYPES:
            keys |= {"choices", "choice_list"}
        if _t in ("single_choice", "multiple_choice", "ranking"):
            keys |= {"choice_filter"}
        if _t in ("single_choice", "multiple_choice"):
            keys.add("other")
        if _t == "matrix":
            keys.add("rows")
    _ALLOWED[_t] = frozenset(keys)
ALL_ITEM_KEYS = frozenset().union(*_ALLOWED.values())

# Keys every kind shares, then each kind's own.
COMMON_TOP_KEYS = frozenset(
    {"spec", "kind", "name", "title", "description", "languages", "choice_lists", "items", "metadata"}
)
TOP_KEYS: dict[str, frozenset[str]] = {
    "questionnaire": COMMON_TOP_KEYS,
    "interview_guide": COMMON_TOP_KEYS | {"audiences", "introduction", "consent", "themes"},
    "observation_log": COMMON_TOP_KEYS | {"entry_title"},
}
ALL_TOP_KEYS = frozenset().union(*TOP_KEYS.values())
# Response metadata a spec may ask the device to record (XLSForm's metadata types of the same names).
# Phone number, SIM serial and subscriber ids are deliberately absent: personal data Terrain never collects.
METADATA = ("start", "end", "today", "deviceid", "username")
THEME_KEYS = frozenset(
    {
        "name",
        "title",
        "question",
        "wording",
        "prompts",
        "key",
        "duration",
        "audiences",
        "covered",
        "notes_hint",
        "items",
    }
)
CHOICE_KEYS = frozenset({"value", "label", "filter"})
BUILTIN_LABELS = {
    "yes": {"fr": "Oui", "en": "Yes"},
    "no": {"fr": "Non", "en": "No"},
    "other": {"fr": "Autre", "en": "Other"},
    "other_specify": {"fr": "Précisez", "en": "Please specify"},
}


@dataclass
class CompileResult:
    compiled: dict[str, Any] | None
    issues: list[SpecIssue]
    hash: str | None
    # With odk_typing: (path, source, converted source) of each expression given ODK's conversions.
    conversions: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[SpecIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[SpecIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class FieldInfo:
    name: str
    type: str
    value_type: str
    path: str
    repeats: tuple[str, ...]
    sensitive: bool
    pos: Pos

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "value_type": self.value_type,
            "path": self.path,
            "repeat": self.repeats[-1] if self.repeats else None,
            "sensitive": self.sensitive,
        }


@dataclass
class Scope:
    """Where an item sits: issue path prefix, dotted field path prefix, enclosing repeats."""

    issue_path: str
    field_path: str
    repeats: tuple[str, ...]
    depth: int


@dataclass
class ExprTask:
    """An expression parsed during the walk, checked once every field is known."""

    tree: dict[str, Any]
    src: str
    pos: Pos
    path: str
    key: str
    repeats: tuple[str, ...]
    current: str | None
    owner: str | None
    filter_props: frozenset[str] | None = None
    offsets: list[tuple[int, int]] = field(default_factory=list)
    compiled: dict[str, Any] | None = None  # the {"src", "ast"} put in the compiled spec


@dataclass
class TextTask:
    """A label-like text whose ${refs} are checked once every field is known."""

    text: str
    pos: Pos
    path: str
    repeats: tuple[str, ...]


def _plain(value: Any) -> Any:
    """ruamel scalars and containers -> plain JSON values."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)


def _kind_of(value: Any) -> str:
    """The YAML kind of a value, for wrong_type messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "other"


def _aggregate_free_refs(tree: dict[str, Any]) -> set[str]:
    """Names referenced outside count()/sum() arguments."""
    out: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        t = node.get("t")
        if t == "ref":
            out.add(node["n"])
        elif t == "bin":
            stack.extend((node["l"], node["r"]))
        elif t == "neg":
            stack.append(node["e"])
        elif t == "call" and node.get("f") == "indexed-repeat":
            stack.append(node["a"][2])  # the field is read in a block of its repeat, which is named
        elif t == "call" and node.get("f") not in AGGREGATES:
            stack.extend(node["a"])
    return out


def _form_arguments(tree: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The repeats named by indexed-repeat (repeat -> field read in it) and the lists named by
    choice-label and choice-property: arguments that are names, not values."""
    repeats: dict[str, str] = {}
    lists: list[str] = []
    for node in ex.walk(tree):
        if node["t"] == "call" and node["f"] == "indexed-repeat":
            repeats[node["a"][1]["n"]] = node["a"][0]["n"]
        elif node["t"] == "call" and node["f"] in ("choice-label", "choice-property"):
            lists.append(str(node["a"][1]["v"]))
    return repeats, lists


def _choice_properties(tree: dict[str, Any]) -> list[tuple[str, str]]:
    """The (list, property) pairs named by choice-property(value, 'list', 'property')."""
    return [
        (str(node["a"][1]["v"]), str(node["a"][2]["v"]))
        for node in ex.walk(tree)
        if node["t"] == "call" and node["f"] == "choice-property"
    ]


_CF_TOKEN = re.compile(
    r"""(?P<str>'[^']*'|"[^"]*")|(?P<ref>\$\{[^}]*\})|(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"""
    r"""|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:[-:][A-Za-z_][A-Za-z0-9_]*)*)(?P<call>\s*\()?"""
)
_KEYWORDS = frozenset({"and", "or", "div", "mod"})


def rewrite_choice_filter(src: str) -> tuple[str, list[tuple[int, int]]]:
    """XLSForm choice filters name choice properties bare (``groupe = ${g}``); the expression language has
    no bare names, so each becomes ``${choice.groupe}``. Returns the new text and (new_offset, shift) marks
    to map error offsets back to the original text."""
    out: list[str] = []
    marks: list[tuple[int, int]] = []
    last = 0
    shift = 0
    for m in _CF_TOKEN.finditer(src):
        word = m.group("name")
        if word is None or m.group("call") or word in _KEYWORDS or "-" in word or ":" in word:
            continue
        out.append(src[last : m.start("name")])
        replacement = "${" + CHOICE_PREFIX + word + "}"
        out.append(replacement)
        last = m.end("name")
        shift += len(replacement) - len(word)
        marks.append((m.start("name") + shift, shift))
    out.append(src[last:])
    return "".join(out), marks


def _original_offset(offset: int, marks: list[tuple[int, int]]) -> int:
    shift = 0
    for new_end, s in marks:
        if offset >= new_end:
            shift = s
    return max(0, offset - shift)


class Compiler:
    def __init__(self, text: str, filename: str, odk_typing: bool = False) -> None:
        self.odk_typing = odk_typing
        self.conversions: list[tuple[str, str, str]] = []
        # id(choice list) -> (position, path, value) of its values holding a space
        self.spaced_values: dict[int, list[tuple[Pos, str, str]]] = {}
        self.text = text
        self.file = filename
        self.lines = text.splitlines()
        self.issues: list[SpecIssue] = []
        self.languages: list[str] = ["fr"]
        self.kind = "questionnaire"
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.list_pos: dict[str, Pos] = {}
        self.fields: dict[str, FieldInfo] = {}
        self.names: dict[str, Pos] = {}
        self.calcs: dict[str, tuple[ExprTask, dict[str, Any]]] = {}
        self.exprs: list[ExprTask] = []
        self.texts: list[TextTask] = []
        self.used_lists: set[str] = set()
        self.other_lists: dict[str, str] = {}
        self.audience_names: list[str] = []
        self.suggestion_work = 0

    # --- issues -----------------------------------------------------------------------------------------

    def issue(self, pos: Pos, path: str, code: str, severity: Severity = "error", **params: Any) -> None:
        self.issues.append(SpecIssue(self.file, pos[0] + 1, pos[1] + 1, path, code, params, severity))

    def expr_issue(self, task: ExprTask, error: ex.ExpressionError) -> None:
        offset = _original_offset(error.offset, task.offsets) if task.offsets else error.offset
        pos = scalar_offset_pos(self.lines, task.pos, task.src, offset)
        params = dict(error.params)
        if error.code == "argument_type":
            params["expected_type"] = params.pop("expected", "any")
        elif error.code == "argument_kind":
            params["variant"] = params.get("expected")
        elif error.code == "wrong_arity":
            low, high = params.get("min"), params.get("max")
            params["variant"] = "at_least" if high is None else "exact" if low == high else "range"
        self.issue(pos, task.path, error.code, **params)

    def suggest(self, word: str, choices: Collection[str]) -> str:
        """The closest of ``choices`` ("did you mean"), while the budget lasts: each lookup compares the
        word with every choice, so thousands of unknown names among thousands of fields would take
        minutes. Past MAX_SUGGESTION_WORK names compared, issues come without a suggestion."""
        if self.suggestion_work + len(choices) > MAX_SUGGESTION_WORK:
            return ""  # small lookups (keys, types) may still fit later
        self.suggestion_work += len(choices)
        found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
        return found[0] if found else ""

    # --- typed accessors ---------------------------------------------------------------------------------

    def wrong_type(self, node: Any, key: Any, path: str, expected: str) -> None:
        pos = value_pos(node, key, node_pos(node, (0, 0)))
        self.issue(pos, path, "wrong_type", expected=expected, found=_kind_of(node[key]))

    def get_str(self, node: Any, key: str, path: str) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.wrong_type(node, key, path, "string")
            return None
        return str(value)

    def get_bool(self, node: Any, key: str, path: str, default: bool = False) -> bool:
        value = node.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.wrong_type(node, key, path, "boolean")
            return default
        return value

    def get_int(self, node: Any, key: str, path: str) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(node, key, path, "integer")
            return None
        return int(value)

    def get_list(self, node: Any, key: str, path: str) -> list[Any] | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.wrong_type(node, key, path, "list")
            return None
        return value

    def check_keys(
        self, node: Any, allowed: frozenset[str], path: str, known: frozenset[str] = frozenset()
    ) -> None:
        for key in node:
            if not isinstance(key, str):
                self.issue(key_pos(node, key, node_pos(node, (0, 0))), path, "invalid_key", key=str(key))
                continue
            if key in allowed:
                continue
            pos = key_pos(node, key, node_pos(node, (0, 0)))
            if key in known:
                self.issue(pos, f"{path}.{key}" if path else key, "key_not_allowed", key=key, context=path)
            else:
                self.issue(
                    pos,
                    f"{path}.{key}" if path else key,
                    "unknown_key",
                    key=key,
                    suggestion=self.suggest(key, allowed),
                )

    def label(
        self,
        node: Any,
        key: Any,
        path: str,
        repeats: tuple[str, ...] = (),
        required: bool = False,
        owner_pos: Pos = (0, 0),
    ) -> dict[str, str] | None:
        """A label: a French string or a {lang: text} mapping; ${refs} queued for checking."""
        in_list = isinstance(node, list)
        if in_list:
            value = node[key] if isinstance(key, int) and 0 <= key < len(node) else None
        else:
            value = node.get(key) if isinstance(node, dict) else None
        pos = item_pos(node, key, owner_pos) if in_list else value_pos(node, key, owner_pos)
        if value is None:
            if required:
                self.issue(pos if in_list else node_pos(node, owner_pos), path, "missing_key", key=str(key))
            return None
        if isinstance(value, str):
            self.texts.append(TextTask(str(value), pos, path, repeats))
            return {"fr": str(value)}
        if not isinstance(value, dict):
            self.issue(pos, path, "wrong_type", expected="label", found=_kind_of(value))
            return None
        out: dict[str, str] = {}
        for lang, text in value.items():
            lpos = key_pos(value, lang, pos)
            if not isinstance(lang, str) or not LANG_CODE.match(lang):
                self.issue(lpos, f"{path}.{lang}", "invalid_language", lang=str(lang))
                continue
            if not isinstance(text, str):
                self.wrong_type(value, lang, f"{path}.{lang}", "string")
                continue
            if lang not in self.languages:
                self.issue(lpos, f"{path}.{lang}", "undeclared_language", "warning", lang=lang)
            self.texts.append(TextTask(str(text), value_pos(value, lang, lpos), f"{path}.{lang}", repeats))
            out[lang] = str(text)
        if "fr" not in out and not any(k == "fr" for k in value):
            self.issue(pos, path, "missing_french")
        # Declared languages first, in their order; others after (already warned about).
        return {k: out[k] for k in sorted(out, key=lambda k: (k not in self.languages, self._lang_rank(k)))}

    def _lang_rank(self, lang: str) -> int:
        return self.languages.index(lang) if lang in self.languages else 0

    def expression(
        self,
        node: Any,
        key: str,
        path: str,
        repeats: tuple[str, ...],
        current: str | None = None,
        owner: str | None = None,
        filter_props: frozenset[str] | None = None,
    ) -> tuple[dict[str, Any] | None, ExprTask | None]:
        value = node.get(key)
        if value is None:
            return None, None
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
            value = {"true": "true()", "false": "false()"}.get(value, value)
        if not isinstance(value, str):
            self.wrong_type(node, key, f"{path}.{key}", "expression")
            return None, None
        src = str(value)
        pos = value_pos(node, key, node_pos(node, (0, 0)))
        task = ExprTask({}, src, pos, f"{path}.{key}", key, repeats, current, owner, filter_props)
        text = src
        if filter_props is not None:
            text, task.offsets = rewrite_choice_filter(src)
        try:
            task.tree = ex.parse(text)
        except ex.ExpressionError as error:
            self.expr_issue(task, error)
            return None, None
        # Any other exception is a bug of the parser: it reaches compile_text's internal_error, never a
        # syntax error blamed on the coordinator's text.
        self.exprs.append(task)
        task.compiled = {"src": src, "ast": task.tree}
        return task.compiled, task

    # --- names ------------------------------------------------------------------------------------------

    def declare(self, name: str, pos: Pos, path: str) -> bool:
        first = self.names.get(name)
        if first is not None:
            self.issue(pos, path, "duplicate_name", name=name, line=first[0] + 1)
            return False
        self.names[name] = pos
        return True

    def add_field(self, name: str, type_: str, path: str, scope: Scope, sensitive: bool, pos: Pos) -> None:
        value_type = VALUE_TYPES.get(type_) or "string"
        if type_ == "matrix_row":
            type_, value_type = "single_choice", "string"
        self.fields[name] = FieldInfo(name, type_, value_type, path, scope.repeats, sensitive, pos)

    # --- document ----------------------------------------------------------------------------------------

    def run(self, document: Any = None) -> CompileResult:
        if document is not None:
            doc = _positionless(document)
        else:
            try:
                doc = load(self.text)
            except YamlProblem as problem:
                self.issue(problem.pos, "", problem.code, **problem.params)
                return CompileResult(None, self.issues, None)
        if not isinstance(doc, PosMap):
            self.issue((0, 0), "", "not_a_mapping", found=_kind_of(doc))
            return CompileResult(None, self.issues, None)
        if not self.items_within_limit(doc):
            return CompileResult(None, self.issues, None)
        compiled = self.document(doc)
        if any(i.severity == "error" for i in self.issues) or compiled is None:
            return CompileResult(None, self.issues, None)
        return CompileResult(compiled, self.issues, content_hash(compiled))

    def items_within_limit(self, doc: PosMap) -> bool:
        """Counts the entries of every `items` list (aliases expanded) before the walk, whose work grows
        with them; over MAX_ITEMS, the issue points at the first entry past the limit."""
        roots = [doc.get("items")]
        themes = doc.get("themes")
        if isinstance(themes, list):
            roots += [theme.get("items") for theme in themes if isinstance(theme, dict)]
        # (list, next index), in document order; the loader bounds the depth and refuses cycles
        stack: list[tuple[list[Any], int]] = [(seq, 0) for seq in reversed(roots) if isinstance(seq, list)]
        total = 0
        over: Pos = (0, 0)
        while stack:
            seq, index = stack.pop()
            if index >= len(seq):
                continue
            stack.append((seq, index + 1))
            total += 1
            if total == MAX_ITEMS + 1:
                over = item_pos(seq, index, node_pos(seq, (0, 0)))
            entry = seq[index]
            if isinstance(entry, dict) and isinstance(entry.get("items"), list):
                stack.append((entry["items"], 0))
        if total <= MAX_ITEMS:
            return True
        self.issue(over, "items", "too_many_items", count=total, max=MAX_ITEMS)
        return False

    def document(self, doc: PosMap) -> dict[str, Any] | None:
        origin = (0, 0)
        # kind first: it decides which keys are allowed
        kind = doc.get("kind")
        if kind is None:
            self.issue(origin, "kind", "missing_key", key="kind")
        elif not isinstance(kind, str) or kind not in KINDS:
            self.issue(
                value_pos(doc, "kind", origin),
                "kind",
                "unknown_kind",
                kind=str(kind),
                suggestion=self.suggest(str(kind), KINDS),
            )
        else:
            self.kind = str(kind)
        self.check_keys(doc, TOP_KEYS[self.kind], "", ALL_TOP_KEYS)

        spec = doc.get("spec")
        if spec is None:
            self.issue(origin, "spec", "missing_key", key="spec")
        elif isinstance(spec, bool) or spec != FORMAT:
            self.issue(value_pos(doc, "spec", origin), "spec", "unsupported_format", found=str(spec))

        name = doc.get("name")
        if name is None:
            self.issue(origin, "name", "missing_key", key="name")
        elif not isinstance(name, str) or not SPEC_NAME.match(name):
            self.issue(value_pos(doc, "name", origin), "name", "invalid_spec_name", name=str(name))

        self.languages = self.parse_languages(doc)
        title = self.label(doc, "title", "title", required=True)
        description = self.label(doc, "description", "description")

        choice_lists = self.parse_choice_lists(doc)
        items = self.parse_items_key(
            doc, "items", Scope("items", "", (), 0), required=self.kind != "interview_guide"
        )

        extra: dict[str, Any] = {}
        if self.kind == "interview_guide":
            extra = self.parse_guide(doc)
        elif self.kind == "observation_log":
            extra["entry_title"] = self.label(doc, "entry_title", "entry_title")

        metadata = self.parse_metadata(doc)
        order = self.resolve()
        self.check_texts()
        if any(i.severity == "error" for i in self.issues):
            return None
        lists = {n: choice_lists[n] for n in choice_lists}
        for n, values in self.lists.items():
            if n not in lists:
                lists[n] = values
        compiled: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind,
            "name": str(name),
            "title": title,
            "description": description,
            "languages": list(self.languages),
            "choice_lists": lists,
            "items": items,
            "fields": {n: f.to_json() for n, f in self.fields.items()},
            "calculation_order": order,
            "metadata": metadata,
        }
        compiled.update(extra)
        return compiled

    def named_entry(self, entry: Any, pos: Pos, path: str, pattern: re.Pattern[str]) -> str | None:
        """One `{name, label}` entry (matrix row, audience): its name when the entry is well formed."""
        if not isinstance(entry, dict):
            self.issue(pos, path, "wrong_type", expected="mapping", found=_kind_of(entry))
            return None
        self.check_keys(entry, frozenset({"name", "label"}), path)
        name = entry.get("name")
        if isinstance(name, str) and pattern.match(name):
            return name
        if name is None:
            self.issue(pos, path, "missing_key", key="name")
        else:
            self.issue(value_pos(entry, "name", pos), f"{path}.name", "invalid_item_name", name=str(name))
        return None

    def parse_metadata(self, doc: PosMap) -> list[str]:
        value = doc.get("metadata")
        if value is None:
            return []
        if not isinstance(value, list):
            self.wrong_type(doc, "metadata", "metadata", "list")
            return []
        out: list[str] = []
        for i, name in enumerate(value):
            pos = item_pos(value, i, value_pos(doc, "metadata", (0, 0)))
            if not isinstance(name, str) or name not in METADATA:
                self.issue(
                    pos,
                    f"metadata[{i}]",
                    "unknown_metadata",
                    name=str(name),
                    allowed=", ".join(METADATA),
                    suggestion=self.suggest(str(name), METADATA),
                )
            elif name in out:
                self.issue(pos, f"metadata[{i}]", "duplicate_metadata", "warning", name=name)
            else:
                out.append(name)
        return out

    def parse_languages(self, doc: PosMap) -> list[str]:
        value = doc.get("languages")
        if value is None:
            return ["fr"]
        if not isinstance(value, list) or not value:
            self.wrong_type(doc, "languages", "languages", "list")
            return ["fr"]
        out: list[str] = []
        for i, lang in enumerate(value):
            pos = item_pos(value, i, value_pos(doc, "languages", (0, 0)))
            if not isinstance(lang, str) or not LANG_CODE.match(lang):
                self.issue(pos, f"languages[{i}]", "invalid_language", lang=str(lang))
            elif lang in out:
                self.issue(pos, f"languages[{i}]", "duplicate_language", lang=lang)
            else:
                out.append(str(lang))
        if "fr" not in out:
            self.issue(value_pos(doc, "languages", (0, 0)), "languages", "french_required")
        return ["fr"] + [lang for lang in out if lang != "fr"]

    # --- choice lists --------------------------------------------------------------------------------------

    def parse_choice_lists(self, doc: PosMap) -> dict[str, list[dict[str, Any]]]:
        value = doc.get("choice_lists")
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.wrong_type(doc, "choice_lists", "choice_lists", "mapping")
            return {}
        for name in value:
            pos = key_pos(value, name, (0, 0))
            path = f"choice_lists.{name}"
            if not isinstance(name, str) or not ITEM_NAME.match(name):
                self.issue(pos, path, "invalid_list_name", name=str(name))
                continue
            if name == "yes_no":
                self.issue(pos, path, "reserved_list_name", name=name)
                continue
            choices = self.parse_choices(value, name, path)
            if choices is not None:
                self.lists[name] = choices
                self.list_pos[name] = pos
        return dict(self.lists)

    def parse_choices(self, node: Any, key: Any, path: str) -> list[dict[str, Any]] | None:
        value = node.get(key)
        if not isinstance(value, list):
            self.wrong_type(node, key, path, "list")
            return None
        lpos = value_pos(node, key, node_pos(node, (0, 0)))
        if not value:
            self.issue(lpos, path, "empty_choice_list")
            return None
        out: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for i, choice in enumerate(value):
            cpos = item_pos(value, i, lpos)
            cpath = f"{path}[{i}]"
            if not isinstance(choice, dict):
                self.issue(cpos, cpath, "wrong_type", expected="mapping", found=_kind_of(choice))
                continue
            self.check_keys(choice, CHOICE_KEYS, cpath)
            raw = choice.get("value")
            vpos = value_pos(choice, "value", cpos)
            if raw is None:
                self.issue(cpos, cpath, "missing_key", key="value")
                continue
            if isinstance(raw, bool) or not isinstance(raw, str | int):
                self.issue(vpos, f"{cpath}.value", "invalid_choice_value", value=str(raw))
                continue
            text = str(raw)
            if not text or text != text.strip() or any(c.isspace() and c != " " for c in text):
                self.issue(vpos, f"{cpath}.value", "invalid_choice_value", value=text)
                continue
            if " " in text:
                # Safe for a single answer (stored whole); a multiple answer is written space-separated
                # (ODK submissions): item_choices refuses such a list for multiple choices and rankings.
                self.spaced_values.setdefault(id(out), []).append((vpos, f"{cpath}.value", text))
            if text in seen:
                self.issue(vpos, f"{cpath}.value", "duplicate_choice_value", value=text, line=seen[text])
                continue
            seen[text] = vpos[0] + 1
            label = self.label(choice, "label", f"{cpath}.label", required=True, owner_pos=cpos)
            filt: dict[str, Any] = {}
            fvalue = choice.get("filter")
            if fvalue is not None:
                if not isinstance(fvalue, dict):
                    self.wrong_type(choice, "filter", f"{cpath}.filter", "mapping")
                else:
                    for fk, fv in fvalue.items():
                        if not isinstance(fk, str) or not ITEM_NAME.match(fk):
                            self.issue(
                                key_pos(fvalue, fk, cpos), f"{cpath}.filter", "invalid_key", key=str(fk)
                            )
                        elif isinstance(fv, dict | list):
                            self.wrong_type(fvalue, fk, f"{cpath}.filter.{fk}", "string")
                        else:
                            filt[fk] = _plain(fv)
            out.append({"value": text, "label": label, "filter": filt})
        return out

    def builtin_yes_no(self) -> str:
        if "yes_no" not in self.lists:
            self.lists["yes_no"] = [
                {"value": v, "label": self.builtin_label(v), "filter": {}} for v in ("yes", "no")
            ]
        return "yes_no"

    def builtin_label(self, key: str) -> dict[str, str]:
        labels = BUILTIN_LABELS[key]
        return {lang: labels[lang] for lang in self.languages if lang in labels}

    # --- items ---------------------------------------------------------------------------------------------

    def parse_items_key(
        self, node: Any, key: str, scope: Scope, required: bool
    ) -> list[dict[str, Any]] | None:
        value = node.get(key)
        if value is None:
            if required:
                self.issue(node_pos(node, (0, 0)), scope.issue_path, "missing_key", key=key)
            return [] if not required else None
        if not isinstance(value, list):
            self.wrong_type(node, key, scope.issue_path, "list")
            return None
        if not value and required:
            self.issue(value_pos(node, key, (0, 0)), scope.issue_path, "empty_items")
        if scope.depth > MAX_NESTING:
            self.issue(value_pos(node, key, (0, 0)), scope.issue_path, "too_deep", max=MAX_NESTING)
            return None
        out: list[dict[str, Any]] = []
        for i, entry in enumerate(value):
            pos = item_pos(value, i, value_pos(node, key, (0, 0)))
            if not isinstance(entry, dict):
                self.issue(
                    pos, f"{scope.issue_path}[{i}]", "wrong_type", expected="mapping", found=_kind_of(entry)
                )
                continue
            out.extend(self.parse_item(entry, i, pos, scope))
        return out

    def parse_item(self, node: Any, index: int, pos: Pos, scope: Scope) -> list[dict[str, Any]]:
        name = node.get("name")
        valid_name = isinstance(name, str) and bool(ITEM_NAME.match(name))
        path = f"{scope.issue_path}.{name}" if valid_name else f"{scope.issue_path}[{index}]"
        if name is None:
            self.issue(pos, path, "missing_key", key="name")
        elif not valid_name:
            self.issue(value_pos(node, "name", pos), f"{path}.name", "invalid_item_name", name=str(name))
        type_ = node.get("type")
        if type_ is None:
            self.issue(pos, path, "missing_key", key="type")
            return []
        if not isinstance(type_, str) or type_ not in VALUE_TYPES:
            self.issue(
                value_pos(node, "type", pos),
                f"{path}.type",
                "unknown_type",
                type=str(type_),
                suggestion=self.suggest(str(type_), ITEM_TYPES),
            )
            return []
        self.check_keys(node, _ALLOWED[type_], path, ALL_ITEM_KEYS)
        name = str(name) if valid_name else f"_{index}"
        if valid_name:
            self.declare(name, value_pos(node, "name", pos), f"{path}.name")
        field_path = f"{scope.field_path}.{name}" if scope.field_path else name
        value_type = VALUE_TYPES[type_]
        reps = scope.repeats
        label = self.label(node, "label", f"{path}.label", reps, required=type_ != "calculate", owner_pos=pos)
        item: dict[str, Any] = {
            "name": name,
            "type": type_,
            "value_type": value_type,
            "label": label,
            "hint": self.label(node, "hint", f"{path}.hint", reps),
            "required": False,
            "required_if": None,
            "required_message": self.label(node, "required_message", f"{path}.required_message", reps),
            "relevant": self.expression(node, "relevant", path, reps, owner=name)[0],
            "constraint": None,
            "constraint_message": self.label(node, "constraint_message", f"{path}.constraint_message", reps),
            "default": None,
            "read_only": self.get_bool(node, "read_only", f"{path}.read_only"),
            "sensitive": self.get_bool(node, "sensitive", f"{path}.sensitive"),
            "appearance": self.get_str(node, "appearance", f"{path}.appearance"),
            "choice_list": None,
            "choice_filter": None,
            "other": False,
            "calculation": None,
            "items": None,
            "min": None,
            "max": None,
            "count": None,
            "rows": None,
        }
        extra: list[dict[str, Any]] = []
        if type_ in CONTAINERS:
            child_repeats = (*reps, name) if type_ == "repeat" else reps
            child = Scope(f"{path}.items", field_path, child_repeats, scope.depth + 1)
            if type_ == "repeat":
                self.parse_repeat(node, item, path, pos, scope)
            item["items"] = self.parse_items_key(node, "items", child, required=True) or []
            return [item]
        if type_ == "note":
            return [item]
        if type_ == "calculate":
            calc, task = self.expression(node, "calculation", path, reps, owner=name)
            item["calculation"] = calc
            if "calculation" not in node:
                self.issue(pos, path, "missing_key", key="calculation")
            if task is not None:
                self.calcs[name] = (task, item)
            self.add_field(name, type_, field_path, scope, item["sensitive"], pos)
            return [item]

        # value-carrying items
        required = node.get("required")
        if isinstance(required, bool):
            item["required"] = required
        elif (
            isinstance(required, str)
            and BARE_WORD.match(required.strip())
            and required.strip() not in ("true",)
        ):
            self.issue(
                value_pos(node, "required", pos),
                f"{path}.required",
                "wrong_type",
                expected="required",
                found=str(required),
            )
        elif required is not None:
            item["required_if"] = self.expression(node, "required", path, reps, owner=name)[0]
        if type_ == "consent":
            if required is False:
                self.issue(value_pos(node, "required", pos), f"{path}.required", "consent_required")
            item["required"] = True
        item["constraint"] = self.expression(node, "constraint", path, reps, current=value_type, owner=name)[
            0
        ]
        list_name = None
        if type_ in CHOICE_TYPES:
            list_name = self.item_choices(node, item, path, pos, type_, scope)
        elif type_ == "yes_no":
            list_name = self.builtin_yes_no()
            item["choice_list"] = list_name
        if type_ == "matrix":
            self.parse_rows(node, item, path, pos, scope, field_path)
        else:
            self.add_field(name, type_, field_path, scope, item["sensitive"], pos)
        if "default" in node:
            item["default"] = self.parse_default(node, type_, path, pos, list_name)
        if item["other"] and valid_name:
            extra.append(self.other_companion(item, scope, field_path, pos, path))
        return [item, *extra]

    def parse_repeat(self, node: Any, item: dict[str, Any], path: str, pos: Pos, scope: Scope) -> None:
        for key in ("min", "max"):
            value = self.get_int(node, key, f"{path}.{key}")
            if value is not None and not 0 <= value <= MAX_REPEAT:
                self.issue(
                    value_pos(node, key, pos), f"{path}.{key}", "repeat_bound", key=key, max=MAX_REPEAT
                )
                value = None
            item[key] = value
        if item["min"] is not None and item["max"] is not None and item["min"] > item["max"]:
            self.issue(
                value_pos(node, "min", pos), f"{path}.min", "repeat_min_max", min=item["min"], max=item["max"]
            )
        # count is evaluated outside the repeat it sizes: in the enclosing scope
        item["count"] = self.expression(node, "count", path, scope.repeats, owner=item["name"])[0]

    def item_choices(
        self, node: Any, item: dict[str, Any], path: str, pos: Pos, type_: str, scope: Scope
    ) -> str | None:
        name = item["name"]
        inline = node.get("choices")
        named = node.get("choice_list")
        list_name: str | None = None
        if inline is not None and named is not None:
            self.issue(key_pos(node, "choice_list", pos), f"{path}.choice_list", "choices_conflict")
        if inline is not None:
            choices = self.parse_choices(node, "choices", f"{path}.choices")
            if choices is not None:
                list_name = name
                k = 2
                while list_name in self.lists:
                    list_name = f"{name}_{k}"
                    k += 1
                self.lists[list_name] = choices
        elif named is not None:
            if not isinstance(named, str):
                self.wrong_type(node, "choice_list", f"{path}.choice_list", "string")
            elif named not in self.list_pos:
                self.issue(
                    value_pos(node, "choice_list", pos),
                    f"{path}.choice_list",
                    "unknown_choice_list",
                    name=named,
                    suggestion=self.suggest(named, self.list_pos),
                )
            else:
                list_name = str(named)
        else:
            self.issue(pos, path, "missing_choices")
        if list_name is None:
            return None
        values = self.lists[list_name]
        if type_ in ("multiple_choice", "ranking"):
            for vpos, vpath, text in self.spaced_values.pop(id(values), []):
                self.issue(vpos, vpath, "invalid_choice_value", value=text)
        if type_ == "likert":
            lpos = value_pos(node, "choices" if inline is not None else "choice_list", pos)
            for choice in values:
                if not INT_TEXT.match(choice["value"]):
                    self.issue(lpos, f"{path}.choices", "likert_not_integer", value=choice["value"])
                    break
        if node.get("other") is not None:
            item["other"] = self.get_bool(node, "other", f"{path}.other")
        if item["other"]:
            if any(c["value"] == "other" for c in values):
                self.issue(
                    value_pos(node, "other", pos), f"{path}.other", "other_value_exists", list=list_name
                )
            elif inline is not None:
                values.append({"value": "other", "label": self.builtin_label("other"), "filter": {}})
            else:
                derived = self.other_lists.get(list_name)
                if derived is None:
                    derived = f"{list_name}__other"
                    self.lists[derived] = [
                        *values,
                        {"value": "other", "label": self.builtin_label("other"), "filter": {}},
                    ]
                    self.other_lists[list_name] = derived
                list_name = derived
        item["choice_list"] = list_name
        if "choice_filter" in node:
            props = frozenset({"value"}).union(*(c["filter"].keys() for c in self.lists[list_name]))
            item["choice_filter"] = self.expression(
                node, "choice_filter", path, scope.repeats, owner=name, filter_props=props
            )[0]
        return list_name

    def parse_rows(
        self, node: Any, item: dict[str, Any], path: str, pos: Pos, scope: Scope, field_path: str
    ) -> None:
        rows = self.get_list(node, "rows", f"{path}.rows")
        if rows is None:
            if "rows" not in node:
                self.issue(pos, path, "missing_key", key="rows")
            return
        if not rows:
            self.issue(value_pos(node, "rows", pos), f"{path}.rows", "empty_rows")
        out: list[dict[str, Any]] = []
        for i, row in enumerate(rows):
            rpos = item_pos(rows, i, pos)
            rpath = f"{path}.rows[{i}]"
            rname = self.named_entry(row, rpos, rpath, ITEM_NAME)
            if rname is None:
                continue
            label = self.label(row, "label", f"{rpath}.label", scope.repeats, required=True, owner_pos=rpos)
            if self.declare(rname, value_pos(row, "name", rpos), f"{rpath}.name"):
                self.add_field(rname, "matrix_row", f"{field_path}.{rname}", scope, item["sensitive"], rpos)
            out.append({"name": str(rname), "label": label})
        item["rows"] = out

    def parse_default(self, node: Any, type_: str, path: str, pos: Pos, list_name: str | None) -> Any:
        value = node.get("default")
        vpos = value_pos(node, "default", pos)
        if value is None:
            return None
        ok = True
        plain = _plain(value)
        if type_ in ("integer", "likert"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif type_ == "decimal":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif type_ in ("date", "time", "datetime"):
            ok = isinstance(value, str | dt.date) and not isinstance(value, bool)
        elif type_ in ("multiple_choice", "ranking"):
            if isinstance(value, str):
                plain = str(value).split()
            ok = isinstance(plain, list) and all(isinstance(v, str | int) for v in plain)
            if ok:
                plain = [str(v) for v in plain]
        elif type_ == "geopoint":
            ok = isinstance(value, dict)
        else:
            ok = isinstance(value, str | int | float) and not isinstance(value, bool)
            plain = str(value) if ok else plain
        if not ok:
            self.issue(vpos, f"{path}.default", "bad_default", value=str(plain), type=type_)
            return None
        if list_name is not None and list_name in self.lists:
            values = {c["value"] for c in self.lists[list_name]}
            wanted = plain if isinstance(plain, list) else [str(plain)]
            for v in wanted:
                if v not in values:
                    self.issue(vpos, f"{path}.default", "default_not_a_choice", value=v, list=list_name)
                    return None
        return plain

    def other_companion(
        self, item: dict[str, Any], scope: Scope, field_path: str, pos: Pos, path: str
    ) -> dict[str, Any]:
        name = f"{item['name']}_other"
        test = "selected(${%s}, 'other')" if item["type"] == "multiple_choice" else "${%s} = 'other'"
        src = test % item["name"]
        companion: dict[str, Any] = dict.fromkeys(item)
        companion.update(
            name=name,
            type="text",
            value_type="string",
            label=self.builtin_label("other_specify"),
            required=False,
            relevant={"src": src, "ast": ex.parse(src)},
            read_only=False,
            sensitive=item["sensitive"],
            other=False,
        )
        if self.declare(name, pos, f"{path}.other"):
            parent = field_path.rsplit(".", 1)[0] if "." in field_path else ""
            self.add_field(
                name, "text", f"{parent}.{name}" if parent else name, scope, item["sensitive"], pos
            )
        return companion

    # --- interview guides ----------------------------------------------------------------------------------

    def parse_guide(self, doc: PosMap) -> dict[str, Any]:
        origin = (0, 0)
        audiences: list[dict[str, Any]] = []
        raw = self.get_list(doc, "audiences", "audiences")
        if raw is None and "audiences" not in doc:
            self.issue(origin, "audiences", "missing_key", key="audiences")
        elif raw is not None and not raw:
            self.issue(value_pos(doc, "audiences", origin), "audiences", "no_audience")
        for i, entry in enumerate(raw or []):
            apos = item_pos(raw, i, origin)
            apath = f"audiences[{i}]"
            aname = self.named_entry(entry, apos, apath, THEME_NAME)
            if aname is None:
                continue
            if aname in self.audience_names:
                self.issue(value_pos(entry, "name", apos), f"{apath}.name", "duplicate_audience", name=aname)
                continue
            self.audience_names.append(str(aname))
            label = self.label(entry, "label", f"audiences.{aname}.label", required=True, owner_pos=apos)
            audiences.append({"name": str(aname), "label": label})

        introduction = self.label(doc, "introduction", "introduction")
        consent: dict[str, Any] | None = None
        craw = doc.get("consent")
        if craw is not None:
            if not isinstance(craw, dict):
                self.wrong_type(doc, "consent", "consent", "mapping")
            else:
                cpos = value_pos(doc, "consent", origin)
                self.check_keys(craw, frozenset({"mode", "text"}), "consent")
                mode = craw.get("mode")
                if mode is None:
                    self.issue(cpos, "consent", "missing_key", key="mode")
                elif mode not in CONSENT_MODES:
                    self.issue(
                        value_pos(craw, "mode", cpos),
                        "consent.mode",
                        "unknown_consent_mode",
                        mode=str(mode),
                        suggestion=self.suggest(str(mode), CONSENT_MODES),
                    )
                text = self.label(craw, "text", "consent.text", required=True, owner_pos=cpos)
                consent = {"mode": str(mode) if mode in CONSENT_MODES else None, "text": text}

        themes: list[dict[str, Any]] = []
        traw = self.get_list(doc, "themes", "themes")
        if traw is None and "themes" not in doc:
            self.issue(origin, "themes", "missing_key", key="themes")
        elif traw is not None and not traw:
            self.issue(value_pos(doc, "themes", origin), "themes", "no_theme")
        theme_names: set[str] = set()
        for i, entry in enumerate(traw or []):
            tpos = item_pos(traw, i, origin)
            if not isinstance(entry, dict):
                self.issue(tpos, f"themes[{i}]", "wrong_type", expected="mapping", found=_kind_of(entry))
                continue
            theme = self.parse_theme(entry, i, tpos, theme_names)
            if theme is not None:
                themes.append(theme)
        return {"audiences": audiences, "introduction": introduction, "consent": consent, "themes": themes}

    def parse_theme(self, node: Any, index: int, pos: Pos, seen: set[str]) -> dict[str, Any] | None:
        name = node.get("name")
        valid = isinstance(name, str) and bool(THEME_NAME.match(name))
        path = f"themes.{name}" if valid else f"themes[{index}]"
        self.check_keys(node, THEME_KEYS, path)
        if name is None:
            self.issue(pos, path, "missing_key", key="name")
        elif not valid:
            self.issue(value_pos(node, "name", pos), f"{path}.name", "invalid_item_name", name=str(name))
        elif name in seen:
            self.issue(value_pos(node, "name", pos), f"{path}.name", "duplicate_theme", name=name)
            valid = False
        name = str(name) if valid else f"_{index}"
        seen.add(name)
        title = self.label(node, "title", f"{path}.title", required=True, owner_pos=pos)
        question = self.label(node, "question", f"{path}.question", required=True, owner_pos=pos)
        wording: dict[str, Any] = {}
        wraw = node.get("wording")
        if wraw is not None:
            if not isinstance(wraw, dict):
                self.wrong_type(node, "wording", f"{path}.wording", "mapping")
            else:
                for audience in wraw:
                    wpath = f"{path}.wording.{audience}"
                    if audience not in self.audience_names:
                        self.issue(
                            key_pos(wraw, audience, pos),
                            wpath,
                            "unknown_audience",
                            name=str(audience),
                            suggestion=self.suggest(str(audience), self.audience_names),
                        )
                        continue
                    wording[str(audience)] = self.label(wraw, audience, wpath, required=True, owner_pos=pos)
        prompts: list[dict[str, str] | None] = []
        praw = self.get_list(node, "prompts", f"{path}.prompts")
        for i in range(len(praw or [])):
            prompts.append(self.label(praw, i, f"{path}.prompts[{i}]", required=True, owner_pos=pos))
        duration = self.get_int(node, "duration", f"{path}.duration")
        if duration is not None and duration <= 0:
            self.issue(value_pos(node, "duration", pos), f"{path}.duration", "bad_duration", value=duration)
        audiences = list(self.audience_names)
        araw = self.get_list(node, "audiences", f"{path}.audiences")
        if araw is not None:
            audiences = []
            for i, audience in enumerate(araw):
                if not isinstance(audience, str) or audience not in self.audience_names:
                    self.issue(
                        item_pos(araw, i, pos),
                        f"{path}.audiences[{i}]",
                        "unknown_audience",
                        name=str(audience),
                        suggestion=self.suggest(str(audience), self.audience_names),
                    )
                elif audience not in audiences:
                    audiences.append(str(audience))
            if not araw:
                self.issue(value_pos(node, "audiences", pos), f"{path}.audiences", "no_audience")
        covered = self.get_bool(node, "covered", f"{path}.covered", default=True)
        scope = Scope(f"{path}.items", name, (), 1)
        items = self.parse_items_key(node, "items", scope, required=False) or []
        if valid:
            generated = [(f"{name}__notes", "long_text")]
            if covered:
                generated.append((f"{name}__covered", "yes_no"))
                self.builtin_yes_no()
            for fname, ftype in generated:
                if self.declare(fname, value_pos(node, "name", pos), f"{path}.name"):
                    self.add_field(fname, ftype, f"{name}.{fname}", scope, False, pos)
        return {
            "name": name,
            "title": title,
            "question": question,
            "wording": wording,
            "prompts": prompts,
            "key": self.get_bool(node, "key", f"{path}.key"),
            "duration": duration,
            "audiences": audiences,
            "covered": covered,
            "notes_hint": self.label(node, "notes_hint", f"{path}.notes_hint"),
            "items": items,
        }

    # --- references, types, calculation order --------------------------------------------------------------

    def resolve(self) -> list[str]:
        """Check every expression; return the calculation order (dependencies first)."""
        types: dict[str, str] = {n: f.value_type for n, f in self.fields.items()}
        broken: set[int] = set()
        for index, task in enumerate(self.exprs):
            if not self.check_refs(task):
                broken.add(index)
        order = self.calculation_order(broken)
        calc_ids = {id(task) for task, _ in self.calcs.values()}
        for name in order:
            task, item = self.calcs[name]
            if id(task) in {id(self.exprs[i]) for i in broken}:
                continue
            self.coerce(task, types)
            try:
                inferred = ex.infer_type(task.tree, types, None)
            except ex.ExpressionError as error:
                self.expr_issue(task, error)
                continue
            types[name] = inferred
            item["value_type"] = inferred
            self.fields[name].value_type = inferred
        for index, task in enumerate(self.exprs):
            if index in broken or id(task) in calc_ids:
                continue
            local = types
            if task.filter_props is not None:
                local = dict(types)
                local.update({CHOICE_PREFIX + p: "any" for p in task.filter_props})
            else:
                self.coerce(task, local)
            try:
                result = ex.infer_type(task.tree, local, task.current)
            except ex.ExpressionError as error:
                self.expr_issue(task, error)
                continue
            if task.key == "count" and result not in ("number", "any", "string"):
                self.issue(task.pos, task.path, "count_not_number", type=result)
        return order

    def coerce(self, task: ExprTask, types: dict[str, str]) -> None:
        """XLSForm imports: make ODK's conversions explicit (number(), date()...) in the tree and its source,
        recorded in ``conversions``; a type error no conversion explains is left to infer_type."""
        if not self.odk_typing or task.compiled is None:
            return
        try:
            tree, count = ex.coerce_odk(task.tree, types, task.current)
        except ex.ExpressionError:
            return
        if not count:
            return
        src = ex.to_source(tree)
        self.conversions.append((task.path, task.src, src))
        task.tree = tree
        task.src = src
        task.compiled["ast"] = tree
        task.compiled["src"] = src

    def check_refs(self, task: ExprTask) -> bool:
        ok = True
        free = _aggregate_free_refs(task.tree)
        repeats, lists = _form_arguments(task.tree)
        for list_name in lists:
            if list_name not in self.lists:
                self.issue(
                    task.pos,
                    task.path,
                    "unknown_choice_list",
                    name=list_name,
                    suggestion=self.suggest(list_name, self.lists),
                )
                ok = False
        for list_name, prop in _choice_properties(task.tree):
            choices = self.lists.get(list_name)
            if choices is None:
                continue  # reported above
            props = {k for c in choices if isinstance(c.get("filter"), dict) for k in c["filter"]}
            if prop not in props:
                self.issue(
                    task.pos,
                    task.path,
                    "unknown_filter_property",
                    name=prop,
                    suggestion=self.suggest(prop, props),
                )
                ok = False
        for name in ex.references(task.tree):
            if name in repeats and name not in self.fields and name in self.names:
                field = self.fields.get(repeats[name])
                if field is not None and name not in field.repeats:
                    self.issue(task.pos, task.path, "indexed_repeat_outside", name=field.name, repeat=name)
                    ok = False
                continue
            offset = task.src.find("${" + name + "}")
            pos = scalar_offset_pos(self.lines, task.pos, task.src, max(offset, 0))
            if name.startswith(CHOICE_PREFIX) and task.filter_props is not None:
                prop = name[len(CHOICE_PREFIX) :]
                if prop not in task.filter_props:
                    offset = task.src.find(prop)
                    pos = scalar_offset_pos(self.lines, task.pos, task.src, max(offset, 0))
                    self.issue(
                        pos,
                        task.path,
                        "unknown_filter_property",
                        name=prop,
                        suggestion=self.suggest(prop, task.filter_props),
                    )
                    ok = False
                continue
            info = self.fields.get(name)
            if info is None:
                self.issue(
                    pos, task.path, "unknown_reference", name=name, suggestion=self.suggest(name, self.fields)
                )
                ok = False
                continue
            if name in free and info.repeats != task.repeats[: len(info.repeats)]:
                self.issue(pos, task.path, "repeat_reference_outside", name=name, repeat=info.repeats[-1])
                ok = False
            if task.owner == name and task.key in ("relevant", "calculation", "required", "choice_filter"):
                self.issue(pos, task.path, "self_reference", name=name)
                ok = False
        if ex.uses_function(task.tree, "position") and not task.repeats:
            self.issue(task.pos, task.path, "position_outside_repeat")
            ok = False
        return ok

    def calculation_order(self, broken: set[int]) -> list[str]:
        names = list(self.calcs)
        rank = {n: i for i, n in enumerate(names)}
        deps: dict[str, list[str]] = {}
        for n in names:
            task = self.calcs[n][0]
            deps[n] = [r for r in ex.references(task.tree) if r in self.calcs and r != n]
        users: dict[str, list[str]] = {n: [] for n in names}
        waiting = {n: len(set(deps[n])) for n in names}
        for n in names:
            for d in set(deps[n]):
                users[d].append(n)
        heap = [(rank[n], n) for n in names if waiting[n] == 0]
        heapq.heapify(heap)
        order: list[str] = []
        while heap:
            _, n = heapq.heappop(heap)
            order.append(n)
            for u in users[n]:
                waiting[u] -= 1
                if waiting[u] == 0:
                    heapq.heappush(heap, (rank[u], u))
        left = [n for n in names if waiting[n] > 0]
        reported: set[str] = set()
        for start in left:
            if start in reported:
                continue
            # follow unresolved dependencies until a name repeats: that is a cycle
            path = [start]
            seen = {start: 0}
            current = start
            while True:
                nxt = next((d for d in deps[current] if waiting.get(d, 0) > 0), None)
                if nxt is None:
                    break
                if nxt in seen:
                    cycle = [*path[seen[nxt] :], nxt]
                    if not reported.intersection(cycle):
                        task = self.calcs[cycle[0]][0]
                        self.issue(task.pos, task.path, "calculation_cycle", cycle=" -> ".join(cycle))
                    reported.update(cycle)
                    break
                seen[nxt] = len(path)
                path.append(nxt)
                current = nxt
            reported.add(start)
        return order

    def check_texts(self) -> None:
        for task in self.texts:
            for m in LABEL_REF.finditer(task.text):
                name = m.group(1)
                pos = scalar_offset_pos(self.lines, task.pos, task.text, m.start())
                info = self.fields.get(name)
                if info is None:
                    self.issue(
                        pos,
                        task.path,
                        "unknown_reference",
                        name=name,
                        suggestion=self.suggest(name, self.fields),
                    )
                elif info.repeats != task.repeats[: len(info.repeats)]:
                    self.issue(pos, task.path, "repeat_reference_outside", name=name, repeat=info.repeats[-1])


def _capped(issues: list[SpecIssue], filename: str) -> list[SpecIssue]:
    """At most MAX_ISSUES issues, errors first, in file order, then one ``too_many_issues`` saying how
    many were left out (an error when an error was left out, so that the verdict never changes)."""
    if len(issues) <= MAX_ISSUES:
        return issues
    ranked = sorted(issues, key=lambda issue: (issue.severity != "error", issue.line, issue.col))
    kept, left = ranked[:MAX_ISSUES], ranked[MAX_ISSUES:]
    kept.sort(key=lambda issue: (issue.line, issue.col))
    first = min(left, key=lambda issue: (issue.line, issue.col))
    severity: Severity = "error" if any(issue.severity == "error" for issue in left) else "warning"
    summary = SpecIssue(
        filename,
        first.line,
        first.col,
        "",
        "too_many_issues",
        {"count": len(left), "max": MAX_ISSUES},
        severity,
    )
    return [*kept, summary]


def compile_text(text: str, filename: str = "<spec>", *, odk_typing: bool = False) -> CompileResult:
    """Compile spec YAML. Never raises: every problem is an issue of the result. ``odk_typing`` (XLSForm
    imports only) converts operands as ODK does instead of refusing text mixed with numbers or dates; the
    converted sources are listed in ``conversions``."""
    if not isinstance(text, str):
        text = str(text)
    size = utf8_size(text)
    if size > MAX_SOURCE_BYTES:  # before any parser, and before the text is split into lines
        issue = SpecIssue(filename, 1, 1, "", "source_too_large", {"size": size, "max": MAX_SOURCE_BYTES})
        return CompileResult(None, [issue], None)
    return _compile(Compiler(text, filename, odk_typing), None)


def compile_document(
    document: dict[str, Any], filename: str = "<spec>", *, odk_typing: bool = False
) -> CompileResult:
    """Compile a spec document already in memory (plain dicts, lists and scalars, as YAML loads them):
    the checks and the result of ``compile_text`` on its YAML, without writing and re-reading the YAML
    (the XLSForm importer). Issues have no position in a file (line 1, column 1): their ``path`` places
    them. The document is not modified."""
    return _compile(Compiler("", filename, odk_typing), document)


def _compile(compiler: Compiler, document: dict[str, Any] | None) -> CompileResult:
    filename = compiler.file
    try:
        result = compiler.run(document)
        result.conversions = compiler.conversions
        # In file order, as a coordinator reads the file (sorted() is stable for issues at one place).
        result.issues.sort(key=lambda issue: (issue.line, issue.col))
        result.issues = _capped(result.issues, filename)
        return result
    except RecursionError:
        compiler.issue((0, 0), "", "too_deep", max=MAX_NESTING)
    except Exception as exc:  # last resort: a compiler bug is reported as an issue, never a stack trace
        # Logged with its traceback so that it is fixed, not mistaken for a defect of the spec; the tests
        # assert that no compilation ever produces this issue.
        logger.exception("internal compiler error in %s", filename)
        compiler.issue((0, 0), "", INTERNAL_ERROR, error=type(exc).__name__)
    return CompileResult(None, _capped(compiler.issues, filename), None)


def _positionless(value: Any) -> Any:
    """Plain containers -> the loader's PosMap/PosSeq (without positions: look-ups fall back to (0, 0)),
    copied, so that the caller's document is never changed. Iterative: a deep document cannot overflow."""
    if not isinstance(value, dict | list):
        return value
    root: PosMap | PosSeq = PosMap() if isinstance(value, dict) else PosSeq()
    stack: list[tuple[Any, PosMap | PosSeq]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in pairs:
            copy: Any = child
            if isinstance(child, dict):
                copy = PosMap()
                stack.append((child, copy))
            elif isinstance(child, list):
                copy = PosSeq()
                stack.append((child, copy))
            if isinstance(target, PosMap):
                target[key] = copy
            else:
                target.append(copy)
    return root


def compile_file(path: str | Path) -> CompileResult:
    p = Path(path)
    try:
        # A huge file is refused from its size, without reading it.
        size = p.stat().st_size
        if size > MAX_SOURCE_BYTES:
            issue = SpecIssue(str(p), 1, 1, "", "source_too_large", {"size": size, "max": MAX_SOURCE_BYTES})
            return CompileResult(None, [issue], None)
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issue = SpecIssue(str(p), 1, 1, "", "unreadable_file", {"error": type(exc).__name__})
        return CompileResult(None, [issue], None)
    return compile_text(text, str(p))
