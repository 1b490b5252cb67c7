"""Where attachment bytes live. A small interface, so that an S3-compatible store can replace the file
system later; the database (``attachments``) says how far each upload got, the store holds the bytes.

``FileSystemStore`` keeps a finished content at ``<root>/ab/cd/<sha256>`` (``root`` is
``<data_dir>/attachments``) and an upload under way at ``<root>/partial/<sha256>``. Every method blocks:
call them from a worker thread, never on the event loop.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from terrain.config import Settings

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# Files are hashed and copied in pieces of this size: memory stays flat whatever the file's size.
READ_PIECE = 1024 * 1024


class ChecksumMismatch(Exception):
    """The bytes received do not hash to the name they were uploaded under."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected sha256 {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class AttachmentStore(Protocol):
    def write_at(self, sha256: str, offset: int, chunk: bytes) -> None:
        """Write ``chunk`` at ``offset`` of the partial content (never appends: a chunk sent twice lands
        on the same bytes)."""

    def partial_size(self, sha256: str) -> int:
        """Bytes of the partial content on store (0 when there is none)."""

    def discard_partial(self, sha256: str) -> None:
        """Forget the partial content (no error when there is none)."""

    def finalize(self, sha256: str) -> None:
        """Check that the partial content hashes to ``sha256`` and make it the final content, atomically;
        raise :class:`ChecksumMismatch` otherwise. The partial content is left in place either way: the
        caller discards it once the database agrees (the upload stays resumable until then)."""

    def exists(self, sha256: str) -> bool:
        """Whether the final content is stored."""

    def open(self, sha256: str) -> BinaryIO:
        """The final content, for reading (``FileNotFoundError`` when absent)."""

    def local_path(self, sha256: str) -> Path | None:
        """The final content as a local file (served with sendfile and ranges), or ``None`` for a store
        whose bytes are elsewhere."""


def _checked(sha256: str) -> str:
    # The name becomes a path: anything but 64 lowercase hex digits is a programming error.
    if not SHA256_RE.match(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


class FileSystemStore:
    """Attachments as files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def final_path(self, sha256: str) -> Path:
        sha256 = _checked(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def partial_path(self, sha256: str) -> Path:
        return self.root / "partial" / _checked(sha256)

    def write_at(self, sha256: str, offset: int, chunk: bytes) -> None:
        if offset < 0:
            raise ValueError("negative offset")
        path = self.partial_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_CREAT without O_TRUNC: the bytes already there stay; seek + write, not append.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.seek(offset)
            handle.write(chunk)

    def partial_size(self, sha256: str) -> int:
        try:
            return self.partial_path(sha256).stat().st_size
        except FileNotFoundError:
            return 0

    def discard_partial(self, sha256: str) -> None:
        self.partial_path(sha256).unlink(missing_ok=True)

    def finalize(self, sha256: str) -> None:
        """Hash the partial content while copying it next to its final place, then rename the copy.

        The final file is written from the very bytes that were hashed: a late writer still holding the
        partial file open (a racing retry of the last chunk) can change the partial, never the final
        content. The copy is fsynced before the rename, and the directory after it. The partial content
        stays until :meth:`discard_partial`."""
        final = self.final_path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(prefix=f".{sha256}.", suffix=".tmp", dir=final.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    source = self.partial_path(sha256).open("rb")
                except FileNotFoundError:
                    source = None
                if source is not None:
                    with source:
                        while piece := source.read(READ_PIECE):
                            digest.update(piece)
                            out.write(piece)
                actual = digest.hexdigest()
                if actual != sha256:
                    raise ChecksumMismatch(sha256, actual)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)

    def exists(self, sha256: str) -> bool:
        return self.final_path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.final_path(sha256).open("rb")

    def local_path(self, sha256: str) -> Path | None:
        return self.final_path(sha256)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX; directories cannot be opened on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_from_settings(settings: Settings) -> FileSystemStore:
    """The store of a Terrain instance: ``<data_dir>/attachments``, created on the first write."""
    return FileSystemStore(settings.data_dir / "attachments")
