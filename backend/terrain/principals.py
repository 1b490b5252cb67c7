"""Who is acting: roles and the principal. A leaf module (it imports no domain), so that ``auth``,
``users`` and every other domain can depend on it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    fieldworker = "fieldworker"
    viewer = "viewer"


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (with role and sites) or the system (CLI)."""

    id: int | None
    role: Role
    site_ids: frozenset[int] = field(default_factory=frozenset)
    language: str = "fr"
    device_token_id: int | None = None

    @property
    def is_system(self) -> bool:
        return self.id is None


SYSTEM = Principal(id=None, role=Role.admin)
