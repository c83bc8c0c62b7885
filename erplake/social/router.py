from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from erplake.audit.deps import AuditActor
from erplake.core import textsearch
from erplake.core.db import DbSession
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.social import service
from erplake.social.schemas import (
    Platform,
    SocialPostIn,
    SocialPostOut,
    SocialPostSearchResult,
    SocialPostUpdate,
)

router = APIRouter(prefix="/social", tags=["social"])

Reader = Annotated[Principal, require(P.school_read)]
Manager = Annotated[Principal, require(P.social_manage)]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found"}}


@router.get("/posts", response_model=Page[SocialPostOut])
async def list_posts(
    session: DbSession, principal: Reader, page: Pagination, platform: Platform | None = None
) -> Page[SocialPostOut]:
    """The school's posts, newest first."""
    items, total = await service.list_posts(
        session, school_id=principal.school_id, page=page, platform=platform
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/posts", response_model=SocialPostOut, status_code=201)
async def create_post(
    body: SocialPostIn, session: DbSession, principal: Manager, actor: AuditActor
) -> SocialPostOut:
    """Record a post the school published (or will publish)."""
    return await service.create_post(session, actor, school_id=principal.school_id, post=body)


@router.get("/posts/{post_id}", response_model=SocialPostOut, responses=_NOT_FOUND)
async def get_post(post_id: uuid.UUID, session: DbSession, principal: Reader) -> SocialPostOut:
    """One post."""
    return await service.get_post(session, school_id=principal.school_id, post_id=post_id)


@router.patch("/posts/{post_id}", response_model=SocialPostOut, responses=_NOT_FOUND)
async def update_post(
    post_id: uuid.UUID,
    body: SocialPostUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> SocialPostOut:
    """Change a post; only the fields sent change."""
    return await service.update_post(
        session,
        actor,
        school_id=principal.school_id,
        post_id=post_id,
        changes=body.model_dump(exclude_unset=True),
    )


@router.delete("/posts/{post_id}", status_code=204, responses=_NOT_FOUND)
async def delete_post(
    post_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Remove a post."""
    await service.delete_post(session, actor, school_id=principal.school_id, post_id=post_id)
    return Response(status_code=204)


@router.get(
    "/search/posts",
    response_model=list[SocialPostSearchResult],
    responses={400: {"description": "bad query or language"}, 429: {"description": "too many"}},
)
async def search_posts(
    request: Request,
    session: DbSession,
    principal: Reader,
    q: Annotated[str, Query(description='Words; "a phrase", OR and -exclude work')] = "",
    platform: Platform | None = None,
    limit: Annotated[int, Query(ge=1, le=textsearch.MAX_LIMIT)] = textsearch.DEFAULT_LIMIT,
    lang: Annotated[str, Query(description="english or simple")] = "english",
) -> list[SocialPostSearchResult]:
    """Search the school's posts: best matches first, then the most recent;
    `snippet` is HTML-escaped with the matched words in <mark>. Validated and
    rate-limited like the message search."""
    text = textsearch.checked_query(q)
    language = textsearch.checked_language(lang)
    await textsearch.count_search(request.app.state.rate_limiter, "posts", principal.user_id)
    return await service.search_posts(
        session,
        school_id=principal.school_id,
        q=text,
        lang=language,
        platform=platform,
        limit=limit,
    )
