"""Money is integer paise. Never a float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import Field

Paise = Annotated[int, Field(ge=0, description="Amount in paise (1 rupee = 100 paise)")]

_RUPEES = re.compile(r"^\s*(?:₹|Rs\.?|INR)?\s*(-?[0-9][0-9,]*(?:\.[0-9]{1,2})?)\s*$", re.I)


class MoneyError(ValueError):
    pass


def rupees_to_paise(value: str | int | Decimal) -> int:
    """Parse '1,250.50', '₹ 1250', 1250 or Decimal('1250.5') into paise exactly."""
    if isinstance(value, bool):
        raise MoneyError("amount must be a number")
    if isinstance(value, int):
        return value * 100
    if isinstance(value, Decimal):
        amount = value
    else:
        match = _RUPEES.match(value)
        if not match:
            raise MoneyError(f"{value!r} is not an amount in rupees")
        try:
            amount = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation as exc:
            raise MoneyError(f"{value!r} is not an amount in rupees") from exc
    paise = (amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if paise != amount * 100:
        raise MoneyError(f"{value!r} has more than two decimal places")
    return int(paise)


def format_inr(paise: int) -> str:
    """Indian grouping: 12,34,567.50 (lakh and crore), with the rupee sign."""
    sign = "-" if paise < 0 else ""
    rupees, rem = divmod(abs(paise), 100)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join([*groups, tail])
    return f"{sign}₹{digits}.{rem:02d}"


def percent_of(paise: int, basis_points: int) -> int:
    """A percentage (in basis points, 10000 = 100%) of an amount, rounded half up."""
    return int((Decimal(paise) * basis_points / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
