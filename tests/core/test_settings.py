from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from erplake.core.settings import DEFAULT_SECRET, Env, SettingsError, load_settings

SECRETS = {
    "JWT_SECRET": "j" * 40,
    "GUPSHUP_API_KEY": "g",
    "GUPSHUP_CALLBACK_TOKEN": "cb",
    "RAZORPAY_KEY_SECRET": "r",
    "RAZORPAY_WEBHOOK_SECRET": "rw",
    "STRIPE_SECRET_KEY": "s",
    "STRIPE_WEBHOOK_SECRET": "sw",
    "DATABASE_URL": "postgresql://u@db/erplake",
    "REDIS_URL": "redis://redis:6379/0",
}
VALIDATED = (
    "SCHOOL_TIMEZONE",
    "PUBLIC_BASE_URL",
    "GUPSHUP_API_BASE",
    "RAZORPAY_API_BASE",
    "STRIPE_API_BASE",
    "LLM_API_BASE",
    "MINIO_ENDPOINT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in [
        *SECRETS,
        *VALIDATED,
        "ERPLAKE_ENV",
        "DB_POOL_SIZE",
        "STORAGE_DRIVER",
        "LOG_LEVEL",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_apply_without_env_or_file(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.erplake_env is Env.development
    assert settings.database_url == ""
    assert settings.jwt_secret == DEFAULT_SECRET


def test_env_file_overrides_defaults_and_process_env_overrides_env_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env.local").write_text("LOG_LEVEL=DEBUG\nDB_POOL_SIZE=7\n")
    assert load_settings().db_pool_size == 7
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    settings = load_settings()
    assert settings.db_pool_size == 3
    assert settings.log_level == "DEBUG"


def test_bad_value_stops_startup_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_DRIVER", "ftp")
    with pytest.raises(SettingsError, match="STORAGE_DRIVER"):
        load_settings()


def test_production_refuses_default_secrets_and_names_them(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPLAKE_ENV", "production")
    with pytest.raises(SettingsError, match="JWT_SECRET") as refused:
        load_settings()
    assert "RAZORPAY_WEBHOOK_SECRET" in str(refused.value)


def test_production_starts_with_real_secrets(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPLAKE_ENV", "production")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    assert load_settings().is_production


def test_production_refuses_a_short_jwt_secret(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERPLAKE_ENV", "production")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JWT_SECRET", "short")
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load_settings()


def test_every_setting_is_documented_in_env_example() -> None:
    from erplake.core.settings import Settings

    root = Path(__file__).resolve().parents[2]
    for example in (".env.example", ".env.local.example"):
        text = (root / example).read_text()
        missing = [f.upper() for f in Settings.model_fields if f"{f.upper()}=" not in text]
        assert missing == [], f"{example} lacks {missing}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCHOOL_TIMEZONE", "Mars/Base"),
        ("SCHOOL_TIMEZONE", ""),
        ("PUBLIC_BASE_URL", "notaurl"),
        ("PUBLIC_BASE_URL", ""),
        ("PUBLIC_BASE_URL", "https://"),
        ("GUPSHUP_API_BASE", "ftp//x"),
        ("GUPSHUP_API_BASE", "ftp://api.gupshup.io"),
        ("RAZORPAY_API_BASE", "api.razorpay.com"),
        ("STRIPE_API_BASE", "http://host:port"),
        ("LLM_API_BASE", "localhost:11434"),
        ("MINIO_ENDPOINT", "minio:9000"),
        ("DATABASE_URL", "foo"),
        ("DATABASE_URL", "mysql://u@db/erplake"),
        ("DATABASE_URL", "postgresql://u@db:notaport/erplake"),
        ("REDIS_URL", "foo"),
        ("REDIS_URL", "http://redis:6379/0"),
    ],
)
def test_a_malformed_value_stops_startup_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name) as refused:
        load_settings()
    assert str(refused.value).count("\n  ") == 1, "only the bad variable is named"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCHOOL_TIMEZONE", "Asia/Kolkata"),
        ("SCHOOL_TIMEZONE", "UTC"),
        ("PUBLIC_BASE_URL", "https://school.example.in"),
        ("PUBLIC_BASE_URL", "http://127.0.0.1:8000/erp"),
        ("GUPSHUP_API_BASE", "http://127.0.0.1:9000/gupshup"),
        ("RAZORPAY_API_BASE", "https://api.razorpay.com"),
        ("STRIPE_API_BASE", "http://[::1]:8080"),
        ("LLM_API_BASE", ""),
        ("LLM_API_BASE", "http://localhost:11434/v1"),
        ("MINIO_ENDPOINT", ""),
        ("MINIO_ENDPOINT", "http://minio:9000"),
        ("DATABASE_URL", ""),
        ("DATABASE_URL", "postgresql://u:pw@db:5432/erplake"),
        ("DATABASE_URL", "postgresql+psycopg://u@db/erplake"),
        ("DATABASE_URL", "postgres://u@db/erplake"),
        ("DATABASE_URL", "postgresql://postgres:@/postgres?host=/tmp/pg"),
        ("REDIS_URL", ""),
        ("REDIS_URL", "redis://redis:6379/0"),
        ("REDIS_URL", "rediss://:pw@redis.example.in:6380/1"),
        ("REDIS_URL", "unix:///tmp/redis.sock?db=2"),
    ],
)
def test_well_formed_values_are_accepted(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    assert getattr(load_settings(), name.lower()) == value


def test_the_env_example_values_pass_validation(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    for example in (".env.example", ".env.local.example"):
        for line in (root / example).read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                monkeypatch.setenv(name.strip(), value.strip())
        monkeypatch.setenv("ERPLAKE_ENV", "development")  # default secrets are fine here
        assert load_settings(), example


def _alembic_offline(cwd: Path) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    alembic = [sys.executable, "-m", "alembic", "-c", str(root / "alembic.ini")]
    return subprocess.run(
        [*alembic, "upgrade", "head", "--sql"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alembic_reads_database_url_from_env_local_like_erplake_migrate(tmp_path: Path) -> None:
    missing = _alembic_offline(tmp_path)
    assert missing.returncode != 0
    assert "DATABASE_URL is not set" in missing.stderr

    (tmp_path / ".env.local").write_text("DATABASE_URL=postgresql://erplake@db.invalid/erplake\n")
    offline = _alembic_offline(tmp_path)  # --sql: renders the SQL, connects nowhere
    assert offline.returncode == 0, offline.stderr[-2000:]
    assert "CREATE TABLE" in offline.stdout

    (tmp_path / ".env.local").write_text("DATABASE_URL=mysql://erplake@db/erplake\n")
    wrong = _alembic_offline(tmp_path)
    assert wrong.returncode != 0
    assert "DATABASE_URL" in wrong.stderr
