"""The JSON Schemas (draft 2020-12) of the formats the server hands to the app: the compiled spec and the
expression tree. The files live with the compiler they describe (``terrain/speclang/schemas/``, package
data); they are served as written, so their ETag is the SHA-256 of the file."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

# Served name -> file in terrain/speclang/schemas/.
FILES: dict[str, str] = {
    "compiled-spec": "compiled-spec.schema.json",
    "expression": "expression.schema.json",
}
MEDIA_TYPE = "application/schema+json"


@dataclass(frozen=True, slots=True)
class SchemaDocument:
    name: str
    content: bytes
    etag: str  # strong validator: the quoted SHA-256 of content


@functools.cache
def document(name: str) -> SchemaDocument:
    """The schema file ``name`` (a key of ``FILES``); read once per process. KeyError for another name."""
    filename = FILES[name]
    content = resources.files("terrain.speclang").joinpath("schemas", filename).read_bytes()
    return SchemaDocument(name, content, f'"{hashlib.sha256(content).hexdigest()}"')


def schema(name: str) -> dict[str, Any]:
    """The schema ``name`` as a JSON object (a fresh copy: callers may change it)."""
    value: dict[str, Any] = json.loads(document(name).content)
    return value
