"""Specs (questionnaires, interview guides, observation logs), their versions and site assignments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow


class VersionStatus(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"


class Spec(SQLModel, table=True):
    __tablename__ = "specs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    title: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


class SpecVersion(SQLModel, table=True):
    """One version of a spec. Drafts have no number (at most one per spec); published versions are
    numbered 1, 2, … and never change (only their status may go from published to closed)."""

    __tablename__ = "spec_versions"
    __table_args__ = (
        sa.UniqueConstraint("spec_id", "version", name="uq_spec_versions_spec_version"),
        sa.Index(
            "uq_spec_versions_one_draft",
            "spec_id",
            unique=True,
            sqlite_where=sa.text("status = 'draft'"),
            postgresql_where=sa.text("status = 'draft'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    spec_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("specs.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    source_yaml: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    compiled: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    published_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    closed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    closed_by: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )


class SpecSite(SQLModel, table=True):
    __tablename__ = "spec_sites"

    spec_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("specs.id", ondelete="CASCADE"), primary_key=True)
    )
    site_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,  # "who/what is on this site" (the migration creates it)
        )
    )


# Columns a published (or closed) version may never change.
IMMUTABLE_COLUMNS = (
    "spec_id",
    "version",
    "source_yaml",
    "compiled",
    "content_hash",
    "published_at",
    "published_by",
)

_LOCKED_STATUSES = (VersionStatus.published.value, VersionStatus.closed.value)
_ALLOWED_TRANSITIONS = {
    (VersionStatus.draft.value, VersionStatus.published.value),
    (VersionStatus.published.value, VersionStatus.closed.value),
}


@sa.event.listens_for(SpecVersion, "before_update")
def _refuse_changes_to_published(_mapper: Any, _connection: Any, target: SpecVersion) -> None:
    """Last line of defence: a published version never changes, whatever the caller."""
    from terrain.errors import TerrainError

    state = sa.inspect(target)
    status_history = state.attrs.status.history
    old_status = status_history.deleted[0] if status_history.deleted else target.status
    if status_history.deleted and (old_status, target.status) not in _ALLOWED_TRANSITIONS:
        raise TerrainError("spec.version_immutable")
    if old_status in _LOCKED_STATUSES:
        for column in IMMUTABLE_COLUMNS:
            if state.attrs[column].history.has_changes():
                raise TerrainError("spec.version_immutable")
