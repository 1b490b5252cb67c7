"""The function catalog: arity, signature and descriptions, shared by the parser, the checker and the docs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One function. ``args`` gives the accepted static types of each argument ("|" separated, the last one
    repeats when ``max_args`` is None); ``returns`` is a static type, or ``"same"`` when the result type is
    the common type of the value arguments (if, coalesce)."""

    name: str
    min_args: int
    max_args: int | None
    returns: str
    args: tuple[str, ...]
    fr: str
    en: str
    example: str

    @property
    def signature(self) -> str:
        parts = list(self.args)
        if self.max_args is None:
            parts.append("...")
        elif self.min_args < self.max_args:
            parts = parts[: self.min_args] + [f"[{p}]" for p in parts[self.min_args :]]
        return f"{self.name}({', '.join(parts)}) -> {self.returns}"


_SCALAR = "number|string|boolean|date|time|datetime|any"
_NUMERIC = "number|string|boolean|date|datetime|time|any"
_DATEISH = "date|datetime|string|number|any"

_SPECS = [
    FunctionSpec(
        "not",
        1,
        1,
        "boolean",
        ("any",),
        "Négation logique.",
        "Logical negation.",
        "not(selected(${aides}, 'caf'))",
    ),
    FunctionSpec(
        "selected",
        2,
        2,
        "boolean",
        ("list|string|any", _SCALAR),
        "Vrai si la valeur est cochée dans un choix multiple.",
        "True if the value is selected in a multiple choice.",
        "selected(${aides}, 'caf')",
    ),
    FunctionSpec(
        "selected-at",
        2,
        2,
        "string",
        ("list|string|any", _NUMERIC),
        "La n-ième valeur cochée (à partir de 0), vide au-delà.",
        "The n-th selected value (0-based), empty past the last one.",
        "selected-at(${aides}, 0)",
    ),
    FunctionSpec(
        "choice-label",
        2,
        2,
        "string",
        (_SCALAR, "string"),
        "Libellé, dans la langue du formulaire, du choix de cette valeur dans la liste nommée.",
        "Label, in the form's language, of the choice with this value in the named list.",
        "choice-label(${commune}, 'communes')",
    ),
    FunctionSpec(
        "choice-property",
        3,
        3,
        "string",
        (_SCALAR, "string", "string"),
        "Propriété (colonne de la feuille choices) du choix de cette valeur dans la liste nommée.",
        "Property (column of the choices sheet) of the choice with this value in the named list.",
        "choice-property(${commune}, 'communes', 'dept')",
    ),
    FunctionSpec(
        "once",
        1,
        1,
        "same",
        ("any",),
        "La réponse déjà enregistrée si elle n'est pas vide, sinon la valeur (calculée une seule fois).",
        "The answer already stored if not empty, else the value (computed once).",
        "once(now())",
    ),
    FunctionSpec(
        "indexed-repeat",
        3,
        3,
        "same",
        ("any", "any", "number|string|any"),
        "Valeur du champ dans le n-ième bloc (à partir de 1) de sa répétition.",
        "Value of the field in the n-th block (1-based) of its repeat.",
        "indexed-repeat(${prenom}, ${membres}, 1)",
    ),
    FunctionSpec(
        "count-selected",
        1,
        1,
        "number",
        ("list|string|any",),
        "Nombre de valeurs cochées.",
        "Number of selected values.",
        "count-selected(${aides})",
    ),
    FunctionSpec(
        "if",
        3,
        3,
        "same",
        ("any", "any", "any"),
        "Si la condition est vraie, a, sinon b.",
        "a if the condition is true, else b.",
        "if(${age} >= 18, 'majeur', 'mineur')",
    ),
    FunctionSpec(
        "coalesce",
        2,
        2,
        "same",
        ("any", "any"),
        "Première valeur non vide.",
        "First non-empty value.",
        "coalesce(${tel_portable}, ${tel_fixe})",
    ),
    FunctionSpec(
        "string-length",
        1,
        1,
        "number",
        ("any",),
        "Nombre de caractères.",
        "Number of characters.",
        "string-length(${nom}) <= 40",
    ),
    FunctionSpec(
        "regex",
        2,
        2,
        "boolean",
        ("any", "string"),
        "Vrai si le texte contient une correspondance de l'expression régulière.",
        "True if the text contains a match of the regular expression.",
        "regex(., '^[0-9]{5}$')",
    ),
    FunctionSpec(
        "contains",
        2,
        2,
        "boolean",
        ("any", "any"),
        "Vrai si a contient b.",
        "True if a contains b.",
        "contains(${commentaire}, 'urgent')",
    ),
    FunctionSpec(
        "starts-with",
        2,
        2,
        "boolean",
        ("any", "any"),
        "Vrai si a commence par b.",
        "True if a starts with b.",
        "starts-with(${tel}, '06')",
    ),
    FunctionSpec(
        "ends-with",
        2,
        2,
        "boolean",
        ("any", "any"),
        "Vrai si a finit par b.",
        "True if a ends with b.",
        "ends-with(${email}, '.fr')",
    ),
    FunctionSpec(
        "concat",
        1,
        None,
        "string",
        ("any",),
        "Concatène des textes.",
        "Concatenates texts.",
        "concat(${prenom}, ' ', ${nom})",
    ),
    FunctionSpec(
        "int",
        1,
        1,
        "number",
        (_NUMERIC,),
        "Partie entière (tronque vers zéro).",
        "Integer part (truncates toward zero).",
        "int(${revenu} div 12)",
    ),
    FunctionSpec(
        "number",
        1,
        1,
        "number",
        (_NUMERIC,),
        "Conversion en nombre.",
        "Conversion to a number.",
        "number(${code})",
    ),
    FunctionSpec(
        "round",
        1,
        2,
        "number",
        (_NUMERIC, "number|any"),
        "Arrondi (demi loin de zéro), à n décimales.",
        "Rounds half away from zero, to n decimals.",
        "round(${poids} div ${taille}, 1)",
    ),
    FunctionSpec("floor", 1, 1, "number", (_NUMERIC,), "Arrondi inférieur.", "Rounds down.", "floor(${x})"),
    FunctionSpec("ceiling", 1, 1, "number", (_NUMERIC,), "Arrondi supérieur.", "Rounds up.", "ceiling(${x})"),
    FunctionSpec("abs", 1, 1, "number", (_NUMERIC,), "Valeur absolue.", "Absolute value.", "abs(${ecart})"),
    FunctionSpec("today", 0, 0, "date", (), "Date du jour.", "Today's date.", "${date_visite} <= today()"),
    FunctionSpec("now", 0, 0, "datetime", (), "Date et heure actuelles.", "Current date and time.", "now()"),
    FunctionSpec(
        "date",
        1,
        1,
        "date",
        (_DATEISH,),
        "Conversion en date.",
        "Conversion to a date.",
        "date('2026-01-01')",
    ),
    FunctionSpec(
        "decimal-date-time",
        1,
        1,
        "number",
        (_DATEISH,),
        "Jours (décimaux) depuis le 1970-01-01.",
        "Days (decimal) since 1970-01-01.",
        "decimal-date-time(${debut})",
    ),
    FunctionSpec(
        "format-date",
        2,
        2,
        "string",
        (_DATEISH, "string|any"),
        "Formate une date (%Y %y %m %n %d %e %H %h %M %S %3 %b %a).",
        "Formats a date (%Y %y %m %n %d %e %H %h %M %S %3 %b %a).",
        "format-date(${naissance}, '%d/%m/%Y')",
    ),
    FunctionSpec(
        "format-date-time",
        2,
        2,
        "string",
        (_DATEISH, "string|any"),
        "Comme format-date.",
        "Same as format-date.",
        "format-date-time(now(), '%H:%M')",
    ),
    FunctionSpec(
        "position",
        0,
        0,
        "number",
        (),
        "Rang (à partir de 1) de l'occurrence de répétition.",
        "1-based index of the current repeat instance.",
        "position(..)",
    ),
    FunctionSpec("true", 0, 0, "boolean", (), "Vrai.", "True.", "true()"),
    FunctionSpec("false", 0, 0, "boolean", (), "Faux.", "False.", "false()"),
    FunctionSpec(
        "string", 1, 1, "string", ("any",), "Conversion en texte.", "Conversion to text.", "string(${age})"
    ),
    FunctionSpec(
        "boolean",
        1,
        1,
        "boolean",
        ("any",),
        "Conversion en booléen.",
        "Conversion to boolean.",
        "boolean(${commentaire})",
    ),
    FunctionSpec(
        "count",
        1,
        1,
        "number",
        ("any",),
        "Nombre d'éléments (0 si vide, 1 si valeur simple).",
        "Number of items (0 if empty, 1 for a single value).",
        "count(${membres_age})",
    ),
    FunctionSpec(
        "sum",
        1,
        1,
        "number",
        ("any",),
        "Somme des nombres d'une liste.",
        "Sum of the numbers of a list.",
        "sum(${membres_revenu})",
    ),
]

FUNCTIONS: dict[str, FunctionSpec] = {s.name: s for s in _SPECS}
