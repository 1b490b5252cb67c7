"""Whatever the input, compile_text never raises and every issue has a position and a message."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terrain.speclang import catalog, compile_text, render

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
