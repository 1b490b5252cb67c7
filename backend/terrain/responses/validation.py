"""Validation of a record's answers against its compiled spec, and the server's calculations.

Pure: no database, no HTTP. The answer format and every problem code are documented in docs/responses.md.

Expressions run through the same evaluator as everywhere else (``terrain.expressions``), against the answers
of the block being checked: ``${x}`` is the value of the same block (or of an enclosing level), a field of a
repeat read from outside it is the list of its values (for ``count()``/``sum()``), ``.`` is the value being
checked, ``position(..)`` the 1-based block number, a choice filter also sees ``${choice.value}`` and
``${choice.<property>}``.

Order of the work:

1. the answers are read level by level: unknown keys, wrong shapes, choices outside their list and missing
   attachments are reported, and such values are left out (expressions see them as unanswered);
2. calculations run in the compiled ``calculation_order``, once per block for those inside repeats;
3. the items are walked in document order: relevance (a non-relevant group or repeat hides everything in it;
   an answer it hides is reported ``not_relevant`` and then left out), required, constraints, choice
   filters, repeat min/max/count;
4. when step 3 left values out, calculations run again without them (calculations that are not relevant
   stay empty); the device's calculated values are compared with the server's.

Input is hostile: no JSON value makes these functions raise, and the work is bounded (repeat blocks,
text sizes, problems listed).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from terrain import expressions as ex
from terrain.expressions.values import temporal_kind, to_bool, to_number, to_string

from .values import (
    BIN,
    CALC,
    MAX_BLOCKS,
    MAX_REPEAT_BLOCKS,
    N_CALC,
    N_GROUP,
    N_REPEAT,
    N_THEME,
    N_VALUE,
    SHA256_RX,
    Field,
    Fn,
    Node,
    Scope,
    SpecIndex,
    check_value,
    finite_number,
    index_for,
    is_date,
    is_datetime,
    is_empty,
)

__all__ = [
    "MAX_PROBLEMS",
    "PROBLEM_CODES",
    "CheckedResponse",
    "Problem",
    "SpecIndex",
    "check_response",
    "computed_answers",
    "index_for",
    "validate_response",
]

# Every problem code (docs/responses.md lists them with their meaning; a code never changes meaning).
PROBLEM_CODES = (
    "type",
    "too_long",
    "choice",
    "consent",
    "required",
    "constraint",
    "not_relevant",
    "unknown_item",
    "repeat_min",
    "repeat_max",
    "repeat_count",
    "attachment_missing_ref",
    "attachment_invalid",
    "calculation",
    "metadata.unknown",
    "metadata.invalid",
    "interview.not_expected",
    "interview.missing",
    "interview.invalid",
    "interview.audience",
    "interview.consent",
    "interview.recording_not_allowed",
    "interview.recording",
    "interview.theme",
    "interview.offsets",
    "interview.recording_offsets",
    "too_large",
    "too_many_problems",
)
MAX_PROBLEMS = 200
MAX_ATTACHMENTS = 1_000
MAX_TIMELINE = 500
MAX_SHORT = 255
MAX_NOTES = 20_000
# Problems name keys; a hostile key is cut to this length.
MAX_KEY_SHOWN = 64
LABEL_SHOWN = 60
INTERVIEW_KEYS = frozenset({"audience", "consent", "recording", "timeline"})
CONSENT_KEYS = frozenset({"mode", "given_at", "collected_by", "refusal_notes"})
RECORDING_KEYS = frozenset({"sha256", "started_at"})
TIMELINE_KEYS = frozenset({"theme", "start", "end", "recording_start", "recording_end"})
EVAL_ERRORS = (ArithmeticError, ValueError, TypeError)

# --- problems -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of a record. ``code`` is stable (docs/responses.md); ``item`` is None for problems of
    the record as a whole; ``instance`` locates a repeat block ("membres.2", "membres.2/enfants.1")."""

    code: str
    item: str | None
    instance: str
    fr: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "item": self.item,
            "instance": self.instance,
            "message": {"fr": self.fr, "en": self.en},
        }


# message key -> (French, English) templates
MESSAGES: dict[str, tuple[str, str]] = {
    # shapes
    "text": ("une réponse texte est attendue", "a text answer is expected"),
    "nul": ("le texte contient un caractère nul (U+0000)", "the text contains a NUL character (U+0000)"),
    "too_long": ("le texte dépasse {max} caractères", "the text is longer than {max} characters"),
    "integer": ("un nombre entier est attendu", "a whole number is expected"),
    "number": ("un nombre est attendu", "a number is expected"),
    "range": (
        "le nombre est trop grand (ou n'est pas un nombre fini)",
        "the number is too large (or not a finite number)",
    ),
    "choice_text": ("un code de choix (texte) est attendu", "a choice value (text) is expected"),
    "likert": ("un nombre entier de l'échelle est attendu", "a whole number of the scale is expected"),
    "list": ("une liste de codes de choix est attendue", "a list of choice values is expected"),
    "date": ("une date AAAA-MM-JJ est attendue", "a date YYYY-MM-DD is expected"),
    "time": ("une heure HH:MM:SS est attendue", "a time HH:MM:SS is expected"),
    "datetime": (
        "une date et heure ISO 8601 avec fuseau horaire est attendue",
        "an ISO 8601 date and time with a time zone offset is expected",
    ),
    "geopoint": (
        "une position {{lat, lon, alt, accuracy}} valide est attendue",
        "a valid position {{lat, lon, alt, accuracy}} is expected",
    ),
    "binary": (
        "l'empreinte SHA-256 d'une pièce jointe (64 caractères hexadécimaux) est attendue",
        "the SHA-256 of an attachment (64 hexadecimal characters) is expected",
    ),
    "consent": ("le consentement doit valoir « OK »", 'consent must be "OK"'),
    "repeat_not_list": ("une liste de blocs est attendue", "a list of blocks is expected"),
    "block_not_object": ("chaque bloc doit être un objet JSON", "each block must be a JSON object"),
    "answers_not_object": (
        "Les réponses doivent être un objet JSON (nom de question -> réponse).",
        "Answers must be a JSON object (item name -> answer).",
    ),
    # choices
    "not_a_choice": ("« {value} » n'est pas un choix de la liste", '"{value}" is not a choice of the list'),
    "not_a_choice_hidden": (
        "la valeur n'est pas un choix de la liste",
        "the value is not a choice of the list",
    ),
    "filtered": (
        "le choix « {value} » n'est pas proposé avec les réponses données (filtre des choix)",
        'the choice "{value}" is not offered given the other answers (choice filter)',
    ),
    "duplicate": ("un même choix est donné plusieurs fois", "a choice is given more than once"),
    "too_many": ("plus de choix que la liste n'en compte", "more choices than the list has"),
    # logic
    "required": ("une réponse est obligatoire", "an answer is required"),
    "constraint": (
        "la réponse ne respecte pas la condition « {src} »",
        'the answer does not satisfy the condition "{src}"',
    ),
    "not_relevant": (
        "une réponse est donnée alors que la question ne s'applique pas (condition d'affichage fausse)",
        "an answer is given although the question does not apply (its display condition is false)",
    ),
    "not_relevant_repeat": (
        "des blocs sont donnés alors que la répétition ne s'applique pas (condition d'affichage fausse)",
        "blocks are given although the repeat does not apply (its display condition is false)",
    ),
    "repeat_min": ("{count} bloc(s) : il en faut au moins {min}", "{count} block(s): at least {min} needed"),
    "repeat_max": ("{count} blocs : {max} au plus", "{count} blocks: {max} at most"),
    "repeat_count": (
        "{count} bloc(s) alors que le nombre attendu est {expected}",
        "{count} block(s) where {expected} are expected",
    ),
    "unknown_item": ("aucune question de ce nom dans le questionnaire", "no item of this name in the form"),
    "no_answer_item": (
        "c'est {what_fr} : il n'attend pas de réponse",
        "this is {what_en}: it takes no answer",
    ),
    "misplaced_item": (
        "cette question se trouve {where_fr} : sa réponse n'est pas à cette place",
        "this item is {where_en}: its answer is not in the right place",
    ),
    "attachment_missing_ref": (
        "la pièce jointe n'est pas dans la liste des pièces jointes de la réponse",
        "the attachment is not in the record's list of attachments",
    ),
    "calculation": (
        "la valeur calculée par l'appareil diffère de celle que recalcule le serveur ; "
        "la valeur du serveur est retenue",
        "the value computed by the device differs from the one the server computes; "
        "the server's value is kept",
    ),
    # record level
    "attachment_invalid": (
        "Pièce jointe n° {index} mal décrite : {{sha256, media_type, size, item}} attendu.",
        "Attachment #{index} is malformed: {{sha256, media_type, size, item}} expected.",
    ),
    "attachments_not_list": (
        "La liste des pièces jointes doit être une liste JSON.",
        "The list of attachments must be a JSON list.",
    ),
    "too_many_attachments": (
        "Plus de {max} pièces jointes : les suivantes sont ignorées.",
        "More than {max} attachments: the others are ignored.",
    ),
    "metadata_not_object": (
        "Les métadonnées doivent être un objet JSON.",
        "Metadata must be a JSON object.",
    ),
    "metadata_unknown": (
        "Métadonnée « {key} » non demandée par le questionnaire (demandées : {allowed}).",
        'Metadata "{key}" is not requested by the form (requested: {allowed}).',
    ),
    "metadata_invalid": (
        "Métadonnée « {key} » invalide (attendu : {expected_fr}).",
        'Metadata "{key}" is invalid (expected: {expected_en}).',
    ),
    "too_large": (
        "La réponse compte plus de {max} blocs répétés : les suivants ne sont pas vérifiés.",
        "The record has more than {max} repeat blocks: the others are not checked.",
    ),
    "too_many_problems": (
        "Plus de {max} problèmes : les suivants ne sont pas listés.",
        "More than {max} problems: the others are not listed.",
    ),
    # interviews
    "interview.not_expected": (
        "Des données d'entretien sont jointes alors que ce n'est pas un guide d'entretien.",
        "Interview data is attached although this is not an interview guide.",
    ),
    "interview.missing": (
        "Les données de l'entretien (public, consentement, déroulé) manquent.",
        "The interview data (audience, consent, timeline) is missing.",
    ),
    "interview.invalid": (
        "Données d'entretien mal formées : {what_fr}.",
        "Malformed interview data: {what_en}.",
    ),
    "interview.audience": (
        "Le public interrogé doit être l'un des publics du guide ({allowed}).",
        "The audience must be one of the guide's audiences ({allowed}).",
    ),
    "interview.consent": ("Consentement : {what_fr}.", "Consent: {what_en}."),
    "interview.recording_not_allowed": (
        "Le guide ne permet que la prise de notes : l'enregistrement n'est pas autorisé.",
        "The guide allows notes only: recording is not allowed.",
    ),
    "interview.recording": ("Enregistrement : {what_fr}.", "Recording: {what_en}."),
    "interview.recording_missing_ref": (
        "L'enregistrement n'est pas dans la liste des pièces jointes de la réponse.",
        "The recording is not in the record's list of attachments.",
    ),
    "interview.theme": (
        "Déroulé : {what_fr}.",
        "Timeline: {what_en}.",
    ),
    "interview.offsets": (
        "Déroulé : début et fin (secondes depuis le début de l'entretien) doivent être des nombres positifs, "
        "la fin après le début.",
        "Timeline: start and end (seconds from the interview start) must be non-negative numbers, the end "
        "after the start.",
    ),
    "interview.recording_offsets": ("Déroulé : {what_fr}.", "Timeline: {what_en}."),
}

CONTAINER_WHAT = {
    "group": (
        "un groupe (ses questions sont au même niveau que lui)",
        "a group (its items sit at its level)",
    ),
    "note": ("une note", "a note"),
    "matrix": ("un tableau (chaque ligne est une question)", "a matrix (each row is an item)"),
    "repeat": ("une répétition", "a repeat"),
}


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _subject(name: str, label: dict[str, str], instance: str, lang: str) -> str:
    shown = _cut(label[lang], LABEL_SHOWN)
    subject = f"« {shown} » ({name})" if lang == "fr" else f'"{shown}" ({name})'
    if shown == name:
        subject = f"« {name} »" if lang == "fr" else f'"{name}"'
    if instance:
        subject += f" [bloc {instance}]" if lang == "fr" else f" [block {instance}]"
    return subject


class _Stop(Exception):
    """Raised when the problem list is full."""


# --- evaluation environment ---------------------------------------------------------------------------


class _Frame:
    """The answers of one level (top level or one repeat block) while validating."""

    __slots__ = (
        "bad",
        "children",
        "ctx",
        "device_calcs",
        "frames",
        "lengths",
        "path",
        "raw",
        "scope",
        "skip",
        "values",
    )

    def __init__(
        self,
        run: _Run,
        scope: Scope,
        raw: Any,
        parent: _Frame | None,
        path: str,
        position: int | None,
    ) -> None:
        self.scope = scope
        self.raw = raw
        self.path = path
        # values visible to expressions: well-formed answers and calculations
        self.values: dict[str, Any] = {}
        # keys whose answer had a problem already reported (not "required" again)
        self.bad: set[str] = set()
        self.children: dict[str, list[_Frame]] = {}
        self.lengths: dict[str, int] = {}
        self.device_calcs: dict[str, Any] = {}
        self.skip = False
        self.frames: list[_Frame] = [*parent.frames, self] if parent is not None else [self]
        env = _Env(self.frames, scope.direct, run.index, scope.chain)
        self.ctx = ex.EvalContext(
            answers=env,
            current=None,
            position=position,
            now=run.now,
            repeat_values=env.repeat_values,
            choice_property=run.choice_property,
        )


class _Env(Mapping[str, Any]):
    """What ``${name}`` reads from one block: its own values, those of enclosing levels, and the list of
    values of a repeat's field read from outside it."""

    __slots__ = ("chain", "direct", "frames", "index")

    def __init__(
        self, frames: list[_Frame], direct: dict[str, int], index: SpecIndex, chain: tuple[str, ...]
    ) -> None:
        self.frames = frames
        self.direct = direct
        self.index = index
        self.chain = chain

    def get(self, key: str, default: Any = None) -> Any:
        depth = self.direct.get(key)
        if depth is not None:
            return self.frames[depth].values.get(key)
        f = self.index.fields.get(key)
        if f is None:
            return None
        chain = f.chain
        common = 0
        while common < len(chain) and common < len(self.chain) and chain[common] == self.chain[common]:
            common += 1
        out: list[Any] = []
        _collect(self.frames[common], chain, common, key, out)
        return out

    def repeat_values(self, key: str) -> list[Any] | None:
        """indexed-repeat(): the values of a repeat's field in every block of its repeat, from inside the
        repeat too (within the enclosing block of a nested repeat)."""
        f = self.index.fields.get(key)
        if f is None or not f.chain:
            return None
        chain = f.chain
        common = 0
        while common < len(chain) - 1 and common < len(self.chain) and chain[common] == self.chain[common]:
            common += 1
        out: list[Any] = []
        _collect(self.frames[common], chain, common, key, out)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.direct)

    def __len__(self) -> int:
        return len(self.direct)


# item id -> (item, answer): the item is kept so that its id is not reused while cached
_LANGUAGE_DEPENDENT: dict[int, tuple[Any, bool]] = {}


def _language_dependent(f: Any) -> bool:
    """A calculation reading choice-label(): its value is in the device's language."""
    entry = _LANGUAGE_DEPENDENT.get(id(f.item))
    if entry is not None and entry[0] is f.item:
        return entry[1]
    calc = f.item.get("calculation")
    tree = calc.get("ast") if isinstance(calc, dict) else None
    found = isinstance(tree, dict) and ex.uses_function(tree, "choice-label")
    if len(_LANGUAGE_DEPENDENT) > 10_000:
        _LANGUAGE_DEPENDENT.clear()
    _LANGUAGE_DEPENDENT[id(f.item)] = (f.item, found)
    return found


def _collect(frame: _Frame, chain: tuple[str, ...], depth: int, name: str, out: list[Any]) -> None:
    if depth == len(chain):
        out.append(frame.values.get(name))
        return
    for child in frame.children.get(chain[depth], ()):
        _collect(child, chain, depth + 1, name, out)


class _ChoiceEnv(Mapping[str, Any]):
    """A block's answers plus the properties of the choice being filtered (``choice.<prop>``)."""

    __slots__ = ("base", "props")

    def __init__(self, base: Mapping[str, Any], props: dict[str, Any]) -> None:
        self.base = base
        self.props = props

    def get(self, key: str, default: Any = None) -> Any:
        if key.startswith("choice."):
            return self.props.get(key)
        return self.base.get(key)

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


def _eval(fn: Fn, ctx: ex.EvalContext) -> Any:
    try:
        return fn(ctx)
    except EVAL_ERRORS:  # a spec value the evaluator cannot convert (a huge YAML integer): empty
        return None


def _now(today: date | None) -> datetime:
    """The clock of today()/now(): the end of ``today``. By default the latest date anywhere on Earth
    (UTC+14), so a device's "not in the future" never fails because of the server's time zone."""
    if today is None:
        today = (datetime.now(UTC) + timedelta(hours=14)).date()
    return datetime.combine(today, time(23, 59, 59), tzinfo=UTC)


# --- the run ------------------------------------------------------------------------------------------


class _Run:
    def __init__(self, index: SpecIndex, today: date | None, collect: bool) -> None:
        self.index = index
        self.now = _now(today)
        self.collect = collect
        lists = index.compiled.get("choice_lists")
        self.lists: dict[str, Any] = lists if isinstance(lists, dict) else {}
        self.problems: list[Problem] = []
        self.blocks = MAX_BLOCKS
        self.too_large = False
        self.changed = False
        self.nonrel: set[tuple[int, str]] = set()
        self.instances: dict[tuple[str, ...], list[_Frame]] = {}
        self.shas: set[str] = set()
        self.audience: str | None = None
        self.root: _Frame | None = None
        # attachment references are checked against the record's list (not when only computing)
        self.check_refs = collect

    def choice_property(self, list_name: str, value: str, prop: str) -> str | None:
        """choice-property(): a property (the choice's ``filter``) of a choice of the spec's list, as text
        (as the form engine's ``choiceProperty``)."""
        choices = self.lists.get(list_name)
        for choice in choices if isinstance(choices, list) else ():
            if isinstance(choice, dict) and choice.get("value") == value:
                filt = choice.get("filter")
                props = {"value": value, **(filt if isinstance(filt, dict) else {})}
                found = props.get(prop)
                return None if found is None else to_string(found)
        return None

    # problems

    def add(self, code: str, msg: str, instance: str = "", item: str | None = None, **params: Any) -> None:
        """A record-level problem (``item`` None) or a problem named by the caller."""
        if not self.collect:
            return
        fr, en = MESSAGES[msg]
        self._append(Problem(code, item, instance, fr.format(**params), en.format(**params)))

    def add_item(
        self,
        code: str,
        msg: str,
        name: str,
        label: dict[str, str],
        instance: str,
        custom: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        if not self.collect:
            return
        fr, en = MESSAGES[msg]
        if custom is not None:
            fr, en = custom["fr"], custom["en"]
        else:
            fr, en = fr.format(**params), en.format(**params)
        self._append(
            Problem(
                code,
                name,
                instance,
                f"{_subject(name, label, instance, 'fr')} : {fr}",
                f"{_subject(name, label, instance, 'en')}: {en}",
            )
        )

    def _append(self, problem: Problem) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            fr, en = MESSAGES["too_many_problems"]
            self.problems.append(
                Problem(
                    "too_many_problems", None, "", fr.format(max=MAX_PROBLEMS), en.format(max=MAX_PROBLEMS)
                )
            )
            raise _Stop
        self.problems.append(problem)

    # 1. reading the answers

    def load(
        self, scope: Scope, raw: dict[str, Any], parent: _Frame | None, path: str, pos: int | None
    ) -> _Frame:
        frame = _Frame(self, scope, raw, parent, path, pos)
        self.instances.setdefault(scope.chain, []).append(frame)
        members = scope.members
        for key, value in raw.items():
            member = members.get(key)
            if member is None:
                self.unknown(key, path)
                continue
            if value is None:
                continue
            if isinstance(member, Scope):
                self.load_repeat(member, value, frame)
                continue
            if member.kind is CALC:
                frame.device_calcs[key] = value
                continue
            if value == "" or value == []:
                continue  # unanswered
            norm, invalid = check_value(member, value)
            if invalid is not None:
                frame.bad.add(key)
                code, msg, params = invalid
                if msg == "not_a_choice" and member.sensitive:
                    msg, params = "not_a_choice_hidden", {}
                self.add_item(code, msg, key, member.label, path, **params)
                continue
            if member.kind is BIN and self.check_refs and norm not in self.shas:
                frame.bad.add(key)
                self.add_item("attachment_missing_ref", "attachment_missing_ref", key, member.label, path)
                continue
            frame.values[key] = norm
        return frame

    def load_repeat(self, scope: Scope, value: Any, frame: _Frame) -> None:
        name = scope.name
        label = scope.label
        if not isinstance(value, list):
            frame.bad.add(name)
            self.add_item("type", "repeat_not_list", name, label, frame.path)
            return
        frame.lengths[name] = len(value)
        prefix = f"{frame.path}/" if frame.path else ""
        blocks: list[_Frame] = []
        for pos, block in enumerate(value[: self.index.repeat_limit(scope)], 1):
            if self.blocks <= 0:
                if not self.too_large:
                    self.too_large = True
                    self.add("too_large", "too_large", max=MAX_BLOCKS)
                break
            self.blocks -= 1
            path = f"{prefix}{name}.{pos}"
            if not isinstance(block, dict):
                self.add_item("type", "block_not_object", name, label, path)
                child = self.load(scope, {}, frame, path, pos)
                child.skip = True
            else:
                child = self.load(scope, block, frame, path, pos)
            blocks.append(child)
        frame.children[name] = blocks

    def unknown(self, key: Any, path: str) -> None:
        name = _cut(str(key), MAX_KEY_SHOWN)
        label = {"fr": name, "en": name}
        f = self.index.fields.get(name)
        repeat = self.index.repeats.get(name)
        chain = f.chain if f is not None else repeat.chain[:-1] if repeat is not None else None
        if chain is not None:
            if f is not None:
                label = f.label
            where_fr, where_en = (
                (f"dans la répétition « {chain[-1]} »", f'in the repeat "{chain[-1]}"')
                if chain
                else ("au premier niveau des réponses", "at the top level of the answers")
            )
            self.add_item(
                "unknown_item", "misplaced_item", name, label, path, where_fr=where_fr, where_en=where_en
            )
        elif name in self.index.containers:
            what_fr, what_en = CONTAINER_WHAT.get(self.index.containers[name], ("une note", "a note"))
            self.add_item(
                "unknown_item", "no_answer_item", name, label, path, what_fr=what_fr, what_en=what_en
            )
        else:
            self.add_item("unknown_item", "unknown_item", name, label, path)

    # 2. calculations

    def calculate(self, skip_nonrel: bool) -> None:
        for f in self.index.calc_order:
            fn = f.calc
            if fn is None:
                continue
            name = f.name
            for frame in self.instances.get(f.chain, ()):
                if skip_nonrel and (id(frame), name) in self.nonrel:
                    continue
                device = frame.device_calcs.get(name)
                # today()/now() depend on the device's clock, choice-label() on its language: its value is
                # kept when well formed
                if (f.time_dependent or _language_dependent(f)) and _plain_scalar(device):
                    frame.values[name] = device
                    continue
                # once() keeps the value the device stored (the calculation's current value)
                frame.ctx.current = device if _plain_scalar(device) else None
                frame.values[name] = _eval(fn, frame.ctx)
                frame.ctx.current = None

    # 3. the walk

    def walk(self, nodes: list[Node], frame: _Frame) -> None:
        ctx = frame.ctx
        values = frame.values
        for node in nodes:
            kind = node.kind
            if kind == N_VALUE and node.name not in values and not node.required and node.required_if is None:
                continue  # unanswered and optional: nothing to check, whether relevant or not
            if node.relevant is not None and not to_bool(_eval(node.relevant, ctx)):
                self.hide(node, frame)
                continue
            if kind == N_VALUE:
                self.check(node, frame)
            elif kind == N_GROUP:
                self.walk(node.children, frame)
            elif kind == N_REPEAT:
                self.repeat(node, frame)
            elif kind == N_THEME:
                if self.audience is None or (node.audiences is not None and self.audience in node.audiences):
                    self.walk(node.children, frame)
                else:
                    self.hide(node, frame)

    def hide(self, node: Node, frame: _Frame) -> None:
        """``node`` does not apply: its answers are reported and left out, its calculations emptied."""
        kind = node.kind
        name = node.name
        if kind == N_VALUE:
            if name in frame.values:
                del frame.values[name]
                self.changed = True
                self.add_item("not_relevant", "not_relevant", name, node.label, frame.path)
        elif kind == N_CALC:
            if frame.values.get(name) is not None:
                self.changed = True
            frame.values[name] = None
            self.nonrel.add((id(frame), name))
        elif kind == N_REPEAT:
            if frame.lengths.get(name):
                self.changed = True
                self.add_item("not_relevant", "not_relevant_repeat", name, node.label, frame.path)
            frame.children[name] = []
        else:
            for child in node.children:
                self.hide(child, frame)

    def check(self, node: Node, frame: _Frame) -> None:
        name = node.name
        value = frame.values.get(name)
        ctx = frame.ctx
        if value is None:
            if name in frame.bad:
                return
            if node.required or (node.required_if is not None and to_bool(_eval(node.required_if, ctx))):
                self.add_item(
                    "required", "required", name, node.label, frame.path, custom=node.required_message
                )
            return
        if node.constraint is not None:
            ctx.current = value
            ok = to_bool(_eval(node.constraint, ctx))
            ctx.current = None
            if not ok:
                self.add_item(
                    "constraint",
                    "constraint",
                    name,
                    node.label,
                    frame.path,
                    custom=node.constraint_message,
                    src=_cut(node.constraint_src, 120),
                )
        if node.choice_filter is not None and node.field is not None:
            self.filter_choices(node, node.field, node.choice_filter, frame, value)

    def filter_choices(self, node: Node, f: Field, fn: Fn, frame: _Frame, value: Any) -> None:
        allow_other = bool(f.item.get("other"))
        for v in value if isinstance(value, list) else (value,):
            if allow_other and v == "other":
                continue  # the added "other" choice has no filter properties
            ctx = ex.EvalContext(
                answers=_ChoiceEnv(frame.ctx.answers, f.choice_props.get(str(v), {})),
                position=frame.ctx.position,
                now=self.now,
            )
            if not to_bool(_eval(fn, ctx)):
                shown = "…" if f.sensitive else _cut(str(v), 40)
                self.add_item("choice", "filtered", node.name, node.label, frame.path, value=shown)

    def repeat(self, node: Node, frame: _Frame) -> None:
        name = node.name
        if name in frame.bad:
            return  # not a list: reported as such, no count to check
        count = frame.lengths.get(name, 0)
        path = frame.path
        if node.min is not None and count < node.min:
            self.add_item("repeat_min", "repeat_min", name, node.label, path, count=count, min=node.min)
        limit = node.max if node.max is not None else MAX_REPEAT_BLOCKS
        if count > limit:
            self.add_item("repeat_max", "repeat_max", name, node.label, path, count=count, max=limit)
        if node.count is not None:
            result = _eval(node.count, frame.ctx)
            expected = math.nan if is_empty(result) or isinstance(result, list | dict) else to_number(result)
            if math.isfinite(expected):
                expected_n = max(0, min(math.trunc(expected), MAX_REPEAT_BLOCKS))
                if count != expected_n:
                    self.add_item(
                        "repeat_count",
                        "repeat_count",
                        name,
                        node.label,
                        path,
                        count=count,
                        expected=expected_n,
                    )
        if node.scope is None:
            return
        for block in frame.children.get(name, ()):
            if not block.skip:
                self.walk(node.scope.nodes, block)

    # 4. device calculations

    def compare(self, frame: _Frame) -> None:
        for name, device in frame.device_calcs.items():
            f = self.index.fields[name]
            if f.time_dependent or _language_dependent(f):
                continue
            if not _same(frame.values.get(name), device):
                self.add_item("calculation", "calculation", name, f.label, frame.path)
        for blocks in frame.children.values():
            for block in blocks:
                self.compare(block)

    # record-level checks

    def check_attachments(self, attachments: Any) -> None:
        if not isinstance(attachments, list | tuple):
            self.add("attachment_invalid", "attachments_not_list")
            return
        for i, entry in enumerate(attachments[:MAX_ATTACHMENTS], 1):
            sha = entry.get("sha256") if isinstance(entry, dict) else None
            ok_sha = isinstance(sha, str) and len(sha) == 64 and SHA256_RX.fullmatch(sha) is not None
            if ok_sha:
                self.shas.add(str(sha))
            if not (ok_sha and isinstance(entry, dict) and _attachment_ok(entry)):
                self.add("attachment_invalid", "attachment_invalid", instance=f"attachments.{i}", index=i)
        if len(attachments) > MAX_ATTACHMENTS:
            self.add("attachment_invalid", "too_many_attachments", max=MAX_ATTACHMENTS)

    def check_metadata(self, metadata: Any) -> None:
        if metadata is None:
            return
        if not isinstance(metadata, dict):
            self.add("metadata.invalid", "metadata_not_object")
            return
        allowed = ", ".join(sorted(self.index.metadata)) or "-"
        for key, value in metadata.items():
            shown = _cut(str(key), MAX_KEY_SHOWN)
            if key not in self.index.metadata:
                self.add("metadata.unknown", "metadata_unknown", key=shown, allowed=allowed)
                continue
            if value is None:
                continue
            if key in ("start", "end"):
                ok, fr, en = (
                    is_datetime(value),
                    "une date et heure ISO 8601 avec fuseau",
                    "an ISO 8601 datetime",
                )
            elif key == "today":
                ok, fr, en = is_date(value), "une date AAAA-MM-JJ", "a date YYYY-MM-DD"
            else:
                ok, fr, en = (
                    _short_text(value),
                    "un texte de 255 caractères au plus",
                    "a text of 255 characters",
                )
            if not ok:
                self.add("metadata.invalid", "metadata_invalid", key=shown, expected_fr=fr, expected_en=en)

    def check_interview(self, interview: Any) -> None:
        index = self.index
        if index.kind != "interview_guide":
            if interview is not None:
                self.add("interview.not_expected", "interview.not_expected")
            return
        if interview is None:
            self.add("interview.missing", "interview.missing")
            return
        if not isinstance(interview, dict):
            self._interview_invalid("un objet JSON est attendu", "a JSON object is expected")
            return
        extra = [str(k) for k in interview if k not in INTERVIEW_KEYS]
        if extra:
            shown = _cut(", ".join(sorted(extra)), MAX_KEY_SHOWN)
            self._interview_invalid(f"clés inconnues : {shown}", f"unknown keys: {shown}")
        audience = interview.get("audience")
        allowed = ", ".join(index.audiences)
        if isinstance(audience, str) and audience in index.audiences:
            self.audience = audience
        else:
            self.add("interview.audience", "interview.audience", allowed=allowed)
        mode = self._interview_consent(interview.get("consent"))
        recorded = self._interview_recording(interview.get("recording"), mode)
        self._interview_timeline(interview.get("timeline"), recorded)

    def _interview_invalid(self, fr: str, en: str) -> None:
        self.add("interview.invalid", "interview.invalid", what_fr=fr, what_en=en)

    def _consent_problem(self, fr: str, en: str) -> None:
        self.add("interview.consent", "interview.consent", what_fr=fr, what_en=en)

    def _interview_consent(self, consent: Any) -> str | None:
        if not isinstance(consent, dict):
            self._consent_problem(
                "le consentement recueilli doit être décrit (mode, date, personne qui l'a recueilli)",
                "the consent collected must be described (mode, date, who collected it)",
            )
            return None
        extra = [str(k) for k in consent if k not in CONSENT_KEYS]
        if extra:
            shown = _cut(", ".join(sorted(extra)), MAX_KEY_SHOWN)
            self._consent_problem(f"clés inconnues : {shown}", f"unknown keys: {shown}")
        mode = consent.get("mode")
        if mode not in ("recording", "notes_only"):
            self._consent_problem(
                "le mode doit être « recording » ou « notes_only »",
                'mode must be "recording" or "notes_only"',
            )
            mode = None
        elif mode == "recording" and self.index.consent_mode != "recording_allowed":
            self.add("interview.recording_not_allowed", "interview.recording_not_allowed")
        if not is_datetime(consent.get("given_at")):
            self._consent_problem(
                "given_at doit être une date et heure ISO 8601 avec fuseau",
                "given_at must be an ISO 8601 datetime with an offset",
            )
        collected_by = consent.get("collected_by")
        if not (_short_text(collected_by) and isinstance(collected_by, str) and collected_by.strip()):
            self._consent_problem(
                "collected_by (qui a recueilli le consentement) doit être un texte de 255 caractères au plus",
                "collected_by (who collected the consent) must be a text of at most 255 characters",
            )
        notes = consent.get("refusal_notes")
        if notes is not None:
            if not (isinstance(notes, str) and len(notes) <= MAX_NOTES and "\x00" not in notes):
                self._consent_problem(
                    f"refusal_notes doit être un texte de {MAX_NOTES} caractères au plus",
                    f"refusal_notes must be a text of at most {MAX_NOTES} characters",
                )
            elif notes and mode != "notes_only":
                self._consent_problem(
                    "refusal_notes n'a de sens qu'en mode notes_only (enregistrement refusé)",
                    "refusal_notes only makes sense in notes_only mode (recording refused)",
                )
        return mode if isinstance(mode, str) else None

    def _interview_recording(self, recording: Any, mode: str | None) -> bool:
        if recording is None:
            return False
        if not isinstance(recording, dict):
            self.add(
                "interview.recording",
                "interview.recording",
                what_fr="un objet {sha256, started_at} ou null est attendu",
                what_en="an object {sha256, started_at} or null is expected",
            )
            return True  # the device says there is one: its offsets are expected
        if mode != "recording":
            self.add(
                "interview.recording",
                "interview.recording",
                what_fr="un enregistrement demande le consentement en mode « recording »",
                what_en='a recording needs consent in "recording" mode',
            )
        extra = [str(k) for k in recording if k not in RECORDING_KEYS]
        sha = recording.get("sha256")
        if extra or not (isinstance(sha, str) and len(sha) == 64 and SHA256_RX.fullmatch(sha)):
            self.add(
                "interview.recording",
                "interview.recording",
                what_fr="sha256 (64 caractères hexadécimaux) et started_at seulement",
                what_en="sha256 (64 hexadecimal characters) and started_at only",
            )
        elif sha not in self.shas:
            self.add("attachment_missing_ref", "interview.recording_missing_ref")
        if not is_datetime(recording.get("started_at")):
            self.add(
                "interview.recording",
                "interview.recording",
                what_fr="started_at doit être une date et heure ISO 8601 avec fuseau",
                what_en="started_at must be an ISO 8601 datetime with an offset",
            )
        return True

    def _interview_timeline(self, timeline: Any, recorded: bool) -> None:
        if timeline is None:
            return
        if not isinstance(timeline, list):
            self._interview_invalid("timeline doit être une liste", "timeline must be a list")
            return
        if len(timeline) > MAX_TIMELINE:
            self._interview_invalid(
                f"plus de {MAX_TIMELINE} passages dans le déroulé",
                f"more than {MAX_TIMELINE} timeline entries",
            )
        themes = self.index.themes
        for i, entry in enumerate(timeline[:MAX_TIMELINE], 1):
            where = f"timeline.{i}"
            if not isinstance(entry, dict) or not entry.keys() <= TIMELINE_KEYS:
                keys = "{theme, start, end, recording_start, recording_end}"
                self.add(
                    "interview.invalid",
                    "interview.invalid",
                    instance=where,
                    what_fr=f"le passage n° {i} doit être un objet {keys}",
                    what_en=f"entry #{i} must be an object {keys}",
                )
                continue
            theme = entry.get("theme")
            item = theme if isinstance(theme, str) and theme in themes else None
            if item is None:
                shown = _cut(str(theme), MAX_KEY_SHOWN)
                self.add(
                    "interview.theme",
                    "interview.theme",
                    instance=where,
                    what_fr=f"le thème « {shown} » n'est pas dans le guide",
                    what_en=f'the theme "{shown}" is not in the guide',
                )
            elif self.audience is not None and self.audience not in themes[item]:
                self.add(
                    "interview.theme",
                    "interview.theme",
                    instance=where,
                    item=item,
                    what_fr=f"le thème « {item} » n'est pas proposé au public « {self.audience} »",
                    what_en=f'the theme "{item}" is not offered to the audience "{self.audience}"',
                )
            if not _span_ok(entry.get("start"), entry.get("end")):
                self.add("interview.offsets", "interview.offsets", instance=where, item=item)
            rec_start, rec_end = entry.get("recording_start"), entry.get("recording_end")
            if recorded and not _span_ok(rec_start, rec_end):
                self.add(
                    "interview.recording_offsets",
                    "interview.recording_offsets",
                    instance=where,
                    item=item,
                    what_fr="recording_start et recording_end (secondes depuis le début de l'enregistrement) "
                    "doivent être des nombres positifs, la fin après le début",
                    what_en="recording_start and recording_end (seconds from the recording start) must be "
                    "non-negative numbers, the end after the start",
                )
            elif not recorded and (rec_start is not None or rec_end is not None):
                self.add(
                    "interview.recording_offsets",
                    "interview.recording_offsets",
                    instance=where,
                    item=item,
                    what_fr="recording_start et recording_end doivent être null sans enregistrement",
                    what_en="recording_start and recording_end must be null without a recording",
                )

    # the whole record

    def run(
        self, answers: Any, attachments: Any, metadata: Any, interview: Any, *, record_checks: bool
    ) -> _Frame | None:
        if record_checks:
            self.check_attachments(attachments)
            self.check_metadata(metadata)
            self.check_interview(interview)
        elif self.index.kind == "interview_guide" and isinstance(interview, dict):
            audience = interview.get("audience")
            if isinstance(audience, str) and audience in self.index.audiences:
                self.audience = audience
        if not isinstance(answers, dict):
            self.add("type", "answers_not_object")
            return None
        root = self.load(self.index.root, answers, None, "", None)
        self.root = root
        self.calculate(skip_nonrel=False)
        self.walk(self.index.root.nodes, root)
        if self.changed:
            self.calculate(skip_nonrel=True)
        self.compare(root)
        return root


def _attachment_ok(entry: dict[str, Any]) -> bool:
    media_type, size, item = entry.get("media_type"), entry.get("size"), entry.get("item")
    return (
        isinstance(media_type, str)
        and 0 < len(media_type) <= 100
        and "\x00" not in media_type
        and isinstance(size, int)
        and not isinstance(size, bool)
        and 0 <= size <= 2**53
        and (item is None or (isinstance(item, str) and 0 < len(item) <= 64))
    )


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_SHORT and "\x00" not in value


def _span_ok(start: Any, end: Any) -> bool:
    a, b = finite_number(start), finite_number(end)
    return a is not None and b is not None and 0 <= a <= b


def _plain_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_SHORT and "\x00" not in value
    return isinstance(value, bool) or finite_number(value) is not None


def _same(server: Any, device: Any) -> bool:
    """Whether the device's calculated value is the server's (numbers within 1e-9 relative)."""
    if server == device and type(server) is type(device):
        return True  # the usual case, decided at once
    if is_empty(server) or is_empty(device):
        return is_empty(server) and is_empty(device)
    if isinstance(device, dict) or isinstance(server, dict):
        return isinstance(device, dict) and isinstance(server, dict) and device == server
    if isinstance(device, list):
        if len(device) > MAX_REPEAT_BLOCKS or not all(_plain_scalar(v) or v is None for v in device):
            return False
        return isinstance(server, list) and to_string(server) == to_string(device)
    if isinstance(server, bool):
        if isinstance(device, str):
            return device == ("true" if server else "false")
        return finite_number(device) == float(server) or device is server
    s_num = finite_number(server)
    d_num = finite_number(device) if not isinstance(device, str) else _str_number(device)
    if s_num is not None and d_num is not None:
        return math.isclose(s_num, d_num, rel_tol=1e-9, abs_tol=1e-12)
    if not isinstance(device, str | int | float) or isinstance(device, bool):
        return False
    if to_string(server) == to_string(device):
        return True
    # the same instant written differently
    if (
        isinstance(server, str)
        and isinstance(device, str)
        and temporal_kind(server)
        and temporal_kind(device)
    ):
        return to_number(server) == to_number(device)
    return False


def _str_number(text: str) -> float | None:
    if len(text) > 40:
        return None
    x = to_number(text)
    return x if math.isfinite(x) and temporal_kind(text) is None else None


# --- output -------------------------------------------------------------------------------------------


def _output(frame: _Frame) -> dict[str, Any]:
    """The device's answers with the server's calculations (an empty one is removed)."""
    raw: dict[str, Any] = frame.raw if isinstance(frame.raw, dict) else {}
    out = dict(raw)
    for name in frame.scope.calcs:
        value = frame.values.get(name)
        if is_empty(value):
            out.pop(name, None)
        else:
            out[name] = value
    for name, blocks in frame.children.items():
        original = raw.get(name)
        if not isinstance(original, list) or not blocks:
            continue
        new = list(original)
        for i, block in enumerate(blocks):
            if not block.skip:
                new[i] = _output(block)
        out[name] = new
    return out


# --- public API ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedResponse:
    problems: list[Problem]
    answers: dict[str, Any]


def check_response(
    compiled: SpecIndex | Mapping[str, Any],
    answers: Any,
    *,
    attachments: Any = (),
    metadata: Any = None,
    interview: Any = None,
    today: date | None = None,
) -> CheckedResponse:
    """Both :func:`validate_response` and :func:`computed_answers` in one pass."""
    index = index_for(compiled)
    run = _Run(index, today, collect=True)
    try:
        root = run.run(answers, attachments, metadata, interview, record_checks=True)
    except _Stop:
        # the problem list is full: the calculations still need a complete pass
        return CheckedResponse(
            run.problems, computed_answers(index, answers, today=today, interview=interview)
        )
    return CheckedResponse(run.problems, _output(root) if root is not None else {})


def validate_response(
    compiled: SpecIndex | Mapping[str, Any],
    answers: Any,
    *,
    attachments: Any = (),
    metadata: Any = None,
    interview: Any = None,
    today: date | None = None,
) -> list[Problem]:
    """The problems of a record (empty: valid). ``compiled`` is the stored compiled spec or its index;
    ``today`` is the date today()/now() see (default: the latest date on Earth, see ``_now``)."""
    index = index_for(compiled)
    run = _Run(index, today, collect=True)
    with contextlib.suppress(_Stop):  # the list then ends with too_many_problems
        run.run(answers, attachments, metadata, interview, record_checks=True)
    return run.problems


def computed_answers(
    compiled: SpecIndex | Mapping[str, Any],
    answers: Any,
    *,
    today: date | None = None,
    interview: Any = None,
) -> dict[str, Any]:
    """The answers with the server's calculations filled in (same shape; an empty calculation is
    removed). ``interview`` (optional) gives the audience of a guide's record: themes not offered to it
    do not apply. A non-object ``answers`` gives {}."""
    index = index_for(compiled)
    run = _Run(index, today, collect=False)
    root = run.run(answers, (), None, interview, record_checks=False)
    return _output(root) if root is not None else {}
