"""The direct YAML emitter of imported documents: what it writes reads back as the same document with both
parsers of the compiler (libyaml and pure Python), for every form of the corpora and for awkward strings."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from terrain.speclang.yamlsource import _read
from terrain.xlsform import import_xlsform, yaml_dump
from terrain.xlsform.yamlio import _ruamel_dump

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FORMS = sorted(CORPUS.glob("xlsforms*/*.xlsx")) if CORPUS.is_dir() else []


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reads_back(document: Any) -> None:
    text = yaml_dump(document)
    for pure in (False, True):
        assert _plain(_read(text, pure=pure)) == document, text


@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_every_corpus_document_reads_back(path: Path) -> None:
    result = import_xlsform(path, path.name)
    if result.document is not None:
        _reads_back(result.document)


AWKWARD = [
    "yes",
    "No",
    "null",
    "~",
    "true",
    "1",
    "-1",
    "0x1F",
    "1e3",
    ".5",
    "2024-01-01",
    "12:30",
    "",
    " ",
    "a: b",
    "a #b",
    "a#b",
    "#x",
    "- x",
    "? x",
    ": x",
    "*x",
    "&x",
    "!x",
    "|x",
    ">x",
    "'x",
    '"x',
    "%x",
    "@x",
    "`x",
    "{x}",
    "[x]",
    "x,",
    "x:",
    "x ",
    " x",
    "l1\nl2",
    "tab\tx",
    "\x85",
    "\u2028",
    "\ufeff",
    "\x01",
    "\x7f",
    "é",
    "Été : oui",
    "${a} > 1 and ${b} = 'x'",
    "concat('a', \"b\")",
    "<b>gras</b>",
    "a\\b",
    "=",
    "<<",
    "Mo-Sa 09:00-18:00",
    "$",
    "(x",
    "NaN",
    ".inf",
]


def test_awkward_strings_read_back() -> None:
    _reads_back({"items": [{"name": "q", "label": {"en": s, "fr": s}} for s in AWKWARD]})
    _reads_back({s or "empty": s for s in AWKWARD})
    rng = random.Random(7)
    alphabet = "ab :#-'\"\n\t{}[],&*!|>%@`?=.0123456789é\x85\u2028$\\"
    for _ in range(2000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        _reads_back({"k": s, "l": [s, {"m": s}]})


def test_numbers_booleans_empty_containers_and_french_first() -> None:
    document = {"a": 1, "b": -2.5, "c": 1e-7, "d": True, "e": None, "f": [], "g": {}, "h": [[1, 2], []]}
    _reads_back(document)
    assert yaml_dump({"t": {"en": "E", "fr": "F"}}) == "t:\n  fr: F\n  en: E\n"


def test_other_values_fall_back_to_ruamel() -> None:
    from datetime import date

    document = {"d": date(2024, 1, 2), "n": 1}
    assert yaml_dump(document) == _ruamel_dump(document)
