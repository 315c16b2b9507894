"""Personal-data redaction (EN + ZH): see ``bot.privacy.redaction``."""

from bot.privacy.redaction import (
    KINDS,
    Kind,
    NerRedactor,
    NullRedactor,
    PatternRedactor,
    RedactingFilter,
    Redaction,
    Redactor,
    Span,
    make_redactor,
)

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
