"""Deep nesting and alias expansion, against a real server: refused with the limit named, in bounded time
and memory, while the server keeps answering its health check."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hostile.harness import Server, assert_bounded, raw_request, while_running
from terrain.limits import MAX_JSON_DEPTH
from terrain.speclang.limits import MAX_DEPTH, MAX_ITEMS, MAX_NODES

pytestmark = pytest.mark.hostile

YAML = "application/yaml"


def post_spec(server: Server, body: bytes | str, content_type: str = YAML) -> httpx.Response:
    with server.client() as client:
        return client.post(
            "/api/v1/specs", content=body, headers=server.admin(**{"Content-Type": content_type})
        )


def spec_issues(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "spec.invalid"
    issues: list[dict[str, Any]] = error["details"]["issues"]
    return issues


# --- 1. nesting --------------------------------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", "{a: "], ids=["flow-sequences", "flow-mappings"])
def test_yaml_nested_50000_deep_is_a_clear_spec_error(server: Server, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    source = opener * 50_000 + "1" + closer * 50_000  # 100-250 KB
    run = while_running(server, lambda: post_spec(server, source))
    assert_bounded(run, seconds=5, growth_mb=150)
    [issue] = spec_issues(run.value)
    assert issue["code"] == "nesting_too_deep"
    assert issue["params"] == {"max": MAX_DEPTH}
    assert issue["line"] == 1 and issue["col"] == MAX_DEPTH + 1 + (MAX_DEPTH * 3 if opener != "[" else 0)
    assert f"plus de {MAX_DEPTH}" in issue["message"]


def _deep_json_variants() -> list[tuple[str, dict[str, str], bool]]:
    """(path, extra headers, chunked): the depth is checked whether the body declares its length or is
    streamed, has a JSON type or none at all (FastAPI then parses it as JSON), and on the spec route whose
    body is read as JSON whatever its type."""
    return [
        ("/api/v1/sites", {"Content-Type": "application/json"}, False),
        ("/api/v1/sites", {"Content-Type": "application/json"}, True),
        ("/api/v1/sites", {}, True),
        ("/api/v1/users", {"Content-Type": "application/merge-patch+json"}, False),
        ("/api/v1/specs", {"Content-Type": "application/json"}, True),
        ("/api/v1/specs", {"Content-Type": "text/html"}, False),
        ("/api/v1/auth/device-tokens", {}, False),
    ]


@pytest.mark.parametrize(
    ("path", "headers", "chunked"),
    _deep_json_variants(),
    ids=[
        "declared",
        "chunked",
        "chunked-untyped",
        "json-suffix",
        "spec-chunked",
        "spec-text-html",
        "untyped",
    ],
)
def test_json_nested_100000_deep_is_400_too_deep(
    server: Server, path: str, headers: dict[str, str], chunked: bool
) -> None:
    depth = 100_000
    body = b'{"source": ' * depth + b"1" + b"}" * depth if "specs" in path else b"[" * depth + b"]" * depth

    def send() -> Any:
        return raw_request(
            server.port,
            "POST",
            path,
            server.admin(**headers),
            [body[i : i + 65536] for i in range(0, len(body), 65536)],
            content_length=None if chunked else len(body),
        )

    run = while_running(server, send)
    assert_bounded(run, seconds=5, growth_mb=100)
    assert run.value.status == 400, run.value.body[:300]
    error = run.value.error()
    assert error["code"] == "request.too_deep"
    assert error["details"] == {"max_depth": MAX_JSON_DEPTH}
    assert f"{depth} niveaux" in error["message"] and f"maximum est {MAX_JSON_DEPTH}" in error["message"]


def test_json_depth_scan_stays_linear_on_unterminated_strings(server: Server) -> None:
    """A 1 MiB body of escaped quotes with no closing quote: the depth scanner's string pattern used to
    retry from every quote (quadratic: 32 KB took 15 s, 1 MiB hours, all on the event loop, before any
    authentication). Now a malformed body, refused at once (FastAPI reads the body before the token)."""
    body = b'{"name": "' + b'\\"' * (1024 * 1024 // 2 - 8)

    def send() -> httpx.Response:
        with server.client() as client:
            return client.post("/api/v1/sites", content=body, headers={"Content-Type": "application/json"})

    run = while_running(server, send)
    assert_bounded(run, seconds=5, growth_mb=100)
    assert run.value.status_code == 422, run.value.text[:300]
    error = run.value.json()["error"]
    assert error["code"] == "request.invalid"
    assert [entry["type"] for entry in error["details"]["errors"]] == ["json_invalid"]


# --- 2. alias expansion ------------------------------------------------------------------------


def alias_bomb(levels: int, fan: int = 10) -> str:
    """Each group lists the previous one ``fan`` times: fan**levels questions in a few hundred bytes."""
    lines = [
        "spec: 1",
        "kind: questionnaire",
        "name: bombe",
        "title: Bombe",
        "items:",
        "  - &g0 {name: q, type: text, label: Q}",
    ]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*g{level - 1}"] * fan)
        lines.append(f"  - &g{level} {{name: g{level}, type: group, label: G, items: [{refs}]}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("source", "code", "params"),
    [
        (alias_bomb(6), "expansion_too_large", {"max": MAX_NODES}),
        (alias_bomb(4), "too_many_items", {"count": 12_345, "max": MAX_ITEMS}),
        (
            "spec: 1\nkind: questionnaire\nname: bombe\ntitle: B\nitems:\n"
            "  - &g {name: g, type: group, label: G, items: [*g]}\n",
            "recursive_alias",
            {"anchor": "g"},
        ),
    ],
    ids=["six-levels-1e6-items", "four-levels-1e4-items", "self-reference"],
)
def test_alias_expansion_is_refused_quickly_with_a_small_answer(
    server: Server, source: str, code: str, params: dict[str, Any]
) -> None:
    assert len(source.encode()) < 1024
    run = while_running(server, lambda: post_spec(server, source))
    assert_bounded(run, seconds=5, growth_mb=100)
    assert len(run.value.content) < 100_000, f"{len(run.value.content)} bytes of errors"
    [issue] = spec_issues(run.value)
    assert issue["code"] == code and issue["params"] == params
    assert issue["message"] and issue["line"] > 1
    with server.client() as client:
        assert "bombe" not in [
            spec["name"] for spec in client.get("/api/v1/specs", headers=server.admin()).json()
        ]
