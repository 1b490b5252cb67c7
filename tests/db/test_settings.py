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


def test_development_secret_is_generated_once_per_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No known default key: a development instance generates its own, keeps it, and no two data dirs
    share one (a token signed for one instance is worthless on another)."""
    monkeypatch.delenv("TERRAIN_SECRET_KEY", raising=False)
    monkeypatch.delenv("TERRAIN_ENVIRONMENT", raising=False)
    first = Settings(data_dir=tmp_path / "a")
    key = first.signing_key()
    stored = tmp_path / "a" / "secret_key"
    assert len(key) >= 32 and stored.read_text().strip() == key
    assert stored.stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path / "a").signing_key() == key  # same instance, next run
    assert Settings(data_dir=tmp_path / "b").signing_key() != key
    assert Settings(data_dir=tmp_path / "c", secret_key="k" * 40).signing_key() == "k" * 40  # type: ignore[arg-type]
    assert not (tmp_path / "c" / "secret_key").exists()
