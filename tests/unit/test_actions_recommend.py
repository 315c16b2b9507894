import pytest

from actions.recommend import chosen_index, max_price_cents


@pytest.mark.parametrize(("text", "index"), [
    ("the first one", 0), ("I'll take the second one", 1), ("tell me about the 3rd", 2),
    ("第一个", 0), ("我要第二个", 1), ("看看第三款", 2), ("number 2 please", 1),
    ("option three", 2), ("that one", None)])
def test_which_recommended_product_was_chosen(text: str, index: int | None) -> None:
    assert chosen_index(text) == index


@pytest.mark.parametrize(("text", "cents"), [
    ("headphones under 500", 50000), ("something below ¥300", 30000), ("300元以内的耳机", 30000),
    ("推荐个200块以下的", 20000), ("what would you recommend", None)])
def test_price_limit_in_the_request(text: str, cents: int | None) -> None:
    assert max_price_cents(text) == cents
