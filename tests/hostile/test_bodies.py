"""Body sizes against a real server: a body over its route's limit is refused with 413 before it is read
(declared with Content-Length or streamed without), quickly and without the server holding it; a spec
under the HTTP limit but over the spec language's limits is a 422 naming them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hostile.harness import Server, assert_bounded, raw_request, repeat, while_running
from terrain.speclang.limits import MAX_ITEMS, MAX_SOURCE_BYTES

pytestmark = pytest.mark.hostile

MB = 1024 * 1024
SPEC_HEAD = b"spec: 1\nkind: questionnaire\nname: enorme\ntitle: Enorme\nitems:\n"


def spec_items(count: int, label_padding: int = 0) -> bytes:
    padding = "x" * label_padding
    lines = (f'  - {{name: q{i}, type: text, label: "Question {i} {padding}"}}\n' for i in range(count))
    return SPEC_HEAD + "".join(lines).encode()


def post_spec(server: Server, content: str | bytes, content_type: str) -> Callable[[], Any]:
    """The hostile request: ``content`` posted to the spec upload as the admin."""

    def send() -> Any:
        with server.client() as client:
            return client.post(
                "/api/v1/specs", content=content, headers=server.admin(**{"Content-Type": content_type})
            )

    return send


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_50_mb_spec_is_413_before_it_is_read(server: Server, chunked: bool) -> None:
    total = 50 * MB

    def send() -> Any:
        return raw_request(
            server.port,
            "POST",
            "/api/v1/specs",
            server.admin(**{"Content-Type": "application/yaml"}),
            repeat(b"# " + b"x" * 61 + b"\n", total),
            content_length=None if chunked else total,
        )

    run = while_running(server, send)
    assert_bounded(run, seconds=3, growth_mb=60)
    response = run.value
    assert response.status == 413, response.body[:300]
    error = response.error()
    assert error["code"] == "request.too_large"
    assert "(5 Mo)" in error["message"] and error["details"] == {"limit_bytes": 5 * MB}
    # Declared: refused on the header, before the body. Streamed: counted, refused past 5 MiB. Either way
    # the client could not push the 50 MB (what it wrote beyond the limit sat in socket buffers).
    print(f"[hostile] body bytes written before the 413: {response.sent / MB:.1f} MiB")
    assert response.sent < 20 * MB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_2_mb_on_a_1_mib_route_is_413(server: Server, chunked: bool) -> None:
    body = b'{"code": "grand", "name": "' + b"x" * (2 * MB) + b'"}'

    def send() -> Any:
        return raw_request(
            server.port,
            "POST",
            "/api/v1/sites",
            server.admin(**{"Content-Type": "application/json", "Accept-Language": "en"}),
            [body[i : i + 65536] for i in range(0, len(body), 65536)],
            content_length=None if chunked else len(body),
        )

    run = while_running(server, send)
    assert_bounded(run, seconds=3, growth_mb=60)
    assert run.value.status == 413, run.value.body[:300]
    error = run.value.error()
    assert error["code"] == "request.too_large" and "(1 MB)" in error["message"]
    assert error["details"] == {"limit_bytes": MB}


def test_7_mb_spec_of_50000_items_is_refused_quickly(server: Server) -> None:
    source = spec_items(50_000, label_padding=90)
    assert 7_000_000 <= len(source) < 8 * MB

    def send() -> Any:
        return raw_request(
            server.port,
            "POST",
            "/api/v1/specs",
            server.admin(**{"Content-Type": "application/yaml"}),
            [source[i : i + 65536] for i in range(0, len(source), 65536)],
            content_length=len(source),
        )

    run = while_running(server, send)
    assert_bounded(run, seconds=3, growth_mb=60)
    assert run.value.status == 413 and run.value.error()["code"] == "request.too_large"


def test_spec_under_the_http_limit_but_over_2_mib_is_source_too_large(server: Server) -> None:
    source = spec_items(9_000, label_padding=400)  # ~4 MB: through the 5 MiB edge, over the 2 MiB source
    assert MAX_SOURCE_BYTES < len(source) < 5 * MB

    run = while_running(server, post_spec(server, source, "application/yaml"))
    assert_bounded(run, seconds=5, growth_mb=100)
    assert run.value.status_code == 422, run.value.text[:300]
    [issue] = run.value.json()["error"]["details"]["issues"]
    assert issue["code"] == "source_too_large"
    assert issue["params"] == {"size": len(source), "max": MAX_SOURCE_BYTES}
    assert str(MAX_SOURCE_BYTES) in issue["message"]


def test_spec_of_6000_items_is_too_many_items(server: Server) -> None:
    source = spec_items(6_000)  # ~330 KB: small text, too many questions for the compiler's bound

    run = while_running(server, post_spec(server, source, "application/yaml"))
    assert_bounded(run, seconds=5, growth_mb=100)
    assert run.value.status_code == 422, run.value.text[:300]
    [issue] = run.value.json()["error"]["details"]["issues"]
    assert issue["code"] == "too_many_items" and issue["params"] == {"count": 6_000, "max": MAX_ITEMS}
    assert f"au plus {MAX_ITEMS}" in issue["message"]


def test_json_spec_of_4_5_mb_costs_the_server_little_memory(server: Server) -> None:
    """One long JSON string, as a client uploading a spec sends it: the edge's depth scan used to keep a
    regex backtracking entry per character of a string (~600 MB for 5 MiB)."""
    yaml_text = "# " + "x" * (4_500_000) + "\n"
    body = json.dumps({"source": yaml_text, "filename": "long.yaml"}).encode()
    assert MAX_SOURCE_BYTES < len(body) < 5 * MB

    run = while_running(server, post_spec(server, body, "application/json"))
    assert_bounded(run, seconds=5, growth_mb=100)
    assert run.value.status_code == 422, run.value.text[:300]
    [issue] = run.value.json()["error"]["details"]["issues"]
    assert issue["code"] == "source_too_large" and issue["file"] == "long.yaml"
