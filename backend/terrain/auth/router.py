"""Authentication endpoints: password login (OAuth2) and device tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from terrain.auth import service
from terrain.auth.deps import CurrentPrincipal, SessionDep, SettingsDep, client_ip, get_limiter
from terrain.auth.models import DeviceToken
from terrain.errors import error_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Durée de validité en secondes / lifetime in seconds")


class DeviceTokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Libellé de l'appareil / device label")


class DeviceTokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: DeviceToken) -> DeviceTokenOut:
        assert row.id is not None
        return cls(
            id=row.id,
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
    summary="Obtenir un jeton d'accès (OAuth2 password)",
    description="`username` = adresse e-mail. 5 échecs par e-mail et IP en 15 minutes -> 429.",
    responses=error_responses(401, 422, 429),
)
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    issued = service.login(
        form.username,
        form.password,
        session=session,
        settings=settings,
        limiter=get_limiter(request),
        ip=client_ip(request),
    )
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post(
    "/device-tokens",
    response_model=DeviceTokenCreated,
    status_code=201,
    summary="Créer un jeton d'appareil (secret affiché une fois)",
    responses=error_responses(401, 422),
)
def create_device_token(
    body: DeviceTokenIn, principal: CurrentPrincipal, session: SessionDep
) -> DeviceTokenCreated:
    row, secret = service.create_device_token(body.name, session=session, actor=principal)
    return DeviceTokenCreated(**DeviceTokenOut.of(row).model_dump(), token=secret)


@router.get(
    "/device-tokens",
    response_model=list[DeviceTokenOut],
    summary="Lister mes jetons d'appareil",
    responses=error_responses(401),
)
def list_device_tokens(principal: CurrentPrincipal, session: SessionDep) -> list[DeviceTokenOut]:
    return [DeviceTokenOut.of(row) for row in service.list_device_tokens(session=session, actor=principal)]


@router.delete(
    "/device-tokens/{token_id}",
    status_code=204,
    summary="Révoquer un de mes jetons d'appareil",
    responses=error_responses(401, 404),
)
def revoke_device_token(token_id: int, principal: CurrentPrincipal, session: SessionDep) -> Response:
    service.revoke_device_token(token_id, session=session, actor=principal)
    return Response(status_code=204)
