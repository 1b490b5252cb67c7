"""Races and interruptions: two requests at one offset, a connection dropped mid-chunk, a server stopped
between the last byte and the verification, partial bytes lost; and what completion tells the sync."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from attachments import BASE, CHUNK_TYPE, declare, head, offset_of, random_bytes, refer, send, sha, upload
from conftest import World
from terrain.attachments import service
from terrain.attachments.storage import FileSystemStore
from terrain.responses.models import Response
from terrain.sync.service import current_change_seq


class BarrierStore(FileSystemStore):
    """Every write waits for a second one: two chunks are both written before either is recorded."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.barrier = threading.Barrier(2, timeout=20)

    def write_at(self, sha256: str, offset: int, chunk: bytes) -> None:
        super().write_at(sha256, offset, chunk)
        self.barrier.wait()


def test_two_patches_at_one_offset_one_wins_nothing_corrupted(client: TestClient, world: World) -> None:
    """Two tabs (or a retry racing the original) send the same chunk at the same offset: both write the
    same bytes at the same place, one advances the offset, the other gets 409 with the new offset."""
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(31, 50_000)
    digest = sha(data)
    declare(client, headers, data)
    store = BarrierStore(client.app.state.attachment_store.root)  # type: ignore[attr-defined]
    client.app.state.attachment_store = store  # type: ignore[attr-defined]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: send(client, headers, digest, 0, data[:30_000]), range(2)))
    assert sorted(answer.status_code for answer in answers) == [204, 409], [a.text for a in answers]
    loser = next(answer for answer in answers if answer.status_code == 409)
    assert loser.json()["error"]["details"] == {"offset": 30_000}
    assert offset_of(client, headers, digest) == 30_000
    client.app.state.attachment_store = FileSystemStore(store.root)  # type: ignore[attr-defined]
    assert send(client, headers, digest, 30_000, data[30_000:]).status_code == 204
    assert store.final_path(digest).read_bytes() == data


def test_two_last_chunks_racing_complete_once(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(32, 20_000)
    digest = sha(data)
    declare(client, headers, data)
    send(client, headers, digest, 0, data[:10_000])
    store = BarrierStore(client.app.state.attachment_store.root)  # type: ignore[attr-defined]
    client.app.state.attachment_store = store  # type: ignore[attr-defined]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: send(client, headers, digest, 10_000, data[10_000:]), range(2)))
    assert sorted(answer.status_code for answer in answers) == [204, 409]
    assert head(client, headers, digest).headers["Attachment-Status"] == "complete"
    assert store.final_path(digest).read_bytes() == data
    assert not store.partial_path(digest).exists()


def _patch_then_disconnect(app: FastAPI, headers: dict[str, str], digest: str, piece: bytes) -> list[Any]:
    """A PATCH whose connection drops after ``piece`` (the server sees ``http.disconnect``)."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": piece, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Any] = []
    all_headers = {**headers, "content-type": CHUNK_TYPE, "upload-offset": "0", "content-length": "99999"}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": f"{BASE}/{digest}",
        "raw_path": f"{BASE}/{digest}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(key.lower().encode(), value.encode()) for key, value in all_headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send_message(message: Any) -> None:
        sent.append(message)

    async def run() -> None:
        await app(scope, receive, send_message)

    anyio.run(run)
    return sent


def test_connection_dropped_mid_chunk_keeps_what_arrived(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(33, 99_999)
    digest = sha(data)
    declare(client, headers, data)
    sent = _patch_then_disconnect(client.app, headers, digest, data[:12_345])  # type: ignore[arg-type]
    assert sent and sent[0]["status"] == 204
    assert offset_of(client, headers, digest) == 12_345
    assert send(client, headers, digest, 12_345, data[12_345:]).status_code == 204
    assert client.app.state.attachment_store.final_path(digest).read_bytes() == data  # type: ignore[attr-defined]


def test_server_stopped_before_the_check_finishes_with_an_empty_patch(
    client: TestClient, world: World
) -> None:
    """Every byte recorded, then the server stops before verifying: HEAD says offset = length but still
    uploading; an empty PATCH at that offset completes it."""
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(34, 8_000)
    digest = sha(data)
    declare(client, headers, data)
    store = client.app.state.attachment_store  # type: ignore[attr-defined]
    store.write_at(digest, 0, data)
    assert service.record_chunk(digest, 0, len(data), session=world.session, store=store) == len(data)
    state = head(client, headers, digest)
    assert state.headers["Upload-Offset"] == str(len(data))
    assert state.headers["Attachment-Status"] == "uploading"
    finished = send(client, headers, digest, len(data), b"")
    assert finished.status_code == 204 and finished.headers["Upload-Offset"] == str(len(data))
    assert head(client, headers, digest).headers["Attachment-Status"] == "complete"
    assert store.final_path(digest).read_bytes() == data


def test_partial_bytes_lost_on_disk_are_sent_again(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(35, 10_000)
    digest = sha(data)
    declare(client, headers, data)
    send(client, headers, digest, 0, data[:6_000])
    client.app.state.attachment_store.partial_path(digest).unlink()  # type: ignore[attr-defined]
    assert offset_of(client, headers, digest) == 0
    stale = send(client, headers, digest, 6_000, data[6_000:])
    assert stale.status_code == 409 and stale.json()["error"]["details"] == {"offset": 0}
    assert send(client, headers, digest, 0, data).status_code == 204
    assert head(client, headers, digest).headers["Attachment-Status"] == "complete"


def test_completion_moves_the_records_referring_to_it_in_the_change_feed(
    client: TestClient, world: World
) -> None:
    site = world.site("nord")
    headers = world.headers(world.user("fieldworker", sites=(site,)))
    data = random_bytes(36, 4_000)
    digest = sha(data)
    referring = [refer(world.session, digest, site, size=len(data)) for _ in range(2)]
    unrelated = refer(world.session, "f" * 64, site)
    before = current_change_seq(session=world.session)
    world.session.commit()

    declare(client, headers, data)
    send(client, headers, digest, 0, data[:1_000])
    world.session.expire_all()
    assert current_change_seq(session=world.session) == before  # nothing changed for the records yet
    world.session.commit()
    send(client, headers, digest, 1_000, data[1_000:])

    world.session.expire_all()
    after = current_change_seq(session=world.session)
    assert after == before + 1
    ids = [row.id for row in [*referring, unrelated]]
    rows = world.session.exec(select(Response).where(col(Response.id).in_(ids))).all()
    seqs = {row.id: row.change_seq for row in rows}
    assert [seqs[row.id] for row in referring] == [after, after]
    assert seqs[unrelated.id] == 0
    assert service.missing_attachments([digest, "f" * 64], session=world.session) == {"f" * 64}


def test_completion_without_records_leaves_the_change_feed_alone(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    before = current_change_seq(session=world.session)
    world.session.commit()
    upload(client, headers, random_bytes(37, 3_000))
    world.session.expire_all()
    assert current_change_seq(session=world.session) == before


def test_missing_attachments(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    done = upload(client, headers, b"complete content")
    partial = sha(b"partial content")
    declare(client, headers, b"partial content")
    send(client, headers, partial, 0, b"partial")
    unknown = "0" * 64
    world.session.expire_all()
    assert service.missing_attachments([done, partial, unknown, done], session=world.session) == {
        partial,
        unknown,
    }
    assert service.missing_attachments([], session=world.session) == set()
    assert service.missing_attachments(iter([done]), session=world.session) == set()


def test_english_messages(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"), **{"Accept-Language": "en"})
    refused = declare(client, headers, b"x", "text/html")
    assert refused.json()["error"]["message"].startswith("File type not accepted: text/html.")
    french = declare(client, world.headers(world.user("fieldworker")), b"x", "text/html")
    assert french.json()["error"]["message"].startswith("Type de fichier non accepté : text/html.")
