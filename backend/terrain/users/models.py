"""Users and their site assignments."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from terrain.db import UTCDateTime, utcnow
from terrain.principals import Role

__all__ = ["Role", "User", "UserSite"]


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=sa.Column(sa.String(320), nullable=False, unique=True))
    display_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    role: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    active: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False, default=True))
    language: str = Field(default="fr", sa_column=sa.Column(sa.String(2), nullable=False, default="fr"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))
    # Carried by access tokens ("gen" claim); raised when the password changes, which ends every token
    # issued before.
    token_generation: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    )


class UserSite(SQLModel, table=True):
    __tablename__ = "user_sites"

    user_id: int = Field(
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    site_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,  # "who/what is on this site" (the migration creates it)
        )
    )
