"""Message search: only the caller's conversations, never deleted messages, ranked
then recent, HTML-safe snippets, the seed's 400s and 429, and the plans it runs on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from erplake.chat.service import FEW_CONVERSATIONS, SEARCH_MESSAGES_SQL, SEARCH_SETUP_SQL
from erplake.core import textsearch
from erplake.core.db import driver_connection
from erplake.core.security import Principal
from tests.chat.conftest import ChatSchool, send, start_direct


async def search(api: Any, who: Any, q: str, **params: Any) -> Any:
    return await api.get("/chat/search/messages", params={"q": q, **params}, headers=who.headers)


async def test_finds_words_in_the_callers_conversations_only(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        with_vikram = await start_direct(api, s.sunita, s.vikram)
        with_neha = await start_direct(api, s.sunita, s.neha)
        first = await send(api, s.sunita, with_vikram, "The fee receipt for Diya is ready")
        await send(api, s.sunita, with_neha, "The fee receipt for Aarav is ready")
        await send(api, s.vikram, with_vikram, "Thank you, madam")
        vikram = await search(api, s.vikram, "fee receipt")
        sunita = await search(api, s.sunita, "fee receipt")
        kiran = await search(api, s.kiran, "fee receipt")
        narrowed = await search(api, s.sunita, "receipt", conversation_id=str(with_neha))
        not_his = await search(api, s.vikram, "receipt", conversation_id=str(with_neha))
    assert vikram.status_code == 200, vikram.text
    (hit,) = vikram.json()
    assert hit["id"] == first["id"]
    assert hit["conversation_id"] == str(with_vikram)
    assert hit["sender_id"] == str(s.sunita.user_id)
    assert hit["sequence"] == 1
    assert hit["created_at"] == first["created_at"]
    assert "<mark>fee</mark> <mark>receipt</mark>" in hit["snippet"]
    assert hit["rank"] > 0
    assert set(hit) == {
        "id",
        "conversation_id",
        "sender_id",
        "sequence",
        "created_at",
        "snippet",
        "rank",
    }
    assert len(sunita.json()) == 2
    assert kiran.json() == []  # a non-member finds nothing
    assert [h["conversation_id"] for h in narrowed.json()] == [str(with_neha)]
    assert not_his.json() == []


async def test_deleted_messages_never_match(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        message = await send(api, s.vikram, conversation, "Diya has a fever today")
        before = await search(api, s.sunita, "fever")
        await api.delete(f"/chat/messages/{message['id']}", headers=s.vikram.headers)
        after = await search(api, s.sunita, "fever")
        after_simple = await search(api, s.sunita, "fever", lang="simple")
    assert len(before.json()) == 1
    assert after.json() == []
    assert after_simple.json() == []


async def test_snippet_is_html_safe(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    body = "Note: <script>alert('x')</script> Fee & \"dues\" <b>paid</b> \ue000forged\ue001"
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        await send(api, s.vikram, conversation, body)
        answer = await search(api, s.sunita, "fee")
    (hit,) = answer.json()
    snippet = hit["snippet"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in snippet
    assert "&amp;" in snippet and "&quot;dues&quot;" in snippet and "&lt;b&gt;paid" in snippet
    assert "<mark>Fee</mark>" in snippet
    # Only our markers become <mark>: the private-use characters in the text are dropped.
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1
    assert "\ue000" not in snippet and "forged" in snippet


async def test_ranked_then_most_recent(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        strong = await send(api, s.sunita, conversation, "Bus fee, bus route and bus timing")
        older = await send(api, s.sunita, conversation, "The bus is late")
        newer = await send(api, s.sunita, conversation, "The bus is early")
        answer = await search(api, s.vikram, "bus")
    assert [h["id"] for h in answer.json()] == [strong["id"], newer["id"], older["id"]]
    ranks = [h["rank"] for h in answer.json()]
    assert ranks[0] > ranks[1] == ranks[2]


async def test_websearch_syntax_phrases_or_and_exclusions(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        annual = await send(api, s.sunita, conversation, "Annual day rehearsal on Friday")
        van = await send(api, s.sunita, conversation, "The van leaves at 7")
        fees = await send(api, s.sunita, conversation, "Fees are due; late fees apply")
        results = {}
        for q in ('"annual day"', '"day annual"', "bus OR van", "fee", "fees -late", "rehearsals"):
            results[q] = [h["id"] for h in (await search(api, s.vikram, q)).json()]
    assert results['"annual day"'] == [annual["id"]]
    assert results['"day annual"'] == []
    assert results["bus OR van"] == [van["id"]]
    assert results["fee"] == [fees["id"]]  # english stems "fees"
    assert results["fees -late"] == []
    assert results["rehearsals"] == [annual["id"]]


async def test_simple_language_does_not_stem(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        fees = await send(api, s.sunita, conversation, "Fees are due")
        stem = await search(api, s.vikram, "fee", lang="simple")
        exact = await search(api, s.vikram, "fees", lang="simple")
        stop_word = await search(api, s.vikram, "are", lang="simple")
        stop_word_english = await search(api, s.vikram, "are")
    assert stem.json() == []
    assert [h["id"] for h in exact.json()] == [fees["id"]]
    assert [h["id"] for h in stop_word.json()] == [fees["id"]]
    assert stop_word_english.json() == []  # "are" is an English stop word


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "invalid_search_query"),
        ({"q": "   \t "}, "invalid_search_query"),
        ({}, "invalid_search_query"),
        ({"q": "x" * 121}, "invalid_search_query"),
        ({"q": "fee", "lang": "french"}, "unsupported_language"),
        ({"q": "fee", "lang": ""}, "unsupported_language"),
    ],
)
async def test_bad_queries_are_400(
    client_for, make_user, params: dict[str, str], code: str
) -> None:
    parent = await make_user("parent")
    async with client_for("api") as api:
        answer = await api.get("/chat/search/messages", params=params, headers=parent.headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code


async def test_a_query_of_exactly_120_characters_is_fine(client_for, make_user) -> None:
    parent = await make_user("parent")
    async with client_for("api") as api:
        answer = await api.get(
            "/chat/search/messages", params={"q": "x" * 120}, headers=parent.headers
        )
    assert answer.status_code == 200
    assert answer.json() == []


async def test_thirty_searches_a_minute_then_429(client_for, make_user) -> None:
    parent, other = await make_user("parent"), await make_user("parent")
    async with client_for("api") as api:
        answers = [
            await api.get("/chat/search/messages", params={"q": "fee"}, headers=parent.headers)
            for _ in range(31)
        ]
        someone_else = await api.get(
            "/chat/search/messages", params={"q": "fee"}, headers=other.headers
        )
    assert [a.status_code for a in answers[:30]] == [200] * 30
    assert answers[30].status_code == 429
    assert answers[30].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[30].headers["Retry-After"]) <= 60
    assert someone_else.status_code == 200


# ---- the plans -----------------------------------------------------------------------


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", ()):
        found += _nodes(child)
    return found


async def _plans(
    resources: Any, principal: Principal, q: str, lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The plans of the two statements a search runs: (conversations, messages)."""
    explain = "EXPLAIN (FORMAT JSON) "
    setup_args = (principal.user_id, principal.school_id, None, FEW_CONVERSATIONS)
    async with resources.read_sessionmaker() as session:
        db = await driver_connection(session)
        async with db.transaction():
            setup = await db.fetchval(explain + SEARCH_SETUP_SQL, *setup_args)
            mine = await db.fetchval(SEARCH_SETUP_SQL, *setup_args)
            search = await db.fetchval(
                explain + SEARCH_MESSAGES_SQL[lang],
                q,
                mine,
                50,
                textsearch.MARKERS,
                textsearch.HEADLINE_OPTIONS,
            )
    plans = [plan if isinstance(plan, list) else json.loads(plan) for plan in (setup, search)]
    return _nodes(plans[0][0]["Plan"]), _nodes(plans[1][0]["Plan"])


@pytest.fixture
async def busy_school(resources: Any, school: Any, make_user: Any) -> dict[str, Any]:
    """300 conversations of 200 messages; a few mention a rare word. A staff member
    is in 60 of them, a parent in 2, ten other users in all of them. (Big enough for
    the planner to prefer indexes; loaded as a history import, with the sequence
    trigger off for the load only.)"""
    from erplake.core.db import libpq_url
    from tests.conftest import psycopg

    staff = await make_user("teacher")
    parent = await make_user("parent")
    statements = [
        "INSERT INTO conversations (school_id, kind, title, next_message_seq) "
        "SELECT %(school)s, 'staff', 'room ' || g, 201 FROM generate_series(1, 300) g",
        "INSERT INTO users (school_id, phone, name) "
        "SELECT %(school)s, '+9193000000' || lpad(g::text, 2, '0'), 'Other ' || g "
        "FROM generate_series(1, 10) g",
        "INSERT INTO conversation_members (conversation_id, user_id, school_id) "
        "SELECT c.id, u.id, %(school)s FROM conversations c, users u "
        "WHERE u.name LIKE 'Other %%'",
        "INSERT INTO conversation_members (conversation_id, user_id, school_id) "
        "SELECT id, %(staff)s, %(school)s FROM conversations "
        "WHERE substr(title, 6)::int <= 60",
        "INSERT INTO conversation_members (conversation_id, user_id, school_id) "
        "SELECT id, %(parent)s, %(school)s FROM conversations WHERE title IN ('room 1', 'room 2')",
        "ALTER TABLE messages DISABLE TRIGGER assign_message_sequence",
        "INSERT INTO messages (school_id, conversation_id, sequence, body) "
        "SELECT %(school)s, c.id, g, 'homework reminder for class ' || g "
        "|| CASE WHEN g = 7 AND substr(c.title, 6)::int %% 15 = 0 THEN ' olympiad' ELSE '' END "
        "FROM conversations c, generate_series(1, 200) g ORDER BY g, c.id",
        "ALTER TABLE messages ENABLE TRIGGER assign_message_sequence",
    ]
    params = {"school": school.id, "staff": staff.user_id, "parent": parent.user_id}
    with psycopg.connect(libpq_url(resources.settings.database_url), autocommit=True) as conn:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement, params if "%(" in statement else None)
        for table in ("conversations", "conversation_members", "messages"):
            conn.execute(f"ANALYZE {table}")
    return {
        "staff": Principal(staff.user_id, school.id, ("teacher",), frozenset(), 0),
        "parent": Principal(parent.user_id, school.id, ("parent",), frozenset(), 0),
    }


MEMBERSHIP_INDEX = "ix_conversation_members_user_id_conversation_id"
CONVERSATION_INDEX = "uq_messages_conversation_id_sequence"


@pytest.mark.parametrize("lang", ["english", "simple"])
async def test_few_conversations_walk_the_membership_then_the_conversation_index(
    resources: Any, busy_school: Any, lang: str
) -> None:
    setup, search = await _plans(resources, busy_school["parent"], "homework", lang)
    assert MEMBERSHIP_INDEX in {n.get("Index Name") for n in setup}, setup
    scans = {(n["Node Type"], n.get("Index Name")) for n in search if "Scan" in n["Node Type"]}
    # The parent's two conversations' messages, through the conversation index:
    # never every message in the school that says "homework".
    assert ("Index Scan", CONVERSATION_INDEX) in scans, search
    assert not any(name and name.startswith("ix_messages_search") for _, name in scans)
    assert not any(kind == "Seq Scan" for kind, _ in scans)


@pytest.mark.parametrize("lang", ["english", "simple"])
async def test_a_rare_word_in_many_conversations_uses_the_gin_index(
    resources: Any, busy_school: Any, lang: str
) -> None:
    setup, search = await _plans(resources, busy_school["staff"], "olympiad", lang)
    assert MEMBERSHIP_INDEX in {n.get("Index Name") for n in setup}, setup
    indexes = {n.get("Index Name") for n in search}
    assert f"ix_messages_search_{lang}" in indexes, search
    assert not any(n["Node Type"] == "Seq Scan" for n in search)


async def test_the_rare_word_is_found_in_the_staff_members_conversations_only(
    client_for, busy_school: Any, settings: Any
) -> None:
    from erplake.core.security import issue_access_token

    staff = busy_school["staff"]
    token, _ = issue_access_token(
        settings,
        user_id=staff.user_id,
        school_id=staff.school_id,
        roles=["teacher"],
        permissions=["chat:use"],
        epoch=0,
    )
    async with client_for("api") as api:
        found = await api.get(
            "/chat/search/messages",
            params={"q": "olympiad", "lang": "simple"},
            headers={"Authorization": f"Bearer {token}"},
        )
    # Rooms 15, 30, 45 and 60 are the staff member's; 75 … 300 are not.
    assert found.status_code == 200, found.text
    assert len(found.json()) == 4
    assert {h["sequence"] for h in found.json()} == {7}
