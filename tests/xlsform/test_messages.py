"""The fr and en catalogs have the same keys and placeholders, and cover every code the package emits."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from terrain.xlsform import ImportMessage, render_message

PKG = Path(__file__).resolve().parents[2] / "backend" / "terrain" / "xlsform"


def _catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((PKG / "messages" / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_same_keys_and_placeholders() -> None:
    fr, en = _catalog("fr"), _catalog("en")
    assert set(fr) == set(en)
    for key in fr:
        assert _fields(fr[key]) == _fields(en[key]), key


def test_every_emitted_code_has_a_message() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in PKG.glob("*.py"))
    codes = set(re.findall(r'"(xlsform\.[a-z_]+)"', source))
    assert codes, "no codes found"
    missing = codes - set(_catalog("fr"))
    assert not missing


def test_render_place_forms() -> None:
    msg = ImportMessage("error", "survey", 12, "relevant", "xlsform.missing_name", {})
    assert render_message(msg, "fr") == "survey!12 (relevant): ligne sans nom : ignorée"
    assert render_message(msg, "en") == "survey!12 (relevant): row without a name: ignored"
    assert render_message(
        ImportMessage("info", "choices", None, None, "xlsform.sheet_ignored", {}), "en"
    ) == ("choices: sheet not used by XLSForm: ignored")
    # Unknown language falls back to French; unknown code shows the code and its parameters.
    assert render_message(msg, "de") == render_message(msg, "fr")
    odd = ImportMessage("warning", "", None, None, "xlsform.nope", {"a": 1})
    assert render_message(odd, "en") == "xlsform.nope {'a': 1}"
