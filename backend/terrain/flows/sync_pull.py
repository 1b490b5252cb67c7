"""What a device learns on pull: its account's sites, the specs and versions assigned to them (always in
full: a few dozen rows), and the server state of the account's records changed since its cursor (paged).

The cursor is ``c1.<change number>.<record id>`` of the last record sent. Change numbers become visible
in the order they are handed out (terrain.sync.service), so "everything after my cursor" never skips a
change. A device without a cursor (new, reinstalled, lost) gets a full pull; a cursor ahead of the
server (a restored backup) is answered with a full pull and ``reset: true``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.config import Settings
from terrain.db import utcnow
from terrain.principals import Principal
from terrain.responses import service as responses
from terrain.responses.models import Response
from terrain.sites.models import Site
from terrain.specs.models import Spec, SpecSite, SpecVersion, VersionStatus
from terrain.sync import service as sync
from terrain.sync.schemas import PullOut, RecordState, ReviewOut, SiteState, SpecState, VersionState

CURSOR = re.compile(r"^c1\.(\d{1,18})\.(\d{1,18})$")
CURSOR_PATTERN = CURSOR.pattern


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return (0, 0)
    match = CURSOR.match(cursor)
    if match is None:  # the router's pattern refuses it before
        raise ValueError("malformed cursor")
    return int(match.group(1)), int(match.group(2))


def format_cursor(seq: int, row_id: int) -> str:
    return f"c1.{seq}.{row_id}"


def _site_ids(actor: Principal, *, session: Session) -> list[int]:
    visible = authz.visible_site_ids(actor, Action.RESPONSE_COLLECT)
    if visible is None:  # admins: every site
        return list(session.exec(select(Site.id)).all())  # type: ignore[arg-type]
    return sorted(visible)


def _specs(
    site_ids: list[int], codes: dict[int, str], *, session: Session, settings: Settings
) -> list[SpecState]:
    if not site_ids:
        return []
    links = session.exec(select(SpecSite).where(col(SpecSite.site_id).in_(site_ids))).all()
    spec_ids = sorted({link.spec_id for link in links})
    if not spec_ids:
        return []
    site_codes: dict[int, list[str]] = {}
    for link in links:
        site_codes.setdefault(link.spec_id, []).append(codes[link.site_id])
    specs = session.exec(select(Spec).where(col(Spec.id).in_(spec_ids)).order_by(col(Spec.name))).all()
    versions = session.exec(
        select(SpecVersion)
        .where(
            col(SpecVersion.spec_id).in_(spec_ids),
            col(SpecVersion.status).in_([VersionStatus.published.value, VersionStatus.closed.value]),
        )
        .order_by(col(SpecVersion.version))
    ).all()
    by_spec: dict[int, list[VersionState]] = {}
    grace = timedelta(days=settings.sync_closed_grace_days)
    for version in versions:
        assert version.version is not None
        by_spec.setdefault(version.spec_id, []).append(
            VersionState(
                version=version.version,
                status=version.status,
                content_hash=version.content_hash,
                published_at=version.published_at,
                closed_at=version.closed_at,
                accepted_until=version.closed_at + grace if version.closed_at else None,
            )
        )
    return [
        SpecState(
            name=spec.name,
            kind=spec.kind,
            title=spec.title,
            sites=sorted(site_codes.get(spec.id or 0, [])),
            versions=by_spec.get(spec.id or 0, []),
        )
        for spec in specs
        if by_spec.get(spec.id or 0)
    ]


def pull(
    cursor: str | None, *, session: Session, actor: Principal, settings: Settings, limit: int, ip: str | None
) -> PullOut:
    authz.require(actor, Action.RESPONSE_COLLECT)
    assert actor.id is not None
    after = parse_cursor(cursor)
    reset = False
    if after[0] > sync.current_change_seq(session=session):
        after, reset = (0, 0), True
    site_ids = _site_ids(actor, session=session)
    site_rows = session.exec(select(Site).where(col(Site.id).in_(site_ids)).order_by(col(Site.code))).all()
    codes: dict[int, str] = dict(session.exec(select(Site.id, Site.code)).all())  # type: ignore[arg-type]
    spec_names = dict(session.exec(select(Spec.id, Spec.name)).all())

    seq_after, id_after = after
    rows = list(
        session.exec(
            select(Response)
            .where(
                Response.author_id == actor.id,
                sa.or_(
                    col(Response.change_seq) > seq_after,
                    sa.and_(col(Response.change_seq) == seq_after, col(Response.id) > id_after),
                ),
            )
            .order_by(col(Response.change_seq), col(Response.id))
            .limit(limit + 1)
        ).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    missing = responses.missing_attachments(rows, session=session)
    records = [
        RecordState(
            id=row.uuid,
            spec=spec_names.get(row.spec_id, ""),
            version=row.version,
            site=codes.get(row.site_id, ""),
            revision=row.revision,
            status=row.status,
            problems=row.problems,
            review=ReviewOut(decision=row.review, comment=row.review_comment, at=row.reviewed_at)
            if row.review
            else None,
            missing_attachments=missing.get(row.id or 0, []),
            updated_at=row.updated_at,
        )
        for row in rows
    ]
    if rows:
        last = rows[-1]
        assert last.id is not None
        next_cursor = format_cursor(last.change_seq, last.id)
    else:
        next_cursor = format_cursor(*after) if after != (0, 0) else format_cursor(0, 0)
    details: dict[str, Any] = {
        "device_token_id": actor.device_token_id,
        "cursor": cursor,
        "reset": reset,
        "records": [row.uuid for row in rows],
    }
    audit.record(
        "sync.pull",
        session=session,
        actor_user_id=actor.id,
        target_type="device",
        target_id=str(actor.device_token_id) if actor.device_token_id else None,
        details=details,
        ip=ip,
    )
    return PullOut(
        cursor=next_cursor,
        more=more,
        reset=reset,
        server_time=utcnow(),
        sites=[SiteState(code=site.code, name=site.name) for site in site_rows],
        specs=_specs(site_ids, codes, session=session, settings=settings),
        records=records,
    )
