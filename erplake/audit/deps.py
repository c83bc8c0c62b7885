from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from erplake.audit.service import Actor
from erplake.core.security import CurrentPrincipal


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit_key(ip: str) -> str:
    """The network a client counts as for rate limits: the address itself for
    IPv4, its /64 for IPv6 (one household or phone holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def request_origin(request: Request) -> Actor:
    """Where an anonymous request came from (sign-in, refresh): the services fill
    in the school and user once they know them."""
    return Actor(
        school_id=None,
        user_id=None,
        ip=client_ip(request) if request.client else None,
        request_id=request.scope.get("state", {}).get("request_id"),
    )


async def _actor(request: Request, principal: CurrentPrincipal) -> Actor:
    return Actor(
        school_id=principal.school_id,
        user_id=principal.user_id,
        ip=client_ip(request) if request.client else None,
        request_id=request.scope.get("state", {}).get("request_id"),
    )


AuditActor = Annotated[Actor, Depends(_actor)]
