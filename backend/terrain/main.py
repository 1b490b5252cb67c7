"""``create_app()``: the FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from terrain import __version__
from terrain.attachments.router import router as attachments_router
from terrain.attachments.storage import store_from_settings
from terrain.audit.router import router as audit_router
from terrain.auth.router import router as auth_router
from terrain.auth.service import HashGate, LoginRateLimiter
from terrain.config import Settings, get_settings
from terrain.db import engine_from_settings
from terrain.errors import ErrorResponse, error_responses, install_error_handler
from terrain.health.router import router as health_router
from terrain.limits import BodyLimitMiddleware
from terrain.responses.router import router as responses_router
from terrain.schemas.router import router as schemas_router
from terrain.sites.router import router as sites_router
from terrain.specs.router import router as specs_router
from terrain.sync.router import router as sync_router
from terrain.sync.schemas import openapi_components as sync_openapi_components
from terrain.users.router import router as users_router
from terrain.webapp.router import mount_app

TAGS = [
    {
        "name": "auth",
        "description": "Connexion (OAuth2 password, JWT court) et jetons d'appareil. "
        "/ Login and device tokens.",
    },
    {
        "name": "users",
        "description": "Utilisateurs, rôles (admin, coordinator, fieldworker, viewer) et sites. "
        "/ Users, roles and their sites.",
    },
    {"name": "sites", "description": "Sites (aires d'accueil, lieux d'enquête). / Sites."},
    {
        "name": "specs",
        "description": "Questionnaires, guides d'entretien et journaux d'observation : "
        "brouillons, versions publiées immuables, diff, affectation aux sites. / Specs and their versions.",
    },
    {
        "name": "attachments",
        "description": "Pièces jointes (photos, enregistrements, fichiers) : envoi par morceaux, reprise "
        "après coupure, dédoublonnage par empreinte SHA-256. / Resumable, content-addressed attachments.",
    },
    {
        "name": "responses",
        "description": "Fiches recueillies, côté coordinateur : liste, consultation, décision (revue, "
        "validée, refusée) et résolution des conflits. / Collected records: list, read, review, resolve.",
    },
    {"name": "audit", "description": "Journal d'audit (sans données personnelles). / Audit log."},
    {"name": "health", "description": "État du service. / Service health."},
    {
        "name": "schemas",
        "description": "Schémas JSON des formats remis à l'application (spécification compilée, arbre "
        "d'expression), publics. / JSON Schemas of the compiled spec and of expression trees.",
    },
]

DESCRIPTION = """API de Terrain : enquêtes de terrain, guides d'entretien semi-directifs et journaux
d'observation.

Toutes les erreurs ont la forme `{"error": {"code", "status", "message", "details"}}` ; les codes sont
stables, les messages en français par défaut (anglais avec `Accept-Language: en`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Terrain",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine_from_settings(settings)
    # Failed logins are counted in the database: every process on it shares the limit.
    app.state.login_limiter = LoginRateLimiter(app.state.engine, settings)
    app.state.attachment_store = store_from_settings(settings)
    app.state.hash_gate = HashGate(settings.password_hash_concurrency, settings.password_hash_wait_seconds)
    install_error_handler(app)
    app.add_middleware(BodyLimitMiddleware, default_max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            # What a browser client on another origin must read: resumable uploads and back-off.
            expose_headers=["Upload-Offset", "Upload-Length", "Attachment-Status", "Location", "Retry-After"],
            allow_credentials=False,
        )

    for router in (
        health_router,
        auth_router,
        users_router,
        sites_router,
        specs_router,
        audit_router,
        sync_router,
        responses_router,
        attachments_router,
        schemas_router,
    ):
        app.include_router(router)
    # Last: every path the API does not own is the field app (client-side routes included).
    mount_app(app, settings.app_dir)
    _document_edge_errors(app)
    return app


def _document_edge_errors(app: FastAPI) -> None:
    """Statuses the edge can return for any operation with a body (413 over the size limit, 400 for a
    body that is not UTF-8 or nested too deeply) or with parameters (422), written into the OpenAPI
    once here rather than on every route."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        extra = error_responses(400, 413)
        error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    for status, entry in extra.items():
                        responses.setdefault(
                            str(status),
                            {
                                "description": entry["description"],
                                "content": {"application/json": {"schema": error_ref}},
                            },
                        )
                if operation.get("parameters") or "requestBody" in operation:
                    validation = responses.get("422")
                    if validation is None or "HTTPValidationError" in str(validation):
                        responses["422"] = {
                            "description": error_responses(422)[422]["description"],
                            "content": {"application/json": {"schema": error_ref}},
                        }
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(sync_openapi_components())
        assert ErrorResponse.__name__ in components  # routes document it through error_responses()
        for name in ("HTTPValidationError", "ValidationError"):
            if name in components and name not in str(schema.get("paths")):
                del components[name]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
