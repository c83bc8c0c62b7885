from __future__ import annotations

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


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in [*SECRETS, "ERPLAKE_ENV", "DB_POOL_SIZE", "STORAGE_DRIVER", "LOG_LEVEL"]:
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
