"""Spec endpoints: list/read (filtered by role and site), drafts, publication, closing, diffs, sites."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.auth.deps import CurrentPrincipal, SessionDep
from terrain.errors import TerrainError, error_responses, request_language
from terrain.limits import MAX_ID, MAX_JSON_DEPTH, NO_NUL, JsonTooDeep, VersionNumber, json_depth
from terrain.principals import Principal
from terrain.responses.service import counts_by_version
from terrain.sites.service import site_codes
from terrain.specs import service
from terrain.specs.models import Spec, SpecVersion

router = APIRouter(prefix="/api/v1/specs", tags=["specs"])

# No text input may contain U+0000: PostgreSQL cannot store or even compare it (a 500, before), and no
# name, code or address has one. Stated in the schema, refused with 422 on every database alike.
SpecName = Annotated[str, Path(pattern=NO_NUL, description="Nom de la spécification / spec name")]

YAML_TYPES = ("text/plain", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def caller_language(request: Request, principal: Principal) -> str:
    """Accept-Language when sent, else the user's preferred language."""
    if request.headers.get("accept-language"):
        return request_language(request)
    return principal.language


class VersionSummary(BaseModel):
    version: int | None = Field(description="Numéro ; null pour un brouillon / null for a draft")
    status: str
    content_hash: str
    created_at: datetime
    published_at: datetime | None
    closed_at: datetime | None
    responses: int | None = Field(
        default=None,
        description="Fiches reçues sur cette version, sur les sites de l'appelant (coordinateurs et admins) "
        "/ records received on this version, on the caller's sites",
    )

    @classmethod
    def of(cls, row: SpecVersion) -> VersionSummary:
        return cls(
            version=row.version,
            status=row.status,
            content_hash=row.content_hash,
            created_at=row.created_at,
            published_at=row.published_at,
            closed_at=row.closed_at,
        )


class SpecSummary(BaseModel):
    name: str
    kind: str
    title: dict[str, Any]
    sites: list[str]
    latest_version: int | None
    published_versions: list[int] = Field(description="Versions publiées (non closes) / open versions")
    has_draft: bool | None = Field(description="null quand l'appelant ne voit pas les brouillons")


class SpecDetail(SpecSummary):
    versions: list[VersionSummary]
    draft: VersionSummary | None
    draft_source: str | None = Field(
        default=None, description="Source YAML du brouillon (coordinateurs et admins) / the draft's YAML"
    )


class VersionDetail(VersionSummary):
    name: str
    kind: str
    compiled: dict[str, Any]
    source_yaml: str | None = Field(description="Source YAML (coordinateurs et admins) / YAML source")


class SpecSourceIn(BaseModel):
    source: str = Field(min_length=1, description="Texte YAML de la spécification / spec YAML text")
    filename: str | None = Field(
        default=None, max_length=255, description="Nom de fichier pour les messages / for messages"
    )


class DraftOut(BaseModel):
    name: str
    created: bool = Field(description="Spécification nouvelle / new spec")
    draft: VersionSummary
    warnings: list[dict[str, Any]]
    compiled: dict[str, Any] = Field(
        default_factory=dict, description="Le brouillon compilé, pour l'aperçu / compiled draft, for previews"
    )


class CheckOut(BaseModel):
    name: str
    warnings: list[dict[str, Any]]
    compiled: dict[str, Any] = Field(description="La spécification compilée / the compiled spec")


class PublishIn(BaseModel):
    source: str | None = Field(
        default=None, min_length=1, description="Publier ce YAML plutôt que le brouillon"
    )
    filename: str | None = Field(default=None, max_length=255)


class PublishOut(BaseModel):
    name: str
    version: int
    changed: bool = Field(description="false : contenu identique à la dernière version (aucune publication)")
    content_hash: str
    warnings: list[dict[str, Any]] = []


class SitesIn(BaseModel):
    sites: list[Annotated[str, Field(pattern=NO_NUL)]] = Field(description="Codes des sites / site codes")


class SitesOut(BaseModel):
    name: str
    sites: list[str]


def _visible_sites(spec: Spec, principal: Principal, *, session: Session) -> list[int]:
    """The spec's sites the caller may know of: a field account sees only its own sites' codes."""
    site_ids = service.spec_site_ids(spec, session=session)
    visible = authz.visible_site_ids(principal, Action.SITE_LIST)
    return site_ids if visible is None else [site_id for site_id in site_ids if site_id in visible]


def _summary(spec: Spec, principal: Principal, *, session: Session) -> dict[str, Any]:
    rows = service.versions(spec, session=session)
    can_draft = authz.allowed(principal, Action.SPEC_READ_DRAFT)
    return {
        "name": spec.name,
        "kind": spec.kind,
        "title": spec.title,
        "sites": site_codes(_visible_sites(spec, principal, session=session), session=session),
        "latest_version": rows[-1].version if rows else None,
        "published_versions": [row.version for row in rows if row.status == "published" and row.version],
        "has_draft": (service.draft_of(spec, session=session) is not None) if can_draft else None,
    }


async def _read_source(request: Request) -> tuple[str, str | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TerrainError("request.malformed", details={"reason": "not_utf8"}) from exc
    if content_type in YAML_TYPES:
        return text, request.headers.get("x-filename")
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        # The edge checks the depth of JSON bodies only; any other type is read as JSON here too, so its
        # depth is checked before json.loads, whose C scanner recurses (a RecursionError, a 500, before).
        depth = await run_in_threadpool(json_depth, raw)
        if depth > MAX_JSON_DEPTH:
            raise JsonTooDeep(depth)
    try:
        body = SpecSourceIn.model_validate(json.loads(text or "null"))
    except (ValueError, TypeError) as exc:
        raise TerrainError(
            "request.invalid", details={"errors": [{"msg": "expected JSON {source, filename} or YAML text"}]}
        ) from exc
    return body.source, body.filename


@router.get(
    "",
    response_model=list[SpecSummary],
    summary="Lister les spécifications utilisables par l'appelant",
    description="Admins et coordinateurs : toutes. Enquêteurs et observateurs : celles affectées à un de "
    "leurs sites et ayant une version publiée.",
    responses=error_responses(401, 403),
)
def list_specs(principal: CurrentPrincipal, session: SessionDep) -> list[SpecSummary]:
    return [
        SpecSummary(**_summary(spec, principal, session=session))
        for spec in service.list_specs(session=session, actor=principal)
    ]


@router.post(
    "",
    response_model=DraftOut,
    summary="Déposer une spécification YAML (crée ou met à jour le brouillon)",
    description="Corps JSON `{source, filename?}` ou texte YAML (`Content-Type: application/yaml`). "
    "Les erreurs (422 `spec.invalid`) listent fichier, ligne, colonne, chemin, code et message dans "
    "la langue de l'appelant.",
    responses=error_responses(401, 403, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": SpecSourceIn.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def upload_spec(request: Request, principal: CurrentPrincipal, session: SessionDep) -> DraftOut:
    source, filename = await _read_source(request)
    # Compilation is CPU-bound: in a worker thread, so the event loop keeps answering other requests.
    result = await run_in_threadpool(
        service.save_draft,
        source,
        session=session,
        actor=principal,
        filename=filename or "spec.yaml",
        lang=caller_language(request, principal),
    )
    return DraftOut(
        name=result.spec.name,
        created=result.created,
        draft=VersionSummary.of(result.draft),
        warnings=result.warnings,
        compiled=result.draft.compiled,
    )


@router.post(
    "/validate",
    response_model=CheckOut,
    summary="Vérifier une spécification YAML sans rien enregistrer",
    description="Même corps et mêmes erreurs que le dépôt (422 `spec.invalid` avec fichier, ligne, colonne, "
    "chemin, code et message), mais rien n'est enregistré : pour un éditeur qui vérifie pendant la saisie.",
    responses=error_responses(401, 403, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": SpecSourceIn.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def validate_spec(request: Request, principal: CurrentPrincipal) -> CheckOut:
    source, filename = await _read_source(request)
    checked = await run_in_threadpool(
        service.check_source,
        source,
        actor=principal,
        filename=filename or "spec.yaml",
        lang=caller_language(request, principal),
    )
    return CheckOut(name=checked.name, warnings=checked.warnings, compiled=checked.compiled)


@router.get(
    "/{name}",
    response_model=SpecDetail,
    summary="Une spécification et ses versions",
    responses=error_responses(401, 404),
)
def get_spec(name: SpecName, principal: CurrentPrincipal, session: SessionDep) -> SpecDetail:
    spec = service.get_visible_spec(name, session=session, actor=principal)
    draft = (
        service.draft_of(spec, session=session) if authz.allowed(principal, Action.SPEC_READ_DRAFT) else None
    )
    versions = [VersionSummary.of(row) for row in service.versions(spec, session=session)]
    if authz.can_attempt(principal, Action.RESPONSE_REVIEW) and spec.id is not None:
        counts = counts_by_version(
            spec.id, session=session, site_ids=authz.visible_site_ids(principal, Action.RESPONSE_REVIEW)
        )
        for summary in versions:
            summary.responses = counts.get(summary.version or 0, 0)
    return SpecDetail(
        **_summary(spec, principal, session=session),
        versions=versions,
        draft=VersionSummary.of(draft) if draft else None,
        draft_source=draft.source_yaml if draft else None,
    )


@router.get(
    "/{name}/versions/{version}",
    response_model=VersionDetail,
    summary="Une version compilée (JSON servi à la PWA)",
    responses=error_responses(401, 404),
)
def get_version(
    name: SpecName, version: VersionNumber, principal: CurrentPrincipal, session: SessionDep
) -> VersionDetail:
    spec, row = service.get_version(name, version, session=session, actor=principal)
    return VersionDetail(
        **VersionSummary.of(row).model_dump(),
        name=spec.name,
        kind=spec.kind,
        compiled=row.compiled,
        source_yaml=row.source_yaml if authz.allowed(principal, Action.SPEC_READ_DRAFT) else None,
    )


@router.post(
    "/{name}/publish",
    response_model=PublishOut,
    summary="Publier le brouillon (ou le YAML fourni) comme nouvelle version immuable",
    description="Contenu identique à la dernière version : 200 avec `changed: false`. Changement "
    "incompatible : 409 `spec.breaking_change` avec le diff. Sinon 201 et un nouveau numéro.",
    status_code=201,
    responses={
        200: {"model": PublishOut, "description": "Inchangé / unchanged"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
def publish_spec(
    name: SpecName,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    session: SessionDep,
    body: PublishIn | None = None,
) -> PublishOut:
    result = service.publish(
        name,
        session=session,
        actor=principal,
        source=body.source if body else None,
        filename=body.filename if body else None,
        lang=caller_language(request, principal),
    )
    if not result.changed:
        response.status_code = 200
    return PublishOut(
        name=result.spec.name,
        version=result.version.version or 0,
        changed=result.changed,
        content_hash=result.version.content_hash,
        warnings=result.warnings,
    )


@router.post(
    "/{name}/versions/{version}/close",
    response_model=VersionSummary,
    summary="Clore une version publiée (plus de nouvelles collectes)",
    responses=error_responses(401, 403, 404, 409),
)
def close_version(
    name: SpecName, version: VersionNumber, principal: CurrentPrincipal, session: SessionDep
) -> VersionSummary:
    return VersionSummary.of(service.close_version(name, version, session=session, actor=principal))


@router.get(
    "/{name}/diff",
    summary="Différences entre deux versions (`draft` accepté)",
    description="`from`/`to` : numéro de version ou `draft`. Par défaut : brouillon (ou dernière version) "
    "contre la version précédente.",
    responses=error_responses(401, 403, 404, 409),
)
def diff_spec(
    name: SpecName,
    principal: CurrentPrincipal,
    session: SessionDep,
    from_: str | None = Query(default=None, alias="from", examples=["1"]),
    to: str | None = Query(default=None, examples=["draft"]),
) -> dict[str, Any]:
    from_, to = _version_ref(from_, "from"), _version_ref(to, "to")
    return service.diff_versions(name, session=session, actor=principal, from_ref=from_, to_ref=to)


def _version_ref(value: str | None, field: str) -> str | None:
    """``draft``, or a number within the range of version numbers: a larger one reached the database
    (SQLite overflows past 64 bits, PostgreSQL past 32: a 500), it is a 422 like a path version."""
    if value is None or value == service.DRAFT:
        return value
    try:
        number = int(value)
    except ValueError:
        return value  # not a number at all: spec.version_not_found, from the service
    if not 1 <= number <= MAX_ID:
        message = f"Input should be 'draft' or a version number from 1 to {MAX_ID}"
        error = {"loc": ["query", field], "msg": message, "type": "version_ref"}
        raise TerrainError("request.invalid", details={"errors": [error]})
    return value


@router.put(
    "/{name}/sites",
    response_model=SitesOut,
    summary="Affecter la spécification à des sites",
    description="Admin : remplace l'ensemble. Coordinateur : seulement ses propres sites (les affectations "
    "aux autres sites sont conservées).",
    responses=error_responses(401, 403, 404, 422),
)
def assign_sites(name: SpecName, body: SitesIn, principal: CurrentPrincipal, session: SessionDep) -> SitesOut:
    site_ids = service.assign_sites(name, body.sites, session=session, actor=principal)
    return SitesOut(name=name, sites=site_codes(site_ids, session=session))


# --- XLSForm -----------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_WORKBOOK_BYTES = 10 * 1024 * 1024


class XlsformImportOut(BaseModel):
    name: str
    created: bool
    draft: VersionSummary
    report: list[dict[str, Any]] = Field(
        description="Import report: severity, sheet, row, column, code and message (caller's language)."
    )
    warnings: list[dict[str, Any]] = Field(default_factory=list)


@router.post(
    "/import-xlsform",
    response_model=XlsformImportOut,
    summary="Importer un XLSForm (.xlsx) comme brouillon",
    description="Convertit le classeur (feuilles survey, choices, settings) en spécification et l'enregistre "
    "comme brouillon ; la publication reste une étape explicite. Le rapport liste, avec feuille, ligne et "
    "colonne, ce que Terrain n'a pas pu reprendre. Un classeur refusé renvoie 422 `xlsform.invalid` avec "
    "le rapport dans `details.report`. Si un brouillon du même `form_id` existe déjà : 409 "
    "`spec.draft_exists`, sauf avec `replace=true`.",
    responses=error_responses(401, 403, 409, 422),
)
async def import_xlsform(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    file: UploadFile = File(description="Le classeur XLSForm (.xlsx)"),
    replace: bool = Form(
        default=False,
        description="Remplacer le brouillon existant du même form_id / overwrite the existing draft",
    ),
) -> XlsformImportOut:
    data = await file.read(MAX_WORKBOOK_BYTES + 1)
    if len(data) > MAX_WORKBOOK_BYTES:
        raise TerrainError("request.too_large", limit_mb="10", details={"limit_bytes": MAX_WORKBOOK_BYTES})
    result = await run_in_threadpool(
        service.import_xlsform,
        data,
        file.filename or "formulaire.xlsx",
        session=session,
        actor=principal,
        lang=caller_language(request, principal),
        replace=replace,
    )
    return XlsformImportOut(
        name=result.draft.spec.name,
        created=result.draft.created,
        draft=VersionSummary.of(result.draft.draft),
        report=result.report,
        warnings=result.draft.warnings,
    )


@router.get(
    "/{name}/versions/{version}/xlsform",
    summary="Télécharger une version comme XLSForm (.xlsx)",
    description="Questionnaires et journaux d'observation ; le classeur se convertit avec pyxform (ODK). "
    "Chaque export est inscrit au journal d'audit.",
    response_class=Response,
    responses={
        200: {"content": {XLSX_TYPE: {}}, "description": "Le classeur XLSForm."},
        **error_responses(401, 403, 404, 409),
    },
)
def export_xlsform(
    name: SpecName, version: VersionNumber, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    filename, data = service.export_xlsform(name, version, session=session, actor=principal)
    return Response(
        content=data,
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
