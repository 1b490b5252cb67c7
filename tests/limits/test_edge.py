"""Limits at the edge, in process: body sizes (declared or streamed), JSON depth, integer ranges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conftest import World
from terrain.limits import MAX_ID, MAX_JSON_DEPTH, body_limit_for, json_depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"text": "[[[[{{{{ not structure"}', 1),
        (b'["\\"]]]]", [[]]]', 3),
        (b"3", 0),
        (b"[" * 10_000, 10_000),
    ],
)
def test_json_depth_ignores_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_route_limits() -> None:
    default = 1024 * 1024
    assert body_limit_for("POST", "/api/v1/sites", default) == default
    assert body_limit_for("POST", "/api/v1/specs", default) > default
    assert body_limit_for("POST", "/api/v1/specs/essai/publish", default) > default
    assert body_limit_for("POST", "/api/v1/specs/import-xlsform", default) > 10 * 1024 * 1024
    assert body_limit_for("GET", "/api/v1/specs", default) == default


def test_declared_body_over_the_limit_is_refused_before_reading(client: TestClient, world: World) -> None:
    admin = world.headers(world.user("admin"), **{"Accept-Language": "en"})
    response = client.post(
        "/api/v1/sites", content=b"x" * (1024 * 1024 + 1), headers={**admin, "Content-Type": "text/plain"}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request.too_large"
    assert "1 MB" in error["message"] and error["details"] == {"limit_bytes": 1024 * 1024}


def test_streamed_body_over_the_limit_is_refused(client: TestClient, world: World) -> None:
    """Without Content-Length (chunked), the body is counted as it arrives."""
    headers = world.headers(world.user("admin"), **{"Content-Type": "application/yaml"})

    def chunks() -> Iterator[bytes]:
        for _ in range(6 * 16):  # 6 MiB in 64 KiB pieces, over the 5 MiB of spec uploads
            yield b"# " + b"x" * (64 * 1024 - 3) + b"\n"

    response = client.post("/api/v1/specs", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request.too_large"
    assert response.json()["error"]["message"].startswith(
        "La requête dépasse la taille maximale autorisée (5 Mo)"
    )


def test_json_nested_too_deep_is_refused_before_parsing(client: TestClient, world: World) -> None:
    admin = world.headers(world.user("admin"))
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post(
        "/api/v1/sites", content=deep, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "request.too_deep"
    assert error["details"] == {"max_depth": MAX_JSON_DEPTH}
    # Just under the limit: parsed, then refused for its content only.
    legal = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    response = client.post(
        "/api/v1/sites", content=legal, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "request.invalid"


def test_body_that_is_not_utf8_is_a_documented_400(client: TestClient, world: World) -> None:
    admin = world.headers(world.user("admin"))
    for content_type in ("application/yaml", "application/json"):
        response = client.post(
            "/api/v1/specs", content=b"\xff\xfe\x00name", headers={**admin, "Content-Type": content_type}
        )
        assert response.status_code == 400, (content_type, response.text)
        assert response.json()["error"]["code"] == "request.malformed"


@pytest.mark.parametrize(
    "value", [str(2**64), str(2**63), str(-(2**63) - 1), str(10**30), "0", str(MAX_ID + 1)]
)
def test_integers_out_of_range_are_422(client: TestClient, world: World, value: str) -> None:
    admin = world.headers(world.user("admin"))
    for method, path in (
        ("GET", f"/api/v1/specs/essai/versions/{value}"),
        ("POST", f"/api/v1/specs/essai/versions/{value}/close"),
        ("GET", f"/api/v1/specs/essai/versions/{value}/xlsform"),
        ("PATCH", f"/api/v1/users/{value}"),
        ("DELETE", f"/api/v1/auth/device-tokens/{value}"),
        ("GET", f"/api/v1/auth/device-tokens?user_id={value}"),
        ("GET", f"/api/v1/audit?before_id={value}"),
        ("GET", f"/api/v1/audit?actor_user_id={value}"),
    ):
        response = client.request(method, path, headers=admin, json={} if method == "PATCH" else None)
        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["error"]["code"] == "request.invalid"


def test_largest_id_is_a_plain_not_found(client: TestClient, world: World) -> None:
    admin = world.headers(world.user("admin"))
    response = client.patch(f"/api/v1/users/{MAX_ID}", json={}, headers=admin)
    assert response.status_code == 404 and response.json()["error"]["code"] == "user.not_found"
