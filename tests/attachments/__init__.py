"""Attachment tests. The helpers they share live here: this package is importable as ``attachments``
(tests/ is on the import path, as for ``conftest`` and ``hostile.harness``)."""

from __future__ import annotations

import hashlib
import random
import uuid

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from conftest import SPEC_ESSAI, spec_named
from terrain.attachments.models import Attachment
from terrain.auth.service import SYSTEM
from terrain.responses.models import Response, ResponseFile
from terrain.sites.models import Site
from terrain.specs import service as specs
from terrain.specs.models import Spec, SpecVersion

BASE = "/api/v1/attachments"
CHUNK_TYPE = "application/offset+octet-stream"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def declare(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    media_type: str = "image/jpeg",
    *,
    sha256: str | None = None,
    size: int | None = None,
) -> httpx.Response:
    body = {
        "sha256": sha256 or sha(data),
        "size": len(data) if size is None else size,
        "media_type": media_type,
    }
    return client.post(BASE, json=body, headers=headers)


def send(
    client: TestClient, headers: dict[str, str], sha256: str, offset: int, chunk: bytes, **extra: str
) -> httpx.Response:
    return client.patch(
        f"{BASE}/{sha256}",
        content=chunk,
        headers={**headers, "Content-Type": CHUNK_TYPE, "Upload-Offset": str(offset), **extra},
    )


def head(client: TestClient, headers: dict[str, str], sha256: str) -> httpx.Response:
    return client.head(f"{BASE}/{sha256}", headers=headers)


def offset_of(client: TestClient, headers: dict[str, str], sha256: str) -> int:
    answer = head(client, headers, sha256)
    assert answer.status_code == 200, answer.text
    return int(answer.headers["Upload-Offset"])


def upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    media_type: str = "image/jpeg",
    *,
    chunk_size: int = 64 * 1024,
) -> str:
    """Declare and send ``data`` whole; returns its SHA-256."""
    digest = sha(data)
    declared = declare(client, headers, data, media_type)
    assert declared.status_code == 201, declared.text
    for start in range(0, len(data), chunk_size):
        sent = send(client, headers, digest, start, data[start : start + chunk_size])
        assert sent.status_code == 204, sent.text
    return digest


def row_of(session: Session, sha256: str) -> Attachment | None:
    session.expire_all()
    return session.exec(select(Attachment).where(Attachment.sha256 == sha256)).first()


def refer(session: Session, sha256: str, site: Site, *, size: int = 1, spec_name: str = "essai") -> Response:
    """A record of ``site`` whose current revision refers to ``sha256`` (what the sync push writes)."""
    spec = session.exec(select(Spec).where(Spec.name == spec_name)).first()
    if spec is None:
        specs.publish(spec_name, session=session, actor=SYSTEM, source=spec_named(spec_name, SPEC_ESSAI))
        session.commit()
        spec = session.exec(select(Spec).where(Spec.name == spec_name)).one()
    version = session.exec(
        select(SpecVersion).where(SpecVersion.spec_id == spec.id, SpecVersion.version == 1)
    ).one()
    assert spec.id is not None and version.id is not None and site.id is not None
    ref = {"sha256": sha256, "media_type": "image/jpeg", "size": size, "item": "photo"}
    record = Response(
        uuid=str(uuid.uuid4()),
        kind="questionnaire",
        spec_id=spec.id,
        spec_version_id=version.id,
        version=1,
        site_id=site.id,
        revision=1,
        content_hash="0" * 64,
        status="accepted",
        change_seq=0,
        attachments=[ref],
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    session.add(
        ResponseFile(response_id=record.id, sha256=sha256, item="photo", media_type="image/jpeg", size=size)
    )
    session.commit()
    return record
