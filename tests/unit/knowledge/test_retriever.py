"""Retrieval with the multilingual USE embedder over a few real articles."""

import threading

import pytest

from knowledge.articles import Article
from knowledge.retriever import IndexStore, Retriever


@pytest.fixture
def retriever(small_store: IndexStore, use) -> Retriever:
    return Retriever(small_store, use, threshold=0.3)


@pytest.mark.parametrize(("question", "slug"), [
    ("can I pay with alipay?", "payment-methods"),
    ("我忘记密码了怎么办", "password-reset"),
    ("how many days until my parcel arrives", "shipping-times"),
    ("公司发票怎么开", "invoices"),
])
def test_finds_the_right_article(retriever: Retriever, question: str, slug: str) -> None:
    assert retriever.ranked_articles(question)[0][0] == slug


def test_answers_in_the_customers_language_across_languages(retriever: Retriever) -> None:
    answer, _ = retriever.answer("what payment methods do you take", "zh")
    assert answer is not None and answer.slug == "payment-methods" and answer.language == "zh"


def test_refuses_below_the_threshold(retriever: Retriever) -> None:
    retriever.threshold = 0.99
    answer, score = retriever.answer("how tall is the eiffel tower", "en")
    assert answer is None and 0 < score < 0.99


def test_incremental_update_is_hot_swapped(retriever: Retriever, use) -> None:
    assert retriever.ranked_articles("do you deliver by drone")[0][0] != "drone-delivery"
    current = retriever.store.load_current()
    current.upsert(Article("drone-delivery", "en", "Drone delivery",
                           "We deliver small parcels by drone in Shenzhen within one hour.",
                           ["drone"], ["all"]), use)
    old_version = retriever.version
    retriever.store.publish(current)
    assert retriever.ranked_articles("do you deliver by drone")[0][0] == "drone-delivery"
    assert retriever.version != old_version
    current.remove("drone-delivery", "en")
    retriever.store.publish(current)
    assert "drone-delivery" not in dict(retriever.ranked_articles("do you deliver by drone"))


def test_readers_never_see_a_half_written_version(retriever: Retriever, use) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                assert retriever.ranked_articles("refund")
            except BaseException as e:
                errors.append(e)
                return

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(5):
        retriever.store.publish(retriever.store.load_current())
    stop.set()
    reader.join()
    assert not errors
