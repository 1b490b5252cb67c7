"""User endpoints and ``/me``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool
from sqlmodel import Session

from terrain.auth.deps import CurrentPrincipal, SessionDep
from terrain.errors import error_responses
from terrain.limits import NO_NUL, RowId
from terrain.sites.service import site_codes
from terrain.users import service
from terrain.users.models import Role, User
from terrain.users.service import MIN_PASSWORD_LENGTH

router = APIRouter(prefix="/api/v1", tags=["users"])

# No text input may contain U+0000: PostgreSQL cannot store or even compare it (a 500, before), and no
# name, code or address has one. Stated in the schema, refused with 422 on every database alike.
SiteCode = Annotated[str, Field(pattern=NO_NUL)]
# No @, NUL or whitespace in an address. Whitespace is spelled out: `\s` means one set to the server's regex
# engine (Unicode White_Space, with U+0085) and another to JSON Schema's (ECMA 262, with U+FEFF), so a
# client trusting the schema had addresses refused.
_NOT_IN_EMAIL = r"@\x00\x09-\x0d\x20\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: Role
    active: bool
    language: Literal["fr", "en"]
    sites: list[str] = Field(description="Codes des sites / site codes")
    created_at: datetime

    @classmethod
    def of(cls, user: User, *, session: Session) -> UserOut:
        assert user.id is not None
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=Role(user.role),
            active=user.active,
            language="en" if user.language == "en" else "fr",
            sites=site_codes(service.user_site_ids(user.id, session=session), session=session),
            created_at=user.created_at,
        )


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+$")
    # The length is checked by the service (`user.weak_password`, a message that says the minimum); the
    # schema states it so that clients know it in advance.
    password: str = Field(max_length=1024, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH})
    role: Role
    display_name: str = Field(default="", pattern=NO_NUL)
    language: Literal["fr", "en"] = "fr"
    sites: list[SiteCode] = []


class UserPatch(BaseModel):
    role: Role | None = None
    sites: list[SiteCode] | None = None
    # JSON true/false only: 0, 1, "yes" or "off" are refused (422), as the schema says, not guessed.
    active: StrictBool | None = None
    display_name: str | None = Field(default=None, pattern=NO_NUL)
    language: Literal["fr", "en"] | None = None
    password: str | None = Field(
        default=None,
        max_length=1024,
        json_schema_extra={"minLength": MIN_PASSWORD_LENGTH},
        description="Nouveau mot de passe : tous les jetons de l'utilisateur sont révoqués / "
        "new password: every token of the user is revoked",
    )


@router.get(
    "/me", response_model=UserOut, summary="Mon profil, mon rôle et mes sites", responses=error_responses(401)
)
def me(principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    assert principal.id is not None
    return UserOut.of(service.get_user(principal.id, session=session), session=session)


@router.get(
    "/users",
    response_model=list[UserOut],
    summary="Lister les utilisateurs (admin : tous ; coordinateur : ceux de ses sites)",
    responses=error_responses(401, 403),
)
def list_users(principal: CurrentPrincipal, session: SessionDep) -> list[UserOut]:
    return [
        UserOut.of(user, session=session) for user in service.list_users(session=session, actor=principal)
    ]


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    summary="Créer un utilisateur (admin)",
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_user(body: UserIn, principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    user = service.create_user(
        body.email,
        body.password,
        body.role.value,
        session=session,
        actor=principal,
        display_name=body.display_name,
        language=body.language,
        site_codes=body.sites,
    )
    return UserOut.of(user, session=session)


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Modifier rôle, sites, activation d'un utilisateur (admin)",
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_user(user_id: RowId, body: UserPatch, principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    user = service.update_user(
        user_id,
        session=session,
        actor=principal,
        role=body.role.value if body.role else None,
        site_codes=body.sites,
        active=body.active,
        display_name=body.display_name,
        language=body.language,
        password=body.password,
    )
    return UserOut.of(user, session=session)
