"""Per-component time of one turn, measured one call at a time in this process with the code
the servers run: NLU (``/model/parse`` on a Rasa started with ``--enable-api``), the sentiment
model, the knowledge embedder and FAISS search, and the database work of the hub's router and
of the actions. The actions' helpers read ``get_settings()``: the caller points the environment
at the benchmark's data directory first."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from bench.load import percentiles
from bench.mix import Line, OrderRef
from bot.db.session import Database
from bot.hub.handoff import after_bot_turn
from bot.services import catalog, crm
from bot.services import conversations as convs
from bot.services.escalation import Policy

Timing = dict[str, Any]


def timed(fn: Callable[[Any], Any], inputs: Iterable[Any]) -> Timing:
    times = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        times.append(1000 * (time.perf_counter() - t0))
    return {**percentiles(times, (50, 95)), "n": len(times)}


def nlu_parse(rasa_url: str, texts: list[str]) -> Timing:
    def parse(text: str) -> None:
        req = urllib.request.Request(f"{rasa_url}/model/parse",
                                     data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()

    return timed(parse, texts)


def models(texts: list[str]) -> dict[str, Timing]:
    from actions.analyze import score_sentiment
    from actions.knowledge import retriever

    score_sentiment("warm up")
    r = retriever()
    kb = r.store.load_current()
    vectors = [r.embedder.embed_queries([t])[0] for t in texts]
    return {
        "sentiment": timed(score_sentiment, texts),
        "kb_embed": timed(lambda t: r.embedder.embed_queries([t]), texts),
        "kb_faiss_search": timed(lambda v: kb.search(v, 20) if kb else None, vectors),
        "kb_answer_total": timed(lambda t: r.answer(t, "en"), texts),
    }


def redaction(lines: list[Line], orders: list[OrderRef], mode: str) -> dict[str, Timing]:
    """The hub redacts every customer turn and every bot reply before storing it."""
    from bot.privacy.redaction import make_redactor

    redactor = make_redactor(mode)
    redactor.warm_up()
    o = orders[0]
    pairs = [(x.text.format(order_id=o.order_id, email=o.email), x.lang) for x in lines]
    return {f"hub_redaction_{mode}": timed(lambda p: redactor.redact(*p), pairs)}


def database_calls(db: Database, orders: list[OrderRef], rounds: int = 3) -> dict[str, Timing]:
    """The database work of the turns in the mix, through the same services and helpers."""
    from actions.analyze import ActionAnalyzeTurn
    from actions.orders import _lookup, _verify
    from actions.recommend import _recommend

    accepted: list[convs.Accepted] = []

    def accept(i: int) -> None:  # the router's _accept: identity, conversation, turn
        with db.session() as s:
            cid = crm.verified_customer(s, "webchat", f"bench-db-{i}")
            accepted.append(convs.accept_customer_turn(
                s, "webchat", f"bench-db-{i}", "where is my order?", "en",
                client_message_id=f"bench-db-{i}-0", customer_id=cid))

    def store(a: convs.Accepted) -> None:  # the router's _store: replies + escalation check
        with db.session() as s:
            messages = [{"text": "Here is your order."}]
            convs.store_replies(s, a.turn_id, messages, role="bot", state="answered")
            after_bot_turn(s, a.conversation_id, messages, Policy())

    n = len(orders) * rounds
    out = {"db_hub_accept": timed(accept, range(n))}
    out["db_record_nlu"] = timed(
        lambda a: ActionAnalyzeTurn._record(a.turn_id, "order_status", 0.9, "en", None),
        accepted)
    verified: list[tuple[int, int]] = []

    def verify(k: int) -> None:
        o, a = orders[k % len(orders)], accepted[k]
        got = _verify(o.order_id, o.email, {"conversation_id": a.conversation_id,
                                             "channel": "webchat", "sender_id": "x"})
        if got is not None:
            verified.append((o.order_id, got[0]))

    out["db_verify_order"] = timed(verify, range(n))
    out["db_order_lookup"] = timed(lambda v: _lookup(*v), verified)
    out["db_hub_store"] = timed(store, accepted)
    categories = [None, *sorted(catalog.CATEGORY_WORDS)]
    out["recommend_total"] = timed(
        lambda k: _recommend(verified[k % len(verified)][1] if k % 2 else None,
                             categories[k % len(categories)], None), range(n))
    return out


def texts_of(lines: list[Line], orders: list[OrderRef]) -> list[str]:
    o = orders[0]
    return [x.text.format(order_id=o.order_id, email=o.email) for x in lines]
