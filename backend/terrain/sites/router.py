"""Site endpoints."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from terrain.auth.deps import CurrentPrincipal, SessionDep
from terrain.errors import error_responses
from terrain.sites import service
from terrain.sites.models import Site

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])


class SiteIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["aire-nord"])
    name: str = Field(min_length=1, max_length=200)
    description: str = ""


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
