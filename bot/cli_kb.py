"""``python -m bot.cli kb ...``: import / export articles, rebuild and query the index, and build
or evaluate an index for any folder of articles (a separate database and index path)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.services import kb
from bot.services.kb_index import KbIndexer
from bot.settings import Settings
from knowledge.articles import dump, load_folder
from knowledge.embedders import make_embedder
from knowledge.retriever import IndexStore, Retriever


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("kb", help="knowledge base")
    kbsub = p.add_subparsers(dest="kb_cmd", required=True)
    imp = kbsub.add_parser("import", help="import (and publish) a folder of Markdown articles")
    imp.add_argument("folder", type=Path)
    exp = kbsub.add_parser("export", help="write the published articles as Markdown")
    exp.add_argument("folder", type=Path)
    kbsub.add_parser("rebuild", help="rebuild the FAISS index from the published articles")
    q = kbsub.add_parser("query", help="ask the knowledge base a question")
    q.add_argument("question")
    q.add_argument("--lang", default=None)
    b = kbsub.add_parser("build", help="build an index for any folder of articles, apart "
                                       "from the live one")
    b.add_argument("--articles", type=Path, required=True)
    b.add_argument("--index-dir", type=Path, required=True)
    b.add_argument("--db", default=None, help="database URL (default: <index-dir>/kb.db)")
    b.add_argument("--embedder", default=None)
    e = kbsub.add_parser("eval", help="hit@1 / hit@5 / MRR and refusals on a question set")
    e.add_argument("--questions", type=Path, default=None)
    e.add_argument("--index-dir", type=Path, default=None)
    e.add_argument("--embedder", default=None)
    e.add_argument("--threshold", type=float, default=None)
    e.add_argument("--out", type=Path, default=None)


def _indexer(settings: Settings, db: Database, index_dir: Path | None = None,
             embedder: str | None = None) -> KbIndexer:
    return KbIndexer(db, IndexStore(index_dir or settings.kb_index_path()),
                     make_embedder(embedder or settings.kb_embedder),
                     settings.kb_approx_threshold)


def ensure_kb(settings: Settings, db: Database) -> None:
    """First start: import the bundled articles and build the index."""
    with db.session() as s:
        empty = not kb.has_articles(s)
        if empty:
            counts = kb.import_articles(s, load_folder(settings.kb_articles_dir), "import")
            print(f"Imported the help centre: {counts['created']} articles", flush=True)
    indexer = _indexer(settings, db)
    if empty or indexer.store.current() is None:
        print("Building the knowledge index...", flush=True)
        indexer.rebuild()


def run(settings: Settings, args: argparse.Namespace) -> None:
    if args.kb_cmd == "build":
        index_dir: Path = args.index_dir
        url = args.db or f"sqlite:///{index_dir / 'kb.db'}"
        upgrade(url)
        db = Database(url)
        with db.session() as s:
            print(kb.import_articles(s, load_folder(args.articles), "cli"))
        version = _indexer(settings, db, index_dir, args.embedder).rebuild()
        print(f"index {version} written to {index_dir}")
        return
    if args.kb_cmd == "eval":
        from knowledge.evaluate import evaluate_cli

        evaluate_cli(settings, args)
        return
    upgrade(settings.db_url())
    db = Database(settings.db_url())
    if args.kb_cmd == "import":
        with db.session() as s:
            print(kb.import_articles(s, load_folder(args.folder), "cli"))
        print("index", _indexer(settings, db).rebuild())
    elif args.kb_cmd == "export":
        args.folder.mkdir(parents=True, exist_ok=True)
        with db.session() as s:
            articles = kb.published_articles(s)
        for a in articles:
            path = args.folder / a.language / f"{a.slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(dump(a), encoding="utf-8")
        print(f"exported {len(articles)} articles to {args.folder}")
    elif args.kb_cmd == "rebuild":
        print("index", _indexer(settings, db).rebuild())
    elif args.kb_cmd == "query":
        from bot.services.language import detect_language
        from knowledge.refusal import make_rule

        embedder = make_embedder(settings.kb_embedder)
        retriever = Retriever(IndexStore(settings.kb_index_path()), embedder,
                              settings.kb_threshold, make_rule(settings.kb_refusal, embedder.name))
        lang = args.lang or detect_language(args.question)
        answer, score = retriever.answer(args.question, lang)
        print(json.dumps({"score": round(score, 4), "answer": answer.__dict__ if answer else None,
                          "ranked": retriever.ranked_articles(args.question)[:5]},
                         ensure_ascii=False, indent=2))
