"""The web app's copy of the permission catalogue (it decides what navigation shows)
names exactly the backend's permissions."""

from __future__ import annotations

import re
from pathlib import Path

from erplake.core.permissions import BUILTIN_ROLES, P

WEB_SRC = Path(__file__).resolve().parents[2] / "apps" / "web" / "src"


def test_the_web_permission_list_is_the_backend_catalogue() -> None:
    source = (WEB_SRC / "features" / "identity" / "permissions.ts").read_text()
    listed = re.search(r"PERMISSIONS = \[(.*?)\] as const", source, re.S)
    assert listed is not None
    assert re.findall(r'"([a-z_]+:[a-z_]+)"', listed.group(1)) == [p.value for p in P]


def test_the_web_tests_role_fixtures_match_the_builtin_roles() -> None:
    source = (WEB_SRC / "test" / "roles.ts").read_text()
    for role in ("principal", "accountant", "teacher", "parent"):
        block = re.search(rf"\b{role}: \[(.*?)\]", source, re.S)
        assert block is not None, role
        assert set(re.findall(r'"([a-z_]+:[a-z_]+)"', block.group(1))) == {
            str(p) for p in BUILTIN_ROLES[role][1]
        }, role
