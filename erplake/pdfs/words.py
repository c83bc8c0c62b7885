"""Amounts in words, the Indian way: crore, lakh, thousand, hundred.

`amount_in_words(12345678)` → "Rupees One Lakh Twenty-Three Thousand Four Hundred
Fifty-Six and Seventy-Eight Paise Only", as printed on receipts and cheques. Amounts
past 99 crore keep counting crores ("One Lakh Crore" is 10^12 rupees), which is how
such sums are said in India.
"""

from __future__ import annotations

_ONES = (
    "Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen "
    "Fourteen Fifteen Sixteen Seventeen Eighteen Nineteen"
).split()
_TENS = "_ _ Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split()

CRORE = 10_000_000
LAKH = 100_000
THOUSAND = 1_000


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]}-{_ONES[ones]}"


def _below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [f"{_ONES[hundreds]} Hundred"] if hundreds else []
    if rest:
        words.append(_below_hundred(rest))
    return words


def _positive_words(n: int) -> list[str]:
    crores, n = divmod(n, CRORE)
    lakhs, n = divmod(n, LAKH)
    thousands, n = divmod(n, THOUSAND)
    words: list[str] = []
    if crores:
        words += [*_positive_words(crores), "Crore"]
    if lakhs:
        words += [_below_hundred(lakhs), "Lakh"]
    if thousands:
        words += [_below_hundred(thousands), "Thousand"]
    words += _below_thousand(n)
    return words


def number_in_words(n: int) -> str:
    """A whole number in Indian words: 1234567 → "Twelve Lakh Thirty-Four Thousand
    Five Hundred Sixty-Seven"; 0 → "Zero"."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("number_in_words takes an int")
    if n < 0:
        raise ValueError("number_in_words takes a number that is not negative")
    if n == 0:
        return "Zero"
    return " ".join(_positive_words(n))


def amount_in_words(paise: int) -> str:
    """An amount in paise as words for a receipt.

    12345678 → "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and
    Seventy-Eight Paise Only"; 100 → "Rupees One Only"; 50 → "Fifty Paise Only";
    0 → "Rupees Zero Only". Negative amounts raise ValueError: a refund is printed
    as a positive amount with its own title.
    """
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError("amount_in_words takes integer paise")
    if paise < 0:
        raise ValueError("amount_in_words takes an amount that is not negative")
    rupees, rest = divmod(paise, 100)
    paise_words = f"{number_in_words(rest)} {'Paisa' if rest == 1 else 'Paise'}"
    if rupees == 0 and rest:
        return f"{paise_words} Only"
    if rest == 0:
        return f"Rupees {number_in_words(rupees)} Only"
    return f"Rupees {number_in_words(rupees)} and {paise_words} Only"
