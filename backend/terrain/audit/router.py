"""Audit log endpoint (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from terrain.audit import service
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.auth.deps import CurrentPrincipal, SessionDep
from terrain.errors import error_responses
from terrain.limits import NO_NUL, optional_id_query

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

# No text input may contain U+0000: PostgreSQL cannot store or even compare it (a 500, before), and no
# name, code or address has one. Stated in the schema, refused with 422 on every database alike.


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_user_id: int | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None


@router.get(
    "",
    response_model=list[AuditOut],
    summary="Journal d'audit, du plus récent au plus ancien (admin)",
    responses=error_responses(401, 403),
)
def list_audit(
    principal: CurrentPrincipal,
    session: SessionDep,
    action: str | None = Query(default=None, pattern=NO_NUL),
    actor_user_id: int | None = optional_id_query("Auteur / actor"),
    before_id: int | None = optional_id_query("Entrées plus anciennes que cet id / older than this id"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditOut]:
    authz.require(principal, Action.AUDIT_READ)
    rows = service.list_entries(
        session=session, action=action, actor_user_id=actor_user_id, before_id=before_id, limit=limit
    )
    return [AuditOut.model_validate(row, from_attributes=True) for row in rows]
