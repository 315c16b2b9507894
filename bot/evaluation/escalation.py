"""Escalation evaluation on whole labelled conversations
(``tests/data/escalation_conversations.jsonl``): precision and recall of "should escalate",
overall and per language and reason.

Two modes:
- offline (default): the escalation policy on the transformer sentiment of each customer
  turn and the explicit-request wording; no NLU, so "the bot kept failing" is invisible here.
- ``--hub URL``: each conversation is sent through a running hub (real NLU, knowledge base,
  sentiment and policy) and a conversation counts as escalated when a handoff happened.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

from bot.services.escalation import Policy, TurnSignal, decide

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "escalation_conversations.jsonl"


def load(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def offline_predictions(convs: list[dict[str, Any]], model_name: str) -> list[bool]:
    return offline_run(convs, model_name)[0]


def offline_run(convs: list[dict[str, Any]],
                model_name: str) -> tuple[list[bool], list[float]]:
    """The policy's decision per conversation, and its peak P(negative) over all customer
    turns: the one continuous signal the rules threshold, usable as a score."""
    from bot.sentiment.model import TransformersSentiment

    model = TransformersSentiment(model_name)
    preds, peaks = [], []
    for c in convs:
        scores = model.score(c["turns"])
        peaks.append(max(s.probs[0] for s in scores))
        turns: list[TurnSignal] = []
        escalated = False
        for text, s in zip(c["turns"], scores, strict=True):
            turns.append(TurnSignal(text, None, s.label, s.score))
            if decide(turns, c.get("customer_tier"), Policy()).escalate:
                escalated = True
                break
        preds.append(escalated)
    return preds, peaks


def hub_predictions(convs: list[dict[str, Any]], hub: str) -> list[bool]:
    import urllib.request

    preds = []
    for c in convs:
        sender = f"eval-{c['id']}-{uuid.uuid4().hex[:6]}"
        escalated = False
        for text in c["turns"]:
            req = urllib.request.Request(
                f"{hub}/api/chat", data=json.dumps({"sender": sender, "text": text}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as resp:
                body = json.loads(resp.read())
            if body.get("status") == "with_agent" or any(
                    (m.get("custom") or {}).get("handoff") for m in body["messages"]):
                escalated = True
                break
        preds.append(escalated)
    return preds


def score(convs: list[dict[str, Any]], preds: list[bool]) -> dict[str, Any]:
    def pr(idx: list[int]) -> dict[str, float]:
        tp = sum(1 for i in idx if preds[i] and convs[i]["should_escalate"])
        fp = sum(1 for i in idx if preds[i] and not convs[i]["should_escalate"])
        fn = sum(1 for i in idx if not preds[i] and convs[i]["should_escalate"])
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"n": len(idx), "precision": p, "recall": r,
                "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}

    everything = list(range(len(convs)))
    out: dict[str, Any] = {"all": pr(everything)}
    for lang in ("en", "zh"):
        out[f"language={lang}"] = pr([i for i in everything if convs[i]["language"] == lang])
    reasons = sorted({c["reason"] for c in convs if c["reason"]})
    out["recall_by_reason"] = {
        r: sum(1 for i in everything if convs[i]["reason"] == r and preds[i])
        / max(1, sum(1 for c in convs if c["reason"] == r)) for r in reasons}
    out["false_alarms"] = [convs[i]["id"] for i in everything
                           if preds[i] and not convs[i]["should_escalate"]]
    out["missed"] = [convs[i]["id"] for i in everything
                     if not preds[i] and convs[i]["should_escalate"]]
    return out


def evaluate(model_name: str, path: Path = DATA) -> dict[str, Any]:
    """Offline evaluation: ``score`` plus each conversation's label, decision and peak
    P(negative)."""
    convs = load(path)
    preds, peaks = offline_run(convs, model_name)
    result = score(convs, preds)
    result["conversations"] = [
        {"id": c["id"], "language": c["language"], "reason": c["reason"],
         "should_escalate": c["should_escalate"], "escalated": p, "peak_negative": n}
        for c, p, n in zip(convs, preds, peaks, strict=True)]
    return result | {"model": model_name, "mode": "offline"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hub", default=None, help="evaluate through a running hub")
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    convs = load()
    if args.hub:
        preds = hub_predictions(convs, args.hub.rstrip("/"))
    else:
        from bot.sentiment.build import ensure_sentiment_model
        from bot.settings import get_settings

        preds = offline_predictions(convs, args.model or ensure_sentiment_model(get_settings()))
    result = score(convs, preds)
    for key in ("all", "language=en", "language=zh"):
        r = result[key]
        print(f"{key:<12} n={r['n']:3d} precision={r['precision']:.3f} recall={r['recall']:.3f}"
              f" F1={r['f1']:.3f}")
    print("recall by reason:", {k: round(v, 2) for k, v in result["recall_by_reason"].items()})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
