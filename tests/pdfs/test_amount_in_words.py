"""Amounts in words in the Indian system, as printed on receipts and invoices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erplake.pdfs.words import amount_in_words, number_in_words

_SMALL = {
    word: value
    for value, word in enumerate(
        "Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen "
        "Fourteen Fifteen Sixteen Seventeen Eighteen Nineteen".split()
    )
} | {
    word: 10 * tens
    for tens, word in enumerate(
        "Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split(), start=2
    )
}


def words_to_number(words: str) -> int:
    """The inverse of `number_in_words`, written independently of it: crore applies to
    everything said before it, so "One Lakh Crore" is 10^12."""
    total = section = current = 0
    for token in words.split():
        if token == "Hundred":
            current *= 100
        elif token == "Thousand":
            section, current = section + current * 1_000, 0
        elif token == "Lakh":
            section, current = section + current * 100_000, 0
        elif token == "Crore":
            total, section, current = (total + section + current) * 10_000_000, 0, 0
        else:
            current += sum(_SMALL[part] for part in token.split("-"))
    return total + section + current


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (
            12345678,
            "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six "
            "and Seventy-Eight Paise Only",
        ),
        (0, "Rupees Zero Only"),
        (100, "Rupees One Only"),
        (1, "One Paisa Only"),
        (50, "Fifty Paise Only"),
        (99, "Ninety-Nine Paise Only"),
        (101, "Rupees One and One Paisa Only"),
        (1000, "Rupees Ten Only"),
        (1100, "Rupees Eleven Only"),
        (2000, "Rupees Twenty Only"),
        (2100, "Rupees Twenty-One Only"),
        (10000, "Rupees One Hundred Only"),
        (10100, "Rupees One Hundred One Only"),
        (11500, "Rupees One Hundred Fifteen Only"),
        (100000, "Rupees One Thousand Only"),
        (1000000, "Rupees Ten Thousand Only"),
        (2240000, "Rupees Twenty-Two Thousand Four Hundred Only"),
        (10000000, "Rupees One Lakh Only"),
        (10000100, "Rupees One Lakh One Only"),
        (150000000, "Rupees Fifteen Lakh Only"),
        (
            999999999,
            "Rupees Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred Ninety-Nine "
            "and Ninety-Nine Paise Only",
        ),
        (1000000000, "Rupees One Crore Only"),
        (1000000050, "Rupees One Crore and Fifty Paise Only"),
        (
            1234567890,
            "Rupees One Crore Twenty-Three Lakh Forty-Five Thousand Six Hundred "
            "Seventy-Eight and Ninety Paise Only",
        ),
        (50000000000, "Rupees Fifty Crore Only"),
        (
            999999999999,
            "Rupees Nine Hundred Ninety-Nine Crore Ninety-Nine Lakh Ninety-Nine Thousand "
            "Nine Hundred Ninety-Nine and Ninety-Nine Paise Only",
        ),
        (100000000000, "Rupees One Hundred Crore Only"),
        (10**12, "Rupees One Thousand Crore Only"),
        (100000000000000, "Rupees One Lakh Crore Only"),
        (
            99999999999 * 10_000_000 * 100,
            # 99,99,99,99,999 crore rupees
            "Rupees Nine Thousand Nine Hundred Ninety-Nine Crore Ninety-Nine Lakh "
            "Ninety-Nine Thousand Nine Hundred Ninety-Nine Crore Only",
        ),
        (10**7 * 10**7 * 100, "Rupees One Crore Crore Only"),
    ],
)
def test_amount_in_words(paise: int, words: str) -> None:
    assert amount_in_words(paise) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "Zero"),
        (7, "Seven"),
        (19, "Nineteen"),
        (40, "Forty"),
        (90, "Ninety"),
        (305, "Three Hundred Five"),
        (1010, "One Thousand Ten"),
        (20_00_000, "Twenty Lakh"),
        (1_00_01_000, "One Crore One Thousand"),
    ],
)
def test_number_in_words(number: int, words: str) -> None:
    assert number_in_words(number) == words


@given(st.integers(min_value=0, max_value=10**22))
def test_words_say_exactly_the_amount(paise: int) -> None:
    words = amount_in_words(paise)

    assert words.endswith(" Only")
    body = words.removesuffix(" Only")
    rupee_words, _, paise_words = body.partition(" and ")
    if rupee_words.startswith("Rupees "):
        rupees = words_to_number(rupee_words.removeprefix("Rupees "))
        rest = words_to_number(paise_words.rsplit(" ", 1)[0]) if paise_words else 0
    else:  # paise only
        rupees, rest = 0, words_to_number(rupee_words.rsplit(" ", 1)[0])
    assert rupees * 100 + rest == paise
    assert "  " not in words
    assert "Zero" not in words or paise == 0


@given(st.integers(min_value=1, max_value=10**18))
def test_no_group_word_is_said_twice_below_a_crore(number: int) -> None:
    below_crore = number_in_words(number % 10_000_000) if number % 10_000_000 else ""

    for group in ("Lakh", "Thousand", "Hundred"):
        assert below_crore.split().count(group) <= 1


@pytest.mark.parametrize("bad", [-1, -100])
def test_negative_amounts_are_refused(bad: int) -> None:
    with pytest.raises(ValueError):
        amount_in_words(bad)


@pytest.mark.parametrize("bad", [1.5, "100", True, None])
def test_amounts_that_are_not_integer_paise_are_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        amount_in_words(bad)  # type: ignore[arg-type]
