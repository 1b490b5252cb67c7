"""The people of the coordinator browser tests, added to the field world of harness.prepare: an
administrator, a coordinator of the first site and a viewer. And a field worker's device pushing records
straight through the API (what its app would send), to fill the review queue quickly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session

from pwa.harness import PASSWORD, SITE, World
from terrain.db import create_db_engine
from terrain.principals import SYSTEM
from terrain.users.service import create_user

ADMIN = "alix.admin@terrain.example.org"
COORDINATOR = "claude.coordination@terrain.example.org"
VIEWER = "vic.lecture@terrain.example.org"


@dataclass
class People:
    admin: str
    coordinator: str
    viewer: str
    password: str


def prepare_coordinator(world: World) -> People:
    engine = create_db_engine(world.url)
    try:
        with Session(engine) as session:
            create_user(ADMIN, PASSWORD, "admin", session=session, actor=SYSTEM, display_name="Alix")
            create_user(
                COORDINATOR,
                PASSWORD,
                "coordinator",
                session=session,
                actor=SYSTEM,
                display_name="Claude",
                site_codes=[SITE],
            )
            create_user(VIEWER, PASSWORD, "viewer", session=session, actor=SYSTEM, site_codes=[SITE])
            session.commit()
    finally:
        engine.dispose()
    return People(admin=ADMIN, coordinator=COORDINATOR, viewer=VIEWER, password=PASSWORD)


def device_token(base_url: str, email: str, password: str, device: str = "Tablette aire nord") -> str:
    with httpx.Client(base_url=base_url, trust_env=False, timeout=10) as client:
        answer = client.post(
            "/api/v1/auth/token", data={"username": email, "password": password, "device_name": device}
        )
        answer.raise_for_status()
        return str(answer.json()["device_token"])


def record(spec: str, version: int, answers: dict[str, Any], site: str = SITE) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "spec": spec,
        "version": version,
        "site": site,
        "revision": 1,
        "base_revision": None,
        "answers": answers,
        "started_at": "2026-11-20T09:00:00+01:00",
        "finished_at": "2026-11-20T09:12:00+01:00",
    }


def push(base_url: str, token: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with httpx.Client(base_url=base_url, trust_env=False, timeout=20) as client:
        answer = client.post(
            "/api/v1/sync/push",
            json={"batch_id": str(uuid.uuid4()), "records": records},
            headers={"Authorization": f"Bearer {token}"},
        )
        answer.raise_for_status()
        results: list[dict[str, Any]] = answer.json()["results"]
        return results


def pulled_reviews(base_url: str, token: str) -> dict[str, Any]:
    """What the field worker's device reads on its next pull: each record's review, by id."""
    with httpx.Client(base_url=base_url, trust_env=False, timeout=20) as client:
        answer = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return {row["id"]: row.get("review") for row in answer.json()["records"]}
