"""A pushed batch, from envelope to commit: specs (the pinned version), sites (may this account collect
there), responses (validation, revision or conflict), attachments (what is still missing), the change
feed and the audit log — in ONE transaction.

Guarantees (docs/sync-protocol.md):

* all or nothing: a crash before the commit writes nothing; the device sends the batch again;
* a retried batch (same ``batch_id``) gets the very same answer back, read from ``sync_batches``;
* a record sent again in another batch is a ``duplicate`` (same content) and changes nothing;
* two requests racing on the same record (two devices, two server processes): the loser's unique
  violation rolls its transaction back and the batch is run again, now finding the record: the race
  ends as protocol results, never as a server error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.config import Settings
from terrain.db import utcnow
from terrain.errors import TerrainError
from terrain.principals import Principal
from terrain.responses import service as responses
from terrain.responses.models import Response, ResponseStatus
from terrain.responses.validation import check_response
from terrain.responses.values import SpecIndex, ValueRow, flatten_answers, index_for
from terrain.sites.models import Site
from terrain.specs.models import Spec, SpecSite, SpecVersion, VersionStatus
from terrain.sync import service as sync
from terrain.sync.models import SyncBatch
from terrain.sync.schemas import PushIn, RecordIn, RecordResult

logger = logging.getLogger("terrain.sync")

# A unique violation means another transaction wrote the same record (or batch) meanwhile: run the batch
# again, it then sees that row. More than a few rounds means something else is wrong.
MAX_ATTEMPTS = 4


# Published versions never change: their validation index is built once per process and kept.
_INDEXES: dict[tuple[int, str], SpecIndex] = {}
_MAX_INDEXES = 128


def _index(version: SpecVersion) -> SpecIndex:
    assert version.id is not None
    key = (version.id, version.content_hash)
    found = _INDEXES.get(key)
    if found is None:
        if len(_INDEXES) >= _MAX_INDEXES:
            _INDEXES.pop(next(iter(_INDEXES)))
        found = _INDEXES[key] = index_for(version.compiled)
    return found


@dataclass
class _Pinned:
    spec: Spec
    version: SpecVersion
    site_ids: frozenset[int]


def request_hash(records: list[dict[str, Any]]) -> str:
    canonical = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def push(
    body: PushIn, *, session: Session, actor: Principal, settings: Settings, lang: str, ip: str | None
) -> tuple[list[RecordResult], bool]:
    """Store a batch; returns one result per record and whether it was a replay of an earlier answer."""
    authz.require(actor, Action.RESPONSE_COLLECT)
    if len(body.records) > settings.sync_max_records:
        raise TerrainError("sync.batch_too_large", count=len(body.records), limit=settings.sync_max_records)
    digest = request_hash(body.records)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            replay = _replayed(body.batch_id, digest, session=session, actor=actor)
            if replay is not None:
                session.rollback()
                return replay, True
            results = _run(body, digest, session=session, actor=actor, settings=settings, lang=lang, ip=ip)
            session.commit()
            return results, False
        except (IntegrityError, OperationalError) as exc:
            session.rollback()
            if isinstance(exc, OperationalError) and not _is_retryable(exc):
                raise
            if attempt == MAX_ATTEMPTS:
                raise
            logger.info("sync push: concurrent write, running the batch again (attempt %d)", attempt + 1)
    raise AssertionError("unreachable")  # pragma: no cover


def _is_retryable(exc: OperationalError) -> bool:
    # PostgreSQL: serialization failure / deadlock detected; SQLite: database is locked past the timeout.
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in {"40001", "40P01"} or "database is locked" in str(exc)


def _replayed(
    batch_id: str | None, digest: str, *, session: Session, actor: Principal
) -> list[RecordResult] | None:
    if batch_id is None:
        return None
    row = session.exec(select(SyncBatch).where(SyncBatch.batch_uuid == batch_id.lower())).first()
    if row is None:
        return None
    if row.request_hash != digest or row.user_id != actor.id:
        raise TerrainError("sync.batch_id_reused", batch_id=batch_id)
    return [RecordResult.model_validate(result) for result in row.results]


def _run(
    body: PushIn,
    digest: str,
    *,
    session: Session,
    actor: Principal,
    settings: Settings,
    lang: str,
    ip: str | None,
) -> list[RecordResult]:
    now = utcnow()
    pinned: dict[tuple[str, int], _Pinned | TerrainError] = {}
    sites: dict[str, Site | None] = {}
    # Phase 1, no lock held: parse, pin versions, check sites, validate and flatten (the CPU work).
    prepared: list[_Prepared | RecordResult] = []
    seen: set[tuple[str, int]] = set()
    for index, raw in enumerate(body.records):
        record = _parse(index, raw, lang)
        if isinstance(record, RecordResult):
            prepared.append(record)
            continue
        key = (record.canonical_id(), record.revision)
        if key in seen:
            error = TerrainError("sync.duplicate_in_batch", id=key[0])
            prepared.append(_rejected(index, key[0], error, lang))
            continue
        seen.add(key)
        prepared.append(
            _prepare(
                index,
                record,
                session=session,
                actor=actor,
                settings=settings,
                lang=lang,
                now=now,
                pinned=pinned,
                sites=sites,
            )
        )
    # Phase 2: the write lock (SQLite) or row locks (PostgreSQL), then decide and write each record.
    sync.begin_write(session=session)
    ids = [item.uuid for item in prepared if isinstance(item, _Prepared)]
    existing = responses.get_many_by_uuid(ids, session=session, for_update=True)
    results: list[RecordResult | None] = []
    touched: dict[int, Response] = {}
    # New records are created together at the end (a few statements per batch, not per record); a
    # later record of the batch about one of them (its next revision) first creates what is pending.
    pending: dict[str, tuple[int, _Prepared]] = {}

    def create_pending() -> None:
        created = responses.create_many(
            [
                responses.NewRecord(
                    uuid=item.uuid,
                    content=item.content,
                    revision=item.record.revision,
                    base_revision=item.record.base_revision,
                    problems=item.problems,
                    values=item.values,
                )
                for _position, item in pending.values()
            ],
            session=session,
            author_id=actor.id,
            device_token_id=actor.device_token_id,
            now=now,
        )
        for (position, item), row in zip(pending.values(), created, strict=True):
            assert row.id is not None
            existing[row.uuid] = touched[row.id] = row
            results[position] = _stored(item.index, row, "needs_review" if item.problems else "created")
        pending.clear()

    for item in prepared:
        if isinstance(item, RecordResult):
            results.append(item)
            continue
        if item.uuid in pending:
            create_pending()
        if item.uuid not in existing:
            pending[item.uuid] = (len(results), item)
            results.append(None)
            continue
        result, row, changed = _store(item, session=session, actor=actor, now=now, existing=existing)
        if changed:
            assert row.id is not None
            touched[row.id] = row
        results.append(result)
    if pending:
        create_pending()
    answered = [result for result in results if result is not None]
    assert len(answered) == len(results)
    _fill_missing(answered, existing, session=session)
    if touched:
        session.flush()
        seq = sync.next_change_seq(session=session)
        # One statement, on the table (not the ORM): the change number is the batch's last write.
        session.execute(
            sa.update(Response.__table__)  # type: ignore[attr-defined]
            .where(Response.__table__.c.id.in_(sorted(touched)))  # type: ignore[attr-defined]
            .values(change_seq=seq)
        )
    counts = Counter(result.result for result in answered)
    if body.batch_id is not None:
        session.add(
            SyncBatch(
                batch_uuid=body.batch_id.lower(),
                user_id=actor.id,
                device_token_id=actor.device_token_id,
                request_hash=digest,
                results=[result.model_dump(mode="json") for result in answered],
                created_at=now,
            )
        )
    audit.record(
        "sync.push",
        session=session,
        actor_user_id=actor.id,
        target_type="sync_batch",
        target_id=body.batch_id,
        details={
            "device_token_id": actor.device_token_id,
            "counts": dict(sorted(counts.items())),
            "records": [result.id for result in answered if result.id is not None][:500],
        },
        ip=ip,
    )
    session.flush()
    return answered


def _parse(index: int, raw: Any, lang: str) -> RecordIn | RecordResult:
    try:
        return RecordIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "fiche"
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        record_id = raw_id.lower() if isinstance(raw_id, str) and len(raw_id) <= 64 else None
        error = TerrainError("sync.malformed_record", field=field, reason=first["msg"])
        result = _rejected(index, record_id, error, lang)
        result.details = {
            "errors": [
                {"loc": [str(part) for part in item["loc"]], "msg": item["msg"], "type": item["type"]}
                for item in exc.errors(include_url=False, include_input=False)[:20]
            ]
        }
        return result


def _rejected(index: int, record_id: str | None, error: TerrainError, lang: str) -> RecordResult:
    return RecordResult(
        index=index,
        id=record_id,
        result="rejected",
        code=error.code,
        message=error.message(lang),
        details={key: value for key, value in error.params.items() if isinstance(value, str | int)},
    )


def _pin(
    record: RecordIn,
    *,
    session: Session,
    settings: Settings,
    now: Any,
    cache: dict[tuple[str, int], _Pinned | TerrainError],
) -> _Pinned | TerrainError:
    key = (record.spec, record.version)
    if key in cache:
        return cache[key]
    spec = session.exec(select(Spec).where(Spec.name == record.spec)).first()
    found: _Pinned | TerrainError
    if spec is None:
        found = TerrainError("sync.unknown_spec", name=record.spec)
    else:
        version = session.exec(
            select(SpecVersion).where(SpecVersion.spec_id == spec.id, SpecVersion.version == record.version)
        ).first()
        if version is None or version.status == VersionStatus.draft.value:
            found = TerrainError("sync.unknown_version", name=record.spec, version=record.version)
        elif (
            version.status == VersionStatus.closed.value
            and version.closed_at is not None
            and version.closed_at + timedelta(days=settings.sync_closed_grace_days) < now
        ):
            found = TerrainError(
                "sync.version_closed",
                name=record.spec,
                version=record.version,
                closed_on=version.closed_at.date().isoformat(),
                grace_days=settings.sync_closed_grace_days,
            )
        else:
            site_ids = frozenset(
                session.exec(select(SpecSite.site_id).where(SpecSite.spec_id == spec.id)).all()
            )
            found = _Pinned(spec=spec, version=version, site_ids=site_ids)
    cache[key] = found
    return found


@dataclass
class _Prepared:
    """A readable record, pinned and validated, waiting for the write phase."""

    index: int
    uuid: str
    record: RecordIn
    content: responses.Content
    problems: list[dict[str, Any]]
    values: list[ValueRow]


def _prepare(
    index: int,
    record: RecordIn,
    *,
    session: Session,
    actor: Principal,
    settings: Settings,
    lang: str,
    now: Any,
    pinned: dict[tuple[str, int], _Pinned | TerrainError],
    sites: dict[str, Site | None],
) -> _Prepared | RecordResult:
    uuid = record.canonical_id()
    target = _pin(record, session=session, settings=settings, now=now, cache=pinned)
    if isinstance(target, TerrainError):
        return _rejected(index, uuid, target, lang)
    if record.site not in sites:
        sites[record.site] = session.exec(select(Site).where(Site.code == record.site)).first()
    site = sites[record.site]
    if site is None:
        return _rejected(index, uuid, TerrainError("sync.unknown_site", code=record.site), lang)
    assert site.id is not None and target.spec.id is not None and target.version.id is not None
    if not authz.allowed(actor, Action.RESPONSE_COLLECT, [site.id]):
        return _rejected(index, uuid, TerrainError("sync.site_forbidden", code=record.site), lang)

    spec_index = _index(target.version)
    attachments = [ref.model_dump() for ref in record.attachments]
    metadata = dict(record.metadata)
    checked = check_response(
        spec_index, record.answers, attachments=attachments, metadata=metadata, interview=record.interview
    )
    problems = [problem.as_dict() for problem in checked.problems]
    if site.id not in target.site_ids:
        # Collected on a site the spec is no longer (or not) assigned to: kept, for a coordinator to judge.
        problems.append(responses.site_problem(record.spec, record.site))
    content = responses.Content(
        spec_id=target.spec.id,
        spec_version_id=target.version.id,
        version=record.version,
        kind=target.spec.kind,
        site_id=site.id,
        answers=record.answers,
        metadata=metadata,
        interview=record.interview,
        attachments=attachments,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )
    values = flatten_answers(spec_index, checked.answers)
    return _Prepared(index=index, uuid=uuid, record=record, content=content, problems=problems, values=values)


def _store(
    item: _Prepared, *, session: Session, actor: Principal, now: Any, existing: dict[str, Response]
) -> tuple[RecordResult, Response, bool]:
    """The result for a record the server already holds, and whether this batch changed it."""
    index, record, content, problems = item.index, item.record, item.content, item.problems
    # New records never come here: the write loop creates them together (create_many).
    current = existing[item.uuid]
    assert current.id is not None
    content_hash = content.content_hash()
    if content_hash == current.content_hash:
        return _stored(index, current, "duplicate"), current, False
    earlier = responses.revision_by_hash(current.id, content_hash, session=session)
    if earlier is not None:
        # Received before: a retry of a conflicting content stays a conflict; an older revision sent
        # again changes nothing.
        return _stored(index, current, "conflict" if earlier.conflict else "duplicate"), current, False
    follows = (
        record.base_revision == current.revision
        and record.revision > current.revision
        and current.author_id == actor.id
        and current.status != ResponseStatus.conflict.value
        and current.spec_id == content.spec_id
    )
    if follows:
        responses.revise(
            current,
            content,
            session=session,
            revision=record.revision,
            base_revision=record.base_revision,
            problems=problems,
            values=item.values,
            author_id=actor.id,
            device_token_id=actor.device_token_id,
            now=now,
        )
        return _stored(index, current, "needs_review" if problems else "revised"), current, True
    responses.add_conflict(
        current,
        content,
        session=session,
        revision=record.revision,
        base_revision=record.base_revision,
        problems=problems,
        author_id=actor.id,
        device_token_id=actor.device_token_id,
        now=now,
    )
    return _stored(index, current, "conflict"), current, True


def _stored(index: int, row: Response, result: str) -> RecordResult:
    return RecordResult(
        index=index,
        id=row.uuid,
        result=result,
        status=row.status,
        revision=row.revision,
        problems=list(row.problems),
    )


def _fill_missing(results: list[RecordResult], rows: dict[str, Response], *, session: Session) -> None:
    stored = [rows[result.id] for result in results if result.id in rows and result.result != "rejected"]
    missing = responses.missing_attachments(stored, session=session)
    for result in results:
        if result.result == "rejected" or result.id not in rows:
            continue
        row_id = rows[result.id].id
        assert row_id is not None
        result.missing_attachments = missing.get(row_id, [])
