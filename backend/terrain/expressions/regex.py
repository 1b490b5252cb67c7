"""The portable regular-expression subset shared by the Python and JavaScript evaluators."""

from __future__ import annotations

import re
from functools import lru_cache

# Constructs whose meaning differs between Python `re` and JavaScript RegExp, or that are not portable.
_FORBIDDEN = [
    (re.compile(r"\(\?(?!:)"), "only (?:...) groups are allowed (no lookaround, named groups or flags)"),
    (re.compile(r"\\[1-9]"), "back-references are not allowed"),
    (re.compile(r"\\[AZzGpPNuUx]"), "escape not portable between evaluators"),
    (re.compile(r"\[\["), "nested character classes are not allowed"),
    (re.compile(r"\[\^?\]"), "a character class cannot start with ]"),
]


def _strip_escaped_backslashes(pattern: str) -> str:
    return pattern.replace("\\\\", "")


def check_pattern(pattern: str) -> str | None:
    """Return None if the pattern is in the subset and compiles, else a reason."""
    bare = _strip_escaped_backslashes(pattern)
    for rx, reason in _FORBIDDEN:
        if rx.search(bare):
            return reason
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return str(exc)
    return None


def _translate(pattern: str) -> str:
    """`$` outside a character class becomes `\\Z`: Python's `$` also matches before a final newline,
    JavaScript's does not."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]" or (bool(out) and out[-1] in ("[", "[^"))
        elif c == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
        elif c == "$":
            c = "\\Z"
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compiled(pattern: str) -> re.Pattern[str] | None:
    """Compiled pattern, or None when the pattern is invalid (regex() is then false). ASCII classes (\\d, \\w,
    \\s, \\b) as in JavaScript."""
    if check_pattern(pattern) is not None:
        return None
    try:
        return re.compile(_translate(pattern), re.ASCII)
    except (re.error, RecursionError, OverflowError):
        return None
