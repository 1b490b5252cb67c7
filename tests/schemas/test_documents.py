"""The JSON Schemas describe what the compiler and the parser really produce, and refuse what they never do.

Real documents: every example spec of ``survey_specs/``, the README's and the fixtures' specs, one spec using
every item type and every key, every tree of the shared vectors. Wrong documents: one mutation each of a
valid tree or compiled spec, which the schema must refuse (it is not vacuous). The enumerations of the
schemas are checked against the code's own (functions and their arity, operators, item types, ...).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from conftest import SPEC_ESSAI, SPEC_ESSAI_V2
from terrain.expressions import FUNCTIONS, TYPES, parse
from terrain.expressions.parser import PRECEDENCE
from terrain.schemas import service
from terrain.speclang import compile_file, compile_text, render
from terrain.speclang import compiler as spec_compiler

from . import errors, validator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "survey_specs").glob("*.yaml"))
VECTORS = json.loads((ROOT / "tests" / "vectors" / "expressions.json").read_text("utf-8"))
README_SPECS = [
    block
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), flags=re.S)
    if block.startswith("spec: 1")
]

# Every item type and every item key with a value, in one spec.
EVERY_TYPE = (Path(__file__).parent / "every_type.yaml").read_text("utf-8")


@pytest.fixture(scope="module")
def spec_schema() -> Any:
    return validator("compiled-spec")


@pytest.fixture(scope="module")
def tree_schema() -> Any:
    return validator("expression")


def compiled_source(text: str, name: str = "<spec>") -> dict[str, Any]:
    result = compile_text(text, name)
    assert result.ok and result.compiled is not None, [render(i, "en") for i in result.issues]
    return result.compiled


def walk_items(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items or []:
        out.append(item)
        out.extend(walk_items(item["items"]))
    return out


# --- the schemas themselves ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(service.FILES))
def test_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = service.schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:terrain:schema:{name}"
    jsonschema_rs.meta.validate(schema)


def test_documents_are_the_package_files_and_their_hash() -> None:
    for name, filename in service.FILES.items():
        doc = service.document(name)
        path = ROOT / "backend" / "terrain" / "speclang" / "schemas" / filename
        assert doc.content == path.read_bytes()
        assert doc.etag == '"' + hashlib.sha256(doc.content).hexdigest() + '"'
    with pytest.raises(KeyError):
        service.document("secrets")


def test_expression_schema_follows_the_parser() -> None:
    defs = service.schema("expression")["$defs"]
    assert set(defs["bin"]["properties"]["op"]["enum"]) == set(PRECEDENCE)
    assert set(defs["function"]["enum"]) == set(FUNCTIONS)
    arity: dict[str, tuple[int, int | None]] = {}
    for group in defs["call"]["oneOf"]:
        bounds = group["properties"]["a"]
        named = group["properties"]["f"]
        # one function with argument kinds of its own (choice-label, indexed-repeat) is a `const` group
        for name in named.get("enum", [named.get("const")]):
            assert name not in arity, name
            arity[name] = (bounds.get("minItems", 0), bounds.get("maxItems"))
    assert arity == {name: (spec.min_args, spec.max_args) for name, spec in FUNCTIONS.items()}
    kinds = {ref["$ref"].rsplit("/", 1)[1] for ref in defs["node"]["oneOf"]}
    assert kinds == {"num", "str", "ref", "cur", "bin", "neg", "call"}


def test_compiled_spec_schema_follows_the_compiler() -> None:
    schema = service.schema("compiled-spec")
    props, defs = schema["properties"], schema["$defs"]
    assert props["format"]["const"] == spec_compiler.FORMAT
    assert tuple(props["kind"]["enum"]) == spec_compiler.KINDS
    assert props["name"]["pattern"] == spec_compiler.SPEC_NAME.pattern
    assert tuple(props["metadata"]["items"]["enum"]) == spec_compiler.METADATA
    assert tuple(defs["item_type"]["enum"]) == spec_compiler.ITEM_TYPES
    assert set(defs["value_type"]["enum"]) == set(TYPES)
    assert tuple(defs["consent"]["properties"]["mode"]["enum"]) == spec_compiler.CONSENT_MODES
    assert defs["theme_name"]["pattern"] == spec_compiler.THEME_NAME.pattern
    assert defs["language"]["pattern"] == spec_compiler.LANG_CODE.pattern
    assert set(defs["theme"]["required"]) == spec_compiler.THEME_KEYS
    # every top-level key of every kind, and nothing else
    assert set(props) - {"format"} == (spec_compiler.ALL_TOP_KEYS - {"spec"}) | {
        "fields",
        "calculation_order",
    }


# --- real documents validate -----------------------------------------------------------------------------


def test_there_are_examples_of_every_kind() -> None:
    kinds = {compile_file(path).compiled["kind"] for path in EXAMPLES}  # type: ignore[index]
    assert kinds == set(spec_compiler.KINDS)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_spec_validates(path: Path, spec_schema: Any) -> None:
    result = compile_file(path)
    assert result.ok and result.compiled is not None, [render(i, "en") for i in result.issues]
    assert errors(spec_schema, result.compiled) == []


def test_readme_and_fixture_specs_validate(spec_schema: Any) -> None:
    assert len(README_SPECS) == 3
    for text in [*README_SPECS, SPEC_ESSAI, SPEC_ESSAI_V2]:
        compiled = compiled_source(text)
        assert errors(spec_schema, compiled) == [], compiled["name"]


def test_every_item_type_and_key_validates(spec_schema: Any) -> None:
    compiled = compiled_source(EVERY_TYPE)
    items = walk_items(compiled["items"])
    assert {item["type"] for item in items} == set(spec_compiler.ITEM_TYPES)
    used = {key for item in items for key, value in item.items() if value not in (None, False)}
    assert used == set(items[0]), set(items[0]) - used
    assert errors(spec_schema, compiled) == []


def test_vector_trees_validate(tree_schema: Any) -> None:
    trees = [case["tree"] for case in VECTORS["cases"] if "tree" in case]
    assert len(trees) >= 250
    for case in VECTORS["cases"]:
        if "tree" in case:
            assert errors(tree_schema, case["tree"]) == [], case["id"]


# --- wrong documents are refused -------------------------------------------------------------------------

NUM = {"t": "num", "v": 1}
WRONG_TREES: dict[str, Any] = {
    "not an object": [NUM],
    "no kind": {"v": 1},
    "unknown kind": {"t": "var", "n": "x"},
    "extra key": {"t": "num", "v": 1, "offset": 3},
    "missing key": {"t": "bin", "op": "+", "l": NUM},
    "negative literal": {"t": "num", "v": -1},
    "string as number": {"t": "num", "v": "1"},
    "number as string": {"t": "str", "v": 1},
    "bad reference name": {"t": "ref", "n": "${age}"},
    "current with a value": {"t": "cur", "v": 1},
    "unknown operator": {"t": "bin", "op": "**", "l": NUM, "r": NUM},
    "unknown function": {"t": "call", "f": "pulldata", "a": []},
    "too few arguments": {"t": "call", "f": "if", "a": [NUM, NUM]},
    "too many arguments": {"t": "call", "f": "today", "a": [NUM]},
    "round with three": {"t": "call", "f": "round", "a": [NUM, NUM, NUM]},
    "concat with none": {"t": "call", "f": "concat", "a": []},
    "arguments not a list": {"t": "call", "f": "not", "a": NUM},
    "bad node deep inside": {
        "t": "bin",
        "op": "and",
        "l": NUM,
        "r": {"t": "neg", "e": {"t": "call", "f": "not", "a": [{"t": "num", "v": 1, "x": 0}]}},
    },
}


@pytest.mark.parametrize("name", WRONG_TREES)
def test_wrongly_shaped_tree_is_refused(name: str, tree_schema: Any) -> None:
    assert errors(tree_schema, WRONG_TREES[name]) != []


def _item(compiled: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in walk_items(compiled["items"]) if item["name"] == name)


Mutation = Callable[[dict[str, Any]], None]
WRONG_SPECS: dict[str, Mutation] = {
    "unknown top-level key": lambda c: c.update(author="x"),
    "missing fields": lambda c: c.pop("fields"),
    "format 2": lambda c: c.update(format=2),
    "unknown kind": lambda c: c.update(kind="survey"),
    "guide key in a questionnaire": lambda c: c.update(themes=[]),
    "entry_title in a questionnaire": lambda c: c.update(entry_title=None),
    "english first": lambda c: c.update(languages=["en", "fr"]),
    "label without french": lambda c: c.update(title={"en": "Every type"}),
    "unknown metadata": lambda c: c["metadata"].append("phonenumber"),
    "item with an unknown key": lambda c: c["items"][0].update(colour="red"),
    "item without a key": lambda c: c["items"][0].pop("hint"),
    "unknown item type": lambda c: c["items"][0].update(type="email"),
    "expression without its tree": lambda c: _item(c, "age")["constraint"].pop("ast"),
    "expression as a string": lambda c: _item(c, "age").update(constraint=". >= 0"),
    "bad tree inside an item": lambda c: _item(c, "scolarise")["relevant"].update(ast={"t": "num", "v": -3}),
    "bad tree in a repeat": lambda c: _item(c, "membres")["count"].update(
        ast={"t": "call", "f": "if", "a": []}
    ),
    "group without items": lambda c: _item(c, "foyer").update(items=None),
    "text with items": lambda c: _item(c, "nom").update(items=[]),
    "calculate without calculation": lambda c: _item(c, "double_age").update(calculation=None),
    "note with a calculation": lambda c: _item(c, "info").update(
        calculation=_item(c, "double_age")["calculation"]
    ),
    "choice item without a list": lambda c: _item(c, "lieu").update(choice_list=None),
    "min on a group": lambda c: _item(c, "foyer").update(min=1),
    "repeat bound too high": lambda c: _item(c, "membres").update(max=501),
    "value type of a group": lambda c: _item(c, "foyer").update(value_type="string"),
    # inner spaces are allowed (lists of single choices), a tab or an outer space never
    "choice value with a tab": lambda c: c["choice_lists"]["lieux"][0].update(value="nord\test"),
    "choice value with an outer space": lambda c: c["choice_lists"]["lieux"][0].update(value="nord "),
    "empty choice list": lambda c: c["choice_lists"].update(vide=[]),
    "field with an unknown key": lambda c: c["fields"]["age"].update(column="x"),
    "field with an unknown value type": lambda c: c["fields"]["age"].update(value_type="integer"),
}


@pytest.mark.parametrize("name", WRONG_SPECS)
def test_wrongly_shaped_compiled_spec_is_refused(name: str, spec_schema: Any) -> None:
    compiled = compiled_source(EVERY_TYPE)
    assert errors(spec_schema, compiled) == []
    broken = copy.deepcopy(compiled)
    WRONG_SPECS[name](broken)
    assert broken != compiled
    assert errors(spec_schema, broken) != []


def test_guide_keys_are_required_in_a_guide(spec_schema: Any) -> None:
    guide = compile_file(ROOT / "survey_specs" / "guide_epn.yaml").compiled
    assert guide is not None and errors(spec_schema, guide) == []
    for key in ("audiences", "introduction", "consent", "themes"):
        broken = copy.deepcopy(guide)
        del broken[key]
        assert errors(spec_schema, broken) != [], key
    broken = copy.deepcopy(guide)
    broken["themes"][0]["items"].append({"name": "x"})
    assert errors(spec_schema, broken) != []
    broken = copy.deepcopy(guide)
    broken["consent"]["mode"] = "video"
    assert errors(spec_schema, broken) != []


def test_a_parsed_tree_inside_a_spec_is_checked_by_the_expression_schema(spec_schema: Any) -> None:
    # The compiled spec refers to the expression schema by its $id: a tree valid there is valid here.
    compiled = compiled_source(EVERY_TYPE)
    tree = parse("if(selected(${aides}, 'nord'), concat('a', ${nom}), round(-${age} div 3, 1))")
    _item(compiled, "age")["constraint"] = {"src": "…", "ast": tree}
    assert errors(spec_schema, compiled) == []
    tree["a"][1]["a"].append({"t": "cur", "extra": True})
    assert errors(spec_schema, compiled) != []
