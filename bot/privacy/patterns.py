"""Structured identifiers found by regular expressions alone: emails, phone numbers, payment
cards, IBANs and identity numbers. Cheap enough for every log line.

What must survive: Kefu's order numbers (6 digits from 100001), carrier tracking numbers
(two capital letters and ten digits, also typed with a space: "SF 1234567890"), prices,
dates, quantities, SKUs and payment transaction ids. Hence every number needs a shape that
those never have (separators, a "+", a leading 0 or 1[3-9] mobile prefix, 9+ digits), cards
and IBANs must pass their checksums, and digits glued to letters or to longer digit runs are
never a match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bot.privacy import checks
from bot.privacy.spans import Kind, Redaction, apply, resolve

Found = tuple[int, int, Kind]

# Digits may touch Han characters ("电话13812345678") but not Latin letters or other digits.
_L = r"(?<![0-9A-Za-z])"
_R = r"(?![0-9A-Za-z])"
_SEP = r"[ \-.]"

EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
# "jane dot doe at gmail dot com", "li.ming at 163.com": written out to dodge scrapers.
_TLD = r"(?:com|net|org|edu|gov|info|io|co|me|cn|hk|tw|uk|de|fr|jp|kr|sg|au|ca|us|ru|in)"
SPELLED_EMAIL = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?P<local>[a-z0-9][a-z0-9._\-]*(?:\s+dot\s+[a-z0-9_\-]+)*)"
    r"(?:\s+at\s+|\s*[\[(]at[\])]\s*|\s*＠\s*)"
    r"(?P<domain>[a-z0-9\-]+(?:(?:\s+dot\s+|\.)[a-z0-9\-]+)*(?:\s+dot\s+|\.)" + _TLD + r")"
    + _R
)

PHONES: tuple[re.Pattern[str], ...] = (
    # international: +44 (0)20 7946 0018, +8613700001234, 0086 139 0000 5555
    re.compile(_L + r"(?:\+|00)[1-9]\d{0,2}(?:[ \-.]?\(?\d{1,4}\)?){2,6}" + _R),
    # North America: (415) 555-0134, 415.555.0134, 1-800-555-0199, 4155550134
    re.compile(_L + r"(?:1[ \-.])?(?:\(\d{3}\)|[2-9]\d{2})" + _SEP + r"?\d{3}"
               + _SEP + r"?\d{4}" + _R),
    # mainland mobile: 13812345678, 138 0013 8000, 138-0013-8000
    re.compile(_L + r"1[3-9]\d(?:[ \-]?\d{4}){2}" + _R),
    # trunk-prefixed landlines: 010-62345678, (021)6234-5678, 020 7946 0958, 07700 900123
    re.compile(_L + r"(?:\(0\d{1,4}\)|0\d{1,4})[ \-]?\d{3,4}[ \-]?\d{3,4}" + _R),
)

CARD = re.compile(
    _L + r"(?:\d{4}([ \-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"  # 4-4-4-4(-3), 4-4-4-1
    r"|\d{4}([ \-])\d{6}\2\d{4,5}"  # Amex / Diners 4-6-5
    r"|\d{13,19})" + _R
)
IBAN = re.compile(_L + r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?" + _R)
CN_RESIDENT_ID = re.compile(_L + r"[1-9]\d{16}[\dXx]" + _R)
US_SSN = re.compile(_L + r"\d{3}([ \-])\d{2}\1\d{4}" + _R)
# Chinese passports: E + 8 digits, or E + letter + 7 digits.
CN_PASSPORT = re.compile(_L + r"E(?:\d{8}|[A-Z]\d{7})" + _R)
# After a cue word, any number-bearing token is an identity document number.
CUED_ID = re.compile(
    r"(?i:passport|ssn|social security|id card|id number|id no|身份证|护照|证件|社保)"
    r"(?:[\s:：#.]|number|num|no|is|号码|号|是|为){0,8}"
    r"(?P<value>(?=[A-Za-z\-]*\d(?:[A-Za-z\-]*\d){4})[A-Za-z0-9][A-Za-z0-9\-]{4,19})" + _R
)
# What a tracking number looks like when typed apart: "ZT 3849201746", "tracking: ..."
_TRACKING_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])[A-Z]{2}\s?|(?i:tracking|waybill)[\w\s.#:：]{0,12}|(?:运|快递|物流)?单号[\s:：]*)$"
)


def _tracking_context(text: str, start: int) -> bool:
    return bool(_TRACKING_BEFORE.search(text, max(0, start - 24), start))


def emails(text: str) -> Iterator[Found]:
    for m in EMAIL.finditer(text):
        yield m.start(), m.end(), "EMAIL"
    for m in SPELLED_EMAIL.finditer(text):
        local, domain = m.group("local"), m.group("domain")
        # "look at gmail.com" is not an address: ask for an obfuscation-shaped local part
        if re.search(r"[._\d]|\sdot\s", local) or re.search(r"(?i)\sdot\s", domain):
            yield m.start(), m.end(), "EMAIL"


def phones(text: str) -> Iterator[Found]:
    for pattern in PHONES:
        for m in pattern.finditer(text):
            start, number = m.start(), m.group()
            # a greedy international match may run into the next number: drop trailing groups
            while len(checks.digits(number)) > 15 and re.search(r"[ \-.]", number):
                number = re.split(r"[ \-.](?=[^ \-.]*$)", number)[0]
            if 8 <= len(checks.digits(number)) <= 15 and not _tracking_context(text, start):
                yield start, start + len(number), "PHONE"


def cards(text: str) -> Iterator[Found]:
    for m in CARD.finditer(text):
        if checks.card_number(m.group()) and not _tracking_context(text, m.start()):
            yield m.start(), m.end(), "CARD"


def ibans(text: str) -> Iterator[Found]:
    for m in IBAN.finditer(text):
        if checks.iban(m.group()):
            yield m.start(), m.end(), "IBAN"


def identity_numbers(text: str) -> Iterator[Found]:
    for m in CN_RESIDENT_ID.finditer(text):
        if checks.cn_resident_id(m.group()):
            yield m.start(), m.end(), "ID"
    for m in US_SSN.finditer(text):
        if checks.us_ssn(m.group()):
            yield m.start(), m.end(), "ID"
    for m in CN_PASSPORT.finditer(text):
        yield m.start(), m.end(), "ID"
    for m in CUED_ID.finditer(text):
        yield m.start("value"), m.end("value"), "ID"


DETECTORS: tuple[Callable[[str], Iterator[Found]], ...] = (
    emails, phones, cards, ibans, identity_numbers,
)


def find(text: str) -> list[Found]:
    return [hit for detect in DETECTORS for hit in detect(text)]


class PatternRedactor:
    """Regex-only redactor for EMAIL, PHONE, CARD, IBAN and ID; no model, no warm-up."""

    def warm_up(self) -> None:
        return None

    def redact(self, text: str, language: str | None = None) -> Redaction:
        return apply(text, resolve(text, find(text)))
