"""`erplake run` safety: the developer inbox stays on loopback unless --public, the
development JWT secret is random and persisted, and the cron scheduler runs beside
the worker."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from erplake import cli
from erplake.core.settings import DEFAULT_SECRET, get_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Development with the in-process fake Gupshup, no `.env.local`, default secret.
    `run` writes the variables its children need into os.environ: all are put back."""
    saved_environ = dict(os.environ)
    for name in ("GUPSHUP_API_BASE", "JWT_SECRET", "DATA_DIR", "ERPLAKE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ERPLAKE_ENV", "development")
    monkeypatch.chdir(tmp_path)
    previous_sigterm = signal.getsignal(signal.SIGTERM)  # `run` installs its own
    get_settings.cache_clear()
    yield tmp_path
    os.environ.clear()
    os.environ.update(saved_environ)
    get_settings.cache_clear()
    signal.signal(signal.SIGTERM, previous_sigterm)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "erp.lan"])
def test_run_refuses_a_non_loopback_host_in_development(
    dev_env: Path, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    def must_not_start(*_: Any) -> Any:
        raise AssertionError("servers started although the host was refused")

    monkeypatch.setattr(cli, "_with_embedded", must_not_start)
    result = CliRunner().invoke(cli.app, ["run", "--host", host, "--data-dir", str(dev_env)])
    assert result.exit_code == 2, result.output
    assert "--public" in result.output
    assert "/notify/dev/inbox" in result.output
    assert not (dev_env / "jwt_secret").exists()


def test_run_refusal_is_a_quick_clear_exit_from_the_real_command(dev_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "erplake", "run", "--host", "0.0.0.0", "--data-dir", "var"],
        cwd=dev_env,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--public" in done.stderr
    assert not (dev_env / "var").exists(), "nothing may start before the refusal"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts_are_allowed(dev_env: Path, host: str) -> None:
    assert cli.is_loopback_host(host)
    cli._refuse_exposed_dev_inbox(load_settings(), host, public=False)


def test_public_or_a_real_gupshup_or_production_allows_any_host(dev_env: Path) -> None:
    cli._refuse_exposed_dev_inbox(load_settings(), "0.0.0.0", public=True)
    real_gupshup = load_settings(gupshup_api_base="https://gupshup.staging.example.in")
    cli._refuse_exposed_dev_inbox(real_gupshup, "0.0.0.0", public=False)
    cli._refuse_exposed_dev_inbox(load_settings(erplake_env="test"), "0.0.0.0", public=False)


def test_dev_jwt_secret_is_random_private_and_persisted(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    first = cli.dev_jwt_secret(folder)
    path = folder / "jwt_secret"
    assert len(first) == 64 and first != DEFAULT_SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cli.dev_jwt_secret(folder) == first, "a restart keeps the secret"
    assert cli.dev_jwt_secret(tmp_path / "other") != first
    assert [p.name for p in folder.iterdir()] == ["jwt_secret"], "no temporary file left"


def test_dev_jwt_secret_tightens_loose_permissions_and_replaces_a_damaged_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jwt_secret"
    path.write_text("k" * 40 + "\n")
    path.chmod(0o644)
    assert cli.dev_jwt_secret(tmp_path) == "k" * 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short")
    replaced = cli.dev_jwt_secret(tmp_path)
    assert len(replaced) == 64
    assert path.read_text().strip() == replaced
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_only_development_with_the_default_secret_uses_the_file(
    dev_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = cli._with_dev_jwt_secret(load_settings(), dev_env / "var")
    assert settings.jwt_secret == (dev_env / "var" / "jwt_secret").read_text().strip()
    assert os.environ["JWT_SECRET"] == settings.jwt_secret, "children use it too"

    chosen = load_settings(jwt_secret="a-secret-the-developer-chose")
    assert cli._with_dev_jwt_secret(chosen, dev_env / "x").jwt_secret == chosen.jwt_secret
    test_env = load_settings(erplake_env="test", jwt_secret=DEFAULT_SECRET)
    assert cli._with_dev_jwt_secret(test_env, dev_env / "y").jwt_secret == DEFAULT_SECRET
    assert not (dev_env / "x").exists() and not (dev_env / "y").exists()


def test_run_starts_and_stops_the_worker_and_the_scheduler_with_the_dev_secret(
    dev_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    import erplake.core.migrate
    import erplake.services.combined

    seen: dict[str, Any] = {}
    started: list[str] = []
    stopped: list[str] = []

    class Child:
        def __init__(self, command: str) -> None:
            self.command = command

    def fake_with_embedded(settings: Any, data_dir: Any) -> tuple[Any, None]:
        return settings.model_copy(
            update={"database_url": "postgresql://u@db/x", "redis_url": "redis://r/0"}
        ), None

    def start_child(command: str) -> Child:
        started.append(command)
        return Child(command)

    def stop_child(process: Child | None) -> None:
        if process is not None:
            stopped.append(process.command)

    monkeypatch.setattr(cli, "_with_embedded", fake_with_embedded)
    monkeypatch.setattr(cli, "_start_child", start_child)
    monkeypatch.setattr(cli, "_stop_child", stop_child)
    monkeypatch.setattr(erplake.core.migrate, "upgrade", lambda *_: None)
    monkeypatch.setattr(
        erplake.services.combined,
        "create_combined_app",
        lambda settings, fake_gupshup: seen.update(settings=settings, fake=fake_gupshup),
    )
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(uvicorn=kwargs))

    data_dir = dev_env / "data"
    result = CliRunner().invoke(cli.app, ["run", "--no-seed", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert started == ["worker", "scheduler"]
    assert sorted(stopped) == ["scheduler", "worker"]
    assert seen["uvicorn"]["host"] == "127.0.0.1"
    assert seen["uvicorn"]["log_config"] is None
    assert seen["fake"] is not None
    secret = (data_dir / "jwt_secret").read_text().strip()
    assert seen["settings"].jwt_secret == secret
    assert os.environ["JWT_SECRET"] == secret
    assert os.environ["DATA_DIR"] == str(data_dir)

    started.clear()
    result = CliRunner().invoke(
        cli.app, ["run", "--no-seed", "--no-worker", "--no-scheduler", "--data-dir", "d2"]
    )
    assert result.exit_code == 0, result.output
    assert started == []


# ---- the browser tests' prerequisites (tests/web/conftest.py) ---------------------


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_e2e_tests_are_skipped_without_chromium_on_a_developer_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None
) -> None:
    from tests.web import conftest as web

    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(web, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        web.check_e2e_prerequisites()


def test_e2e_tests_are_skipped_without_npm_when_the_web_app_needs_a_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests.web import conftest as web

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(web, "CHROMIUM", Path(sys.executable))  # any existing file
    monkeypatch.setattr(web.shutil, "which", lambda _: None)
    monkeypatch.setattr(web, "_dist_is_stale", lambda: True)
    with pytest.raises(pytest.skip.Exception, match="npm is not installed"):
        web.check_e2e_prerequisites()
    monkeypatch.setattr(web, "_dist_is_stale", lambda: False)
    assert web._missing_prerequisite() is None, "a built app needs no npm"


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_e2e_tests_fail_without_chromium_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str
) -> None:
    from tests.web import conftest as web

    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(web, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        web.check_e2e_prerequisites()


def test_dev_links_point_at_the_port_being_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    dev = load_settings(env="development")
    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # restored (removed) after the test

    served = cli._dev_public_url(dev, "127.0.0.1", 8123)

    assert served.public_base_url == "http://127.0.0.1:8123"  # the address it prints
    assert os.environ["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"  # for the worker too
    monkeypatch.setenv("PUBLIC_BASE_URL", "")
    assert cli._dev_public_url(dev, "0.0.0.0", 80).public_base_url == "http://localhost:80"

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://school.example")
    assert cli._dev_public_url(dev, "127.0.0.1", 8123) is dev  # an explicit setting wins
