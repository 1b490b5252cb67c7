"""Integers beyond 64 bits in every parameter of the OpenAPI, against a real server: an integer parameter
answers 422 ``request.invalid``; any other parameter answers something other than a 500 (a number in a
text parameter, such as a diff's ``from``, must not reach the database as is). The parameters are read from
/api/openapi.json, so a new endpoint is covered without touching this test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from hostile.harness import Server, assert_bounded, while_running

pytestmark = pytest.mark.hostile

HUGE = [2**64, 2**63, -(2**63) - 1, 10**30]
SPEC = (
    "spec: 1\nkind: questionnaire\nname: entiers\ntitle: Entiers\nitems:\n"
    "  - {name: a, type: text, label: A}\n"
)


@dataclass(frozen=True)
class Parameter:
    method: str
    path: str
    name: str
    where: str  # path | query
    integer: bool
    has_body: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.where}:{self.name}"


def _is_integer(schema: dict[str, Any]) -> bool:
    types = [schema.get("type")] + [option.get("type") for option in schema.get("anyOf", [])]
    return "integer" in types


def parameters(openapi: dict[str, Any]) -> list[Parameter]:
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] not in ("path", "query"):
                    continue
                found.append(
                    Parameter(
                        method.upper(),
                        path,
                        parameter["name"],
                        parameter["in"],
                        _is_integer(parameter.get("schema", {})),
                        "requestBody" in operation,
                    )
                )
    return found


def url_for(parameter: Parameter, value: int) -> tuple[str, dict[str, str]]:
    """The path with ``value`` in the parameter under test and a plausible value in the others (the spec
    created by the test for a name, 1 for an id), so that the request gets as far as it can."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if parameter.where == "path" and name == parameter.name:
            return str(value)
        return "entiers" if name == "name" else "1"

    path = re.sub(r"\{([^}]+)\}", fill, parameter.path)
    query = {parameter.name: str(value)} if parameter.where == "query" else {}
    return path, query


def test_huge_integers_in_every_parameter_are_refused_never_500(server: Server) -> None:
    with server.client() as client:
        openapi = client.get("/api/openapi.json").json()
        created = client.post(
            "/api/v1/specs", content=SPEC, headers=server.admin(**{"Content-Type": "application/yaml"})
        )
        assert created.status_code == 200, created.text
    found = parameters(openapi)
    integers = [parameter for parameter in found if parameter.integer]
    assert len(integers) >= 8, [str(parameter) for parameter in found]  # the ids, versions, audit paging

    def probe_all() -> list[tuple[str, int, int, str]]:
        answers = []
        with server.client() as client:
            for parameter in found:
                for value in HUGE:
                    path, query = url_for(parameter, value)
                    response = client.request(
                        parameter.method,
                        path,
                        params=query,
                        headers=server.admin(),
                        json={} if parameter.has_body else None,
                    )
                    body = response.json() if response.content else None
                    code = body["error"]["code"] if isinstance(body, dict) and "error" in body else ""
                    answers.append((str(parameter), value, response.status_code, code))
        return answers

    run = while_running(server, probe_all)
    assert_bounded(run, seconds=10, growth_mb=50)
    print(f"[hostile] {len(found)} parameters ({len(integers)} integer) x {len(HUGE)} values")
    errors = [answer for answer in run.value if answer[2] >= 500]
    assert not errors, errors
    refused = {
        (name, value)
        for name, value, status, code in run.value
        if status == 422 and code == "request.invalid"
    }
    not_refused = [
        (str(parameter), value)
        for parameter in integers
        for value in HUGE
        if (str(parameter), value) not in refused
    ]
    assert not not_refused, not_refused
