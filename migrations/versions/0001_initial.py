"""Initial schema: users, sites, specs and versions, device tokens, audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("language", sa.String(2), nullable=False, server_default="fr"),
        _ts("created_at"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint("role IN ('admin', 'coordinator', 'fieldworker', 'viewer')", name="ck_users_role"),
        sa.CheckConstraint("language IN ('fr', 'en')", name="ck_users_language"),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        _ts("created_at"),
        sa.UniqueConstraint("code", name="uq_sites_code"),
    )
    op.create_table(
        "user_sites",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_user_sites_site_id", "user_sites", ["site_id"])
    op.create_table(
        "specs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.JSON, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("name", name="uq_specs_name"),
    )
    op.create_table(
        "spec_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("spec_id", sa.Integer, sa.ForeignKey("specs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_yaml", sa.Text, nullable=False),
        sa.Column("compiled", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        _ts("created_at"),
        _ts("published_at", nullable=True),
        sa.Column("published_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("closed_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("spec_id", "version", name="uq_spec_versions_spec_version"),
        sa.CheckConstraint("status IN ('draft', 'published', 'closed')", name="ck_spec_versions_status"),
        sa.CheckConstraint(
            "(status = 'draft' AND version IS NULL) OR (status <> 'draft' AND version IS NOT NULL)",
            name="ck_spec_versions_numbered",
        ),
    )
    op.create_index("ix_spec_versions_spec_id", "spec_versions", ["spec_id"])
    op.create_index(
        "uq_spec_versions_one_draft",
        "spec_versions",
        ["spec_id"],
        unique=True,
        sqlite_where=sa.text("status = 'draft'"),
        postgresql_where=sa.text("status = 'draft'"),
    )
    op.create_table(
        "spec_sites",
        sa.Column("spec_id", sa.Integer, sa.ForeignKey("specs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_spec_sites_site_id", "spec_sites", ["site_id"])
    op.create_table(
        "device_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("last_used_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_device_tokens_token_hash"),
    )
    op.create_index("ix_device_tokens_user_id", "device_tokens", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _ts("at"),
        sa.Column("actor_user_id", sa.Integer, nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("target_id", sa.String(128), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor_user_id", "audit_log", ["actor_user_id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("device_tokens")
    op.drop_table("spec_sites")
    op.drop_table("spec_versions")
    op.drop_table("specs")
    op.drop_table("user_sites")
    op.drop_table("sites")
    op.drop_table("users")
