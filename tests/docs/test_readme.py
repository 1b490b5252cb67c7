"""The README's example specs are real: each one compiles without error or warning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from terrain.speclang import compile_text, render

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = [
    block
    for block in re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    if block.startswith("spec: 1")
]


def test_readme_shows_one_example_of_each_kind() -> None:
    kinds = sorted(re.search(r"^kind: (\w+)", block, flags=re.M).group(1) for block in BLOCKS)  # type: ignore[union-attr]
    assert kinds == ["interview_guide", "observation_log", "questionnaire"]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.split("name: ")[1].split("\n")[0])
def test_readme_example_compiles(block: str) -> None:
    result = compile_text(block, "README.md")
    assert not result.issues, [render(issue, "en") for issue in result.issues]
