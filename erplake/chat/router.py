from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    WebSocket,
)
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit.deps import AuditActor
from erplake.chat import live, service
from erplake.chat.schemas import (
    Attachment,
    Contact,
    ConversationOut,
    ConversationUpdate,
    DirectStart,
    MemberOut,
    MembershipUpdate,
    MessageEdit,
    MessageOut,
    MessagePage,
    MessageSearchResult,
    MessageSend,
    ReadMark,
    ReadState,
    SectionGroupSet,
    StaffGroupCreate,
)
from erplake.core import textsearch
from erplake.core.db import DbSession, on_commit
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.storage import get_storage

router = APIRouter(prefix="/chat", tags=["chat"])

Chatter = Annotated[Principal, require(P.chat_use)]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found, or not a conversation of yours"}
}


def _turns(request: Request) -> service.ConversationTurns:
    turns: service.ConversationTurns | None = getattr(request.app.state, "chat_turns", None)
    if turns is None:
        turns = request.app.state.chat_turns = service.ConversationTurns()
    return turns


def _after_commit(
    session: AsyncSession, request: Request, publish: Callable[..., Awaitable[None]], *args: Any
) -> None:
    """Tell the other api processes' sockets once the transaction has committed."""
    redis = request.app.state.redis
    on_commit(session, lambda: publish(redis, *args))


async def _autocommit_session(request: Request) -> AsyncIterator[AsyncSession]:
    # Sending is a single statement that commits as it completes. The sequence
    # trigger's row lock on the conversation is then held only while PostgreSQL runs
    # that statement, not across a round trip to this process and its event loop:
    # with many writers in one conversation, that hold is what bounds throughput.
    async with request.app.state.read_sessionmaker() as session:
        yield session


OneStatement = Annotated[AsyncSession, Depends(_autocommit_session, scope="function")]


@router.get("/conversations", response_model=Page[ConversationOut])
async def list_conversations(
    session: DbSession, principal: Chatter, page: Pagination
) -> Page[ConversationOut]:
    """The caller's conversations, most recent activity first, each with its unread
    count and the sequence of its newest message."""
    items, total = await service.list_conversations(session, principal, page=page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/contacts", response_model=list[Contact])
async def list_contacts(session: DbSession, principal: Chatter) -> list[Contact]:
    """Whom the caller may start a direct conversation with: a parent their
    children's teachers, a teacher their sections' parents, staff other staff."""
    return [
        Contact(user_id=user_id, name=name)
        for user_id, name in await service.contacts(session, principal)
    ]


@router.post(
    "/conversations/direct",
    response_model=ConversationOut,
    status_code=201,
    responses={200: {"description": "it already existed"}, 403: {"description": "not allowed"}},
)
async def start_direct(
    body: DirectStart,
    request: Request,
    response: Response,
    session: DbSession,
    principal: Chatter,
    actor: AuditActor,
) -> ConversationOut:
    """The caller's direct conversation with another user, started if new (201) or
    the existing one (200). A parent may write only to their children's teachers."""
    conversation, joined = await service.start_direct(
        session, actor, principal, other_user_id=body.user_id
    )
    if joined is None:
        response.status_code = 200
    else:
        _after_commit(session, request, live.publish_members, principal.school_id, joined)
    return conversation


@router.post("/conversations/staff", response_model=ConversationOut, status_code=201)
async def create_staff_group(
    body: StaffGroupCreate,
    request: Request,
    session: DbSession,
    principal: Chatter,
    actor: AuditActor,
) -> ConversationOut:
    """A group of staff members; the caller owns it."""
    conversation, joined = await service.create_staff_group(
        session, actor, principal, title=body.title, member_ids=body.member_ids
    )
    _after_commit(session, request, live.publish_members, principal.school_id, joined)
    return conversation


@router.put("/sections/{section_id}/group", response_model=ConversationOut, responses=_NOT_FOUND)
async def set_section_group(
    section_id: uuid.UUID,
    body: SectionGroupSet,
    request: Request,
    session: DbSession,
    principal: Chatter,
    actor: AuditActor,
) -> ConversationOut:
    """Create the section's group (its class teacher and its students' parents) or
    bring its members up to date; set whether only the owners may post. The class
    teacher or school-wide staff may do this; repeating it is safe."""
    conversation, joined = await service.set_section_group(
        session,
        actor,
        principal,
        section_id=section_id,
        announcements_only=body.announcements_only,
        title=body.title,
    )
    _after_commit(session, request, live.publish_members, principal.school_id, joined)
    return conversation


@router.get(
    "/conversations/{conversation_id}", response_model=ConversationOut, responses=_NOT_FOUND
)
async def get_conversation(
    conversation_id: uuid.UUID, session: DbSession, principal: Chatter
) -> ConversationOut:
    """One of the caller's conversations."""
    return await service.get_conversation(session, principal, conversation_id=conversation_id)


@router.patch(
    "/conversations/{conversation_id}", response_model=ConversationOut, responses=_NOT_FOUND
)
async def update_conversation(
    conversation_id: uuid.UUID,
    body: ConversationUpdate,
    session: DbSession,
    principal: Chatter,
    actor: AuditActor,
) -> ConversationOut:
    """Rename a group or make it announcements-only (its owner only)."""
    return await service.update_conversation(
        session,
        actor,
        principal,
        conversation_id=conversation_id,
        title=body.title,
        announcements_only=body.announcements_only,
    )


@router.get(
    "/conversations/{conversation_id}/members",
    response_model=list[MemberOut],
    responses=_NOT_FOUND,
)
async def list_members(
    conversation_id: uuid.UUID, session: DbSession, principal: Chatter
) -> list[MemberOut]:
    """Who is in the conversation."""
    return await service.list_members(session, principal, conversation_id=conversation_id)


@router.patch(
    "/conversations/{conversation_id}/membership",
    response_model=ConversationOut,
    responses=_NOT_FOUND,
)
async def update_membership(
    conversation_id: uuid.UUID, body: MembershipUpdate, session: DbSession, principal: Chatter
) -> ConversationOut:
    """Mute or unmute the conversation for the caller."""
    return await service.set_muted(
        session, principal, conversation_id=conversation_id, muted=body.muted
    )


@router.post(
    "/conversations/{conversation_id}/read", response_model=ReadState, responses=_NOT_FOUND
)
async def mark_read(
    conversation_id: uuid.UUID, body: ReadMark, session: DbSession, principal: Chatter
) -> ReadState:
    """Everything up to `sequence` has been seen; the marker never moves back."""
    return await service.mark_read(
        session, principal, conversation_id=conversation_id, sequence=body.sequence
    )


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=MessagePage,
    responses=_NOT_FOUND,
)
async def list_messages(
    conversation_id: uuid.UUID,
    session: DbSession,
    principal: Chatter,
    after_sequence: Annotated[
        int | None, Query(ge=0, description="Messages after this one, oldest first")
    ] = None,
    before_sequence: Annotated[
        int | None, Query(ge=1, description="Messages before this one, newest first")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> MessagePage:
    """A page of messages by sequence. With `after_sequence`, the following messages
    oldest first; otherwise the newest ones (below `before_sequence` if given),
    newest first, for the first load and for scrolling back."""
    return await service.list_messages(
        session,
        principal,
        conversation_id=conversation_id,
        after_sequence=after_sequence,
        before_sequence=before_sequence,
        limit=limit,
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=201,
    responses={**_NOT_FOUND, 403: {"description": "announcements-only group"}},
)
async def send_message(
    conversation_id: uuid.UUID,
    body: MessageSend,
    request: Request,
    session: OneStatement,
    principal: Chatter,
) -> MessageOut:
    """Post a message (up to 4,000 characters, and/or attachments uploaded first).
    The database numbers it; members' open sockets get it once it is committed."""
    message = await service.send_message(
        session,
        lambda: get_storage(request.app.state.settings),
        principal,
        conversation_id=conversation_id,
        body=body.body,
        attachment_keys=body.attachments,
        turns=_turns(request),
    )
    # The statement has committed (autocommit): announce it.
    await live.publish_message(request.app.state.redis, principal.school_id, message)
    return message


@router.patch("/messages/{message_id}", response_model=MessageOut, responses=_NOT_FOUND)
async def edit_message(
    message_id: uuid.UUID,
    body: MessageEdit,
    request: Request,
    session: DbSession,
    principal: Chatter,
) -> MessageOut:
    """Change the text of one's own message."""
    message = await service.edit_message(session, principal, message_id=message_id, body=body.body)
    _after_commit(
        session, request, live.publish_message, principal.school_id, message, "message_updated"
    )
    return message


@router.delete("/messages/{message_id}", response_model=MessageOut, responses=_NOT_FOUND)
async def delete_message(
    message_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: Chatter,
    actor: AuditActor,
) -> MessageOut:
    """Delete a message (its sender, or the group's owner): it keeps its place in
    the conversation, its text and attachments are gone for everyone."""
    message = await service.delete_message(session, actor, principal, message_id=message_id)
    _after_commit(
        session, request, live.publish_message, principal.school_id, message, "message_updated"
    )
    return message


@router.post("/attachments", response_model=Attachment, status_code=201)
async def upload_attachment(
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or PDF, at most 10 MB")],
    request: Request,
    principal: Chatter,
) -> Attachment:
    """Upload a file to attach to a message: send its `key` with the message."""
    data = await file.read(service.MAX_ATTACHMENT_BYTES + 1)
    return await service.upload_attachment(
        get_storage(request.app.state.settings),
        principal,
        filename=file.filename or "file",
        content_type=file.content_type or "",
        data=data,
    )


@router.get(
    "/messages/{message_id}/attachments/{index}",
    response_class=Response,
    responses=_NOT_FOUND,
)
async def get_attachment(
    message_id: uuid.UUID,
    index: Annotated[int, Path(ge=0, le=50)],
    request: Request,
    session: DbSession,
    principal: Chatter,
) -> Response:
    """An attachment of a message in one of the caller's conversations."""
    data, attachment = await service.get_attachment(
        session,
        get_storage(request.app.state.settings),
        principal,
        message_id=message_id,
        index=index,
    )
    return Response(
        data,
        media_type=attachment.content_type,
        headers={
            "Cache-Control": "private",
            "Content-Disposition": f'attachment; filename="{attachment.name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/search/messages",
    response_model=list[MessageSearchResult],
    responses={400: {"description": "bad query or language"}, 429: {"description": "too many"}},
)
async def search_messages(
    request: Request,
    session: DbSession,
    principal: Chatter,
    q: Annotated[str, Query(description='Words; "a phrase", OR and -exclude work')] = "",
    conversation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=textsearch.MAX_LIMIT)] = textsearch.DEFAULT_LIMIT,
    lang: Annotated[str, Query(description="english or simple")] = "english",
) -> list[MessageSearchResult]:
    """Search the caller's conversations (deleted messages never match). Best
    matches first, then the most recent; `snippet` is HTML-escaped with the matched
    words in <mark>. At most 30 searches a minute."""
    text = textsearch.checked_query(q)
    language = textsearch.checked_language(lang)
    return await service.search_messages(
        session,
        principal,
        q=text,
        lang=language,
        conversation_id=conversation_id,
        limit=limit,
        admitted=textsearch.count_search(
            request.app.state.rate_limiter, "messages", principal.user_id
        ),
    )


@router.websocket("/ws")
async def chat_socket(websocket: WebSocket) -> None:
    """Live messages; see `erplake.chat.live` for the protocol."""
    await live.serve(websocket)
