"""Message catalogs: same keys in fr and en, every code used by the compiler has a message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import terrain.speclang as speclang
from terrain.expressions import MESSAGES as EXPRESSION_MESSAGES
from terrain.speclang import SpecIssue, catalog, render

SOURCES = Path(speclang.__file__).parent


def test_catalogs_have_the_same_keys() -> None:
    assert set(catalog("fr")) == set(catalog("en"))


def test_catalogs_have_the_same_placeholders() -> None:
    fr, en = catalog("fr"), catalog("en")
    for key in fr:
        assert set(re.findall(r"\{([a-z_]+)\}", fr[key])) == set(re.findall(r"\{([a-z_]+)\}", en[key])), key


def used_codes() -> set[str]:
    """Codes passed as literals to self.issue(pos, path, CODE), SpecIssue(file, line, col, path, CODE) and
    YamlProblem(CODE)."""
    codes: set[str] = set()
    positions = {"issue": 2, "SpecIssue": 4, "YamlProblem": 0}
    for path in SOURCES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            index = positions.get(name)
            if index is not None and len(node.args) > index:
                arg = node.args[index]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    codes.add(arg.value)
            if name == "wrong_type":
                codes.add("wrong_type")
    return codes


def test_every_code_has_a_message() -> None:
    codes = used_codes() | set(EXPRESSION_MESSAGES) | {"breaking_change"}
    assert len(codes) > 40
    for lang in ("fr", "en"):
        missing = sorted(code for code in codes if code not in catalog(lang))
        assert not missing, (lang, missing)


def test_render_format_and_suggestions() -> None:
    issue = SpecIssue(
        "s.yaml", 3, 7, "items.x.relevant", "unknown_reference", {"name": "agee", "suggestion": "age"}
    )
    assert (
        render(issue)
        == "s.yaml:3:7: items.x.relevant: référence inconnue ${agee} (vouliez-vous dire ${age} ?)"
    )
    assert (
        render(issue, "en")
        == "s.yaml:3:7: items.x.relevant: unknown reference ${agee} (did you mean ${age}?)"
    )
    plain = SpecIssue("s.yaml", 1, 1, "x", "unknown_reference", {"name": "zzz", "suggestion": ""})
    assert render(plain, "en").endswith("unknown reference ${zzz}")


def test_type_names_are_translated() -> None:
    issue = SpecIssue("s", 1, 1, "p", "type_mismatch", {"op": "+", "left": "date", "right": "string"})
    assert render(issue, "fr").endswith("l'opérateur + ne peut pas combiner date et texte")
    assert render(issue, "en").endswith("operator + cannot combine date and text")


def test_unknown_language_falls_back_to_french() -> None:
    issue = SpecIssue("s", 1, 1, "", "missing_french", {})
    assert render(issue, "de") == render(issue, "fr")
