"""Downloads: who may read an attachment (its uploader, or whoever may read individual records on the site
of a record referring to it; anyone else gets the same 404 as for an unknown content), the headers, ranges,
and the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from attachments import BASE, declare, random_bytes, refer, send, sha, upload
from conftest import World
from terrain.attachments.storage import FileSystemStore
from terrain.audit.models import AuditLog


def downloads(world: World, digest: str) -> list[AuditLog]:
    world.session.expire_all()
    return list(
        world.session.exec(
            select(AuditLog).where(AuditLog.action == "attachment.downloaded", AuditLog.target_id == digest)
        ).all()
    )


@pytest.fixture
def scene(client: TestClient, world: World) -> dict[str, object]:
    """A photo uploaded by a fieldworker of ``nord``, referred to by a record of ``nord``."""
    nord, sud = world.site("nord"), world.site("sud")
    people = {
        "uploader": world.user("fieldworker", sites=(nord,), email="uploader@example.org"),
        "fieldworker_nord": world.user("fieldworker", sites=(nord,)),
        "coordinator_nord": world.user("coordinator", sites=(nord,)),
        "coordinator_sud": world.user("coordinator", sites=(sud,)),
        "fieldworker_sud": world.user("fieldworker", sites=(sud,)),
        "viewer_nord": world.user("viewer", sites=(nord,)),
        "admin": world.user("admin"),
    }
    data = random_bytes(21, 70_000)
    digest = upload(client, world.headers(people["uploader"]), data)
    refer(world.session, digest, nord, size=len(data))
    return {"people": people, "data": data, "digest": digest, "nord": nord, "sud": sud}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("uploader", 200),
        ("fieldworker_nord", 404),  # another field worker of the site: only their own records
        ("coordinator_nord", 200),
        ("admin", 200),
        ("coordinator_sud", 404),
        ("fieldworker_sud", 404),
        ("viewer_nord", 404),
    ],
)
def test_who_may_download(
    client: TestClient, world: World, scene: dict[str, object], who: str, status: int
) -> None:
    people = scene["people"]
    assert isinstance(people, dict)
    digest = str(scene["digest"])
    answer = client.get(f"{BASE}/{digest}", headers=world.headers(people[who]))
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.content == scene["data"]
        assert len(downloads(world, digest)) == 1
    else:
        # Exactly the answer for a content that does not exist: nothing tells it apart.
        unknown = client.get(f"{BASE}/{'e' * 64}", headers=world.headers(people[who]))
        assert answer.json() == unknown.json()
        assert answer.json()["error"]["code"] == "attachment.not_found"
        assert downloads(world, digest) == []


def test_download_headers(client: TestClient, world: World, scene: dict[str, object]) -> None:
    people = scene["people"]
    assert isinstance(people, dict)
    digest = str(scene["digest"])
    answer = client.get(f"{BASE}/{digest}", headers=world.headers(people["coordinator_nord"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["etag"] == f'"{digest}"'
    assert answer.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert answer.headers["content-disposition"] == f'attachment; filename="{digest}.jpg"'
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-length"] == str(len(scene["data"]))  # type: ignore[arg-type]


def test_ranges_and_revalidation(client: TestClient, world: World, scene: dict[str, object]) -> None:
    people = scene["people"]
    assert isinstance(people, dict)
    data = scene["data"]
    assert isinstance(data, bytes)
    digest = str(scene["digest"])
    headers = world.headers(people["uploader"])
    first = client.get(f"{BASE}/{digest}", headers={**headers, "Range": "bytes=0-999"})
    assert first.status_code == 206 and first.content == data[:1000]
    rest = client.get(f"{BASE}/{digest}", headers={**headers, "Range": "bytes=1000-"})
    assert rest.status_code == 206 and rest.content == data[1000:]
    assert rest.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    cached = client.get(f"{BASE}/{digest}", headers={**headers, "If-None-Match": f'"{digest}"'})
    assert cached.status_code == 304 and cached.content == b""
    # One reading (its later ranges and revalidations are not new readings): one audit row.
    assert len(downloads(world, digest)) == 1


def test_download_audit_has_no_personal_data(
    client: TestClient, world: World, scene: dict[str, object]
) -> None:
    people = scene["people"]
    assert isinstance(people, dict)
    digest = str(scene["digest"])
    reader = people["coordinator_nord"]
    client.get(f"{BASE}/{digest}", headers=world.headers(reader))
    [row] = downloads(world, digest)
    assert row.actor_user_id == reader.id
    assert (row.target_type, row.target_id) == ("attachment", digest)
    assert row.details == {}
    assert "@" not in str(row.details)


def test_an_unfinished_upload_cannot_be_downloaded(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("fieldworker"))
    data = random_bytes(22, 5_000)
    digest = sha(data)
    declare(client, headers, data)
    send(client, headers, digest, 0, data[:4_000])
    assert client.get(f"{BASE}/{digest}", headers=headers).status_code == 404


def test_an_attachment_no_record_refers_to_is_its_uploaders_only(client: TestClient, world: World) -> None:
    nord = world.site("nord")
    uploader = world.user("fieldworker", sites=(nord,))
    digest = upload(client, world.headers(uploader), random_bytes(23, 3_000))
    for other in (world.user("admin"), world.user("coordinator", sites=(nord,))):
        assert client.get(f"{BASE}/{digest}", headers=world.headers(other)).status_code == 404
    assert client.get(f"{BASE}/{digest}", headers=world.headers(uploader)).status_code == 200
    assert client.get(f"{BASE}/{digest}").status_code == 401


def test_content_lost_on_disk_is_404_not_500(client: TestClient, world: World) -> None:
    uploader = world.user("fieldworker")
    digest = upload(client, world.headers(uploader), random_bytes(24, 3_000))
    client.app.state.attachment_store.final_path(digest).unlink()  # type: ignore[attr-defined]
    lost = client.get(f"{BASE}/{digest}", headers=world.headers(uploader))
    assert lost.status_code == 404 and lost.json()["error"]["code"] == "attachment.not_found"


class RemoteStore(FileSystemStore):
    """A store whose bytes are not local files (as an S3-compatible one would be)."""

    def local_path(self, sha256: str) -> Path | None:
        return None


def test_a_store_without_local_files_is_streamed(client: TestClient, world: World) -> None:
    uploader = world.user("fieldworker")
    data = random_bytes(25, 3 * 1024 * 1024 + 17)
    digest = upload(client, world.headers(uploader), data, "audio/mpeg", chunk_size=1024 * 1024)
    root = client.app.state.attachment_store.root  # type: ignore[attr-defined]
    client.app.state.attachment_store = RemoteStore(root)  # type: ignore[attr-defined]
    answer = client.get(f"{BASE}/{digest}", headers=world.headers(uploader))
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-type"] == "audio/mpeg"
    assert answer.headers["content-disposition"] == f'attachment; filename="{digest}.mp3"'
    assert answer.headers["etag"] == f'"{digest}"'
