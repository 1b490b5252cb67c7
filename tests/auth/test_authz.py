"""Unit tests of the policy table (the matrix test covers the endpoints)."""

from __future__ import annotations

import pytest

from terrain.auth import authz
from terrain.auth.authz import POLICY, Action
from terrain.auth.service import Principal
from terrain.errors import TerrainError
from terrain.users.models import Role


def principal(role: Role, *sites: int) -> Principal:
    return Principal(id=1, role=role, site_ids=frozenset(sites))


def test_every_action_has_a_policy_and_admin_may_do_everything() -> None:
    assert set(POLICY) == set(Action)
    admin = principal(Role.admin)
    for action in Action:
        assert authz.allowed(admin, action, [42])
        assert authz.visible_site_ids(admin, action) is None


def test_site_scope() -> None:
    fieldworker = principal(Role.fieldworker, 1)
    assert authz.allowed(fieldworker, Action.SPEC_READ, [1, 2])
    assert not authz.allowed(fieldworker, Action.SPEC_READ, [2])
    assert not authz.allowed(fieldworker, Action.SPEC_READ, [])
    assert authz.visible_site_ids(fieldworker, Action.SITE_LIST) == frozenset({1})
    with pytest.raises(TerrainError) as caught:
        authz.require(fieldworker, Action.SPEC_WRITE)
    assert caught.value.code == "auth.forbidden" and caught.value.status == 403


def test_coordinator_writes_unassigned_or_own_specs() -> None:
    coordinator = principal(Role.coordinator, 1)
    assert authz.allowed(coordinator, Action.SPEC_WRITE, [])
    assert authz.allowed(coordinator, Action.SPEC_WRITE, [1])
    # A spec shared with a site that is not theirs: its field workers would be affected.
    assert not authz.allowed(coordinator, Action.SPEC_WRITE, [1, 3])
    assert not authz.allowed(coordinator, Action.SPEC_WRITE, [3])
    assert not authz.allowed(coordinator, Action.SPEC_ASSIGN, [1, 3])
    assert authz.allowed(coordinator, Action.SPEC_ASSIGN, [])
    assert not authz.allowed(coordinator, Action.USER_MANAGE)


def test_viewer_never_reads_personal_data() -> None:
    viewer = principal(Role.viewer, 1)
    assert not authz.allowed(viewer, Action.RESPONSE_REVIEW, [1])
    assert not authz.can_attempt(viewer, Action.RESPONSE_COLLECT)
    assert authz.allowed(viewer, Action.AGGREGATE_READ, [1])
    assert not authz.allowed(viewer, Action.USER_LIST)
