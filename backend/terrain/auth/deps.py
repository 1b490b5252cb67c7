"""FastAPI dependencies: the database session, settings and the authenticated principal."""

from __future__ import annotations

import functools
import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from terrain.auth.service import LoginRateLimiter, Principal, authenticate_bearer
from terrain.config import Settings
from terrain.db import get_session
from terrain.errors import TerrainError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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
    """The caller's address. ``X-Forwarded-For`` is believed only when the direct peer is one of the
    configured reverse proxies (``TERRAIN_TRUSTED_PROXIES``, none by default): anyone else could write
    any address there and escape the login limits."""
    peer = request.client.host if request.client else "unknown"
    settings: Settings = request.app.state.settings
    networks = _networks(tuple(settings.trusted_proxies))
    if not networks or not _in(peer, networks):
        return peer
    forwarded = [
        part.strip() for header in request.headers.getlist("x-forwarded-for") for part in header.split(",")
    ]
    # Walk from the nearest hop: the first address that is not one of our proxies is the client.
    for hop in reversed(forwarded):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain is not believed
        if not any(address in network for network in networks):
            return str(address)
    return peer


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _in(host: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)
