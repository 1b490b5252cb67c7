"""The one exception of the expression language, with stable codes."""

from __future__ import annotations

from typing import Any

# Default English templates; speclang has its own fr/en catalogs keyed by the same codes.
MESSAGES: dict[str, str] = {
    "empty_expression": "empty expression",
    "syntax_error": "unexpected {token}",
    "unexpected_end": "unexpected end of expression",
    "unexpected_character": "unexpected character {char!r}",
    "unterminated_string": "unterminated string",
    "bad_number": "number {text} is too large",
    "bad_reference": "malformed reference: write ${{name}}",
    "bare_name": "bare name {name!r}: write ${{{name}}} to reference a field",
    "unknown_function": "unknown function {name}()",
    "wrong_arity": "{name}() takes {expected} argument(s), {got} given",
    "too_deep": "expression nested too deeply (more than {max} levels)",
    "bad_regex": "invalid regular expression {pattern!r}: {reason}",
    "argument_kind": "argument {index} of {name}() must be written as a {expected}",
    "unknown_reference": "unknown field ${{{name}}}",
    "current_not_allowed": "'.' (the current value) is only allowed in constraints",
    "type_mismatch": "operator {op} cannot combine {left} and {right}",
    "bad_operand": "operator {op} cannot be applied to {type}",
    "argument_type": "argument {index} of {name}() cannot be {actual} (expected {expected})",
}


class ExpressionError(ValueError):
    """A parse or type error. ``code`` is stable, ``params`` fill message templates, ``offset`` is the
    0-based column (in code points) in the source; type errors carry offset 0 (trees have no positions)."""

    def __init__(self, code: str, params: dict[str, Any] | None = None, offset: int = 0) -> None:
        self.code = code
        self.params: dict[str, Any] = dict(params or {})
        self.offset = offset
        super().__init__(self.message())

    def message(self) -> str:
        template = MESSAGES.get(self.code, self.code)
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.code

    def __str__(self) -> str:
        return f"{self.message()} (at column {self.offset})"

    def __repr__(self) -> str:
        return f"ExpressionError({self.code!r}, {self.params!r}, {self.offset})"
