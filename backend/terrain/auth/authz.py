"""Authorization: the one place where role AND site decide what a principal may do.

Each action maps every role to a scope:

* ``ALL``  – allowed whatever the target's sites;
* ``SITE`` – allowed when the target belongs to at least one of the principal's sites;
* ``SITE_OR_UNASSIGNED`` – as ``SITE``, or when the target has no site yet (a new spec);
* ``EVERY_SITE`` – allowed when every site of the target is one of the principal's, or when the target
  has no site yet: changing what other sites' field workers use needs rights on those sites too;
* absent   – refused.

Routers and services call :func:`require` (raises ``auth.forbidden``) or :func:`allowed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from terrain.errors import TerrainError
from terrain.principals import Principal, Role


class Scope(StrEnum):
    ALL = "all"
    SITE = "site"
    SITE_OR_UNASSIGNED = "site_or_unassigned"
    EVERY_SITE = "every_site"


class Action(StrEnum):
    SPEC_READ = "spec.read"  # list specs, versions, compiled versions
    SPEC_READ_DRAFT = "spec.read_draft"  # drafts and YAML sources
    SPEC_WRITE = "spec.write"  # upload a draft, publish, close (a spec shared with other sites: no)
    SPEC_DIFF = "spec.diff"
    SPEC_EXPORT = "spec.export"  # download a version as an XLSForm (an authoring tool, audited)
    SPEC_ASSIGN = "spec.assign"  # change a spec's sites (rights on its current and new sites)
    USER_LIST = "user.list"
    USER_MANAGE = "user.manage"  # create users, change role/sites/active
    SITE_LIST = "site.list"
    SITE_MANAGE = "site.manage"
    AUDIT_READ = "audit.read"
    DEVICE_MANAGE = "device.manage"  # list and revoke other users' device tokens
    RESPONSE_COLLECT = "response.collect"  # push records (sync) on one's sites, pull their state
    AGGREGATE_READ = "aggregate.read"  # later: aggregated statistics
    # Send a photo, recording or file (content-addressed, tied to no site until a record refers to it).
    # Reading one back: whoever may read a record that refers to it (RESPONSE_REVIEW on its site, or its
    # author), or its uploader.
    ATTACHMENT_UPLOAD = "attachment.upload"
    # Review a site's records (decision, comment) and resolve their conflicts. Reading records: those of
    # the sites one reviews, plus one's own (whoever may collect sees what they collected).
    RESPONSE_REVIEW = "response.review"


A, C, F, V = Role.admin, Role.coordinator, Role.fieldworker, Role.viewer

POLICY: dict[Action, dict[Role, Scope]] = {
    Action.SPEC_READ: {A: Scope.ALL, C: Scope.ALL, F: Scope.SITE, V: Scope.SITE},
    Action.SPEC_READ_DRAFT: {A: Scope.ALL, C: Scope.ALL},
    Action.SPEC_WRITE: {A: Scope.ALL, C: Scope.EVERY_SITE},
    Action.SPEC_DIFF: {A: Scope.ALL, C: Scope.ALL},
    Action.SPEC_EXPORT: {A: Scope.ALL, C: Scope.ALL},
    Action.SPEC_ASSIGN: {A: Scope.ALL, C: Scope.EVERY_SITE},
    Action.USER_LIST: {A: Scope.ALL, C: Scope.SITE},
    Action.USER_MANAGE: {A: Scope.ALL},
    Action.SITE_LIST: {A: Scope.ALL, C: Scope.SITE, F: Scope.SITE, V: Scope.SITE},
    Action.SITE_MANAGE: {A: Scope.ALL},
    Action.AUDIT_READ: {A: Scope.ALL},
    Action.DEVICE_MANAGE: {A: Scope.ALL},
    Action.RESPONSE_COLLECT: {A: Scope.ALL, C: Scope.SITE, F: Scope.SITE},
    Action.AGGREGATE_READ: {A: Scope.ALL, C: Scope.SITE, F: Scope.SITE, V: Scope.SITE},
    Action.ATTACHMENT_UPLOAD: {A: Scope.ALL, C: Scope.ALL, F: Scope.ALL},
    Action.RESPONSE_REVIEW: {A: Scope.ALL, C: Scope.SITE},
}


def scope(principal: Principal, action: Action) -> Scope | None:
    """The principal's scope for ``action`` (``None``: refused whatever the target)."""
    return POLICY[action].get(principal.role)


def can_attempt(principal: Principal, action: Action) -> bool:
    """Whether the role may do ``action`` on at least some target."""
    return scope(principal, action) is not None


def allowed(principal: Principal, action: Action, site_ids: Iterable[int] | None = None) -> bool:
    """Whether ``principal`` may do ``action`` on a target attached to ``site_ids``.

    ``site_ids=None`` asks about the action in general (no particular target)."""
    granted = scope(principal, action)
    if granted is None:
        return False
    if granted is Scope.ALL or site_ids is None:
        return True
    targets = set(site_ids)
    if not targets:
        return granted in (Scope.SITE_OR_UNASSIGNED, Scope.EVERY_SITE)
    if granted is Scope.EVERY_SITE:
        return targets <= principal.site_ids
    return bool(targets & principal.site_ids)


def require(principal: Principal, action: Action, site_ids: Iterable[int] | None = None) -> None:
    """Raise ``auth.forbidden`` unless :func:`allowed`."""
    if not allowed(principal, action, site_ids):
        raise TerrainError("auth.forbidden", details={"action": action.value})


def visible_site_ids(principal: Principal, action: Action) -> frozenset[int] | None:
    """Sites whose targets the principal may see for ``action``; ``None`` means all sites."""
    granted = scope(principal, action)
    if granted is None:
        return frozenset()
    if granted is Scope.ALL:
        return None
    return principal.site_ids
