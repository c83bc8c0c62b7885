"""Students and guardians: create, read, update, deactivate, with validation,
filters, scoping (a parent sees own children, a teacher their sections) and audit."""

from __future__ import annotations

from tests.school_records import post_ok, student_body


def _names(page: dict) -> list[str]:  # type: ignore[type-arg]
    return [s["name"] for s in page["items"]]


async def test_office_admits_a_student_with_guardians_and_a_section(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        created = await post_ok(
            api,
            "/students",
            student_body(
                "gv-100",
                "Tara Menon",
                records.sections["7-A"],
                2,
                [
                    {
                        "name": "Suresh Menon",
                        "relation": "father",
                        "phone": "098765 43210",
                        "whatsapp_opt_in": True,
                    },
                    {
                        "name": "Latha Menon",
                        "relation": "mother",
                        "phone": "+91 98765 43211",
                        "is_primary": True,
                    },
                ],
            ),
            h,
        )
        listed = (
            await api.get("/students?section_id=" + str(records.sections["7-A"]), headers=h)
        ).json()
    assert created["admission_number"] == "GV-100"
    assert (created["class_name"], created["section_name"], created["roll_number"]) == ("7", "A", 2)
    assert [(g["name"], g["phone"], g["is_primary"]) for g in created["guardians"]] == [
        ("Latha Menon", "+919876543211", True),
        ("Suresh Menon", "+919876543210", False),
    ]
    assert created["primary_guardian"]["name"] == "Latha Menon"
    assert _names(listed) == ["Rohan Singh", "Tara Menon"]


async def test_duplicate_admission_number_is_409_naming_it(client_for, records) -> None:
    async with client_for("api") as api:
        answer = await api.post(
            "/students",
            json=student_body("gv-001", "Someone Else", None, None, []),
            headers=records.admin.headers,
        )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "admission_number_taken"
    assert "GV-001" in error["message"] and "Aarav Sharma" in error["message"]
    assert error["details"]["admission_number"] == "GV-001"


async def test_bad_guardian_phone_is_422_and_writes_nothing(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        landline = await api.post(
            "/students",
            json=student_body(
                "GV-200", "Nobody", None, None, [{"name": "Office", "phone": "011 2345 6789"}]
            ),
            headers=h,
        )
        garbage = await api.post("/guardians", json={"name": "X", "phone": "12345"}, headers=h)
        found = (await api.get("/students?q=GV-200", headers=h)).json()
    assert landline.status_code == 422
    assert landline.json()["error"]["code"] == "invalid_phone"
    assert garbage.status_code == 422
    assert found["total"] == 0


async def test_a_roll_number_is_taken_once_per_section(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        clash = await api.post(
            "/students",
            json=student_body("GV-300", "Late Comer", records.sections["6-A"], 1, []),
            headers=h,
        )
        moved = await api.put(
            f"/students/{records.students['Kabir']}/enrolment",
            json={"section_id": str(records.sections["6-B"]), "roll_number": 3},
            headers=h,
        )
    assert clash.status_code == 409
    assert "Aarav Sharma" in clash.json()["error"]["message"]
    assert moved.status_code == 200
    assert moved.json()["section_name"] == "B"


async def test_one_guardian_with_three_children_sees_all_three(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        # A known phone links the existing guardian: no duplicate guardian.
        third = await post_ok(
            api,
            "/students",
            student_body(
                "GV-007",
                "Anaya Singh",
                records.sections["6-B"],
                3,
                [{"name": "Vikram Singh", "phone": "+919800000005"}],
            ),
            h,
        )
        mine = (await api.get("/students", headers=records.parent.headers)).json()
        me = (await api.get("/auth/me", headers=records.parent.headers)).json()
        guardian = (await api.get(f"/guardians/{records.guardians['Vikram']}", headers=h)).json()
    assert third["guardians"][0]["id"] == str(records.guardians["Vikram"])
    assert _names(mine) == ["Anaya Singh", "Diya Singh", "Rohan Singh"]
    assert sorted((c["name"], c["class_name"], c["section_name"]) for c in me["children"]) == [
        ("Anaya Singh", "6", "B"),
        ("Diya Singh", "6", "A"),
        ("Rohan Singh", "7", "A"),
    ]
    assert [c["name"] for c in guardian["children"]] == ["Anaya Singh", "Diya Singh", "Rohan Singh"]


async def test_parent_sees_only_own_children(client_for, records) -> None:
    p = records.parent.headers
    async with client_for("api") as api:
        listed = (await api.get("/students", headers=p)).json()
        own = await api.get(f"/students/{records.students['Diya']}", headers=p)
        other = await api.get(f"/students/{records.students['Aarav']}", headers=p)
        searched = (await api.get("/students?q=Aarav", headers=p)).json()
        guardians = (await api.get("/guardians", headers=p)).json()
    assert _names(listed) == ["Diya Singh", "Rohan Singh"]
    assert own.status_code == 200
    assert other.status_code == 404
    assert searched["total"] == 0
    assert {g["name"] for g in guardians["items"]} == {"Vikram Singh", "Anita Singh"}


async def test_teacher_sees_only_students_of_own_sections(client_for, records) -> None:
    async with client_for("api") as api:
        sunita = (await api.get("/students", headers=records.sunita.headers)).json()
        ravi = (await api.get("/students", headers=records.ravi.headers)).json()
        stranger = await api.get(
            f"/students/{records.students['Rohan']}", headers=records.sunita.headers
        )
        write = await api.patch(
            f"/students/{records.students['Aarav']}",
            json={"name": "X"},
            headers=records.sunita.headers,
        )
    assert _names(sunita) == ["Aarav Sharma", "Diya Singh", "Kabir Khan"]
    assert _names(ravi) == ["Ishaan Patel", "Meera Iyer"]
    assert stranger.status_code == 404
    assert write.status_code == 403


async def test_filters_search_sort_and_pagination(client_for, records) -> None:
    h = records.admin.headers

    async def names(query: str) -> list[str]:
        answer = await api.get("/students" + query, headers=h)
        assert answer.status_code == 200, answer.text
        return _names(answer.json())

    async with client_for("api") as api:
        assert await names(f"?class_id={records.classes['6']}") == [
            "Aarav Sharma",
            "Diya Singh",
            "Ishaan Patel",
            "Kabir Khan",
            "Meera Iyer",
        ]
        assert await names(f"?section_id={records.sections['6-B']}&sort=-name") == [
            "Meera Iyer",
            "Ishaan Patel",
        ]
        assert await names("?q=singh") == ["Diya Singh", "Rohan Singh"]
        assert await names("?q=ka kh") == ["Kabir Khan"]  # word prefixes
        assert await names("?q=gv-00") == [
            "Aarav Sharma",
            "Diya Singh",
            "Ishaan Patel",
            "Kabir Khan",
            "Meera Iyer",
            "Rohan Singh",
        ]
        assert await names("?q=gv-004") == ["Ishaan Patel"]
        assert await names("?q=98100 00003") == ["Kabir Khan"]  # guardian phone
        assert await names("?q=%2B919800000005") == ["Diya Singh", "Rohan Singh"]
        assert await names("?sort=class&limit=2&offset=1") == ["Diya Singh", "Kabir Khan"]
        page = (await api.get("/students?limit=2", headers=h)).json()
        past_the_end = (await api.get("/students?q=singh&offset=10", headers=h)).json()
        await api.post(
            f"/students/{records.students['Meera']}/deactivate", json={"status": "left"}, headers=h
        )
        assert await names("?status=left") == ["Meera Iyer"]
        bad_sort = await api.get("/students?sort=age", headers=h)
    assert (page["total"], page["limit"], len(page["items"])) == (6, 2, 2)
    assert (past_the_end["total"], past_the_end["items"]) == (2, [])
    assert bad_sort.status_code == 422


async def test_update_deactivate_and_reactivate_are_audited(client_for, records) -> None:
    h = records.admin.headers
    aarav = records.students["Aarav"]
    async with client_for("api") as api:
        updated = await api.patch(
            f"/students/{aarav}", json={"name": "Aarav S. Sharma", "category": "obc"}, headers=h
        )
        clash = await api.patch(
            f"/students/{aarav}", json={"admission_number": "gv-002"}, headers=h
        )
        left = await api.post(
            f"/students/{aarav}/deactivate",
            json={"status": "left", "left_on": "2026-05-01"},
            headers=h,
        )
        back = await api.post(f"/students/{aarav}/reactivate", headers=h)
        audit = (await api.get(f"/audit?entity=student&entity_id={aarav}", headers=h)).json()
    assert updated.json()["name"] == "Aarav S. Sharma"
    assert updated.json()["category"] == "obc"
    assert clash.status_code == 409
    assert (left.json()["status"], left.json()["left_on"]) == ("left", "2026-05-01")
    assert back.json()["status"] == "active"
    actions = [e["action"] for e in audit["items"]]
    assert actions == [
        "student.reactivate",
        "student.deactivate",
        "student.update",
        "student.create",
    ]
    update = next(e for e in audit["items"] if e["action"] == "student.update")
    assert update["changes"]["name"] == {"before": "Aarav Sharma", "after": "Aarav S. Sharma"}


async def test_photo_goes_through_storage(client_for, records) -> None:
    h = records.admin.headers
    diya = records.students["Diya"]
    jpeg = b"\xff\xd8\xff\xe0" + b"photo" * 100
    async with client_for("api") as api:
        stored = await api.put(
            f"/students/{diya}/photo", files={"file": ("diya.jpg", jpeg, "image/jpeg")}, headers=h
        )
        by_parent = await api.get(f"/students/{diya}/photo", headers=records.parent.headers)
        by_other_teacher = await api.get(f"/students/{diya}/photo", headers=records.ravi.headers)
        not_image = await api.put(
            f"/students/{diya}/photo",
            files={"file": ("x.pdf", b"%PDF", "application/pdf")},
            headers=h,
        )
    assert stored.status_code == 200 and stored.json()["has_photo"] is True
    assert by_parent.content == jpeg
    assert by_parent.headers["content-type"] == "image/jpeg"
    assert by_other_teacher.status_code == 404
    assert not_image.status_code == 422


async def test_guardians_crud_and_a_deactivated_guardian_sees_nothing(client_for, records) -> None:
    h = records.admin.headers
    vikram = records.guardians["Vikram"]
    async with client_for("api") as api:
        created = await api.post(
            "/guardians",
            json={"name": "Pooja Rao", "phone": "98111 22233", "relation": "mother"},
            headers=h,
        )
        duplicate = await api.post(
            "/guardians", json={"name": "Someone", "phone": "+919811122233"}, headers=h
        )
        bad = await api.patch(f"/guardians/{vikram}", json={"phone": "not a phone"}, headers=h)
        opted_out = await api.patch(
            f"/guardians/{vikram}", json={"whatsapp_opt_in": False}, headers=h
        )
        searched = (await api.get("/guardians?q=98111", headers=h)).json()
        linked = await api.post(
            f"/students/{records.students['Aarav']}/guardians",
            json={"guardian_id": created.json()["id"], "is_primary": True},
            headers=h,
        )
        off = await api.post(f"/guardians/{vikram}/deactivate", headers=h)
        parent_view = (await api.get("/students", headers=records.parent.headers)).json()
    assert created.status_code == 201 and created.json()["phone"] == "+919811122233"
    assert duplicate.status_code == 409
    assert "Pooja Rao" in duplicate.json()["error"]["message"]
    assert bad.status_code == 422
    assert opted_out.json()["whatsapp_opt_in"] is False
    assert [g["name"] for g in searched["items"]] == ["Pooja Rao"]
    assert linked.json()["primary_guardian"]["name"] == "Pooja Rao"
    assert off.json()["is_active"] is False
    assert parent_view["total"] == 0
