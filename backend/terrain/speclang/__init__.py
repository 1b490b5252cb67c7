"""The spec language: YAML spec documents -> compiled spec JSON, diffs between compiled specs, issues with
positions rendered from the fr/en message catalogs. Pure: no database, no HTTP."""

from .canonical import canonical_json, content_hash
from .compiler import ITEM_TYPES, KINDS, CompileResult, compile_document, compile_file, compile_text
from .diff import BREAKING_CODE, Change, SpecDiff, breaking_issues, check_publishable, diff
from .explain import describe_change, describe_diff
from .issues import SpecIssue, catalog, message, render

__all__ = [
    "BREAKING_CODE",
    "ITEM_TYPES",
    "KINDS",
    "Change",
    "CompileResult",
    "SpecDiff",
    "SpecIssue",
    "breaking_issues",
    "canonical_json",
    "catalog",
    "check_publishable",
    "compile_document",
    "compile_file",
    "compile_text",
    "content_hash",
    "describe_change",
    "describe_diff",
    "diff",
    "message",
    "render",
]
