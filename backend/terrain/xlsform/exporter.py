"""Compiled spec -> XLSForm workbook (.xlsx)."""

from __future__ import annotations

from typing import Any


class ExportError(ValueError):
    def __init__(self, code: str, params: dict[str, Any] | None = None) -> None:
        self.code = code
        self.params = dict(params or {})
        super().__init__(code)


def export_xlsform(compiled: dict[str, Any]) -> bytes:
    raise ExportError("xlsform.unsupported_kind", {"kind": compiled.get("kind")})
