"""A real Terrain server in a subprocess (``python -m terrain.cli serve``, the production entry point) and
the instruments of the hostile-input tests: its memory from /proc, a health-check poller that runs while a
hostile request is in flight, a raw HTTP/1.1 sender for bodies the server must refuse before reading them,
and workbook builders.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import httpx
from sqlmodel import Session

from conftest import TEST_SECRET, test_password_hash
from terrain.auth.service import issue_access_token
from terrain.config import Settings
from terrain.db import create_db_engine, migrate
from terrain.users.models import User

T = TypeVar("T")

HEALTH_PATH = "/api/health"
# Every health check made while a hostile request runs must come back 200 within this (the event loop is
# not blocked), and the checks are this far apart.
HEALTH_BOUND_SECONDS = 1.0
HEALTH_INTERVAL_SECONDS = 0.1
START_TIMEOUT_SECONDS = 30.0
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")

ADMIN_EMAIL = "admin@hostile.example.org"
COORDINATOR_EMAIL = "coordinator@hostile.example.org"


# --- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Resident memory of a process, in MiB: now (VmRSS) and the peak since the last reset (VmHWM)."""

    rss: float
    peak: float


def read_memory(pid: int) -> Memory:
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024  # kB -> MiB
    return Memory(rss=values["VmRSS"], peak=values["VmHWM"])


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0, own processes); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


@dataclass
class Server:
    """A ``terrain serve`` process on 127.0.0.1 with its own SQLite database and data directory."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path
    settings: Settings
    admin_token: str
    coordinator_token: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(
        self, *, local_address: str | None = None, timeout: float = 30.0, connections: int = 10
    ) -> httpx.Client:
        """A client that connects from ``local_address`` (any 127.x.y.z: each test that logs in uses its
        own, so that the per-address login limit of one test does not block another)."""
        transport = httpx.HTTPTransport(
            local_address=local_address, limits=httpx.Limits(max_connections=connections)
        )
        return httpx.Client(base_url=self.base_url, trust_env=False, timeout=timeout, transport=transport)

    def admin(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}", **extra}

    def coordinator(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.coordinator_token}", **extra}

    def memory(self) -> Memory:
        return read_memory(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def assert_healthy(self) -> None:
        assert self.alive(), f"the server died:\n{self.log_tail()}"
        with self.client(timeout=5) as client:
            started = time.perf_counter()
            response = client.get(HEALTH_PATH)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert elapsed < HEALTH_BOUND_SECONDS, f"health answered in {elapsed:.2f} s"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _create_users(url: str, settings: Settings) -> tuple[str, str]:
    engine = create_db_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            users = [
                User(email=email, display_name=role, password_hash=test_password_hash(), role=role)
                for email, role in ((ADMIN_EMAIL, "admin"), (COORDINATOR_EMAIL, "coordinator"))
            ]
            session.add_all(users)
            session.commit()
            # Tokens are minted here rather than through /auth/token: the login tests exhaust the
            # per-address limit on purpose, and no other test should depend on logging in.
            admin, coordinator = (issue_access_token(user, settings=settings).access_token for user in users)
    finally:
        engine.dispose()
    return admin, coordinator


def start_server(root: Path, **env: str) -> Server:
    """Migrate a new SQLite database under ``root``, create an admin and a coordinator, start
    ``python -m terrain.cli serve`` on a free port of 127.0.0.1 and wait for its health check.
    ``env`` adds ``TERRAIN_*`` settings (e.g. ``TERRAIN_TRUSTED_PROXIES``)."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'terrain.db'}"
    migrate(url)
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=root,
        secret_key=TEST_SECRET,
    )
    admin_token, coordinator_token = _create_users(url, settings)
    server_env = {key: value for key, value in os.environ.items() if not key.startswith("TERRAIN_")}
    server_env.update(
        TERRAIN_ENVIRONMENT="test",
        TERRAIN_SECRET_KEY=TEST_SECRET,
        TERRAIN_DATA_DIR=str(root),
        TERRAIN_DATABASE_URL=url,
        PYTHONUNBUFFERED="1",
        **env,
    )
    for attempt in range(3):  # the free port may be taken between its choice and the server's bind
        server = _launch(root, settings, admin_token, coordinator_token, server_env, attempt)
        if server is not None:
            break
    else:
        raise RuntimeError("the server did not start on a free port three times")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with server.client(timeout=5) as client:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if client.get(HEALTH_PATH).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"no health check answered:\n{server.log_tail()}")
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _launch(
    root: Path,
    settings: Settings,
    admin_token: str,
    coordinator_token: str,
    env: dict[str, str],
    attempt: int,
) -> Server | None:
    """``python -m terrain.cli serve`` on a free port; None if that port was taken meanwhile."""
    port = _free_port()
    log_path = root / f"server-{attempt}.log"
    with open(log_path, "wb") as log:  # a file, never a pipe: a full pipe would block the server
        process = subprocess.Popen(
            [sys.executable, "-m", "terrain.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, root, settings, admin_token, coordinator_token, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "address already in use" in server.log_tail().lower():
                return None
            raise RuntimeError(f"the server did not start:\n{server.log_tail()}")
        if _LISTENING.search(log_path.read_text(errors="replace")):
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"the server did not start in {START_TIMEOUT_SECONDS} s:\n{server.log_tail()}")


# --- a hostile request, watched ------------------------------------------------------------------


@dataclass
class Run(Generic[T]):
    """What happened while a hostile call ran: its value, its duration, every health check (status,
    seconds) and the server's memory in MiB (RSS before, peak during)."""

    value: T
    elapsed: float
    health: list[tuple[int, float]]
    rss_before: float
    peak: float
    rss_after: float

    @property
    def growth(self) -> float:
        """How far the server's resident memory rose above where it was before the call (MiB)."""
        return max(0.0, self.peak - self.rss_before)

    @property
    def slowest_health(self) -> float:
        return max(seconds for _, seconds in self.health)

    def summary(self) -> str:
        return (
            f"{self.elapsed:.2f} s, RSS {self.rss_before:.0f} -> peak {self.peak:.0f} MiB "
            f"(+{self.growth:.0f}), {len(self.health)} health checks, "
            f"slowest {self.slowest_health * 1000:.0f} ms"
        )


@dataclass
class _Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None
    elapsed: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)


def while_running(server: Server, hostile_call: Callable[[], T], *, timeout: float = 60.0) -> Run[T]:
    """Run ``hostile_call`` in a thread; meanwhile GET /api/health every ~100 ms (first one at once) and
    sample the server's RSS. Asserts each health check answered 200 within HEALTH_BOUND_SECONDS, and
    that the server is still alive and healthy afterwards. Re-raises what the call raised."""
    peak_reset = reset_peak(server.pid)
    before = server.memory()
    outcome: _Outcome[T] = _Outcome()

    def call() -> None:
        started = time.perf_counter()
        try:
            outcome.value = hostile_call()
        except BaseException as exc:  # re-raised in the test's thread
            outcome.error = exc
        finally:
            outcome.elapsed = time.perf_counter() - started
            outcome.done.set()

    health: list[tuple[int, float]] = []
    sampled_peak = before.rss
    thread = threading.Thread(target=call, name="hostile-call", daemon=True)
    with server.client(timeout=HEALTH_BOUND_SECONDS * 5, local_address="127.0.0.254") as poller:
        thread.start()
        deadline = time.monotonic() + timeout
        while True:
            started = time.perf_counter()
            try:
                status = poller.get(HEALTH_PATH).status_code
            except httpx.TransportError as exc:
                status = -1
                assert server.alive(), f"the server died: {exc}\n{server.log_tail()}"
            health.append((status, time.perf_counter() - started))
            sampled_peak = max(sampled_peak, server.memory().rss)
            if outcome.done.wait(max(0.0, HEALTH_INTERVAL_SECONDS - (time.perf_counter() - started))):
                break
            assert time.monotonic() < deadline, f"the hostile call still runs after {timeout} s"
    thread.join()
    after = server.memory()
    if outcome.error is not None:
        raise outcome.error
    peak = max(sampled_peak, after.peak if peak_reset else after.rss)
    run = Run(cast(T, outcome.value), outcome.elapsed, health, before.rss, peak, after.rss)
    bad = [(status, round(seconds, 3)) for status, seconds in health if status != 200]
    assert not bad, f"health checks failed during the hostile request: {bad}"
    assert run.slowest_health < HEALTH_BOUND_SECONDS, f"the event loop was blocked: {run.summary()}"
    server.assert_healthy()
    return run


# The server's resident memory never passes this during any hostile request (it starts near 90 MiB). With
# the growth bound: memory freed by an earlier test stays resident and hides a later test's growth, the
# absolute peak does not.
PEAK_BOUND_MB = 450.0


def assert_bounded(run: Run[Any], *, seconds: float = 5.0, growth_mb: float = 150.0) -> None:
    print(f"[hostile] {run.summary()}")  # shown with -rP or -s: the measurements behind the bounds
    assert run.elapsed < seconds, f"too slow: {run.summary()}"
    assert run.growth < growth_mb, f"too much memory: {run.summary()}"
    assert run.peak < PEAK_BOUND_MB, f"too much memory: {run.summary()}"


# --- raw HTTP/1.1 --------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client managed to write before the answer (or the close)

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = self.json()["error"]
        return error


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: Iterable[bytes],
    *,
    content_length: int | None,
    timeout: float = 30.0,
) -> RawResponse:
    """Send a request with a body written chunk by chunk from another thread (``Content-Length`` when
    given, else ``Transfer-Encoding: chunked``) while this thread reads the answer: the server may answer
    before the body is sent, as it must for a body over its limit; the rest of the body is then dropped.
    httpx would insist on writing the whole body first and fail on the closed connection instead."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines.append(
        f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked"
    )
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    sent = 0
    stop = threading.Event()

    def send_body() -> None:
        nonlocal sent
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                if content_length is None:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    sock.sendall(chunk)
                sent += len(chunk)
            if content_length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the rest is not wanted
            return

    sender = threading.Thread(target=send_body, name="raw-body", daemon=True)
    sender.start()
    received = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
            head, separator, rest = received.partition(b"\r\n\r\n")
            if separator:
                length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if length and len(rest) >= int(length.group(1)):
                    break
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sender.join(timeout)
        sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), f"no HTTP answer: {received[:200]!r}"
    parsed = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        parsed[key.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), parsed, body, sent)


def repeat(piece: bytes, total: int) -> Iterator[bytes]:
    """``total`` bytes made of ``piece`` repeated, in pieces of about 64 KiB, generated as they are sent."""
    block = piece * max(1, 65536 // len(piece))
    left = total
    while left > 0:
        chunk = block[:left]
        left -= len(chunk)
        yield chunk


# --- workbooks -----------------------------------------------------------------------------------

_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _relationships(*targets: tuple[str, str]) -> bytes:
    rows = "".join(
        f'<Relationship Id="rId{index}" Type="{_OFFICE}/{kind}" Target="{target}"/>'
        for index, (kind, target) in enumerate(targets, start=1)
    )
    return (
        f'{_XML_DECLARATION}<Relationships xmlns="{_PACKAGE}/relationships">{rows}</Relationships>'.encode()
    )


_CONTENT_TYPES = (
    f'{_XML_DECLARATION}<Types xmlns="{_PACKAGE}/content-types">'
    f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SPREADSHEET}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SPREADSHEET}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SPREADSHEET}.sharedStrings+xml"/>'
    "</Types>"
).encode()
_ROOT_RELS = _relationships(("officeDocument", "xl/workbook.xml"))
_WORKBOOK = (
    f'{_XML_DECLARATION}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_OFFICE}"><sheets><sheet name="survey" sheetId="1" r:id="rId1"/></sheets></workbook>'
).encode()
_WORKBOOK_RELS = _relationships(
    ("worksheet", "worksheets/sheet1.xml"), ("sharedStrings", "sharedStrings.xml")
)
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = b"</sheetData></worksheet>"
_MAIN_NS = b' xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
EMPTY_SHARED_STRINGS = b'<?xml version="1.0" encoding="UTF-8"?>\n<sst' + _MAIN_NS + b' count="0"/>'


def xlsx(parts: dict[str, Iterable[bytes]]) -> bytes:
    """A minimal workbook (one sheet, "survey") whose parts are streamed into the zip, deflated, piece by
    piece: a part of hundreds of megabytes is never held in memory. ``parts`` replaces or adds parts
    (``xl/worksheets/sheet1.xml``, ``xl/sharedStrings.xml``, ``xl/workbook.xml``...)."""
    members: dict[str, Iterable[bytes]] = {
        "[Content_Types].xml": [_CONTENT_TYPES],
        "_rels/.rels": [_ROOT_RELS],
        "xl/workbook.xml": [_WORKBOOK],
        "xl/_rels/workbook.xml.rels": [_WORKBOOK_RELS],
        "xl/sharedStrings.xml": [EMPTY_SHARED_STRINGS],
        "xl/worksheets/sheet1.xml": [SHEET_START, SHEET_END],
        **parts,
    }
    buffer = io.BytesIO()
    # Level 1: a 300 MB part deflates in half a second (level 9: four times slower, five times smaller).
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, pieces in members.items():
            with archive.open(name, "w") as member:
                for piece in pieces:
                    member.write(piece)
    return buffer.getvalue()


def shared_string_bomb(size: int) -> Iterator[bytes]:
    """xl/sharedStrings.xml holding one string of ``size`` characters."""
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<sst' + _MAIN_NS + b' count="1" uniqueCount="1"><si><t>'
    yield from repeat(b"A", size)
    yield b"</t></si></sst>"


def inline_row(*texts: str) -> bytes:
    cells = b"".join(b'<c t="inlineStr"><is><t>' + text.encode() + b"</t></is></c>" for text in texts)
    return b"<row>" + cells + b"</row>"


def patch_declared_size(data: bytes, member: str, size: int) -> bytes:
    """The zip with ``member``'s uncompressed size rewritten to ``size`` in its local header and in the
    central directory: a part that lies about what it inflates to."""
    out = bytearray(data)
    name = member.encode()
    # (signature, offset of the uncompressed size, of the name's length, of the name) in each header
    for signature, size_at, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_length = int.from_bytes(out[start + length_at : start + length_at + 2], "little")
            if bytes(out[start + name_at : start + name_at + name_length]) == name:
                out[start + size_at : start + size_at + 4] = size.to_bytes(4, "little")
            start += 4
    return bytes(out)
