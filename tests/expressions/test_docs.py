"""docs/expressions.md documents every function and error code."""

from __future__ import annotations

from pathlib import Path

from terrain.expressions import FUNCTIONS, MESSAGES

DOC = (Path(__file__).parents[2] / "docs" / "expressions.md").read_text("utf-8")


def test_every_function_is_documented() -> None:
    for name in FUNCTIONS:
        assert f"`{name}(" in DOC or f" `{name}(" in DOC or f"`{name}" in DOC, name


def test_every_error_code_is_documented() -> None:
    for code in MESSAGES:
        assert f"| `{code}` |" in DOC, code
