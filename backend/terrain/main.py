"""``create_app()``: the FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

from terrain import __version__
from terrain.audit.router import router as audit_router
from terrain.auth.router import router as auth_router
from terrain.auth.service import LoginRateLimiter
from terrain.config import Settings, get_settings
from terrain.db import engine_from_settings
from terrain.errors import install_error_handler
from terrain.health.router import router as health_router
from terrain.sites.router import router as sites_router
from terrain.specs.router import router as specs_router
from terrain.users.router import router as users_router

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
    {"name": "audit", "description": "Journal d'audit (sans données personnelles). / Audit log."},
    {"name": "health", "description": "État du service. / Service health."},
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
    app.state.login_limiter = LoginRateLimiter(settings.login_max_failures, settings.login_window_seconds)
    install_error_handler(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=False,
        )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        # Until the PWA is served here, the API documentation is the front page.
        return RedirectResponse("/docs")

    for router in (health_router, auth_router, users_router, sites_router, specs_router, audit_router):
        app.include_router(router)
    return app
