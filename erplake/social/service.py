"""The school's social posts: kept by permitted staff, found again by everyone in the
school with full-text search."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core import textsearch
from erplake.core.errors import NotFound
from erplake.core.pagination import PageParams, paginate_rows
from erplake.models.social import SocialPost
from erplake.social.schemas import SocialPostIn, SocialPostOut, SocialPostSearchResult

POST_COLUMNS = (
    SocialPost.id,
    SocialPost.platform,
    SocialPost.title,
    SocialPost.body,
    SocialPost.url,
    SocialPost.published_at,
    SocialPost.created_at,
    SocialPost.updated_at,
)


class SocialPostNotFound(NotFound):
    code = "social_post_not_found"


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("url") is not None:
        values["url"] = str(values["url"])
    return values


async def list_posts(
    session: AsyncSession, *, school_id: uuid.UUID, page: PageParams, platform: str | None
) -> tuple[list[SocialPostOut], int]:
    stmt: Any = select(*POST_COLUMNS).where(SocialPost.school_id == school_id)
    if platform is not None:
        stmt = stmt.where(SocialPost.platform == platform)
    stmt = stmt.order_by(
        func.coalesce(SocialPost.published_at, SocialPost.created_at).desc(), SocialPost.id
    )
    rows, total = await paginate_rows(session, stmt, page)
    return [SocialPostOut.model_validate(r._asdict()) for r in rows], total


async def get_post(
    session: AsyncSession, *, school_id: uuid.UUID, post_id: uuid.UUID
) -> SocialPostOut:
    row = (
        await session.execute(
            select(*POST_COLUMNS).where(SocialPost.id == post_id, SocialPost.school_id == school_id)
        )
    ).first()
    if row is None:
        raise SocialPostNotFound("post not found", details={"post_id": str(post_id)})
    return SocialPostOut.model_validate(row._asdict())


async def create_post(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, post: SocialPostIn
) -> SocialPostOut:
    values = _stored(post.model_dump())
    post_id = (
        await session.execute(
            insert(SocialPost)
            .values(school_id=school_id, created_by_id=actor.user_id, **values)
            .returning(SocialPost.id)
        )
    ).scalar_one()
    await audit.record(
        session,
        actor,
        action="social.post.create",
        entity="social_post",
        entity_id=post_id,
        after={"platform": post.platform, "title": post.title},
    )
    return await get_post(session, school_id=school_id, post_id=post_id)


async def update_post(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    post_id: uuid.UUID,
    changes: dict[str, Any],
) -> SocialPostOut:
    before = await get_post(session, school_id=school_id, post_id=post_id)
    if changes:
        await session.execute(
            update(SocialPost)
            .where(SocialPost.id == post_id, SocialPost.school_id == school_id)
            .values(**_stored(changes), updated_at=func.now())
        )
    after = await get_post(session, school_id=school_id, post_id=post_id)
    await audit.record(
        session,
        actor,
        action="social.post.update",
        entity="social_post",
        entity_id=post_id,
        before=before.model_dump(mode="json", include=set(changes)),
        after=after.model_dump(mode="json", include=set(changes)),
    )
    return after


async def delete_post(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, post_id: uuid.UUID
) -> None:
    gone = (
        await session.execute(
            delete(SocialPost)
            .where(SocialPost.id == post_id, SocialPost.school_id == school_id)
            .returning(SocialPost.title)
        )
    ).scalar_one_or_none()
    if gone is None:
        raise SocialPostNotFound("post not found", details={"post_id": str(post_id)})
    await audit.record(
        session,
        actor,
        action="social.post.delete",
        entity="social_post",
        entity_id=post_id,
        before={"title": gone},
    )


# Posts are few per school: the GIN index finds the matches, the school filter
# keeps this school's. The query is written inline (not joined from a subquery)
# so the planner can use the GIN index. ts_headline runs only for the page returned.
_SEARCH_POSTS = """
SELECT hit.id, hit.platform, hit.title, hit.created_at, hit.rank,
       ts_headline('{lang}'::regconfig, {escaped_text},
                   websearch_to_tsquery('{lang}'::regconfig, :q), :options) AS headline
FROM (
    SELECT p.id, p.platform, p.title, p.created_at,
           coalesce(p.published_at, p.created_at) AS at,
           ts_rank(p.search_{lang}, websearch_to_tsquery('{lang}'::regconfig, :q)) AS rank
    FROM social_posts AS p
    WHERE p.search_{lang} @@ websearch_to_tsquery('{lang}'::regconfig, :q)
      AND p.school_id = :school_id
      AND (CAST(:platform AS text) IS NULL OR p.platform = :platform)
    ORDER BY rank DESC, at DESC
    LIMIT :limit
) AS hit
JOIN social_posts AS p ON p.id = hit.id
ORDER BY hit.rank DESC, hit.at DESC
"""
SEARCH_POSTS_SQL = {
    lang: _SEARCH_POSTS.format(
        lang=lang, escaped_text=textsearch.escaped_sql("coalesce(nullif(p.body, ''), p.title)")
    )
    for lang in textsearch.LANGUAGES
}


async def search_posts(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    q: str,
    lang: str,
    platform: str | None,
    limit: int,
) -> list[SocialPostSearchResult]:
    rows = await session.execute(
        text(SEARCH_POSTS_SQL[lang]),
        {
            "q": q,
            "school_id": school_id,
            "platform": platform,
            "limit": limit,
            "markers": textsearch.MARKERS,
            "options": textsearch.HEADLINE_OPTIONS,
        },
    )
    return [
        SocialPostSearchResult(
            id=r.id,
            platform=r.platform,
            title=r.title,
            snippet=textsearch.safe_snippet(r.headline),
            rank=r.rank,
            created_at=r.created_at,
        )
        for r in rows
    ]
