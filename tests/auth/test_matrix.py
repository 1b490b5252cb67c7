"""The authorization matrix: every endpoint x every role x own/other site, one expected status per cell.

World of every cell: sites ``own`` and ``other``; a coordinator, a fieldworker and a viewer assigned to
``own``; an admin (no site). Spec ``spec_own`` (assigned to ``own``) and ``spec_other`` (assigned to
``other``) each have a published version 1 and a compatible draft. ``{target_user}`` is a fieldworker of
the site; ``{token_id}`` is a device token of the caller (own) or of another user (other).

Every operation of the OpenAPI must have a row (``test_every_operation_has_a_row``): a new endpoint
cannot ship without its authorization decided here.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import SPEC_ESSAI, SPEC_ESSAI_V2, TEST_PASSWORD, World, spec_named
from terrain.attachments.models import Attachment
from terrain.attachments.storage import store_from_settings
from terrain.auth.service import SYSTEM, Principal, create_device_token, principal_for
from terrain.responses import service as responses
from terrain.responses.models import Response, ResponseFile
from terrain.sites.models import Site
from terrain.speclang import compile_text
from terrain.specs import service as specs
from terrain.sync import service as sync
from terrain.users.models import User
from terrain.xlsform import export_xlsform

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ROLES = ("admin", "coordinator", "fieldworker", "viewer")
OK = 200


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body: dict[str, Any] | None = None
    # role -> (status on own site, status on other site); "anonymous" is implied 401 unless given.
    expect: dict[str, tuple[int, int]] | None = None
    anonymous: int = 401
    # multipart upload: the spec ``{spec}`` as an XLSForm workbook, plus these form fields
    xlsform: dict[str, str] | None = None
    # the OpenAPI operation this row covers, when the path above carries a query string
    operation: str | None = None


def same(status: int) -> tuple[int, int]:
    return (status, status)


ALL_OK = {role: same(OK) for role in ROLES}

MATRIX: dict[str, Endpoint] = {
    "me": Endpoint("GET", "/api/v1/me", expect=ALL_OK),
    "specs.list": Endpoint("GET", "/api/v1/specs", expect=ALL_OK),
    "specs.get": Endpoint(
        "GET",
        "/api/v1/specs/{spec}",
        expect={
            "admin": same(200),
            "coordinator": same(200),
            "fieldworker": (200, 404),
            "viewer": (200, 404),
        },
    ),
    "specs.version": Endpoint(
        "GET",
        "/api/v1/specs/{spec}/versions/1",
        expect={
            "admin": same(200),
            "coordinator": same(200),
            "fieldworker": (200, 404),
            "viewer": (200, 404),
        },
    ),
    "specs.upload": Endpoint(
        "POST",
        "/api/v1/specs",
        body={"source": "{spec_source}"},
        expect={"admin": same(200), "coordinator": (200, 403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "specs.validate": Endpoint(
        "POST",
        "/api/v1/specs/validate",
        body={"source": "{spec_source}"},
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(403), "viewer": same(403)},
    ),
    "specs.publish": Endpoint(
        "POST",
        "/api/v1/specs/{spec}/publish",
        expect={"admin": same(201), "coordinator": (201, 403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "specs.close": Endpoint(
        "POST",
        "/api/v1/specs/{spec}/versions/1/close",
        expect={"admin": same(200), "coordinator": (200, 403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "specs.diff": Endpoint(
        "GET",
        "/api/v1/specs/{spec}/diff?from=1&to=draft",
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(403), "viewer": same(403)},
    ),
    "specs.xlsform_export": Endpoint(
        "GET",
        "/api/v1/specs/{spec}/versions/1/xlsform",
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(403), "viewer": same(403)},
    ),
    "specs.sites": Endpoint(
        "PUT",
        "/api/v1/specs/{spec}/sites",
        body={"sites": ["{site}"]},
        expect={"admin": same(200), "coordinator": (200, 403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "users.list": Endpoint(
        "GET",
        "/api/v1/users",
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(403), "viewer": same(403)},
    ),
    "users.create": Endpoint(
        "POST",
        "/api/v1/users",
        body={
            "email": "new@example.org",
            "password": "un-mot-de-passe-long",
            "role": "viewer",
            "sites": ["{site}"],
        },
        expect={"admin": same(201), "coordinator": same(403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "users.update": Endpoint(
        "PATCH",
        "/api/v1/users/{target_user}",
        body={"role": "viewer"},
        expect={"admin": same(200), "coordinator": same(403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "sites.list": Endpoint("GET", "/api/v1/sites", expect=ALL_OK),
    "sites.create": Endpoint(
        "POST",
        "/api/v1/sites",
        body={"code": "nouveau-site", "name": "Nouveau"},
        expect={"admin": same(201), "coordinator": same(403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "sites.update": Endpoint(
        "PATCH",
        "/api/v1/sites/{site}",
        body={"name": "Aire renommée"},
        operation="PATCH /api/v1/sites/{code}",
        expect={"admin": same(200), "coordinator": same(403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "device_tokens.create": Endpoint(
        "POST", "/api/v1/auth/device-tokens", body={"name": "tablette"}, expect={r: same(201) for r in ROLES}
    ),
    "device_tokens.list": Endpoint("GET", "/api/v1/auth/device-tokens", expect=ALL_OK),
    "device_tokens.list_user": Endpoint(
        "GET",
        "/api/v1/auth/device-tokens?user_id={target_user}",
        expect={"admin": same(200), "coordinator": same(403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "device_tokens.revoke": Endpoint(
        "DELETE",
        "/api/v1/auth/device-tokens/{token_id}",
        expect={
            "admin": same(204),
            "coordinator": (204, 404),
            "fieldworker": (204, 404),
            "viewer": (204, 404),
        },
    ),
    "specs.xlsform_import": Endpoint(
        "POST",
        "/api/v1/specs/import-xlsform",
        xlsform={"replace": "true"},
        expect={"admin": same(200), "coordinator": (200, 403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "auth.token": Endpoint(
        "POST",
        "/api/v1/auth/token",
        # the caller's own password: every role may log in; nobody needs a token for it
        expect=ALL_OK,
        anonymous=401,
    ),
    "audit.list": Endpoint(
        "GET",
        "/api/v1/audit",
        expect={"admin": same(200), "coordinator": same(403), "fieldworker": same(403), "viewer": same(403)},
    ),
    "health": Endpoint("GET", "/api/health", expect=ALL_OK, anonymous=200),
    # The JSON Schemas describe formats and hold no data: public, like the health check.
    "schemas.compiled_spec": Endpoint("GET", "/api/v1/schemas/compiled-spec", expect=ALL_OK, anonymous=200),
    "schemas.expression": Endpoint("GET", "/api/v1/schemas/expression", expect=ALL_OK, anonymous=200),
    # A push is answered 200 to anyone who may collect; a record for a site the account does not
    # belong to is refused inside the answer (tests/sync: sync.site_forbidden).
    "sync.push": Endpoint(
        "POST",
        "/api/v1/sync/push",
        body={
            "records": [
                {
                    "id": "0b7e6c1e-4d8a-4f53-9a4e-3f1f2b6d8c01",
                    "spec": "{spec}",
                    "version": 1,
                    "site": "{site}",
                    "answers": {"age": 5},
                }
            ]
        },
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(200), "viewer": same(403)},
    ),
    "sync.pull": Endpoint(
        "GET",
        "/api/v1/sync/pull",
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(200), "viewer": same(403)},
    ),
    # Records: "own" ones were collected by the fieldworker of "own", "other" ones by another account on
    # "other". Who may not see a record gets 404 (existence not revealed); a viewer reads none (403).
    "responses.list": Endpoint(
        "GET",
        "/api/v1/responses?site={site}",
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(200), "viewer": same(403)},
        operation="GET /api/v1/responses",
    ),
    "responses.get": Endpoint(
        "GET",
        "/api/v1/responses/{response}",
        expect={
            "admin": same(200),
            "coordinator": (200, 404),
            "fieldworker": (200, 404),
            "viewer": same(403),
        },
        operation="GET /api/v1/responses/{uuid}",
    ),
    "responses.review": Endpoint(
        "POST",
        "/api/v1/responses/{response}/review",
        body={"decision": "approved"},
        expect={
            "admin": same(200),
            "coordinator": (200, 404),
            "fieldworker": (403, 404),
            "viewer": same(403),
        },
        operation="POST /api/v1/responses/{uuid}/review",
    ),
    "responses.resolve": Endpoint(
        "POST",
        "/api/v1/responses/{conflict}/resolve",
        body={"answers": {"age": 10}},
        expect={
            "admin": same(200),
            "coordinator": (200, 404),
            "fieldworker": (403, 404),
            "viewer": same(403),
        },
        operation="POST /api/v1/responses/{uuid}/resolve",
    ),
    # Attachments are tied to no site until a record refers to them: anyone who may collect uploads.
    # ``{attachment}`` is a photo the record of the site refers to, uploaded by that record's author;
    # reading it is for its uploader or whoever reads the site's records, anyone else gets 404.
    "attachments.create": Endpoint(
        "POST",
        "/api/v1/attachments",
        body={"sha256": "a" * 64, "size": 4, "media_type": "image/jpeg"},
        expect={"admin": same(201), "coordinator": same(201), "fieldworker": same(201), "viewer": same(403)},
    ),
    "attachments.state": Endpoint(
        "HEAD",
        "/api/v1/attachments/{attachment}",
        expect={"admin": same(200), "coordinator": same(200), "fieldworker": same(200), "viewer": same(403)},
        operation="HEAD /api/v1/attachments/{sha256}",
    ),
    # Without its Upload-Offset header: past authorization, the chunk is refused as malformed (422).
    "attachments.chunk": Endpoint(
        "PATCH",
        "/api/v1/attachments/{attachment}",
        expect={"admin": same(422), "coordinator": same(422), "fieldworker": same(422), "viewer": same(403)},
        operation="PATCH /api/v1/attachments/{sha256}",
    ),
    "attachments.download": Endpoint(
        "GET",
        "/api/v1/attachments/{attachment}",
        expect={
            "admin": same(200),
            "coordinator": (200, 404),
            "fieldworker": (200, 404),
            "viewer": same(404),
        },
        operation="GET /api/v1/attachments/{sha256}",
    ),
}

CELLS = [
    pytest.param(name, role, where, id=f"{name}-{role}-{where}")
    for name in MATRIX
    for role in (*ROLES, "anonymous")
    for where in ("own", "other")
    if not (role == "anonymous" and where == "other")
]


def _fill(value: Any, params: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in params.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [_fill(item, params) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, params) for key, item in value.items()}
    return value


def build_world(world: World) -> dict[str, Any]:
    own, other = world.site("own"), world.site("other")
    users: dict[str, User] = {"admin": world.user("admin")}
    for role in ("coordinator", "fieldworker", "viewer"):
        users[role] = world.user(role, sites=(own,))
    targets = {
        "own": world.user("fieldworker", sites=(own,)),
        "other": world.user("fieldworker", sites=(other,)),
    }
    session = world.session
    for name, site in (("spec_own", "own"), ("spec_other", "other")):
        specs.publish(name, session=session, actor=SYSTEM, source=spec_named(name, SPEC_ESSAI))
        specs.assign_sites(name, [site], session=session, actor=SYSTEM)
        specs.save_draft(spec_named(name, SPEC_ESSAI_V2), session=session, actor=SYSTEM)
    session.commit()
    collectors = {"own": users["fieldworker"], "other": targets["other"]}
    records = {
        f"{kind}_{where}": _record(
            world, f"spec_{where}", site, collectors[where], conflict=kind == "conflict"
        )
        for where, site in (("own", own), ("other", other))
        for kind in ("response", "conflict")
    }
    attachments = {where: _attachment(world, records[f"response_{where}"]) for where in ("own", "other")}
    return {
        "sites": {"own": own, "other": other},
        "users": users,
        "targets": targets,
        "records": records,
        "attachments": attachments,
    }


def _attachment(world: World, record_uuid: str) -> str:
    """A complete photo the record refers to, uploaded by the record's author."""
    session = world.session
    record = session.exec(select(Response).where(Response.uuid == record_uuid)).one()
    assert record.id is not None
    data = f"photo {record_uuid}".encode()
    digest = hashlib.sha256(data).hexdigest()
    store = store_from_settings(world.settings)
    store.write_at(digest, 0, data)
    store.finalize(digest)
    store.discard_partial(digest)
    session.add(
        Attachment(
            sha256=digest,
            media_type="image/jpeg",
            size=len(data),
            received=len(data),
            status="complete",
            created_by=record.author_id,
        )
    )
    session.add(
        ResponseFile(
            response_id=record.id, sha256=digest, item="photo", media_type="image/jpeg", size=len(data)
        )
    )
    session.commit()
    return digest


def _record(world: World, spec_name: str, site: Site, author: User, *, conflict: bool) -> str:
    """A stored record (revision 1); with ``conflict``, a second content from another device waits."""
    session = world.session
    spec, version = specs.get_version(spec_name, 1, session=session, actor=SYSTEM)
    assert spec.id is not None and version.id is not None and site.id is not None
    content = responses.Content(
        spec_id=spec.id,
        spec_version_id=version.id,
        version=1,
        kind=spec.kind,
        site_id=site.id,
        answers={"age": 8},
    )
    row = responses.create(
        str(uuid.uuid4()),
        content,
        session=session,
        revision=1,
        base_revision=None,
        problems=[],
        values=[],
        author_id=author.id,
        device_token_id=None,
    )
    if conflict:
        content.answers = {"age": 9}
        responses.add_conflict(
            row,
            content,
            session=session,
            revision=2,
            base_revision=None,
            problems=[],
            author_id=author.id,
            device_token_id=None,
        )
    row.change_seq = sync.next_change_seq(session=session)
    session.commit()
    return row.uuid


@pytest.mark.parametrize(("endpoint", "role", "where"), CELLS)
def test_matrix(client: TestClient, world: World, endpoint: str, role: str, where: str) -> None:
    spec = MATRIX[endpoint]
    assert spec.expect is not None
    state = build_world(world)
    actor = state["users"].get(role)
    token_owner: User = actor if (actor is not None and where == "own") else state["targets"]["other"]
    owner: Principal = principal_for(token_owner, session=world.session)
    token_row, _secret = create_device_token("t", session=world.session, actor=owner)
    world.session.commit()
    spec_name = f"spec_{where}"
    params = {
        "spec": spec_name,
        "site": where,
        "spec_source": spec_named(spec_name, SPEC_ESSAI_V2),
        "target_user": str(state["targets"][where].id),
        "token_id": str(token_row.id),
        "response": state["records"][f"response_{where}"],
        "conflict": state["records"][f"conflict_{where}"],
        "attachment": state["attachments"][where],
    }
    headers = world.headers(actor) if actor is not None else {}
    path = _fill(spec.path, params)
    if endpoint == "auth.token":
        email = actor.email if actor is not None else "nobody@example.org"
        response = client.post(path, data={"username": email, "password": TEST_PASSWORD})
    elif spec.xlsform is not None:
        compiled = compile_text(spec_named(spec_name, SPEC_ESSAI_V2), "essai.yaml").compiled
        assert compiled is not None
        files = {"file": (f"{spec_name}.xlsx", export_xlsform(compiled), XLSX)}
        response = client.post(path, files=files, data=spec.xlsform, headers=headers)
    else:
        response = client.request(
            spec.method,
            path,
            json=_fill(spec.body, params) if spec.body is not None else None,
            headers=headers,
        )
    expected = spec.anonymous if role == "anonymous" else spec.expect[role][0 if where == "own" else 1]
    assert response.status_code == expected, response.text
    if expected >= 400 and spec.method != "HEAD":  # a HEAD answer has no body
        error = response.json()["error"]
        assert error["status"] == expected
        assert error["code"]


def _operation(endpoint: Endpoint) -> str:
    if endpoint.operation:
        return endpoint.operation
    path = endpoint.path.split("?")[0]
    for placeholder, name in (
        ("{spec}", "{name}"),
        ("/versions/1", "/versions/{version}"),
        ("{target_user}", "{user_id}"),
    ):
        path = path.replace(placeholder, name)
    return f"{endpoint.method} {path}"


def test_every_operation_has_a_row(client: TestClient) -> None:
    """The matrix covers every operation the API publishes, and no row names a missing one."""
    schema = client.get("/api/openapi.json").json()
    published = {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}
    covered = {_operation(endpoint) for endpoint in MATRIX.values()}
    assert published - covered == set(), "operations without an authorization row"
    assert covered - published == set(), "rows for operations the API does not publish"


def test_coordinator_cannot_take_over_another_sites_spec(client: TestClient, world: World) -> None:
    """Assigning another site's spec to one's own site, or dropping that site, is refused; so is
    publishing or closing a spec shared with a site that is not the coordinator's."""
    state = build_world(world)
    coordinator = state["users"]["coordinator"]
    headers = world.headers(coordinator)
    takeover = client.put("/api/v1/specs/spec_other/sites", json={"sites": ["own"]}, headers=headers)
    assert takeover.status_code == 403, takeover.text
    added = client.put("/api/v1/specs/spec_other/sites", json={"sites": ["own", "other"]}, headers=headers)
    assert added.status_code == 403, added.text
    admin = world.headers(state["users"]["admin"])
    shared = client.put("/api/v1/specs/spec_own/sites", json={"sites": ["own", "other"]}, headers=admin)
    assert shared.status_code == 200, shared.text
    # Now shared: the coordinator of "own" may neither drop "other" nor change what "other" uses.
    dropped = client.put("/api/v1/specs/spec_own/sites", json={"sites": ["own"]}, headers=headers)
    assert dropped.status_code == 403, dropped.text
    assert client.post("/api/v1/specs/spec_own/publish", headers=headers).status_code == 403
    assert client.post("/api/v1/specs/spec_own/versions/1/close", headers=headers).status_code == 403
    sites = client.get("/api/v1/specs/spec_own", headers=admin).json()["sites"]
    assert sorted(sites) == ["other", "own"]
    other_sites = client.get("/api/v1/specs/spec_other", headers=admin).json()["sites"]
    assert other_sites == ["other"]
