"""Responses, their revisions and aggregatable values, attachments, sync bookkeeping, login failures.

Revision ID: 0003_responses_sync
Revises: 0002_token_generation
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from terrain.db import UTCDateTime

revision: str = "0003_responses_sync"
down_revision: str | None = "0002_token_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("spec_id", sa.Integer, sa.ForeignKey("specs.id", ondelete="RESTRICT"), nullable=False),
        sa.Column(
            "spec_version_id",
            sa.Integer,
            sa.ForeignKey("spec_versions.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "device_token_id",
            sa.Integer,
            sa.ForeignKey("device_tokens.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("interview", sa.JSON, nullable=True),
        sa.Column("attachments", sa.JSON, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("base_revision", sa.Integer, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.Column("review", sa.String(16), nullable=True),
        sa.Column("review_comment", sa.Text, nullable=True),
        sa.Column("reviewed_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_responses_site_id", "responses", ["site_id"])
    op.create_index("ix_responses_status", "responses", ["status"])
    op.create_index("ix_responses_spec_site_received", "responses", ["spec_id", "site_id", "received_at"])
    op.create_index("ix_responses_change", "responses", ["change_seq", "id"])
    op.create_index("ix_responses_author_change", "responses", ["author_id", "change_seq", "id"])

    op.create_table(
        "response_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "response_id", sa.Integer, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("base_revision", sa.Integer, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column(
            "spec_version_id",
            sa.Integer,
            sa.ForeignKey("spec_versions.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("conflict", sa.Boolean, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "device_token_id",
            sa.Integer,
            sa.ForeignKey("device_tokens.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("response_id", "content_hash", name="uq_response_revisions_content"),
    )
    op.create_index("ix_response_revisions_response_id", "response_revisions", ["response_id"])

    op.create_table(
        "response_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "response_id", sa.Integer, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("spec_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("site_id", sa.Integer, nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("repeat", sa.String(64), nullable=True),
        sa.Column("instance", sa.String(1000), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("value_type", sa.String(16), nullable=False),
        sa.Column("value_text", sa.String(255), nullable=True),
        sa.Column("value_num", sa.Float, nullable=True),
        sa.Column("value_long", sa.Text, nullable=True),
    )
    op.create_index("ix_response_values_response_id", "response_values", ["response_id"])
    op.create_index("ix_response_values_item_text", "response_values", ["spec_id", "item", "value_text"])
    op.create_index("ix_response_values_item_num", "response_values", ["spec_id", "item", "value_num"])
    op.create_index(
        "ix_response_values_item_version_text",
        "response_values",
        ["spec_id", "item", "version", "value_text"],
    )

    op.create_table(
        "response_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "response_id", sa.Integer, sa.ForeignKey("responses.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("response_id", "sha256", "item", name="uq_response_files"),
    )
    op.create_index("ix_response_files_response_id", "response_files", ["response_id"])
    op.create_index("ix_response_files_sha256", "response_files", ["sha256"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )

    counter = op.create_table(
        "sync_counter",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])

    op.create_table(
        "sync_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("batch_uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "device_token_id",
            sa.Integer,
            sa.ForeignKey("device_tokens.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("results", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email_key", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.create_index("ix_login_failures_key_ip_at", "login_failures", ["email_key", "ip", "at"])
    op.create_index("ix_login_failures_ip_at", "login_failures", ["ip", "at"])


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("sync_batches")
    op.drop_table("sync_counter")
    op.drop_table("attachments")
    op.drop_table("response_files")
    op.drop_table("response_values")
    op.drop_table("response_revisions")
    op.drop_table("responses")
