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
    info = one(result, "xlsform.odk_typing")  # one line for the form, with the rows
    assert (info.severity, info.params["count"], info.params["rows"]) == ("info", 1, [4])
    score = next(i for i in result.compiled["items"] if i["name"] == "score")
    assert score["calculation"]["src"] == "number(${q1}) + number(${q2}) * 2"
    assert evaluate(score["calculation"]["ast"], EvalContext(answers={"q1": "1", "q2": "2"})) == 5


def test_odk_loose_typing_converts_comparisons_once_per_form() -> None:
    from terrain.expressions import EvalContext, evaluate

    data = form(
        [
            ["type", "name", "label", "relevant", "calculation", "constraint"],
            ["select_one yn", "q", "Q", "", "", ""],
            ["text", "n", "N", "", "", ""],
            ["integer", "m", "M", "${q} = 1", "", ""],
            ["note", "x", "X", "${n} > ${m}", "", ""],
            ["calculate", "limit", "", "", "'2024-01-01'", ""],
            ["date", "d", "D", "", "", ". >= ${limit}"],
        ],
        [["list_name", "name", "label"], ["yn", "1", "Oui"], ["yn", "2", "Non"]],
    )
    result = import_xlsform(data, "loose.xlsx")
    assert result.ok and result.compiled is not None, rendered(result)
    info = one(result, "xlsform.odk_typing")
    assert info.params["rows"] == [4, 5, 7]
    items = {i["name"]: i for i in result.compiled["items"]}
    assert items["m"]["relevant"]["src"] == "number(${q}) = 1"
    assert items["x"]["relevant"]["src"] == "number(${n}) > ${m}"
    assert items["d"]["constraint"]["src"] == ". >= date(${limit})"
    assert evaluate(items["x"]["relevant"]["ast"], EvalContext(answers={"n": "10", "m": 9})) is True
    assert evaluate(items["x"]["relevant"]["ast"], EvalContext(answers={"n": "8", "m": 9})) is False
    assert "number(${q}) = 1" in (result.yaml_text or "")


def test_names_reused_in_another_group_are_renamed_and_references_follow_the_group() -> None:
    data = form(
        [
            ["type", "name", "label", "relevant"],
            ["begin group", "adult", "Adult", ""],
            ["integer", "age", "Age", ""],
            ["note", "n1", "N1", "${age} > 17"],
            ["end group", "", "", ""],
            ["begin group", "child", "Child", ""],
            ["integer", "age", "Age", ""],
            ["note", "n2", "N2", "${age} < 5"],
            ["end group", "", "", ""],
            ["note", "n3", "N3", "${age} > 0"],
        ]
    )
    result = import_xlsform(data, "dup.xlsx")
    assert result.ok and result.compiled is not None, rendered(result)
    msg = one(result, "xlsform.duplicate_name_renamed")
    assert (msg.severity, msg.row, msg.params["new"], msg.params["first_row"]) == ("warning", 7, "age_2", 3)
    adult, child, n3 = result.compiled["items"]
    assert adult["items"][1]["relevant"]["src"] == "${age} > 17"
    assert child["items"][1]["relevant"]["src"] == "${age_2} < 5"
    assert n3["relevant"]["src"] == "${age} > 0"  # outside both groups: the first one


def test_same_name_twice_in_one_group_is_still_refused() -> None:
    data = form([["type", "name", "label"], ["integer", "a", "A"], ["text", "a", "A2"]])
    result = import_xlsform(data, "dup.xlsx")
    assert not result.ok
    assert one(result, "xlsform.duplicate_name").row == 3


def test_multiple_choice_values_with_spaces_are_mapped_and_single_ones_kept() -> None:
    data = form(
        [
            ["type", "name", "label", "relevant"],
            ["select_multiple why", "why", "Why", ""],
            ["select_one place", "place", "Where", ""],
            ["note", "n", "N", "selected(${why}, 'better access')"],
        ],
        [
            ["list_name", "name", "label"],
            ["why", "better access", "Better access"],
            ["why", "cost", "Cost"],
            ["place", "camp pitch", "Camp pitch"],
            ["place", "hotel", "Hotel"],
        ],
    )
    result = import_xlsform(data, "spaces.xlsx")
    assert result.ok and result.compiled is not None, rendered(result)
    msg = one(result, "xlsform.choice_values_mapped")
    assert (msg.sheet, msg.row, msg.params["list"], msg.params["count"]) == ("choices", 2, "why", 1)
    lists = result.compiled["choice_lists"]
    assert lists["why"][0]["value"] == "better_access"
    assert lists["why"][0]["filter"] == {"xlsform_name": "better access"}
    assert lists["place"][0]["value"] == "camp pitch"
    note = result.compiled["items"][2]
    assert note["relevant"]["src"] == "selected(${why}, 'better_access')"


def test_vendor_forms_details() -> None:
    """SurveyCTO's `value` column, a nameless note, a default that is no choice, `calculation: .`, vendor
    functions (reported, dropped) and a dropped expression that names no field (refused)."""
    data = form(
        [
            ["type", "name", "label", "default", "calculation"],
            ["note", "", "Read this", "", ""],
            ["note", "", "", "", ""],
            ["select_one l", "q", "Q", "PLACEHOLDER", ""],
            ["calculate", "c", "", "", "."],
            ["calculate", "t", "", "", "duration()"],
        ],
        [["list_name", "value", "label"], ["l", "a", "A"]],
    )
    result = import_xlsform(data, "vendor.xlsx")
    assert result.ok and result.compiled is not None, rendered(result)
    assert one(result, "xlsform.note_named").params["name"] == "note_2"
    assert one(result, "xlsform.empty_note_skipped").row == 3
    assert one(result, "xlsform.default_not_a_choice").row == 4
    assert one(result, "xlsform.self_calculation").params["rows"] == [5]
    assert one(result, "xlsform.unsupported_expression").row == 6
    names = [i["name"] for i in result.compiled["items"]]
    assert names == ["note_2", "q", "c", "t"]
    assert result.compiled["items"][2]["calculation"]["src"] == "''"

    broken = form([["type", "name", "calculation"], ["calculate", "t", "pulldata('x', ${nowhere})"]])
    refused = import_xlsform(broken, "broken.xlsx")
    assert not refused.ok
    msg = one(refused, "xlsform.unknown_reference")
    assert (msg.severity, msg.row, msg.column, msg.params["name"]) == ("error", 2, "calculation", "nowhere")
