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


def test_group_report_folds_repeated_warnings_only() -> None:
    from terrain.xlsform.messages import ImportMessage, group_report, render_message, row_ranges

    rep = [
        ImportMessage("warning", "survey", r, "name", "xlsform.name_changed", {"old": f"a-{r}", "new": "b"})
        for r in (3, 4, 5, 9)
    ]
    rep.append(ImportMessage("error", "survey", 7, "name", "xlsform.missing_name", {}))
    rep.append(ImportMessage("error", "survey", 8, "name", "xlsform.missing_name", {}))
    rep.append(ImportMessage("error", "survey", 10, "name", "xlsform.missing_name", {}))
    grouped = group_report(rep)
    assert [m.code for m in grouped] == ["xlsform.name_changed", *["xlsform.missing_name"] * 3]
    assert grouped[0].params["repeated"] == [3, 4, 5, 9]
    assert render_message(grouped[0], "en").endswith("(4 times in all, rows 3-5, 9)")
    assert group_report(rep[:2]) == rep[:2]  # two of a kind stay as they are
    assert row_ranges(list(range(1, 40, 2)), limit=3) == "1, 3, 5, ..."
