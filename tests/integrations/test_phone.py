from __future__ import annotations

import pytest

from erplake.core.errors import Unprocessable
from erplake.core.phone import InvalidPhone, parse_mobile, to_gupshup


@pytest.mark.parametrize(
    "typed",
    [
        "98765 43210",
        "9876543210",
        "098765 43210",
        "+91 98765 43210",
        "+91-98765-43210",
        "0091 98765 43210",
        "  98765 43210  ",
    ],
)
def test_every_common_way_of_writing_a_mobile_gives_the_same_e164(typed: str) -> None:
    assert parse_mobile(typed) == "+919876543210"


def test_delhi_landline_is_refused_because_it_cannot_receive_whatsapp() -> None:
    with pytest.raises(InvalidPhone, match="landline numbers cannot receive WhatsApp codes"):
        parse_mobile("011 2345 6789")


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "hello", "12345", "98765", "98765 43210 98765 43210", "55555 55555"],
)
def test_text_that_is_not_a_number_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidPhone, match="is not a valid Indian mobile number"):
        parse_mobile(garbage)


def test_a_foreign_mobile_is_refused_for_an_indian_school() -> None:
    with pytest.raises(InvalidPhone, match="is not a valid Indian mobile number"):
        parse_mobile("+44 7911 123456")


def test_invalid_phone_is_a_422_validation_error() -> None:
    with pytest.raises(Unprocessable) as caught:
        parse_mobile("hello")
    assert caught.value.status_code == 422
    assert caught.value.code == "invalid_phone"


def test_gupshup_form_is_e164_without_the_plus() -> None:
    assert to_gupshup("+919876543210") == "919876543210"


@pytest.mark.parametrize("not_e164", ["919876543210", "+91 98765 43210", "+", ""])
def test_gupshup_form_refuses_anything_but_e164(not_e164: str) -> None:
    with pytest.raises(InvalidPhone):
        to_gupshup(not_e164)
