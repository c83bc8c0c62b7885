from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from erplake.core.money import MoneyError, format_inr, percent_of, rupees_to_paise
from erplake.core.pagination import PageParams, paginate_rows
from erplake.models.school import School


@pytest.mark.parametrize(
    ("text", "paise"),
    [
        ("1,250.50", 125050),
        ("₹ 1250", 125000),
        ("Rs. 99.9", 9990),
        ("0.01", 1),
        ("12,34,567", 123456700),
    ],
)
def test_rupee_strings_parse_to_exact_paise(text: str, paise: int) -> None:
    assert rupees_to_paise(text) == paise


@pytest.mark.parametrize("text", ["1.234", "abc", "", "1e3", "₹"])
def test_bad_amounts_are_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        rupees_to_paise(text)


def test_floats_and_bools_are_not_money() -> None:
    with pytest.raises(MoneyError):
        rupees_to_paise(True)
    assert rupees_to_paise(Decimal("10.5")) == 1050


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "₹0.00"),
        (123456700, "₹12,34,567.00"),
        (1234567890, "₹1,23,45,678.90"),
        (-5050, "-₹50.50"),
    ],
)
def test_indian_grouping_in_lakh_and_crore(paise: int, text: str) -> None:
    assert format_inr(paise) == text


@given(st.integers(min_value=0, max_value=10**13))
def test_formatting_round_trips_through_parsing(paise: int) -> None:
    assert rupees_to_paise(format_inr(paise)) == paise


def test_percent_in_basis_points_rounds_half_up() -> None:
    assert percent_of(10001, 5000) == 5001  # 50% of ₹100.01
    assert percent_of(12345, 10000) == 12345


async def test_paginate_rows_returns_a_page_and_the_total(resources) -> None:
    async with resources.sessionmaker() as session:
        session.add_all([School(code=f"s{i:02d}", name=f"School {i:02d}") for i in range(7)])
        await session.commit()
        stmt = select(School.code).order_by(School.code)
        rows, total = await paginate_rows(session, stmt, PageParams(limit=3, offset=3))
    assert total == 7
    assert [r[0] for r in rows] == ["s03", "s04", "s05"]


async def test_pagination_limits_are_validated(client_for, make_user) -> None:
    admin = await make_user("admin")
    async with client_for("api") as api:
        too_big = await api.get("/users?limit=1000", headers=admin.headers)
        negative = await api.get("/users?offset=-1", headers=admin.headers)
    assert too_big.status_code == negative.status_code == 422
