"""A prepared database and real ``terrain serve`` processes on 127.0.0.1, for the sync benchmarks and the
sync fault tests (tests/sync_faults load this file by path).

``prepare(url)`` migrates a database, creates sites, field workers with one device token each, and
publishes diagnostic_familles on the sites. ``Live.start(url, root)`` runs ``python -m terrain.cli
serve`` (the production entry point) on a free port against that database, and can SIGKILL it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from terrain.auth.service import create_device_token, principal_for
from terrain.db import create_db_engine, migrate
from terrain.principals import SYSTEM
from terrain.sites.models import Site
from terrain.specs import service as specs
from terrain.users.models import User, UserSite


def _load_sibling(name: str) -> Any:
    """bench/<name>.py, whoever imports this file (bench scripts, tests)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


synthetic = _load_sibling("_synthetic")

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# Not a real password: the tokens are minted directly, nobody logs in.
UNUSABLE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$ZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZQ"
HEALTH_PATH = "/api/health"
PUSH_PATH = "/api/v1/sync/push"
START_TIMEOUT_SECONDS = 30.0
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class Prepared:
    url: str
    sites: list[str]
    tokens: list[str]  # one device token per simulated device (``tdt_…``)
    version: int  # the published version of diagnostic_familles


def prepare(url: str, *, devices: int = 1, sites: tuple[str, ...] = ("aire-nord", "aire-sud")) -> Prepared:
    """Migrate ``url`` (empty), create ``sites``, ``devices`` field workers (one device token each, on
    every site) and publish diagnostic_familles on the sites."""
    migrate(url)
    engine = create_db_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            rows = [Site(code=code, name=code.replace("-", " ").title()) for code in sites]
            session.add_all(rows)
            session.flush()
            published = specs.publish(
                synthetic.SPEC_NAME, session=session, actor=SYSTEM, source=synthetic.spec_source()
            )
            specs.assign_sites(synthetic.SPEC_NAME, list(sites), session=session, actor=SYSTEM)
            tokens = []
            for index in range(devices):
                user = User(
                    email=f"enqueteur-{index}-{uuid.uuid4().hex[:6]}@bench.example.org",
                    display_name=f"Enquêteur {index}",
                    password_hash=UNUSABLE_HASH,
                    role="fieldworker",
                )
                session.add(user)
                session.flush()
                assert user.id is not None
                for site in rows:
                    assert site.id is not None
                    session.add(UserSite(user_id=user.id, site_id=site.id))
                session.flush()
                _, secret = create_device_token(
                    f"Tablette {index}", session=session, actor=principal_for(user, session=session)
                )
                tokens.append(secret)
            session.commit()
            version = published.version.version
            assert version is not None
    finally:
        engine.dispose()
    return Prepared(url=url, sites=list(sites), tokens=tokens, version=version)


@dataclass
class Live:
    """A ``terrain serve`` process."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, url: str, root: Path, *, name: str = "server", port: int | None = None, **env: str
    ) -> Live:
        """Serve ``url`` (already prepared) on a free port, or on ``port`` (a restart on the same origin:
        the browser tests' app keeps its storage); wait until the health check answers."""
        root.mkdir(parents=True, exist_ok=True)
        server_env = {key: value for key, value in os.environ.items() if not key.startswith("TERRAIN_")}
        server_env.update(
            TERRAIN_ENVIRONMENT="test",
            TERRAIN_SECRET_KEY=SECRET,
            TERRAIN_DATA_DIR=str(root),
            TERRAIN_DATABASE_URL=url,
            PYTHONUNBUFFERED="1",
            **env,
        )
        for attempt in range(3):  # the free port may be taken between its choice and the bind
            live = cls._launch(root, f"{name}-{attempt}", server_env, port)
            if live is not None:
                break
            if port is not None:
                time.sleep(0.5)  # the previous process may still hold the port for a moment
        else:
            raise RuntimeError("the server did not start on a free port three times")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        with httpx.Client(base_url=live.base_url, trust_env=False, timeout=5) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if client.get(HEALTH_PATH).status_code == 200:
                        return live
                if time.monotonic() > deadline:
                    live.stop()
                    raise RuntimeError(f"no health check answered:\n{live.log_tail()}")
                time.sleep(0.05)

    @classmethod
    def _launch(cls, root: Path, name: str, env: dict[str, str], port: int | None = None) -> Live | None:
        if port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
        log_path = root / f"{name}.log"
        with open(log_path, "wb") as log:  # a file, never a pipe: a full pipe would block the server
            process = subprocess.Popen(
                [sys.executable, "-m", "terrain.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        live = cls(process, port, log_path)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                if "address already in use" in live.log_tail().lower():
                    return None
                raise RuntimeError(f"the server did not start:\n{live.log_tail()}")
            if _LISTENING.search(log_path.read_text(errors="replace")):
                return live
            time.sleep(0.05)
        live.stop()
        raise RuntimeError(f"the server did not start in {START_TIMEOUT_SECONDS} s:\n{live.log_tail()}")

    def client(self, *, timeout: float = 120.0, connections: int = 10) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            trust_env=False,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback, no flush; the database is left as the crash leaves it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def push_body(records: list[dict[str, Any]], batch_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"records": records}
    if batch_id is not None:
        body["batch_id"] = batch_id
    return json.dumps(body, ensure_ascii=False).encode()


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def push(
    client: httpx.Client, token: str, records: list[dict[str, Any]], batch_id: str | None = None
) -> httpx.Response:
    return client.post(PUSH_PATH, content=push_body(records, batch_id), headers=headers(token))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def count(url: str, sql: str, **params: Any) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar_one())
    finally:
        engine.dispose()
