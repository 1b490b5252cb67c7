"""FastAPI dependencies: the database session, settings and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from terrain.auth.service import LoginRateLimiter, Principal, authenticate_bearer
from terrain.config import Settings
from terrain.db import get_session
from terrain.errors import TerrainError

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="Jeton d'accès JWT (`/api/v1/auth/token`) ou jeton d'appareil `tdt_…`.",
)

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_limiter(request: Request) -> LoginRateLimiter:
    limiter: LoginRateLimiter = request.app.state.login_limiter
    return limiter


def current_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not token:
        raise TerrainError("auth.not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    return authenticate_bearer(token, session=session, settings=settings)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
