"""ODK paths (`../x`, `current()/../x`, `./x`, `/data/group/x`) and `.` (the field's own value) outside
constraints are imported with their ODK meaning; a path to nothing is refused at its sheet, row and column."""

from __future__ import annotations

from typing import Any

from terrain.expressions import EvalContext, evaluate
from terrain.xlsform import ImportResult, import_xlsform, render_message

from .helpers import find, form, one

HEAD = ["type", "name", "label", "relevant", "calculation", "required", "default", "constraint"]


def _import(*rows: list[str], choices: list[list[str]] | None = None, head: list[str] = HEAD) -> ImportResult:
    return import_xlsform(form([head, *rows], choices), "essai.xlsx")


def _items(result: ImportResult) -> dict[str, dict[str, Any]]:
    assert result.document is not None
    out: dict[str, dict[str, Any]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            out[item["name"]] = item
            walk(item.get("items") or [])

    walk(result.document["items"])
    return out


def _compiled(result: ImportResult, name: str) -> dict[str, Any]:
    assert result.ok and result.compiled is not None, [render_message(m, "en") for m in result.report]

    def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
        for item in items:
            if item["name"] == name:
                return item
            found = walk(item.get("items") or [])
            if found:
                return found
        return None

    found = walk(result.compiled["items"])
    assert found is not None
    return found


# -- relative and absolute paths ----------------------------------------------------------------------------


def test_paths_resolve_from_the_row_as_odk_does() -> None:
    """`age` exists twice: at the top and in group `g`. From a row of `g`, `../age` is g's own (renamed
    age_2 by the importer), `../../age` and `/data/age` the top one, `/data/g/age` g's again."""
    result = _import(
        ["integer", "age", "Âge", "", "", "", "", ""],
        ["begin group", "g", "Groupe", "", "", "", "", ""],
        ["integer", "age", "Âge dans le groupe", "", "", "", "", ""],
        ["text", "a", "A", "../age > 5", "", "", "", ""],
        ["text", "b", "B", "../../age > 5", "", "", "", ""],
        ["text", "c", "C", "/data/age > 5 and /data/g/age < 3", "", "", "", ""],
        ["calculate", "d", "", "", "concat(current()/../a, '/', ../../age)", "", "", ""],
        ["end group", "", "", "", "", "", "", ""],
    )
    items = _items(result)
    assert result.ok, [render_message(m, "en") for m in result.report]
    inner = one(result, "xlsform.duplicate_name_renamed").params["new"]
    assert items["a"]["relevant"] == f"${{{inner}}} > 5"
    assert items["b"]["relevant"] == "${age} > 5"
    assert items["c"]["relevant"] == f"${{age}} > 5 and ${{{inner}}} < 3"
    # the '/' inside a string is left alone
    assert items["d"]["calculation"] == "concat(${a}, '/', ${age})"
    relevant = _compiled(result, "a")["relevant"]["ast"]
    assert evaluate(relevant, EvalContext(answers={"age": 1, inner: 9})) is True
    assert evaluate(relevant, EvalContext(answers={"age": 9, inner: 1})) is False
    assert not find(result, "xlsform.unsupported_expression")


def test_a_path_to_nothing_is_refused_at_its_sheet_row_and_column() -> None:
    result = _import(
        ["integer", "age", "Âge", "", "", "", "", ""],
        ["begin group", "g", "Groupe", "", "", "", "", ""],
        # from g/x, ../age is g/age: there is none (the form meant ../../age)
        ["text", "x", "X", "", "", "../age > 5", "", ""],
        ["end group", "", "", "", "", "", "", ""],
    )
    assert not result.ok
    msg = one(result, "xlsform.path_nowhere")
    assert (msg.severity, msg.sheet, msg.row, msg.column, msg.params["path"]) == (
        "error",
        "survey",
        4,
        "required",
        "../age",
    )
    assert "../age" in render_message(msg, "fr") and "ne désigne aucun champ" in render_message(msg, "fr")


def test_a_path_above_the_root_points_nowhere() -> None:
    result = _import(
        ["integer", "age", "Âge", "", "", "", "", ""],
        ["text", "x", "X", "../../age > 1", "", "", "", ""],
    )
    assert not result.ok
    assert one(result, "xlsform.path_nowhere").row == 3


def test_a_field_reached_only_by_a_path_is_kept_as_a_field() -> None:
    """CHT's `hidden` inputs are read through paths: imported as text (a note could not be referenced)."""
    result = _import(
        ["begin group", "inputs", "Entrées", "", "", "", "", ""],
        ["hidden", "source", "Source", "", "", "", "", ""],
        ["end group", "", "", "", "", "", "", ""],
        ["calculate", "origine", "", "", "../inputs/source", "", "", ""],
    )
    assert result.ok, [render_message(m, "en") for m in result.report]
    items = _items(result)
    assert items["source"]["type"] == "text"
    assert items["origine"]["calculation"] == "${source}"


def test_a_group_shown_on_its_own_content_is_dropped_with_a_warning() -> None:
    """CHT's `inputs` group: relevant `./source = 'user'` reads its own child (a cycle for ODK Validate)."""
    result = _import(
        ["begin group", "inputs", "Entrées", "./source = 'user'", "", "", "", ""],
        ["text", "source", "Source", "", "", "", "", ""],
        ["end group", "", "", "", "", "", "", ""],
    )
    assert result.ok
    assert "relevant" not in _items(result)["inputs"]
    msg = one(result, "xlsform.relevant_on_itself")
    assert (msg.severity, msg.row, msg.column) == ("warning", 2, "relevant")


def test_instance_paths_and_predicates_are_not_taken_for_field_paths() -> None:
    result = _import(
        ["select_one villes", "ville", "Ville", "", "", "", "", ""],
        ["calculate", "pop", "", "", "instance('villes')/root/item[name=${ville}]/pop", "", "", ""],
        choices=[["list_name", "name", "label", "pop"], ["villes", "a", "A", "10"]],
    )
    assert not find(result, "xlsform.path_nowhere")


def test_choice_filter_paths() -> None:
    """In a filter `current()` is the field (`current()/../region` its sibling) and `./col` a column of the
    choice being filtered."""
    head = ["type", "name", "label", "choice_filter"]
    choices = [
        ["list_name", "name", "label", "region"],
        ["regions", "n", "Nord", ""],
        ["regions", "s", "Sud", ""],
        ["villes", "lille", "Lille", "n"],
        ["villes", "nice", "Nice", "s"],
    ]
    result = _import(
        ["select_one regions", "region", "Région", ""],
        ["select_one villes", "ville", "Ville", "./region = current()/../region"],
        choices=choices,
        head=head,
    )
    assert result.ok, [render_message(m, "en") for m in result.report]
    assert _items(result)["ville"]["choice_filter"] == "region = ${region}"
    nowhere = _import(
        ["select_one regions", "region", "Région", ""],
        ["select_one villes", "ville", "Ville", "region = ../region"],
        choices=choices,
        head=head,
    )
    assert one(nowhere, "xlsform.path_nowhere").column == "choice_filter"


# -- `.` outside constraints -------------------------------------------------------------------------------


def test_dot_in_relevant_and_required_is_the_empty_value_reported_once() -> None:
    result = _import(
        ["text", "a", "A", ". = ''", "", "", "", ""],
        ["text", "b", "B", "", "", "string-length(.) = 0", "", ""],
        ["integer", "c", "C", "", "", "", "", ". > 0"],
    )
    items = _items(result)
    assert items["a"]["relevant"] == "'' = ''"
    assert items["b"]["required"] == "string-length('') = 0"
    assert items["c"]["constraint"] == ". > 0"  # Terrain's meaning too: kept
    msg = one(result, "xlsform.self_value")
    assert (msg.severity, msg.params["rows"], msg.params["count"]) == ("warning", [2, 3], 2)
    assert evaluate(_compiled(result, "a")["relevant"]["ast"], EvalContext(answers={})) is True


def test_dot_in_relevant_is_refused_where_odk_reads_a_value() -> None:
    """A default or a calculation fills the field before ODK evaluates its relevance: `''` would change
    the meaning, so the row is refused."""
    for row in (
        ["text", "a", "A", ". = 'x'", "", "", "x", ""],
        ["calculate", "a", "", ". = ''", "1 + 1", "", "", ""],
    ):
        result = _import(row)
        msg = one(result, "xlsform.self_relevant")
        assert (msg.severity, msg.row, msg.column) == ("error", 2, "relevant")
        assert not result.ok


def test_dot_as_default_is_dropped() -> None:
    result = _import(["text", "a", "A", "", "", "", ".", ""])
    assert result.ok
    assert "default" not in _items(result)["a"]
    msg = one(result, "xlsform.self_default")
    assert (msg.severity, msg.row, msg.column) == ("warning", 2, "default")


def test_dot_inside_a_calculation_is_the_empty_loaded_value() -> None:
    """`.` alone stays `''` (already so); inside a formula it is read the same way, on the same report
    line; `position(..)` and decimals are not `.`."""
    result = _import(
        ["calculate", "a", "", "", ".", "", "", ""],
        ["calculate", "b", "", "", "if(1.5 > 1, ., 'z')", "", "", ""],
        ["begin repeat", "r", "R", "", "", "", "", ""],
        ["calculate", "p", "", "", "position(..)", "", "", ""],
        ["end repeat", "", "", "", "", "", "", ""],
    )
    items = _items(result)
    assert (items["a"]["calculation"], items["b"]["calculation"]) == ("''", "if(1.5 > 1, '', 'z')")
    assert items["p"]["calculation"] == "position(..)"
    assert one(result, "xlsform.self_calculation").params["rows"] == [2, 3]


def test_dot_in_a_choice_filter_is_dropped_with_a_warning() -> None:
    """ODK's `.` in a filter is the choice's node, not the field: no Terrain meaning."""
    result = _import(
        ["select_one l", "q", "Q", ". != ''"],
        choices=[["list_name", "name", "label"], ["l", "a", "A"]],
        head=["type", "name", "label", "choice_filter"],
    )
    assert "choice_filter" not in _items(result)["q"]
    msg = one(result, "xlsform.unsupported_expression")
    assert (msg.severity, msg.column) == ("warning", "choice_filter")
