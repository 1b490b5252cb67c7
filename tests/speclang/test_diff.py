"""Diffs between compiled specs and the breaking-change rule."""

from __future__ import annotations

from typing import Any

from terrain.speclang import breaking_issues, check_publishable, compile_text, diff, render

BASE = """\
spec: 1
kind: questionnaire
name: essai
title: Essai
choice_lists:
  sexe:
    - {value: f, label: Féminin}
    - {value: m, label: Masculin}
items:
  - {name: age, type: integer, label: Âge}
  - {name: sexe, type: single_choice, label: Sexe, choice_list: sexe}
  - name: membres
    type: repeat
    label: Membres
    items:
      - {name: prenom, type: text, label: Prénom}
  - {name: remarque, type: text, label: Remarque}
"""


def compiled(text: str) -> dict[str, Any]:
    result = compile_text(text)
    assert result.ok and result.compiled is not None, [render(i) for i in result.issues]
    return result.compiled


def changes(old: str, new: str) -> list[tuple[str, str, str, bool]]:
    d = diff(compiled(old), compiled(new))
    return [(c.op, c.target, c.name, c.breaking) for c in d.changes]


def test_identical_is_empty() -> None:
    d = diff(compiled(BASE), compiled(BASE))
    assert d.is_empty and not d.breaking
    assert d.to_dict() == {"changes": [], "breaking": False, "is_empty": True}


def test_added_item_is_compatible() -> None:
    new = BASE + "  - {name: ville, type: text, label: Ville}\n"
    assert changes(BASE, new) == [("added", "item", "ville", False)]


def test_label_change_is_compatible() -> None:
    d = diff(compiled(BASE), compiled(BASE.replace("label: Âge", "label: Âge (ans)")))
    assert [(c.op, c.name, c.fields, c.breaking) for c in d.changes] == [("changed", "age", ["label"], False)]


def test_relevance_change_is_compatible() -> None:
    new = BASE.replace("label: Remarque}", 'label: Remarque, relevant: "${age} > 3"}')
    d = diff(compiled(BASE), compiled(new))
    assert [(c.name, c.fields, c.breaking) for c in d.changes] == [("remarque", ["relevant"], False)]


def test_type_change_is_breaking() -> None:
    d = diff(compiled(BASE), compiled(BASE.replace("{name: age, type: integer", "{name: age, type: text")))
    (change,) = d.changes
    assert change.breaking and change.reason == "type_changed" and "type" in change.fields
    assert d.breaking


def test_removed_choice_is_breaking() -> None:
    new = BASE.replace("    - {value: m, label: Masculin}\n", "")
    d = diff(compiled(BASE), compiled(new))
    assert d.breaking
    assert ("removed", "choice", "sexe.m", True) in [(c.op, c.target, c.name, c.breaking) for c in d.changes]


def test_added_choice_is_compatible() -> None:
    new = BASE.replace(
        "    - {value: m, label: Masculin}\n",
        "    - {value: m, label: Masculin}\n    - {value: x, label: Autre}\n",
    )
    d = diff(compiled(BASE), compiled(new))
    assert not d.breaking
    assert ("added", "choice", "sexe.x", False) in [(c.op, c.target, c.name, c.breaking) for c in d.changes]


def test_removed_item_is_breaking() -> None:
    new = BASE.replace("  - {name: remarque, type: text, label: Remarque}\n", "")
    assert changes(BASE, new) == [("removed", "item", "remarque", True)]


def test_moving_into_a_repeat_is_breaking() -> None:
    prenom = "      - {name: prenom, type: text, label: Prénom}\n"
    remarque = "{name: remarque, type: text, label: Remarque}\n"
    new = BASE.replace("  - " + remarque, "").replace(prenom, prenom + "      - " + remarque)
    d = diff(compiled(BASE), compiled(new))
    (change,) = [c for c in d.changes if c.name == "remarque"]
    assert change.breaking and change.reason == "repeat_changed"


def test_breaking_issues_are_rendered_in_both_languages() -> None:
    new = BASE.replace("{name: age, type: integer", "{name: age, type: text")
    issues = check_publishable(compiled(BASE), compiled(new), "essai.yaml")
    assert [i.code for i in issues] == ["breaking_change"]
    assert breaking_issues(diff(compiled(BASE), compiled(new)), "essai.yaml") == issues
    en = render(issues[0], "en")
    assert (
        "a breaking change requires a new item name: a response's meaning must never change under it"
        in en.lower()
    )
    assert "item age" in en
    fr = render(issues[0], "fr")
    assert "nouveau nom de question" in fr and "question age" in fr


def test_spec_level_change() -> None:
    d = diff(compiled(BASE), compiled(BASE.replace("title: Essai", "title: Essai 2")))
    assert [(c.target, c.name, c.breaking) for c in d.changes] == [("spec", "title", False)]


def test_changes_carry_the_detail_the_sentences_need() -> None:
    typed = diff(
        compiled(BASE), compiled(BASE.replace("{name: age, type: integer", "{name: age, type: text"))
    )
    assert typed.changes[0].detail == {
        "from_type": "integer",
        "to_type": "text",
        "from_value_type": "number",
        "to_value_type": "string",
    }
    assert typed.to_dict()["changes"][0]["detail"]["to_type"] == "text"
    fewer = diff(compiled(BASE), compiled(BASE.replace("    - {value: m, label: Masculin}\n", "")))
    by_name = {c.name: c.detail for c in fewer.changes}
    assert by_name["sexe"] == {"list": "sexe", "values": ["m"]}
    assert by_name["sexe.m"] == {"items": ["sexe"]}
