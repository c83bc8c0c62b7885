"""What a user may see: a parent their children, a teacher their sections.

Filled in by the school-records domain; until its tables exist, nobody has
children or sections to see.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from erplake.identity.schemas import ChildBrief, SectionBrief


async def children_of(session: AsyncSession, *, user_id: uuid.UUID) -> list[ChildBrief]:
    return []


async def sections_of(session: AsyncSession, *, user_id: uuid.UUID) -> list[SectionBrief]:
    return []
