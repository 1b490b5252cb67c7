"""Canonical JSON and the content hash of a compiled spec."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same bytes for the same content whatever the YAML layout."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(compiled: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a compiled spec."""
    return hashlib.sha256(canonical_json(compiled).encode("utf-8")).hexdigest()
