"""Chat history for the bench: 1,000,000 messages in 5,000 conversations, generated
with set-based SQL in a school of its own.

- 250 teachers, 1,000 parents, a principal and 3 coordinators (school-wide staff);
  300 sections (one academic year).
- 4,500 direct conversations (parent–teacher), 300 section groups (class teacher
  and 15 parents), 200 staff groups (the school-wide staff and 9 teachers): each of
  the school-wide staff is in 200 conversations, a parent in about 9, a teacher in
  about 27.
- Message bodies draw 5–16 words from a vocabulary with a skewed distribution, so
  there are very common words ("fee", "homework") and rare ones; messages are
  spread over 180 days in time order across conversations (as they arrive in
  real life: a conversation's messages are scattered over the table).

History goes in the fastest correct way: the search indexes are dropped for the
load and rebuilt once after it; the sequence trigger is disabled inside the
loading transaction only, the sequences are numbered with
`row_number() OVER (PARTITION BY conversation_id ORDER BY created_at)` and each
conversation's `next_message_seq` is set to its count + 1 in the same
transaction — exactly the state the trigger would have produced, without a
million single-row counter updates. The trigger is enabled again before commit
(the send scenario goes through it) and the seed's integrity query is run on the
result.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import asyncpg

from erplake.core.db import create_engine, create_sessionmaker, libpq_url, transaction
from erplake.core.settings import load_settings
from erplake.identity.rbac import ensure_builtin_roles
from erplake.models.school import School

TEACHERS = 250
COORDINATORS = 3
PARENTS = 1000
SECTIONS = 300
DIRECT = 4500
STAFF_GROUPS = 200
PARENTS_PER_SECTION = 15
TEACHERS_PER_STAFF_GROUP = 9

COMMON_WORDS = (
    "fee homework exam test result marks class teacher parent student school bus "
    "tomorrow today holiday leave sick attendance meeting ptm report card uniform "
    "book notebook project science maths english hindi sports day annual function "
    "practice reminder please kindly thank you sir madam morning evening time late "
    "early pickup drop van transport invoice payment receipt due date week month "
    "term syllabus chapter lesson worksheet assignment submit complete pending "
    "absent present timetable period lab library computer art music dance drawing "
    "competition prize certificate trip excursion picnic permission slip form "
    "photo id card canteen lunch tiffin water bottle diary circular notice office "
    "principal coordinator vice fees concession scholarship admission transfer "
    "olympiad quiz debate essay poem story reading writing spelling revision "
    "doubt question answer help progress improve good well done excellent"
).split()


@dataclass
class ChatBenchData:
    school_id: uuid.UUID
    principal_id: uuid.UUID
    staff_ids: list[uuid.UUID]  # the principal and the coordinators
    teacher_ids: list[uuid.UUID]
    parent_ids: list[uuid.UUID]
    busy_conversation_id: uuid.UUID
    busy_member_ids: list[uuid.UUID]


async def _school_with_builtin_roles(database_url: str) -> uuid.UUID:
    settings = load_settings(erplake_env="test", database_url=database_url, redis_url="redis://")
    engine = create_engine(settings, role="bench", pooled=False)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            school = School(code="chatbench", name="Chat Bench School")
            session.add(school)
            await session.flush()
            await ensure_builtin_roles(session, school_id=school.id)
            return school.id
    finally:
        await engine.dispose()


def _log(message: str, began: float) -> None:
    print(f"  chat data: {message} ({time.perf_counter() - began:.1f} s)", flush=True)


async def load(database_url: str, *, messages: int = 1_000_000) -> ChatBenchData:
    began = time.perf_counter()
    conn = await asyncpg.connect(libpq_url(database_url))
    try:
        await conn.execute("SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'")
        school_id = await _school_with_builtin_roles(database_url)
        users = await conn.fetch(
            """
            INSERT INTO users (school_id, phone, name)
            SELECT $1, '+9191' || lpad(g::text, 8, '0'),
                   CASE WHEN g = 0 THEN 'Principal'
                        WHEN g <= $2::int THEN 'Teacher ' || g
                        WHEN g <= $2::int + $3::int THEN 'Parent ' || g
                        ELSE 'Coordinator ' || g END
            FROM generate_series(0, $2::int + $3::int + $4::int) g
            ORDER BY g
            RETURNING id, name
            """,
            school_id,
            TEACHERS,
            PARENTS,
            COORDINATORS,
        )
        principal_id = users[0]["id"]
        teacher_ids = [u["id"] for u in users[1 : TEACHERS + 1]]
        parent_ids = [u["id"] for u in users[TEACHERS + 1 : TEACHERS + 1 + PARENTS]]
        staff_ids = [principal_id] + [u["id"] for u in users[TEACHERS + 1 + PARENTS :]]
        await conn.execute(
            """
            INSERT INTO user_roles (user_id, role_id)
            SELECT u.id, r.id FROM users u JOIN roles r ON r.school_id = u.school_id
             AND r.name = CASE WHEN u.name LIKE 'Teacher %' THEN 'teacher'
                               WHEN u.name LIKE 'Parent %' THEN 'parent' ELSE 'principal' END
            WHERE u.school_id = $1
            """,
            school_id,
        )
        _log(f"{len(users):,} users", began)

        # Numbered helpers: teacher n / parent n by position.
        await conn.execute(
            """
            CREATE TEMP TABLE t_teacher AS
              SELECT row_number() OVER (ORDER BY phone) - 1 AS n, id FROM users
              WHERE school_id = $1 AND name LIKE 'Teacher %';
            CREATE TEMP TABLE t_parent AS
              SELECT row_number() OVER (ORDER BY phone) - 1 AS n, id FROM users
              WHERE school_id = $1 AND name LIKE 'Parent %';
            """.replace("$1", f"'{school_id}'::uuid")
        )
        await conn.execute(
            """
            WITH y AS (
              INSERT INTO academic_years (school_id, name, starts_on, ends_on, is_current)
              VALUES ($1, 'bench', '2026-04-01', '2027-03-31', true) RETURNING id
            ), c AS (
              INSERT INTO classes (school_id, name, sequence)
              SELECT $1, 'Bench ' || g, 1000 + g FROM generate_series(1, 12) g
              RETURNING id, sequence
            )
            INSERT INTO sections (school_id, academic_year_id, class_id, name)
            SELECT $1, y.id, c.id, 'S' || s FROM y, c, generate_series(1, $2 / 12) s
            """,
            school_id,
            SECTIONS,
        )
        # Conversations: direct pairs first, then section groups, then staff groups;
        # n numbers them 0..4999.
        await conn.execute(
            """
            CREATE TEMP TABLE t_conv (n int PRIMARY KEY, id uuid, members uuid[]);
            INSERT INTO t_conv
            SELECT g, gen_random_uuid(), ARRAY[p.id, t.id]
            FROM generate_series(0, $2 - 1) g
            JOIN t_parent p ON p.n = g % $3
            JOIN t_teacher t ON t.n = (g % $3 + (g / $3) * 50) % $4;
            INSERT INTO t_conv
            SELECT $2 + s.n, gen_random_uuid(),
                   ARRAY[t.id] || ARRAY(SELECT p.id FROM t_parent p
                                        WHERE p.n BETWEEN (s.n * $5) % $3
                                                      AND (s.n * $5) % $3 + $5 - 1)
            FROM (SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM sections
                  WHERE school_id = $1) s
            JOIN t_teacher t ON t.n = s.n % $4;
            INSERT INTO t_conv
            SELECT $2 + $6 + g, gen_random_uuid(),
                   $7::uuid[] || ARRAY(SELECT t.id FROM t_teacher t
                                            WHERE t.n BETWEEN (g * 9) % $4
                                                          AND (g * 9) % $4 + 8)
            FROM generate_series(0, $8 - 1) g;
            """.replace("$1", f"'{school_id}'::uuid")
            .replace("$2", str(DIRECT))
            .replace("$3", str(PARENTS))
            .replace("$4", str(TEACHERS))
            .replace("$5", str(PARENTS_PER_SECTION))
            .replace("$6", str(SECTIONS))
            .replace("$7", "'{" + ",".join(str(u) for u in staff_ids) + "}'")
            .replace("$8", str(STAFF_GROUPS))
        )
        await conn.execute(
            """
            INSERT INTO conversations (id, school_id, kind, title, section_id, direct_key)
            SELECT c.id, $1,
                   CASE WHEN c.n < $2 THEN 'direct' WHEN c.n < $2 + $3 THEN 'section'
                        ELSE 'staff' END,
                   CASE WHEN c.n >= $2 THEN 'Group ' || c.n END,
                   s.id,
                   CASE WHEN c.n < $2 THEN
                     least(c.members[1]::text, c.members[2]::text) || ':' ||
                     greatest(c.members[1]::text, c.members[2]::text) END
            FROM t_conv c
            LEFT JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM sections
                       WHERE school_id = $1) s ON c.n - $2 = s.n AND c.n < $2 + $3;
            INSERT INTO conversation_members (conversation_id, user_id, school_id, role)
            SELECT c.id, m.user_id, $1,
                   CASE WHEN c.n >= $2 AND m.ord = 1 THEN 'owner' ELSE 'member' END
            FROM t_conv c, unnest(c.members) WITH ORDINALITY AS m(user_id, ord);
            """.replace("$1", f"'{school_id}'::uuid")
            .replace("$2", str(DIRECT))
            .replace("$3", str(SECTIONS))
        )
        _log("5,000 conversations and their members", began)

        index_defs = [
            r["indexdef"]
            for r in await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages' "
                "AND indexname LIKE 'ix_messages_search_%'"
            )
        ]
        await conn.execute(
            "DROP INDEX ix_messages_search_english; DROP INDEX ix_messages_search_simple"
        )
        async with conn.transaction():
            await conn.execute("ALTER TABLE messages DISABLE TRIGGER assign_message_sequence")
            await conn.execute(
                """
                WITH vocab AS (SELECT $2::text[] AS w, cardinality($2::text[]) AS n),
                picks AS (  -- volatile, so materialised: one conversation per message
                  SELECT g, floor(random() * $4::int)::int AS cn FROM generate_series(1, $3::int) g
                ),
                raw AS (
                  SELECT p.g, c.id AS conversation_id,
                         c.members[1 + floor(random() * cardinality(c.members))::int] AS sender_id,
                         now() - interval '180 days'
                           + p.g * (interval '180 days' / $3::int) AS created_at,
                         (SELECT string_agg(
                                   CASE WHEN random() < 0.08
                                        THEN 'zq' || floor(random() * 50000)::int
                                        ELSE v.w[1 + floor(power(random(), 2.2) * v.n)::int] END,
                                   ' ')
                          FROM vocab v, generate_series(1, 5 + (p.g * 7 + 3) % 12)) AS body
                  FROM picks p JOIN t_conv c ON c.n = p.cn
                )
                INSERT INTO messages (school_id, conversation_id, sender_id, sequence, body,
                                      created_at)
                SELECT $1, conversation_id, sender_id,
                       row_number() OVER (PARTITION BY conversation_id ORDER BY g),
                       body, created_at
                FROM raw
                """,
                school_id,
                COMMON_WORDS,
                messages,
                DIRECT + SECTIONS + STAFF_GROUPS,
            )
            _log(f"{messages:,} messages inserted", began)
            await conn.execute(
                """
                UPDATE conversations c
                   SET next_message_seq = s.n + 1, last_message_at = s.last_at
                  FROM (SELECT conversation_id, count(*) AS n, max(created_at) AS last_at
                        FROM messages GROUP BY 1) s
                 WHERE c.id = s.conversation_id;
                UPDATE conversation_members m
                   SET last_read_sequence = floor((c.next_message_seq - 1) * random())::bigint
                  FROM conversations c WHERE c.id = m.conversation_id AND c.school_id = $1;
                """.replace("$1", f"'{school_id}'::uuid")
            )
            await conn.execute("ALTER TABLE messages ENABLE TRIGGER assign_message_sequence")
        for definition in index_defs:
            await conn.execute(definition)
        _log("search indexes built", began)
        for table in ("messages", "conversations", "conversation_members", "users"):
            await conn.execute(f"VACUUM ANALYZE {table}")
        integrity = await conn.fetchrow(
            """
            SELECT bool_and(all_have_sequence) AS all_have_sequence,
                   bool_and(contiguous) AS contiguous,
                   bool_and(max_seq = next_seq - 1) AS counters_agree
            FROM (
              SELECT m.conversation_id, count(*) AS messages, max(sequence) AS max_seq,
                     bool_and(sequence IS NOT NULL) AS all_have_sequence,
                     (max(sequence) - count(*) + 1) = min(sequence) AS contiguous,
                     min(c.next_message_seq) AS next_seq
              FROM messages m JOIN conversations c ON c.id = m.conversation_id
              GROUP BY 1
            ) per_conversation
            """
        )
        assert all(integrity.values()), f"history does not hold together: {dict(integrity)}"
        _log("vacuumed, analysed, integrity checked", began)

        busy = await conn.fetchrow("SELECT id, members FROM t_conv WHERE n = $1", DIRECT + SECTIONS)
        return ChatBenchData(
            school_id=school_id,
            principal_id=principal_id,
            staff_ids=staff_ids,
            teacher_ids=teacher_ids,
            parent_ids=parent_ids,
            busy_conversation_id=busy["id"],
            busy_member_ids=list(busy["members"]),
        )
    finally:
        await conn.close()
