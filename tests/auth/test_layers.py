"""Import layering: the principal and roles live in a leaf module, and ``auth`` and ``users`` do not import
each other's services (the cycle that forced function-level imports before)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "backend" / "terrain"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_principals_is_a_leaf() -> None:
    assert {m for m in _imports(PACKAGE / "principals.py") if m.startswith("terrain")} == set()


def test_auth_does_not_import_users_services_and_back() -> None:
    for path in (PACKAGE / "auth").glob("*.py"):
        assert not {
            m for m in _imports(path) if m.startswith("terrain.users") and m != "terrain.users.models"
        }, path
    for path in (PACKAGE / "users").glob("*.py"):
        assert "terrain.auth.service" not in _imports(path) or path.name == "service.py", path
    # users.service uses auth for passwords only; auth never needs users.service.
    authz = _imports(PACKAGE / "auth" / "authz.py")
    assert "terrain.auth.service" not in authz and "terrain.users.models" not in authz
