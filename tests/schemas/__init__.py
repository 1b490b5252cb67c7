"""The JSON Schemas of the compiled spec and of expression trees, and the routes that serve them."""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from terrain.schemas import service


def validator(name: str) -> Any:
    """A draft 2020-12 validator for the served schema ``name``; the expression schema is registered under
    its ``$id`` so that the compiled spec's references resolve offline."""
    expression = service.schema("expression")
    registry = jsonschema_rs.Registry([(expression["$id"], expression)])
    return jsonschema_rs.validator_for(service.schema(name), registry=registry)


def errors(validator: Any, instance: Any) -> list[str]:
    """Readable errors: where, and what."""
    return [
        "/" + "/".join(str(p) for p in error.instance_path) + ": " + error.message[:300]
        for error in validator.iter_errors(instance)
    ]
