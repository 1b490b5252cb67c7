"""Specs: drafts, publication (immutable integer versions), closing, diffs and site assignments.

Compilation, validation and diffs are delegated to :mod:`terrain.speclang`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

import terrain.speclang as speclang
from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.db import utcnow
from terrain.errors import TerrainError
from terrain.principals import Principal
from terrain.sites.service import sites_by_code
from terrain.specs.models import Spec, SpecSite, SpecVersion, VersionStatus

DRAFT = "draft"


# --- compilation -------------------------------------------------------------------------------


def issue_to_dict(issue: Any, lang: str = "fr") -> dict[str, Any]:
    severity = getattr(issue, "severity", "error")
    return {
        "file": getattr(issue, "file", None),
        "line": getattr(issue, "line", None),
        "col": getattr(issue, "col", None),
        "path": getattr(issue, "path", None),
        "code": getattr(issue, "code", None),
        "severity": str(getattr(severity, "value", severity)),
        "params": dict(getattr(issue, "params", None) or {}),
        "message": speclang.render(issue, lang=lang),
    }


@dataclass(frozen=True)
class Compiled:
    compiled: dict[str, Any]
    content_hash: str
    warnings: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return str(self.compiled["name"])


def compile_source(source: str, *, filename: str = "spec.yaml", lang: str = "fr") -> Compiled:
    """Compile YAML text; raise ``spec.invalid`` (422) with every issue rendered in ``lang``."""
    result = speclang.compile_text(source, filename)
    if not result.ok or result.compiled is None:
        issues = [issue_to_dict(issue, lang) for issue in result.issues]
        errors = [issue for issue in issues if issue["severity"] == "error"]
        raise TerrainError("spec.invalid", count=len(errors) or len(issues), details={"issues": issues})
    content_hash = result.hash or speclang.content_hash(result.compiled)
    warnings = [issue_to_dict(issue, lang) for issue in result.warnings]
    return Compiled(compiled=result.compiled, content_hash=content_hash, warnings=warnings)


# --- lookups -----------------------------------------------------------------------------------


def _get_spec(name: str, *, session: Session) -> Spec:
    spec = session.exec(select(Spec).where(Spec.name == name)).first()
    if spec is None:
        raise TerrainError("spec.not_found", name=name)
    return spec


def spec_site_ids(spec: Spec, *, session: Session) -> list[int]:
    return sorted(session.exec(select(SpecSite.site_id).where(SpecSite.spec_id == spec.id)).all())


def versions(spec: Spec, *, session: Session) -> list[SpecVersion]:
    """Numbered versions, oldest first (drafts excluded)."""
    return list(
        session.exec(
            select(SpecVersion)
            .where(SpecVersion.spec_id == spec.id, SpecVersion.status != VersionStatus.draft.value)
            .order_by(col(SpecVersion.version))
        ).all()
    )


def latest_version(spec: Spec, *, session: Session) -> SpecVersion | None:
    return session.exec(
        select(SpecVersion)
        .where(SpecVersion.spec_id == spec.id, SpecVersion.status != VersionStatus.draft.value)
        .order_by(col(SpecVersion.version).desc())
    ).first()


def draft_of(spec: Spec, *, session: Session) -> SpecVersion | None:
    return session.exec(
        select(SpecVersion).where(
            SpecVersion.spec_id == spec.id, SpecVersion.status == VersionStatus.draft.value
        )
    ).first()


def _can_read(actor: Principal, spec: Spec, *, session: Session, open_only: bool = False) -> bool:
    if not authz.allowed(actor, Action.SPEC_READ, spec_site_ids(spec, session=session)):
        return False
    if authz.allowed(actor, Action.SPEC_READ_DRAFT):
        return True
    # Field accounts never see drafts. They open any numbered version (a closed one stays readable for
    # the records collected with it), but the list shows only specs they can collect with now.
    if open_only:
        return has_open_version(spec, session=session)
    return latest_version(spec, session=session) is not None


def has_open_version(spec: Spec, *, session: Session) -> bool:
    return (
        session.exec(
            select(SpecVersion.id).where(
                SpecVersion.spec_id == spec.id, SpecVersion.status == VersionStatus.published.value
            )
        ).first()
        is not None
    )


def get_visible_spec(name: str, *, session: Session, actor: Principal) -> Spec:
    """The spec, or ``spec.not_found`` when it does not exist or is not visible to ``actor``."""
    spec = _get_spec(name, session=session)
    if not _can_read(actor, spec, session=session):
        raise TerrainError("spec.not_found", name=name)
    return spec


def _writable_spec(name: str, *, session: Session, actor: Principal) -> Spec | None:
    """For writes: 403 when the role cannot write at all, ``None`` when the spec does not exist yet,
    403 when it belongs only to other sites."""
    if not authz.can_attempt(actor, Action.SPEC_WRITE):
        raise TerrainError("auth.forbidden", details={"action": Action.SPEC_WRITE.value})
    spec = session.exec(select(Spec).where(Spec.name == name)).first()
    if spec is not None:
        authz.require(actor, Action.SPEC_WRITE, spec_site_ids(spec, session=session))
    return spec


def list_specs(*, session: Session, actor: Principal) -> list[Spec]:
    authz.require(actor, Action.SPEC_READ)
    specs = session.exec(select(Spec).order_by(col(Spec.name))).all()
    return [spec for spec in specs if _can_read(actor, spec, session=session, open_only=True)]


def get_version(name: str, number: int, *, session: Session, actor: Principal) -> tuple[Spec, SpecVersion]:
    spec = get_visible_spec(name, session=session, actor=actor)
    row = session.exec(
        select(SpecVersion).where(SpecVersion.spec_id == spec.id, SpecVersion.version == number)
    ).first()
    if row is None:
        raise TerrainError("spec.version_not_found", name=name, version=number)
    return spec, row


# --- drafts and publication --------------------------------------------------------------------


@dataclass
class DraftResult:
    spec: Spec
    draft: SpecVersion
    created: bool
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _new_spec(compiled: Compiled, *, session: Session, actor: Principal) -> Spec:
    spec = Spec(
        name=compiled.name,
        kind=str(compiled.compiled.get("kind", "")),
        title=dict(compiled.compiled.get("title") or {}),
        created_by=actor.id,
    )
    session.add(spec)
    session.flush()
    return spec


def check_source(source: str, *, actor: Principal, filename: str = "spec.yaml", lang: str = "fr") -> Compiled:
    """What publishing ``source`` would say, saving nothing (an editor checks as the coordinator types):
    ``spec.invalid`` (422) with every issue, or the compiled spec and its warnings."""
    if not authz.can_attempt(actor, Action.SPEC_WRITE):
        raise TerrainError("auth.forbidden", details={"action": Action.SPEC_WRITE.value})
    return compile_source(source, filename=filename, lang=lang)


def save_draft(
    source: str,
    *,
    session: Session,
    actor: Principal,
    filename: str = "spec.yaml",
    lang: str = "fr",
    replace_draft: bool = True,
) -> DraftResult:
    """Validate ``source`` and store it as the draft of its spec (created when new). With
    ``replace_draft=False`` an existing draft is kept and ``spec.draft_exists`` raised."""
    if not authz.can_attempt(actor, Action.SPEC_WRITE):
        raise TerrainError("auth.forbidden", details={"action": Action.SPEC_WRITE.value})
    compiled = compile_source(source, filename=filename, lang=lang)
    spec = _writable_spec(compiled.name, session=session, actor=actor)
    created = spec is None
    if spec is None:
        spec = _new_spec(compiled, session=session, actor=actor)
    draft = draft_of(spec, session=session)
    if draft is not None and not replace_draft:
        raise TerrainError("spec.draft_exists", name=spec.name, details={"name": spec.name})
    if draft is None:
        draft = SpecVersion(
            spec_id=spec.id or 0,
            status=VersionStatus.draft.value,
            source_yaml=source,
            compiled=compiled.compiled,
            content_hash=compiled.content_hash,
            created_by=actor.id,
        )
    else:
        draft.source_yaml = source
        draft.compiled = compiled.compiled
        draft.content_hash = compiled.content_hash
        draft.created_by = actor.id
        draft.created_at = utcnow()
    session.add(draft)
    session.flush()
    audit.record(
        "spec.draft_saved",
        session=session,
        actor_user_id=actor.id,
        target_type="spec",
        target_id=spec.name,
        details={"content_hash": compiled.content_hash},
    )
    return DraftResult(spec=spec, draft=draft, created=created, warnings=compiled.warnings)


@dataclass
class PublishResult:
    spec: Spec
    version: SpecVersion
    changed: bool
    warnings: list[dict[str, Any]] = field(default_factory=list)


def publish(
    name: str,
    *,
    session: Session,
    actor: Principal,
    source: str | None = None,
    filename: str | None = None,
    lang: str = "fr",
) -> PublishResult:
    """Publish the draft of ``name`` (or ``source``) as a new immutable version.

    Unchanged content (same hash as the latest version) is a no-op (``changed=False``); a breaking
    change against the latest version is refused with ``spec.breaking_change`` (409) and the diff."""
    spec = _writable_spec(name, session=session, actor=actor)
    draft = draft_of(spec, session=session) if spec is not None else None
    warnings: list[dict[str, Any]] = []
    if source is not None:
        compiled = compile_source(source, filename=filename or f"{name}.yaml", lang=lang)
        if compiled.name != name:
            raise TerrainError("spec.name_mismatch", found=compiled.name, expected=name)
        new_compiled, new_hash, new_source = compiled.compiled, compiled.content_hash, source
        warnings = compiled.warnings
    elif draft is not None:
        new_compiled, new_hash, new_source = draft.compiled, draft.content_hash, draft.source_yaml
    elif spec is None:
        raise TerrainError("spec.not_found", name=name)
    else:
        raise TerrainError("spec.no_draft", name=name)

    if spec is None:
        spec = _new_spec(
            Compiled(compiled=new_compiled, content_hash=new_hash, warnings=[]), session=session, actor=actor
        )
    latest = latest_version(spec, session=session)
    if latest is not None and latest.content_hash == new_hash:
        if draft is not None and draft.content_hash == new_hash:
            session.delete(draft)
            session.flush()
        return PublishResult(spec=spec, version=latest, changed=False, warnings=warnings)
    if latest is not None:
        difference = speclang.diff(latest.compiled, new_compiled)
        if difference.breaking:
            # Each refused change named, in the caller's language, with what to do instead.
            breaking = [
                {
                    "target": change.target,
                    "name": change.name,
                    "reason": change.reason,
                    "message": speclang.describe_change(change, lang),
                }
                for change in difference.breaking_changes
            ]
            names = [change.name for change in difference.breaking_changes]
            raise TerrainError(
                "spec.breaking_change",
                name=name,
                version=latest.version,
                items=", ".join(names[:5]) + (f", … (+{len(names) - 5})" if len(names) > 5 else ""),
                details={"diff": difference.to_dict(), "breaking": breaking},
            )
    number = (latest.version or 0) + 1 if latest is not None else 1
    now = utcnow()
    if draft is not None and draft.content_hash == new_hash:
        row = draft
        row.status = VersionStatus.published.value
        row.version = number
    else:
        row = SpecVersion(
            spec_id=spec.id or 0,
            status=VersionStatus.published.value,
            version=number,
            source_yaml=new_source,
            compiled=new_compiled,
            content_hash=new_hash,
            created_by=actor.id,
        )
    row.published_at = now
    row.published_by = actor.id
    session.add(row)
    spec.kind = str(new_compiled.get("kind", spec.kind))
    spec.title = dict(new_compiled.get("title") or spec.title)
    session.add(spec)
    session.flush()
    audit.record(
        "spec.published",
        session=session,
        actor_user_id=actor.id,
        target_type="spec",
        target_id=spec.name,
        details={"version": number, "content_hash": new_hash},
    )
    return PublishResult(spec=spec, version=row, changed=True, warnings=warnings)


def close_version(name: str, number: int, *, session: Session, actor: Principal) -> SpecVersion:
    spec = _writable_spec(name, session=session, actor=actor)
    if spec is None:
        raise TerrainError("spec.not_found", name=name)
    row = session.exec(
        select(SpecVersion).where(SpecVersion.spec_id == spec.id, SpecVersion.version == number)
    ).first()
    if row is None:
        raise TerrainError("spec.version_not_found", name=name, version=number)
    if row.status != VersionStatus.published.value:
        raise TerrainError("spec.version_not_published", name=name, version=number, status=row.status)
    row.status = VersionStatus.closed.value
    row.closed_at = utcnow()
    row.closed_by = actor.id
    session.add(row)
    session.flush()
    audit.record(
        "spec.closed",
        session=session,
        actor_user_id=actor.id,
        target_type="spec",
        target_id=spec.name,
        details={"version": number},
    )
    return row


def update_published_version(row: SpecVersion, **changes: Any) -> None:
    """Refuse any change to a numbered version (there is deliberately no way to edit one)."""
    if row.status != VersionStatus.draft.value:
        raise TerrainError("spec.version_immutable")
    for key, value in changes.items():
        setattr(row, key, value)


# --- diff --------------------------------------------------------------------------------------


def _resolve(spec: Spec, ref: str | int, *, session: Session) -> SpecVersion:
    if ref == DRAFT:
        draft = draft_of(spec, session=session)
        if draft is None:
            raise TerrainError("spec.no_draft", name=spec.name)
        return draft
    try:
        number = int(ref)
    except (TypeError, ValueError) as exc:
        raise TerrainError("spec.version_not_found", name=spec.name, version=ref) from exc
    row = session.exec(
        select(SpecVersion).where(SpecVersion.spec_id == spec.id, SpecVersion.version == number)
    ).first()
    if row is None:
        raise TerrainError("spec.version_not_found", name=spec.name, version=number)
    return row


def diff_versions(
    name: str,
    *,
    session: Session,
    actor: Principal,
    from_ref: str | int | None = None,
    to_ref: str | int | None = None,
) -> dict[str, Any]:
    """Diff two versions (``draft`` allowed). Defaults: the draft (or latest version) against the
    version before it."""
    authz.require(actor, Action.SPEC_DIFF)
    spec = get_visible_spec(name, session=session, actor=actor)
    if to_ref is None:
        to_ref = DRAFT if draft_of(spec, session=session) is not None else None
        if to_ref is None:
            latest = latest_version(spec, session=session)
            if latest is None:
                raise TerrainError("spec.no_draft", name=name)
            to_ref = latest.version or 0
    new = _resolve(spec, to_ref, session=session)
    if from_ref is None:
        numbered = [
            row
            for row in versions(spec, session=session)
            if new.version is None or (row.version or 0) < new.version
        ]
        if not numbered:
            raise TerrainError("spec.version_not_found", name=name, version=0)
        from_ref = numbered[-1].version or 0
    old = _resolve(spec, from_ref, session=session)
    difference = speclang.diff(old.compiled, new.compiled)
    return {
        "name": spec.name,
        "from": old.version if old.version is not None else DRAFT,
        "to": new.version if new.version is not None else DRAFT,
        "breaking": bool(difference.breaking),
        "is_empty": bool(difference.is_empty),
        "diff": difference.to_dict(),
    }


# --- sites -------------------------------------------------------------------------------------


def assign_sites(name: str, codes: Sequence[str], *, session: Session, actor: Principal) -> list[int]:
    """Replace the sites where ``name`` is used.

    Changing them needs rights on every site the spec has now (its field workers depend on it) and on
    every site requested: a coordinator cannot take over, nor drop, another site's spec."""
    if not authz.can_attempt(actor, Action.SPEC_ASSIGN):
        raise TerrainError("auth.forbidden", details={"action": Action.SPEC_ASSIGN.value})
    spec = _get_spec(name, session=session)
    requested = {site.id for site in sites_by_code(codes, session=session) if site.id is not None}
    current = set(spec_site_ids(spec, session=session))
    authz.require(actor, Action.SPEC_ASSIGN, current)
    authz.require(actor, Action.SPEC_ASSIGN, requested)
    wanted = requested
    for site_id in current - wanted:
        link = session.get(SpecSite, (spec.id, site_id))
        if link is not None:
            session.delete(link)
    for site_id in wanted - current:
        session.add(SpecSite(spec_id=spec.id or 0, site_id=site_id))
    session.flush()
    audit.record(
        "site.assigned",
        session=session,
        actor_user_id=actor.id,
        target_type="spec",
        target_id=spec.name,
        details={
            "site_ids": sorted(wanted),
            "added": sorted(wanted - current),
            "removed": sorted(current - wanted),
        },
    )
    return sorted(wanted)


# --- XLSForm -----------------------------------------------------------------------------------


def xlsform_report(messages: Sequence[Any], lang: str = "fr") -> list[dict[str, Any]]:
    """The import report as JSON: one entry per message, with its place in the workbook."""
    from terrain.xlsform import render_message

    return [
        {
            "severity": str(getattr(msg.severity, "value", msg.severity)),
            "sheet": msg.sheet,
            "row": msg.row,
            "column": msg.column,
            "code": msg.code,
            "message": render_message(msg, lang),
        }
        for msg in messages
    ]


@dataclass
class XlsformImport:
    draft: DraftResult
    report: list[dict[str, Any]]


def import_xlsform(
    data: bytes,
    filename: str,
    *,
    session: Session,
    actor: Principal,
    lang: str = "fr",
    replace: bool = False,
) -> XlsformImport:
    """Convert an uploaded XLSForm and store it as the draft of its spec (publication stays explicit).

    A draft of the same spec (same ``form_id``) is replaced only when asked (``replace``): two workbooks
    sharing a form_id must not silently overwrite each other's work."""
    from terrain.xlsform import import_xlsform as convert

    if not authz.can_attempt(actor, Action.SPEC_WRITE):
        raise TerrainError("auth.forbidden", details={"action": Action.SPEC_WRITE.value})
    result = convert(data, filename)
    report = xlsform_report(result.report, lang)
    if not result.ok or result.yaml_text is None:
        errors = [entry for entry in report if entry["severity"] == "error"]
        raise TerrainError(
            "xlsform.invalid", filename=filename, count=len(errors), details={"report": report}
        )
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "xlsform"
    draft = save_draft(
        result.yaml_text,
        session=session,
        actor=actor,
        filename=f"{stem}.yaml",
        lang=lang,
        replace_draft=replace,
    )
    return XlsformImport(draft=draft, report=report)


def export_xlsform(name: str, number: int, *, session: Session, actor: Principal) -> tuple[str, bytes]:
    """A published (or closed) version as an XLSForm workbook: (file name, .xlsx bytes). Audited."""
    from terrain.xlsform import ExportError
    from terrain.xlsform import export_xlsform as convert

    authz.require(actor, Action.SPEC_EXPORT)
    spec, row = get_version(name, number, session=session, actor=actor)
    try:
        data = convert(row.compiled, version=str(number))
    except ExportError as error:
        raise TerrainError("xlsform.unsupported_kind", kind=spec.kind) from error
    audit.record(
        "spec.exported",
        session=session,
        actor_user_id=actor.id,
        target_type="spec",
        target_id=spec.name,
        details={"version": number, "format": "xlsform"},
    )
    return f"{spec.name}-v{number}.xlsx", data
