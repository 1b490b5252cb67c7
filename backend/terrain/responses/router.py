"""The coordinator's endpoints on collected records (docs/review-api.md). Thin: the work is in
:mod:`terrain.responses.review`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from terrain.auth.deps import CurrentPrincipal, SessionDep, client_ip
from terrain.errors import error_responses
from terrain.limits import MAX_ID, NO_NUL, optional_id_query
from terrain.responses import review as service
from terrain.responses.review import (
    DEFAULT_PAGE,
    MAX_COMMENT,
    MAX_PAGE,
    NOT_REVIEWED,
    ResponseDetail,
    ResponsePage,
    ResponseSummary,
)
from terrain.specs.router import caller_language
from terrain.sync.schemas import SITE_CODE, SPEC_NAME, UUID_TEXT

router = APIRouter(prefix="/api/v1/responses", tags=["responses"])

RecordId = Annotated[str, Path(pattern=UUID_TEXT, description="UUID de la fiche / record UUID")]

_ISO_START = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_only(value: Any) -> Any:
    # Pydantic would also read "0.5" as a Unix time: only ISO 8601 dates and date-times are bounds here.
    if isinstance(value, str) and not _ISO_START.match(value):
        raise ValueError("an ISO 8601 date (YYYY-MM-DD) or date-time is expected")
    return value


Instant = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]
Comment = Annotated[
    str | None,
    Field(
        max_length=MAX_COMMENT,
        pattern=NO_NUL,
        description="Commentaire du coordinateur, vu par l'enquêteur au prochain pull",
    ),
]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["reviewed", "approved", "rejected"] = Field(
        description="reviewed : vue ; approved : validée ; rejected : refusée (dire pourquoi en commentaire)"
    )
    comment: Comment = None


class ResolveChoose(BaseModel):
    """Keep one of the received revisions (its ``id`` in the record's ``revisions``)."""

    model_config = ConfigDict(extra="forbid")

    revision_id: int = Field(ge=1, le=MAX_ID, description="`id` d'une des `revisions` de la fiche")
    comment: Comment = None


class ResolveMerge(BaseModel):
    """Keep the current content with these answers (a merge written by the coordinator)."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(
        description="Toutes les réponses de la fiche, telles qu'elles doivent être"
    )
    comment: Comment = None


@router.get(
    "",
    response_model=ResponsePage,
    summary="Lister les fiches recueillies (sans leurs réponses)",
    description="Les plus récentes d'abord, par pages (au plus 200) : tant que `next_cursor` n'est pas nul, "
    "rappeler avec `cursor` et les mêmes filtres. Admins : toutes ; coordinateurs : celles de leurs sites ; "
    "enquêteurs : les leurs (quel que soit le site) ; observateurs : refusé. `since`/`until` portent sur la "
    "réception (ISO 8601 ; sans fuseau : UTC ; `since` inclus, `until` exclu). `review=none` : pas encore "
    "revues.",
    responses=error_responses(401, 403, 422),
)
def list_responses(
    principal: CurrentPrincipal,
    session: SessionDep,
    spec: str | None = Query(default=None, pattern=SPEC_NAME, description="Nom de la spécification"),
    version: int | None = optional_id_query("Version de la spécification / spec version"),
    site: str | None = Query(default=None, pattern=SITE_CODE, description="Code du site / site code"),
    author: int | None = optional_id_query("Identifiant de l'enquêteur / author id"),
    status: Literal["accepted", "needs_review", "conflict"] | None = Query(default=None),
    review: Literal["reviewed", "approved", "rejected", "none"] | None = Query(
        default=None, description="Décision ; `none` : pas encore revue"
    ),
    since: Instant | None = Query(default=None, description="Reçues à partir de / received from"),
    until: Instant | None = Query(default=None, description="Reçues avant / received before"),
    cursor: str | None = Query(default=None, pattern=service.CURSOR_PATTERN, max_length=16),
    limit: int = Query(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE),
) -> ResponsePage:
    filters = service.ListFilter(
        spec=spec,
        version=version,
        site=site,
        author=author,
        status=status,
        review=NOT_REVIEWED if review == "none" else review,
        since=since,
        until=until,
    )
    return service.list_responses(filters, session=session, actor=principal, cursor=cursor, limit=limit)


@router.get(
    "/{uuid}",
    response_model=ResponseDetail,
    summary="Une fiche en entier : réponses libellées, entretien, pièces jointes, problèmes, historique",
    description="Les questions dans l'ordre de la spécification avec leur libellé dans la langue `lang` (par "
    "défaut celle de l'appelant), les groupes en sections, les répétitions en listes de blocs ; les "
    "versions en conflit avec leurs réponses, pour comparer. Une fiche que l'appelant ne peut pas voir "
    "répond 404 `response.not_found`. Chaque consultation est journalisée (`response.viewed`).",
    responses=error_responses(401, 403, 404, 422),
)
def get_response(
    uuid: RecordId,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    lang: Literal["fr", "en"] | None = Query(default=None, description="Langue des libellés / language"),
) -> ResponseDetail:
    return service.response_detail(
        uuid,
        session=session,
        actor=principal,
        lang=lang or caller_language(request, principal),
        ip=client_ip(request),
    )


@router.post(
    "/{uuid}/review",
    response_model=ResponseSummary,
    summary="Donner une décision sur une fiche (coordinateur du site, admin)",
    description="`reviewed`, `approved` ou `rejected`, avec un commentaire facultatif (2000 caractères au "
    "plus). L'enquêteur la voit à son prochain pull. Une fiche en conflit se résout d'abord : 409 "
    "`response.conflict_unresolved`.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def review_response(
    uuid: RecordId, body: ReviewIn, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> ResponseSummary:
    row = service.review(
        uuid, body.decision, body.comment, session=session, actor=principal, ip=client_ip(request)
    )
    return service.summaries([row], session=session)[0]


@router.post(
    "/{uuid}/resolve",
    response_model=ResponseSummary,
    summary="Résoudre le conflit d'une fiche : choisir une version reçue ou écrire la fusion",
    description="`{revision_id}` (une des `revisions` de la fiche) ou `{answers}` (le contenu actuel avec "
    "ces réponses). Le contenu retenu devient une nouvelle révision (la plus haute reçue + 1), validée à "
    "nouveau ; les versions en conflit sont levées ; la fiche est marquée revue (`reviewed`, avec le "
    "commentaire). L'appareil voit le nouveau numéro de révision à son prochain pull. 409 "
    "`response.not_in_conflict` si la fiche n'est pas en conflit.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def resolve_conflict(
    uuid: RecordId,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: Annotated[ResolveChoose | ResolveMerge, Body()],
) -> ResponseSummary:
    row = service.resolve(
        uuid,
        session=session,
        actor=principal,
        revision_id=body.revision_id if isinstance(body, ResolveChoose) else None,
        answers=body.answers if isinstance(body, ResolveMerge) else None,
        comment=body.comment,
        ip=client_ip(request),
    )
    return service.summaries([row], session=session)[0]
