"""Who may talk to whom, groups, unread counts, pages by sequence, edits, deletes and
attachments."""

from __future__ import annotations

import uuid
from typing import Any

from tests.chat.conftest import ChatSchool, send, start_direct


async def test_parent_may_write_to_their_childs_teacher(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        contacts = await api.get("/chat/contacts", headers=s.vikram.headers)
        first = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.sunita.user_id)},
            headers=s.vikram.headers,
        )
        again = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.sunita.user_id)},
            headers=s.vikram.headers,
        )
        from_teacher = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.vikram.user_id)},
            headers=s.sunita.headers,
        )
    # Sunita teaches Diya's section; nobody teaches Rohan's (7-A).
    assert [c["name"] for c in contacts.json()] == ["Sunita Rao"]
    assert first.status_code == 201, first.text
    assert first.json()["kind"] == "direct"
    assert first.json()["title"] == "Sunita Rao"
    assert again.status_code == 200
    assert from_teacher.status_code == 200
    assert again.json()["id"] == first.json()["id"] == from_teacher.json()["id"]
    assert from_teacher.json()["title"] == "Vikram Singh"


async def test_parent_cannot_write_to_a_teacher_who_does_not_teach_their_children(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        to_ravi = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.ravi.user_id)},
            headers=s.vikram.headers,
        )
        to_parent = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.neha.user_id)},
            headers=s.vikram.headers,
        )
        to_self = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.vikram.user_id)},
            headers=s.vikram.headers,
        )
        listed = await api.get("/chat/conversations", headers=s.vikram.headers)
    for refused in (to_ravi, to_parent, to_self):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "conversation_not_allowed"
    assert listed.json()["total"] == 0


async def test_teacher_may_write_to_parents_of_their_section_only(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        contacts = await api.get("/chat/contacts", headers=s.sunita.headers)
        to_neha = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.neha.user_id)},
            headers=s.sunita.headers,
        )
        to_kiran = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.kiran.user_id)},
            headers=s.sunita.headers,
        )
    names = [c["name"] for c in contacts.json()]
    # Her section's parents, and the other staff.
    assert {"Neha Sharma", "Vikram Singh", "Ravi Kumar", "Asha Verma"} == set(names)
    assert "Kiran Patel" not in names
    assert to_neha.status_code == 201
    assert to_kiran.status_code == 403


async def test_staff_groups_are_for_staff(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    body = {"title": "Class 6 teachers", "member_ids": [str(s.ravi.user_id)]}
    async with client_for("api") as api:
        created = await api.post("/chat/conversations/staff", json=body, headers=s.sunita.headers)
        by_parent = await api.post("/chat/conversations/staff", json=body, headers=s.vikram.headers)
        with_parent = await api.post(
            "/chat/conversations/staff",
            json={"title": "Mixed", "member_ids": [str(s.vikram.user_id)]},
            headers=s.sunita.headers,
        )
        members = await api.get(
            f"/chat/conversations/{created.json()['id']}/members", headers=s.ravi.headers
        )
        ravi_list = await api.get("/chat/conversations", headers=s.ravi.headers)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "owner"
    assert by_parent.status_code == 403
    assert with_parent.status_code == 422
    assert with_parent.json()["error"]["details"]["user_ids"] == [str(s.vikram.user_id)]
    assert {(m["name"], m["role"]) for m in members.json()} == {
        ("Sunita Rao", "owner"),
        ("Ravi Kumar", "member"),
    }
    assert [c["title"] for c in ravi_list.json()["items"]] == ["Class 6 teachers"]


async def test_section_group_holds_class_teacher_and_parents_and_can_be_announcements_only(
    client_for, chat_school: ChatSchool, make_user: Any
) -> None:
    s = chat_school
    section = s.records.sections["6-A"]
    async with client_for("api") as api:
        by_other_teacher = await api.put(
            f"/chat/sections/{section}/group", json={}, headers=s.ravi.headers
        )
        created = await api.put(
            f"/chat/sections/{section}/group",
            json={"announcements_only": True},
            headers=s.sunita.headers,
        )
        group = uuid.UUID(created.json()["id"])
        members = await api.get(f"/chat/conversations/{group}/members", headers=s.neha.headers)
        by_parent = await api.post(
            f"/chat/conversations/{group}/messages",
            json={"body": "Is tomorrow a holiday?"},
            headers=s.vikram.headers,
        )
        notice = await send(api, s.sunita, group, "PTM on Saturday at 10 am")
        kiran_sees = await api.get(f"/chat/conversations/{group}", headers=s.kiran.headers)

        # Anita (Diya's mother) signs up later: setting the group again adds her.
        anita = await make_user("parent", phone="+919810000002", name="Anita Singh")
        again = await api.put(
            f"/chat/sections/{section}/group",
            json={"announcements_only": False},
            headers=s.admin.headers,
        )
        anita_list = await api.get("/chat/conversations", headers=anita.headers)
        now_open = await send(api, s.vikram, group, "Thank you")
    assert by_other_teacher.status_code == 403
    assert created.status_code == 200, created.text
    assert created.json()["title"] == "6-A"
    assert created.json()["announcements_only"] is True
    assert {(m["name"], m["role"]) for m in members.json()} == {
        ("Sunita Rao", "owner"),
        ("Vikram Singh", "member"),
        ("Neha Sharma", "member"),
    }
    assert by_parent.status_code == 403
    assert by_parent.json()["error"]["code"] == "announcements_only"
    assert notice["sequence"] == 1
    assert kiran_sees.status_code == 404  # 6-B parent: not a member
    assert again.json()["id"] == str(group)
    assert [c["id"] for c in anita_list.json()["items"]] == [str(group)]
    assert anita_list.json()["items"][0]["unread"] == 1
    assert now_open["sequence"] == 2


async def test_section_without_class_teacher_has_no_group(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        answer = await api.put(
            f"/chat/sections/{s.records.sections['7-A']}/group", json={}, headers=s.admin.headers
        )
        unknown = await api.put(
            f"/chat/sections/{uuid.uuid4()}/group", json={}, headers=s.admin.headers
        )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "no_class_teacher"
    assert unknown.status_code == 404


async def test_conversation_list_shows_unread_counts_and_read_marks(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        with_sunita = await start_direct(api, s.vikram, s.sunita)
        group = uuid.UUID(
            (
                await api.put(
                    f"/chat/sections/{s.records.sections['6-A']}/group",
                    json={},
                    headers=s.sunita.headers,
                )
            ).json()["id"]
        )
        for n in range(3):
            await send(api, s.sunita, with_sunita, f"note {n}")
        await send(api, s.vikram, with_sunita, "got it")
        await send(api, s.sunita, with_sunita, "one more")
        await send(api, s.neha, group, "hello all")
        listed = (await api.get("/chat/conversations", headers=s.vikram.headers)).json()
        read = await api.post(
            f"/chat/conversations/{with_sunita}/read",
            json={"sequence": 99},
            headers=s.vikram.headers,
        )
        back = await api.post(
            f"/chat/conversations/{with_sunita}/read",
            json={"sequence": 1},
            headers=s.vikram.headers,
        )
        muted = await api.patch(
            f"/chat/conversations/{group}/membership",
            json={"muted": True},
            headers=s.vikram.headers,
        )
        sunita_view = await api.get(f"/chat/conversations/{with_sunita}", headers=s.sunita.headers)
        stranger = await api.post(
            f"/chat/conversations/{with_sunita}/read",
            json={"sequence": 1},
            headers=s.kiran.headers,
        )
    items = {c["id"]: c for c in listed["items"]}
    assert listed["total"] == 2
    # Most recent activity first.
    assert [c["id"] for c in listed["items"]] == [str(group), str(with_sunita)]
    # Sending marks one's own message read: 3 unread before "got it", 1 after it.
    assert items[str(with_sunita)]["unread"] == 1
    assert items[str(with_sunita)]["last_sequence"] == 5
    assert items[str(group)]["unread"] == 1
    assert read.json() == {"last_read_sequence": 5, "unread": 0}
    assert back.json() == {"last_read_sequence": 5, "unread": 0}
    assert muted.json()["muted"] is True
    # Her reply (5) came after Vikram's 4: she has read everything.
    assert sunita_view.json()["unread"] == 0
    assert stranger.status_code == 404


async def test_messages_page_forward_and_backward_by_sequence(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        for n in range(1, 8):
            await send(api, s.sunita if n % 2 else s.vikram, conversation, f"m{n}")
        path = f"/chat/conversations/{conversation}/messages"
        newest = (await api.get(f"{path}?limit=3", headers=s.vikram.headers)).json()
        older = (
            await api.get(f"{path}?limit=3&before_sequence=5", headers=s.vikram.headers)
        ).json()
        oldest = (
            await api.get(f"{path}?limit=3&before_sequence=2", headers=s.vikram.headers)
        ).json()
        forward = (
            await api.get(f"{path}?after_sequence=4&limit=2", headers=s.vikram.headers)
        ).json()
        rest = (await api.get(f"{path}?after_sequence=6", headers=s.vikram.headers)).json()
        both = await api.get(f"{path}?after_sequence=1&before_sequence=5", headers=s.vikram.headers)
        stranger = await api.get(path, headers=s.kiran.headers)

    def seqs(page: dict[str, Any]) -> list[int]:
        return [m["sequence"] for m in page["items"]]

    assert (seqs(newest), newest["has_more"]) == ([7, 6, 5], True)
    assert (seqs(older), older["has_more"]) == ([4, 3, 2], True)
    assert (seqs(oldest), oldest["has_more"]) == ([1], False)
    assert (seqs(forward), forward["has_more"]) == ([5, 6], True)
    assert (seqs(rest), rest["has_more"]) == ([7], False)
    assert newest["items"][0]["body"] == "m7"
    assert both.status_code == 400
    assert stranger.status_code == 404


async def test_sender_edits_and_deleted_messages_are_masked_for_everyone(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        message = await send(api, s.vikram, conversation, "Diya will be late")
        by_other = await api.patch(
            f"/chat/messages/{message['id']}", json={"body": "x"}, headers=s.sunita.headers
        )
        edited = await api.patch(
            f"/chat/messages/{message['id']}",
            json={"body": "Diya will be late today"},
            headers=s.vikram.headers,
        )
        not_deleted_by_other = await api.delete(
            f"/chat/messages/{message['id']}", headers=s.sunita.headers
        )
        deleted = await api.delete(f"/chat/messages/{message['id']}", headers=s.vikram.headers)
        again = await api.delete(f"/chat/messages/{message['id']}", headers=s.vikram.headers)
        edit_deleted = await api.patch(
            f"/chat/messages/{message['id']}", json={"body": "y"}, headers=s.vikram.headers
        )
        seen = (
            await api.get(f"/chat/conversations/{conversation}/messages", headers=s.sunita.headers)
        ).json()
        audit = (await api.get("/audit?entity=message", headers=s.admin.headers)).json()
    assert by_other.status_code == 403
    assert edited.json()["body"] == "Diya will be late today"
    assert edited.json()["edited_at"] is not None
    assert not_deleted_by_other.status_code == 403
    assert deleted.status_code == 200
    assert deleted.json()["body"] is None and deleted.json()["deleted_at"] is not None
    assert again.json()["deleted_at"] == deleted.json()["deleted_at"]
    assert edit_deleted.status_code == 409
    (shown,) = seen["items"]
    assert shown["sequence"] == 1 and shown["body"] is None and shown["attachments"] == []
    assert [e["action"] for e in audit["items"]] == ["chat.message.delete"]


async def test_group_owner_may_delete_a_members_message(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    async with client_for("api") as api:
        group = uuid.UUID(
            (
                await api.put(
                    f"/chat/sections/{s.records.sections['6-A']}/group",
                    json={},
                    headers=s.sunita.headers,
                )
            ).json()["id"]
        )
        message = await send(api, s.neha, group, "something unkind")
        by_parent = await api.delete(f"/chat/messages/{message['id']}", headers=s.vikram.headers)
        by_owner = await api.delete(f"/chat/messages/{message['id']}", headers=s.sunita.headers)
        by_stranger = await api.delete(f"/chat/messages/{message['id']}", headers=s.kiran.headers)
    assert by_parent.status_code == 403
    assert by_owner.status_code == 200 and by_owner.json()["body"] is None
    assert by_stranger.status_code == 404


async def test_message_body_limits(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        path = f"/chat/conversations/{conversation}/messages"
        longest = await api.post(path, json={"body": "a" * 4000}, headers=s.vikram.headers)
        too_long = await api.post(path, json={"body": "a" * 4001}, headers=s.vikram.headers)
        blank = await api.post(path, json={"body": "   "}, headers=s.vikram.headers)
    assert longest.status_code == 201
    assert too_long.status_code == 422
    assert blank.status_code == 422


async def test_attachments_go_through_storage_and_only_members_fetch_them(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    pdf = b"%PDF-1.4 homework sheet"
    async with client_for("api") as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        uploaded = await api.post(
            "/chat/attachments",
            files={"file": ("Maths homework (week 3).pdf", pdf, "application/pdf")},
            headers=s.sunita.headers,
        )
        key = uploaded.json()["key"]
        exe = await api.post(
            "/chat/attachments",
            files={"file": ("run.exe", b"MZ", "application/x-msdownload")},
            headers=s.sunita.headers,
        )
        someone_elses = await api.post(
            f"/chat/conversations/{conversation}/messages",
            json={"attachments": [key]},
            headers=s.vikram.headers,
        )
        sent = await api.post(
            f"/chat/conversations/{conversation}/messages",
            json={"body": "This week's sheet", "attachments": [key]},
            headers=s.sunita.headers,
        )
        message_id = sent.json()["id"]
        fetched = await api.get(
            f"/chat/messages/{message_id}/attachments/0", headers=s.vikram.headers
        )
        stranger = await api.get(
            f"/chat/messages/{message_id}/attachments/0", headers=s.kiran.headers
        )
        missing = await api.get(
            f"/chat/messages/{message_id}/attachments/1", headers=s.vikram.headers
        )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["name"] == "Maths-homework-week-3.pdf"
    assert exe.status_code == 400
    assert someone_elses.status_code == 400
    assert sent.status_code == 201, sent.text
    assert sent.json()["attachments"] == [
        {"key": key, "name": "Maths-homework-week-3.pdf", "content_type": "application/pdf"}
    ]
    assert fetched.status_code == 200
    assert fetched.content == pdf
    assert fetched.headers["content-type"] == "application/pdf"
    assert stranger.status_code == 404
    assert missing.status_code == 404


async def test_only_the_owner_changes_a_group(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    async with client_for("api") as api:
        created = await api.post(
            "/chat/conversations/staff",
            json={"title": "Sports day", "member_ids": [str(s.ravi.user_id)]},
            headers=s.sunita.headers,
        )
        group = created.json()["id"]
        by_member = await api.patch(
            f"/chat/conversations/{group}",
            json={"announcements_only": True},
            headers=s.ravi.headers,
        )
        by_owner = await api.patch(
            f"/chat/conversations/{group}",
            json={"title": "Sports day 2026", "announcements_only": True},
            headers=s.sunita.headers,
        )
        member_posts = await api.post(
            f"/chat/conversations/{group}/messages", json={"body": "hi"}, headers=s.ravi.headers
        )
    assert by_member.status_code == 403
    assert by_owner.json()["title"] == "Sports day 2026"
    assert by_owner.json()["announcements_only"] is True
    assert member_posts.status_code == 403


async def test_a_staff_role_without_chat_manage_cannot_take_over_a_section_group(
    client_for, chat_school: ChatSchool, make_user: Any
) -> None:
    s = chat_school
    section = s.records.sections["6-A"]
    async with client_for("api") as api:
        role = await api.post(
            "/roles",
            json={"name": "coordinator", "permissions": ["chat:use", "school:read"]},
            headers=s.admin.headers,
        )
        assert role.status_code == 201
        coordinator = await make_user("coordinator")
        refused = await api.put(
            f"/chat/sections/{section}/group", json={}, headers=coordinator.headers
        )
        principal = await make_user("principal")
        allowed = await api.put(
            f"/chat/sections/{section}/group", json={}, headers=principal.headers
        )
    assert refused.status_code == 403
    assert allowed.status_code in (200, 201), allowed.text


async def test_a_stranger_can_neither_send_nor_edit(client_for, chat_school: ChatSchool) -> None:
    s = chat_school
    async with client_for("api") as api:
        convo = await api.post(
            "/chat/conversations/direct",
            json={"user_id": str(s.sunita.user_id)},
            headers=s.vikram.headers,
        )
        cid = convo.json()["id"]
        sent = await api.post(
            f"/chat/conversations/{cid}/messages", json={"body": "hello"}, headers=s.vikram.headers
        )
        by_stranger = await api.post(
            f"/chat/conversations/{cid}/messages",
            json={"body": "let me in"},
            headers=s.kiran.headers,
        )
        edit_by_stranger = await api.patch(
            f"/chat/messages/{sent.json()['id']}",
            json={"body": "changed"},
            headers=s.kiran.headers,
        )
        page = await api.get(f"/chat/conversations/{cid}/messages", headers=s.vikram.headers)
    assert by_stranger.status_code == 404
    assert edit_by_stranger.status_code == 404
    assert [m["body"] for m in page.json()["items"]] == ["hello"]


async def test_members_cannot_edit_old_messages_once_the_group_is_announcements_only(
    client_for, chat_school: ChatSchool
) -> None:
    s = chat_school
    section = s.records.sections["6-A"]
    async with client_for("api") as api:
        created = await api.put(
            f"/chat/sections/{section}/group", json={}, headers=s.sunita.headers
        )
        group = created.json()["id"]
        posted = await send(api, s.vikram, uuid.UUID(group), "Is the bus late today?")
        await api.patch(
            f"/chat/conversations/{group}",
            json={"announcements_only": True},
            headers=s.sunita.headers,
        )
        edited = await api.patch(
            f"/chat/messages/{posted['id']}",
            json={"body": "SCHOOL CLOSED TOMORROW"},
            headers=s.vikram.headers,
        )
        page = await api.get(f"/chat/conversations/{group}/messages", headers=s.neha.headers)
    assert edited.status_code == 403
    assert edited.json()["error"]["code"] == "announcements_only"
    assert [m["body"] for m in page.json()["items"]] == ["Is the bus late today?"]
