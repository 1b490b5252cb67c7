"""Resumable, content-addressed uploads (docs/sync-protocol.md, "Pièces jointes").

An attachment is named by the SHA-256 of its content. ``attachments.received`` counts the bytes stored so
far; a chunk is accepted only at that offset, and advances it with a conditional UPDATE (``WHERE received =
:offset``): of two requests racing at one offset, one advances and the other gets 409
``attachment.offset_mismatch``. Both wrote the same bytes at the same place (same content, same offsets),
so the loser changed nothing. When the last byte arrives the whole content is hashed: it becomes
``complete`` under its name, or is discarded and the upload restarts from 0.

Every function blocks (database and files): routers call them from worker threads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from terrain.attachments.models import Attachment, AttachmentStatus
from terrain.attachments.storage import AttachmentStore, ChecksumMismatch
from terrain.audit import service as audit
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.config import MIB, Settings
from terrain.db import utcnow
from terrain.errors import TerrainError
from terrain.principals import Principal
from terrain.responses.models import Response, ResponseFile
from terrain.sync.service import begin_write, next_change_seq

logger = logging.getLogger("terrain.attachments")

UPLOADING = AttachmentStatus.uploading.value
COMPLETE = AttachmentStatus.complete.value
# SHA-256 values per IN (...) list: bounded statements whatever the caller passes.
_IN_BATCH = 500


@dataclass(frozen=True)
class UploadState:
    sha256: str
    size: int
    media_type: str
    offset: int
    status: str

    @classmethod
    def of(cls, row: Attachment) -> UploadState:
        return cls(row.sha256, row.size, row.media_type, row.received, row.status)


def normalize_media_type(value: str) -> str:
    """``audio/webm;codecs=opus`` -> ``audio/webm``: parameters stripped, lowercase."""
    return value.split(";", 1)[0].strip().lower()


def accepted_media_types(settings: Settings) -> list[str]:
    return [normalize_media_type(value) for value in settings.attachment_media_types]


def get(sha256: str, *, session: Session) -> Attachment | None:
    return session.exec(select(Attachment).where(Attachment.sha256 == sha256)).first()


def _megabytes(size: int) -> str:
    value = size / MIB
    return f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"


def _offset_mismatch(offset: int) -> TerrainError:
    return TerrainError(
        "attachment.offset_mismatch",
        offset=offset,
        details={"offset": offset},
        headers={"Upload-Offset": str(offset)},
    )


# --- create / resume ---------------------------------------------------------------------------


def create_upload(
    sha256: str,
    size: int,
    media_type: str,
    *,
    session: Session,
    settings: Settings,
    store: AttachmentStore,
    actor: Principal,
    ip: str | None = None,
) -> tuple[UploadState, bool]:
    """Declare an upload. Returns its state and whether it was created now; an existing one (complete:
    nothing to send; under way: resume at its offset) must have been declared with the same size and
    media type."""
    authz.require(actor, Action.ATTACHMENT_UPLOAD)
    if size > settings.max_attachment_bytes:
        raise TerrainError(
            "attachment.too_large",
            size_mb=_megabytes(size),
            limit_mb=_megabytes(settings.max_attachment_bytes),
            details={"limit_bytes": settings.max_attachment_bytes},
        )
    media = normalize_media_type(media_type)
    accepted = accepted_media_types(settings)
    if media not in accepted:
        raise TerrainError(
            "attachment.media_type",
            media_type=media,
            accepted=", ".join(accepted),
            details={"accepted": accepted},
        )
    values: dict[str, Any] = {
        "sha256": sha256,
        "media_type": media,
        "size": size,
        "received": 0,
        "status": UPLOADING,
        "created_by": actor.id,
        "created_at": utcnow(),
    }
    # Two devices declaring the same content at once: one row, no IntegrityError (a 409) for the second.
    table: sa.Table = Attachment.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = insert.values(**values).on_conflict_do_nothing(index_elements=["sha256"])
    created = session.execute(statement.returning(table.c.id)).first()
    if created is not None:
        audit.record(
            "attachment.upload_started",
            session=session,
            actor_user_id=actor.id,
            target_type="attachment",
            target_id=sha256,
            details={"size": size, "media_type": media},
            ip=ip,
        )
        session.commit()
        return UploadState(sha256, size, media, 0, UPLOADING), True
    row = get(sha256, session=session)
    assert row is not None
    if row.size != size or row.media_type != media:
        raise TerrainError(
            "attachment.declaration_mismatch",
            size=row.size,
            media_type=row.media_type,
            details={"size": row.size, "media_type": row.media_type},
        )
    return _reconciled(row, session=session, store=store), False


def upload_state(sha256: str, *, session: Session, store: AttachmentStore, actor: Principal) -> UploadState:
    """Where an upload stands (HEAD)."""
    authz.require(actor, Action.ATTACHMENT_UPLOAD)
    row = get(sha256, session=session)
    if row is None:
        raise TerrainError("attachment.not_found")
    return _reconciled(row, session=session, store=store)


def _reconciled(row: Attachment, *, session: Session, store: AttachmentStore) -> UploadState:
    """The upload's state, its offset brought back to the bytes actually on store when they are fewer
    (partial file lost: a crash before the data reached the disk, a data directory restored): the
    client then resends from there instead of being told the bytes are safe."""
    if row.status != UPLOADING or row.received == 0:
        return UploadState.of(row)
    on_store = store.partial_size(row.sha256)
    # A final file means a completion in progress (its partial file is about to go): leave it alone.
    if on_store >= row.received or store.exists(row.sha256):
        return UploadState.of(row)
    session.execute(
        sa.update(Attachment)
        .where(col(Attachment.sha256) == row.sha256, col(Attachment.received) == row.received)
        .values(received=on_store)
    )
    session.commit()
    session.refresh(row)
    return UploadState.of(row)


# --- chunks ------------------------------------------------------------------------------------


def check_chunk(
    sha256: str,
    offset: int,
    length: int | None,
    *,
    session: Session,
    store: AttachmentStore,
    actor: Principal,
) -> UploadState:
    """Before a chunk is read: the upload exists, the chunk starts at its offset and (when its length is
    declared) ends within the declared size. Commits, so that no transaction (on SQLite: no write lock,
    the device token's last use) stays open while the body streams in."""
    authz.require(actor, Action.ATTACHMENT_UPLOAD)
    row = get(sha256, session=session)
    if row is None:
        raise TerrainError("attachment.not_found")
    state = _reconciled(row, session=session, store=store)
    if state.offset != offset:
        raise _offset_mismatch(state.offset)
    if length is not None and offset + length > state.size:
        raise beyond_size(state.size)
    session.commit()
    return state


def beyond_size(size: int) -> TerrainError:
    return TerrainError("attachment.beyond_size", size=size, details={"size": size})


def record_chunk(sha256: str, offset: int, written: int, *, session: Session, store: AttachmentStore) -> int:
    """``written`` bytes were stored at ``offset``: advance the upload to ``offset + written`` if it is
    still at ``offset`` (else 409 with the current offset). Returns the new offset."""
    if written == 0:
        return offset
    result = session.execute(
        sa.update(Attachment)
        .where(
            col(Attachment.sha256) == sha256,
            col(Attachment.received) == offset,
            col(Attachment.status) == UPLOADING,
        )
        .values(received=offset + written)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        row = get(sha256, session=session)
        if row is not None and row.status == COMPLETE:
            # A late duplicate of a chunk of a finished upload may have recreated the partial file.
            store.discard_partial(sha256)
        raise _offset_mismatch(row.received if row is not None else 0)
    session.commit()
    return offset + written


def complete_upload(
    sha256: str, *, session: Session, store: AttachmentStore, actor: Principal, ip: str | None = None
) -> UploadState:
    """Every byte is in: verify the SHA-256 and mark the upload complete, or discard it (422
    ``attachment.checksum_mismatch``, offset back to 0). Idempotent: a retried completion finds it done."""
    row = get(sha256, session=session)
    if row is None:
        raise TerrainError("attachment.not_found")
    if row.status == COMPLETE or row.received != row.size:
        return UploadState.of(row)
    session.commit()  # no transaction stays open while the file is hashed
    try:
        store.finalize(sha256)
    except ChecksumMismatch:
        # The partial file first, then the offset: a client that resumes at 0 writes into a new file.
        store.discard_partial(sha256)
        session.execute(
            sa.update(Attachment)
            .where(
                col(Attachment.sha256) == sha256,
                col(Attachment.status) == UPLOADING,
                col(Attachment.received) == row.size,
            )
            .values(received=0)
        )
        audit.record(
            "attachment.checksum_mismatch",
            session=session,
            actor_user_id=actor.id,
            target_type="attachment",
            target_id=sha256,
            ip=ip,
        )
        session.commit()
        raise TerrainError("attachment.checksum_mismatch", headers={"Upload-Offset": "0"}) from None
    begin_write(session=session)
    done = session.execute(
        sa.update(Attachment)
        .where(
            col(Attachment.sha256) == sha256,
            col(Attachment.status) == UPLOADING,
            col(Attachment.received) == row.size,
        )
        .values(status=COMPLETE, completed_at=utcnow())
    )
    if done.rowcount == 1:  # type: ignore[attr-defined]
        audit.record(
            "attachment.completed",
            session=session,
            actor_user_id=actor.id,
            target_type="attachment",
            target_id=sha256,
            details={"size": row.size, "media_type": row.media_type},
            ip=ip,
        )
        session.flush()
        _records_changed(sha256, session=session)  # last: it takes the change counter's lock
    session.commit()
    store.discard_partial(sha256)
    session.refresh(row)
    return UploadState.of(row)


def _records_changed(sha256: str, *, session: Session) -> None:
    """The records referring to this content have one missing attachment fewer: give them a new change
    number so that the pull reports them again."""
    referred = session.execute(
        sa.select(col(ResponseFile.id)).where(col(ResponseFile.sha256) == sha256).limit(1)
    ).first()
    if referred is None:
        return
    seq = next_change_seq(session=session)
    session.execute(
        sa.update(Response)
        .where(
            col(Response.id).in_(
                sa.select(col(ResponseFile.response_id)).where(col(ResponseFile.sha256) == sha256)
            )
        )
        .values(change_seq=seq)
    )


# --- reading -----------------------------------------------------------------------------------


def missing_attachments(sha256s: Iterable[str], *, session: Session) -> set[str]:
    """Those of ``sha256s`` whose content the server does not hold complete yet."""
    wanted = sorted(set(sha256s))
    complete: set[str] = set()
    for start in range(0, len(wanted), _IN_BATCH):
        batch = wanted[start : start + _IN_BATCH]
        complete.update(
            session.exec(
                select(Attachment.sha256).where(
                    col(Attachment.sha256).in_(batch), Attachment.status == COMPLETE
                )
            ).all()
        )
    return set(wanted) - complete


def referring_records(sha256: str, *, session: Session) -> set[tuple[int, int | None]]:
    """(site, author) of the records whose current revision refers to this content."""
    rows = session.execute(
        sa.select(col(Response.site_id), col(Response.author_id))
        .join(ResponseFile, col(ResponseFile.response_id) == col(Response.id))
        .where(col(ResponseFile.sha256) == sha256)
        .distinct()
    ).all()
    return {(site_id, author_id) for site_id, author_id in rows}


def may_read(row: Attachment, actor: Principal, *, session: Session) -> bool:
    """Whoever may read a record referring to it (as the review API decides: reviewers of its site, its
    author), or its uploader."""
    if actor.id is not None and row.created_by == actor.id:
        return True
    for site_id, author_id in referring_records(row.sha256, session=session):
        if actor.id is not None and author_id == actor.id:
            return True
        if authz.allowed(actor, Action.RESPONSE_REVIEW, [site_id]):
            return True
    return False


def open_download(
    sha256: str,
    *,
    session: Session,
    store: AttachmentStore,
    actor: Principal,
    ip: str | None = None,
    audited: bool = True,
) -> Attachment:
    """The complete attachment ``actor`` may read, audited (``audited=False`` for the later ranges of one
    reading, so that seeking in a recording does not write a row per range). Anyone else: 404, exactly
    as for an unknown content (its existence is not revealed)."""
    row = get(sha256, session=session)
    if row is None or row.status != COMPLETE or not may_read(row, actor, session=session):
        raise TerrainError("attachment.not_found")
    if not store.exists(sha256):
        # The database says complete but the bytes are gone (a data directory not restored with it).
        logger.error("attachment %s is complete in the database but missing from the store", sha256)
        raise TerrainError("attachment.not_found", details={"reason": "content_missing"})
    if audited:
        audit.record(
            "attachment.downloaded",
            session=session,
            actor_user_id=actor.id,
            target_type="attachment",
            target_id=sha256,
            ip=ip,
        )
    return row
