"""The device sync endpoints (docs/sync-protocol.md). Thin: the work is in terrain.flows."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from terrain.auth.deps import CurrentPrincipal, SessionDep, SettingsDep, client_ip
from terrain.errors import error_responses
from terrain.flows import sync_pull, sync_push
from terrain.specs.router import caller_language
from terrain.sync.schemas import PullOut, PushIn, PushOut

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


@router.post(
    "/push",
    response_model=PushOut,
    summary="Envoyer un lot de fiches (idempotent)",
    description="Au plus 500 fiches et 5 Mo par lot (413 au-delà). Une réponse par fiche, dans l'ordre : "
    "`created`, `duplicate` (même id, même contenu : un renvoi sans effet), `revised` (nouvelle révision "
    "d'une fiche de ce compte), `conflict` (même id, autre contenu sans la bonne révision de base : les deux "
    "sont gardés pour un coordinateur), `needs_review` (enregistrée, mais la validation a relevé des "
    "problèmes, listés) ou `rejected` (non enregistrée : `code` et `message` ; la fiche reste sur "
    "l'appareil). Tout le lot est écrit en une transaction. Avec `batch_id`, un lot renvoyé reçoit la même "
    "réponse (`replayed: true`).",
    responses=error_responses(400, 401, 403, 409, 413, 422, 503),
)
def push(
    body: PushIn, request: Request, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> PushOut:
    results, replayed = sync_push.push(
        body,
        session=session,
        actor=principal,
        settings=settings,
        lang=caller_language(request, principal),
        ip=client_ip(request),
    )
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    return PushOut(batch_id=body.batch_id, replayed=replayed, results=results, counts=counts)


@router.get(
    "/pull",
    response_model=PullOut,
    summary="Ce qui a changé pour cet appareil depuis son curseur",
    description="Sans curseur : tout (appareil neuf ou curseur perdu). Les sites du compte et les "
    "questionnaires qui leur sont attribués (versions publiées et closes) sont toujours envoyés en entier ; "
    "l'état des fiches du compte (acceptée, à revoir avec les raisons, en conflit, décision du coordinateur, "
    "pièces jointes manquantes) seulement pour celles qui ont changé, par pages : tant que `more` est vrai, "
    "rappeler avec le nouveau `cursor`.",
    responses=error_responses(401, 403, 422, 503),
)
def pull(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    cursor: str | None = Query(default=None, pattern=sync_pull.CURSOR_PATTERN, max_length=64),
    limit: int = Query(default=200, ge=1, le=1000),
) -> PullOut:
    return sync_pull.pull(
        cursor, session=session, actor=principal, settings=settings, limit=limit, ip=client_ip(request)
    )
