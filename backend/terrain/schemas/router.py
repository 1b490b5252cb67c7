"""``GET /api/v1/schemas/{compiled-spec,expression}``: the JSON Schemas of the formats (no authentication:
they describe the format and hold no data, like ``/api/health``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from terrain.schemas import service

router = APIRouter(prefix="/api/v1/schemas", tags=["schemas"])

# Cached by anyone, revalidated every time (If-None-Match): the files change only with a new server version.
CACHE_CONTROL = "public, no-cache"


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    # RFC 9110: If-None-Match compares weakly, "*" matches any current representation.
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def _serve(name: str, request: Request) -> Response:
    doc = service.document(name)
    headers = {"ETag": doc.etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request.headers.get("if-none-match"), doc.etag):
        return Response(status_code=304, headers=headers)
    return Response(doc.content, media_type=service.MEDIA_TYPE, headers=headers)


def _responses(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"Le schéma JSON (draft 2020-12) {what}",
            "content": {service.MEDIA_TYPE: {"schema": {"type": "object"}}},
            "headers": {
                "ETag": {"description": "SHA-256 du document, entre guillemets", "schema": {"type": "string"}}
            },
        },
        304: {"description": "Inchangé (If-None-Match) / not modified"},
    }


_DESCRIPTION = (
    "Public (aucune authentification) : le schéma décrit un format et ne contient aucune donnée. "
    "`ETag` : l'empreinte SHA-256 du document ; `If-None-Match` donne 304. "
    "/ Public; `ETag` is the document's SHA-256, `If-None-Match` gives 304."
)


@router.get(
    "/compiled-spec",
    response_class=Response,
    summary="Schéma JSON de la spécification compilée",
    description="La spécification compilée telle que l'application la reçoit (docs/schemas.md). "
    "Ses expressions renvoient au schéma `urn:terrain:schema:expression` (`GET /api/v1/schemas/expression`). "
    + _DESCRIPTION,
    responses=_responses("de la spécification compilée / of the compiled spec"),
)
def compiled_spec_schema(request: Request) -> Response:
    return _serve("compiled-spec", request)


@router.get(
    "/expression",
    response_class=Response,
    summary="Schéma JSON de l'arbre d'une expression",
    description="L'arbre JSON que le compilateur produit pour une expression et que l'application évalue "
    "(docs/expressions.md). " + _DESCRIPTION,
    responses=_responses("de l'arbre d'une expression / of an expression tree"),
)
def expression_schema(request: Request) -> Response:
    return _serve("expression", request)
