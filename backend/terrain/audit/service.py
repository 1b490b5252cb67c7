"""Recording and reading the audit log. Never put passwords, tokens or personal data in ``details``."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from terrain.audit.models import AuditLog

FORBIDDEN_DETAIL_KEYS = frozenset({"password", "token", "secret", "email", "password_hash"})


def record(
    action: str,
    *,
    session: Session,
    actor_user_id: int | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    details = dict(details or {})
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"audit details must not contain {sorted(leaked)}")
    entry = AuditLog(
        actor_user_id=actor_user_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
        ip=ip,
    )
    session.add(entry)
    return entry


def list_entries(
    *,
    session: Session,
    action: str | None = None,
    actor_user_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditLog]:
    query = select(AuditLog)
    if action:
        query = query.where(AuditLog.action == action)
    if actor_user_id is not None:
        query = query.where(AuditLog.actor_user_id == actor_user_id)
    if before_id is not None:
        query = query.where(col(AuditLog.id) < before_id)
    return list(session.exec(query.order_by(col(AuditLog.id).desc()).limit(limit)).all())
