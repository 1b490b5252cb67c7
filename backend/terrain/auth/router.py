"""Authentication endpoints: password login (OAuth2) and device tokens."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from terrain.auth import service
from terrain.auth.deps import CurrentPrincipal, SessionDep, SettingsDep, client_ip, get_limiter
from terrain.auth.models import DeviceToken
from terrain.errors import error_responses
from terrain.limits import NO_NUL, RowId, optional_id_query

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

# No text input may contain U+0000: PostgreSQL cannot store or even compare it (a 500, before), and no
# name, code or address has one. Stated in the schema, refused with 422 on every database alike.


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, documented as the server reads it: an empty field is a missing one (so
    ``username`` and ``password`` have at least one character), and a form cannot carry ``null`` (so
    ``grant_type`` is a string whose absence means ``password``)."""

    def __init__(
        self,
        *,
        username: Annotated[
            str, Form(min_length=1, pattern=NO_NUL, description="Adresse e-mail / email address")
        ],
        password: Annotated[str, Form(min_length=1, json_schema_extra={"format": "password"})],
        grant_type: Annotated[str, Form(pattern="^password$")] = "password",
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
        device_name: Annotated[
            str | None,
            Form(
                min_length=1,
                max_length=200,
                pattern=NO_NUL,
                description="Libellé de l'appareil : crée aussi un jeton d'appareil / device label: also "
                "creates a device token",
            ),
        ] = None,
    ) -> None:
        self.device_name = device_name
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Durée de validité en secondes / lifetime in seconds")
    device_token: str | None = Field(
        default=None,
        description="Avec `device_name` seulement : le jeton d'appareil `tdt_…`, affiché une seule fois "
        "/ with `device_name` only: the device token, shown once",
    )
    device_token_id: int | None = Field(
        default=None, description="Avec `device_name` seulement / with `device_name` only"
    )


class DeviceTokenIn(BaseModel):
    name: str = Field(
        min_length=1, max_length=200, pattern=NO_NUL, description="Libellé de l'appareil / device label"
    )


class DeviceTokenOut(BaseModel):
    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: DeviceToken) -> DeviceTokenOut:
        assert row.id is not None
        return cls(
            id=row.id,
            user_id=row.user_id,
            name=row.name,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class DeviceTokenCreated(DeviceTokenOut):
    token: str = Field(description="Le secret, affiché une seule fois / the secret, shown once")


@router.post(
    "/token",
    response_model=TokenOut,
    response_model_exclude_none=True,
    summary="Obtenir un jeton d'accès (OAuth2 password), et un jeton d'appareil si demandé",
    description="Formulaire `application/x-www-form-urlencoded` : `username` (adresse e-mail) et "
    "`password`. 5 échecs par e-mail et adresse IP, ou 30 par adresse IP, en 15 minutes -> 429 avec "
    "`Retry-After` (compteurs en base : partagés par tous les processus du serveur). Trop de connexions "
    "simultanées -> 503 `auth.busy` avec `Retry-After`.\n\n"
    "Connexion d'un téléphone (PWA) : avec le champ facultatif `device_name` (1 à 200 caractères), la "
    "réponse contient aussi `device_token` (le secret `tdt_…`, affiché une seule fois : à conserver sur "
    "l'appareil) et `device_token_id`. Seule une connexion par mot de passe crée un jeton d'appareil ; "
    "un jeton d'appareil n'en crée jamais d'autre. Un appareil révoqué (ou dont le compte est désactivé) "
    "reçoit ensuite 401 `auth.device_revoked` (`details.keep_local_data` vaut `true`) : garder les "
    "données de l'appareil et se reconnecter.",
    responses=error_responses(400, 401, 422, 429, 503),
)
async def token(
    request: Request,
    form: Annotated[LoginForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    limiter, ip = get_limiter(request), client_ip(request)
    login = functools.partial(
        service.login,
        form.username,
        form.password,
        session=session,
        settings=settings,
        limiter=limiter,
        ip=ip,
        device_name=form.device_name,
    )
    # A refusal seen moments ago is in memory; otherwise the limiter reads the database, off the event loop.
    refused = limiter.remembered_retry_after(form.username, ip) or await run_in_threadpool(
        limiter.retry_after, form.username, ip
    )
    if refused:
        issued = await run_in_threadpool(login)  # refused at once, no hashing: no slot needed
    else:
        gate: service.HashGate = request.app.state.hash_gate
        # Waiting for a hashing slot holds no worker thread, so other requests keep being served.
        async with gate.slot():
            issued = await run_in_threadpool(login)
    return TokenOut(
        access_token=issued.access.access_token,
        expires_in=issued.access.expires_in,
        device_token=issued.device_secret,
        device_token_id=issued.device.id if issued.device else None,
    )


@router.post(
    "/device-tokens",
    response_model=DeviceTokenCreated,
    status_code=201,
    summary="Créer un jeton d'appareil (secret affiché une fois)",
    description="Avec un jeton d'accès issu d'une connexion par mot de passe seulement : un jeton "
    "d'appareil n'en crée pas d'autre (403 `auth.interactive_login_required`). Un changement de mot de "
    "passe révoque tous les jetons de l'utilisateur.",
    responses=error_responses(401, 403, 422),
)
def create_device_token(
    body: DeviceTokenIn, principal: CurrentPrincipal, session: SessionDep
) -> DeviceTokenCreated:
    row, secret = service.create_device_token(body.name, session=session, actor=principal)
    return DeviceTokenCreated(**DeviceTokenOut.of(row).model_dump(), token=secret)


@router.get(
    "/device-tokens",
    response_model=list[DeviceTokenOut],
    summary="Lister les jetons d'appareil (les miens ; ceux d'un utilisateur pour un admin)",
    description="Sans `user_id` : les appareils de l'appelant. Avec `user_id` : ceux de cet utilisateur "
    "(admin seulement, pour révoquer un téléphone perdu).",
    responses=error_responses(401, 403, 404),
)
def list_device_tokens(
    principal: CurrentPrincipal,
    session: SessionDep,
    user_id: int | None = optional_id_query("Utilisateur (admin) / user (admins)"),
) -> list[DeviceTokenOut]:
    rows = service.list_device_tokens(session=session, actor=principal, user_id=user_id)
    return [DeviceTokenOut.of(row) for row in rows]


@router.delete(
    "/device-tokens/{token_id}",
    status_code=204,
    summary="Révoquer un jeton d'appareil (le sien ; tout jeton pour un admin)",
    description="Ensuite, toute requête avec ce jeton reçoit 401 `auth.device_revoked` "
    "(`details.keep_local_data` : `true`) : l'appareil garde ses données et l'utilisateur se reconnecte.",
    responses=error_responses(401, 404),
)
def revoke_device_token(token_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    service.revoke_device_token(token_id, session=session, actor=principal)
    return Response(status_code=204)
