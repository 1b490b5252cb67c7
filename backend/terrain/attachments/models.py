"""Attachments, content-addressed: one row per SHA-256, whoever uploaded it and whichever records use it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow


class AttachmentStatus(StrEnum):
    uploading = "uploading"  # created, ``received`` bytes of ``size`` stored so far
    complete = "complete"  # every byte received and the SHA-256 checked


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    media_type: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    received: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    created_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
