"""Broken workbooks are refused or reported with the sheet, row and column, in French and English."""

from __future__ import annotations

from pathlib import Path

from terrain.xlsform import import_xlsform, render_message

from .helpers import find, form, one, rendered, workbook

HEAD = ["type", "name", "label::Français (fr)", "relevant"]


def test_no_survey_sheet() -> None:
    result = import_xlsform(workbook({"Feuil1": [["type", "name"], ["text", "a"]]}), "f.xlsx")
    assert not result.ok and result.document is None
    msg = one(result, "xlsform.no_survey_sheet")
    assert (msg.severity, msg.sheet, msg.params["sheets"]) == ("error", "survey", ["Feuil1"])
    assert (
        render_message(msg, "fr")
        == "survey: le classeur n'a pas de feuille « survey » (feuilles trouvées : Feuil1)"
    )
    assert render_message(msg, "en") == 'survey: the workbook has no "survey" sheet (sheets found: Feuil1)'


def test_sheet_names_are_case_insensitive() -> None:
    data = workbook(
        {"SURVEY": [["TYPE", "NAME", "LABEL"], ["text", "a", "A"]], "Settings": [["form_id"], ["x_y"]]}
    )
    result = import_xlsform(data, "f.xlsx")
    assert result.document is not None
    assert result.document["name"] == "x_y"
    assert [i["name"] for i in result.document["items"]] == ["a"]


def test_duplicate_names() -> None:
    result = import_xlsform(
        form([HEAD, ["text", "a", "A"], ["integer", "b", "B"], ["text", "a", "A bis"]]), "f.xlsx"
    )
    assert not result.ok
    msg = one(result, "xlsform.duplicate_name")
    assert (msg.severity, msg.sheet, msg.row, msg.column) == ("error", "survey", 4, "name")
    assert msg.params == {"name": "a", "first_row": 2}
    assert (
        render_message(msg, "fr")
        == "survey!4 (name): nom « a » déjà utilisé ligne 2 : chaque nom doit être unique"
    )
    assert (
        render_message(msg, "en") == 'survey!4 (name): name "a" already used row 2: every name must be unique'
    )


def test_unknown_type_becomes_a_note_with_a_warning() -> None:
    result = import_xlsform(form([HEAD, ["text", "a", "A"], ["hologram", "h", "Hologramme"]]), "f.xlsx")
    msg = one(result, "xlsform.unsupported_type")
    assert (msg.severity, msg.sheet, msg.row, msg.column) == ("warning", "survey", 3, "type")
    assert (
        render_message(msg, "en")
        == 'survey!3 (type): type "hologram" not supported (unknown type): imported as note'
    )
    assert render_message(msg, "fr").startswith(
        "survey!3 (type): type « hologram » non pris en charge (type inconnu)"
    )
    assert result.document is not None
    assert result.document["items"][1] == {"name": "h", "type": "note", "label": "Hologramme"}


def test_unsupported_types_are_notes() -> None:
    rows = [HEAD] + [
        [t, f"q{i}", f"Q{i}"] for i, t in enumerate(["geotrace", "geoshape", "barcode", "video", "hidden"])
    ]
    result = import_xlsform(form(rows), "f.xlsx")
    assert len(find(result, "xlsform.unsupported_type")) == 5
    assert result.document is not None
    assert {i["type"] for i in result.document["items"]} == {"note"}


def test_bad_expression_is_reported_and_dropped() -> None:
    result = import_xlsform(
        form([HEAD, ["integer", "age", "Âge"], ["text", "b", "B", "${age} >>= 3"]]), "f.xlsx"
    )
    assert not result.ok
    msg = one(result, "xlsform.bad_expression")
    assert (msg.severity, msg.sheet, msg.row, msg.column) == ("error", "survey", 3, "relevant")
    assert msg.params["expression"] == "${age} >>= 3"
    assert render_message(msg, "en").startswith('survey!3 (relevant): expression refused "${age} >>= 3"')
    assert render_message(msg, "fr").startswith("survey!3 (relevant): expression refusée « ${age} >>= 3 »")
    assert result.document is not None
    assert "relevant" not in result.document["items"][1]


def test_unsupported_function_is_a_warning() -> None:
    rows = [[*HEAD, "calculation"], ["calculate", "c", "", "", "pulldata('f', 'a', 'b', 'c')"]]
    result = import_xlsform(form(rows), "f.xlsx")
    msg = one(result, "xlsform.unsupported_expression")
    assert (msg.severity, msg.row, msg.column) == ("warning", 2, "calculation")
    assert one(result, "xlsform.calculate_as_text").row == 2


def test_unclosed_group() -> None:
    rows = [
        HEAD,
        ["begin group", "g", "G"],
        ["text", "a", "A"],
        ["begin repeat", "r", "R"],
        ["text", "b", "B"],
        ["end repeat"],
    ]
    result = import_xlsform(form(rows), "f.xlsx")
    assert not result.ok
    msg = one(result, "xlsform.unclosed_group")
    assert (msg.severity, msg.sheet, msg.row, msg.column) == ("error", "survey", 2, "type")
    assert render_message(msg, "en") == 'survey!2 (type): group "g" opened here is never closed'


def test_unmatched_and_mismatched_end() -> None:
    rows = [
        HEAD,
        ["text", "a", "A"],
        ["end group"],
        ["begin group", "g", "G"],
        ["text", "b", "B"],
        ["end repeat"],
    ]
    result = import_xlsform(form(rows), "f.xlsx")
    assert not result.ok
    assert one(result, "xlsform.unmatched_end").row == 3
    msg = one(result, "xlsform.mismatched_end")
    assert (msg.row, msg.params["begin_row"], msg.params["expected"]) == (6, 4, "end group")


def test_underscore_group_variants_and_nesting() -> None:
    rows = [
        HEAD,
        ["begin_group", "g", "G"],
        ["begin_repeat", "r", "R"],
        ["text", "a", "A"],
        ["end_repeat"],
        ["end_group"],
    ]
    result = import_xlsform(form(rows), "f.xlsx")
    assert result.document is not None
    g = result.document["items"][0]
    assert (g["type"], g["items"][0]["type"], g["items"][0]["items"][0]["name"]) == ("group", "repeat", "a")


def test_unknown_choice_list() -> None:
    result = import_xlsform(
        form([HEAD, ["select_one nope", "s", "S"]], [["list_name", "name", "label"]]), "f.xlsx"
    )
    msg = one(result, "xlsform.unknown_list")
    assert (msg.severity, msg.row, msg.column, msg.params) == ("error", 2, "type", {"list": "nope"})


def test_xls_by_magic_bytes_and_extension(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    for data, name in ((ole, "form.bin"), (b"whatever", "Form.XLS")):
        result = import_xlsform(data, name)
        assert not result.ok and result.document is None
        msg = one(result, "xlsform.xls_not_supported")
        assert (
            render_message(msg, "en")
            == f"{name} is an .xls file (Excel 97-2003), not supported: save it as .xlsx"
        )
        assert "enregistrez-le au format .xlsx" in render_message(msg, "fr")


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    result = import_xlsform(b"PK\x03\x04 not really a zip", "f.xlsx")
    assert one(result, "xlsform.not_a_workbook").severity == "error"
    result = import_xlsform(b"hello", "f.xlsx")
    assert one(result, "xlsform.not_a_workbook")
    result = import_xlsform(tmp_path / "absent.xlsx", "absent.xlsx")
    assert one(result, "xlsform.unreadable_file").params["filename"] == "absent.xlsx"
    assert not rendered(result, "fr")[0].startswith("Traceback")


def test_duplicate_column_header() -> None:
    result = import_xlsform(form([["type", "name", "label", "label"], ["text", "a", "A", "B"]]), "f.xlsx")
    msg = one(result, "xlsform.duplicate_column")
    assert (msg.severity, msg.sheet, msg.row, msg.column, msg.params["index"]) == (
        "error",
        "survey",
        1,
        "label",
        4,
    )
    assert not result.ok


def test_compiler_issues_point_at_the_survey_row() -> None:
    rows = [
        HEAD,
        ["text", "a", "A"],
        ["begin group", "g", "G"],
        ["integer", "b", "B", "${inconnu} > 2"],
        ["end group"],
    ]
    result = import_xlsform(form(rows), "f.xlsx")
    assert not result.ok
    msg = one(result, "xlsform.compile_issue")
    assert (msg.severity, msg.sheet, msg.row, msg.column) == ("error", "survey", 4, "relevant")
    assert msg.params["code"] == "unknown_reference"
    assert render_message(msg, "fr") != render_message(msg, "en")
    assert render_message(msg, "en").startswith("survey!4 (relevant): ")
