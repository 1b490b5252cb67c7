"""Responses: one questionnaire filled, one interview or one observation entry, pinned to the spec
version it was collected with.

* ``responses`` holds the current state of each record (one row per client-generated UUID);
* ``response_revisions`` keeps every distinct content received (history, and both sides of a conflict);
* ``response_values`` is the aggregatable copy of the current revision's answers: one row per answered
  item (one per selected value for multiple choices), typed columns, repeat instances kept apart, so
  that analysis counts and cross-tabulates in SQL by stable item names across versions;
* ``response_files`` lists the attachments each current revision refers to (what is still missing is a
  join with ``attachments``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow


class ResponseStatus(StrEnum):
    accepted = "accepted"  # valid against its version
    needs_review = "needs_review"  # stored, but failed validation: reasons in ``problems``
    conflict = "conflict"  # two contents for one record: both kept, a coordinator chooses


class ReviewDecision(StrEnum):
    reviewed = "reviewed"
    approved = "approved"
    rejected = "rejected"


def _fk(table: str, *, nullable: bool, ondelete: str, index: bool = False) -> sa.Column[Any]:
    return sa.Column(
        sa.Integer, sa.ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable, index=index
    )


class Response(SQLModel, table=True):
    __tablename__ = "responses"
    __table_args__ = (
        sa.Index("ix_responses_spec_site_received", "spec_id", "site_id", "received_at"),
        sa.Index("ix_responses_change", "change_seq", "id"),
        sa.Index("ix_responses_author_change", "author_id", "change_seq", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The client-generated idempotency key (UUID, canonical lowercase text form).
    uuid: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    spec_id: int = Field(sa_column=_fk("specs", nullable=False, ondelete="RESTRICT"))
    spec_version_id: int = Field(sa_column=_fk("spec_versions", nullable=False, ondelete="RESTRICT"))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    site_id: int = Field(sa_column=_fk("sites", nullable=False, ondelete="RESTRICT", index=True))
    author_id: int | None = Field(default=None, sa_column=_fk("users", nullable=True, ondelete="SET NULL"))
    device_token_id: int | None = Field(
        default=None, sa_column=_fk("device_tokens", nullable=True, ondelete="SET NULL")
    )
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column("metadata", sa.JSON, nullable=False)
    )
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    # Interview records only: audience, consent, recording, timeline (docs/sync-protocol.md).
    interview: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    revision: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    base_revision: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False, index=True))
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    review: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    review_comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    reviewed_by: int | None = Field(default=None, sa_column=_fk("users", nullable=True, ondelete="SET NULL"))
    reviewed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    received_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    # Position in the change feed the pull reads (terrain.sync.service.next_change_seq).
    change_seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class ResponseRevision(SQLModel, table=True):
    """One distinct content received for a record. ``payload`` holds what the device sent (answers,
    metadata, interview, attachments, times); ``conflict`` marks a content that did not follow from the
    current revision and waits for a coordinator."""

    __tablename__ = "response_revisions"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "content_hash", name="uq_response_revisions_content"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(sa_column=_fk("responses", nullable=False, ondelete="CASCADE", index=True))
    revision: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    base_revision: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    spec_version_id: int = Field(sa_column=_fk("spec_versions", nullable=False, ondelete="RESTRICT"))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    conflict: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    # How this revision came to be: pushed | resolved (chosen or merged by a coordinator)
    origin: str = Field(default="pushed", sa_column=sa.Column(sa.String(16), nullable=False))
    author_id: int | None = Field(default=None, sa_column=_fk("users", nullable=True, ondelete="SET NULL"))
    device_token_id: int | None = Field(
        default=None, sa_column=_fk("device_tokens", nullable=True, ondelete="SET NULL")
    )
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


class ResponseValue(SQLModel, table=True):
    """One answered item of a record's current revision, typed for SQL aggregation.

    ``instance`` locates a repeat block ("" outside repeats; "membres.2" or "membres.2/enfants.1"),
    ``ordinal`` numbers the values of one multiple-choice or ranking answer (1, 2, …; 0 otherwise)."""

    __tablename__ = "response_values"
    __table_args__ = (
        sa.Index("ix_response_values_item_text", "spec_id", "item", "value_text"),
        sa.Index("ix_response_values_item_num", "spec_id", "item", "value_num"),
        # Summaries per version (a spec's indicators compared across its versions).
        sa.Index("ix_response_values_item_version_text", "spec_id", "item", "version", "value_text"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(sa_column=_fk("responses", nullable=False, ondelete="CASCADE", index=True))
    spec_id: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    site_id: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    item: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repeat: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    instance: str = Field(default="", sa_column=sa.Column(sa.String(1000), nullable=False))
    ordinal: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    value_type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # Choice values, short texts (<= 255 characters), dates and times as ISO text.
    value_text: str | None = Field(default=None, sa_column=sa.Column(sa.String(255), nullable=True))
    value_num: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    # Longer texts (notes), not indexed.
    value_long: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class ResponseFile(SQLModel, table=True):
    """An attachment the current revision of a record refers to."""

    __tablename__ = "response_files"
    __table_args__ = (sa.UniqueConstraint("response_id", "sha256", "item", name="uq_response_files"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(sa_column=_fk("responses", nullable=False, ondelete="CASCADE", index=True))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    item: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    media_type: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
