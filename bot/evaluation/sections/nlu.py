"""NLU intent classification on the held-out CSV, and the dialogue test stories; both run in
the Rasa environment against the cached trained model (trained first when missing)."""

from __future__ import annotations

import csv
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bot.evaluation import metrics, provenance
from bot.evaluation.context import Context
from bot.evaluation.types import Chart, Section, Table
from bot.settings import REPO_ROOT

HELDOUT = REPO_ROOT / "tests" / "data" / "nlu_heldout.csv"
STORIES = REPO_ROOT / "tests" / "stories" / "test_stories.yml"
NLU_TITLE = "NLU intent classification"
STORIES_TITLE = "Dialogue test stories"


def _rasa(ctx: Context, args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    from bot.launcher import rasa_env

    proc = subprocess.run(args, cwd=REPO_ROOT, env=rasa_env(ctx.settings, tmp / "tracker.db"),
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{proc.stderr[-2000:]}")
    return proc


def _model(ctx: Context) -> Path:
    from bot.launcher import ensure_model

    return ensure_model(ctx.settings)


def run_nlu(ctx: Context) -> dict[str, Any]:
    import json

    from bot.launcher import RASA_VENV

    model = _model(ctx)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "nlu.json"
        proc = _rasa(ctx, [str(RASA_VENV / "bin" / "python"), "-m", "bot.nlu.evaluate",
                           str(model), "--data", str(HELDOUT), "--out", str(out)], Path(tmp))
        # the scores, without Rasa's per-message debug log lines
        print("".join(line for line in proc.stdout.splitlines(keepends=True)
                      if "[debug" not in line), end="", flush=True)
        return json.loads(out.read_text(encoding="utf-8"))


def nlu_section(report: dict[str, Any], heldout: list[dict[str, str]], training: list[str],
                source: str = "") -> Section:
    """The NLU section from ``bot.nlu.evaluate``'s JSON, the held-out rows and the NLU
    training texts."""
    languages = [k for k in ("en", "zh") if k in report]
    preds: list[dict[str, Any]] = report.get("predictions") or []
    seen = {provenance.normalise(t) for t in training}
    unseen = [p for p in preds if provenance.normalise(p["text"]) not in seen]
    shared = [r for r in heldout if provenance.normalise(r["text"]) in seen]
    s = Section("nlu", NLU_TITLE, dataset="tests/data/nlu_heldout.csv",
                size=f"{report['all']['n']} messages", source=source)
    rows = []
    for lang in [*languages, "all"]:
        m = report[lang]
        sub = [p for p in unseen if lang == "all" or p["language"] == lang]
        u = metrics.classification([p["intent"] for p in sub], [p["predicted"] for p in sub])
        rows.append([lang, m["n"], m["accuracy"], m["macro_f1"], u["n"] if preds else None,
                     u["accuracy"] if sub else None, u["macro_f1"] if sub else None])
        if lang != "all":
            s.headline[f"{lang}_accuracy"] = m["accuracy"]
            s.headline[f"{lang}_macro_f1"] = m["macro_f1"]
    s.tables.append(Table(["language", "n", "accuracy", "macro-F1", "n unseen",
                           "accuracy unseen", "macro-F1 unseen"], rows,
                          "Intent accuracy and macro-F1 (nlu_fallback counts as out_of_scope); "
                          "'unseen' leaves out the messages that also occur in nlu_data/."))
    if heldout:
        by_intent = Counter(r["intent"] for r in shared)
        s.headline["overlap_with_training"] = len(shared)
        s.provenance.append(
            f"{len(shared)} of {len(heldout)} held-out messages "
            f"({len(shared) / len(heldout):.0%}) also occur in the training data nlu_data/ "
            "after lower-casing and dropping punctuation; most shared: "
            + ", ".join(f"{i} {n}" for i, n in by_intent.most_common(6))
            + ". The 'unseen' columns score only the rest.")
    intents = sorted({i for lang in languages for i in report[lang]["per_intent"]})
    s.tables.append(Table(
        ["intent", *[f"F1 {lang}" for lang in languages], *[f"n {lang}" for lang in languages]],
        [[i, *[report[lang]["per_intent"].get(i, {}).get("f1") for lang in languages],
          *[report[lang]["per_intent"].get(i, {}).get("support") for lang in languages]]
         for i in intents], "Per-intent F1."))
    s.charts.append(Chart("nlu_intent_f1.png", "NLU: F1 per intent", "bars", {
        "categories": intents, "horizontal": True, "y_label": "F1",
        "series": {lang: [report[lang]["per_intent"].get(i, {}).get("f1") for i in intents]
                   for lang in languages}}))
    if preds:
        cm = metrics.confusion([p["intent"] for p in preds], [p["predicted"] for p in preds])
        s.charts.append(Chart("nlu_confusion.png", "NLU: confusion matrix (both languages)",
                              "heatmap", {"panels": [{"title": "true intent vs predicted",
                                                      **cm}]}))
    s.tables.append(Table(["confusion (true -> predicted)", "count"],
                          [[pair, n] for pair, n in report.get("confusions", [])[:10]],
                          "Most frequent confusions."))
    s.notes.append(f"Model {Path(str(report.get('model', '?'))).name}; "
                   f"{report.get('parse_ms', 0):.1f} ms per parse.")
    return s


def build(ctx: Context) -> Section:
    report, source = ctx.load_or_run("nlu_heldout.json", lambda: run_nlu(ctx))
    with HELDOUT.open(newline="", encoding="utf-8") as f:
        heldout = list(csv.DictReader(f))
    s = nlu_section(report, heldout, provenance.nlu_training_texts(), source)
    s.provenance.insert(0, "Written separately from the training data, in customer style, "
                           "English and Chinese; never read by `rasa train` (which reads "
                           "nlu_data/ only).")
    return s


def story_names(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(story["story"]) for story in data.get("stories") or []]


def run_stories(ctx: Context) -> dict[str, Any]:
    import json

    from bot.launcher import RASA_VENV

    model = _model(ctx)
    out = ctx.reports / "stories"
    with tempfile.TemporaryDirectory() as tmp:
        _rasa(ctx, [str(RASA_VENV / "bin" / "rasa"), "test", "core", "--model", str(model),
                    "--stories", str(STORIES), "--out", str(out)], Path(tmp))
    failed_file = out / "failed_test_stories.yml"
    failed = story_names(failed_file) if failed_file.exists() else []
    actions = json.loads((out / "story_report.json").read_text(encoding="utf-8"))
    return {"model": str(model), "stories": story_names(STORIES), "failed": failed,
            "action_accuracy": actions.get("accuracy"),
            "action_macro_f1": (actions.get("macro avg") or {}).get("f1-score"),
            "results_dir": ctx.shown(out)}


def stories_section(result: dict[str, Any], training: list[str], source: str = "") -> Section:
    total, failed = len(result["stories"]), result["failed"]
    s = Section("stories", STORIES_TITLE, dataset="tests/stories/test_stories.yml",
                size=f"{total} stories", source=source,
                headline={"passed": total - len(failed), "total": total,
                          "action_accuracy": result.get("action_accuracy")})
    s.tables.append(Table(["story", "result"],
                          [[name, "failed" if name in failed else "passed"]
                           for name in result["stories"]],
                          "`rasa test core` on the test stories (NLU and dialogue policy "
                          "together: the user turns are parsed, not given)."))
    if failed:
        s.notes.append("Failed stories: " + "; ".join(failed))
    texts = provenance.story_user_texts(STORIES)
    shared = provenance.overlap(texts, training)
    s.provenance.append(f"Hand-written test conversations, kept apart from nlu_data/stories.yml "
                        f"and rules.yml; {len(shared)} of {len(texts)} user turns also occur "
                        "in the NLU training data" + (f" ({', '.join(shared)})" if shared
                                                      else "") + ".")
    s.notes.append(f"Action-level accuracy {result.get('action_accuracy')}; Rasa's own report "
                   f"is in {result.get('results_dir', 'reports/stories')}.")
    return s


def build_stories(ctx: Context) -> Section:
    result, source = ctx.load_or_run("stories.json", lambda: run_stories(ctx))
    return stories_section(result, provenance.nlu_training_texts(), source)
