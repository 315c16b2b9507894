"""Checksums that separate real identifiers from numbers that merely look like them."""

from __future__ import annotations

from datetime import date

_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_number(text: str) -> bool:
    """13–19 digits, an issuer prefix that exists (2–6), and a valid Luhn check digit."""
    d = digits(text)
    return 13 <= len(d) <= 19 and d[0] in "23456" and luhn(d)


def cn_resident_id(text: str) -> bool:
    """GB 11643: 6-digit area, birth date, 3-digit sequence, ISO 7064 MOD 11-2 check."""
    if len(text) != 18 or not text[:17].isdigit():
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    check = _CN_CHECK[sum(int(c) * w for c, w in zip(text, _CN_WEIGHTS, strict=False)) % 11]
    return text[17].upper() == check


def iban(text: str) -> bool:
    """ISO 13616: country, two check digits, then up to 30 letters/digits; mod 97 == 1."""
    code = text.replace(" ", "").upper()
    if not 15 <= len(code) <= 34 or not code.isalnum():
        return False
    moved = code[4:] + code[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def us_ssn(text: str) -> bool:
    """Area 000, 666 and 900–999, group 00 and serial 0000 are never issued."""
    d = digits(text)
    return (len(d) == 9 and d[:3] not in {"000", "666"} and d[0] != "9"
            and d[3:5] != "00" and d[5:] != "0000")
