"""Compiled spec -> XLSForm workbook (.xlsx) that pyxform converts and that imports back to the same spec."""

from __future__ import annotations

import io
import re
from typing import Any

from terrain.expressions import to_source

from .languages import column_name
from .lookups import instance_paths

EXPORTABLE_KINDS = ("questionnaire", "observation_log")
# Names pyxform refuses on the survey sheet (`meta` holds the form's metadata in the XForm).
RESERVED_NAMES = frozenset({"meta"})
# Expression columns the exporter may rewrite for ODK; the Terrain source then goes to `terrain::<column>`.
REF = re.compile(r"\$\{([^}]*)\}")
EXPRESSION_COLUMNS = ("required", "relevant", "constraint", "calculation", "choice_filter", "repeat_count")

# Terrain type -> (XLSForm type, appearance token added so other tools render it the same way).
TYPES: dict[str, tuple[str, str | None]] = {
    "text": ("text", None),
    "long_text": ("text", "multiline"),
    "integer": ("integer", None),
    "decimal": ("decimal", None),
    "single_choice": ("select_one", None),
    "multiple_choice": ("select_multiple", None),
    "yes_no": ("select_one", None),
    "likert": ("select_one", "likert"),
    "ranking": ("rank", None),
    "date": ("date", None),
    "time": ("time", None),
    "datetime": ("dateTime", None),
    "geopoint": ("geopoint", None),
    "photo": ("image", None),
    "audio": ("audio", None),
    "file": ("file", None),
    "signature": ("image", "signature"),
    "note": ("note", None),
    "calculate": ("calculate", None),
    "consent": ("acknowledge", None),
}


class ExportError(ValueError):
    """A compiled spec that XLSForm cannot represent; `code` is a message catalog key."""

    def __init__(self, code: str, params: dict[str, Any] | None = None) -> None:
        self.code = code
        self.params = dict(params or {})
        super().__init__(code)


def _src(expr: Any) -> str:
    if expr is None:
        return ""
    if isinstance(expr, dict):
        return str(expr.get("src", ""))
    return str(expr)


def _int(x: dict[str, Any]) -> dict[str, Any]:
    return {"t": "call", "f": "int", "a": [x]}


def _for_odk(
    node: dict[str, Any], renames: dict[str, str], list_fields: dict[str, str] | None = None
) -> tuple[dict[str, Any], bool]:
    """The tree with what ODK Collect (JavaRosa) cannot evaluate rewritten: `floor(x)` and `ceiling(x)`
    (JavaRosa has neither: ODK Validate refuses them) as `int(x) - number(x < int(x))` and
    `int(x) + number(x > int(x))`, `choice-label(x, 'list')` as ODK's `jr:choice-name(x, '${q}')` with q a
    select of that list (``list_fields``), `choice-property(x, 'L', 'P')` marked for ``instance_paths`` (which
    writes ODK's `instance('L')/root/item[name=x]/P`), and references to renamed items. Second value: whether
    anything changed."""
    t = node["t"]
    if t == "ref" and node["n"] in renames:
        return {"t": "ref", "n": renames[node["n"]]}, True
    if t == "neg":
        inner, changed = _for_odk(node["e"], renames, list_fields)
        return ({"t": "neg", "e": inner}, True) if changed else (node, False)
    if t == "bin":
        left, lc = _for_odk(node["l"], renames, list_fields)
        right, rc = _for_odk(node["r"], renames, list_fields)
        return ({**node, "l": left, "r": right}, True) if lc or rc else (node, False)
    if t != "call":
        return node, False
    pairs = [_for_odk(a, renames, list_fields) for a in node["a"]]
    args = [a for a, _ in pairs]
    changed = any(c for _, c in pairs)
    if node["f"] in ("floor", "ceiling") and len(args) == 1:
        x = args[0]
        op, cmp = ("-", "<") if node["f"] == "floor" else ("+", ">")
        step = {"t": "call", "f": "number", "a": [{"t": "bin", "op": cmp, "l": x, "r": _int(x)}]}
        return {"t": "bin", "op": op, "l": _int(x), "r": step}, True
    if node["f"] == "choice-label" and list_fields and args[1]["t"] == "str" and args[1]["v"] in list_fields:
        field = renames.get(list_fields[args[1]["v"]], list_fields[args[1]["v"]])
        ref = {"t": "str", "v": "${" + field + "}"}
        return {"t": "call", "f": "jr:choice-name", "a": [args[0], ref]}, True
    if node["f"] == "choice-property":  # written as ODK's instance() path once printed (instance_paths)
        return {**node, "a": args}, True
    return ({**node, "a": args}, True) if changed else (node, False)


def _with_token(appearance: str | None, token: str | None) -> str:
    words = (appearance or "").split()
    if token and token not in words:
        words.insert(0, token)
    return " ".join(words)


def _literal(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


class _Exporter:
    def __init__(self, compiled: dict[str, Any]) -> None:
        self.compiled = compiled
        self.langs: list[str] = list(compiled.get("languages") or ["fr"])
        self.rows: list[dict[str, str]] = []
        lists = compiled.get("choice_lists") or {}
        self.lists: dict[str, list[dict[str, Any]]] = dict(lists)
        self.derived: set[str] = set()  # lists the compiler derives again (L__other)
        self.strip_other: set[str] = set()  # inline lists whose trailing `other` the compiler adds again
        self.filter_keys: list[str] = []
        # Items whose name pyxform refuses get another one in the workbook (`terrain::name` keeps theirs).
        self.renames: dict[str, str] = {}
        names = {item["name"] for item in _walk(compiled.get("items") or [])}
        for name in sorted(names & RESERVED_NAMES):
            new, n = f"{name}_1", 1
            while new in names:
                n += 1
                new = f"{name}_{n}"
            self.renames[name] = new
            names.add(new)
        # choice-label(x, 'list') is exported as jr:choice-name(x, '${q}'), q the first select of the list
        self.list_fields: dict[str, str] = {}
        for item in _walk(compiled.get("items") or []):
            if isinstance(item.get("choice_list"), str):
                self.list_fields.setdefault(item["choice_list"], item["name"])
        for choices in self.lists.values():
            for choice in choices:
                for key in choice.get("filter") or {}:
                    if key not in self.filter_keys:
                        self.filter_keys.append(key)

    def _name(self, row: dict[str, str], name: str) -> None:
        row["name"] = self.renames.get(name, name)
        if name in self.renames:
            row["terrain::name"] = name

    def _expr(self, row: dict[str, str], column: str, expr: Any) -> None:
        """The expression's source, rewritten for ODK when needed (the exact source in `terrain::<column>`,
        which the importer reads back)."""
        src = _src(expr)
        row[column] = src
        tree = expr.get("ast") if isinstance(expr, dict) else None
        if not src or not isinstance(tree, dict):
            return
        odk, changed = _for_odk(tree, self.renames, self.list_fields)
        if changed:
            row[column] = instance_paths(to_source(odk))
            # pyxform checks the references of every column: the workbook's names here too.
            row[f"terrain::{column}"] = self._refs(src)

    def _refs(self, text: str) -> str:
        """`${name}` -> `${workbook name}` for the renamed items."""
        if not self.renames or "${" not in text:
            return text
        return REF.sub(lambda m: "${" + self.renames.get(m.group(1), m.group(1)) + "}", text)

    def _texts(self, row: dict[str, str], base: str, value: Any) -> None:
        if not value:
            return
        if isinstance(value, str):
            value = {"fr": value}
        for code, text in value.items():
            if code in self.langs and text:
                row[f"{base}::{code}"] = self._refs(str(text))

    def items(self, items: list[dict[str, Any]]) -> None:
        previous: dict[str, Any] | None = None
        for item in items:
            ttype = item["type"]
            # The compiler adds `<name>_other` after a choice with `other: true`; XLSForm's or_other does too.
            if previous is not None and previous.get("other") and item["name"] == f"{previous['name']}_other":
                if previous.get("choice_filter"):
                    # pyxform refuses or_other with a choice filter: write the companion, marked.
                    row = self._question(item)
                    row["terrain::other"] = "companion"
                    self.rows.append(row)
                previous = None
                continue
            previous = item
            if ttype in ("group", "repeat"):
                self._container(item)
            elif ttype == "matrix":
                self._matrix(item)
            else:
                self.rows.append(self._question(item))

    def _container(self, item: dict[str, Any]) -> None:
        kind = item["type"]
        row: dict[str, str] = {"type": f"begin_{kind}"}
        self._name(row, item["name"])
        self._texts(row, "label", item.get("label"))
        self._texts(row, "hint", item.get("hint"))
        self._expr(row, "relevant", item.get("relevant"))
        row["appearance"] = item.get("appearance") or ""
        if kind == "group" and not any(i["type"] != "calculate" for i in _walk(item.get("items") or [])):
            # A group of calculations only has nothing to show: ODK Validate refuses an empty body group.
            row["body::bodyless"] = "yes"
        if kind == "repeat":
            self._expr(row, "repeat_count", item.get("count"))
            for key in ("min", "max"):
                if item.get(key) is not None:
                    row[f"terrain::{key}"] = str(item[key])
        self.rows.append(row)
        self.items(item.get("items") or [])
        self.rows.append({"type": f"end_{kind}", "name": row["name"]})

    def _matrix(self, item: dict[str, Any]) -> None:
        # ODK renders a table-list group of select_one questions of one list as a grid.
        row: dict[str, str] = {"type": "begin_group", "terrain::type": "matrix"}
        self._name(row, item["name"])
        self._texts(row, "label", item.get("label"))
        self._texts(row, "hint", item.get("hint"))
        self._expr(row, "relevant", item.get("relevant"))
        row["appearance"] = _with_token(item.get("appearance"), "table-list")
        self.rows.append(row)
        for matrix_row in item.get("rows") or []:
            question = dict(
                item,
                type="single_choice",
                name=matrix_row["name"],
                label=matrix_row.get("label"),
                hint=None,
                relevant=None,
                appearance=None,
            )
            out = self._question(question)
            out.pop("terrain::type", None)
            self.rows.append(out)
        self.rows.append({"type": "end_group", "name": row["name"]})

    def _question(self, item: dict[str, Any]) -> dict[str, str]:
        ttype = item["type"]
        xtype, token = TYPES.get(ttype, ("note", None))
        explicit_other = bool(item.get("other") and item.get("choice_filter"))
        if item.get("choice_list"):
            list_name = str(item["choice_list"])
            if item.get("other") and not explicit_other:
                list_name = self._other_base(list_name)
            xtype = f"{xtype} {list_name}"
            if item.get("other") and not explicit_other:
                xtype += " or_other"
        row: dict[str, str] = {"type": xtype, "terrain::type": ttype}
        self._name(row, item["name"])
        if explicit_other:
            row["terrain::other"] = "yes"
        self._texts(row, "label", item.get("label"))
        self._texts(row, "hint", item.get("hint"))
        if item.get("required_if"):
            self._expr(row, "required", item["required_if"])
        elif item.get("required") and ttype != "consent":
            row["required"] = "yes"
        if row.get("required"):
            self._texts(row, "required_message", item.get("required_message"))
        self._expr(row, "relevant", item.get("relevant"))
        self._expr(row, "constraint", item.get("constraint"))
        if row["constraint"]:
            self._texts(row, "constraint_message", item.get("constraint_message"))
        self._expr(row, "calculation", item.get("calculation"))
        row["default"] = _literal(item.get("default"))
        if item.get("read_only"):
            row["read_only"] = "yes"
        if item.get("sensitive"):
            row["terrain::sensitive"] = "yes"
        row["appearance"] = _with_token(item.get("appearance"), token)
        self._expr(row, "choice_filter", item.get("choice_filter"))
        return row

    def _other_base(self, list_name: str) -> str:
        """The list to write for a choice with `other: true`: the compiler derived `L__other` from L (or
        appended `other` to an inline list); XLSForm's or_other adds the choice itself."""
        base = list_name.removesuffix("__other")
        if list_name.endswith("__other") and base in self.lists:
            self.derived.add(list_name)
            return base
        self.strip_other.add(list_name)
        return list_name

    # -- sheets -------------------------------------------------------------------------------------------
    def survey_columns(self) -> list[str]:
        columns = ["type", "name"]
        columns += [f"label::{c}" for c in self.langs] + [f"hint::{c}" for c in self.langs]
        columns += ["required"] + [f"required_message::{c}" for c in self.langs]
        columns += ["relevant", "constraint"] + [f"constraint_message::{c}" for c in self.langs]
        columns += ["calculation", "default", "read_only", "appearance", "choice_filter", "repeat_count"]
        columns += ["terrain::type", "terrain::sensitive", "terrain::min", "terrain::max", "terrain::other"]
        # Written only when needed: pyxform takes `body::bodyless`, ODK forms do not have the others.
        used = {key for row in self.rows for key in row}
        columns += [c for c in ("body::bodyless", "terrain::name") if c in used]
        columns += [f"terrain::{c}" for c in EXPRESSION_COLUMNS if f"terrain::{c}" in used]
        return columns

    def choices_rows(self) -> tuple[list[str], list[list[str]]]:
        columns = ["list_name", "name", *[f"label::{c}" for c in self.langs], *self.filter_keys]
        rows: list[list[str]] = []
        for list_name, choices in self.lists.items():
            if list_name in self.derived:
                continue
            if list_name in self.strip_other and choices and choices[-1]["value"] == "other":
                choices = choices[:-1]
            for choice in choices:
                row = {"list_name": list_name, "name": str(choice["value"])}
                self._texts(row, "label", choice.get("label"))
                for key, value in (choice.get("filter") or {}).items():
                    row[key] = _literal(value)
                rows.append([row.get(c, "") for c in columns])
        return columns, rows

    def settings(self, version: str | None) -> dict[str, str]:
        compiled = self.compiled
        title = compiled.get("title") or {}
        if isinstance(title, str):
            title = {"fr": title}
        out = {
            "form_id": compiled["name"],
            "form_title": title.get("fr", compiled["name"]),
            "version": version or "",
            "default_language": column_name("fr"),
            "terrain_kind": compiled["kind"],
        }
        for code, text in title.items():
            if code != "fr":
                out[f"terrain_title_{code}"] = text
        description = compiled.get("description") or {}
        if isinstance(description, str):
            description = {"fr": description}
        for code, text in description.items():
            out[f"terrain_description_{code}"] = text
        entry = compiled.get("entry_title")
        if isinstance(entry, str):
            out["terrain_entry_title"] = entry
        elif isinstance(entry, dict):
            for code, text in entry.items():
                out[f"terrain_entry_title_{code}"] = text
        return {k: v for k, v in out.items() if v}


def export_xlsform(compiled: dict[str, Any], *, version: str | None = None) -> bytes:
    """An .xlsx workbook (survey, choices, settings) for a compiled questionnaire or observation log.

    `version` fills the settings `version` (ODK uses it to tell deployments apart). Raises ExportError
    (code `xlsform.unsupported_kind`) for interview guides, which have no XLSForm equivalent."""
    kind = compiled.get("kind")
    if kind not in EXPORTABLE_KINDS:
        raise ExportError("xlsform.unsupported_kind", {"kind": kind})
    exporter = _Exporter(compiled)
    # Metadata first, as XLSForm authors write them (type and name are the same word).
    exporter.rows.extend({"type": meta, "name": meta} for meta in compiled.get("metadata") or [])
    exporter.items(compiled.get("items") or [])

    import openpyxl  # deferred: slow import, only needed here

    wb = openpyxl.Workbook()
    survey = wb.active
    assert survey is not None
    survey.title = "survey"
    columns = exporter.survey_columns()
    survey.append([_header(c) for c in columns])
    for row in exporter.rows:
        survey.append([row.get(c, "") or None for c in columns])
    choices = wb.create_sheet("choices")
    choice_columns, choice_rows = exporter.choices_rows()
    choices.append([_header(c) for c in choice_columns])
    for values in choice_rows:
        choices.append([v or None for v in values])
    settings = wb.create_sheet("settings")
    setting_values = exporter.settings(version)
    settings.append(list(setting_values))
    settings.append(list(setting_values.values()))
    for ws in (survey, choices, settings):
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _walk(items: list[dict[str, Any]]) -> Any:
    for item in items:
        yield item
        yield from _walk(item.get("items") or [])


def _header(column: str) -> str:
    base, sep, code = column.partition("::")
    if sep and base not in ("terrain", "body"):
        return f"{base}::{column_name(code)}"
    return column
