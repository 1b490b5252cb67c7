"""XLSForm interoperability: import a workbook into a spec document, export a compiled spec to a workbook."""

from .exporter import ExportError, export_xlsform
from .importer import ImportResult, import_xlsform
from .messages import ImportMessage, render_message
from .yamlio import yaml_dump

__all__ = [
    "ExportError",
    "ImportMessage",
    "ImportResult",
    "export_xlsform",
    "import_xlsform",
    "render_message",
    "yaml_dump",
]
