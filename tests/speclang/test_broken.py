"""The corpus of broken specs: each file states the issues it must produce.

Format: ``# expect: code at line:col`` lines (1-based positions).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from terrain.speclang import compile_file, render

BROKEN = Path(__file__).parent / "broken"
EXPECT = re.compile(r"^# expect: ([a-z_]+) at (\d+):(\d+)\s*$")
FILES = sorted(BROKEN.glob("*.yaml"))


def expectations(path: Path) -> list[tuple[str, int, int]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.match(line)
        if m:
            out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_broken_spec_reports_expected_issues(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    result = compile_file(path)
    found = {(i.code, i.line, i.col) for i in result.issues}
    for exp in expected:
        assert exp in found, (exp, [render(i, "en") for i in result.issues])
    # nothing unexpected: every issue is announced
    assert found == set(expected), [render(i, "en") for i in result.issues]
    errors = [i for i in result.issues if i.severity == "error"]
    if errors:
        assert not result.ok and result.compiled is None and result.hash is None
    for issue in result.issues:
        for lang in ("fr", "en"):
            text = render(issue, lang)
            assert text.startswith(f"{path}:{issue.line}:{issue.col}: ")
            assert issue.code not in text.split(": ", 1)[1] or "_" not in issue.code
