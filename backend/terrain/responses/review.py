"""The coordinator's side of collection: list records, read one in full, give a review decision, resolve
a conflict (docs/review-api.md).

Who sees which record (one rule for the list and the detail, :func:`visibility`): a reviewer
(``RESPONSE_REVIEW``: admins everywhere, coordinators on their sites) sees the records of the sites they
review; whoever may collect also sees the records they collected, whatever the site. A viewer sees none
(aggregates come later). A record the caller may not see is ``response.not_found``, never a 403: its
existence is not revealed.

Writes (review, resolve) take the change number last, just before their commit (terrain.sync.service):
the device that collected the record learns the decision, or the resolved revision, on its next pull.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.auth.models import DeviceToken
from terrain.db import utcnow
from terrain.errors import TerrainError
from terrain.principals import Principal
from terrain.responses import service as responses
from terrain.responses.models import Response, ResponseRevision, ResponseStatus, ReviewDecision
from terrain.responses.validation import check_response, computed_answers
from terrain.responses.values import MAX_BLOCKS, MAX_REPEAT_BLOCKS, SHA256_RX, finite_number
from terrain.responses.values import flatten_answers as flatten
from terrain.sites.models import Site
from terrain.specs.models import Spec, SpecSite, SpecVersion
from terrain.sync import service as sync
from terrain.users.models import User

MAX_PAGE = 200
DEFAULT_PAGE = 50
MAX_COMMENT = 2000
CURSOR = re.compile(r"^r1\.([1-9][0-9]{0,9})$")
CURSOR_PATTERN = CURSOR.pattern
# "review=none": records nobody has reviewed yet.
NOT_REVIEWED = "none"
ATTACHMENT_URL = "/api/v1/attachments/{sha256}"
# A conflicting revision lists the answers that differ from the current ones: at most this many names.
MAX_DIFFERS = 200
# Strings looked at when finding the attachments a merge refers to (answers are bounded by the body
# limit anyway; this bounds the walk on any stored shape).
MAX_SCAN = 100_000

Status = Literal["accepted", "needs_review", "conflict"]
Decision = Literal["reviewed", "approved", "rejected"]
Lang = Literal["fr", "en"]


# --- output models (the OpenAPI contract) -------------------------------------------------------------


class PersonOut(BaseModel):
    id: int
    name: str = Field(description="Nom affiché / display name")


class DeviceOut(BaseModel):
    id: int
    name: str = Field(description="Nom de l'appareil donné à la connexion / device label")


class ResponseSummary(BaseModel):
    """One record in a list: who, where, when, in what state; never its answers."""

    uuid: str = Field(description="Identifiant de la fiche (UUID créé par l'appareil)")
    spec: str = Field(description="Nom de la spécification / spec name")
    kind: str
    version: int
    site: str = Field(description="Code du site / site code")
    author: PersonOut | None = Field(description="Qui l'a recueillie (null : compte supprimé)")
    device: DeviceOut | None
    started_at: datetime | None
    finished_at: datetime | None
    received_at: datetime
    updated_at: datetime = Field(description="Dernier changement de contenu / last content change")
    revision: int
    status: Status
    review: Decision | None = Field(description="Décision du coordinateur ; null : pas encore revue")
    review_comment: str | None
    reviewed_at: datetime | None
    problem_count: int = Field(description="Problèmes de validation / validation problems")
    missing_attachment_count: int = Field(description="Pièces jointes pas encore reçues / not yet received")


class ResponsePage(BaseModel):
    items: list[ResponseSummary]
    next_cursor: str | None = Field(
        description="À renvoyer dans `cursor` pour la page suivante (mêmes filtres) ; null : dernière page"
    )


class ChoiceOut(BaseModel):
    value: str | int | float
    label: str


class ItemOut(BaseModel):
    """An item of the spec with its answer. A group (or a matrix, or a guide's theme) has ``items``; a
    repeat has ``instances`` (one list of items per block)."""

    name: str
    type: str
    label: str
    sensitive: bool = False
    answer: Any = Field(default=None, description="La réponse telle que stockée (calculs du serveur)")
    choices: list[ChoiceOut] | None = Field(
        default=None, description="Choix retenus avec leur libellé (questions à choix) / chosen options"
    )
    items: list[ItemOut] | None = None
    instances: list[list[ItemOut]] | None = None


class AttachmentOut(BaseModel):
    sha256: str
    item: str | None
    media_type: str | None
    size: int | None
    status: Literal["complete", "missing"]
    url: str = Field(description="Téléchargement / download")


class ProblemOut(BaseModel):
    code: str
    item: str | None
    instance: str
    message: str


class TimelineOut(BaseModel):
    theme: str | None
    title: str | None = Field(description="Titre du thème dans la langue choisie / theme title")
    start: float | None = Field(description="Secondes depuis le début de l'entretien")
    end: float | None
    recording_start: float | None
    recording_end: float | None


class InterviewOut(BaseModel):
    audience: str | None
    audience_label: str | None
    consent: dict[str, Any] | None
    recording: AttachmentOut | None
    timeline: list[TimelineOut]


class RevisionOut(BaseModel):
    id: int = Field(description="À donner dans `revision_id` pour choisir cette version (résolution)")
    revision: int
    base_revision: int | None
    origin: Literal["pushed", "resolved"]
    conflict: bool = Field(description="En attente d'une résolution / waiting for a resolution")
    current: bool = Field(description="Le contenu actuel de la fiche / the record's current content")
    received_at: datetime
    author: PersonOut | None
    device: DeviceOut | None
    problem_count: int
    answers: dict[str, Any] | None = Field(
        description="Réponses de cette version (versions en conflit seulement, pour comparer)"
    )
    differs: list[str] | None = Field(
        description="Réponses qui diffèrent de la version actuelle (versions en conflit seulement)"
    )


class ResponseDetail(ResponseSummary):
    lang: Lang = Field(description="Langue des libellés et des messages / language of labels and messages")
    title: str = Field(description="Titre de la spécification / spec title")
    base_revision: int | None
    reviewed_by: PersonOut | None
    metadata: dict[str, Any]
    items: list[ItemOut]
    interview: InterviewOut | None
    attachments: list[AttachmentOut]
    problems: list[ProblemOut]
    revisions: list[RevisionOut]


# --- visibility ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """Which records an actor sees: ``sites`` None means every site; ``author`` adds the actor's own."""

    sites: frozenset[int] | None
    author: int | None

    def clause(self) -> sa.ColumnElement[bool] | None:
        """A WHERE clause (None: no restriction)."""
        if self.sites is None:
            return None
        parts: list[sa.ColumnElement[bool]] = []
        if self.sites:
            parts.append(col(Response.site_id).in_(sorted(self.sites)))
        if self.author is not None:
            parts.append(col(Response.author_id) == self.author)
        return sa.or_(*parts) if parts else sa.false()

    def sees(self, row: Response) -> bool:
        if self.sites is None or row.site_id in self.sites:
            return True
        return self.author is not None and row.author_id == self.author


def visibility(actor: Principal) -> Visibility:
    """What ``actor`` may read; ``auth.forbidden`` for a role that reads no record (viewer)."""
    collects = authz.can_attempt(actor, Action.RESPONSE_COLLECT)
    if not collects:
        authz.require(actor, Action.RESPONSE_REVIEW)
    return Visibility(
        sites=authz.visible_site_ids(actor, Action.RESPONSE_REVIEW),
        author=actor.id if collects and actor.id is not None else None,
    )


def get_visible(uuid: str, *, session: Session, actor: Principal, for_update: bool = False) -> Response:
    """The record ``uuid`` if ``actor`` may see it, else ``response.not_found`` (even when it exists)."""
    seen = visibility(actor)
    row = responses.get_by_uuid(uuid.lower(), session=session, for_update=for_update)
    if row is None or not seen.sees(row):
        raise TerrainError("response.not_found", id=uuid.lower())
    return row


# --- list ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilter:
    spec: str | None = None
    version: int | None = None
    site: str | None = None
    author: int | None = None
    status: str | None = None
    review: str | None = None  # a decision, or NOT_REVIEWED
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received before


def parse_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    match = CURSOR.match(cursor)
    if match is None:  # the router's pattern refuses it before
        raise TerrainError("request.invalid", details={"errors": [{"loc": ["query", "cursor"]}]})
    return int(match.group(1))


def format_cursor(row_id: int) -> str:
    return f"r1.{row_id}"


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (a naive one is read as UTC); instants beyond year 1..9999 in UTC are
    clamped, so that any ISO date-time the schema accepts is a valid bound."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if value.year > 1 else datetime.min.replace(tzinfo=UTC)


def list_responses(
    filters: ListFilter,
    *,
    session: Session,
    actor: Principal,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> ResponsePage:
    """A page of the records ``actor`` sees, newest first (by id: stable, so pages neither repeat nor
    skip a record while new ones arrive; those appear on the first page)."""
    seen = visibility(actor)
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Response)
    clause = seen.clause()
    if clause is not None:
        query = query.where(clause)
    if filters.spec is not None:
        spec_id = session.exec(select(Spec.id).where(Spec.name == filters.spec)).first()
        if spec_id is None:
            return ResponsePage(items=[], next_cursor=None)
        query = query.where(col(Response.spec_id) == spec_id)
    if filters.version is not None:
        query = query.where(col(Response.version) == filters.version)
    if filters.site is not None:
        site_id = session.exec(select(Site.id).where(Site.code == filters.site)).first()
        if site_id is None:
            return ResponsePage(items=[], next_cursor=None)
        query = query.where(col(Response.site_id) == site_id)
    if filters.author is not None:
        query = query.where(col(Response.author_id) == filters.author)
    if filters.status is not None:
        query = query.where(col(Response.status) == filters.status)
    if filters.review == NOT_REVIEWED:
        query = query.where(col(Response.review).is_(None))
    elif filters.review is not None:
        query = query.where(col(Response.review) == filters.review)
    if filters.since is not None:
        query = query.where(col(Response.received_at) >= as_utc(filters.since))
    if filters.until is not None:
        query = query.where(col(Response.received_at) < as_utc(filters.until))
    after = parse_cursor(cursor)
    if after is not None:
        query = query.where(col(Response.id) < after)
    rows = list(session.exec(query.order_by(col(Response.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    last_id = rows[-1].id if rows and more else None
    return ResponsePage(
        items=summaries(rows, session=session),
        next_cursor=format_cursor(last_id) if last_id is not None else None,
    )


class _Names:
    """Names of the specs, sites, users and devices some records refer to, read in a few queries."""

    def __init__(
        self,
        *,
        session: Session,
        spec_ids: Iterable[int] = (),
        site_ids: Iterable[int | None] = (),
        user_ids: Iterable[int | None] = (),
        device_ids: Iterable[int | None] = (),
    ) -> None:
        self.specs = _lookup(session, Spec.id, Spec.name, spec_ids)
        self.sites = _lookup(session, Site.id, Site.code, site_ids)
        self.users = _lookup(session, User.id, User.display_name, user_ids)
        self.devices = _lookup(session, DeviceToken.id, DeviceToken.name, device_ids)

    def person(self, user_id: int | None) -> PersonOut | None:
        if user_id is None or user_id not in self.users:
            return None
        return PersonOut(id=user_id, name=self.users[user_id])

    def device(self, device_id: int | None) -> DeviceOut | None:
        if device_id is None or device_id not in self.devices:
            return None
        return DeviceOut(id=device_id, name=self.devices[device_id])


def _lookup(session: Session, key: Any, value: Any, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {int(k): str(v) for k, v in session.exec(select(key, value).where(key.in_(wanted))).all()}


def _names_for(rows: Sequence[Response], *, session: Session) -> _Names:
    return _Names(
        session=session,
        spec_ids=[row.spec_id for row in rows],
        site_ids=[row.site_id for row in rows],
        user_ids=[row.author_id for row in rows],
        device_ids=[row.device_token_id for row in rows],
    )


def _summary(row: Response, names: _Names, missing: Mapping[int, list[str]]) -> dict[str, Any]:
    assert row.id is not None
    return {
        "uuid": row.uuid,
        "spec": names.specs.get(row.spec_id, ""),
        "kind": row.kind,
        "version": row.version,
        "site": names.sites.get(row.site_id, ""),
        "author": names.person(row.author_id),
        "device": names.device(row.device_token_id),
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "received_at": row.received_at,
        "updated_at": row.updated_at,
        "revision": row.revision,
        "status": row.status,
        "review": row.review,
        "review_comment": row.review_comment,
        "reviewed_at": row.reviewed_at,
        "problem_count": len(row.problems),
        "missing_attachment_count": len(missing.get(row.id, [])),
    }


def summaries(rows: Sequence[Response], *, session: Session) -> list[ResponseSummary]:
    names = _names_for(rows, session=session)
    missing = responses.missing_attachments(rows, session=session)
    return [ResponseSummary(**_summary(row, names, missing)) for row in rows]


# --- detail -------------------------------------------------------------------------------------------


def _text(label: Any, lang: str, fallback: str) -> str:
    if isinstance(label, str):
        return label
    if isinstance(label, dict):
        for key in (lang, "fr"):
            value = label.get(key)
            if isinstance(value, str):
                return value
    return fallback


CHOICE_TYPES = frozenset({"single_choice", "yes_no", "likert", "multiple_choice", "ranking"})
LIST_TYPES = frozenset({"multiple_choice", "ranking"})
NOTES_LABEL = {"fr": "Notes", "en": "Notes"}
COVERED_LABEL = {"fr": "Thème abordé", "en": "Theme covered"}


class _Render:
    """Turns a compiled spec and a record's answers into the nested item view, in one language."""

    def __init__(self, compiled: Mapping[str, Any], lang: str) -> None:
        self.lang = lang
        self.compiled = compiled
        lists = compiled.get("choice_lists")
        self.lists: dict[str, dict[str, str]] = {}
        for name, choices in lists.items() if isinstance(lists, dict) else ():
            labels: dict[str, str] = {}
            for choice in choices if isinstance(choices, list) else ():
                if isinstance(choice, dict) and "value" in choice:
                    value = str(choice["value"])
                    labels[value] = _text(choice.get("label"), lang, value)
            self.lists[str(name)] = labels
        self.blocks = MAX_BLOCKS

    def label(self, label: Any, fallback: str) -> str:
        return _text(label, self.lang, fallback)

    def choices(self, list_name: Any, type_: str, answer: Any) -> list[ChoiceOut] | None:
        if type_ not in CHOICE_TYPES or answer is None:
            return None
        name = list_name if isinstance(list_name, str) else ("yes_no" if type_ == "yes_no" else "")
        labels = self.lists.get(name, {})
        values = answer if isinstance(answer, list) else [answer]
        out: list[ChoiceOut] = []
        for value in values[:MAX_REPEAT_BLOCKS]:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                continue
            key = str(value)
            out.append(ChoiceOut(value=value, label=labels.get(key, key)))
        return out

    def items(self, items: Any, block: Mapping[str, Any]) -> list[ItemOut]:
        out: list[ItemOut] = []
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            rendered = self.item(item, block)
            if rendered is not None:
                out.append(rendered)
        return out

    def item(self, item: dict[str, Any], block: Mapping[str, Any]) -> ItemOut | None:
        name: str = item["name"]
        type_ = str(item.get("type"))
        label = self.label(item.get("label"), name)
        sensitive = bool(item.get("sensitive"))
        if type_ == "note":
            return None  # display only: no answer
        if type_ == "group":
            return ItemOut(name=name, type=type_, label=label, items=self.items(item.get("items"), block))
        if type_ == "matrix":
            rows = [
                self.value(
                    {**item, "name": row["name"], "label": row.get("label"), "type": "single_choice"}, block
                )
                for row in item.get("rows") or ()
                if isinstance(row, dict) and isinstance(row.get("name"), str)
            ]
            return ItemOut(name=name, type=type_, label=label, sensitive=sensitive, items=rows)
        if type_ == "repeat":
            value = block.get(name)
            instances: list[list[ItemOut]] = []
            for child in value[:MAX_REPEAT_BLOCKS] if isinstance(value, list) else ():
                if self.blocks <= 0:
                    break
                self.blocks -= 1
                instances.append(self.items(item.get("items"), child if isinstance(child, dict) else {}))
            return ItemOut(name=name, type=type_, label=label, instances=instances)
        return self.value(item, block)

    def value(self, item: dict[str, Any], block: Mapping[str, Any]) -> ItemOut:
        name: str = item["name"]
        type_ = str(item.get("type"))
        answer = block.get(name)
        return ItemOut(
            name=name,
            type=type_,
            label=self.label(item.get("label"), name),
            sensitive=bool(item.get("sensitive")),
            answer=answer,
            choices=self.choices(item.get("choice_list"), type_, answer),
        )

    def themes(self, answers: Mapping[str, Any], audience: str | None) -> list[ItemOut]:
        """An interview guide's themes as sections: notes, covered mark, then the theme's own items.
        Themes not offered to the record's audience are left out unless they hold an answer."""
        out: list[ItemOut] = []
        for theme in self.compiled.get("themes") or ():
            if not isinstance(theme, dict) or not isinstance(theme.get("name"), str):
                continue
            name: str = theme["name"]
            audiences = [a for a in theme.get("audiences") or () if isinstance(a, str)]
            answered = f"{name}__notes" in answers or f"{name}__covered" in answers
            if audience is not None and audiences and audience not in audiences and not answered:
                continue
            fields = [
                self.value({"name": f"{name}__notes", "type": "long_text", "label": NOTES_LABEL}, answers)
            ]
            if theme.get("covered", True):
                fields.append(
                    self.value(
                        {"name": f"{name}__covered", "type": "yes_no", "label": COVERED_LABEL}, answers
                    )
                )
            fields.extend(self.items(theme.get("items"), answers))
            out.append(
                ItemOut(name=name, type="theme", label=self.label(theme.get("title"), name), items=fields)
            )
        return out

    def audience_label(self, audience: str | None) -> str | None:
        for entry in self.compiled.get("audiences") or ():
            if isinstance(entry, dict) and entry.get("name") == audience and audience is not None:
                return self.label(entry.get("label"), audience)
        return None

    def theme_title(self, theme: Any) -> str | None:
        if not isinstance(theme, str):
            return None
        for entry in self.compiled.get("themes") or ():
            if isinstance(entry, dict) and entry.get("name") == theme:
                return self.label(entry.get("title"), theme)
        return None


def _attachment(ref: Any, missing: set[str]) -> AttachmentOut | None:
    if not isinstance(ref, dict):
        return None
    sha = ref.get("sha256")
    if not (isinstance(sha, str) and SHA256_RX.fullmatch(sha)):
        return None
    size = ref.get("size")
    return AttachmentOut(
        sha256=sha,
        item=ref.get("item") if isinstance(ref.get("item"), str) else None,
        media_type=ref.get("media_type") if isinstance(ref.get("media_type"), str) else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        status="missing" if sha in missing else "complete",
        url=ATTACHMENT_URL.format(sha256=sha),
    )


def _number(value: Any) -> float | None:
    return finite_number(value) if not isinstance(value, bool) else None


def _interview(row: Response, render: _Render, attachments: list[AttachmentOut]) -> InterviewOut | None:
    data = row.interview
    if not isinstance(data, dict):
        return None
    audience = data.get("audience") if isinstance(data.get("audience"), str) else None
    recording = data.get("recording")
    recorded: AttachmentOut | None = None
    if isinstance(recording, dict):
        sha = recording.get("sha256")
        recorded = next((ref for ref in attachments if ref.sha256 == sha), None)
    timeline = data.get("timeline")
    entries = [
        TimelineOut(
            theme=entry.get("theme") if isinstance(entry.get("theme"), str) else None,
            title=render.theme_title(entry.get("theme")),
            start=_number(entry.get("start")),
            end=_number(entry.get("end")),
            recording_start=_number(entry.get("recording_start")),
            recording_end=_number(entry.get("recording_end")),
        )
        for entry in (timeline if isinstance(timeline, list) else [])[:MAX_REPEAT_BLOCKS]
        if isinstance(entry, dict)
    ]
    consent = data.get("consent")
    return InterviewOut(
        audience=audience,
        audience_label=render.audience_label(audience),
        consent=consent if isinstance(consent, dict) else None,
        recording=recorded,
        timeline=entries,
    )


def _problem(problem: Any, lang: str) -> ProblemOut | None:
    if not isinstance(problem, dict) or not isinstance(problem.get("code"), str):
        return None
    item, instance = problem.get("item"), problem.get("instance")
    return ProblemOut(
        code=problem["code"],
        item=item if isinstance(item, str) else None,
        instance=instance if isinstance(instance, str) else "",
        message=_text(problem.get("message"), lang, problem["code"]),
    )


def _differs(answers: Any, current: Mapping[str, Any]) -> list[str]:
    if not isinstance(answers, dict):
        return []
    keys = sorted(set(answers) | set(current))
    return [key for key in keys if answers.get(key) != current.get(key)][:MAX_DIFFERS]


def _revisions(row: Response, history: list[ResponseRevision], *, session: Session) -> list[RevisionOut]:
    names = _Names(
        session=session,
        user_ids=[entry.author_id for entry in history],
        device_ids=[entry.device_token_id for entry in history],
    )
    out: list[RevisionOut] = []
    for entry in history:
        assert entry.id is not None
        answers = entry.payload.get("answers") if entry.conflict else None
        out.append(
            RevisionOut(
                id=entry.id,
                revision=entry.revision,
                base_revision=entry.base_revision,
                origin="resolved" if entry.origin == "resolved" else "pushed",
                conflict=entry.conflict,
                current=entry.content_hash == row.content_hash,
                received_at=entry.received_at,
                author=names.person(entry.author_id),
                device=names.device(entry.device_token_id),
                problem_count=len(entry.problems),
                answers=answers if isinstance(answers, dict) else None,
                differs=_differs(answers, row.answers) if entry.conflict else None,
            )
        )
    return out


def response_detail(
    uuid: str, *, session: Session, actor: Principal, lang: str, ip: str | None = None
) -> ResponseDetail:
    """One record in full, labelled in ``lang``; audited ``response.viewed`` (who, which record)."""
    row = get_visible(uuid, session=session, actor=actor)
    assert row.id is not None
    version = session.get(SpecVersion, row.spec_version_id)
    spec = session.get(Spec, row.spec_id)
    compiled: Mapping[str, Any] = version.compiled if version is not None else {}
    render = _Render(compiled, lang)
    answers = computed_answers(compiled, row.answers, interview=row.interview) if compiled else {}
    if not answers and isinstance(row.answers, dict):
        answers = row.answers
    names = _names_for([row], session=session)
    reviewer = _Names(session=session, user_ids=[row.reviewed_by]).person(row.reviewed_by)
    missing = responses.missing_attachments([row], session=session)
    missing_set = set(missing.get(row.id, []))
    attachments = [a for a in (_attachment(ref, missing_set) for ref in row.attachments) if a is not None]
    audience = row.interview.get("audience") if isinstance(row.interview, dict) else None
    items = render.items(compiled.get("items"), answers)
    if row.kind == "interview_guide":
        items.extend(render.themes(answers, audience if isinstance(audience, str) else None))
    detail = ResponseDetail(
        **_summary(row, names, missing),
        lang=lang,
        title=render.label(spec.title if spec is not None else None, names.specs.get(row.spec_id, "")),
        base_revision=row.base_revision,
        reviewed_by=reviewer,
        metadata=row.meta if isinstance(row.meta, dict) else {},
        items=items,
        interview=_interview(row, render, attachments),
        attachments=attachments,
        problems=[p for p in (_problem(problem, lang) for problem in row.problems) if p is not None],
        revisions=_revisions(row, responses.revisions(row, session=session), session=session),
    )
    audit.record(
        "response.viewed",
        session=session,
        actor_user_id=actor.id,
        target_type="response",
        target_id=row.uuid,
        details={"revision": row.revision, "site_id": row.site_id},
        ip=ip,
    )
    return detail


# --- review -------------------------------------------------------------------------------------------


def review(
    uuid: str,
    decision: str,
    comment: str | None,
    *,
    session: Session,
    actor: Principal,
    ip: str | None = None,
) -> Response:
    """Record a coordinator's decision on a record (and commit): the device sees it on its next pull."""
    if decision not in ReviewDecision.__members__:
        raise TerrainError("request.invalid", details={"errors": [{"loc": ["body", "decision"]}]})
    if comment is not None and (len(comment) > MAX_COMMENT or "\x00" in comment):
        raise TerrainError("request.invalid", details={"errors": [{"loc": ["body", "comment"]}]})
    sync.begin_write(session=session)
    row = get_visible(uuid, session=session, actor=actor, for_update=True)
    authz.require(actor, Action.RESPONSE_REVIEW, [row.site_id])
    if row.status == ResponseStatus.conflict.value:
        raise TerrainError("response.conflict_unresolved", id=row.uuid)
    previous = row.review
    row.review = decision
    row.review_comment = comment or None
    row.reviewed_by = actor.id
    row.reviewed_at = utcnow()
    audit.record(
        "response.reviewed",
        session=session,
        actor_user_id=actor.id,
        target_type="response",
        target_id=row.uuid,
        # the comment is free text (it may name people): only whether there is one
        details={
            "decision": decision,
            "previous": previous,
            "revision": row.revision,
            "has_comment": bool(comment),
        },
        ip=ip,
    )
    _commit_change(row, session=session)
    return row


def _commit_change(row: Response, *, session: Session) -> None:
    session.add(row)
    session.flush()
    # Last before the commit: the counter row stays locked only for the commit itself.
    row.change_seq = sync.next_change_seq(session=session)
    session.add(row)
    session.commit()


# --- resolve ------------------------------------------------------------------------------------------


def _content(payload: Mapping[str, Any], *, session: Session, answers: Any = None) -> responses.Content:
    """The content a stored revision holds (``answers`` replaced when given)."""
    version = session.get(SpecVersion, payload.get("spec_version_id"))
    if version is None or version.version is None:  # FK RESTRICT: a stored revision's version exists
        raise TerrainError("internal.error")
    spec = session.get(Spec, version.spec_id)
    assert spec is not None and version.id is not None
    return responses.Content(
        spec_id=version.spec_id,
        spec_version_id=version.id,
        version=version.version,
        kind=spec.kind,
        site_id=int(payload["site_id"]),
        answers=dict(answers if answers is not None else payload.get("answers") or {}),
        metadata=dict(payload.get("metadata") or {}),
        interview=payload.get("interview"),
        attachments=list(payload.get("attachments") or []),
        started_at=_instant(payload.get("started_at")),
        finished_at=_instant(payload.get("finished_at")),
    )


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _shas(value: Any) -> set[str]:
    """The SHA-256 strings found in an answer tree (attachment answers), bounded walk."""
    found: set[str] = set()
    stack = [value]
    budget = MAX_SCAN
    while stack and budget > 0:
        budget -= 1
        node = stack.pop()
        if isinstance(node, str):
            if len(node) == 64 and SHA256_RX.fullmatch(node):
                found.add(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _merged_attachments(
    base: list[dict[str, Any]], history: list[ResponseRevision], answers: Any
) -> list[Any]:
    """The current content's attachments, plus those of other revisions that the merged answers use."""
    out = list(base)
    have = {(ref.get("sha256"), ref.get("item")) for ref in base if isinstance(ref, dict)}
    used = _shas(answers)
    for entry in history:
        for ref in entry.payload.get("attachments") or ():
            if not isinstance(ref, dict) or ref.get("sha256") not in used:
                continue
            key = (ref.get("sha256"), ref.get("item"))
            if key not in have:
                have.add(key)
                out.append(ref)
    return out


def resolve(
    uuid: str,
    *,
    session: Session,
    actor: Principal,
    revision_id: int | None = None,
    answers: dict[str, Any] | None = None,
    comment: str | None = None,
    ip: str | None = None,
) -> Response:
    """End a conflict (and commit): the chosen revision (``revision_id``), or the current content with the
    coordinator's merged ``answers``, becomes the record's new current revision — number: the highest
    received + 1, base: the revision that was current, origin "resolved" — validated again, every
    conflicting revision cleared, values rewritten. The resolution counts as a review ("reviewed", with
    ``comment``), which the device sees on its next pull with the new revision number."""
    if (revision_id is None) == (answers is None):
        raise TerrainError("request.invalid", details={"errors": [{"msg": "revision_id or answers"}]})
    if comment is not None and (len(comment) > MAX_COMMENT or "\x00" in comment):
        raise TerrainError("request.invalid", details={"errors": [{"loc": ["body", "comment"]}]})
    sync.begin_write(session=session)
    row = get_visible(uuid, session=session, actor=actor, for_update=True)
    assert row.id is not None
    authz.require(actor, Action.RESPONSE_REVIEW, [row.site_id])
    if row.status != ResponseStatus.conflict.value:
        raise TerrainError("response.not_in_conflict", id=row.uuid, status=row.status)
    history = responses.revisions(row, session=session)
    current = next((entry for entry in history if entry.content_hash == row.content_hash), None)
    base_payload = current.payload if current is not None else _row_payload(row)
    chosen: ResponseRevision | None = None
    if revision_id is not None:
        chosen = next((entry for entry in history if entry.id == revision_id), None)
        if chosen is None:
            raise TerrainError("response.revision_not_found", id=row.uuid, revision_id=revision_id)
        content = _content(chosen.payload, session=session)
    else:
        content = _content(base_payload, session=session, answers=answers)
        content.attachments = _merged_attachments(content.attachments, history, answers)
    # The chosen content may come from another site: the coordinator must review that one too.
    authz.require(actor, Action.RESPONSE_REVIEW, [content.site_id])

    version = session.get(SpecVersion, content.spec_version_id)
    assert version is not None
    compiled = version.compiled
    checked = check_response(
        compiled,
        content.answers,
        attachments=content.attachments,
        metadata=content.metadata,
        interview=content.interview,
    )
    problems = [problem.as_dict() for problem in checked.problems]
    assigned = session.exec(
        select(SpecSite).where(SpecSite.spec_id == content.spec_id, SpecSite.site_id == content.site_id)
    ).first()
    if assigned is None:
        site = session.get(Site, content.site_id)
        spec = session.get(Spec, content.spec_id)
        problems.append(responses.site_problem(spec.name if spec else "?", site.code if site else "?"))
    pending = [entry for entry in history if entry.conflict]
    number = max([entry.revision for entry in history] + [row.revision]) + 1
    base = row.revision
    now = utcnow()
    responses.revise(
        row,
        content,
        session=session,
        revision=number,
        base_revision=base,
        problems=problems,
        values=flatten(compiled, checked.answers),
        author_id=actor.id,
        device_token_id=None,
        origin="resolved",
        now=now,
    )
    for entry in pending:
        entry.conflict = False
        session.add(entry)
    row.review = ReviewDecision.reviewed.value
    row.review_comment = comment or None
    row.reviewed_by = actor.id
    row.reviewed_at = now
    audit.record(
        "response.conflict_resolved",
        session=session,
        actor_user_id=actor.id,
        target_type="response",
        target_id=row.uuid,
        details={
            "how": "chosen" if chosen is not None else "merged",
            "chosen_revision": chosen.revision if chosen is not None else None,
            "chosen_revision_id": chosen.id if chosen is not None else None,
            "revision": number,
            "base_revision": base,
            "status": row.status,
            "problem_count": len(problems),
            "conflicts_cleared": len(pending),
            "has_comment": bool(comment),
        },
        ip=ip,
    )
    _commit_change(row, session=session)
    return row


def _row_payload(row: Response) -> dict[str, Any]:
    """The current content as a revision payload (when its revision row cannot be found)."""
    return responses.Content(
        spec_id=row.spec_id,
        spec_version_id=row.spec_version_id,
        version=row.version,
        kind=row.kind,
        site_id=row.site_id,
        answers=row.answers,
        metadata=row.meta,
        interview=row.interview,
        attachments=row.attachments,
        started_at=row.started_at,
        finished_at=row.finished_at,
    ).payload()


__all__ = [
    "MAX_PAGE",
    "ListFilter",
    "ResponseDetail",
    "ResponsePage",
    "ResponseSummary",
    "Visibility",
    "get_visible",
    "list_responses",
    "resolve",
    "response_detail",
    "review",
    "summaries",
    "visibility",
]
