"""Storing responses: new records, revisions, conflicts, and the aggregatable values of the current
revision. Validation itself is pure (:mod:`terrain.responses.validation`); deciding what a pushed record
becomes is the sync flow's job (:mod:`terrain.flows.sync_push`); here are the writes both it and the
coordinator's review use."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from terrain.attachments.models import Attachment, AttachmentStatus
from terrain.db import utcnow
from terrain.responses.models import (
    Response,
    ResponseFile,
    ResponseRevision,
    ResponseStatus,
    ResponseValue,
)
from terrain.responses.values import ValueRow

# Tables written with Core statements (bulk rows, no model instances).
_VALUES_TABLE: sa.Table = ResponseValue.__table__  # type: ignore[attr-defined]
_REVISIONS_TABLE: sa.Table = ResponseRevision.__table__  # type: ignore[attr-defined]
_FILES_TABLE: sa.Table = ResponseFile.__table__  # type: ignore[attr-defined]


@dataclass
class Content:
    """What a device filled for one record: everything the content hash covers."""

    spec_id: int
    spec_version_id: int
    version: int
    kind: str
    site_id: int
    answers: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    interview: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON kept with each revision (and hashed)."""
        return {
            "spec_version_id": self.spec_version_id,
            "site_id": self.site_id,
            "answers": self.answers,
            "metadata": self.metadata,
            "interview": self.interview,
            "attachments": self.attachments,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }

    def content_hash(self) -> str:
        canonical = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def get_by_uuid(uuid: str, *, session: Session, for_update: bool = False) -> Response | None:
    query = select(Response).where(Response.uuid == uuid)
    if for_update:
        # PostgreSQL: a concurrent revision of the same record waits for this transaction.
        query = query.with_for_update()
    return session.exec(query).first()


def get_many_by_uuid(
    uuids: Sequence[str], *, session: Session, for_update: bool = False
) -> dict[str, Response]:
    if not uuids:
        return {}
    query = select(Response).where(col(Response.uuid).in_(list(uuids)))
    if for_update:
        query = query.with_for_update()
    return {row.uuid: row for row in session.exec(query).all()}


def revision_by_hash(response_id: int, content_hash: str, *, session: Session) -> ResponseRevision | None:
    return session.exec(
        select(ResponseRevision).where(
            ResponseRevision.response_id == response_id, ResponseRevision.content_hash == content_hash
        )
    ).first()


def site_problem(spec: str, site: str) -> dict[str, Any]:
    """The problem of a record collected on a site its spec is not (or no longer) assigned to: kept,
    for a coordinator to judge."""
    return {
        "code": "spec_not_on_site",
        "item": None,
        "instance": "",
        "message": {
            "fr": f"Le questionnaire {spec} n'est pas (ou plus) attribué au site {site}.",
            "en": f"Questionnaire {spec} is not (or no longer) assigned to site {site}.",
        },
    }


def status_for(problems: Sequence[dict[str, Any]]) -> ResponseStatus:
    return ResponseStatus.needs_review if problems else ResponseStatus.accepted


def _apply(row: Response, content: Content, *, content_hash: str, problems: list[dict[str, Any]]) -> None:
    row.kind = content.kind
    row.spec_id = content.spec_id
    row.spec_version_id = content.spec_version_id
    row.version = content.version
    row.site_id = content.site_id
    row.answers = content.answers
    row.meta = content.metadata
    row.interview = content.interview
    row.attachments = content.attachments
    row.started_at = content.started_at
    row.finished_at = content.finished_at
    row.content_hash = content_hash
    row.problems = problems


def create(
    uuid: str,
    content: Content,
    *,
    session: Session,
    revision: int,
    base_revision: int | None,
    problems: list[dict[str, Any]],
    values: Sequence[ValueRow],
    author_id: int | None,
    device_token_id: int | None,
    now: datetime | None = None,
) -> Response:
    """One new record (see :func:`create_many`); not yet numbered in the change feed: the caller sets
    ``change_seq`` before committing."""
    record = NewRecord(uuid, content, revision, base_revision, problems, values)
    return create_many(
        [record], session=session, author_id=author_id, device_token_id=device_token_id, now=now
    )[0]


@dataclass
class NewRecord:
    """A record to create, with everything :func:`create_many` writes for it."""

    uuid: str
    content: Content
    revision: int
    base_revision: int | None
    problems: list[dict[str, Any]]
    values: Sequence[ValueRow]


def create_many(
    records: Sequence[NewRecord],
    *,
    session: Session,
    author_id: int | None,
    device_token_id: int | None,
    now: datetime | None = None,
) -> list[Response]:
    """Create many records at once (a pushed batch): one INSERT … RETURNING for the records, then one
    executemany each for their revisions, values and file references — a few statements per batch
    instead of a few per record. Rows come back in the order given."""
    if not records:
        return []
    now = now or utcnow()
    hashes = [record.content.content_hash() for record in records]
    rows = list(
        session.scalars(
            sa.insert(Response).returning(Response, sort_by_parameter_order=True),
            [
                {
                    "uuid": record.uuid,
                    "kind": record.content.kind,
                    "spec_id": record.content.spec_id,
                    "spec_version_id": record.content.spec_version_id,
                    "version": record.content.version,
                    "site_id": record.content.site_id,
                    "author_id": author_id,
                    "device_token_id": device_token_id,
                    "started_at": record.content.started_at,
                    "finished_at": record.content.finished_at,
                    "meta": record.content.metadata,
                    "answers": record.content.answers,
                    "interview": record.content.interview,
                    "attachments": record.content.attachments,
                    "revision": record.revision,
                    "base_revision": record.base_revision,
                    "content_hash": content_hash,
                    "status": status_for(record.problems).value,
                    "problems": record.problems,
                    "received_at": now,
                    "updated_at": now,
                    "change_seq": 0,
                }
                for record, content_hash in zip(records, hashes, strict=True)
            ],
        ).all()
    )
    session.execute(
        sa.insert(_REVISIONS_TABLE),
        [
            _revision_row(
                row.id,
                record.content,
                revision=record.revision,
                base_revision=record.base_revision,
                content_hash=content_hash,
                problems=record.problems,
                author_id=author_id,
                device_token_id=device_token_id,
                now=now,
            )
            for row, record, content_hash in zip(rows, records, hashes, strict=True)
        ],
    )
    value_rows = [
        (row.id, row.spec_id, row.version, row.site_id, *_value_tuple(value))
        for row, record in zip(rows, records, strict=True)
        for value in record.values
    ]
    if value_rows:
        _executemany(session, _VALUES_TABLE, _VALUE_COLUMNS, value_rows)
    file_rows = [
        {"response_id": row.id, **ref}
        for row in rows
        for ref in {
            (ref["sha256"], ref["item"]): {
                "sha256": ref["sha256"],
                "item": ref["item"],
                "media_type": ref["media_type"],
                "size": ref["size"],
            }
            for ref in row.attachments
        }.values()
    ]
    if file_rows:
        session.execute(sa.insert(_FILES_TABLE), file_rows)
    return rows


def _value_tuple(value: ValueRow) -> tuple[Any, ...]:
    return (
        value.item,
        value.repeat,
        value.instance,
        value.ordinal,
        value.value_type,
        value.value_text,
        value.value_num,
        value.value_long,
    )


def _revision_row(
    response_id: int | None,
    content: Content,
    *,
    revision: int,
    base_revision: int | None,
    content_hash: str,
    problems: list[dict[str, Any]],
    author_id: int | None,
    device_token_id: int | None,
    now: datetime,
    conflict: bool = False,
    origin: str = "pushed",
) -> dict[str, Any]:
    """The ``response_revisions`` row of one received content."""
    return {
        "response_id": response_id,
        "revision": revision,
        "base_revision": base_revision,
        "content_hash": content_hash,
        "spec_version_id": content.spec_version_id,
        "payload": content.payload(),
        "conflict": conflict,
        "origin": origin,
        "author_id": author_id,
        "device_token_id": device_token_id,
        "problems": problems,
        "received_at": now,
    }


def _add_revision(response_id: int, content: Content, *, session: Session, **row: Any) -> None:
    # A Core insert, executed at once: no model instance to build and flush (nothing reads it back
    # from this session but through queries).
    session.execute(sa.insert(_REVISIONS_TABLE), _revision_row(response_id, content, **row))


def revise(
    row: Response,
    content: Content,
    *,
    session: Session,
    revision: int,
    base_revision: int | None,
    problems: list[dict[str, Any]],
    values: Sequence[ValueRow],
    author_id: int | None,
    device_token_id: int | None,
    origin: str = "pushed",
    now: datetime | None = None,
) -> Response:
    """Make ``content`` the record's current revision (a newer revision from its device, or a
    coordinator's resolution of a conflict)."""
    now = now or utcnow()
    assert row.id is not None
    content_hash = content.content_hash()
    existing = revision_by_hash(row.id, content_hash, session=session)
    if existing is None:
        _add_revision(
            row.id,
            content,
            session=session,
            revision=revision,
            base_revision=base_revision,
            content_hash=content_hash,
            problems=problems,
            author_id=author_id,
            device_token_id=device_token_id,
            now=now,
            origin=origin,
        )
    else:  # a coordinator chose a content already received: it is no longer a pending conflict
        existing.conflict = False
        session.add(existing)
    _apply(row, content, content_hash=content_hash, problems=problems)
    row.revision = revision
    row.base_revision = base_revision
    row.status = status_for(problems).value
    row.updated_at = now
    if origin == "pushed":
        # The device changed the record after a coordinator's decision: it applies to older content.
        row.review = row.review_comment = row.reviewed_at = row.reviewed_by = None
    if device_token_id is not None:
        row.device_token_id = device_token_id
    session.add(row)
    replace_values(row, values, session=session)
    return row


def add_conflict(
    row: Response,
    content: Content,
    *,
    session: Session,
    revision: int,
    base_revision: int | None,
    problems: list[dict[str, Any]],
    author_id: int | None,
    device_token_id: int | None,
    now: datetime | None = None,
) -> Response:
    """Keep a content that does not follow from the current revision, and flag the record."""
    now = now or utcnow()
    assert row.id is not None
    _add_revision(
        row.id,
        content,
        session=session,
        revision=revision,
        base_revision=base_revision,
        content_hash=content.content_hash(),
        problems=problems,
        author_id=author_id,
        device_token_id=device_token_id,
        now=now,
        conflict=True,
    )
    row.status = ResponseStatus.conflict.value
    row.updated_at = now
    session.add(row)
    return row


_VALUE_COLUMNS = (
    "response_id",
    "spec_id",
    "version",
    "site_id",
    "item",
    "repeat",
    "instance",
    "ordinal",
    "value_type",
    "value_text",
    "value_num",
    "value_long",
)


def _executemany(
    session: Session, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """INSERT ``rows`` (plain values: numbers, text, NULL) into ``table`` with the driver's executemany."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    connection.exec_driver_sql(statement, rows)


def replace_values(row: Response, values: Sequence[ValueRow], *, session: Session, new: bool = False) -> None:
    """The aggregatable rows and file references of ``row`` become those of its current content
    (``new``: a record just created, which has none yet).

    A push writes thousands of value rows per batch (about 70 per household record): they go in one
    driver-level executemany of plain tuples. Through the ORM's bulk insert, NULL columns are left out
    and the rows split into one statement per pattern of NULLs (dozens per record); through a Core
    insert, building the parameters cost more than the database's own work (bench/sync_push.py)."""
    assert row.id is not None
    if not new:
        session.execute(sa.delete(ResponseValue).where(col(ResponseValue.response_id) == row.id))
        session.execute(sa.delete(ResponseFile).where(col(ResponseFile.response_id) == row.id))
    if values:
        head = (row.id, row.spec_id, row.version, row.site_id)
        _executemany(
            session,
            _VALUES_TABLE,
            _VALUE_COLUMNS,
            [(*head, *_value_tuple(value)) for value in values],
        )
    files = {(ref["sha256"], ref["item"]): ref for ref in row.attachments}
    if files:
        session.execute(
            sa.insert(_FILES_TABLE),
            [
                {
                    "response_id": row.id,
                    "sha256": ref["sha256"],
                    "item": ref["item"],
                    "media_type": ref["media_type"],
                    "size": ref["size"],
                }
                for ref in files.values()
            ],
        )


def missing_attachments(rows: Iterable[Response], *, session: Session) -> dict[int, list[str]]:
    """For each record, the SHA-256 of the files it refers to that the server does not hold yet."""
    wanted: dict[int, set[str]] = {}
    for row in rows:
        assert row.id is not None
        wanted[row.id] = {ref["sha256"] for ref in row.attachments}
    every = set().union(*wanted.values()) if wanted else set()
    if not every:
        return {key: [] for key in wanted}
    complete = set(
        session.exec(
            select(Attachment.sha256).where(
                col(Attachment.sha256).in_(sorted(every)),
                Attachment.status == AttachmentStatus.complete.value,
            )
        ).all()
    )
    return {key: sorted(shas - complete) for key, shas in wanted.items()}


def revisions(row: Response, *, session: Session) -> list[ResponseRevision]:
    return list(
        session.exec(
            select(ResponseRevision)
            .where(ResponseRevision.response_id == row.id)
            .order_by(col(ResponseRevision.id))
        ).all()
    )


def counts_by_version(spec_id: int, *, session: Session, site_ids: frozenset[int] | None) -> dict[int, int]:
    """How many records each version of a spec holds (on ``site_ids``; None: every site)."""
    query = (
        select(Response.version, sa.func.count())
        .where(Response.spec_id == spec_id)
        .group_by(col(Response.version))
    )
    if site_ids is not None:
        query = query.where(col(Response.site_id).in_(sorted(site_ids)))
    return {int(version): int(count) for version, count in session.exec(query).all()}
