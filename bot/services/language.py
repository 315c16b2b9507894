"""Language detection for our two languages: Chinese when the text has enough CJK characters."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str, default: str = "en") -> str:
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0:
        return "en" if _LATIN.search(text) else default
    # Mixed text such as "我的order还没到" is Chinese: a couple of Han characters outweigh words.
    return "zh" if cjk >= latin_words else "en"
