"""The expression language: XLSForm (XPath subset) source -> JSON tree, static types, evaluation.

Pure Python, no I/O. The semantics are specified in docs/expressions.md and tests/vectors/expressions.json.
"""

from .checker import TYPES, coerce_odk, infer_type
from .errors import MESSAGES, ExpressionError
from .evaluator import EvalContext, Value, compile_tree, evaluate, format_date
from .functions import FUNCTIONS, FunctionSpec
from .parser import parse, to_source
from .tree import references, uses_current, uses_function, walk

__all__ = [
    "FUNCTIONS",
    "MESSAGES",
    "TYPES",
    "EvalContext",
    "ExpressionError",
    "FunctionSpec",
    "Value",
    "coerce_odk",
    "compile_tree",
    "evaluate",
    "format_date",
    "infer_type",
    "parse",
    "references",
    "to_source",
    "uses_current",
    "uses_function",
    "walk",
]
