"""A demo conversation history, so the dashboard and the agent's CRM card have something to
show on a fresh install: eight weeks of conversations on every channel in both languages, with
intents, sentiment, handoffs and agent replies, ratings, thumbs and knowledge gaps.

Customer lines are drawn from the NLU training examples (this is demo data, never evaluation
data); dates end at the day it is loaded, so "the last 30 days" is never empty. Every
conversation is resolved and every handoff closed, so the live queue starts empty."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from bot.db.models import Conversation, Customer, Feedback, Handoff, KbGap, Turn
from bot.db.session import Database
from bot.settings import REPO_ROOT

NLU_FILE = REPO_ROOT / "nlu_data" / "nlu.yml"
CJK = re.compile(r"[\u4e00-\u9fff]")
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")
CHANNELS = (("webchat", 0.55), ("wechat", 0.25), ("slack", 0.1), ("wecom", 0.1))
# How often each intent opens a demo conversation (roughly a shop's mix).
INTENT_WEIGHTS = {
    "order_status": 14, "shipping_info": 9, "return_item": 8, "refund": 7, "payment": 6,
    "product_question": 6, "recommend": 5, "cancel_order": 5, "change_address": 3,
    "invoice": 3, "account": 3, "warranty": 3, "complaint": 6, "request_human": 4,
    "out_of_scope": 3, "feedback": 2, "place_order": 2, "change_order": 2, "newsletter": 1,
}
BOT_REPLY = {"en": "Here is what I found in our help centre.", "zh": "这是帮助中心里的相关说明。"}
AGENT_REPLY = {"en": "Hi, this is {name} from the team. I've looked into it and sorted it out.",
               "zh": "您好，我是客服{name}，已经为您处理好了。"}
AGENT_NAMES = ("Lin", "Sam", "Mei", "Alex")


def _examples(path: Path = NLU_FILE) -> dict[str, dict[str, list[str]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"en": [], "zh": []})
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            text = line.strip().removeprefix("- ").strip()
            if not text:
                continue
            text = ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text)
            out[block["intent"]]["zh" if CJK.search(text) else "en"].append(text)
    return out


def _sentiment(intent: str, rng: random.Random) -> tuple[str, float]:
    if intent == "complaint" or (intent in ("refund", "return_item") and rng.random() < 0.3):
        return "negative", rng.uniform(0.7, 0.99)
    if intent in ("feedback", "thank") and rng.random() < 0.7:
        return "positive", rng.uniform(0.6, 0.95)
    return "neutral", rng.uniform(0.5, 0.9)


def generate_history(db: Database, conversations: int = 1200, weeks: int = 8, seed: int = 7,
                     end: datetime | None = None) -> int:
    """Add the demo history once (returns 0 when demo conversations already exist)."""
    rng = random.Random(seed)
    end = end or datetime.now(UTC).replace(microsecond=0)
    examples = _examples()
    intents = [i for i in INTENT_WEIGHTS if examples[i]["en"] and examples[i]["zh"]]
    weights = [INTENT_WEIGHTS[i] for i in intents]
    with db.session() as s:
        if s.scalar(select(Conversation.id).where(Conversation.sender_id.like("demo-%"))
                    .limit(1)):
            return 0
        customers = list(s.execute(select(Customer.id, Customer.language)).all())
        for n in range(conversations):
            # more traffic on recent days and weekdays, as shops see
            age = timedelta(days=weeks * 7 * rng.random() ** 1.3, hours=rng.uniform(0, 24))
            start = end - age
            if start.weekday() >= 5 and rng.random() < 0.4:
                start -= timedelta(days=2)
            channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
            customer = rng.choice(customers) if customers and rng.random() < 0.6 else None
            zh_odds = 0.85 if channel in ("wechat", "wecom") else 0.3
            language = (customer.language if customer and rng.random() < 0.7
                        else ("zh" if rng.random() < zh_odds else "en"))
            intent = rng.choices(intents, weights)[0]
            conv = Conversation(channel=channel, sender_id=f"demo-{seed}-{n}",
                                customer_id=customer.id if customer else None,
                                language=language, created_at=start, updated_at=start,
                                status="resolved", owner="bot")
            s.add(conv)
            s.flush()
            t = start
            turns = [intent, *rng.sample(["thank", "goodbye", intent, "affirm"],
                                         k=rng.randint(0, 2))]
            negative_streak = 0
            for i, it in enumerate(turns):
                pool = examples[it][language] or examples[it]["en"]
                label, score = _sentiment(it, rng)
                negative_streak = negative_streak + 1 if label == "negative" else 0
                turn = Turn(conversation_id=conv.id, role="customer", text=rng.choice(pool),
                            language=language, intent=it, confidence=rng.uniform(0.55, 0.99),
                            sentiment_label=label, sentiment_score=score, state="answered",
                            created_at=t)
                s.add(turn)
                s.flush()
                t += timedelta(seconds=rng.uniform(1, 4))
                kb = it not in ("greet", "goodbye", "thank", "affirm", "out_of_scope",
                                "request_human", "complaint")
                s.add(Turn(conversation_id=conv.id, role="bot", text=BOT_REPLY[language],
                           language=language, reply_to_id=turn.id, created_at=t,
                           sources=[{"slug": "demo", "title": "Help centre"}] if kb else None))
                if kb and i == 0 and rng.random() < 0.3:
                    s.add(Feedback(conversation_id=conv.id, turn_id=turn.id, kind="answer",
                                   score=int(rng.random() < 0.78), created_at=t))
                if it == "out_of_scope" and rng.random() < 0.6:
                    s.add(KbGap(question=turn.text, language=language,
                                best_score=rng.uniform(0.7, 0.85), conversation_id=conv.id,
                                created_at=t))
                t += timedelta(seconds=rng.uniform(20, 240))
            reason = ("explicit_request" if intent == "request_human" else
                      "negative_sentiment" if negative_streak and rng.random() < 0.6 else
                      "unanswered" if intent == "out_of_scope" and rng.random() < 0.3 else
                      "vip" if customer and rng.random() < 0.03 else None)
            if reason:
                wait = timedelta(seconds=rng.lognormvariate(5.0, 0.8))
                first = wait + timedelta(seconds=rng.uniform(20, 120))
                done = first + timedelta(seconds=rng.lognormvariate(6.3, 0.7))
                s.add(Handoff(conversation_id=conv.id, reason=reason, status="resolved",
                              priority=1.0, created_at=t, claimed_at=t + wait,
                              closed_at=t + done))
                name = rng.choice(AGENT_NAMES)
                s.add(Turn(conversation_id=conv.id, role="agent", language=language,
                           text=AGENT_REPLY[language].format(name=name), created_at=t + first))
                t += done
            conv.owner = "agent" if reason else "bot"
            conv.resolved_at = conv.updated_at = t
            if rng.random() < 0.4:
                base = 2.6 if reason == "negative_sentiment" else 4.2 if not reason else 3.6
                rating = max(1, min(5, round(rng.gauss(base, 0.9))))
                conv.csat_state = "rated"
                s.add(Feedback(conversation_id=conv.id, kind="csat", score=rating,
                               created_at=t + timedelta(minutes=1)))
    return conversations
