"""tests/vectors/forms.json is what tests/vectors/regenerate_forms.py produces from the example specs and the
server's validation (the PWA's form engine is tested against it: pwa/tests/engine/form/vectors.test.ts)."""

from __future__ import annotations

import difflib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).parent
VECTORS_PATH = HERE / "forms.json"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("regenerate_forms", HERE / "regenerate_forms.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _generator()


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS_PATH.read_text("utf-8"))
    return data


def test_file_is_up_to_date(generator: ModuleType) -> None:
    text = VECTORS_PATH.read_text("utf-8")
    new = generator.render(generator.build())
    if new != text:
        diff = difflib.unified_diff(text.splitlines(), new.splitlines(), "forms.json", "regenerated", n=0)
        shown = "\n".join(line[:200] for line in list(diff)[:40])
        pytest.fail(f"tests/vectors/forms.json is stale: run tests/vectors/regenerate_forms.py\n{shown}")


def test_file_stays_modest() -> None:
    assert VECTORS_PATH.stat().st_size < 300_000


def test_cases_cover_what_the_engine_must_agree_on(vectors: dict[str, Any]) -> None:
    cases = vectors["cases"]
    ids = [case["id"] for case in cases]
    assert len(ids) == len(set(ids))
    # every spec has a valid case and at least one case with problems
    for name in vectors["specs"]:
        mine = [case for case in cases if case["spec"] == name]
        assert any(not case["problems"] for case in mine), name
        assert any(case["problems"] for case in mine), name
    codes = {p[0] for case in cases for p in case["problems_raw"]}
    for code in ("required", "constraint", "choice", "type", "consent", "not_relevant", "unknown_item"):
        assert code in codes, code
    for code in ("repeat_min", "repeat_max", "repeat_count", "attachment_missing_ref", "calculation"):
        assert code in codes, code


def test_sent_answers_only_lose_hidden_answers(vectors: dict[str, Any]) -> None:
    """Leaving hidden answers out removes exactly the not_relevant/unknown_item/calculation problems."""
    dropped = ("not_relevant", "unknown_item", "calculation")
    for case in vectors["cases"]:
        kept = [p for p in case["problems_raw"] if p[0] not in dropped]
        assert kept == case["problems"], case["id"]
        assert not any(p[0] in dropped for p in case["problems"]), case["id"]
