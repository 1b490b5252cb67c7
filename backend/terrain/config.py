"""The one settings class. Every value comes from a ``TERRAIN_``-prefixed environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "terrain-development-secret-change-me-0123456789"

Language = Literal["fr", "en"]


class Settings(BaseSettings):
    """Runtime configuration of Terrain (environment variables ``TERRAIN_*``)."""

    model_config = SettingsConfigDict(env_prefix="TERRAIN_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default sqlite at <data_dir>/terrain.db"
    )
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    lang: Language = "fr"
    # Used once by `terrain users bootstrap-admin` when no admin exists yet.
    admin_email: str | None = None
    admin_password: SecretStr | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                import json

                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'terrain.db'}"
        if self.environment != "development" and self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            raise ValueError(
                "TERRAIN_SECRET_KEY must be set outside development "
                "(TERRAIN_SECRET_KEY doit être défini hors développement)"
            )
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("TERRAIN_SECRET_KEY must be at least 32 characters long")
        return self

    @property
    def database_backend(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
