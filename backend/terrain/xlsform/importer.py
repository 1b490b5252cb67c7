"""XLSForm workbook -> spec YAML document, with a report that points at sheet, row and column."""

from __future__ import annotations

import difflib
import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrain.expressions import ExpressionError, parse
from terrain.speclang.compiler import METADATA as COLLECTED_METADATA

from .languages import language_code
from .lookups import rewrite_lookups
from .messages import ImportMessage, Severity, group_report
from .workbook import Row, Sheet, WorkbookError, load_bytes, read_workbook
from .yamlio import yaml_dump

logger = logging.getLogger(__name__)

SPEC_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
ITEM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,54}$")  # as the spec compiler
REF = re.compile(r"\$\{([^}]*)\}")
SMART_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})

LABEL_BASES = ("label", "hint", "constraint_message", "required_message")
MEDIA_BASES = ("image", "audio", "video", "big-image")
SURVEY_COLUMNS = {
    "type",
    "name",
    "required",
    "relevant",
    "constraint",
    "calculation",
    "default",
    "read_only",
    "choice_filter",
    "appearance",
    "repeat_count",
    "parameters",
}
CHOICES_COLUMNS = {"list_name", "name"}
# Terrain's own columns written by the exporter: exact type, flags that XLSForm cannot say.
TERRAIN_COLUMNS = {"terrain::type", "terrain::sensitive", "terrain::min", "terrain::max", "terrain::other"}
# The exact Terrain name and expression sources where the exporter wrote others for ODK (a reserved name,
# a function JavaRosa lacks), and pyxform's `body::bodyless` (a group of calculations only).
TERRAIN_OVERRIDES = (
    "required",
    "relevant",
    "constraint",
    "calculation",
    "choice_filter",
    "repeat_count",
)
TERRAIN_COLUMNS |= {f"terrain::{c}" for c in TERRAIN_OVERRIDES} | {"terrain::name", "body::bodyless"}

SIMPLE_TYPES: dict[str, str] = {
    "integer": "integer",
    "int": "integer",
    "decimal": "decimal",
    "text": "text",
    "string": "text",
    "date": "date",
    "time": "time",
    "datetime": "datetime",
    "date time": "datetime",
    "geopoint": "geopoint",
    "location": "geopoint",
    "gps": "geopoint",
    "image": "photo",
    "photo": "photo",
    "audio": "audio",
    "file": "file",
    "note": "note",
    "calculate": "calculate",
    "acknowledge": "consent",
    "trigger": "consent",
}
# pyxform's "add X prompt" and "q X" spellings.
for _k, _v in list(SIMPLE_TYPES.items()):
    SIMPLE_TYPES[f"add {_k} prompt"] = _v
    SIMPLE_TYPES[f"q {_k}"] = _v
SIMPLE_TYPES.update({"add date time prompt": "datetime", "q picture": "photo", "add photo prompt": "photo"})

METADATA_TYPES: dict[str, str] = {
    "start": "start",
    "end": "end",
    "today": "today",
    "deviceid": "deviceid",
    "username": "username",
    "phonenumber": "phonenumber",
    "simserial": "simserial",
    "subscriberid": "subscriberid",
    "audit": "audit",
    "email": "email",
    "imei": "deviceid",
    "device id": "deviceid",
    "start time": "start",
    "end time": "end",
    "get start time": "start",
    "get end time": "end",
    "get today": "today",
    "get device id": "deviceid",
    "get phone number": "phonenumber",
    "get sim id": "simserial",
    "sim id": "simserial",
    "get subscriber id": "subscriberid",
    "subscriber id": "subscriberid",
    "uri:deviceid": "deviceid",
    "uri:email": "email",
    "uri:phonenumber": "phonenumber",
    "uri:simserial": "simserial",
    "uri:subscriberid": "subscriberid",
    "uri:username": "username",
}
UNSUPPORTED_TYPES: dict[str, str] = {
    "geotrace": "no_lines",
    "geoshape": "no_lines",
    "barcode": "no_barcode",
    "video": "no_video",
    "hidden": "no_hidden",
    "xml-external": "no_external",
    "csv-external": "no_external",
    "osm": "no_osm",
    "background-audio": "no_background",
    "background-geopoint": "no_background",
    "start-geopoint": "no_background",
    "range": "",
    "percentage": "no_hidden",
    "include": "no_include",
    "phone number": "",
    "number of days in last month": "no_hidden",
}
SELECT = re.compile(
    r"^(select_one|select one|select1|select one from|add select one prompt using|select one using"
    r"|select_multiple|select multiple|select all that apply|select all that apply from|select multiple from"
    r"|add select multiple prompt using|select multiple using|rank)\s+(\S+)"
    r"(\s+or_other|\s+or specify other)?$",
    re.IGNORECASE,
)
FROM_FILE = re.compile(
    r"^(select_one_from_file|select_multiple_from_file|select one from file|select multiple from file"
    r"|select_one_external|select one external)\b",
    re.IGNORECASE,
)
TRUE_WORDS = {"yes", "true", "true()", "1", "y", "oui", "vrai"}
FALSE_WORDS = {"no", "false", "false()", "0", "n", "non", "faux"}
# Functions of ODK/XPath that Terrain deliberately does not offer: reported as unsupported, not as typos.
UNSUPPORTED_FUNCTIONS = {
    "pulldata",
    "instance",
    "random",
    "uuid",
    "digest",
    "version",
    "property",
    "jr:itext",
    "current",
    "last",
    "sqrt",
    "pow",
    "exp",
    "exp10",
    "log",
    "log10",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "pi",
    "area",
    "distance",
    "geofence",
    "boolean-from-string",
    "checklist",
    "weighted-checklist",
    "randomize",
    "choice-name",
    "translate",
    "normalize-space",
    "base64-decode",
    "encrypt-string",
    "decrypt-string",
    "extract-signed",
    "jr:count",
    "max",
    "min",
    "count-non-empty",
    "join",
    "substr",
    "substring-before",
    "substring-after",
    "string",
    "number",
    # SurveyCTO, CHT (Enketo) and Collect extensions: their meaning lives in those apps.
    "duration",
    "phone-call-log",
    "phone-call-duration",
    "collect-is-phone-app",
    "device-info",
    "choice-label",
    "plug-in-metadata",
    "date-time",
    "difference-in-months",
    "add-date",
    "parse-timestamp-to-date",
    "to-date",
    "z-score",
    "cht:extension-lib",
    "index",
    "empty",
    "join-if",
    "sum-if",
    "count-if",
    "min-if",
    "max-if",
    "rank-index",
    "item-at",
    "item-index",
    "de-duplicate",
    "count-items",
}
BUILTIN_YES_NO = {"yes": {"oui"}, "no": {"non"}}


@dataclass
class ImportResult:
    document: dict[str, Any] | None
    report: list[ImportMessage]
    ok: bool
    compiled: dict[str, Any] | None = None
    name_rows: dict[str, int] = field(default_factory=dict)
    # Every entry one by one; ``report`` folds repeated warnings and infos into one line (group_report).
    details: list[ImportMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.details:  # refused before grouping: the report is already entry by entry
            self.details = list(self.report)

    @functools.cached_property
    def yaml_text(self) -> str | None:
        """The document as YAML (None without a document), written on first use only: compiling does
        not need it (see compile.py)."""
        return yaml_dump(self.document) if self.document is not None else None


def sanitize_spec_name(raw: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c)).lower()
    name = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
    if not name or not name[0].isalpha():
        name = f"form_{name}".rstrip("_")
    name = name[:63].rstrip("_")
    return name if SPEC_NAME.match(name) else "form"


def _sanitize_item_name(raw: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    if not ITEM_NAME.match(name[:1]):
        name = f"_{name}"
    return name[:55]  # the compiler's limit


def _unique(name: str, taken: Collection[str]) -> str:
    n = 2
    new = name
    while new in taken:
        suffix = f"_{n}"
        new, n = name[: 55 - len(suffix)] + suffix, n + 1
    return new


@dataclass
class _Frame:
    item: dict[str, Any]
    row: int
    kind: str  # group | repeat | loop | matrix


class _Importer:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.report: list[ImportMessage] = []
        self.sheets: dict[str, Sheet] = {}
        self.langs: dict[str, str] = {}  # XLSForm language name ("" = no language) -> Terrain code
        self.name_rows: dict[str, int] = {}
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.list_rows: dict[str, int] = {}
        self.list_renames: dict[str, str] = {}
        self.lists_used: set[str] = set()
        self.lists_yes_no: set[str] = set()
        self.lists_derived: set[str] = set()
        self.metadata: list[str] = []
        self.foreign = True  # False when the workbook was written by Terrain's exporter
        self.reported_columns: set[tuple[str, str]] = set()
        self.referenced: set[str] = set()
        self.metadata_names: set[str] = set()
        self.choice_rows: dict[tuple[str, str], int] = {}  # (list, value) -> choices sheet row
        self.row_names: dict[int, str] = {}  # survey row -> Terrain name
        self.name_lists: dict[str, str] = {}  # Terrain name of a select -> its raw list name
        self.occurrences: dict[str, list[tuple[str, int]]] = {}  # XLSForm name -> [(Terrain name, group row)]
        self.group_ends: dict[int, int] = {}  # begin row -> end row
        self.name_first_rows: dict[str, int] = {}
        self.current_row = 0  # the survey row being read (0: none), for references
        self.all_names: set[str] = set()  # Terrain names of every survey row
        self.self_calculations: list[int] = []  # rows of `calculation: .`
        self.self_values: list[int] = []  # rows of `.` in relevant or required, imported as ''
        self.row_paths: dict[int, tuple[str, ...]] = {}  # survey row -> its XLSForm path
        self.path_names: dict[tuple[str, ...], str] = {}  # XLSForm path -> Terrain name

    # -- report -------------------------------------------------------------------------------------------
    def add(
        self, severity: Severity, sheet: str, row: int | None, column: str | None, code: str, /, **params: Any
    ) -> None:
        self.report.append(ImportMessage(severity, sheet, row, column, code, params))

    # -- entry point ----------------------------------------------------------------------------------------
    def run(self, data: bytes) -> dict[str, Any] | None:
        self.sheets = read_workbook(data, self.filename, self.report)
        survey = self._find_sheets()
        if survey is None:
            return None
        settings = self._settings()
        self.foreign = "terrain_kind" not in settings
        if not self.foreign:
            self._terrain_overrides(survey)
        self._languages(survey, settings)
        self._choices()
        items = self._survey(survey)
        self._safe_choice_values(items)
        return self._document(settings, items)

    def _terrain_overrides(self, survey: Sheet) -> None:
        """A workbook written by Terrain: the exact names and expression sources where the exporter wrote
        others for ODK (`terrain::<column>`), and `${workbook name}` back to `${Terrain name}` everywhere."""
        names = {
            row.get("name"): row.values.pop("terrain::name")
            for row in survey.rows
            if row.get("terrain::name")
        }

        def terrain_refs(m: re.Match[str]) -> str:
            return "${" + names.get(m.group(1), m.group(1)) + "}"

        choices = self.sheets.get("choices")
        rows = [(row, True) for row in survey.rows] + [
            (row, False) for row in (choices.rows if choices else [])
        ]
        for row, in_survey in rows:
            for column in TERRAIN_OVERRIDES:
                exact = row.values.pop(f"terrain::{column}", None)
                if exact:
                    row.values[column] = exact
            if not names:
                continue
            for key, value in row.values.items():
                if "${" in value:
                    row.values[key] = REF.sub(terrain_refs, value)
            if in_survey and row.get("name") in names:
                row.values["name"] = names[row.get("name")]

    def _find_sheets(self) -> Sheet | None:
        expected = ("survey", "choices", "settings")
        for key, sheet in self.sheets.items():
            if key in expected:
                continue
            close = difflib.get_close_matches(key, expected, n=1, cutoff=0.75)
            if close and close[0] not in self.sheets:
                self.add("warning", sheet.title, None, None, "xlsform.misspelled_sheet", expected=close[0])
            elif key in ("external_choices", "entities", "osm"):
                self.add("warning", sheet.title, None, None, "xlsform.sheet_unsupported")
            else:
                self.add("info", sheet.title, None, None, "xlsform.sheet_ignored")
        survey = self.sheets.get("survey")
        if survey is None:
            names = [s.title for s in self.sheets.values()]
            self.report.insert(
                0, ImportMessage("error", "survey", None, None, "xlsform.no_survey_sheet", {"sheets": names})
            )
            return None
        for column in ("type", "name"):
            if column not in survey.headers:
                self.add("error", survey.title, 1, column, "xlsform.missing_column", column=column)
                return None
        return survey

    def _settings(self) -> dict[str, str]:
        sheet = self.sheets.get("settings")
        if sheet is None or not sheet.rows:
            return {}
        values = dict(sheet.rows[0].values)
        if "id_string" in values and "form_id" not in values:
            values["form_id"] = values["id_string"]
        known = {"form_id", "form_title", "version", "default_language", "id_string", "instance_name"}
        for key in sheet.columns:
            if key not in known and not key.startswith("terrain_") and values.get(key):
                self.add("info", sheet.title, 1, sheet.headers[key], "xlsform.setting_ignored", setting=key)
        return values

    # -- languages -------------------------------------------------------------------------------------------
    def _languages(self, survey: Sheet, settings: dict[str, str]) -> None:
        names: list[str] = []
        label_names: list[str] = []
        for sheet in (survey, self.sheets.get("choices")):
            if sheet is None:
                continue
            for key in sheet.columns:
                base, _, lang = key.partition("::")
                if base in LABEL_BASES and lang not in names:
                    names.append(lang)
                if base == "label" and sheet is survey and lang not in label_names:
                    label_names.append(lang)
        default = settings.get("default_language", "")
        codes: dict[str, str | None] = {}
        for name in names:
            if name == "":
                codes[name] = language_code(default) if default else None
            else:
                codes[name] = language_code(name)
        french = [n for n in names if codes[n] == "fr"]
        if french:
            primary = french[0]
        else:
            candidates = label_names or names or [""]
            primary = next((n for n in candidates if default and n.lower() == default.lower()), None) or (
                "" if "" in candidates else candidates[0]
            )
            shown = f"label::{primary}" if primary else default or "label"
            if names:
                self.add("warning", survey.title, 1, None, "xlsform.labels_not_french", language=shown)
        self.langs[primary] = "fr"
        for name in names:
            if name == primary:
                continue
            code = codes[name]
            if code is None:
                self.add(
                    "warning", survey.title, 1, None, "xlsform.language_unknown", language=name or "(default)"
                )
            else:
                # Several spellings of one language (`label::fr`, `hint::French (fr)`) share its code.
                self.langs[name] = code

    def _text(self, sheet: Sheet, row: Row, base: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, code in self.langs.items():
            key = f"{base}::{name}" if name else base
            value = row.get(key)
            if value and code not in out:
                out[code] = self._meta_refs(self._rename_refs(value), sheet, row, key)
        return out

    def _label_value(self, texts: dict[str, str], sheet: Sheet, row: Row, column: str) -> Any:
        if not texts:
            return None
        if "fr" not in texts:
            # Terrain needs a French text: take the first available one and say so.
            first = next(iter(texts.values()))
            texts = {"fr": first, **texts}
            self.add("info", sheet.title, row.number, column, "xlsform.text_copied_to_fr")
        if set(texts) == {"fr"}:
            return texts["fr"]
        return {"fr": texts["fr"], **{k: v for k, v in texts.items() if k != "fr"}}

    # -- choices --------------------------------------------------------------------------------------------
    def _choices(self) -> None:
        sheet = self.sheets.get("choices")
        if sheet is None:
            return
        if "name" not in sheet.headers and "value" in sheet.headers:
            # SurveyCTO calls the choice value column `value`.
            for row in sheet.rows:
                if "value" in row.values:
                    row.values["name"] = row.values.pop("value")
            sheet.headers["name"] = sheet.headers.pop("value")
            sheet.columns = [("name" if c == "value" else c) for c in sheet.columns]
        if sheet.rows and ("list_name" not in sheet.headers or "name" not in sheet.headers):
            self.add("error", sheet.title, 1, None, "xlsform.missing_column", column="list_name, name")
            return
        filter_keys = []
        for key in sheet.columns:
            base = key.partition("::")[0]
            if key in CHOICES_COLUMNS or base in LABEL_BASES:
                continue
            if base in MEDIA_BASES:
                continue
            if not ITEM_NAME.match(key):
                self._column_ignored(sheet, key)
                continue
            filter_keys.append(key)
        seen: dict[tuple[str, str], int] = {}
        for row in sheet.rows:
            raw_list = row.get("list_name")
            value = row.get("name")
            if not raw_list or not value:
                self.add("warning", sheet.title, row.number, None, "xlsform.choice_incomplete")
                continue
            list_name = self.list_renames.get(raw_list)
            if list_name is None:
                list_name = _sanitize_item_name(raw_list)
                if list_name == "yes_no":  # reserved by Terrain for the built-in yes/no list
                    list_name = "yes_no_list"
                if list_name != raw_list:
                    self.add(
                        "info",
                        sheet.title,
                        row.number,
                        "list_name",
                        "xlsform.name_changed",
                        old=raw_list,
                        new=list_name,
                    )
                self.list_renames[raw_list] = list_name
                self.list_rows[list_name] = row.number
            if (list_name, value) in seen:
                self.add(
                    "warning",
                    sheet.title,
                    row.number,
                    "name",
                    "xlsform.duplicate_choice",
                    value=value,
                    list=raw_list,
                    first_row=seen[(list_name, value)],
                )
                continue
            seen[(list_name, value)] = row.number
            for base in MEDIA_BASES:
                if any(k.partition("::")[0] == base for k in row.values):
                    self.add("warning", sheet.title, row.number, base, "xlsform.media_ignored")
            label = self._label_value(self._text(sheet, row, "label"), sheet, row, "label")
            if label is None:
                label = value
                self.add(
                    "info", sheet.title, row.number, "label", "xlsform.choice_missing_label", value=value
                )
            choice: dict[str, Any] = {"value": value, "label": label}
            filt = {k: row.get(k) for k in filter_keys if row.get(k)}
            if filt:
                choice["filter"] = filt
            self.lists.setdefault(list_name, []).append(choice)
            self.choice_rows[(list_name, value)] = row.number

    def _safe_choice_values(self, items: list[dict[str, Any]]) -> None:
        """Values with spaces are kept for single choices (stored whole). A multiple choice or a ranking is
        written space-separated in ODK submissions, so there each such value is mapped to a safe one
        (spaces -> `_`); the original stays on the choice as property `xlsform_name` (a choices column of
        the export), expressions quoting it follow, and the mapping is reported once per list."""
        multiple = {i["choice_list"] for i in _walk(items) if i.get("type") in ("multiple_choice", "ranking")}
        mapping: dict[str, str] = {}
        sheet = self.sheets.get("choices")
        title = sheet.title if sheet else "choices"
        for list_name in sorted(multiple & set(self.lists)):
            choices = self.lists[list_name]
            taken = {c["value"] for c in choices}
            rows: list[int] = []
            for choice in choices:
                old = choice["value"]
                if not re.search(r"\s", old):
                    continue
                base = re.sub(r"\s+", "_", old.strip()) or "_"
                new, n = base, 2
                while new in taken:
                    new, n = f"{base}_{n}", n + 1
                taken.add(new)
                choice["value"] = new
                choice.setdefault("filter", {})["xlsform_name"] = old
                mapping[old] = new
                rows.append(self.choice_rows.get((list_name, old), 0))
            if rows:
                example = next(c for c in choices if c.get("filter", {}).get("xlsform_name"))
                self.add(
                    "warning",
                    title,
                    rows[0],
                    "name",
                    "xlsform.choice_values_mapped",
                    list=list_name,
                    count=len(rows),
                    rows=rows,
                    old=example["filter"]["xlsform_name"],
                    new=example["value"],
                )
        if not mapping:
            return
        quoted = re.compile(
            "|".join(f"'{re.escape(o)}'|\"{re.escape(o)}\"" for o in sorted(mapping, key=len, reverse=True))
        )
        for item in _walk(items):
            for key in ("relevant", "constraint", "required", "calculation", "choice_filter", "count"):
                value = item.get(key)
                if isinstance(value, str):
                    item[key] = quoted.sub(lambda m: "'" + mapping[m.group(0)[1:-1]] + "'", value)

    def _column_ignored(self, sheet: Sheet, key: str) -> None:
        if (sheet.title, key) in self.reported_columns:
            return
        self.reported_columns.add((sheet.title, key))
        self.add("info", sheet.title, 1, sheet.headers.get(key, key), "xlsform.column_ignored")

    # -- survey ---------------------------------------------------------------------------------------------
    def _collect_names(self, survey: Sheet) -> None:
        """The Terrain name of every survey row. XLSForm names are unique per group, Terrain's per spec: a
        name already used in another group gets a suffix (reported), and `${name}` resolves as ODK does, to
        the one in the innermost group that holds the reference (else to the first one)."""
        taken: dict[str, int] = {}  # Terrain name -> begin row of its group (0: top level)
        stack: list[int] = []
        for row in survey.rows:
            norm = " ".join(row.get("type").lower().replace("_", " ").split())
            if norm.startswith("end "):
                if stack:
                    self.group_ends[stack.pop()] = row.number
                continue
            raw = row.get("name")
            container = stack[-1] if stack else 0
            if norm.startswith("begin "):
                stack.append(row.number)
            if not raw:
                continue
            new = _sanitize_item_name(raw)
            if new in taken and (new != raw or taken[new] != container):
                first = self.name_first_rows.get(new, 0)
                new = _unique(new, taken)
                self.add(
                    "warning",
                    survey.title,
                    row.number,
                    "name",
                    "xlsform.duplicate_name_renamed",
                    name=raw,
                    new=new,
                    first_row=first,
                )
            elif new != raw:
                self.add(
                    "warning", survey.title, row.number, "name", "xlsform.name_changed", old=raw, new=new
                )
            taken.setdefault(new, container)
            self.name_first_rows.setdefault(new, row.number)
            self.row_names[row.number] = new
            select = SELECT.match(row.get("type").strip())
            if select:
                self.name_lists.setdefault(new, select.group(2))
            self.occurrences.setdefault(raw, []).append((new, container))
            self.all_names.add(new)
        for row in survey.rows:
            for value in row.values.values():
                self.referenced.update(REF.findall(value))

    def _resolve(self, raw: str) -> str:
        """The Terrain name `${raw}` designates from the row being read."""
        found = self.occurrences.get(raw)
        if not found:
            return raw
        best, depth = found[0][0], -1
        for name, begin in found:
            end = self.group_ends.get(begin, 1 << 30)
            if (begin == 0 or begin < self.current_row <= end) and begin > depth:
                best, depth = name, begin
        return best

    def _list_of(self, name: str) -> str | None:
        """The Terrain choice list of the select named ``name`` (None: not a select)."""
        raw = self.name_lists.get(name)
        return None if raw is None else self.list_renames.get(raw)

    def _rename_refs(self, text: str) -> str:
        if not self.occurrences:
            return text
        return REF.sub(lambda m: "${" + self._resolve(m.group(1)) + "}", text)

    def _meta_refs(self, text: str, sheet: Sheet, row: Row, column: str) -> str:
        """Metadata are not fields in Terrain: `${start}` in a text becomes the plain word, reported."""

        def repl(m: re.Match[str]) -> str:
            if m.group(1) in self.metadata_names:
                self.add(
                    "warning", sheet.title, row.number, column, "xlsform.metadata_reference", name=m.group(1)
                )
                return m.group(1)
            return m.group(0)

        return REF.sub(repl, text)

    def _survey(self, survey: Sheet) -> list[dict[str, Any]]:
        for key in survey.columns:
            base = key.partition("::")[0]
            if key in SURVEY_COLUMNS or key in TERRAIN_COLUMNS or base in LABEL_BASES or base in MEDIA_BASES:
                continue
            self._column_ignored(survey, key)
        self._collect_names(survey)
        self._collect_paths(survey)
        root: list[dict[str, Any]] = []
        stack: list[_Frame] = []
        for row in survey.rows:
            raw_type = " ".join(row.get("type").split())
            if not raw_type:
                self.add("warning", survey.title, row.number, "type", "xlsform.missing_type")
                continue
            container = stack[-1].item["items"] if stack else root
            self._row(survey, row, raw_type, container, stack)
        if self.self_calculations:
            rows = self.self_calculations
            self.add(
                "warning",
                survey.title,
                rows[0],
                "calculation",
                "xlsform.self_calculation",
                rows=rows,
                count=len(rows),
            )
        if self.self_values:
            rows = sorted(set(self.self_values))
            self.add("warning", survey.title, rows[0], None, "xlsform.self_value", rows=rows, count=len(rows))
        for frame in reversed(stack):
            self.add(
                "error",
                survey.title,
                frame.row,
                "type",
                "xlsform.unclosed_group",
                kind=frame.kind,
                name=frame.item["name"],
            )
        return root

    def _name(self, survey: Sheet, row: Row) -> str | None:
        raw = row.get("name")
        if not raw:
            self.add("error", survey.title, row.number, "name", "xlsform.missing_name")
            return None
        name = self.row_names.get(row.number, raw)
        if name in self.name_rows:
            self.add(
                "error",
                survey.title,
                row.number,
                "name",
                "xlsform.duplicate_name",
                name=raw,
                first_row=self.name_rows[name],
            )
            base, n = name, 2
            while name in self.name_rows:
                name, n = f"{base}_{n}", n + 1
        self.name_rows[name] = row.number
        return name

    def _row(
        self, survey: Sheet, row: Row, raw_type: str, container: list[dict[str, Any]], stack: list[_Frame]
    ) -> None:
        self.current_row = row.number
        low = raw_type.lower()
        norm = low.replace("_", " ")
        if norm in ("end group", "end repeat", "end loop"):
            kind = norm.split()[1]
            if not stack:
                self.add("error", survey.title, row.number, "type", "xlsform.unmatched_end", found=raw_type)
                return
            frame = stack[-1]
            expected = "group" if frame.kind == "matrix" else frame.kind
            if expected != kind:
                self.add(
                    "error",
                    survey.title,
                    row.number,
                    "type",
                    "xlsform.mismatched_end",
                    found=raw_type,
                    expected=f"end {expected}",
                    begin_row=frame.row,
                )
            stack.pop()
            self._close(survey, frame)
            return
        if norm in ("begin group", "begin repeat") or norm.startswith("begin loop"):
            self._begin(survey, row, norm, container, stack)
            return
        meta = METADATA_TYPES.get(low)
        if meta is not None:
            if meta not in COLLECTED_METADATA:
                # Personal data about the device's owner (phone number, SIM...): never collected.
                code = "xlsform.metadata_not_collected"
                self.add("warning", survey.title, row.number, "type", code, type=meta)
            elif meta not in self.metadata:
                self.metadata.append(meta)
                self.add("info", survey.title, row.number, "type", "xlsform.metadata", type=meta)
            name = self._name(survey, row)
            if name:
                self.metadata_names.add(name)
            return
        if low == "note" and not row.get("name"):
            # ODK shows a note without a name; Terrain needs one (or nothing to show: skipped).
            if not self._text(survey, row, "label"):
                self.add("info", survey.title, row.number, "name", "xlsform.empty_note_skipped")
                return
            name = _unique(f"note_{row.number}", self.all_names | set(self.name_rows))
            self.row_names[row.number] = name
            self.all_names.add(name)
            row.values["name"] = name
            self.add("info", survey.title, row.number, "name", "xlsform.note_named", name=name)
        if row.get("terrain::other") == "companion":
            # The exporter wrote the companion of an `other: true` choice; the compiler makes it again.
            self._name(survey, row)
            return
        item = self._question(survey, row, raw_type, low)
        if item is not None:
            container.append(item)

    def _begin(
        self, survey: Sheet, row: Row, norm: str, container: list[dict[str, Any]], stack: list[_Frame]
    ) -> None:
        name = self._name(survey, row) or f"group_{row.number}"
        kind = "repeat" if norm == "begin repeat" else "group"
        marker = row.get("terrain::type")
        if norm.startswith("begin loop"):
            kind = "loop"
            self.add("warning", survey.title, row.number, "type", "xlsform.loop_as_group")
        item: dict[str, Any] = {"name": name, "type": "repeat" if kind == "repeat" else "group"}
        label = self._label_value(self._text(survey, row, "label"), survey, row, "label")
        if label is None:
            label = name
            self.add("warning", survey.title, row.number, "label", "xlsform.missing_label")
        item["label"] = label
        hint = self._label_value(self._text(survey, row, "hint"), survey, row, "hint")
        if hint is not None:
            item["hint"] = hint
        self._expr_prop(item, "relevant", survey, row, "relevant")
        appearance = row.get("appearance")
        if appearance:
            item["appearance"] = appearance
        if kind == "repeat":
            count = row.get("repeat_count")
            if count:
                self._expr_prop(item, "count", survey, row, "repeat_count")
            for key in ("min", "max"):
                raw = row.get(f"terrain::{key}")
                if raw:
                    try:
                        item[key] = int(raw)
                    except ValueError:
                        self.add(
                            "warning",
                            survey.title,
                            row.number,
                            f"terrain::{key}",
                            "xlsform.bad_value",
                            value=raw,
                        )
        for column in ("required", "constraint", "calculation", "default", "choice_filter"):
            if row.get(column) and row.get(column).lower() not in FALSE_WORDS:
                self.add("warning", survey.title, row.number, column, "xlsform.ignored_on_group", kind=kind)
        if marker == "matrix" and kind == "group":
            kind = "matrix"
        self._media(survey, row)
        item["items"] = []
        container.append(item)
        stack.append(_Frame(item, row.number, kind))

    def _close(self, survey: Sheet, frame: _Frame) -> None:
        item = frame.item
        if frame.kind != "matrix":
            return
        rows = item["items"]
        lists = {r.get("choice_list") for r in rows}
        if not rows or any(r.get("type") != "single_choice" for r in rows) or len(lists) != 1:
            self.add("warning", survey.title, frame.row, "terrain::type", "xlsform.matrix_rows")
            return
        del item["items"]
        item["type"] = "matrix"
        item["choice_list"] = lists.pop()
        item["appearance"] = _strip_token(item.get("appearance"), "table-list")
        if item["appearance"] is None:
            del item["appearance"]
        first = rows[0]
        for key in (
            "required",
            "required_message",
            "constraint",
            "constraint_message",
            "sensitive",
            "read_only",
            "default",
            "choice_filter",
        ):
            if key in first:
                item[key] = first[key]
        item["rows"] = [{"name": r["name"], "label": r.get("label", r["name"])} for r in rows]
        # Keep the keys in the usual order: rows and choices after the texts.
        order = [
            "name",
            "type",
            "label",
            "hint",
            "required",
            "required_message",
            "relevant",
            "constraint",
            "constraint_message",
            "default",
            "read_only",
            "sensitive",
            "appearance",
            "choice_list",
            "choice_filter",
            "rows",
        ]
        rebuilt = {k: item[k] for k in order if k in item}
        item.clear()
        item.update(rebuilt)

    def _media(self, survey: Sheet, row: Row) -> None:
        for key in row.values:
            if key.partition("::")[0] in MEDIA_BASES:
                self.add(
                    "warning", survey.title, row.number, survey.headers.get(key, key), "xlsform.media_ignored"
                )

    # -- questions ------------------------------------------------------------------------------------------
    def _question(self, survey: Sheet, row: Row, raw_type: str, low: str) -> dict[str, Any] | None:
        name = self._name(survey, row)
        if name is None:
            return None
        item: dict[str, Any] = {"name": name}
        list_name: str | None = None
        other = False
        marker = row.get("terrain::type")
        select = SELECT.match(raw_type)
        if select:
            verb = select.group(1).lower()
            if verb == "rank":
                ttype = "ranking"
            elif "one" in verb or verb == "select1":
                ttype = "single_choice"
            else:
                ttype = "multiple_choice"
            raw_list = select.group(2)
            other = bool(select.group(3))
            if other and ttype == "ranking":
                self.add("warning", survey.title, row.number, "type", "xlsform.or_other_ignored")
                other = False
            list_name = self.list_renames.get(raw_list)
            if list_name is None or list_name not in self.lists:
                self.add("error", survey.title, row.number, "type", "xlsform.unknown_list", list=raw_list)
                return None
            if row.get("terrain::other") == "yes":
                other = True
                base = list_name.removesuffix("__other")
                if base != list_name and base in self.lists:
                    self.lists_derived.add(list_name)
                    list_name = base
        elif FROM_FILE.match(low):
            return self._unsupported(survey, row, item, raw_type, "no_external")
        elif low in SIMPLE_TYPES:
            ttype = SIMPLE_TYPES[low]
        elif low == "range":
            ttype = "integer"
        elif low in UNSUPPORTED_TYPES and low not in ("range", "phone number"):
            return self._unsupported(survey, row, item, raw_type, UNSUPPORTED_TYPES[low])
        elif low.split()[0] in UNSUPPORTED_TYPES:  # osm LIST, ...
            return self._unsupported(
                survey, row, item, raw_type, UNSUPPORTED_TYPES[low.split()[0]] or "unknown"
            )
        elif low == "phone number":
            # pyxform's alias: a text of digits.
            ttype = "text"
            item["_constraint"] = "regex(., '^[0-9]*$')"
            self.add(
                "info", survey.title, row.number, "type", "xlsform.type_converted", type=raw_type, to="text"
            )
        else:
            return self._unsupported(survey, row, item, raw_type, "unknown")

        appearance = row.get("appearance")
        # Refinements a plain XLSForm cannot say directly.
        if ttype == "single_choice" and list_name is not None:
            if marker == "yes_no" or (marker == "" and self._is_builtin_yes_no(list_name)):
                ttype = "yes_no"
                self.lists_yes_no.add(list_name)
                list_name = None
            elif marker == "likert" or (
                marker == "" and "likert" in appearance.split() and self._integer_values(list_name)
            ):
                ttype = "likert"
                appearance = _strip_token(appearance, "likert") or ""
        if ttype == "text" and (
            marker == "long_text" or (marker == "" and "multiline" in appearance.split())
        ):
            ttype = "long_text"
            appearance = _strip_token(appearance, "multiline") or ""
        if ttype == "photo" and (
            marker == "signature" or (marker == "" and "signature" in appearance.split())
        ):
            ttype = "signature"
            appearance = _strip_token(appearance, "signature") or ""
        if marker and marker != ttype:
            self.add(
                "warning",
                survey.title,
                row.number,
                "terrain::type",
                "xlsform.marker_mismatch",
                marker=marker,
                type=ttype,
            )
        item["type"] = ttype

        texts = self._label_value(self._text(survey, row, "label"), survey, row, "label")
        if texts is None and ttype not in ("calculate",):
            texts = name
            self.add("warning", survey.title, row.number, "label", "xlsform.missing_label")
        if texts is not None:
            item["label"] = texts
        hint = self._label_value(self._text(survey, row, "hint"), survey, row, "hint")
        if hint is not None:
            item["hint"] = hint
        if ttype == "calculate" and row.get("calculation").strip() == ".":
            # ODK: the field keeps the value it was loaded with (CHT inputs, preloads); Terrain loads none.
            item["calculation"] = "''"
            self.self_calculations.append(row.number)
        elif ttype == "calculate":
            self._expr_prop(item, "calculation", survey, row, "calculation")
            if "calculation" not in item:
                # Without its formula the value can only be typed in: keep the field so references hold.
                src = row.get("calculation")
                numeric = re.search(r"\bdiv\b|\bmod\b|[-+*]|round\(|sqrt\(|int\(|number\(|sum\(", src)
                item["type"] = "decimal" if numeric else "text"
                item.setdefault("label", name)
                self.add(
                    "warning",
                    survey.title,
                    row.number,
                    "calculation",
                    "xlsform.calculate_as_text",
                    type=item["type"],
                )
        elif row.get("calculation"):
            self.add("warning", survey.title, row.number, "calculation", "xlsform.calculation_ignored")
        if ttype not in ("note", "calculate", "consent"):
            self._required(item, survey, row)
        self._expr_prop(item, "relevant", survey, row, "relevant")
        if ttype not in ("note", "calculate"):
            self._constraint(item, survey, row, low)
        elif row.get("constraint"):
            self.add(
                "warning", survey.title, row.number, "constraint", "xlsform.ignored_for_type", type=ttype
            )
        item.pop("_constraint", None)
        self._default(item, survey, row)
        read_only = row.get("read_only")
        if read_only:
            flag = _bool(read_only)
            if flag is None:
                self.add("warning", survey.title, row.number, "read_only", "xlsform.dynamic_read_only")
            elif flag:
                item["read_only"] = True
        sensitive = row.get("terrain::sensitive")
        if sensitive and _bool(sensitive):
            item["sensitive"] = True
        if appearance:
            item["appearance"] = appearance
        if list_name is not None and "default" in item:
            values = {c["value"] for c in self.lists.get(list_name, [])}
            wanted = item["default"] if isinstance(item["default"], list) else [item["default"]]
            if not set(map(str, wanted)) <= values:
                # ODK selects nothing for a default that is not a choice (often a placeholder).
                self.add(
                    "warning",
                    survey.title,
                    row.number,
                    "default",
                    "xlsform.default_not_a_choice",
                    value=row.get("default"),
                    list=list_name,
                )
                del item["default"]
        if list_name is not None:
            item["choice_list"] = list_name
            self.lists_used.add(list_name)
            if other:
                item["other"] = True
            filt = row.get("choice_filter")
            if filt:
                self._choice_filter(item, survey, row, filt)
        elif row.get("choice_filter"):
            self.add(
                "warning", survey.title, row.number, "choice_filter", "xlsform.ignored_for_type", type=ttype
            )
        params = row.get("parameters")
        if params and low != "range":
            self.add(
                "info", survey.title, row.number, "parameters", "xlsform.parameters_ignored", value=params
            )
        if row.get("repeat_count"):
            self.add(
                "warning", survey.title, row.number, "repeat_count", "xlsform.ignored_for_type", type=ttype
            )
        self._media(survey, row)
        return item

    def _unsupported(
        self, survey: Sheet, row: Row, item: dict[str, Any], raw_type: str, reason: str
    ) -> dict[str, Any]:
        self.add(
            "warning",
            survey.title,
            row.number,
            "type",
            "xlsform.unsupported_type",
            type=raw_type,
            reason=reason,
            to="text" if row.get("name") in self.referenced else "note",
        )
        item["type"] = "text" if row.get("name") in self.referenced else "note"
        label = self._label_value(self._text(survey, row, "label"), survey, row, "label")
        item["label"] = label if label is not None else item["name"]
        return item

    def _is_builtin_yes_no(self, list_name: str) -> bool:
        choices = self.lists.get(list_name, [])
        if [c["value"] for c in choices] != ["yes", "no"]:
            return False
        for c in choices:
            label = c["label"]
            fr = label if isinstance(label, str) else label.get("fr", "")
            if fr.strip().lower() not in BUILTIN_YES_NO[c["value"]]:
                return False
        return True

    def _integer_values(self, list_name: str) -> bool:
        return all(re.fullmatch(r"-?[0-9]+", c["value"]) for c in self.lists.get(list_name, []))

    # -- ODK paths and `.` ----------------------------------------------------------------------------------
    def _collect_paths(self, survey: Sheet) -> None:
        """The XLSForm path of every named survey row (group names from the root, then its own name), for
        ODK's relative and absolute references."""
        stack: list[str] = []
        for row in survey.rows:
            norm = " ".join(row.get("type").lower().replace("_", " ").split())
            if norm.startswith("end "):
                if stack:
                    stack.pop()
                continue
            path = (*stack, row.get("name"))
            if norm.startswith("begin "):
                stack.append(row.get("name"))
            name = self.row_names.get(row.number)
            if row.get("name") and name:
                self.row_paths[row.number] = path
                self.path_names.setdefault(path, name)
            for value in row.values.values():
                if "/" in value:  # a row named at the end of a path is referenced (a field, not a note)
                    for m in _ODK_PATH.finditer(value):
                        if m.group("path"):
                            self.referenced.add(re.split(r"\s*/\s*", m.group("path").strip())[-1])

    def _odk_paths(self, text: str, survey: Sheet, row: Row, column: str) -> str | None:
        """ODK's paths (`../x`, `current()/../x`, `./x`, `/data/group/x`) become `${name}` when they name a
        survey row, resolving `..` from the row itself (its context node in ODK); a path to nothing is the
        form's own defect (refused at its row). Then a lone `.` (the field's own value) outside a
        constraint: see _self_value."""
        choice_filter = column == "choice_filter"
        if "/" in text or "current()" in text:
            out: list[str] = []
            last = 0
            for m in _ODK_PATH.finditer(text):
                if m.group("path") is None or text[m.end() :].lstrip().startswith("["):
                    continue  # a string, a ${ref}, or a step with a predicate (not a plain path)
                src = m.group("path")
                steps = [s for s in re.split(r"\s*/\s*", src.strip()) if s]
                absolute = src.lstrip().startswith("/")
                node: list[str] | None
                if choice_filter and steps and steps[0] != "current()":
                    if steps[0] == "." and len(steps) == 2 and steps[1] not in (".", ".."):
                        # `./col` in a filter: a column of the choice being filtered, written bare here
                        out += [text[last : m.start("path")], steps[1]]
                        last = m.end("path")
                        continue
                    node = None  # relative to the choice's node: nothing a survey row can be
                elif absolute:
                    node = steps[1:] if len(steps) > 1 else None
                else:
                    if steps and steps[0] == "current()":
                        steps = steps[1:]
                    node = list(self.row_paths.get(row.number, ()))
                    for step in steps:
                        if step == "..":
                            if not node:
                                node = None
                                break
                            node.pop()
                        elif step != ".":
                            node.append(step)
                    if node is not None and not [s for s in steps if s != "."]:
                        # `current()` alone: the field itself, as `.`
                        out += [text[last : m.start("path")], "."]
                        last = m.end("path")
                        continue
                    if steps == [".."]:
                        out += [text[last : m.start("path")], ".."]  # `current()/..`: as `..`
                        last = m.end("path")
                        continue
                name = self.path_names.get(tuple(node)) if node else None
                if node is None or name is None:
                    self.add(
                        "error",
                        survey.title,
                        row.number,
                        column,
                        "xlsform.path_nowhere",
                        path=src.strip(),
                        expression=text,
                    )
                    return None
                own = self.row_paths.get(row.number)
                if column == "relevant" and own and tuple(node[: len(own)]) == own:
                    # A group shown on its own questions' values: a cycle for ODK Validate; CHT reads
                    # values its app filled in before. Terrain cannot show it: dropped, as ODK tools do.
                    self.add(
                        "warning",
                        survey.title,
                        row.number,
                        column,
                        "xlsform.relevant_on_itself",
                        expression=text,
                    )
                    return None
                out += [text[last : m.start("path")], "${" + name + "}"]
                last = m.end("path")
            text = "".join(out) + text[last:]
        return self._self_value(text, survey, row, column)

    def _self_value(self, text: str, survey: Sheet, row: Row, column: str) -> str | None:
        """A lone `.` is the field's own value in ODK. A constraint keeps it (Terrain's meaning too). In a
        calculation it is the value the field was loaded with: Terrain loads none, so `''`. In `required`
        ODK only checks an empty field, so `''` is exact. In `relevant` ODK reads the value before the
        field is answered, empty unless a default or a calculation fills it or the row is a group (its
        value is its children's): `''` there, refused otherwise (its meaning would change)."""
        if column not in ("relevant", "required", "calculation", "choice_filter") or "." not in text:
            return text
        spans = [m.span("dot") for m in _LONE_DOT.finditer(text) if m.group("dot")]
        if not spans:
            return text
        if column == "choice_filter":
            # ODK's `.` in a filter is the choice's node (its texts run together): no Terrain meaning.
            self.add(
                "warning",
                survey.title,
                row.number,
                column,
                "xlsform.unsupported_expression",
                expression=text,
                detail=".",
                offset=spans[0][0],
            )
            return None
        norm = " ".join(row.get("type").lower().replace("_", " ").split())
        if column == "relevant" and (
            row.get("default") or row.get("calculation").strip() not in ("", ".") or norm.startswith("begin ")
        ):
            self.add("error", survey.title, row.number, column, "xlsform.self_relevant", expression=text)
            return None
        for start, end in reversed(spans):
            text = text[:start] + "''" + text[end:]
        if column == "calculation":
            self.self_calculations.append(row.number)
        else:
            self.self_values.append(row.number)
        return text

    # -- properties -----------------------------------------------------------------------------------------
    def _expression(self, src: str, survey: Sheet, row: Row, column: str) -> str | None:
        text = src.translate(SMART_QUOTES)
        if text != src:
            self.add("info", survey.title, row.number, column, "xlsform.smart_quotes")
        text = self._rename_refs(text)
        paths = self._odk_paths(text, survey, row, column)
        if paths is None:
            return None
        text = paths
        used = [n for n in REF.findall(text) if n in self.metadata_names]
        if used:
            self.add(
                "warning",
                survey.title,
                row.number,
                column,
                "xlsform.unsupported_expression",
                expression=src,
                detail=f"${{{used[0]}}}",
                offset=0,
            )
            return None
        if "choice-label" in text or "instance" in text:  # lookups on the form's own choice lists
            text = rewrite_lookups(text, self._list_of, self.lists, self.list_renames)
        if "jr:choice-name" in text:
            text = _choice_names(text, self._list_of)
        if text.strip().lower() in ("true", "false"):  # a boolean cell where an expression is expected
            text = f"{text.strip().lower()}()"
        try:
            tree = parse(text)
        except ExpressionError as exc:
            name = str(exc.params.get("name", ""))
            unsupported = (
                (exc.code == "unknown_function" and (name in UNSUPPORTED_FUNCTIONS or ":" in name))
                or (exc.code == "unexpected_character" and exc.params.get("char") in ("/", "[", "@"))
                # SurveyCTO's `${x} = null`: an XPath path to nothing, not a field
                or (exc.code == "bare_name" and name == "null")
                # SurveyCTO's coalesce() takes any number of arguments, ODK's and Terrain's two; ODK's
                # indexed-repeat() of a nested repeat (5 or 7 arguments) is not supported
                or (exc.code == "wrong_arity" and name in ("coalesce", "indexed-repeat"))
                # SurveyCTO's choice-label(${field}, value) is not Terrain's choice-label(value, 'list')
                or exc.code == "argument_kind"
            )
            missing = [n for n in REF.findall(text) if n not in self.all_names]
            if unsupported and missing:
                # Dropped or not, a reference to no field is the form's own defect (ODK refuses it too).
                self.add(
                    "error", survey.title, row.number, column, "xlsform.unknown_reference", name=missing[0]
                )
                return None
            code = "xlsform.unsupported_expression" if unsupported else "xlsform.bad_expression"
            self.add(
                "warning" if unsupported else "error",
                survey.title,
                row.number,
                column,
                code,
                expression=src,
                detail=exc.message(),
                offset=exc.offset,
            )
            return None
        del tree  # ODK's loose typing is made explicit by the compiler (odk_typing), reported once
        return text

    def _expr_prop(self, item: dict[str, Any], key: str, survey: Sheet, row: Row, column: str) -> None:
        src = row.get(column)
        if not src:
            return
        text = self._expression(src, survey, row, column)
        if text is not None:
            item[key] = text

    def _required(self, item: dict[str, Any], survey: Sheet, row: Row) -> None:
        raw = row.get("required")
        if raw:
            flag = _bool(raw)
            if flag is True:
                item["required"] = True
            elif flag is None:
                text = self._expression(raw, survey, row, "required")
                if text is not None:
                    item["required"] = text
        message = self._label_value(
            self._text(survey, row, "required_message"), survey, row, "required_message"
        )
        if message is not None:
            if "required" in item:
                item["required_message"] = message
            else:
                self.add("info", survey.title, row.number, "required_message", "xlsform.message_without_rule")

    def _constraint(self, item: dict[str, Any], survey: Sheet, row: Row, low: str) -> None:
        parts: list[str] = []
        if "_constraint" in item:
            parts.append(item["_constraint"])
        if low == "range":
            rng = self._range(survey, row)
            if rng is not None:
                item["type"] = rng[0]
                parts.append(rng[1])
        raw = row.get("constraint")
        if raw:
            text = self._expression(raw, survey, row, "constraint")
            if text is not None:
                parts.append(text)
        if parts:
            item["constraint"] = " and ".join(f"({p})" if len(parts) > 1 else p for p in parts)
        message = self._label_value(
            self._text(survey, row, "constraint_message"), survey, row, "constraint_message"
        )
        if message is not None:
            if "constraint" in item:
                item["constraint_message"] = message
            else:
                self.add(
                    "info", survey.title, row.number, "constraint_message", "xlsform.message_without_rule"
                )

    def _range(self, survey: Sheet, row: Row) -> tuple[str, str] | None:
        params = dict(start="0", end="10", step="1")
        raw = row.get("parameters")
        for part in re.split(r"[\s;,]+", raw):
            key, eq, value = part.partition("=")
            if eq and key.strip().lower() in params:
                params[key.strip().lower()] = value.strip()
        try:
            start, end, step = (float(params[k]) for k in ("start", "end", "step"))
        except ValueError:
            self.add("warning", survey.title, row.number, "parameters", "xlsform.bad_value", value=raw)
            return None
        integral = all(x.is_integer() for x in (start, end, step))
        ttype = "integer" if integral else "decimal"
        lo, hi = min(start, end), max(start, end)
        expr = f". >= {_num(lo)} and . <= {_num(hi)}"
        if step and step != 1:
            expr += f" and (. - {_num(lo)}) mod {_num(step)} = 0"
        self.add(
            "info", survey.title, row.number, "type", "xlsform.range_converted", type=ttype, constraint=expr
        )
        return ttype, expr

    def _default(self, item: dict[str, Any], survey: Sheet, row: Row) -> None:
        raw = row.get("default")
        if not raw:
            return
        ttype = item["type"]
        if raw.strip() == ".":
            # ODK: the field's own value as its default, i.e. none.
            self.add("warning", survey.title, row.number, "default", "xlsform.self_default")
            return
        if "${" in raw or "(" in raw:
            self.add("warning", survey.title, row.number, "default", "xlsform.dynamic_default", value=raw)
            return
        value: Any = raw
        try:
            if ttype in ("integer", "likert"):
                value = int(float(raw)) if float(raw).is_integer() else None
            elif ttype == "decimal":
                value = int(raw) if re.fullmatch(r"-?[0-9]+", raw) else float(raw)
            elif ttype == "multiple_choice" or ttype == "ranking":
                value = raw.split()
            elif ttype in (
                "note",
                "calculate",
                "group",
                "repeat",
                "consent",
                "photo",
                "audio",
                "file",
                "signature",
                "geopoint",
            ):
                value = None
            elif ttype == "date":
                value = raw[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", raw) else None
        except ValueError:
            value = None
        if value is None:
            self.add(
                "warning", survey.title, row.number, "default", "xlsform.bad_default", value=raw, type=ttype
            )
            return
        item["default"] = value

    def _choice_filter(self, item: dict[str, Any], survey: Sheet, row: Row, raw: str) -> None:
        text = self._filter_expression(raw, survey, row, item["choice_list"])
        if text is not None:
            item["choice_filter"] = text

    def _filter_expression(self, raw: str, survey: Sheet, row: Row, list_name: str) -> str | None:
        """XLSForm filters name choice columns bare (`state=${state}`); Terrain keeps that form and the
        compiler resolves bare names against the choices' `filter` properties and `value`."""
        from terrain.speclang.compiler import rewrite_choice_filter

        text = self._rename_refs(raw.translate(SMART_QUOTES))
        if text != raw:
            self.add("info", survey.title, row.number, "choice_filter", "xlsform.smart_quotes")
        paths = self._odk_paths(text, survey, row, "choice_filter")
        if paths is None:
            return None
        text = paths
        if re.search(r"\blabel\s*:", text) or re.search(r"\blabel\b(?!\s*\()", text):
            self.add(
                "warning",
                survey.title,
                row.number,
                "choice_filter",
                "xlsform.unsupported_expression",
                expression=raw,
                detail="label",
                offset=0,
            )
            return None
        # XLSForm calls the choice value `name`; Terrain calls it `value`.
        text = re.sub(r"(?<![${.\w])name(?![\w(}])", "value", text)
        rewritten, _ = rewrite_choice_filter(text)
        try:
            parse(rewritten)
        except ExpressionError as exc:
            unsupported = exc.code == "unknown_function" and exc.params.get("name") in UNSUPPORTED_FUNCTIONS
            self.add(
                "warning" if unsupported else "error",
                survey.title,
                row.number,
                "choice_filter",
                "xlsform.unsupported_expression" if unsupported else "xlsform.bad_expression",
                expression=raw,
                detail=exc.message(),
                offset=exc.offset,
            )
            return None
        props = {"value"} | {k for c in self.lists.get(list_name, []) for k in c.get("filter", {})}
        unknown = [m for m in re.findall(r"\$\{choice\.(\w+)\}", rewritten) if m not in props]
        if unknown:
            self.add(
                "warning",
                survey.title,
                row.number,
                "choice_filter",
                "xlsform.filter_unknown_column",
                expression=raw,
                property=unknown[0],
            )
            return None
        return text

    # -- document -------------------------------------------------------------------------------------------
    def _document(self, settings: dict[str, str], items: list[dict[str, Any]]) -> dict[str, Any]:
        settings_sheet = self.sheets.get("settings")
        stitle = settings_sheet.title if settings_sheet else "settings"
        stem = Path(self.filename).stem
        raw_id = settings.get("form_id") or stem
        name = sanitize_spec_name(raw_id)
        if name != raw_id:
            self.add(
                "info",
                stitle,
                2 if settings.get("form_id") else None,
                "form_id",
                "xlsform.form_id_changed",
                old=raw_id,
                new=name,
            )
        kind = settings.get("terrain_kind") or "questionnaire"
        if kind not in ("questionnaire", "observation_log"):
            self.add("warning", stitle, 2, "terrain_kind", "xlsform.bad_value", value=kind)
            kind = "questionnaire"
        doc: dict[str, Any] = {"spec": 1, "kind": kind, "name": name}
        title_fr = settings.get("form_title") or settings.get("form_id") or stem
        title: dict[str, str] = {"fr": title_fr}
        description: dict[str, str] = {}
        for key, value in settings.items():
            if key.startswith("terrain_title_"):
                title[key.removeprefix("terrain_title_")] = value
            elif key.startswith("terrain_description_"):
                description[key.removeprefix("terrain_description_")] = value
        doc["title"] = title["fr"] if len(title) == 1 else title
        version = settings.get("version")
        if version and self.foreign:
            # XLSForm versions identify a deployment; Terrain versions specs itself. Keep it readable.
            line = f"Version XLSForm : {version}"
            description["fr"] = f"{description['fr']}\n{line}" if description.get("fr") else line
            self.add("info", stitle, 2, "version", "xlsform.version_kept", version=version)
        if description:
            if "fr" not in description:
                description = {"fr": next(iter(description.values())), **description}
            doc["description"] = description["fr"] if len(description) == 1 else description
        languages = list(dict.fromkeys(["fr", *self.langs.values()]))
        if len(languages) > 1:
            doc["languages"] = languages
        entry = {
            k.removeprefix("terrain_entry_title_"): v
            for k, v in settings.items()
            if k.startswith("terrain_entry_title_")
        }
        if settings.get("terrain_entry_title"):
            entry.setdefault("fr", settings["terrain_entry_title"])
        if kind == "observation_log" and entry:
            doc["entry_title"] = entry["fr"] if set(entry) == {"fr"} else entry
        if self.metadata:
            doc["metadata"] = list(self.metadata)
        lists = {
            name: choices
            for name, choices in self.lists.items()
            if not ((name in self.lists_yes_no or name in self.lists_derived) and name not in self.lists_used)
        }
        # A list named after the only item using it was inline in the spec (the compiler hoists inline
        # choices under the item's name): put it back inline so the round trip is exact.
        uses: dict[str, int] = {}
        for item in _walk(items):
            if item.get("choice_list"):
                uses[item["choice_list"]] = uses.get(item["choice_list"], 0) + 1
        for item in _walk(items):
            name = item.get("choice_list")
            if name and name == item["name"] and uses.get(name) == 1 and name in lists:
                rebuilt = {}
                for key, value in item.items():
                    if key == "choice_list":
                        choices = lists.pop(name)
                        if item.get("other") and choices and choices[-1]["value"] == "other":
                            choices = choices[:-1]  # the compiler appends it again
                        rebuilt["choices"] = choices
                    else:
                        rebuilt[key] = value
                item.clear()
                item.update(rebuilt)
        if lists:
            doc["choice_lists"] = lists
        doc["items"] = items
        return doc


def _walk(items: list[dict[str, Any]]) -> Any:
    for item in items:
        yield item
        yield from _walk(item.get("items") or [])


def _strip_token(appearance: str | None, token: str) -> str | None:
    if not appearance:
        return None
    rest = [t for t in appearance.split() if t != token]
    return " ".join(rest) or None


def _bool(raw: str) -> bool | None:
    low = raw.strip().lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    return None


def _num(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)


_CHOICE_NAME = re.compile(r"jr:choice-name\s*\(")
_STEP = r"(?:\.\.|\.|[A-Za-z_][\w-]*)"
_STR_OR_REF = r"""(?P<str>'[^']*'|"[^"]*")|(?P<ref>\$\{[^}]*\})"""
# ODK paths: `current()/../x`, `../x` or `./x` (at least one step after the dot), `/root/group/x`; not after
# a name, `)` or `]` (a step of an instance() path or a predicate, left to the expression reader).
_ODK_PATH = re.compile(
    _STR_OR_REF
    + r"|(?P<path>(?<![\w-])current\(\)(?:\s*/\s*"
    + _STEP
    + r")*"
    + r"|(?<![\w.)\]}])\.\.?(?:\s*/\s*"
    + _STEP
    + r")+"
    + r"|(?<![\w.)\]}'\"])/\s*[A-Za-z_][\w-]*(?:\s*/\s*[A-Za-z_][\w-]*)*)"
)
# A lone `.` (not `..`, not a decimal, not a path step), outside strings and ${refs}.
_LONE_DOT = re.compile(_STR_OR_REF + r"|(?<![\w.)\]}])(?P<dot>\.)(?![\w.]|\s*/)")
_LIST_ARG = re.compile(r"""\s*(['"])\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}\1\s*""")


def _choice_names(text: str, list_of: Callable[[str], str | None]) -> str:
    """ODK's ``jr:choice-name(value, '${q}')`` names a select; Terrain's ``choice-label(value, 'list')``
    names its choice list. A call whose second argument is not such a select is left as it is (then
    reported as an unsupported function)."""
    out: list[str] = []
    last = 0
    for m in _CHOICE_NAME.finditer(text):
        if m.start() < last:
            continue
        depth, quote, comma, i = 1, "", -1, m.end()
        while i < len(text) and depth:  # the matching parenthesis, outside quotes
            c = text[i]
            if quote:
                quote = "" if c == quote else quote
            elif c in "'\"":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "," and depth == 1:
                comma = i
            i += 1
        if depth or comma < 0:
            continue
        arg = _LIST_ARG.fullmatch(text, comma + 1, i - 1)
        list_name = list_of(arg.group(2)) if arg else None
        if list_name is None:
            continue
        out.append(text[last : m.start()])
        value = _choice_names(text[m.end() : comma], list_of)
        out.append("choice-label(" + value + ", '" + list_name + "')")
        last = i
    out.append(text[last:])
    return "".join(out)


def import_xlsform(source: Path | bytes, filename: str) -> ImportResult:
    """Read an XLSForm workbook (.xlsx) into a spec document; never raises on bad input."""
    importer = _Importer(filename)
    try:
        data = load_bytes(source, filename)
        document = importer.run(data)
    except WorkbookError as exc:
        importer.report.insert(0, exc.message)
        return ImportResult(None, importer.report, False)
    except Exception as exc:  # a bug here must still give the user a message, not a traceback
        logger.exception("internal error while importing an XLSForm")  # tests assert it never happens
        importer.report.append(
            ImportMessage("error", "", None, None, "xlsform.internal_error", {"reason": type(exc).__name__})
        )
        return ImportResult(None, importer.report, False)
    if document is None:
        return ImportResult(None, importer.report, False)
    from .compile import compile_document

    compiled = compile_document(
        filename,
        document,
        importer.report,
        importer.name_rows,
        importer.sheets,
        odk_typing=importer.foreign,
    )
    ok = compiled is not None and not any(m.severity == "error" for m in importer.report)
    return ImportResult(
        document,
        group_report(importer.report),
        ok,
        compiled,
        dict(importer.name_rows),
        importer.report,
    )
