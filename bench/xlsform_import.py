"""Benchmark: Terrain's XLSForm import (read, map, compile) against pyxform's conversion of the same workbook
(without ODK Validate), side by side in the same run.

Run: .venv/bin/python bench/xlsform_import.py [--questions 500 2000] [--runs 5] [--profile]
Target: Terrain's import is no slower than pyxform's conversion (ratio <= 1; see docs/performance.md).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

import openpyxl

from terrain.xlsform import import_xlsform


def generate(n_questions: int) -> bytes:
    """Two languages; groups of 20 questions, every 4th group a repeat with a count; integers with
    constraints, single and multiple choices with relevance on earlier questions, text, dates, notes, a
    choice filter, and a calculation every 5th question (sums and if() of the group's answers)."""
    survey: list[list[Any]] = [
        [
            "type",
            "name",
            "label::Français (fr)",
            "label::English (en)",
            "hint::Français (fr)",
            "required",
            "relevant",
            "constraint",
            "constraint_message::Français (fr)",
            "calculation",
            "choice_filter",
            "repeat_count",
            "appearance",
        ]
    ]

    def row(**cells: Any) -> list[Any]:
        """Cells by column (`label`: the French label, the English one is derived; `hint`: French)."""
        if cells.get("label"):
            cells["label_en"] = f"{cells['label']} (en)"
        keys = {"label::English (en)": "label_en"}
        return [cells.get(keys.get(h, h.split("::")[0])) for h in survey[0]]

    choices: list[list[Any]] = [
        ["list_name", "name", "label::Français (fr)", "label::English (en)", "region"]
    ]
    for k in range(10):
        for v in range(6):
            choices.append([f"liste_{k}", f"v{v}", f"Valeur {v}", f"Value {v}", f"r{v % 2}"])
    for v in range(2):
        choices.append(["regions", f"r{v}", f"Région {v}", f"Region {v}", None])
    made = 0
    group = 0
    while made < n_questions:
        repeat = group % 4 == 3
        kind = "repeat" if repeat else "group"
        survey.append(
            row(
                type=f"begin_{kind}",
                name=f"g{group}",
                label=f"Partie {group}",
                repeat_count="${g0_0}" if repeat else None,
                appearance=None if repeat else "field-list",
            )
        )
        numbers: list[str] = []
        for j in range(20):
            if made >= n_questions:
                break
            name = f"g{group}_{j}"
            kind_j = j % 10
            label = f"Question {name}"
            if kind_j in (0, 6):
                numbers.append(name)
                survey.append(
                    row(
                        type="integer",
                        name=name,
                        label=label,
                        required="yes",
                        constraint=". >= 0 and . <= 100",
                        constraint_message="Entre 0 et 100",
                    )
                )
            elif kind_j in (1, 7):
                survey.append(
                    row(
                        type=f"select_one liste_{group % 10}",
                        name=name,
                        label=label,
                        relevant=f"${{g{group}_{j - 1}}} > 3",
                    )
                )
            elif kind_j == 2:
                survey.append(
                    row(
                        type=f"select_multiple liste_{(group + 1) % 10}",
                        name=name,
                        label=label,
                        relevant=f"${{g{group}_{j - 1}}} = 'v1' or ${{g{group}_{j - 2}}} < 50",
                        constraint="not(selected(., 'v0') and count-selected(.) > 1)",
                        constraint_message="v0 seul",
                    )
                )
            elif kind_j == 3:
                survey.append(row(type="select_one regions", name=name, label=label))
            elif kind_j == 4:
                survey.append(
                    row(
                        type=f"select_one liste_{group % 10}",
                        name=name,
                        label=label,
                        choice_filter=f"region = ${{g{group}_{j - 1}}}",
                    )
                )
            elif kind_j == 5:
                survey.append(
                    row(
                        type="calculate",
                        name=name,
                        calculation=" + ".join(f"coalesce(${{{n}}}, 0)" for n in numbers) or "0",
                    )
                )
            elif kind_j == 8:
                survey.append(
                    row(type="date", name=name, label=label, constraint=". <= today()", hint="Date passée")
                )
            elif kind_j == 9:
                survey.append(
                    row(
                        type="calculate",
                        name=name,
                        calculation=f"if(${{g{group}_{j - 4}}} > 50, 'haut', 'bas')",
                    )
                )
            else:
                survey.append(row(type="text", name=name, label=label))
            made += 1
        survey.append(row(type=f"end_{kind}", name=f"g{group}"))
        group += 1
    settings = [["form_id", "form_title", "default_language"], ["bench", "Banc d'essai", "Français (fr)"]]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "survey"
    for values in survey:
        ws.append(values)
    for title, rows in (("choices", choices), ("settings", settings)):
        sheet = wb.create_sheet(title)
        for values in rows:
            sheet.append(values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def terrain_import(data: bytes) -> None:
    result = import_xlsform(data, "bench.xlsx")
    if not result.ok:
        raise SystemExit(f"the generated workbook does not import: {[m.code for m in result.report][:5]}")


def terrain_import_yaml(data: bytes) -> None:
    """The API's and the CLI's path: the import and the YAML text of the draft."""
    result = import_xlsform(data, "bench.xlsx")
    if not result.yaml_text:
        raise SystemExit("no YAML")


def pyxform_convert(data: bytes) -> None:
    from pyxform.xls2xform import convert

    convert(xlsform=io.BytesIO(data), warnings=[], validate=False, file_type=".xlsx")


def median_seconds(fn: Callable[[bytes], None], data: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile of Terrain's import (largest size)")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPU, median of {args.runs} runs")
    print(
        f"{'questions':>9} {'rows':>6} {'Terrain import':>15} {'+ YAML text':>12} {'pyxform convert':>16}"
        f" {'ratio':>6} {'ratio with YAML':>16}"
    )
    worst = 0.0
    for n in args.questions:
        data = generate(n)
        rows = openpyxl.load_workbook(io.BytesIO(data), read_only=True)["survey"].max_row
        terrain_import(data)  # warm-up: imports, caches
        pyxform_convert(data)
        # Interleaved so that a busy machine slows both sides alike.
        terrain_times, yaml_times, pyxform_times = [], [], []
        for _ in range(args.runs):
            terrain_times.append(median_seconds(terrain_import, data, 1))
            yaml_times.append(median_seconds(terrain_import_yaml, data, 1))
            pyxform_times.append(median_seconds(pyxform_convert, data, 1))
        ours, with_yaml = statistics.median(terrain_times), statistics.median(yaml_times)
        theirs = statistics.median(pyxform_times)
        worst = max(worst, ours / theirs)
        print(
            f"{n:>9} {rows:>6} {ours * 1000:>12.0f} ms {with_yaml * 1000:>9.0f} ms {theirs * 1000:>13.0f} ms"
            f" {ours / theirs:>6.2f} {with_yaml / theirs:>16.2f}"
        )
    print(f"target: ratio <= 1.00 ({'met' if worst <= 1 else 'NOT met'})")
    if args.profile:
        data = generate(max(args.questions))
        profiler = cProfile.Profile()
        profiler.runcall(terrain_import, data)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
