"""The school's social posts: kept by staff with social:manage, searched by everyone
in the school like the messages are."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
async def principal(make_user: Any) -> Any:
    return await make_user("principal", phone="+919800000002", name="Rajesh Iyer")


@pytest.fixture
async def parent(make_user: Any) -> Any:
    return await make_user("parent", phone="+919800000005", name="Vikram Singh")


async def post(api: Any, who: Any, **body: Any) -> Any:
    answer = await api.post("/social/posts", json=body, headers=who.headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_staff_with_social_manage_keep_posts_and_everyone_reads_them(
    client_for, principal: Any, parent: Any
) -> None:
    async with client_for("api") as api:
        created = await post(
            api,
            principal,
            platform="instagram",
            title="Annual Day 2026",
            body="Photos from our annual day celebrations",
            url="https://instagram.com/p/abc",
            published_at="2026-11-20T10:00:00+05:30",
        )
        by_parent = await api.post(
            "/social/posts",
            json={"platform": "x", "title": "Hi", "body": "x"},
            headers=parent.headers,
        )
        unknown_platform = await api.post(
            "/social/posts",
            json={"platform": "myspace", "title": "Hi", "body": "x"},
            headers=principal.headers,
        )
        listed = await api.get("/social/posts", headers=parent.headers)
        changed = await api.patch(
            f"/social/posts/{created['id']}",
            json={"title": "Annual Day 2026 — photos", "url": None},
            headers=principal.headers,
        )
        gone = await api.delete(f"/social/posts/{created['id']}", headers=principal.headers)
        missing = await api.get(f"/social/posts/{created['id']}", headers=parent.headers)
        audit = await api.get("/audit?entity=social_post", headers=principal.headers)
    assert created["url"] == "https://instagram.com/p/abc"
    assert by_parent.status_code == 403
    assert by_parent.json()["error"]["details"]["permission"] == "social:manage"
    assert unknown_platform.status_code == 422
    assert [p["title"] for p in listed.json()["items"]] == ["Annual Day 2026"]
    assert changed.json()["title"] == "Annual Day 2026 — photos"
    assert changed.json()["url"] is None
    assert changed.json()["body"] == created["body"]
    assert gone.status_code == 204
    assert missing.status_code == 404
    assert {e["action"] for e in audit.json()["items"]} == {
        "social.post.create",
        "social.post.update",
        "social.post.delete",
    }


async def test_search_posts_ranked_with_safe_snippets(
    client_for, principal: Any, parent: Any
) -> None:
    async with client_for("api") as api:
        annual = await post(
            api,
            principal,
            platform="instagram",
            title="Annual day",
            body="Annual day <script>alert(1)</script> rehearsals begin; annual day is on Friday",
        )
        sports = await post(
            api,
            principal,
            platform="facebook",
            title="Sports day",
            body="The annual sports meet is next week",
        )
        await post(api, principal, platform="youtube", title="Science fair", body="Robots!")
        found = await api.get(
            "/social/search/posts", params={"q": "annual day"}, headers=parent.headers
        )
        on_facebook = await api.get(
            "/social/search/posts",
            params={"q": "annual", "platform": "facebook"},
            headers=parent.headers,
        )
        simple = await api.get(
            "/social/search/posts",
            params={"q": "rehearsal", "lang": "simple"},
            headers=parent.headers,
        )
    hits = found.json()
    assert [h["id"] for h in hits] == [annual["id"], sports["id"]]
    assert hits[0]["rank"] > hits[1]["rank"]
    assert set(hits[0]) == {"id", "platform", "title", "snippet", "rank", "created_at"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hits[0]["snippet"]
    assert "<script>" not in hits[0]["snippet"]
    assert "<mark>Annual</mark> <mark>day</mark>" in hits[0]["snippet"]
    assert [h["id"] for h in on_facebook.json()] == [sports["id"]]
    assert simple.json() == []  # "simple" does not stem "rehearsals"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "invalid_search_query"),
        ({"q": "  "}, "invalid_search_query"),
        ({"q": "y" * 121}, "invalid_search_query"),
        ({"q": "day", "lang": "hindi"}, "unsupported_language"),
    ],
)
async def test_post_search_is_validated_like_message_search(
    client_for, parent: Any, params: dict[str, str], code: str
) -> None:
    async with client_for("api") as api:
        answer = await api.get("/social/search/posts", params=params, headers=parent.headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


async def test_post_search_is_rate_limited(client_for, parent: Any) -> None:
    async with client_for("api") as api:
        answers = [
            await api.get("/social/search/posts", params={"q": "day"}, headers=parent.headers)
            for _ in range(31)
        ]
    assert [a.status_code for a in answers] == [200] * 30 + [429]


async def test_posts_belong_to_their_school(client_for, principal: Any, resources: Any) -> None:
    from erplake.core.db import transaction
    from erplake.models.social import SocialPost

    async with transaction(resources.sessionmaker) as session:
        from erplake.models.school import School

        other = School(code="other", name="Other School")
        session.add(other)
        await session.flush()
        session.add(SocialPost(school_id=other.id, platform="x", title="Other", body="annual"))
    async with client_for("api") as api:
        listed = await api.get("/social/posts", headers=principal.headers)
        found = await api.get(
            "/social/search/posts", params={"q": "annual"}, headers=principal.headers
        )
    assert listed.json()["total"] == 0
    assert found.json() == []
