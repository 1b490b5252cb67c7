"""Device tokens: long-lived bearer secrets for the offline PWA (used by sync)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow


class DeviceToken(SQLModel, table=True):
    __tablename__ = "device_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # SHA-256 (hex) of the secret; the secret itself is shown once and never stored.
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))


class LoginFailure(SQLModel, table=True):
    """A failed login, kept for the rate limiter's window. In the database, so that the limit holds
    across server processes. The e-mail is stored as a keyed hash, never in clear."""

    __tablename__ = "login_failures"
    __table_args__ = (
        sa.Index("ix_login_failures_key_ip_at", "email_key", "ip", "at"),
        sa.Index("ix_login_failures_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email_key: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    ip: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
