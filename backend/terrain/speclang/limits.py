"""Size limits of a spec, checked before the compiler walks it (documented in docs/spec-format.md, section
"Limits"). A spec is text typed by a coordinator; these bounds are far above any real survey and keep a
hostile or broken file from exhausting the C stack, the memory or the CPU of the server."""

from __future__ import annotations

# Source text, in bytes of UTF-8: checked before any YAML parser runs. The HTTP layer sizes its body
# limit for spec routes from this one.
MAX_SOURCE_BYTES = 2 * 1024 * 1024
# Nested YAML collections (flow [..] {..} or block), counted while parsing, before the level is built.
# Items nest at most MAX_NESTING (compiler.py) levels, about 70 YAML levels: this leaves room for them.
MAX_DEPTH = 100
# YAML values (scalars, lists, mappings) once aliases are expanded: an alias to an anchored value of N
# values counts N. A 2 MiB spec of real questions holds about 200,000.
MAX_NODES = 300_000
# Entries of the `items` lists (questions, notes, calculations, groups, repeats), at every level and
# after alias expansion. The compiler's work grows with them.
MAX_ITEMS = 5_000
# Issues listed for one spec: the rest is summed up in one `too_many_issues` issue.
MAX_ISSUES = 200
# Names compared, over a whole spec, to find "did you mean" suggestions (up to 40 µs each, so at most
# about 1 s): past it, issues come without a suggestion. A typo among 300 fields costs 300.
MAX_SUGGESTION_WORK = 20_000


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8, encoded by slices so that a huge text is not copied whole."""
    if text.isascii():
        return len(text)
    step = 1 << 20
    return sum(len(text[i : i + step].encode("utf-8", "surrogatepass")) for i in range(0, len(text), step))
