import pytest

from bot.settings import REPO_ROOT
from knowledge.articles import Article, ArticleError, dump, load_folder, parse
from knowledge.chunking import TITLE_POSITION, chunk

TEXT = """---
id: returns-policy
language: en
title: Returns policy
tags: [returns]
categories: [all]
---
## Time limit

You can return items within 7 days.

## Condition

Unused, in the original box. See [how to return](/help/how-to-return).
"""


def test_parse_and_dump_round_trip() -> None:
    a = parse(TEXT)
    assert (a.slug, a.language, a.title, a.tags) == ("returns-policy", "en", "Returns policy",
                                                     ["returns"])
    assert parse(dump(a)) == a


@pytest.mark.parametrize("bad", [
    "no front matter",
    "---\nid: Bad Slug\nlanguage: en\ntitle: x\n---\nbody",
    "---\nid: x\nlanguage: fr\ntitle: x\n---\nb",
])
def test_invalid_articles_are_refused(bad: str) -> None:
    with pytest.raises(ArticleError):
        parse(bad)


def test_chunks_keep_headings_with_their_paragraph_and_carry_the_title() -> None:
    chunks = chunk(parse(TEXT), max_chars=60)
    body, title = chunks[:-1], chunks[-1]
    assert len(body) == 2 and [c.position for c in chunks] == [0, 1, TITLE_POSITION]
    assert body[0].text.startswith("## Time limit\nYou can return")
    assert all(c.embed_text.startswith("Returns policy\n") for c in chunks)
    assert "[" not in body[1].embed_text  # markdown links reduced to their text
    # the title vector shows the first passage
    assert title.embed_text == "Returns policy\nreturns" and title.text == body[0].text


def test_bundled_help_centre_is_bilingual() -> None:
    articles = load_folder(REPO_ROOT / "knowledge" / "articles")
    by_lang: dict[str, set[str]] = {"en": set(), "zh": set()}
    for a in articles:
        by_lang[a.language].add(a.slug)
    assert len(by_lang["en"]) >= 40 and by_lang["en"] == by_lang["zh"]
    assert all(isinstance(a, Article) and a.body for a in articles)


def test_see_also_sections_are_not_indexed() -> None:
    text = TEXT + "\n## Related\n- Payment failed? See the card article.\n"
    chunks = chunk(parse(text))
    assert all("Payment failed" not in c.text for c in chunks)
    zh_text = TEXT.replace("language: en", "language: zh")
    zh_text += "\n## 相关问题\n- 支付失败：见《银行卡》\n"
    zh = parse(zh_text)
    assert all("支付失败" not in c.text for c in chunk(zh))
