"""Fee set-up through the API: heads, instalments, structures, concessions and their
approval, concession categories, the late-fee rule — bad input refused with nothing
changed, permissions, audit."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx

from tests.school_records import academic_year_of, today


async def _ok(api: httpx.AsyncClient, method: str, path: str, h: Any, body: Any = None) -> Any:
    answer = await api.request(method, path, json=body, headers=h)
    assert answer.status_code in (200, 201, 202, 204), answer.text
    return answer.json() if answer.content else None


async def _error(
    api: httpx.AsyncClient, method: str, path: str, h: Any, body: Any, status: int
) -> dict[str, Any]:
    answer = await api.request(method, path, json=body, headers=h)
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


def _year() -> tuple[date, date]:
    _, starts, ends = academic_year_of(today())
    return starts, ends


async def test_heads_are_created_listed_renamed_and_deactivated_with_audit(
    client_for, records, make_user
) -> None:
    accountant = await make_user("accountant")
    h = accountant.headers
    async with client_for("api") as api:
        tuition = await _ok(api, "POST", "/fees/heads", h, {"code": "tuition", "name": "Tuition"})
        clash = await _error(
            api, "POST", "/fees/heads", h, {"code": "TUITION", "name": "Again"}, 409
        )
        bad = await _error(api, "POST", "/fees/heads", h, {"code": "no spaces", "name": "x"}, 422)
        await _ok(api, "POST", "/fees/heads", h, {"code": "EXAM", "name": "Exam fee"})
        off = await _ok(
            api,
            "PATCH",
            f"/fees/heads/{tuition['id']}",
            h,
            {"name": "Tuition fee", "is_active": False},
        )
        clash_rename = await _error(
            api, "PATCH", f"/fees/heads/{tuition['id']}", h, {"code": "EXAM"}, 409
        )
        listed = await _ok(api, "GET", "/fees/heads", h)
        active = await _ok(api, "GET", "/fees/heads?active=true", h)
        missing = await _error(api, "PATCH", f"/fees/heads/{uuid.uuid4()}", h, {"name": "x"}, 404)
        audit = await _ok(api, "GET", "/audit?entity=fee_head", records.admin.headers)
    assert tuition["code"] == "TUITION" and tuition["is_active"] is True
    assert clash["code"] == "fee_setup_conflict" and bad["code"] == "validation_error"
    assert (off["name"], off["is_active"], off["code"]) == ("Tuition fee", False, "TUITION")
    assert clash_rename["code"] == "fee_setup_conflict"
    assert [x["code"] for x in listed["items"]] == ["EXAM", "TUITION"]
    assert [x["code"] for x in active["items"]] == ["EXAM"]
    assert missing["code"] == "fee_head_not_found"
    assert sorted(e["action"] for e in audit["items"]) == [
        "fees.head.create",
        "fees.head.create",
        "fees.head.update",
    ]


async def test_teachers_and_parents_cannot_manage_fees(client_for, records) -> None:
    body = {"code": "TUITION", "name": "Tuition"}
    async with client_for("api") as api:
        as_teacher = await api.post("/fees/heads", json=body, headers=records.sunita.headers)
        as_parent = await api.post("/fees/heads", json=body, headers=records.parent.headers)
        teacher_reads = await api.get("/fees/structures", headers=records.sunita.headers)
        parent_rule = await api.post(
            "/fees/late-fee-rules",
            json={"name": "x", "kind": "flat", "amount": 100},
            headers=records.parent.headers,
        )
        heads = await _ok(api, "GET", "/fees/heads", records.admin.headers)
    assert as_teacher.status_code == as_parent.status_code == 403
    assert as_teacher.json()["error"]["code"] == "permission_denied"
    assert teacher_reads.status_code == 403 and parent_rule.status_code == 403
    assert heads["total"] == 0


async def test_instalment_plans_make_a_years_set_once(client_for, records) -> None:
    h = records.admin.headers
    starts, ends = _year()
    async with client_for("api") as api:
        monthly = await _ok(
            api, "POST", "/fees/instalments/plan", h, {"frequency": "monthly", "due_day": 5}
        )
        again = await _ok(
            api, "POST", "/fees/instalments/plan", h, {"frequency": "monthly", "due_day": 20}
        )
        quarterly = await _ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "quarterly"})
        terms = await _ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "term"})
        annual = await _ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "annual"})
        listed = await _ok(api, "GET", "/fees/instalments?limit=100", h)
        bad_day = await _error(
            api, "POST", "/fees/instalments/plan", h, {"frequency": "monthly", "due_day": 31}, 422
        )
    assert [i["name"] for i in monthly][:3] == ["April", "May", "June"]
    assert monthly[-1]["name"] == "March" and len(monthly) == 12
    assert monthly[0]["due_on"] == str(date(starts.year, 4, 5))
    assert monthly[-1]["due_on"] == str(date(ends.year, 3, 5))
    assert again == monthly  # kept as they were
    assert [(i["name"], i["due_on"][5:]) for i in quarterly] == [
        ("Quarter 1", "04-10"),
        ("Quarter 2", "07-10"),
        ("Quarter 3", "10-10"),
        ("Quarter 4", "01-10"),
    ]
    assert [i["name"] for i in terms] == ["Term 1", "Term 2"] and terms[1]["due_on"][5:] == "10-10"
    assert [i["name"] for i in annual] == ["Annual"]
    assert listed["total"] == 12 + 4 + 2 + 1
    assert bad_day["code"] == "validation_error"


async def test_instalment_rules_due_date_in_year_names_unique_in_use_not_deleted(
    client_for, records
) -> None:
    h = records.admin.headers
    starts, ends = _year()
    async with client_for("api") as api:
        april = await _ok(
            api, "POST", "/fees/instalments", h, {"name": "April", "due_on": str(starts)}
        )
        outside = await _error(
            api,
            "POST",
            "/fees/instalments",
            h,
            {"name": "Later", "due_on": str(date(ends.year, 4, 1))},
            422,
        )
        twice = await _error(
            api, "POST", "/fees/instalments", h, {"name": "April", "due_on": str(starts)}, 409
        )
        spare = await _ok(
            api, "POST", "/fees/instalments", h, {"name": "Spare", "due_on": str(starts)}
        )
        moved = await _ok(
            api, "PATCH", f"/fees/instalments/{april['id']}", h, {"due_on": str(ends)}
        )
        head = await _ok(api, "POST", "/fees/heads", h, {"code": "TUITION", "name": "Tuition"})
        await _ok(
            api,
            "POST",
            "/fees/structures",
            h,
            {
                "class_id": str(records.classes["6"]),
                "name": "Class 6",
                "lines": [{"head_id": head["id"], "instalment_id": april["id"], "amount": 100}],
            },
        )
        in_use = await _error(api, "DELETE", f"/fees/instalments/{april['id']}", h, None, 409)
        gone = await api.delete(f"/fees/instalments/{spare['id']}", headers=h)
        listed = await _ok(api, "GET", "/fees/instalments", h)
    assert outside["code"] == "bad_fee_setup" and twice["code"] == "fee_setup_conflict"
    assert moved["due_on"] == str(ends)
    assert in_use["code"] == "fee_setup_conflict"
    assert gone.status_code == 204
    assert [i["name"] for i in listed["items"]] == ["April"]


async def _heads_and_plan(api: httpx.AsyncClient, h: Any) -> dict[str, str]:
    heads = {}
    for code in ("TUITION", "TRANSPORT", "EXAM"):
        heads[code] = (
            await _ok(api, "POST", "/fees/heads", h, {"code": code, "name": code.title()})
        )["id"]
    await _ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "monthly"})
    await _ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "term"})
    return heads


async def test_structure_splits_an_annual_amount_with_the_remainder_on_the_first(
    client_for, records
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        heads = await _heads_and_plan(api, h)
        terms = {
            i["name"]: i["id"]
            for i in (await _ok(api, "GET", "/fees/instalments?limit=100", h))["items"]
        }
        created = await _ok(
            api,
            "POST",
            "/fees/structures",
            h,
            {
                "class_id": str(records.classes["6"]),
                "name": "Class 6 fees",
                "splits": [
                    {"head_id": heads["TUITION"], "annual_amount": 100_001, "frequency": "monthly"},
                    {
                        "head_id": heads["EXAM"],
                        "annual_amount": 1_001,
                        "instalment_ids": [terms["Term 2"], terms["Term 1"]],
                    },
                ],
                "lines": [
                    {"head_id": heads["TRANSPORT"], "instalment_id": terms["April"], "amount": 700}
                ],
            },
        )
        fetched = await _ok(api, "GET", f"/fees/structures/{created['id']}", h)
        listed = await _ok(api, "GET", "/fees/structures", h)
    tuition = [ln for ln in created["lines"] if ln["head_id"] == heads["TUITION"]]
    exam = [ln for ln in created["lines"] if ln["head_id"] == heads["EXAM"]]
    assert [ln["amount"] for ln in tuition] == [8_338] + [8_333] * 11
    assert tuition[0]["instalment_name"] == "April"
    assert sum(ln["amount"] for ln in tuition) == 100_001
    assert [(ln["instalment_name"], ln["amount"]) for ln in exam] == [
        ("Term 1", 501),
        ("Term 2", 500),
    ]
    assert created["annual_total"] == 100_001 + 1_001 + 700
    assert fetched == created and listed["items"] == [created]
    assert created["class_name"] == "6"


async def test_bad_structures_are_refused_and_write_nothing(client_for, records) -> None:
    h = records.admin.headers
    six = str(records.classes["6"])
    async with client_for("api") as api:
        heads = {}
        for code in ("TUITION", "OLD"):
            heads[code] = (await _ok(api, "POST", "/fees/heads", h, {"code": code, "name": code}))[
                "id"
            ]
        await _ok(api, "PATCH", f"/fees/heads/{heads['OLD']}", h, {"is_active": False})
        no_plan = await _error(
            api,
            "POST",
            "/fees/structures",
            h,
            {
                "class_id": six,
                "name": "x",
                "splits": [
                    {"head_id": heads["TUITION"], "annual_amount": 1200, "frequency": "quarterly"}
                ],
            },
            422,
        )
        await _ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "quarterly"})
        q = [i["id"] for i in (await _ok(api, "GET", "/fees/instalments", h))["items"]]

        def line(head: str, instalment: str, amount: int = 500) -> dict[str, Any]:
            return {"head_id": head, "instalment_id": instalment, "amount": amount}

        cases = {
            "empty": {"class_id": six, "name": "x"},
            "inactive head": {"class_id": six, "name": "x", "lines": [line(heads["OLD"], q[0])]},
            "unknown head": {
                "class_id": six,
                "name": "x",
                "lines": [line(str(uuid.uuid4()), q[0])],
            },
            "unknown instalment": {
                "class_id": six,
                "name": "x",
                "lines": [line(heads["TUITION"], str(uuid.uuid4()))],
            },
            "twice": {
                "class_id": six,
                "name": "x",
                "lines": [line(heads["TUITION"], q[0])],
                "splits": [
                    {"head_id": heads["TUITION"], "annual_amount": 1200, "frequency": "quarterly"}
                ],
            },
        }
        refused = {
            name: await _error(api, "POST", "/fees/structures", h, body, 422)
            for name, body in cases.items()
        }
        zero = await _error(
            api,
            "POST",
            "/fees/structures",
            h,
            {"class_id": six, "name": "x", "lines": [line(heads["TUITION"], q[0], 0)]},
            422,
        )
        both = await _error(
            api,
            "POST",
            "/fees/structures",
            h,
            {
                "class_id": six,
                "name": "x",
                "splits": [
                    {
                        "head_id": heads["TUITION"],
                        "annual_amount": 1200,
                        "frequency": "quarterly",
                        "instalment_ids": [q[0]],
                    }
                ],
            },
            422,
        )
        no_class = await _error(
            api,
            "POST",
            "/fees/structures",
            h,
            {"class_id": str(uuid.uuid4()), "name": "x", "lines": [line(heads["TUITION"], q[0])]},
            404,
        )
        listed = await _ok(api, "GET", "/fees/structures", h)
        first = await _ok(
            api,
            "POST",
            "/fees/structures",
            h,
            {"class_id": six, "name": "Six", "lines": [line(heads["TUITION"], q[0])]},
        )
        second = await _error(
            api,
            "POST",
            "/fees/structures",
            h,
            {"class_id": six, "name": "Six again", "lines": [line(heads["TUITION"], q[1])]},
            409,
        )
        after = await _ok(api, "GET", f"/fees/structures/{first['id']}", h)
    assert no_plan["code"] == "bad_fee_setup" and no_plan["details"]["missing"][0] == "Quarter 1"
    assert {e["code"] for e in refused.values()} == {"bad_fee_setup"}
    assert refused["twice"]["details"]["lines"] == [
        {"head_id": heads["TUITION"], "instalment_id": q[0]}
    ]
    assert zero["code"] == both["code"] == "validation_error"
    assert no_class["code"] == "class_not_found"
    assert listed["total"] == 0
    assert second["code"] == "fee_setup_conflict"
    assert after == first


async def test_structure_is_replaced_and_deleted_with_audit(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        heads = await _heads_and_plan(api, h)
        created = await _ok(
            api,
            "POST",
            "/fees/structures",
            h,
            {
                "class_id": str(records.classes["7"]),
                "name": "Seven",
                "splits": [
                    {"head_id": heads["TUITION"], "annual_amount": 1200, "frequency": "monthly"}
                ],
            },
        )
        replaced = await _ok(
            api,
            "PUT",
            f"/fees/structures/{created['id']}",
            h,
            {
                "name": "Seven, revised",
                "splits": [{"head_id": heads["EXAM"], "annual_amount": 900, "frequency": "term"}],
            },
        )
        bad = await _error(
            api, "PUT", f"/fees/structures/{created['id']}", h, {"name": "empty"}, 422
        )
        kept = await _ok(api, "GET", f"/fees/structures/{created['id']}", h)
        gone = await api.delete(f"/fees/structures/{created['id']}", headers=h)
        missing = await _error(api, "GET", f"/fees/structures/{created['id']}", h, None, 404)
        audit = await _ok(api, "GET", f"/audit?entity_id={created['id']}", h)
    assert replaced["name"] == "Seven, revised"
    assert [(ln["head_code"], ln["amount"]) for ln in replaced["lines"]] == [
        ("EXAM", 450),
        ("EXAM", 450),
    ]
    assert bad["code"] == "bad_fee_setup" and kept == replaced
    assert gone.status_code == 204 and missing["code"] == "fee_structure_not_found"
    assert [e["action"] for e in audit["items"]] == [
        "fees.structure.delete",
        "fees.structure.update",
        "fees.structure.create",
    ]


async def test_a_concession_is_approved_by_someone_other_than_who_asked(
    client_for, records, make_user
) -> None:
    accountant = await make_user("accountant")
    principal = await make_user("principal")
    diya = str(records.students["Diya"])
    body = {
        "name": "Sibling",
        "kind": "percent",
        "percent_bp": 1000,
        "student_id": diya,
        "reason": "Younger sibling of Rohan",
    }
    async with client_for("api") as api:
        asked = await _ok(api, "POST", "/fees/concessions", accountant.headers, body)
        own = await api.post(
            f"/fees/concessions/{asked['id']}/approve", json={}, headers=accountant.headers
        )
        approved = await _ok(
            api, "POST", f"/fees/concessions/{asked['id']}/approve", principal.headers, {}
        )
        again = await _error(
            api, "POST", f"/fees/concessions/{asked['id']}/reject", principal.headers, {}, 409
        )
        changed = await _error(
            api,
            "PATCH",
            f"/fees/concessions/{asked['id']}",
            accountant.headers,
            {"percent_bp": 5000},
            409,
        )
        # A principal may ask too, but then someone else decides.
        theirs = await _ok(api, "POST", "/fees/concessions", records.admin.headers, body)
        admin_own = await _ok(
            api, "POST", f"/fees/concessions/{theirs['id']}/reject", records.admin.headers, {}
        )
        principal_asks = await api.post("/fees/concessions", json=body, headers=principal.headers)
        audit = await _ok(api, "GET", f"/audit?entity_id={asked['id']}", records.admin.headers)
    assert asked["status"] == "pending" and asked["requested_by_id"] == str(accountant.user_id)
    assert own.status_code == 403  # accountants may ask, not approve
    assert approved["status"] == "approved"
    assert approved["approved_by_id"] == str(principal.user_id) and approved["approved_at"]
    assert again["code"] == "concession_not_pending" and changed["code"] == "concession_not_pending"
    assert admin_own["status"] == "rejected"  # the admin may decide their own
    assert principal_asks.status_code == 403  # principals approve; they do not manage fees
    assert [e["action"] for e in audit["items"]] == [
        "fees.concession.approve",
        "fees.concession.create",
    ]


async def test_an_approver_cannot_decide_their_own_request(client_for, records, make_user) -> None:
    both = await make_user("accountant", "principal")
    other = await make_user("principal")
    body = {
        "name": "Merit",
        "kind": "fixed",
        "amount": 50_000,
        "category": "merit",
        "reason": "Merit list",
    }
    async with client_for("api") as api:
        asked = await _ok(api, "POST", "/fees/concessions", both.headers, body)
        own = await _error(
            api, "POST", f"/fees/concessions/{asked['id']}/approve", both.headers, {}, 403
        )
        still = await _ok(api, "GET", "/fees/concessions?status=pending", both.headers)
        decided = await _ok(
            api, "POST", f"/fees/concessions/{asked['id']}/approve", other.headers, {"note": "ok"}
        )
    assert own["code"] == "own_concession"
    assert [c["id"] for c in still["items"]] == [asked["id"]]
    assert decided["status"] == "approved"


async def test_bad_concessions_are_refused_and_pending_ones_change(client_for, records) -> None:
    h = records.admin.headers
    diya = str(records.students["Diya"])
    base = {"name": "x", "reason": "because", "student_id": diya}
    async with client_for("api") as api:
        head = await _ok(api, "POST", "/fees/heads", h, {"code": "TUITION", "name": "Tuition"})
        invalid = [
            {**base, "kind": "percent", "amount": 100},
            {**base, "kind": "percent", "percent_bp": 10001},
            {**base, "kind": "fixed", "amount": 100, "percent_bp": 10},
            {**base, "kind": "fixed", "amount": 100, "category": "sibling"},
            {"name": "x", "reason": "r", "kind": "fixed", "amount": 100},
            {**base, "kind": "fixed", "amount": 100, "category": "cousin", "student_id": None},
            {**base, "kind": "fixed", "amount": 100, "reason": "  "},
        ]
        refused = [await _error(api, "POST", "/fees/concessions", h, b, 422) for b in invalid]
        unknown_head = await _error(
            api,
            "POST",
            "/fees/concessions",
            h,
            {**base, "kind": "fixed", "amount": 100, "head_ids": [str(uuid.uuid4())]},
            422,
        )
        unknown_student = await _error(
            api,
            "POST",
            "/fees/concessions",
            h,
            {**base, "kind": "fixed", "amount": 100, "student_id": str(uuid.uuid4())},
            404,
        )
        empty = await _ok(api, "GET", "/fees/concessions", h)
        made = await _ok(
            api,
            "POST",
            "/fees/concessions",
            h,
            {**base, "kind": "fixed", "amount": 100, "head_ids": [head["id"]]},
        )
        wrong_kind = await _error(
            api, "PATCH", f"/fees/concessions/{made['id']}", h, {"percent_bp": 100}, 422
        )
        changed = await _ok(
            api,
            "PATCH",
            f"/fees/concessions/{made['id']}",
            h,
            {"amount": 250, "head_ids": [], "reason": "fee waiver"},
        )
        revoked = await _ok(
            api, "POST", f"/fees/concessions/{made['id']}/revoke", h, {"reason": "left the bus"}
        )
        twice = await _error(
            api, "POST", f"/fees/concessions/{made['id']}/revoke", h, {"reason": "again"}, 409
        )
    assert all(e["code"] == "validation_error" for e in refused)
    assert unknown_head["code"] == "bad_fee_setup"
    assert unknown_student["code"] == "student_not_found"
    assert empty["total"] == 0
    assert made["head_ids"] == [head["id"]] and wrong_kind["code"] == "bad_fee_setup"
    assert (changed["amount"], changed["head_ids"], changed["reason"]) == (250, [], "fee waiver")
    assert revoked["status"] == "revoked" and twice["code"] == "concession_not_pending"


async def test_students_are_tagged_and_untagged_in_categories(client_for, records) -> None:
    h = records.admin.headers
    diya, rohan = records.students["Diya"], records.students["Rohan"]
    async with client_for("api") as api:
        for student in (diya, rohan):
            tagged = await api.put(f"/fees/categories/sibling/students/{student}", headers=h)
            assert tagged.status_code == 204, tagged.text
        again = await api.put(f"/fees/categories/sibling/students/{diya}", headers=h)
        await api.put(f"/fees/categories/merit/students/{diya}", headers=h)
        unknown = await api.put(f"/fees/categories/cousin/students/{diya}", headers=h)
        stranger = await api.put(f"/fees/categories/merit/students/{uuid.uuid4()}", headers=h)
        siblings = await _ok(api, "GET", "/fees/categories?category=sibling", h)
        of_diya = await _ok(api, "GET", f"/fees/categories?student_id={diya}", h)
        removed = await api.delete(f"/fees/categories/sibling/students/{rohan}", headers=h)
        removed_again = await api.delete(f"/fees/categories/sibling/students/{rohan}", headers=h)
        after = await _ok(api, "GET", "/fees/categories?category=sibling", h)
        as_teacher = await api.put(
            f"/fees/categories/merit/students/{rohan}", headers=records.sunita.headers
        )
        audit = await _ok(api, "GET", f"/audit?entity=student&entity_id={rohan}", h)
    assert again.status_code == 204
    assert unknown.status_code == 422 and stranger.status_code == 404
    assert [r["student_name"] for r in siblings["items"]] == ["Diya Singh", "Rohan Singh"]
    assert [r["category"] for r in of_diya["items"]] == ["merit", "sibling"]
    assert removed.status_code == removed_again.status_code == 204
    assert [r["student_name"] for r in after["items"]] == ["Diya Singh"]
    assert as_teacher.status_code == 403
    assert [e["action"] for e in audit["items"]][:2] == ["fees.category.untag", "fees.category.tag"]


async def test_one_late_fee_rule_is_active_at_a_time(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        flat = await _ok(
            api,
            "POST",
            "/fees/late-fee-rules",
            h,
            {"name": "Flat", "kind": "flat", "amount": 10_000, "grace_days": 5},
        )
        per_day = await _ok(
            api,
            "POST",
            "/fees/late-fee-rules",
            h,
            {"name": "Daily", "kind": "per_day", "amount": 1_000, "cap": 20_000},
        )
        after_second = await _ok(api, "GET", "/fees/late-fee-rules", h)
        low_cap = await _error(
            api,
            "POST",
            "/fees/late-fee-rules",
            h,
            {"name": "Bad", "kind": "per_day", "amount": 1_000, "cap": 500},
            422,
        )
        low_cap_update = await _error(
            api, "PATCH", f"/fees/late-fee-rules/{per_day['id']}", h, {"amount": 30_000}, 422
        )
        back = await _ok(api, "PATCH", f"/fees/late-fee-rules/{flat['id']}", h, {"is_active": True})
        uncapped = await _ok(
            api, "PATCH", f"/fees/late-fee-rules/{per_day['id']}", h, {"cap": None}
        )
        after_back = await _ok(api, "GET", "/fees/late-fee-rules", h)
        bad_kind = await _error(
            api,
            "POST",
            "/fees/late-fee-rules",
            h,
            {"name": "x", "kind": "weekly", "amount": 1},
            422,
        )
    assert [(r["name"], r["is_active"]) for r in after_second["items"]] == [
        ("Daily", True),
        ("Flat", False),
    ]
    assert low_cap["code"] == "validation_error" and low_cap_update["code"] == "bad_fee_setup"
    assert back["is_active"] is True and uncapped["cap"] is None
    assert [(r["name"], r["is_active"]) for r in after_back["items"]] == [
        ("Flat", True),
        ("Daily", False),
    ]
    assert bad_kind["code"] == "validation_error"
