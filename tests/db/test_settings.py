from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from terrain.config import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TERRAIN_DATABASE_URL", "TERRAIN_DATA_DIR", "TERRAIN_ENVIRONMENT", "TERRAIN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.environment == "development"
    assert settings.data_dir == Path("var")
    assert settings.database_url == "sqlite:///var/terrain.db"
    assert settings.access_token_minutes == 15
    assert settings.database_backend == "sqlite"


def test_default_secret_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRAIN_SECRET_KEY", raising=False)
    monkeypatch.setenv("TERRAIN_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="TERRAIN_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("TERRAIN_SECRET_KEY", "s" * 40)
    assert Settings().environment == "production"


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAIN_DATA_DIR", "/srv/terrain")
    monkeypatch.setenv("TERRAIN_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("TERRAIN_ACCESS_TOKEN_MINUTES", "5")
    monkeypatch.delenv("TERRAIN_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:////srv/terrain/terrain.db"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.access_token_minutes == 5
    monkeypatch.setenv("TERRAIN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().database_backend == "postgresql"
