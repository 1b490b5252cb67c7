"""The audit log: who did what, when. ``details`` never hold personal data or secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
    # No foreign key: the log outlives the users it mentions.
    actor_user_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, nullable=True, index=True)
    )
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    target_type: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    target_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(128), nullable=True))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    ip: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
