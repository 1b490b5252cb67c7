"""Site endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from terrain.auth.deps import CurrentPrincipal, SessionDep
from terrain.errors import error_responses
from terrain.limits import NO_NUL
from terrain.sites import service
from terrain.sites.models import Site

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])

# No text input may contain U+0000: PostgreSQL cannot store or even compare it (a 500, before), and no
# name, code or address has one. Stated in the schema, refused with 422 on every database alike.


class SiteIn(BaseModel):
    # The service checks the pattern itself (`site.invalid_code`, a message that says what is allowed); the
    # schema states it so that clients know it in advance.
    code: str = Field(
        min_length=1,
        max_length=64,
        examples=["aire-nord"],
        json_schema_extra={"pattern": service.SITE_CODE.pattern},
        description="Minuscules, chiffres, tirets / lowercase letters, digits, dashes",
    )
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str = Field(default="", pattern=NO_NUL)


class SitePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    description: str | None = Field(default=None, pattern=NO_NUL)


class SiteOut(BaseModel):
    id: int
    code: str
    name: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        assert site.id is not None
        return cls(
            id=site.id,
            code=site.code,
            name=site.name,
            description=site.description,
            created_at=site.created_at,
        )


@router.get(
    "",
    response_model=list[SiteOut],
    summary="Lister les sites visibles (tous pour un admin, les siens sinon)",
    responses=error_responses(401, 403),
)
def list_sites(principal: CurrentPrincipal, session: SessionDep) -> list[SiteOut]:
    return [SiteOut.of(site) for site in service.list_sites(session=session, actor=principal)]


@router.post(
    "",
    response_model=SiteOut,
    status_code=201,
    summary="Créer un site (admin)",
    responses=error_responses(401, 403, 409, 422),
)
def create_site(body: SiteIn, principal: CurrentPrincipal, session: SessionDep) -> SiteOut:
    site = service.create_site(body.code, body.name, body.description, session=session, actor=principal)
    return SiteOut.of(site)


@router.patch(
    "/{code}",
    response_model=SiteOut,
    summary="Renommer ou décrire un site (admin) ; son code ne change jamais",
    responses=error_responses(401, 403, 404, 422),
)
def update_site(
    code: Annotated[str, Path(max_length=64, pattern=NO_NUL)],
    body: SitePatch,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> SiteOut:
    site = service.update_site(
        code, name=body.name, description=body.description, session=session, actor=principal
    )
    return SiteOut.of(site)
