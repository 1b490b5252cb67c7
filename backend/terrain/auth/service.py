"""Authentication: passwords (argon2id), JWT access tokens, device tokens, login rate limiting."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.models import DeviceToken, LoginFailure
from terrain.config import Settings
from terrain.db import utcnow
from terrain.errors import TerrainError
from terrain.principals import SYSTEM, Principal, Role
from terrain.users.models import User, UserSite

__all__ = ["SYSTEM", "Principal"]  # re-exported for callers that log in and act

DEVICE_TOKEN_PREFIX = "tdt_"
# "Last used" of a device token is a hint for its owner: refreshed at most this often, not on every request.
DEVICE_LAST_USED_EVERY = timedelta(minutes=1)
JWT_ALGORITHM = "HS256"

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified when the email is unknown, so that both paths cost the same (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("terrain-dummy-password-for-constant-time")


# --- principal ---------------------------------------------------------------------------------


def principal_for(user: User, *, session: Session, device_token_id: int | None = None) -> Principal:
    site_ids = session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)).all()
    assert user.id is not None
    return Principal(
        id=user.id,
        role=Role(user.role),
        site_ids=frozenset(site_ids),
        language=user.language,
        device_token_id=device_token_id,
    )


# --- passwords ---------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- bounded password hashing -------------------------------------------------------------------


class HashGate:
    """At most ``slots`` password verifications at once (each costs 64 MiB and a core). Callers wait
    on the event loop, holding no worker thread, for at most ``wait_seconds``; then ``auth.busy``."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._semaphore: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore is None:  # created on first use, inside the server's event loop
            self._semaphore = asyncio.Semaphore(self.slots)
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            retry = max(1, int(self.wait_seconds))
            raise TerrainError("auth.busy", retry_after=retry, headers={"Retry-After": str(retry)}) from None
        try:
            yield
        finally:
            self._semaphore.release()


# --- login rate limiting -----------------------------------------------------------------------


class LoginRateLimiter:
    """At most ``login_max_failures`` failed logins per (email, IP), and
    ``login_max_failures_per_address`` per IP whatever the e-mail (guessing with random e-mails), within
    ``login_window_seconds``.

    The failures live in the table ``login_failures``, so every server process sharing the database
    shares the limit. The e-mail is stored as an HMAC-SHA256 keyed with the signing key, never in clear.
    Each method runs its own short transaction on a connection of its own: a failure stays counted even
    when the login's transaction is rolled back. Every method but ``remembered_retry_after`` and
    ``email_key`` queries the database: call them from the threadpool."""

    # Rows older than the window deleted with each recorded failure: bounded, so one failure never
    # pays for a whole backlog; each failure adds one row and removes up to this many.
    prune_batch = 500
    # A refusal holds until the failure it was computed from leaves the window (failures in the window are
    # deleted only by a success, which a refusal prevents), so each process remembers it for a few seconds:
    # a flood of refused attempts costs no query. Only a few seconds, since a success that raced with the
    # last failures may have cleared them in another process. Bounded in number.
    remember_seconds = 5.0
    max_remembered = 10_000

    def __init__(self, engine: Engine, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.settings = settings
        self.max_failures = settings.login_max_failures
        self.max_per_address = settings.login_max_failures_per_address
        self.window = timedelta(seconds=settings.login_window_seconds)
        self.clock = clock
        # (email key, ip) or ("", ip) for the per-address limit -> (allowed again at, remembered until)
        self._refusals: dict[tuple[str, str], tuple[datetime, datetime]] = {}
        self._lock = threading.Lock()

    def email_key(self, email: str) -> str:
        """The stored form of an e-mail: HMAC-SHA256 (hex) keyed with the signing key. Without the key,
        the table tells nobody which addresses were tried."""
        normalised = email.strip().lower().encode("utf-8", "surrogatepass")
        return hmac.new(self.settings.signing_key().encode(), normalised, hashlib.sha256).hexdigest()

    @staticmethod
    def _ip(ip: str) -> str:
        # The column holds 64 characters (an IPv6 address has at most 45); anything longer is hashed.
        return ip if len(ip) <= 64 else hashlib.sha256(ip.encode("utf-8", "surrogatepass")).hexdigest()

    def _keys(self, email: str, ip: str) -> tuple[tuple[str, str], tuple[str, str]]:
        ip = self._ip(ip)
        return (self.email_key(email), ip), ("", ip)

    @staticmethod
    def _seconds(until: datetime, now: datetime) -> int:
        return max(1, math.ceil((until - now).total_seconds()))

    def _recalled(self, keys: tuple[tuple[str, str], ...], now: datetime) -> datetime | None:
        latest = None
        with self._lock:
            for key in keys:
                refusal = self._refusals.get(key)
                if refusal is None:
                    continue
                if now >= min(refusal):
                    del self._refusals[key]
                elif latest is None or refusal[0] > latest:
                    latest = refusal[0]
        return latest

    def _remember(self, key: tuple[str, str], allowed_at: datetime, now: datetime) -> None:
        with self._lock:
            if len(self._refusals) >= self.max_remembered:
                self._refusals = {k: v for k, v in self._refusals.items() if now < min(v)}
                if len(self._refusals) >= self.max_remembered:
                    self._refusals.clear()  # only a cache: the database still holds every failure
            self._refusals[key] = (allowed_at, now + timedelta(seconds=self.remember_seconds))

    def remembered_retry_after(self, email: str, ip: str) -> int:
        """A refusal this process saw in the last seconds (0 when none). Memory only: safe to call on the
        event loop; 0 does not mean allowed (ask ``retry_after``)."""
        now = self.clock()
        allowed_at = self._recalled(self._keys(email, ip), now)
        return 0 if allowed_at is None else self._seconds(allowed_at, now)

    def _allowed_at(
        self, connection: sa.Connection, where: list[Any], limit: int, now: datetime
    ) -> datetime | None:
        # The ``limit``-th newest failure still in the window: once it leaves, an attempt is allowed again.
        # With exactly ``limit`` failures in the window it is the oldest one.
        at = col(LoginFailure.at)
        query = (
            sa.select(at).where(*where, at > now - self.window).order_by(at.desc()).offset(limit - 1).limit(1)
        )
        counted: datetime | None = connection.execute(query).scalar()
        return None if counted is None else counted + self.window

    def retry_after(self, email: str, ip: str) -> int:
        """Seconds to wait before the next attempt (0 when allowed)."""
        now = self.clock()
        per_email, per_address = self._keys(email, ip)
        recalled = self._recalled((per_email, per_address), now)
        if recalled is not None:
            return self._seconds(recalled, now)
        same_ip = col(LoginFailure.ip) == per_email[1]
        limits = (
            (per_email, [col(LoginFailure.email_key) == per_email[0], same_ip], self.max_failures),
            (per_address, [same_ip], self.max_per_address),
        )
        wait = 0
        with self.engine.connect() as connection:
            for key, where, limit in limits:
                allowed_at = self._allowed_at(connection, where, limit, now)
                if allowed_at is not None:
                    self._remember(key, allowed_at, now)
                    wait = max(wait, self._seconds(allowed_at, now))
        return wait

    def record_failure(self, email: str, ip: str) -> None:
        """Count one failure (committed at once), and prune rows that left the window."""
        now = self.clock()
        stale = (
            sa.select(col(LoginFailure.id))
            .where(col(LoginFailure.at) <= now - self.window)
            .limit(self.prune_batch)
            # PostgreSQL: two processes pruning at once skip each other's rows instead of deadlocking.
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(LoginFailure).values(email_key=self.email_key(email), ip=self._ip(ip), at=now)
            )
            connection.execute(sa.delete(LoginFailure).where(col(LoginFailure.id).in_(stale)))

    def reset(self, email: str, ip: str) -> None:
        """A successful login clears the failures of this (email, IP)."""
        keys = self._keys(email, ip)
        with self._lock:
            for key in keys:
                self._refusals.pop(key, None)
        with self.engine.begin() as connection:
            connection.execute(
                sa.delete(LoginFailure).where(
                    col(LoginFailure.email_key) == keys[0][0], col(LoginFailure.ip) == keys[0][1]
                )
            )


# --- access tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"


def issue_access_token(user: User, *, settings: Settings, now: datetime | None = None) -> AccessToken:
    now = now or datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "typ": "access",
        "gen": user.token_generation,
    }
    token = jwt.encode(claims, settings.signing_key(), algorithm=JWT_ALGORITHM)
    return AccessToken(access_token=token, expires_in=int(lifetime.total_seconds()))


@dataclass(frozen=True)
class LoginResult:
    """What a password login issues: an access token, and a device token when one was asked for (its
    secret is shown once: only its hash is stored)."""

    access: AccessToken
    device: DeviceToken | None = None
    device_secret: str | None = None


def login(
    email: str,
    password: str,
    *,
    session: Session,
    settings: Settings,
    limiter: LoginRateLimiter,
    ip: str,
    device_name: str | None = None,
) -> LoginResult:
    """Check the credentials; audit the attempt; refuse when rate limited. With ``device_name``, also
    create a device token for the user in the same transaction (how the PWA signs in on a phone).

    Blocking (password hash, database): call it from the threadpool. ``session`` must hold no pending
    change: its connection is handed back before the password is checked."""
    email = email.strip().lower()
    wait = limiter.retry_after(email, ip)
    if wait:
        audit.record("auth.rate_limited", session=session, ip=ip, details={})
        session.commit()
        raise TerrainError("auth.rate_limited", retry_after=wait, headers={"Retry-After": str(wait)})
    user = session.exec(select(User).where(User.email == email)).first()
    # Give the connection back (the user stays loaded, detached): none is held during the slow hash, and
    # the limiter's own transactions below never wait for a second connection while holding one.
    session.close()
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        limiter.record_failure(email, ip)
        reason = "unknown_user" if user is None else ("bad_password" if not ok else "inactive")
        audit.record(
            "auth.login_failed",
            session=session,
            actor_user_id=user.id if user else None,
            target_type="user" if user else None,
            target_id=str(user.id) if user else None,
            details={"reason": reason},
            ip=ip,
        )
        session.commit()
        raise TerrainError("auth.invalid_credentials", headers={"WWW-Authenticate": "Bearer"})
    limiter.reset(email, ip)
    session.add(user)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(
        "auth.login",
        session=session,
        actor_user_id=user.id,
        target_type="user",
        target_id=str(user.id),
        ip=ip,
    )
    access = issue_access_token(user, settings=settings)
    if device_name is None:
        return LoginResult(access=access)
    # An interactive login: the principal carries no device token, so create_device_token allows it.
    device, secret = create_device_token(
        device_name, session=session, actor=principal_for(user, session=session)
    )
    return LoginResult(access=access, device=device, device_secret=secret)


def _invalid_token() -> TerrainError:
    return TerrainError("auth.invalid_token", headers={"WWW-Authenticate": "Bearer"})


def authenticate_bearer(token: str, *, session: Session, settings: Settings) -> Principal:
    """A bearer token (JWT access token or ``tdt_`` device token) -> the acting principal."""
    if token.startswith(DEVICE_TOKEN_PREFIX):
        return _authenticate_device_token(token, session=session)
    try:
        claims = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise _invalid_token() from exc
    if claims.get("typ") != "access":
        raise _invalid_token()
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise _invalid_token()
    if claims.get("gen", 0) != user.token_generation:  # issued before a password change
        raise _invalid_token()
    return principal_for(user, session=session)


# --- device tokens -----------------------------------------------------------------------------


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _device_revoked() -> TerrainError:
    # Distinct from auth.invalid_token: the PWA must keep what it collected offline and ask the user
    # to sign in again, never wipe the device.
    return TerrainError(
        "auth.device_revoked", details={"keep_local_data": True}, headers={"WWW-Authenticate": "Bearer"}
    )


def _authenticate_device_token(token: str, *, session: Session) -> Principal:
    digest = _token_hash(token)
    row = session.exec(select(DeviceToken).where(DeviceToken.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise _invalid_token()
    if row.revoked_at is not None:
        raise _device_revoked()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise _device_revoked()
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= DEVICE_LAST_USED_EVERY:
        row.last_used_at = now
        session.add(row)
    # Not flushed here: an autoflush made the request a writer during authentication, outside any
    # handling of a busy database (SQLite under a sync burst answered 500 "database is locked"). The
    # refresh is written with the request's own first write, where the sync push retries.
    with session.no_autoflush:
        return principal_for(user, session=session, device_token_id=row.id)


def create_device_token(name: str, *, session: Session, actor: Principal) -> tuple[DeviceToken, str]:
    """A new device token for the actor; returns the row and the secret (shown once, never stored).

    Only an interactive login (an access token from the password) issues one: a device token never
    mints others, so revoking a device ends everything it could do."""
    assert actor.id is not None
    if actor.device_token_id is not None:
        raise TerrainError("auth.interactive_login_required")
    secret = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = DeviceToken(user_id=actor.id, name=name.strip(), token_hash=_token_hash(secret))
    session.add(row)
    session.flush()
    audit.record(
        "auth.device_token_created",
        session=session,
        actor_user_id=actor.id,
        target_type="device_token",
        target_id=str(row.id),
    )
    return row, secret


def list_device_tokens(
    *, session: Session, actor: Principal, user_id: int | None = None
) -> list[DeviceToken]:
    """The devices of ``user_id`` (default: the actor's own). Another user's: admins only."""
    owner = actor.id if user_id is None else user_id
    if owner != actor.id and not _manages_devices(actor):
        raise TerrainError("auth.forbidden", details={"action": "device.manage"})
    if user_id is not None and session.get(User, user_id) is None:
        raise TerrainError("user.not_found")
    return list(
        session.exec(
            select(DeviceToken).where(DeviceToken.user_id == owner).order_by(col(DeviceToken.id))
        ).all()
    )


def _manages_devices(actor: Principal) -> bool:
    return authz.allowed(actor, authz.Action.DEVICE_MANAGE)


def revoke_device_token(token_id: int, *, session: Session, actor: Principal) -> DeviceToken:
    """Revoke one device token: the owner's own, or any for an admin (a lost or stolen phone)."""
    row = session.get(DeviceToken, token_id)
    if row is None or (row.user_id != actor.id and not _manages_devices(actor)):
        raise TerrainError("auth.device_token_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            "auth.device_token_revoked",
            session=session,
            actor_user_id=actor.id,
            target_type="device_token",
            target_id=str(row.id),
            details={"owner_user_id": row.user_id} if row.user_id != actor.id else {},
        )
    return row


def end_all_sessions(user: User, *, session: Session, actor_user_id: int | None, reason: str) -> int:
    """After a password change or reset: every access token and device token of ``user`` stops working.
    Returns how many device tokens were revoked."""
    user.token_generation += 1
    session.add(user)
    now = utcnow()
    rows = session.exec(
        select(DeviceToken).where(DeviceToken.user_id == user.id, col(DeviceToken.revoked_at).is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    audit.record(
        "auth.sessions_ended",
        session=session,
        actor_user_id=actor_user_id,
        target_type="user",
        target_id=str(user.id),
        details={"reason": reason, "device_tokens_revoked": len(rows)},
    )
    return len(rows)
