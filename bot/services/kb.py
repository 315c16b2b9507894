"""Knowledge-base articles in the database, with every change kept as a revision.

Editing adds a revision (a draft until published); publishing points ``published_revision`` at
the latest one; rolling back adds a new revision equal to an old one and publishes it;
deleting is soft (kept for the audit trail, gone from the index)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import KbArticle, KbGap, KbRevision, utcnow
from knowledge.articles import Article


class KbNotFound(LookupError):
    pass


class KbConflict(ValueError):
    pass


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    tags: list[str]
    categories: list[str]


def _get(s: Session, slug: str, language: str, include_deleted: bool = False) -> KbArticle:
    art = s.scalar(select(KbArticle).where(KbArticle.slug == slug, KbArticle.language == language)
                   .options(selectinload(KbArticle.revisions)))
    if art is None or (art.deleted and not include_deleted):
        raise KbNotFound(f"no article {slug}/{language}")
    return art


def _revision(art: KbArticle, number: int | None) -> KbRevision | None:
    for r in art.revisions:
        if r.revision == number:
            return r
    return None


def _add_revision(s: Session, art: KbArticle, d: Draft, author: str, action: str) -> KbRevision:
    Article(art.slug, art.language, d.title, d.body, d.tags, d.categories).validate()
    art.latest_revision += 1
    rev = KbRevision(article_id=art.id, revision=art.latest_revision, title=d.title.strip(),
                     body=d.body.strip(), tags=list(d.tags), categories=list(d.categories),
                     author=author, action=action)
    art.revisions.append(rev)
    art.updated_at, art.updated_by = utcnow(), author
    return rev


def status(art: KbArticle) -> str:
    if art.deleted:
        return "deleted"
    if art.published_revision is None:
        return "draft"
    if art.published_revision != art.latest_revision:
        return "unpublished_changes"
    return "published"


def create(s: Session, slug: str, language: str, d: Draft, author: str,
           publish: bool) -> KbArticle:
    Article(slug, language, d.title, d.body, d.tags, d.categories).validate()
    existing = s.scalar(select(KbArticle).where(KbArticle.slug == slug,
                                                KbArticle.language == language))
    if existing is not None and not existing.deleted:
        raise KbConflict(f"article {slug}/{language} already exists")
    art = existing or KbArticle(slug=slug, language=language, latest_revision=0)
    if existing is None:
        s.add(art)
        s.flush()
    art.deleted = False
    _add_revision(s, art, d, author, "create")
    if publish:
        art.published_revision = art.latest_revision
    s.flush()
    return art


def update(s: Session, slug: str, language: str, d: Draft, author: str,
           publish: bool) -> KbArticle:
    art = _get(s, slug, language)
    _add_revision(s, art, d, author, "publish" if publish else "edit")
    if publish:
        art.published_revision = art.latest_revision
    return art


def publish(s: Session, slug: str, language: str, author: str) -> KbArticle:
    art = _get(s, slug, language)
    art.published_revision = art.latest_revision
    art.updated_at, art.updated_by = utcnow(), author
    return art


def rollback(s: Session, slug: str, language: str, revision: int, author: str) -> KbArticle:
    art = _get(s, slug, language)
    old = _revision(art, revision)
    if old is None:
        raise KbNotFound(f"article {slug}/{language} has no revision {revision}")
    _add_revision(s, art, Draft(old.title, old.body, list(old.tags), list(old.categories)),
                  author, "rollback")
    art.published_revision = art.latest_revision
    return art


def delete(s: Session, slug: str, language: str, author: str) -> None:
    art = _get(s, slug, language)
    art.deleted = True
    art.updated_at, art.updated_by = utcnow(), author


def get_revision(s: Session, slug: str, language: str, revision: int) -> dict[str, Any]:
    art = _get(s, slug, language, include_deleted=True)
    rev = _revision(art, revision)
    if rev is None:
        raise KbNotFound(f"article {slug}/{language} has no revision {revision}")
    return _revision_dict(rev)


def _revision_dict(r: KbRevision) -> dict[str, Any]:
    return {"revision": r.revision, "title": r.title, "body": r.body, "tags": r.tags,
            "categories": r.categories, "author": r.author, "action": r.action,
            "created_at": r.created_at.isoformat()}


def detail(s: Session, slug: str, language: str) -> dict[str, Any]:
    art = _get(s, slug, language)
    latest = _revision(art, art.latest_revision)
    assert latest is not None
    return {
        "slug": art.slug, "language": art.language, "title": latest.title, "body": latest.body,
        "tags": latest.tags, "categories": latest.categories, "status": status(art),
        "revision": art.latest_revision, "published_revision": art.published_revision,
        "updated_at": art.updated_at.isoformat(), "updated_by": art.updated_by,
        "revisions": [{"revision": r.revision, "author": r.author, "action": r.action,
                       "created_at": r.created_at.isoformat(), "title": r.title}
                      for r in reversed(art.revisions)],
    }


def listing(s: Session, q: str | None = None, language: str | None = None) -> list[dict]:
    query = select(KbArticle).where(KbArticle.deleted.is_(False)).options(
        selectinload(KbArticle.revisions)).order_by(KbArticle.slug, KbArticle.language)
    if language:
        query = query.where(KbArticle.language == language)
    out = []
    needle = (q or "").strip().lower()
    for art in s.scalars(query).all():
        latest = _revision(art, art.latest_revision)
        if latest is None:
            continue
        if needle and needle not in (f"{art.slug} {latest.title} {' '.join(latest.tags)} "
                                     f"{latest.body}").lower():
            continue
        out.append({"slug": art.slug, "language": art.language, "title": latest.title,
                    "tags": latest.tags, "categories": latest.categories,
                    "status": status(art), "revision": art.latest_revision,
                    "updated_at": art.updated_at.isoformat(), "updated_by": art.updated_by})
    return out


def published_articles(s: Session, slug: str | None = None,
                       language: str | None = None) -> list[Article]:
    """What the bot answers from: the published revision of every live article."""
    query = select(KbArticle).where(KbArticle.deleted.is_(False),
                                    KbArticle.published_revision.is_not(None)).options(
        selectinload(KbArticle.revisions))
    if slug:
        query = query.where(KbArticle.slug == slug)
    if language:
        query = query.where(KbArticle.language == language)
    out = []
    for art in s.scalars(query).all():
        rev = _revision(art, art.published_revision)
        if rev is not None:
            out.append(Article(art.slug, art.language, rev.title, rev.body, list(rev.tags),
                               list(rev.categories)))
    return out


def import_articles(s: Session, articles: list[Article], author: str) -> dict[str, int]:
    """Create or update (and publish) articles; unchanged ones are left alone."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for a in articles:
        d = Draft(a.title, a.body, a.tags, a.categories)
        try:
            art = _get(s, a.slug, a.language)
        except KbNotFound:
            create(s, a.slug, a.language, d, author, publish=True)
            counts["created"] += 1
            continue
        current = _revision(art, art.published_revision)
        if current is not None and (current.title, current.body, current.tags,
                                    current.categories) == (a.title, a.body, a.tags,
                                                            a.categories):
            counts["unchanged"] += 1
            continue
        update(s, a.slug, a.language, d, author, publish=True)
        counts["updated"] += 1
    return counts


def record_gap(s: Session, question: str, language: str, best_score: float,
               conversation_id: str | None) -> None:
    s.add(KbGap(question=question[:2000], language=language, best_score=best_score,
                conversation_id=conversation_id))


def gaps(s: Session, limit: int = 50) -> list[dict[str, Any]]:
    rows = s.scalars(select(KbGap).order_by(KbGap.id.desc()).limit(limit)).all()
    return [{"question": g.question, "language": g.language, "best_score": g.best_score,
             "conversation_id": g.conversation_id, "created_at": g.created_at.isoformat()}
            for g in rows]


def has_articles(s: Session) -> bool:
    return s.scalar(select(KbArticle.id).limit(1)) is not None



