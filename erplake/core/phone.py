"""Indian mobile numbers: parse what people type, store and send E.164.

Guardians write their numbers in every shape (`98765 43210`, `098765 43210`,
`+91 98765 43210`, `0091 98765 43210`); we keep one canonical form, E.164
(`+919876543210`), and convert to Gupshup's digits-only form at the edge.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from erplake.core.errors import Unprocessable

# phonenumbers reports FIXED_LINE_OR_MOBILE where a prefix is shared by both kinds;
# such a number may well be on WhatsApp, so it is not refused.
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Longer than any phone number typed with generous spacing; stops pathological input early.
_MAX_RAW_LENGTH = 40


class InvalidPhone(Unprocessable):
    """The text given is not a mobile number we can message."""

    code = "invalid_phone"


def _not_a_mobile(raw: str, region: str) -> InvalidPhone:
    country = "Indian" if region == "IN" else region
    return InvalidPhone(f"{raw!r} is not a valid {country} mobile number")


def parse_mobile(raw: str, region: str = "IN") -> str:
    """Parse a mobile number typed in any common Indian form and return it as E.164.

    Only numbers of `region` are accepted: WhatsApp codes sent abroad cost more and are
    the classic target of OTP-pumping fraud, and every guardian we serve has an Indian
    number. Landlines are refused because they cannot receive WhatsApp messages.
    """
    text = raw.strip()
    if not text or len(text) > _MAX_RAW_LENGTH:
        raise _not_a_mobile(raw, region)
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise _not_a_mobile(raw, region) from None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != region
    ):
        raise _not_a_mobile(raw, region)
    # is_valid_number alone accepts landlines such as Delhi's 011 numbers.
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone(f"{raw!r} is a landline; landline numbers cannot receive WhatsApp codes")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def to_gupshup(e164: str) -> str:
    """Gupshup wants E.164 without the plus: `+919876543210` → `919876543210`."""
    if not _E164.fullmatch(e164):
        raise InvalidPhone(f"{e164!r} is not an E.164 number")
    return e164[1:]
