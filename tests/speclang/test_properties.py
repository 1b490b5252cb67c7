"""Whatever the input, compile_text never raises and every issue has a position and a message."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrain.speclang import catalog, compile_text, render
from terrain.speclang.compiler import INTERNAL_ERROR

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "survey_specs").glob("*.yaml"))
SOURCES = [p.read_text(encoding="utf-8") for p in EXAMPLES] + [
    p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent / "broken").glob("*.yaml"))
]
GARBAGE = st.sampled_from(
    [
        "", "x", "3", "- a", "{", "}", "[", ": :", "${", "${x}", "'", '"', "&a", "*a", "!!python/object:x {}",
        "\t", "---", "...", "%YAML 1.1", "? k", "items: 3", "required: maybe", "type: integr", "- {}", "null",
        "relevant: \". > (\"", "calculation: \"${a}\"", "name: 2x", "min: -1", "max: 9999", "label: {de: x}",
    ]
)  # fmt: skip


def check(text: str) -> None:
    result = compile_text(text, "p.yaml")
    if result.ok:
        assert result.compiled is not None and result.hash is not None
    else:
        assert result.compiled is None and result.hash is None and result.errors
    # A compiler bug is never an issue of the spec: the fuzz fails on it, with the exception's name.
    assert not [i for i in result.issues if i.code == INTERNAL_ERROR], result.issues
    for issue in result.issues:
        assert issue.line >= 1 and issue.col >= 1, issue
        assert issue.severity in ("error", "warning")
        for lang in ("fr", "en"):
            assert issue.code in catalog(lang), issue.code
            text_out = render(issue, lang)
            assert text_out.startswith(f"p.yaml:{issue.line}:{issue.col}: ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SOURCES)).splitlines()
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "indent", "truncate", "value"]))
        if action == "delete":
            del lines[i]
        elif action == "insert":
            lines.insert(i, draw(GARBAGE))
        elif action == "replace":
            lines[i] = draw(GARBAGE)
        elif action == "indent":
            lines[i] = "  " + lines[i]
        elif action == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]))))]
        elif ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = (
                key + ": " + draw(st.sampled_from(["3", "true", "[]", "{}", "''", "x y", "${zz}", "-1"]))
            )
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_specs_never_raise(text: str) -> None:
    check(text)


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=20))  # fmt: skip
def test_arbitrary_json_documents_never_raise(doc: object) -> None:
    import json

    check(json.dumps(doc))  # JSON is YAML


def test_pathological_inputs() -> None:
    for text in [
        "[" * 5000,
        "a: &a [*a]\n",
        "items: &x\n  - {name: a, type: group, label: A, items: *x}\n",
        "\x00",
        "\ufeffspec: 1",
    ]:
        check(text)


EXPR_ALPHABET = "${}()'\". ,-+*=<>!abcdivmorntqselz0123456789_"
FIELDS = """\
spec: 1
kind: questionnaire
name: fuzz
title: Fuzz
choice_lists:
  l: [{value: a, label: A, filter: {g: x}}, {value: b, label: B}]
items:
  - {name: a, type: integer, label: A}
  - {name: t, type: text, label: T}
  - {name: s, type: single_choice, label: S, choice_list: l}
  - {name: m, type: multiple_choice, label: M, choice_list: l}
  - {name: d, type: date, label: D}
  - name: r
    type: repeat
    label: R
    items:
      - {name: q, type: decimal, label: Q}
"""
EXPR_PIECES = st.sampled_from(
    ["${a}", "${t}", "${s}", "${m}", "${d}", "${q}", "${c}", ".", "1", "'x'", "''", "today()", "count(${q})",
     "sum(${q})", "selected(${m}, 'a')", "if(${a} > 1, 'x', 2)", "position(..)", "g", "value", "coalesce(.)"]
)  # fmt: skip


@st.composite
def expression_text(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.text(alphabet=EXPR_ALPHABET, max_size=30))
    parts = [draw(EXPR_PIECES)]
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(st.sampled_from([" + ", " = ", " > ", " and ", " div ", " - ", ", "])))
        parts.append(draw(EXPR_PIECES))
    return "".join(parts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["relevant", "constraint", "calculation", "required", "choice_filter"]),
    expression_text(),
)
def test_random_expressions_in_a_spec_never_crash_the_compiler(key: str, expr: str) -> None:
    import json

    owner = {"calculation": "c", "choice_filter": "s"}.get(key, "a")
    item = {
        "c": "  - {name: c, type: calculate, calculation: %s}\n",
        "s": "  - {name: s2, type: single_choice, label: S2, choice_list: l, choice_filter: %s}\n",
        "a": "  - {name: a2, type: integer, label: A2, " + key + ": %s}\n",
    }[owner]
    check(FIELDS + item % json.dumps(expr))
