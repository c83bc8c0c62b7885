"""Post search really uses the GIN index of its language (EXPLAIN)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from erplake.core import textsearch
from erplake.core.db import libpq_url
from erplake.social.service import SEARCH_POSTS_SQL


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", ()):
        found += _nodes(child)
    return found


@pytest.fixture
def many_posts(database_url: str, school: Any) -> Any:
    """5,000 posts, a handful mentioning a rare word, vacuumed and analysed as
    autovacuum leaves a real table (a fresh bulk load sits in the GIN pending list)."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO social_posts (school_id, platform, title, body, published_at)
            SELECT %s, 'website', 'Notice ' || n,
                   CASE WHEN n %% 1000 = 0 THEN 'Inter-school olympiad results announced'
                        ELSE 'Routine update number ' || n || ' about timetables' END,
                   now() - n * interval '1 hour'
            FROM generate_series(1, 5000) AS n
            """,
            (school.id,),
        )
        conn.execute("VACUUM ANALYZE social_posts")
    return school


@pytest.mark.parametrize("lang", ["english", "simple"])
async def test_post_search_uses_the_gin_index_of_its_language(
    resources: Any, many_posts: Any, lang: str
) -> None:
    from sqlalchemy import text

    async with resources.read_sessionmaker() as session:
        plan = (
            await session.execute(
                text("EXPLAIN (FORMAT JSON) " + SEARCH_POSTS_SQL[lang]),
                {
                    "q": "olympiad",
                    "school_id": many_posts.id,
                    "platform": None,
                    "limit": 50,
                    "markers": textsearch.MARKERS,
                    "options": textsearch.HEADLINE_OPTIONS,
                },
            )
        ).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    indexes = {node.get("Index Name") for node in _nodes(plan[0]["Plan"])}
    assert f"ix_social_posts_search_{lang}" in indexes, plan
