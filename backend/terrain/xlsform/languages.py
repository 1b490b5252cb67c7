"""XLSForm language names (`English (en)`, `english`, `EN`) <-> language codes, and their display names."""

from __future__ import annotations

import re
import unicodedata

_CODE_IN_PARENS = re.compile(r"\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\)\s*$")
_CODE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")

# Common English and native names for forms written without a code (`label::english`).
_NAMES: dict[str, str] = {
    "french": "fr",
    "francais": "fr",
    "english": "en",
    "anglais": "en",
    "spanish": "es",
    "espanol": "es",
    "portuguese": "pt",
    "portugues": "pt",
    "german": "de",
    "deutsch": "de",
    "italian": "it",
    "italiano": "it",
    "arabic": "ar",
    "chinese": "zh",
    "swahili": "sw",
    "kiswahili": "sw",
    "russian": "ru",
    "dutch": "nl",
    "hindi": "hi",
    "bengali": "bn",
    "urdu": "ur",
    "turkish": "tr",
    "romanian": "ro",
    "polish": "pl",
    "amharic": "am",
    "hausa": "ha",
    "wolof": "wo",
    "bambara": "bm",
    "lingala": "ln",
    "malagasy": "mg",
    "vietnamese": "vi",
    "indonesian": "id",
    "japanese": "ja",
    "korean": "ko",
    "ukrainian": "uk",
}
DISPLAY: dict[str, str] = {
    "fr": "Français",
    "en": "English",
    "es": "Español",
    "pt": "Português",
    "de": "Deutsch",
    "it": "Italiano",
    "ar": "العربية",
    "zh": "中文",
    "sw": "Kiswahili",
}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def language_code(name: str) -> str | None:
    """The language code of an XLSForm language name, or None when it cannot be told."""
    m = _CODE_IN_PARENS.search(name)
    if m:
        return re.split(r"[-_]", m.group(1).lower())[0]
    folded = _fold(name.strip())
    if folded in _NAMES:
        return _NAMES[folded]
    if _CODE.match(name.strip()):
        return re.split(r"[-_]", name.strip().lower())[0]
    return None


def column_name(code: str) -> str:
    """`fr` -> `Français (fr)`: the form pyxform and ODK Collect recognise as a language with a code."""
    return f"{DISPLAY.get(code, code)} ({code})"
