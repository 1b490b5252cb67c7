"""Changes said in a coordinator's words: one sentence per change, naming it, in French and English."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from terrain.speclang import Change, catalog, describe_change, describe_diff, diff
from terrain.speclang.diff import Op, Target

from .test_diff import BASE, compiled

README = Path(__file__).resolve().parents[2] / "README.md"
GUIDE = README.read_text(encoding="utf-8").split("### A semi-directive interview guide\n\n```yaml\n")[1]
GUIDE = GUIDE.split("```")[0]


def sentences(old: str, new: str, lang: str) -> list[tuple[tuple[str, str, str, bool], str]]:
    return [
        ((c.op, c.target, c.name, c.breaking), text)
        for c, text in describe_diff(diff(compiled(old), compiled(new)), lang)
    ]


def only(old: str, new: str, lang: str, name: str) -> str:
    (text,) = [text for (_, _, n, _), text in sentences(old, new, lang) if n == name]
    return text


# --- items -------------------------------------------------------------------------------------


def test_removed_item() -> None:
    new = BASE.replace("  - {name: remarque, type: text, label: Remarque}\n", "")
    assert only(BASE, new, "fr", "remarque") == (
        "La question « remarque » a été supprimée : les réponses déjà collectées perdraient leur sens. "
        'Masquez-la plutôt avec relevant: "false()" ou gardez-la.'
    )
    assert only(BASE, new, "en", "remarque") == (
        'Item "remarque" was removed: the answers already collected would lose their meaning. '
        'Hide it instead with relevant: "false()", or keep it.'
    )


def test_type_change_names_both_types() -> None:
    new = BASE.replace("{name: age, type: integer", "{name: age, type: text")
    fr = only(BASE, new, "fr", "age")
    assert fr.startswith("Le type de la question « age » passe de nombre entier à texte : ")
    assert "donnez un nouveau nom à la question" in fr.lower()
    en = only(BASE, new, "en", "age")
    assert en.startswith('The type of item "age" changes from whole number to text: ')
    assert "Give the item a new name" in en


def test_value_type_change_without_item_type_change() -> None:
    change = Change(
        "changed",
        "item",
        "total",
        ["value_type"],
        True,
        "type_changed",
        {
            "from_type": "calculate",
            "to_type": "calculate",
            "from_value_type": "number",
            "to_value_type": "string",
        },
    )
    assert describe_change(change, "fr").startswith(
        "Le type de valeur de la question « total » passe de nombre à texte : "
    )
    assert describe_change(change, "en").startswith(
        'The value type of item "total" changes from number to text: '
    )


def test_item_losing_a_choice_and_the_choice_itself() -> None:
    new = BASE.replace("    - {value: m, label: Masculin}\n", "")
    assert only(BASE, new, "fr", "sexe").startswith("La question « sexe » perd des choix (m) : ")
    assert only(BASE, new, "en", "sexe").startswith('Item "sexe" loses choices (m): ')
    assert only(BASE, new, "fr", "sexe.m") == (
        "Le choix « m » a disparu de la liste « sexe » (questions concernées : sexe) : les réponses déjà "
        "collectées avec ce choix perdraient leur sens. Gardez ce choix dans la liste, ou donnez un nouveau "
        "nom à ces questions."
    )
    assert only(BASE, new, "en", "sexe.m").startswith(
        'Choice "m" disappeared from list "sexe" (items using it: sexe): '
    )


def test_example_of_the_review() -> None:
    old = (
        BASE.replace(
            "choice_lists:\n",
            "choice_lists:\n  tranche_age:\n    - {value: moins_6, label: Moins de 6 ans}\n"
            "    - {value: plus_6, label: 6 ans et plus}\n",
        )
        + "  - {name: age_enfant, type: single_choice, label: Âge, choice_list: tranche_age}\n"
    )
    new = old.replace("    - {value: moins_6, label: Moins de 6 ans}\n", "")
    fr = only(old, new, "fr", "tranche_age.moins_6")
    assert fr.startswith(
        "Le choix « moins_6 » a disparu de la liste « tranche_age » (questions concernées : age_enfant)"
    )


@pytest.mark.parametrize(
    ("move", "fr", "en"),
    [
        ("into", "entre dans la répétition « membres »", 'moves into repeat "membres"'),
        ("out", "sort de la répétition « membres »", 'moves out of repeat "membres"'),
    ],
)
def test_repeat_moves(move: str, fr: str, en: str) -> None:
    prenom = "      - {name: prenom, type: text, label: Prénom}\n"
    remarque = "{name: remarque, type: text, label: Remarque}\n"
    inside = BASE.replace("  - " + remarque, "").replace(prenom, prenom + "      - " + remarque)
    old, new = (BASE, inside) if move == "into" else (inside, BASE)
    assert fr in only(old, new, "fr", "remarque")
    assert en in only(old, new, "en", "remarque")
    moved = Change(
        "changed", "item", "x", ["repeat"], True, "repeat_changed", {"from_repeat": "a", "to_repeat": "b"}
    )
    assert "passe de la répétition « a » à la répétition « b »" in describe_change(moved, "fr")
    assert 'moves from repeat "a" to repeat "b"' in describe_change(moved, "en")


def test_compatible_item_changes() -> None:
    added = BASE + "  - {name: ville, type: text, label: Ville}\n"
    assert only(BASE, added, "fr", "ville") == "Nouvelle question « ville »."
    assert only(BASE, added, "en", "ville") == 'New item "ville".'
    relabelled = BASE.replace("label: Âge", "label: Âge (ans)")
    assert only(BASE, relabelled, "fr", "age") == "La question « age » a été modifiée (label)."
    assert only(BASE, relabelled, "en", "age") == 'Item "age" changed (label).'


# --- choices and lists -------------------------------------------------------------------------


def test_choices_and_lists() -> None:
    more = BASE.replace(
        "    - {value: m, label: Masculin}\n",
        "    - {value: m, label: Masculin}\n    - {value: x, label: Autre}\n",
    )
    assert only(BASE, more, "fr", "sexe.x") == "Nouveau choix « x » dans la liste « sexe »."
    assert only(BASE, more, "en", "sexe.x") == 'New choice "x" in list "sexe".'
    relabelled = BASE.replace("label: Masculin", "label: Homme")
    assert (
        only(BASE, relabelled, "fr", "sexe.m") == "Le choix « m » de la liste « sexe » a été modifié (label)."
    )
    assert only(BASE, relabelled, "en", "sexe.m") == 'Choice "m" of list "sexe" changed (label).'
    reordered = BASE.replace(
        "    - {value: f, label: Féminin}\n    - {value: m, label: Masculin}\n",
        "    - {value: m, label: Masculin}\n    - {value: f, label: Féminin}\n",
    )
    assert only(BASE, reordered, "fr", "sexe") == "L'ordre des choix de la liste « sexe » a changé."
    assert only(BASE, reordered, "en", "sexe") == 'The order of the choices of list "sexe" changed.'


def test_unused_list_changes_are_compatible() -> None:
    old = BASE.replace(
        "choice_lists:\n", "choice_lists:\n  libre:\n    - {value: a, label: A}\n    - {value: b, label: B}\n"
    )
    fewer = old.replace("    - {value: b, label: B}\n", "")
    assert sentences(old, fewer, "fr") == [
        (("removed", "choice", "libre.b", False), "Le choix « b » a été retiré de la liste « libre »."),
    ]
    assert only(old, fewer, "en", "libre.b") == 'Choice "b" was removed from list "libre".'
    gone = old.replace("  libre:\n    - {value: a, label: A}\n    - {value: b, label: B}\n", "")
    assert only(old, gone, "fr", "libre") == "La liste de choix « libre » a été supprimée."
    assert only(old, gone, "en", "libre") == 'Choice list "libre" was removed.'
    assert only(gone, old, "fr", "libre") == "Nouvelle liste de choix « libre »."
    assert only(gone, old, "en", "libre") == 'New choice list "libre".'


# --- guides: themes, audiences, generated fields -----------------------------------------------


def test_themes_and_audiences() -> None:
    new = GUIDE.replace(
        '  - {name: usagers, label: {fr: "Usagers", en: "Users"}}\n',
        '  - {name: usagers, label: {fr: "Usagers", en: "Users"}}\n'
        '  - {name: benevoles, label: {fr: "Bénévoles", en: "Volunteers"}}\n',
    ).replace('"Les moyens"', '"Les moyens matériels"')
    new += '  - name: partenaires\n    title: "Les partenaires"\n    question: "Avec qui travaillez-vous ?"\n'
    assert only(GUIDE, new, "fr", "partenaires") == "Nouveau thème « partenaires »."
    assert only(GUIDE, new, "en", "partenaires") == 'New theme "partenaires".'
    assert only(GUIDE, new, "fr", "moyens") == "Le thème « moyens » a été modifié (title)."
    assert only(GUIDE, new, "en", "moyens") == 'Theme "moyens" changed (title).'
    assert only(GUIDE, new, "fr", "benevoles") == "Nouveau public « benevoles »."
    assert only(GUIDE, new, "en", "benevoles") == 'New audience "benevoles".'
    assert only(new, GUIDE, "fr", "benevoles") == "Le public « benevoles » a été retiré."
    assert only(new, GUIDE, "en", "benevoles") == 'Audience "benevoles" was removed.'
    relabelled = GUIDE.replace('en: "Managers"', 'en: "Team managers"')
    assert (
        only(GUIDE, relabelled, "fr", "gestionnaires") == "Le public « gestionnaires » a été modifié (label)."
    )
    assert only(GUIDE, relabelled, "en", "gestionnaires") == 'Audience "gestionnaires" changed (label).'


def test_removed_theme_says_which_notes_are_lost() -> None:
    new = GUIDE.split("  - name: moyens")[0]
    assert only(GUIDE, new, "fr", "moyens") == "Le thème « moyens » a été retiré du guide."
    assert only(GUIDE, new, "en", "moyens") == 'Theme "moyens" was removed from the guide.'
    assert only(GUIDE, new, "fr", "moyens__notes") == (
        "Le champ « moyens__notes » du thème « moyens » a disparu : ce qui a déjà été noté en entretien "
        "perdrait son sens. Gardez le thème et ce champ dans le guide."
    )
    assert only(GUIDE, new, "en", "moyens__notes").startswith(
        'Field "moyens__notes" of theme "moyens" disappeared'
    )


# --- the document itself -----------------------------------------------------------------------


def test_document_changes() -> None:
    retitled = BASE.replace("title: Essai", "title: Essai 2")
    assert only(BASE, retitled, "fr", "title") == "Le titre du document a changé."
    assert only(BASE, retitled, "en", "title") == "The document's title changed."
    kind = BASE.replace("kind: questionnaire", "kind: observation_log")
    assert only(BASE, kind, "fr", "kind").startswith(
        "Le type de document passe de questionnaire à journal d'observation : "
    )
    assert only(BASE, kind, "en", "kind").startswith(
        "The document kind changes from questionnaire to observation log: "
    )
    renamed = BASE.replace("name: essai", "name: essai_bis")
    assert "passe de « essai » à « essai_bis »" in only(BASE, renamed, "fr", "name")
    assert 'changes from "essai" to "essai_bis"' in only(BASE, renamed, "en", "name")


# --- every kind of change, and robustness ------------------------------------------------------

KINDS = list(itertools.product(get_args(Op), get_args(Target), (False, True)))


@pytest.mark.parametrize(("op", "target", "breaking"), KINDS)
def test_every_kind_of_change_has_a_sentence_in_both_languages(op: str, target: str, breaking: bool) -> None:
    name = "liste_x.valeur_y" if target == "choice" else "nom_x"
    change = Change(op, target, name, ["label"] if op == "changed" else [], breaking)  # type: ignore[arg-type]
    fr, en = describe_change(change, "fr"), describe_change(change, "en")
    for text in (fr, en):
        assert ("valeur_y" in text and "liste_x" in text) if target == "choice" else "nom_x" in text
        assert not re.search(r"\{[a-z_]+\}", text), text
        assert text.endswith("."), text
        assert not text.startswith(op), text  # not the raw fallback
    assert fr != en
    if breaking:
        assert "Changement incompatible" in fr or "nouveau nom" in fr
        assert "Breaking change" in en or "new name" in en


def test_reasons_without_detail_fall_back_to_a_plain_sentence() -> None:
    """A diff stored before ``detail`` existed still reads well."""
    bare = {
        "op": "changed",
        "target": "item",
        "name": "age",
        "fields": ["type"],
        "breaking": True,
        "reason": "type_changed",
    }
    assert describe_change(bare, "fr") == (
        "La question « age » a été modifiée (type). Changement incompatible (le type a changé) : "
        "le sens d'une réponse déjà collectée ne doit jamais changer ; donnez un nouveau nom à la question."
    )
    assert describe_change(bare, "en").startswith(
        'Item "age" changed (type). Breaking change (its type changed): '
    )
    assert describe_change({**bare, "fields": []}, "fr").startswith(
        "La question « age » a été modifiée (sans détail)."
    )


def test_dict_round_trip_and_unknown_language() -> None:
    new = BASE.replace("{name: age, type: integer", "{name: age, type: text")
    (change,) = diff(compiled(BASE), compiled(new)).changes
    data: dict[str, Any] = json.loads(json.dumps(change.to_dict()))
    assert Change.from_dict(data) == change
    assert describe_change(data, "fr") == describe_change(change, "fr") == describe_change(change, "de")
    assert [text for _, text in describe_diff(diff(compiled(BASE), compiled(new)).to_dict(), "en")] == [
        describe_change(change, "en")
    ]


def test_change_templates_have_matching_placeholders() -> None:
    fr, en = catalog("fr"), catalog("en")
    keys = [key for key in fr if key.startswith(("change.", "item_type.", "kind."))]
    assert len(keys) > 60
    for key in keys:
        assert key in en, key
        assert set(re.findall(r"\{([a-z_]+)\}", fr[key])) == set(re.findall(r"\{([a-z_]+)\}", en[key])), key
