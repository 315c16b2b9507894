import pytest

from bot.services.language import detect_language


@pytest.mark.parametrize(("text", "lang"), [
    ("where is my package", "en"),
    ("我的快递到哪了", "zh"),
    ("我的order还没到", "zh"),
    ("订单104233", "zh"),
    ("My order 104233 from 京东 is late", "en"),
    ("104233", "en"),
])
def test_detects_our_two_languages(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_text_without_letters_falls_back_to_the_default() -> None:
    assert detect_language("👍 ?!", default="zh") == "zh"
