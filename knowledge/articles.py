"""Help articles as Markdown files with YAML front matter (see ``articles/README.md``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGES = ("en", "zh")
_FRONT = re.compile(r"^---\s*\n(.*?)\n---\s*\n?(.*)$", re.S)


class ArticleError(ValueError):
    pass


@dataclass(frozen=True)
class Article:
    slug: str
    language: str
    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def validate(self) -> Article:
        if not SLUG.match(self.slug):
            raise ArticleError(f"slug {self.slug!r} must be kebab-case (a-z, 0-9, -)")
        if self.language not in LANGUAGES:
            raise ArticleError(f"language must be one of {LANGUAGES}")
        if not self.title.strip():
            raise ArticleError("title is required")
        if not self.body.strip():
            raise ArticleError("body is required")
        return self


def parse(text: str, source: str = "<text>") -> Article:
    m = _FRONT.match(text)
    if m is None:
        raise ArticleError(f"{source}: missing YAML front matter")
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as e:
        raise ArticleError(f"{source}: bad front matter: {e}") from e
    if not isinstance(meta, dict):
        raise ArticleError(f"{source}: front matter must be a mapping")
    return Article(
        slug=str(meta.get("id", "")), language=str(meta.get("language", "")),
        title=str(meta.get("title", "")), body=m.group(2).strip(),
        tags=[str(t) for t in meta.get("tags") or []],
        categories=[str(c) for c in meta.get("categories") or []],
    ).validate()


def dump(a: Article) -> str:
    meta = {"id": a.slug, "language": a.language, "title": a.title, "tags": a.tags,
            "categories": a.categories}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None)
    return f"---\n{front}---\n{a.body.strip()}\n"


def load_folder(folder: Path) -> list[Article]:
    """Every ``*.md`` under ``folder`` (any depth) except READMEs."""
    out = []
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        out.append(parse(path.read_text(encoding="utf-8"), str(path)))
    return out
