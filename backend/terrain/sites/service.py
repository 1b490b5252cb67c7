"""Sites: creation, listing (filtered by visibility), lookups by code."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlmodel import Session, col, select

from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.errors import TerrainError
from terrain.principals import Principal
from terrain.sites.models import Site

SITE_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def create_site(code: str, name: str, description: str = "", *, session: Session, actor: Principal) -> Site:
    authz.require(actor, Action.SITE_MANAGE)
    code = code.strip()
    if not SITE_CODE.match(code):
        raise TerrainError("site.invalid_code", code=code)
    if session.exec(select(Site).where(Site.code == code)).first() is not None:
        raise TerrainError("site.code_taken", code=code)
    site = Site(code=code, name=name.strip(), description=description)
    session.add(site)
    session.flush()
    audit.record(
        "site.created", session=session, actor_user_id=actor.id, target_type="site", target_id=str(site.id)
    )
    return site


def update_site(
    code: str,
    *,
    session: Session,
    actor: Principal,
    name: str | None = None,
    description: str | None = None,
) -> Site:
    """Rename or re-describe a site. Its code never changes: records, exports and specs refer to it."""
    authz.require(actor, Action.SITE_MANAGE)
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None:
        raise TerrainError("site.not_found", code=code)
    if name is not None:
        site.name = name.strip()
    if description is not None:
        site.description = description
    session.add(site)
    session.flush()
    audit.record(
        "site.updated", session=session, actor_user_id=actor.id, target_type="site", target_id=str(site.id)
    )
    return site


def list_sites(*, session: Session, actor: Principal) -> list[Site]:
    authz.require(actor, Action.SITE_LIST)
    query = select(Site).order_by(col(Site.code))
    visible = authz.visible_site_ids(actor, Action.SITE_LIST)
    if visible is not None:
        query = query.where(col(Site.id).in_(visible))
    return list(session.exec(query).all())


def sites_by_code(codes: Iterable[str], *, session: Session) -> list[Site]:
    """The sites with these codes, in the given order; ``site.not_found`` for an unknown code."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return []
    found = {site.code: site for site in session.exec(select(Site).where(col(Site.code).in_(wanted))).all()}
    for code in wanted:
        if code not in found:
            raise TerrainError("site.not_found", code=code)
    return [found[code] for code in wanted]


def site_codes(site_ids: Iterable[int], *, session: Session) -> list[str]:
    ids = list(site_ids)
    if not ids:
        return []
    return sorted(session.exec(select(Site.code).where(col(Site.id).in_(ids))).all())
