"""Settings: process environment > `.env.local` > defaults.

A bad value stops start-up with a message naming the variable; outside development
and test, a secret that still has its default value refuses to start.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_SECRET = "change-me"  # noqa: S105 - the sentinel that production refuses


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _http_url(value: str, *, allow_empty: bool = False) -> str:
    value = value.strip()
    if not value and allow_empty:
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value


class Env(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class StorageDriver(StrEnum):
    local = "local"
    s3 = "s3"
    gdrive = "gdrive"


class PaymentProvider(StrEnum):
    razorpay = "razorpay"
    stripe = "stripe"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env.local",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    erplake_env: Env = Env.development
    data_dir: Path = Path("var")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    # Empty means "start the embedded server under data_dir" (erplake run only).
    database_url: str = ""
    redis_url: str = ""
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)

    public_base_url: str = "http://localhost:8000"
    # Proxies whose X-Forwarded-For is believed (client IPs for rate limits and the
    # audit log). "*" is right when only the reverse proxy can reach the roles.
    forwarded_allow_ips: str = "127.0.0.1"
    school_timezone: str = "Asia/Kolkata"

    storage_driver: StorageDriver = StorageDriver.local
    local_storage_path: Path = Path("var/storage")
    minio_endpoint: str = ""
    minio_bucket: str = "school-media"
    minio_root_user: str = ""
    minio_root_password: str = ""
    minio_region: str = "us-east-1"

    jwt_secret: str = DEFAULT_SECRET
    access_token_minutes: int = Field(default=15, ge=1, le=1440)
    refresh_token_days: int = Field(default=30, ge=1, le=365)

    gupshup_api_base: str = "https://api.gupshup.io"
    gupshup_api_key: str = DEFAULT_SECRET
    gupshup_source: str = "917834811114"
    gupshup_app_name: str = "ERPLake"
    gupshup_otp_template_id: str = "00000000-0000-0000-0000-000000000001"
    # Absence alert templates, one per guardian language; params: guardian, child,
    # date, school.
    gupshup_absence_template_en: str = "00000000-0000-0000-0000-000000000002"
    gupshup_absence_template_hi: str = "00000000-0000-0000-0000-000000000003"
    gupshup_callback_token: str = DEFAULT_SECRET

    payment_provider: PaymentProvider = PaymentProvider.razorpay
    razorpay_api_base: str = "https://api.razorpay.com"
    razorpay_key_id: str = "rzp_test_demo"
    razorpay_key_secret: str = DEFAULT_SECRET
    razorpay_webhook_secret: str = DEFAULT_SECRET
    stripe_api_base: str = "https://api.stripe.com"
    stripe_secret_key: str = DEFAULT_SECRET
    stripe_webhook_secret: str = DEFAULT_SECRET

    llm_api_base: str = ""
    llm_api_key: str = ""
    llm_model: str = "gpt-4o-mini"

    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    http_retries: int = Field(default=3, ge=0, le=10)

    @field_validator("school_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (e.g. Asia/Kolkata)") from None
        return value

    @field_validator(
        "public_base_url",
        "gupshup_api_base",
        "razorpay_api_base",
        "stripe_api_base",
    )
    @classmethod
    def _required_http_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("llm_api_base", "minio_endpoint")
    @classmethod
    def _optional_http_url(cls, value: str) -> str:
        return _http_url(value, allow_empty=True)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        try:
            driver = make_url(value).drivername
        except (ArgumentError, ValueError):
            raise ValueError(
                "not a database URL; expected postgresql://user:password@host:5432/name"
            ) from None
        if not driver.startswith("postgres"):
            raise ValueError(f"must be a PostgreSQL URL (postgresql://...), got {driver}://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        value = value.strip()
        if value and urlsplit(value).scheme not in REDIS_SCHEMES:
            raise ValueError(
                "must be a redis://, rediss:// or unix:// URL, e.g. redis://host:6379/0"
            )
        return value

    @property
    def is_production(self) -> bool:
        return self.erplake_env is Env.production

    @property
    def is_development(self) -> bool:
        return self.erplake_env is Env.development

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if not self.is_production:
            return self
        secret_fields = (
            "jwt_secret",
            "gupshup_api_key",
            "gupshup_callback_token",
            "razorpay_key_secret",
            "razorpay_webhook_secret",
            "stripe_secret_key",
            "stripe_webhook_secret",
        )
        weak = [f.upper() for f in secret_fields if getattr(self, f) == DEFAULT_SECRET]
        if weak:
            raise ValueError("production refuses default secrets; set " + ", ".join(weak))
        if len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters in production")
        if not self.database_url or not self.redis_url:
            raise ValueError("production needs DATABASE_URL and REDIS_URL")
        return self


class SettingsError(SystemExit):
    """Start-up refused because of configuration; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]).upper() or "SETTINGS"
            lines.append(f"  {loc}: {err['msg']}")
        raise SettingsError("invalid configuration:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
