"""Benchmark: compile a generated 2,000-item questionnaire and evaluate its compiled expressions.

Run: .venv/bin/python bench/spec_compile.py [--items 2000] [--runs 5]
Target: compile < 1 s on a 2-core machine (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

from terrain.expressions import EvalContext, evaluate
from terrain.speclang import compile_text


def generate(n_items: int) -> str:
    """Groups of 20 items; every 5th group is a repeat; relevance, constraints and calculations refer to
    earlier items (of the same group or of the top level)."""
    out = [
        "spec: 1",
        "kind: questionnaire",
        "name: bench",
        'title: {fr: "Banc d\'essai", en: "Benchmark"}',
        "languages: [fr, en]",
        "choice_lists:",
    ]
    for k in range(10):
        out.append(f"  liste_{k}:")
        for v in range(6):
            out.append(
                f'    - {{value: v{v}, label: {{fr: "Valeur {v}", en: "Value {v}"}}, '
                f'filter: {{g: "{v % 2}"}}}}'
            )
    out.append("items:")
    made = 0
    group = 0
    while made < n_items:
        repeat = group % 5 == 4
        out += [
            f"  - name: g{group}",
            f"    type: {'repeat' if repeat else 'group'}",
            f'    label: {{fr: "Partie {group}", en: "Part {group}"}}',
        ]
        if repeat:
            out += ["    min: 0", "    max: 20", '    count: "coalesce(${g0_0}, 1)"']
        out.append("    items:")
        made += 1
        for j in range(20):
            if made >= n_items:
                break
            name = f"g{group}_{j}"
            kind = j % 5
            out.append(f"      - name: {name}")
            if kind == 0:
                out += [
                    "        type: integer",
                    f'        label: {{fr: "Nombre {name}", en: "Number {name}"}}',
                    '        constraint: ". >= 0 and . <= 100"',
                    '        constraint_message: {fr: "Entre 0 et 100", en: "Between 0 and 100"}',
                ]
            elif kind == 1:
                out += [
                    "        type: single_choice",
                    f'        label: {{fr: "Choix {name}", en: "Choice {name}"}}',
                    f"        choice_list: liste_{group % 10}",
                    f'        relevant: "${{g{group}_{j - 1}}} > 3"',
                ]
            elif kind == 2:
                out += [
                    "        type: multiple_choice",
                    f'        label: {{fr: "Cases {name}", en: "Boxes {name}"}}',
                    f"        choice_list: liste_{(group + 1) % 10}",
                    f"        relevant: \"${{g{group}_{j - 1}}} = 'v1' or ${{g{group}_{j - 2}}} < 50\"",
                    "        constraint: \"not(selected(., 'v0') and count-selected(.) > 1)\"",
                ]
            elif kind == 3:
                out += [
                    "        type: calculate",
                    f'        calculation: "coalesce(${{g{group}_{j - 3}}}, 0) * 2'
                    f' + count-selected(${{g{group}_{j - 1}}})"',
                ]
            else:
                out += [
                    "        type: text",
                    f'        label: {{fr: "Texte {name} (${{g{group}_{j - 1}}})", en: "Text {name}"}}',
                    f'        relevant: "${{g{group}_{j - 1}}} > 0'
                    f' and string-length(${{g{group}_{j - 4}}}) < 10"',
                    '        constraint: "string-length(.) <= 200"',
                ]
            made += 1
        group += 1
    return "\n".join(out) + "\n"


def walk(items: list[dict[str, Any]] | None) -> Any:
    for item in items or []:
        yield item
        yield from walk(item.get("items"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = generate(args.items)
    times = []
    result = None
    for _ in range(args.runs):
        start = time.perf_counter()
        result = compile_text(text, "bench.yaml")
        times.append(time.perf_counter() - start)
    assert result is not None and result.ok, result.issues[:5] if result else None
    spec = result.compiled
    assert spec is not None
    items = list(walk(spec["items"]))
    exprs = []
    for item in items:
        for key in ("relevant", "constraint", "calculation", "count"):
            if item.get(key):
                exprs.append((item["name"], key, item[key]["ast"]))
    answers: dict[str, Any] = {}
    for name, field in spec["fields"].items():
        i = int(name.rsplit("_", 1)[1]) if "_" in name else 0
        answers[name] = {"number": i * 3 % 101, "string": f"v{i % 6}", "list": ["v1", "v3"]}.get(
            field["value_type"], i
        )
    ctx = EvalContext(answers=answers, position=1)
    for _, _key, tree in exprs:  # warm the closure cache
        evaluate(tree, EvalContext(answers=answers, current=answers.get("g0_0"), position=1))
    rounds = 0
    start = time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for name, key, tree in exprs:
            ctx.current = answers.get(name) if key == "constraint" else None
            evaluate(tree, ctx)
        rounds += 1
    elapsed = time.perf_counter() - start
    rate = rounds * len(exprs) / elapsed
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"spec: {args.items} items, {len(text.splitlines())} YAML lines, {len(text) / 1024:.0f} KiB")
    calcs = len(spec["calculation_order"])
    print(f"fields: {len(spec['fields'])}, expressions: {len(exprs)}, calculations: {calcs}")
    print(f"compile: median {statistics.median(times):.3f} s, min {min(times):.3f} s over {args.runs} runs")
    passes = rate / len(exprs)
    print(
        f"evaluation: {rate:,.0f} evaluations/s ({passes:,.0f} full passes/s over {len(exprs)} expressions)"
    )


if __name__ == "__main__":
    main()
