"""The file-system store on its own: writes at offsets, verification, atomic finalization, safe names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from terrain.attachments.storage import ChecksumMismatch, FileSystemStore, store_from_settings
from terrain.config import Settings

DATA = bytes(range(256)) * 40
DIGEST = hashlib.sha256(DATA).hexdigest()


def test_writes_land_at_their_offset_in_any_order(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path)
    store.write_at(DIGEST, 5_000, DATA[5_000:])
    store.write_at(DIGEST, 0, DATA[:5_000])
    store.write_at(DIGEST, 1_000, DATA[1_000:2_000])  # a chunk sent twice: the same bytes again
    assert store.partial_size(DIGEST) == len(DATA)
    assert store.partial_path(DIGEST).read_bytes() == DATA
    store.finalize(DIGEST)
    assert store.exists(DIGEST)
    assert store.final_path(DIGEST) == tmp_path / DIGEST[:2] / DIGEST[2:4] / DIGEST
    with store.open(DIGEST) as handle:
        assert handle.read() == DATA
    # The partial content stays until the database agrees; then it goes.
    assert store.partial_path(DIGEST).exists()
    store.discard_partial(DIGEST)
    assert store.partial_size(DIGEST) == 0
    store.discard_partial(DIGEST)  # twice: no error


def test_a_mismatch_leaves_no_final_file_nor_temporary(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path)
    store.write_at(DIGEST, 0, DATA[:-1] + b"\x00")
    with pytest.raises(ChecksumMismatch) as caught:
        store.finalize(DIGEST)
    assert caught.value.expected == DIGEST and caught.value.actual != DIGEST
    assert not store.exists(DIGEST)
    assert list(store.final_path(DIGEST).parent.iterdir()) == []
    assert store.partial_size(DIGEST) == len(DATA)


def test_finalize_without_any_bytes_is_a_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatch):
        FileSystemStore(tmp_path).finalize(DIGEST)


def test_a_late_writer_cannot_change_the_verified_content(tmp_path: Path) -> None:
    """The final file is a copy of the bytes that were hashed: a writer still holding the partial file
    open after the check changes the partial only."""
    store = FileSystemStore(tmp_path)
    store.write_at(DIGEST, 0, DATA)
    with store.partial_path(DIGEST).open("r+b") as late:
        store.finalize(DIGEST)
        late.write(b"garbage")
    assert store.final_path(DIGEST).read_bytes() == DATA


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "a" * 63, "", "a" * 63 + "/"])
def test_names_that_are_not_a_sha256_are_refused(tmp_path: Path, name: str) -> None:
    store = FileSystemStore(tmp_path)
    with pytest.raises(ValueError):
        store.write_at(name, 0, b"x")
    with pytest.raises(ValueError):
        store.exists(name)
    assert list(tmp_path.iterdir()) == []


def test_store_from_settings_is_under_the_data_dir_and_created_lazily(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, secret_key="s" * 40)  # type: ignore[arg-type]
    store = store_from_settings(settings)
    assert store.root == tmp_path / "attachments"
    assert not store.root.exists()


def test_attachment_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAIN_MAX_ATTACHMENT_BYTES", "1048576")
    monkeypatch.setenv("TERRAIN_ATTACHMENT_MEDIA_TYPES", "image/jpeg, audio/flac")
    settings = Settings(environment="test", secret_key="s" * 40)  # type: ignore[arg-type]
    assert settings.max_attachment_bytes == 1024 * 1024
    assert settings.attachment_media_types == ["image/jpeg", "audio/flac"]
    monkeypatch.delenv("TERRAIN_MAX_ATTACHMENT_BYTES")
    monkeypatch.delenv("TERRAIN_ATTACHMENT_MEDIA_TYPES")
    defaults = Settings(environment="test", secret_key="s" * 40)  # type: ignore[arg-type]
    assert defaults.max_attachment_bytes == 100 * 1024 * 1024
    assert (
        "application/pdf" in defaults.attachment_media_types
        and "audio/flac" not in defaults.attachment_media_types
    )
