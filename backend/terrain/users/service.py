"""Users: creation, listing, role/site/active changes, first admin bootstrap."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.auth.service import end_all_sessions, hash_password
from terrain.errors import TerrainError
from terrain.principals import SYSTEM, Principal
from terrain.sites.service import sites_by_code
from terrain.users.models import Role, User, UserSite

MIN_PASSWORD_LENGTH = 10


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise TerrainError("user.invalid_role", role=value) from exc


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise TerrainError("user.weak_password", min_length=MIN_PASSWORD_LENGTH)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def user_site_ids(user_id: int, *, session: Session) -> list[int]:
    return sorted(session.exec(select(UserSite.site_id).where(UserSite.user_id == user_id)).all())


def _set_sites(user: User, site_codes: Sequence[str], *, session: Session) -> list[int]:
    assert user.id is not None
    wanted = {site.id for site in sites_by_code(site_codes, session=session) if site.id is not None}
    current = set(user_site_ids(user.id, session=session))
    for site_id in current - wanted:
        link = session.get(UserSite, (user.id, site_id))
        if link is not None:
            session.delete(link)
    for site_id in wanted - current:
        session.add(UserSite(user_id=user.id, site_id=site_id))
    session.flush()
    return sorted(wanted)


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    session: Session,
    actor: Principal,
    display_name: str = "",
    language: str = "fr",
    site_codes: Sequence[str] = (),
) -> User:
    authz.require(actor, Action.USER_MANAGE)
    email = normalize_email(email)
    checked_role = _role(role)
    _check_password(password)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise TerrainError("user.email_taken")
    user = User(
        email=email,
        display_name=display_name.strip() or email.split("@")[0],
        password_hash=hash_password(password),
        role=checked_role.value,
        language=language if language in ("fr", "en") else "fr",
    )
    session.add(user)
    session.flush()
    site_ids = _set_sites(user, site_codes, session=session)
    audit.record(
        "user.created",
        session=session,
        actor_user_id=actor.id,
        target_type="user",
        target_id=str(user.id),
        details={"role": checked_role.value, "site_ids": site_ids},
    )
    return user


def list_users(*, session: Session, actor: Principal) -> list[User]:
    authz.require(actor, Action.USER_LIST)
    query = select(User).order_by(col(User.id))
    visible = authz.visible_site_ids(actor, Action.USER_LIST)
    if visible is not None:
        members = select(UserSite.user_id).where(col(UserSite.site_id).in_(visible))
        query = query.where(col(User.id).in_(members))
    return list(session.exec(query).all())


def _active_admins(session: Session) -> int:
    return len(session.exec(select(User.id).where(User.role == Role.admin.value, col(User.active))).all())


def update_user(
    user_id: int,
    *,
    session: Session,
    actor: Principal,
    role: str | None = None,
    site_codes: Sequence[str] | None = None,
    active: bool | None = None,
    display_name: str | None = None,
    language: str | None = None,
    password: str | None = None,
) -> User:
    authz.require(actor, Action.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise TerrainError("user.not_found")
    was_active_admin = user.role == Role.admin.value and user.active
    if role is not None:
        new_role = _role(role).value
        if new_role != user.role:
            audit.record(
                "user.role_changed",
                session=session,
                actor_user_id=actor.id,
                target_type="user",
                target_id=str(user.id),
                details={"from": user.role, "to": new_role},
            )
            user.role = new_role
    if active is not None and active != user.active:
        user.active = active
        audit.record(
            "user.activated" if active else "user.deactivated",
            session=session,
            actor_user_id=actor.id,
            target_type="user",
            target_id=str(user.id),
        )
    if was_active_admin and not (user.role == Role.admin.value and user.active):
        session.add(user)
        session.flush()
        if _active_admins(session) == 0:
            raise TerrainError("user.last_admin")
    if display_name is not None:
        user.display_name = display_name.strip()
    if language is not None and language in ("fr", "en"):
        user.language = language
    if password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
        audit.record(
            "user.password_changed",
            session=session,
            actor_user_id=actor.id,
            target_type="user",
            target_id=str(user.id),
        )
        # A reset is often the answer to a lost phone or a leaked password: nothing issued before it
        # may keep working.
        end_all_sessions(user, session=session, actor_user_id=actor.id, reason="password_changed")
    session.add(user)
    session.flush()
    if site_codes is not None:
        site_ids = _set_sites(user, site_codes, session=session)
        audit.record(
            "user.sites_changed",
            session=session,
            actor_user_id=actor.id,
            target_type="user",
            target_id=str(user.id),
            details={"site_ids": site_ids},
        )
    return user


def get_user(user_id: int, *, session: Session) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise TerrainError("user.not_found")
    return user


@dataclass(frozen=True)
class BootstrapResult:
    created: bool
    email: str
    generated_password: str | None = None


def bootstrap_admin(
    *, session: Session, email: str | None = None, password: str | None = None
) -> BootstrapResult:
    """Create the first admin unless an active admin exists (idempotent).

    With ``email``/``password`` (from TERRAIN_ADMIN_EMAIL/TERRAIN_ADMIN_PASSWORD) they are used; otherwise
    ``admin@terrain.local`` with a generated password, returned once to be shown to the operator."""
    existing = session.exec(
        select(User).where(User.role == Role.admin.value, col(User.active)).order_by(col(User.id))
    ).first()
    if existing is not None:
        return BootstrapResult(created=False, email=existing.email)
    email = normalize_email(email or "admin@terrain.local")
    generated = None
    if not password:
        generated = secrets.token_urlsafe(15)
        password = generated
    same = session.exec(select(User).where(User.email == email)).first()
    if same is not None:
        user = update_user(
            same.id or 0, session=session, actor=SYSTEM, role=Role.admin.value, active=True, password=password
        )
    else:
        user = create_user(
            email, password, Role.admin.value, session=session, actor=SYSTEM, display_name="Admin"
        )
    return BootstrapResult(created=True, email=user.email, generated_password=generated)
