"""Rewrite the compiled trees of tests/vectors/expressions.json from their sources.

The PWA evaluates the stored trees only, so a tree is part of the contract: run this deliberately, after a
change of the parser that is meant to change trees, and review the diff (tests/expressions/test_vectors.py
fails on any tree the parser no longer produces).

    .venv/bin/python tests/vectors/regenerate.py           # rewrite the file
    .venv/bin/python tests/vectors/regenerate.py --check   # exit 1 if a tree is stale or missing

Each case keeps its keys and their order; ``tree`` comes right after ``expr``; a case whose source does not
parse (``error_stage: parse``) has no tree. The layout (one case per line) is kept so diffs stay readable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from terrain.expressions import parse

VECTORS = Path(__file__).with_name("expressions.json")


def with_tree(case: dict[str, Any]) -> dict[str, Any]:
    """The case with ``tree`` (parse of ``expr``) right after ``expr``, or without it for a parse error."""
    out: dict[str, Any] = {}
    for key, value in case.items():
        if key == "tree":
            continue
        out[key] = value
        if key == "expr" and case.get("error_stage") != "parse":
            out["tree"] = parse(value)
    return out


def render(vectors: dict[str, Any]) -> str:
    """The file's layout: top-level keys one per line, then one case per line."""
    lines = ["{"]
    for key, value in vectors.items():
        if key != "cases":
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines.append(' "cases": [')
    lines.append(",\n".join("  " + json.dumps(case, ensure_ascii=False) for case in vectors["cases"]))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def regenerated(text: str) -> str:
    vectors = json.loads(text)
    cases = [with_tree(case) for case in vectors["cases"]]
    # "cases" stays last, as render() writes it
    return render({**{k: v for k, v in vectors.items() if k != "cases"}, "cases": cases})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    args = parser.parse_args(argv)
    text = VECTORS.read_text("utf-8")
    new = regenerated(text)
    if new == text:
        print(f"{VECTORS.name}: up to date")
        return 0
    if args.check:
        print(f"{VECTORS.name}: stale trees or layout; run {Path(__file__).name} and review the diff")
        return 1
    VECTORS.write_text(new, "utf-8")
    print(f"{VECTORS.name}: rewritten; review the diff before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
