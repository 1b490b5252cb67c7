"""Sync bookkeeping: the change counter the pull cursor follows, and the answers to pushed batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow


class SyncCounter(SQLModel, table=True):
    """One row (id 1): the last change number handed out. A transaction takes the next number last,
    just before it commits, with the row locked: numbers become visible in the order they were given,
    so a pull that has read number N never misses a change numbered below N (no gap)."""

    __tablename__ = "sync_counter"

    id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    value: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class SyncBatch(SQLModel, table=True):
    """A pushed batch, by its client-generated id: a retried batch gets the very same answer back."""

    __tablename__ = "sync_batches"

    id: int | None = Field(default=None, primary_key=True)
    batch_uuid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    user_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    device_token_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("device_tokens.id", ondelete="SET NULL"), nullable=True
        ),
    )
    # SHA-256 of the canonical JSON of the records sent: the same id with other records is refused.
    request_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    results: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
