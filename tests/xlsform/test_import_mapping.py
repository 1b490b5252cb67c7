"""Import mapping details on small workbooks: languages, type refinements, range, settings, YAML output."""

from __future__ import annotations

from terrain.xlsform import import_xlsform, yaml_dump

from .helpers import form, one, rendered

CHOICES_HEAD = ["list_name", "name", "label::Français (fr)"]


def test_languages_codes_and_french_fallback() -> None:
    data = form(
        [
            ["type", "name", "label::English (en)", "label::Español (es)", "label::english"],
            ["text", "a", "A", "Á", "A2"],
        ],
        settings={"default_language": "English (en)"},
    )
    result = import_xlsform(data, "f.xlsx")
    assert result.ok, rendered(result)
    assert result.document is not None
    assert result.document["languages"] == ["fr", "es", "en"]
    # the default language goes under fr (to translate); another English column stays en
    assert result.document["items"][0]["label"] == {"fr": "A", "es": "Á", "en": "A2"}
    assert one(result, "xlsform.labels_not_french").params == {"language": "label::English (en)"}


def test_french_columns_are_used_as_is() -> None:
    data = form(
        [
            ["type", "name", "label::fr", "label::en", "hint::French (fr)"],
            ["text", "a", "Nom", "Name", "Aide"],
        ]
    )
    result = import_xlsform(data, "f.xlsx")
    assert result.ok, rendered(result)
    assert result.document is not None
    assert result.document["items"][0] == {
        "name": "a",
        "type": "text",
        "label": {"fr": "Nom", "en": "Name"},
        "hint": "Aide",
    }
    assert not [m for m in result.report if m.code == "xlsform.labels_not_french"]


def test_type_refinements_for_foreign_forms() -> None:
    survey = [
        ["type", "name", "label::Français (fr)", "appearance", "parameters"],
        ["select_one on", "a", "A"],
        ["select_one oui_non", "b", "B"],
        ["select_one echelle", "c", "C", "likert"],
        ["select_one oui_non", "d", "D", "likert"],
        ["text", "e", "E", "multiline"],
        ["image", "f", "F", "signature"],
        ["range", "g", "G", "", "start=1 end=5"],
        ["range", "h", "H", "", "start=0 end=1 step=0.5"],
        ["select_multiple on or_other", "i", "I"],
        ["rank echelle", "j", "J"],
        ["acknowledge", "k", "K"],
        ["dateTime", "l", "L"],
    ]
    choices = [
        CHOICES_HEAD,
        ["on", "yes", "Oui"],
        ["on", "no", "Non"],
        ["oui_non", "oui", "Oui"],
        ["oui_non", "non", "Non"],
        ["echelle", "1", "Un"],
        ["echelle", "2", "Deux"],
    ]
    result = import_xlsform(form(survey, choices), "f.xlsx")
    assert result.ok, rendered(result)
    assert result.document is not None
    items = {i["name"]: i for i in result.document["items"]}
    assert {k: v["type"] for k, v in items.items()} == {
        "a": "yes_no",
        "b": "single_choice",
        "c": "likert",
        "d": "single_choice",
        "e": "long_text",
        "f": "signature",
        "g": "integer",
        "h": "decimal",
        "i": "multiple_choice",
        "j": "ranking",
        "k": "consent",
        "l": "datetime",
    }
    assert "appearance" not in items["c"] and "appearance" not in items["e"]
    assert items["g"]["constraint"] == ". >= 1 and . <= 5"
    assert items["h"]["constraint"] == ". >= 0 and . <= 1 and (. - 0) mod 0.5 = 0"
    assert items["i"]["other"] is True
    # the list "on" is still used by d and i, so it stays
    assert set(result.document["choice_lists"]) == {"on", "oui_non", "echelle"}


def test_settings_form_id_sanitized_and_version() -> None:
    data = form(
        [["type", "name", "label"], ["text", "a", "A"]],
        settings={"form_id": "Enquête Ménages 2024", "version": "2024-01"},
    )
    result = import_xlsform(data, "f.xlsx")
    assert result.document is not None
    assert result.document["name"] == "enquete_menages_2024"
    assert one(result, "xlsform.form_id_changed").params == {
        "old": "Enquête Ménages 2024",
        "new": "enquete_menages_2024",
    }
    assert result.document["description"] == "Version XLSForm : 2024-01"
    assert one(result, "xlsform.version_kept").column == "version"


def test_yaml_dump_is_block_style_unicode_french_first() -> None:
    text = yaml_dump(
        {"spec": 1, "title": {"en": "Survey", "fr": "Enquête"}, "items": [{"name": "a", "type": "text"}]}
    )
    assert text == "spec: 1\ntitle:\n  fr: Enquête\n  en: Survey\nitems:\n  - name: a\n    type: text\n"


def test_imported_yaml_is_the_document() -> None:
    from ruamel.yaml import YAML

    result = import_xlsform(form([["type", "name", "label"], ["integer", "age", "Âge"]]), "f.xlsx")
    assert result.yaml_text is not None
    assert YAML(typ="safe").load(result.yaml_text) == result.document


def test_metadata_kept_but_never_personal_device_data() -> None:
    data = form(
        [
            ["type", "name", "label"],
            ["start", "start", ""],
            ["deviceid", "deviceid", ""],
            ["phonenumber", "phonenumber", ""],
            ["integer", "age", "Âge"],
        ]
    )
    result = import_xlsform(data, "meta.xlsx")
    assert result.ok and result.compiled is not None
    assert result.compiled["metadata"] == ["start", "deviceid"]
    refused = one(result, "xlsform.metadata_not_collected")
    assert (refused.severity, refused.row, refused.params["type"]) == ("warning", 4, "phonenumber")


def test_scores_on_choice_codes_keep_their_logic() -> None:
    from terrain.expressions import EvalContext, evaluate

    data = form(
        [
            ["type", "name", "label", "calculation"],
            ["select_one note", "q1", "Q1", ""],
            ["select_one note", "q2", "Q2", ""],
            ["calculate", "score", "", "${q1} + ${q2} * 2"],
        ],
        [["list_name", "name", "label"], ["note", "1", "Un"], ["note", "2", "Deux"]],
    )
    result = import_xlsform(data, "score.xlsx")
    assert result.ok and result.compiled is not None, rendered(result)
    info = one(result, "xlsform.number_conversion")
    assert (info.row, info.column) == (4, "calculation")
    score = next(i for i in result.compiled["items"] if i["name"] == "score")
    assert score["calculation"]["src"] == "number(${q1}) + number(${q2}) * 2"
    assert evaluate(score["calculation"]["ast"], EvalContext(answers={"q1": "1", "q2": "2"})) == 5
