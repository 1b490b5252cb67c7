"""The one settings class. Every value comes from a ``TERRAIN_``-prefixed environment variable."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Where a development instance keeps the signing key it generated (under the data dir).
SECRET_KEY_FILE = "secret_key"
MIB = 1024 * 1024

Language = Literal["fr", "en"]

DEFAULT_ATTACHMENT_MEDIA_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "audio/webm",
    "audio/ogg",
    "audio/mp4",
    "audio/mpeg",
    "audio/wav",
    "application/pdf",
)


class Settings(BaseSettings):
    """Runtime configuration of Terrain (environment variables ``TERRAIN_*``)."""

    model_config = SettingsConfigDict(env_prefix="TERRAIN_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    # The built field app served at `/`; default: pwa/dist of the source checkout (built by `make run`).
    app_dir: Path | None = None
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default sqlite at <data_dir>/terrain.db"
    )
    # None in development: a random key is generated once into <data_dir>/secret_key (never a known
    # default that would let anyone forge tokens). Required outside development.
    secret_key: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    # Failed logins from one address whatever the e-mail (random e-mails must not escape the limit).
    login_max_failures_per_address: int = Field(default=30, ge=1)
    # Password hashing costs 64 MiB and a core each: at most this many at once (by default one core is
    # always left for everything else), callers wait this long.
    password_hash_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) - 1), ge=1, le=64
    )
    password_hash_wait_seconds: float = Field(default=10.0, gt=0, le=120)
    # Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request bodies larger than this are refused with 413 (some routes have their own, larger limit).
    max_body_bytes: int = Field(default=1 * MIB, ge=1024)
    # Sync: records per pushed batch, and how long after a version is closed its records are still
    # accepted (a device offline for weeks still delivers what it collected before the close).
    sync_max_records: int = Field(default=500, ge=1, le=5000)
    sync_closed_grace_days: int = Field(default=30, ge=0, le=3650)
    # Attachments (photos, recordings, files): the largest accepted, and the media types accepted
    # (comma-separated; parameters such as ";codecs=opus" are stripped before comparing).
    max_attachment_bytes: int = Field(default=100 * MIB, ge=1, le=2**40)
    attachment_media_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ATTACHMENT_MEDIA_TYPES)
    )
    lang: Language = "fr"
    # Used once by `terrain users bootstrap-admin` when no admin exists yet.
    admin_email: str | None = None
    admin_password: SecretStr | None = None

    _signing_key: str | None = PrivateAttr(default=None)

    @field_validator("cors_origins", "trusted_proxies", "attachment_media_types", mode="before")
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
        if self.secret_key is None and self.environment != "development":
            raise ValueError(
                "TERRAIN_SECRET_KEY must be set outside development "
                "(TERRAIN_SECRET_KEY doit être défini hors développement)"
            )
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("TERRAIN_SECRET_KEY must be at least 32 characters long")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(f"TERRAIN_TRUSTED_PROXIES: not an address or network: {proxy!r}") from exc
        return self

    def signing_key(self) -> str:
        """The key that signs access tokens: TERRAIN_SECRET_KEY, or in development a random key generated
        once into ``<data_dir>/secret_key`` (readable by the owner only) and reused on later runs."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self._signing_key is None:
            self._signing_key = _load_or_create_key(self.data_dir / SECRET_KEY_FILE)
        return self._signing_key

    @property
    def database_backend(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"


def _load_or_create_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 32:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must not each write their own key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise RuntimeError(f"{path}: the secret key file is too short; delete it to regenerate") from None
        return key
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
