"""Redaction of personal data in customer text, for storage at rest and for logs.

    redactor = make_redactor("ner")      # or "patterns" (regex only) or "off"
    redactor.warm_up()                    # at start-up: loads spaCy and jieba once
    result = redactor.redact("call me on 138 0013 8000", language="zh")
    result.text   # "call me on [PHONE]"
    result.spans  # (Span(start=11, end=24, kind="PHONE", original="138 0013 8000"),)

Storing a turn: keep ``result.text`` in ``turns.text`` and the original in ``turns.raw_text``
only while the conversation is active. ``redact`` is CPU work (~1 ms patterns, a few ms with
NER): call it through an executor from a coroutine. Redacting redacted text changes nothing.

Logs: add ``RedactingFilter()`` to the handlers (a filter on a logger does not see records
that propagate from its children). It uses the patterns only, so it stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.privacy.ner import NerRedactor
from bot.privacy.patterns import PatternRedactor
from bot.privacy.spans import KINDS, Kind, Redaction, Redactor, Span

__all__ = [
    "KINDS",
    "Kind",
    "NerRedactor",
    "NullRedactor",
    "PatternRedactor",
    "RedactingFilter",
    "Redaction",
    "Redactor",
    "Span",
    "make_redactor",
]

MODES = ("ner", "patterns", "off")


class NullRedactor:
    """Redaction switched off: the text comes back as it was."""

    def warm_up(self) -> None:
        return None

    def redact(self, text: str, language: str | None = None) -> Redaction:
        return Redaction(text, ())


def make_redactor(mode: str = "ner", keep: Iterable[str] = ()) -> Redactor:
    """``keep``: words the NER must not call a person (brand and product names)."""
    if mode == "ner":
        return NerRedactor(keep)
    if mode == "patterns":
        return PatternRedactor()
    if mode == "off":
        return NullRedactor()
    raise ValueError(f"unknown redaction mode {mode!r}; expected one of {', '.join(MODES)}")


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and its traceback text) with PII replaced, so that no
    handler it is attached to writes emails, phone numbers, cards or identity numbers."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor or PatternRedactor()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redactor.redact(message).text
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text).text
        return True
