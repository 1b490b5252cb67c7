"""Hostile specs: deep nesting, alias bombs, huge files, too many items or issues. Each is refused with its
own issue code, quickly and in bounded memory, never with a crash or a traceback (docs/spec-format.md,
section 10). Payloads are generated here; those that once crashed the process run in a subprocess, so that
a segfault fails the test instead of killing pytest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from terrain.speclang import compile_file, compile_text, render
from terrain.speclang.limits import MAX_DEPTH, MAX_ISSUES, MAX_ITEMS, MAX_NODES, MAX_SOURCE_BYTES

SECONDS = 5.0
HEAD = "spec: 1\nkind: questionnaire\nname: essai\ntitle: Essai\nitems:\n"

# Compiles stdin; prints the time spent compiling, the peak RSS and the issues as JSON.
CHILD = r"""
import json, sys, time
from terrain.speclang import compile_text
text = sys.stdin.read()
start = time.perf_counter()
result = compile_text(text, "hostile.yaml")
elapsed = time.perf_counter() - start
# VmHWM, this process's own peak (ru_maxrss can carry the forking pytest worker's peak over).
status = open("/proc/self/status").read().split("VmHWM:")[1]
rss_mb = int(status.split()[0]) / 1024
issues = [issue.to_dict("en") for issue in result.issues]
print(json.dumps({"elapsed": elapsed, "rss_mb": rss_mb, "ok": result.ok, "issues": issues}))
"""


def compile_isolated(text: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=text,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    # -11 is SIGSEGV: the C stack overflowed
    assert proc.returncode == 0, f"compiler process died ({proc.returncode}): {proc.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def only_issue(result: dict[str, Any]) -> dict[str, Any]:
    issues = result["issues"]
    assert len(issues) == 1, [issue["message"] for issue in issues]
    issue: dict[str, Any] = issues[0]
    assert issue["severity"] == "error" and not result["ok"]
    return issue


def timed(text: str, filename: str = "s.yaml") -> tuple[Any, float]:
    start = time.perf_counter()
    result = compile_text(text, filename)
    return result, time.perf_counter() - start


def alias_bomb(levels: int, fan: int = 10) -> str:
    """Each group lists the previous one ``fan`` times: fan**levels questions in a few hundred bytes."""
    lines = [HEAD.rstrip("\n"), "  - &g0 {name: q, type: text, label: Q}"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*g{level - 1}"] * fan)
        lines.append(f"  - &g{level} {{name: g{level}, type: group, label: G, items: [{refs}]}}")
    return "\n".join(lines) + "\n"


# --- nesting --------------------------------------------------------------------------------------------

DEEP = 50_000


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ("[" * DEEP + "]" * DEEP, 1, MAX_DEPTH + 1),
        ("{a: " * DEEP + "1" + "}" * DEEP, 1, MAX_DEPTH * 4 + 1),
        ("[" * 1_000_000, 1, MAX_DEPTH + 1),  # never closed
        (HEAD + "  - " + "[" * DEEP + "]" * DEEP + "\n", 6, 4 + MAX_DEPTH - 1),  # 2 levels above
        ("a: " + "[\n" * DEEP + "]\n" * DEEP, MAX_DEPTH, 1),
        # libyaml refuses "Comment ?" in a flow mapping: the pure-Python parser reads this one
        ("description: {fr: Comment ?}\nitems: " + "[" * DEEP + "]" * DEEP, 2, 8 + MAX_DEPTH - 1),
    ],
    ids=["flow-sequences", "flow-mappings", "unclosed", "inside-items", "one-per-line", "pure-parser"],
)
def test_deep_flow_nesting_is_refused_in_a_subprocess(text: str, line: int, col: int) -> None:
    result = compile_isolated(text)
    issue = only_issue(result)
    assert issue["code"] == "nesting_too_deep" and issue["params"] == {"max": MAX_DEPTH}
    assert (issue["line"], issue["col"]) == (line, col)
    assert f"more than {MAX_DEPTH} lists or mappings" in issue["message"]
    assert result["elapsed"] < SECONDS


@pytest.mark.parametrize(
    "text",
    [
        "".join(" " * i + f"k{i}:\n" for i in range(500)) + " " * 500 + "end\n",  # indented mappings
        "".join(" " * (2 * i) + "-\n" for i in range(500)) + " " * 1000 + "end\n",  # indented sequences
        "- " * 500_000 + "end\n",  # compact sequences on one line
        "? " * 200_000 + "end\n",  # complex keys
        "items:\n" + "".join(" " * (2 * i) + "- items:\n" for i in range(600)),
    ],
    ids=["mappings", "sequences", "compact-sequences", "complex-keys", "items-lists"],
)
def test_deep_block_nesting_is_refused_in_a_subprocess(text: str) -> None:
    result = compile_isolated(text)
    issue = only_issue(result)
    assert issue["code"] == "nesting_too_deep" and issue["params"] == {"max": MAX_DEPTH}
    assert issue["line"] >= 1 and issue["col"] >= 1
    assert result["elapsed"] < SECONDS


def test_nesting_up_to_the_limit_is_read() -> None:
    result, _ = timed("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert [issue.code for issue in result.issues] == ["not_a_mapping"]
    result, _ = timed("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert [issue.code for issue in result.issues] == ["nesting_too_deep"]


def test_deep_items_within_the_yaml_limit_are_still_too_deep() -> None:
    """Items nest at most MAX_NESTING (32) deep: that check keeps its own code and place."""
    lines = [HEAD.rstrip("\n")]
    for depth in range(40):
        pad = "  " * (2 * depth)
        lines += [
            f"{pad}  - name: g{depth}",
            f"{pad}    type: group",
            f"{pad}    label: G",
            f"{pad}    items:",
        ]
    lines.append("  " * 80 + "  - {name: q, type: text, label: Q}")
    result, elapsed = timed("\n".join(lines) + "\n")
    assert [issue.code for issue in result.errors] == ["too_deep"]
    assert elapsed < SECONDS


# --- alias expansion -------------------------------------------------------------------------------------


def test_alias_bomb_through_items_is_refused_quickly_in_little_memory() -> None:
    text = alias_bomb(6)  # a million questions once expanded
    assert len(text.encode()) < 1024
    result = compile_isolated(text)
    issue = only_issue(result)
    assert issue["code"] == "expansion_too_large" and issue["params"] == {"max": MAX_NODES}
    # at the alias where the limit is reached, in the group of 100,000 questions
    assert issue["line"] == 11 and text.splitlines()[10][issue["col"] - 1] == "*"
    assert result["elapsed"] < SECONDS
    assert result["rss_mb"] < 200


def test_alias_bomb_outside_items_is_refused() -> None:
    lines = ["spec: 1", "kind: questionnaire", "name: essai", "title: Essai", "choice_lists:"]
    lines.append("  l0: &l0 [{value: a, label: A}, {value: b, label: B}]")
    for level in range(1, 9):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    result, elapsed = timed("\n".join(lines) + "\n")
    assert [issue.code for issue in result.issues] == ["expansion_too_large"]
    assert elapsed < SECONDS


def test_alias_bomb_below_the_value_limit_is_refused_by_the_item_limit() -> None:
    result, elapsed = timed(alias_bomb(4))  # 11,111 questions and groups, plus the first ones
    [issue] = result.issues
    assert issue.code == "too_many_items" and issue.params == {"count": 12_345, "max": MAX_ITEMS}
    assert elapsed < SECONDS


def test_alias_inside_its_own_anchor_is_refused() -> None:
    text = HEAD + "  - &g {name: g, type: group, label: G, items: [*g]}\n"
    [issue] = compile_text(text, "s.yaml").issues
    assert issue.code == "recursive_alias" and issue.params == {"anchor": "g"}
    assert (issue.line, issue.col) == (6, 49)
    assert render(issue, "en").startswith("s.yaml:6:49: alias *g is inside the anchor &g it repeats")


def test_aliases_within_the_limits_still_work() -> None:
    text = (
        "spec: 1\nkind: questionnaire\nname: essai\ntitle: &t {fr: Essai, en: Trial}\nlanguages: [fr, en]\n"
        "items:\n  - {name: a, type: note, label: *t}\n  - {name: b, type: note, label: *t}\n"
    )
    result = compile_text(text)
    assert result.ok, [render(issue) for issue in result.issues]
    assert result.compiled is not None
    assert [item["label"] for item in result.compiled["items"]] == [{"fr": "Essai", "en": "Trial"}] * 2


# --- sizes -----------------------------------------------------------------------------------------------


def test_oversized_document_is_refused_before_parsing() -> None:
    text = HEAD + "  - {name: a, type: note, label: A}\n" + "# " + "x" * MAX_SOURCE_BYTES + "\n"
    result, elapsed = timed(text)
    [issue] = result.issues
    assert issue.code == "source_too_large" and (issue.line, issue.col) == (1, 1)
    assert issue.params == {"size": len(text), "max": MAX_SOURCE_BYTES}
    assert f"{len(text)} bytes, at most {MAX_SOURCE_BYTES}" in render(issue, "en")
    assert elapsed < SECONDS


def test_the_size_limit_counts_utf8_bytes() -> None:
    body = HEAD + "  - {name: a, type: note, label: A}\n# "
    fits = body + "x" * (MAX_SOURCE_BYTES - len(body) - 1) + "\n"
    assert len(fits.encode()) == MAX_SOURCE_BYTES
    assert compile_text(fits).ok
    accents = body + "é" * ((MAX_SOURCE_BYTES - len(body)) // 2) + "\n"  # fewer characters than bytes
    assert len(accents) < MAX_SOURCE_BYTES < len(accents.encode())
    [issue] = compile_text(accents).issues
    assert issue.code == "source_too_large" and issue.params["size"] == len(accents.encode())


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (3 * MAX_SOURCE_BYTES) + b"\n")
    result = compile_file(path)
    [issue] = result.issues
    assert issue.code == "source_too_large" and issue.params["size"] == path.stat().st_size
    assert render(issue, "en").startswith(f"{path}:1:1: file too large")


def test_too_many_items_are_refused_before_compiling() -> None:
    items = "".join(f"  - {{name: q{i}, type: note, label: Q}}\n" for i in range(40_000))  # 1.5 MB
    result, elapsed = timed(HEAD + items)
    [issue] = result.issues
    assert issue.code == "too_many_items" and issue.params == {"count": 40_000, "max": MAX_ITEMS}
    # the first item past the limit (the items start on line 6)
    assert (issue.line, issue.col) == (6 + MAX_ITEMS, 5)
    # ~1.8 s alone, all of it reading the 1.5 MB of YAML; generous for a loaded 2-core machine.
    assert elapsed < 3 * SECONDS


def test_as_many_items_as_the_limit_compile() -> None:
    items = "".join(f"  - {{name: q{i}, type: note, label: Q}}\n" for i in range(MAX_ITEMS))
    result, elapsed = timed(HEAD + items)
    assert result.ok, [render(issue) for issue in result.issues[:5]]
    assert elapsed < SECONDS


def test_items_inside_groups_and_guide_themes_count() -> None:
    half = MAX_ITEMS // 2
    group = "".join(f"        - {{name: g{i}, type: note, label: Q}}\n" for i in range(half))
    theme = "".join(f"        - {{name: t{i}, type: note, label: Q}}\n" for i in range(half))
    text = (
        "spec: 1\nkind: interview_guide\nname: guide\ntitle: Guide\n"
        "audiences: [{name: tous, label: Tous}]\n"
        f"items:\n  - name: grp\n    type: group\n    label: G\n    items:\n{group}"
        f"themes:\n  - name: th\n    title: T\n    question: Q\n    items:\n{theme}"
    )
    [issue] = compile_text(text).issues
    assert issue.code == "too_many_items" and issue.params == {"count": 2 * half + 1, "max": MAX_ITEMS}


# --- issues ----------------------------------------------------------------------------------------------


def test_issue_list_is_capped_with_a_summary() -> None:
    items = "".join(f"  - {{name: q{i}, type: bogus, label: Q}}\n" for i in range(1000))
    result, elapsed = timed(HEAD + items)
    assert len(result.issues) == MAX_ISSUES + 1
    shown, summary = result.issues[:-1], result.issues[-1]
    assert {issue.code for issue in shown} == {"unknown_type"}
    assert [issue.line for issue in shown] == list(range(6, 6 + MAX_ISSUES))  # the first ones, in file order
    assert summary.code == "too_many_issues" and summary.severity == "error"
    assert summary.params == {"count": 1000 - MAX_ISSUES, "max": MAX_ISSUES}
    assert summary.line == 6 + MAX_ISSUES  # the first issue left out
    assert render(summary, "en").endswith(
        f"800 more issues not shown (at most {MAX_ISSUES} are listed): fix the ones above and validate again"
    )
    assert not result.ok and result.compiled is None
    assert elapsed < SECONDS


def test_errors_are_kept_before_warnings() -> None:
    # each label in an undeclared language is a warning; one error comes last
    warned = "".join(f"  - {{name: q{i}, type: note, label: {{fr: Q, de: F}}}}\n" for i in range(300))
    result = compile_text(HEAD + warned + "  - {name: z, type: bogus, label: Z}\n")
    assert len(result.issues) == MAX_ISSUES + 1
    assert [issue.code for issue in result.errors] == ["unknown_type"]
    summary = result.issues[-1]
    assert summary.code == "too_many_issues" and summary.severity == "warning"
    assert summary.params["count"] == 301 - MAX_ISSUES
    assert not result.ok


def test_thousands_of_unknown_references_stay_fast() -> None:
    """Each "did you mean" compares a name with every field; past a budget, issues come without one."""
    items = "".join(
        f'  - {{name: question_{i}, type: integer, label: Q, relevant: "${{questoin_{i}}} > 1"}}\n'
        for i in range(MAX_ITEMS)
    )
    result, elapsed = timed(HEAD + items)
    assert elapsed < SECONDS
    assert {issue.code for issue in result.issues} == {"unknown_reference", "too_many_issues"}
    assert result.issues[0].params["suggestion"] == "question_0"
    assert result.issues[MAX_ISSUES - 1].params["suggestion"] == ""


# --- the CLI ---------------------------------------------------------------------------------------------


def test_cli_validate_reports_deep_nesting_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    script = Path(sys.executable).parent / "terrain"
    command = [str(script)] if script.exists() else [shutil.which("terrain") or "terrain"]
    proc = subprocess.run(
        [*command, "specs", "validate", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert f"{path}:1:{MAX_DEPTH + 1}: trop de niveaux imbriqués ici (plus de {MAX_DEPTH}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
