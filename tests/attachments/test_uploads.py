"""Resumable, content-addressed uploads: create, HEAD, PATCH, completion, resumption, refusals."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from attachments import (
    BASE,
    CHUNK_TYPE,
    declare,
    head,
    offset_of,
    random_bytes,
    row_of,
    send,
    sha,
    upload,
)
from conftest import World
from terrain.attachments.storage import FileSystemStore
from terrain.audit.models import AuditLog
from terrain.config import MIB


def store_of(client: TestClient) -> FileSystemStore:
    store = client.app.state.attachment_store  # type: ignore[attr-defined]
    assert isinstance(store, FileSystemStore)
    return store


def test_create_head_patch_complete(client: TestClient, world: World) -> None:
    fieldworker = world.user("fieldworker", sites=(world.site("nord"),))
    headers = world.headers(fieldworker)
    data = random_bytes(1, 200_000)
    digest = sha(data)

    created = declare(client, headers, data, "image/jpeg")
    assert created.status_code == 201, created.text
    assert created.json() == {
        "sha256": digest,
        "size": len(data),
        "media_type": "image/jpeg",
        "offset": 0,
        "status": "uploading",
    }
    assert created.headers["Location"] == f"{BASE}/{digest}"
    assert created.headers["Upload-Offset"] == "0"

    state = head(client, headers, digest)
    assert state.status_code == 200
    assert state.headers["Upload-Offset"] == "0"
    assert state.headers["Upload-Length"] == str(len(data))
    assert state.headers["Attachment-Status"] == "uploading"
    assert state.headers["Cache-Control"] == "no-store"

    first = send(client, headers, digest, 0, data[:120_000])
    assert first.status_code == 204, first.text
    assert first.headers["Upload-Offset"] == "120000"
    assert offset_of(client, headers, digest) == 120_000
    row = row_of(world.session, digest)
    assert row is not None and (row.received, row.status) == (120_000, "uploading")

    last = send(client, headers, digest, 120_000, data[120_000:])
    assert last.status_code == 204, last.text
    assert last.headers["Upload-Offset"] == str(len(data))
    done = head(client, headers, digest)
    assert done.headers["Attachment-Status"] == "complete"
    assert done.headers["Upload-Offset"] == done.headers["Upload-Length"] == str(len(data))

    row = row_of(world.session, digest)
    assert row is not None and row.status == "complete" and row.completed_at is not None
    assert row.created_by == fieldworker.id
    store = store_of(client)
    final = store.final_path(digest)
    assert final.parent.parent.parent == store.root and final.parent.name == digest[2:4]
    assert final.read_bytes() == data
    assert not store.partial_path(digest).exists()

    downloaded = client.get(f"{BASE}/{digest}", headers=headers)
    assert downloaded.status_code == 200
    assert downloaded.content == data


@pytest.mark.parametrize("seed", [11, 22, 33, 44])
def test_interrupted_at_random_offsets_then_resumed_after_head(
    client: TestClient, world: World, seed: int
) -> None:
    """A device sends random chunks; now and then the connection "drops" (the chunk is resent later, or a
    stale retry of an earlier chunk arrives): after a HEAD it resumes where the server is, and the content
    stored is identical, its hash verified."""
    rng = random.Random(seed)
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(seed, rng.randrange(50_000, 400_000))
    digest = sha(data)
    assert declare(client, headers, data, "audio/webm;codecs=opus").status_code == 201
    accepted: list[int] = []  # offsets of the chunks the server took
    offset = 0
    while offset < len(data):
        size = rng.randrange(1, 90_000)
        chunk = data[offset : offset + size]
        if rng.random() < 0.3 and accepted:
            # A stale retry of an earlier chunk (its answer was lost): refused, nothing changes.
            old = rng.choice(accepted)
            stale = send(client, headers, digest, old, data[old : old + size])
            assert stale.status_code == 409, stale.text
            assert stale.json()["error"]["details"] == {"offset": offset}
            assert stale.headers["Upload-Offset"] == str(offset)
        if rng.random() < 0.3:
            # The device never got to send this chunk: it asks where the server is and goes on from there.
            assert offset_of(client, headers, digest) == offset
            continue
        answer = send(client, headers, digest, offset, chunk)
        assert answer.status_code == 204, answer.text
        accepted.append(offset)
        offset += len(chunk)
        assert answer.headers["Upload-Offset"] == str(offset)
    assert head(client, headers, digest).headers["Attachment-Status"] == "complete"
    assert store_of(client).final_path(digest).read_bytes() == data
    downloaded = client.get(f"{BASE}/{digest}", headers=headers)
    assert downloaded.status_code == 200 and sha(downloaded.content) == digest
    assert downloaded.headers["content-type"] == "audio/webm"


def test_wrong_offset_is_409_with_the_servers_offset(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"), **{"Accept-Language": "en"})
    data = random_bytes(2, 10_000)
    digest = sha(data)
    declare(client, headers, data)
    ahead = send(client, headers, digest, 5_000, data[5_000:])
    assert ahead.status_code == 409
    error = ahead.json()["error"]
    assert error["code"] == "attachment.offset_mismatch" and error["details"] == {"offset": 0}
    assert "0 bytes" in error["message"]
    assert send(client, headers, digest, 0, data[:4_000]).status_code == 204
    retried = send(client, headers, digest, 0, data[:4_000])
    assert retried.status_code == 409 and retried.json()["error"]["details"] == {"offset": 4_000}
    assert offset_of(client, headers, digest) == 4_000


def test_corrupted_content_is_discarded_and_the_upload_restarts(client: TestClient, world: World) -> None:
    user = world.user("fieldworker")
    headers = world.headers(user)
    data = random_bytes(3, 30_000)
    digest = sha(data)
    corrupted = bytearray(data)
    corrupted[12_345] ^= 0xFF
    declare(client, headers, data)
    assert send(client, headers, digest, 0, bytes(corrupted[:20_000])).status_code == 204
    last = send(client, headers, digest, 20_000, bytes(corrupted[20_000:]))
    assert last.status_code == 422, last.text
    assert last.json()["error"]["code"] == "attachment.checksum_mismatch"
    assert last.headers["Upload-Offset"] == "0"
    store = store_of(client)
    assert not store.partial_path(digest).exists() and not store.exists(digest)
    state = head(client, headers, digest)
    assert state.headers["Upload-Offset"] == "0" and state.headers["Attachment-Status"] == "uploading"
    assert client.get(f"{BASE}/{digest}", headers=headers).status_code == 404
    # Start again with the right bytes.
    assert send(client, headers, digest, 0, data).status_code == 204
    assert head(client, headers, digest).headers["Attachment-Status"] == "complete"
    assert store.final_path(digest).read_bytes() == data
    actions = world.session.exec(
        select(AuditLog.action).where(AuditLog.target_id == digest).order_by(AuditLog.id)  # type: ignore[arg-type]
    ).all()
    assert actions == ["attachment.upload_started", "attachment.checksum_mismatch", "attachment.completed"]


def test_same_content_is_stored_once(client: TestClient, world: World) -> None:
    """Content-addressed: a second declaration of a complete content has nothing to send."""
    site = world.site("nord")
    first, second = world.user("fieldworker", sites=(site,)), world.user("fieldworker", sites=(site,))
    data = random_bytes(4, 5_000)
    digest = upload(client, world.headers(first), data)
    again = declare(client, world.headers(second), data)
    assert again.status_code == 200, again.text
    assert again.json() == {
        "sha256": digest,
        "size": len(data),
        "media_type": "image/jpeg",
        "offset": len(data),
        "status": "complete",
    }
    assert again.headers["Upload-Offset"] == str(len(data))
    # Sending it anyway changes nothing.
    late = send(client, world.headers(second), digest, 0, data)
    assert late.status_code == 409 and late.json()["error"]["details"] == {"offset": len(data)}
    assert send(client, world.headers(second), digest, len(data), b"").status_code == 204
    row = row_of(world.session, digest)
    assert row is not None and row.created_by == first.id
    assert not store_of(client).partial_path(digest).exists()


def test_an_upload_under_way_is_resumed_by_declaring_it_again(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("coordinator"))
    data = random_bytes(5, 9_000)
    digest = sha(data)
    declare(client, headers, data, "application/pdf")
    send(client, headers, digest, 0, data[:3_000])
    again = declare(client, headers, data, "application/pdf")
    assert again.status_code == 200
    assert (again.json()["offset"], again.json()["status"]) == (3_000, "uploading")


def test_a_different_declaration_of_the_same_hash_is_409(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(6, 1_000)
    declare(client, headers, data)
    other_size = declare(client, headers, data, size=999)
    assert other_size.status_code == 409
    error = other_size.json()["error"]
    assert error["code"] == "attachment.declaration_mismatch"
    assert error["details"] == {"size": 1_000, "media_type": "image/jpeg"}
    assert declare(client, headers, data, "image/png").status_code == 409


def test_too_large_is_413(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    refused = declare(client, headers, b"", sha256="a" * 64, size=100 * MIB + 1)
    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["code"] == "attachment.too_large" and error["details"] == {"limit_bytes": 100 * MIB}
    assert "100 Mo" in error["message"]
    assert declare(client, headers, b"", sha256="a" * 64, size=100 * MIB).status_code == 201
    # Beyond any instance's limit the declaration is malformed, not merely too large.
    assert declare(client, headers, b"", sha256="b" * 64, size=2**40 + 1).status_code == 422


@pytest.mark.parametrize(
    ("media_type", "stored"),
    [
        ("audio/webm;codecs=opus", "audio/webm"),
        ("IMAGE/PNG", "image/png"),
        (" audio/ogg ; codecs=vorbis", "audio/ogg"),
    ],
)
def test_accepted_media_types_are_stored_without_parameters(
    client: TestClient, world: World, media_type: str, stored: str
) -> None:
    headers = world.headers(world.user("fieldworker"))
    created = declare(client, headers, b"abc", media_type)
    assert created.status_code == 201, created.text
    assert created.json()["media_type"] == stored


@pytest.mark.parametrize(
    "media_type", ["text/html", "image/svg+xml", "application/octet-stream", "image/jpeg2"]
)
def test_other_media_types_are_415(client: TestClient, world: World, media_type: str) -> None:
    headers = world.headers(world.user("fieldworker"))
    refused = declare(client, headers, b"abc", media_type)
    assert refused.status_code == 415
    error = refused.json()["error"]
    assert error["code"] == "attachment.media_type"
    assert "image/jpeg" in error["details"]["accepted"]
    assert row_of(world.session, sha(b"abc")) is None


@pytest.mark.parametrize("bad", ["abc", "A" * 64, "g" * 64, "a" * 63, "a" * 65, "../" + "a" * 61])
def test_malformed_sha256_is_422(client: TestClient, world: World, bad: str) -> None:
    headers = world.headers(world.user("fieldworker"))
    assert declare(client, headers, b"x", sha256=bad).status_code == 422
    if "/" not in bad:
        assert head(client, headers, bad).status_code == 422
        assert send(client, headers, bad, 0, b"x").status_code == 422


def test_unknown_upload_is_404(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    assert head(client, headers, "c" * 64).status_code == 404
    missing = send(client, headers, "c" * 64, 0, b"x")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "attachment.not_found"


def test_chunk_beyond_the_declared_size_is_413(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(7, 1_000)
    digest = sha(data)
    declare(client, headers, data)
    declared = send(client, headers, digest, 0, data + b"extra")
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "attachment.beyond_size"
    assert declared.json()["error"]["details"] == {"size": 1_000}

    def streamed() -> object:  # no Content-Length: counted as it arrives
        yield data
        yield b"extra"

    chunked = client.patch(
        f"{BASE}/{digest}",
        content=streamed(),  # type: ignore[arg-type]
        headers={**headers, "Content-Type": CHUNK_TYPE, "Upload-Offset": "0"},
    )
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "attachment.beyond_size"
    assert offset_of(client, headers, digest) == 0
    assert send(client, headers, digest, 0, data).status_code == 204


def test_chunk_over_8_mib_is_refused_at_the_edge(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    digest = "d" * 64
    assert declare(client, headers, b"", sha256=digest, size=20 * MIB).status_code == 201
    refused = send(client, headers, digest, 0, bytes(8 * MIB + 1))
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "request.too_large"
    assert refused.json()["error"]["details"] == {"limit_bytes": 8 * MIB}
    assert send(client, headers, digest, 0, bytes(8 * MIB)).status_code == 204
    assert offset_of(client, headers, digest) == 8 * MIB


def test_chunk_needs_its_content_type_and_offset(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = b"0123456789"
    digest = sha(data)
    declare(client, headers, data)
    wrong_type = client.patch(
        f"{BASE}/{digest}",
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream", "Upload-Offset": "0"},
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["code"] == "attachment.chunk_content_type"
    for offset in (None, "", "-1", "abc", "1e3", "1099511627777", "99999999999999"):
        extra = {"Content-Type": CHUNK_TYPE} | ({"Upload-Offset": offset} if offset is not None else {})
        refused = client.patch(f"{BASE}/{digest}", content=data, headers={**headers, **extra})
        assert refused.status_code == 422, (offset, refused.text)
        assert refused.json()["error"]["code"] == "request.invalid"
    assert offset_of(client, headers, digest) == 0


def test_viewers_and_anonymous_cannot_upload(client: TestClient, world: World) -> None:
    viewer = world.headers(world.user("viewer", sites=(world.site("nord"),)))
    data = b"photo"
    assert declare(client, viewer, data).status_code == 403
    assert declare(client, {}, data).status_code == 401
    digest = upload(client, world.headers(world.user("fieldworker")), data)
    assert head(client, viewer, digest).status_code == 403
    assert send(client, viewer, digest, 5, b"").status_code == 403
    assert head(client, {}, digest).status_code == 401


def test_upload_audit_has_no_personal_data(client: TestClient, world: World) -> None:
    user = world.user("fieldworker", email="enqueteur.nom@example.org")
    data = random_bytes(8, 2_000)
    digest = upload(client, world.headers(user), data, "audio/ogg")
    world.session.expire_all()
    rows = world.session.exec(select(AuditLog).where(AuditLog.target_id == digest)).all()
    assert [row.action for row in rows] == ["attachment.upload_started", "attachment.completed"]
    for row in rows:
        assert row.actor_user_id == user.id and row.target_type == "attachment"
        assert row.details == {"size": 2_000, "media_type": "audio/ogg"}
        assert "enqueteur" not in str(row.details)
