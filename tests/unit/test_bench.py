"""The stack benchmark's logic without timing: percentiles and summaries, the message mix,
the closed-loop driver against a fake transport, /proc memory sampling, the bare domain and
the report files."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import bare_rasa
from bench.load import TurnResult, percentiles, run_level, summarize
from bench.mix import KINDS, LANGS, SHAPES, Line, OrderRef, conversation, load_mix
from bench.procmem import MemorySampler, children, cpu_s, status_kb, tree, tree_cpu_s
from bench.report import overhead, table, write

ORDERS = [OrderRef(100123, "ann@example.com"), OrderRef(100456, "bo@example.com")]


def test_percentiles_interpolate_and_handle_empty() -> None:
    assert percentiles([10.0, 20.0, 30.0, 40.0], (0, 50, 100)) == {
        "p0": 10.0, "p50": 25.0, "p100": 40.0}
    got = percentiles([float(x) for x in range(1, 101)])
    assert got["p50"] == pytest.approx(50.5)
    assert 95 < got["p95"] < got["p99"] < 100  # type: ignore[operator]
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_summarize_counts_only_answered_turns_in_latency_and_throughput() -> None:
    results = [TurnResult("faq", "en", 100.0, "answered"),
               TurnResult("faq", "zh", 300.0, "answered"),
               TurnResult("order", "en", 9000.0, "pending"),
               TurnResult("order", "en", 5.0, "error:timeout")]
    s = summarize(results, wall_s=4.0)
    assert (s["turns"], s["answered"], s["errors"]) == (4, 2, 2)
    assert s["statuses"] == {"pending": 1, "error:timeout": 1}
    assert s["throughput_tps"] == 0.5
    assert s["p50"] == 200.0
    assert s["by_kind"]["faq"]["p50"] == 200.0 and s["by_kind"]["order"]["p50"] is None


def test_shipped_mix_covers_every_kind_in_both_languages_with_placeholders() -> None:
    lines = load_mix()
    assert len(lines) >= 40
    assert {(x.kind, x.lang) for x in lines} == {(k, g) for k in KINDS for g in LANGS}
    assert all("{order_id}" in x.text for x in lines if x.kind == "order")
    assert all("{email}" in x.text for x in lines if x.kind == "contact")


def test_mix_is_not_taken_from_the_nlu_training_data() -> None:
    examples = set()
    for path in bare_rasa.NLU_FILES:
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            examples.update(e.removeprefix("- ").strip().lower()
                            for e in str(item.get("examples", "")).splitlines())
    assert not [x.text for x in load_mix() if x.text.lower() in examples]


def test_load_mix_rejects_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "m.jsonl"
    bad.write_text(json.dumps({"kind": "weather", "lang": "en", "text": "sunny?"}) + "\n")
    with pytest.raises(ValueError, match="kind"):
        load_mix(bad)
    partial = tmp_path / "p.jsonl"
    partial.write_text(json.dumps({"kind": "faq", "lang": "en", "text": "refunds?"}) + "\n")
    with pytest.raises(ValueError, match="no lines"):
        load_mix(partial)


def test_conversation_follows_a_shape_in_one_language_with_a_real_order() -> None:
    lines, rng = load_mix(), random.Random(3)
    seen = set()
    for _ in range(60):
        script = conversation(rng, lines, ORDERS)
        seen.add(script.shape)
        assert tuple(t.kind for t in script.turns) == SHAPES[script.shape]
        assert {t.lang for t in script.turns} == {script.lang}
        assert not any("{" in t.text for t in script.turns)
        if script.shape == "order":
            order_text, contact_text = script.turns[0].text, script.turns[1].text
            ref = next(o for o in ORDERS if str(o.order_id) in order_text)
            assert ref.email in contact_text  # the email of the same order
    assert seen == set(SHAPES)


class FakeTransport:
    name = "fake"

    def __init__(self, fail_on: str | None = None) -> None:
        self.sent: dict[str, list[str]] = {}
        self.fail_on = fail_on
        self.open_now: set[str] = set()

    async def open(self, sender: str) -> None:
        self.open_now.add(sender)

    async def send(self, sender: str, text: str, message_id: str) -> str:
        assert sender in self.open_now
        self.sent.setdefault(sender, []).append(message_id)
        return "with_agent" if self.fail_on and self.fail_on in text else "answered"

    async def close(self, sender: str) -> None:
        self.open_now.discard(sender)


async def test_run_level_holds_conversations_until_the_deadline() -> None:
    transport = FakeTransport()
    results, wall = await run_level(transport, 3, 0.2, load_mix(), ORDERS, "t")
    assert results and all(r.status == "answered" for r in results)
    parts = [s.split("-") for s in transport.sent]  # bench-<tag>-<level>-<customer>-<n>
    assert {p[2] for p in parts} == {"3"} and {p[3] for p in parts} == {"0", "1", "2"}
    assert not transport.open_now  # every socket closed
    assert wall >= 0.2


async def test_a_turn_that_is_not_answered_ends_its_conversation() -> None:
    lines = [x for x in load_mix() if x.kind != "order"] + [
        Line("order", g, "STOP {order_id}") for g in LANGS]
    transport = FakeTransport(fail_on="STOP")
    results, _ = await run_level(transport, 2, 0.2, lines, ORDERS, "t", seed=1)
    stopped = [r for r in results if r.status == "with_agent"]
    assert stopped and all(r.kind == "order" for r in stopped)
    assert not [r for r in results if r.kind == "contact"]  # never reached after the stop


def _fake_proc(root: Path, procs: dict[int, tuple[int, int, int]]) -> Path:
    """pid -> (parent, VmRSS kB, VmHWM kB) as /proc files."""
    for pid, (ppid, rss, hwm) in procs.items():
        d = root / str(pid)
        d.mkdir(parents=True)
        # utime and stime (fields 14 and 15) in clock ticks: 100 + 50 per process
        (d / "stat").write_text(f"{pid} (py thon) S {ppid} 1 1 0 -1 0 0 0 0 0 100 50 0 0")
        (d / "status").write_text(f"Name:\tpython\nVmHWM:\t{hwm} kB\nVmRSS:\t{rss} kB\n")
    (root / "self").mkdir()
    return root


def test_memory_sampler_sums_each_process_tree(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, {10: (1, 1024, 2048), 11: (10, 2048, 4096),
                                 12: (11, 1024, 1024), 20: (1, 512, 512)})
    assert tree(10, children(proc)) == [10, 11, 12]
    sampler = MemorySampler({"actions": 10, "hub": 20}, proc=proc)
    sampler.sample()
    (proc / "11" / "status").write_text("VmHWM:\t8192 kB\nVmRSS:\t1024 kB\n")
    sampler.sample()
    got = sampler.stop()
    assert got["actions"] == {"peak_rss_mb": 4.0, "hwm_sum_mb": 11.0, "processes": 3}
    assert got["hub"]["peak_rss_mb"] == 0.5


def test_cpu_time_sums_each_process_tree(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, {10: (1, 0, 0), 11: (10, 0, 0), 20: (1, 0, 0)})
    tick = os.sysconf("SC_CLK_TCK")
    assert cpu_s(11, proc) == pytest.approx(150 / tick)
    assert tree_cpu_s({"actions": 10, "hub": 20}, proc) == pytest.approx(
        {"actions": 300 / tick, "hub": 150 / tick})
    assert cpu_s(99, proc) == 0.0


def test_status_of_this_process_is_read_from_proc() -> None:
    vm = status_kb(os.getpid())
    assert vm["VmRSS"] > 0 and vm["VmHWM"] >= vm["VmRSS"]
    assert status_kb(2**31 - 1) == {}


def test_bare_domain_is_valid_yaml_with_every_nlu_intent(tmp_path: Path) -> None:
    domain_path, data = bare_rasa.write_project(tmp_path)
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
    rules = yaml.safe_load((data / "rules.yml").read_text(encoding="utf-8"))["rules"]
    intents = bare_rasa.nlu_intents()
    assert "greet" in intents and "order_status" in intents
    assert set(domain["intents"]) == set(intents)
    assert set(domain["entities"]) >= {"order_id", "email"}
    answered = {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in rules}
    assert set(answered) == {*intents, bare_rasa.FALLBACK_INTENT}
    assert all(action in domain["responses"] for action in answered.values())
    assert "actions" not in domain and "forms" not in domain and "slots" not in domain
    assert sorted(p.name for p in data.iterdir()) == ["bitext.yml", "nlu.yml", "rules.yml"]


def test_bare_fingerprint_follows_the_nlu_data(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = bare_rasa.fingerprint()
    assert first == bare_rasa.fingerprint()
    extra = tmp_path / "extra.yml"
    extra.write_text("version: '3.1'\nnlu:\n- intent: weather\n  examples: |\n    - sunny?\n")
    monkeypatch.setattr(bare_rasa, "NLU_FILES", (*bare_rasa.NLU_FILES, extra))
    assert "weather" in bare_rasa.nlu_intents(bare_rasa.NLU_FILES)
    assert bare_rasa.fingerprint() != first


def _fake_result(scale: float) -> dict[str, Any]:
    runs = []
    for level in (1, 10):
        for target, transport, base in (("kefu", "rest", 400.0), ("kefu", "ws", 380.0),
                                        ("bare", "rest", 100.0)):
            p50 = base * level * scale
            runs.append({"target": target, "transport": transport, "level": level, "turns": 9,
                         "cpu_ms_per_turn": {"rasa": 80.0, "actions": 55.5},
                         "answered": 8, "errors": 1, "statuses": {"pending": 1}, "wall_s": 5.0,
                         "throughput_tps": 1.6, "p50": p50, "p95": 2 * p50, "p99": 3 * p50,
                         "by_kind": {"faq": {"p50": p50, "p95": 2 * p50}}})
    return {"meta": {"started": "2026-11-01T00:00:00+00:00", "commit": "abc", "cpus": 2,
                     "levels": [1, 10], "duration_s": 5.0},
            "runs": runs, "components": {"sentiment": {"p50": 12.0, "p95": 20.0, "n": 46}},
            "memory": {"hub": {"peak_rss_mb": 300.0, "hwm_sum_mb": 310.0, "processes": 1}}}


def test_overhead_is_kefu_over_bare_per_level_and_transport() -> None:
    rows = overhead(_fake_result(1.0))
    assert {(r["level"], r["transport"]): r["p50"] for r in rows} == {
        (1, "rest"): 4.0, (1, "ws"): 3.8, (10, "rest"): 4.0, (10, "ws"): 3.8}
    assert "4.0" in table(_fake_result(1.0)).splitlines()[1]


def test_report_files_with_a_before_after_comparison(tmp_path: Path) -> None:
    before, after = _fake_result(2.0), _fake_result(1.0)
    paths = write(after, tmp_path, before)
    assert [p.name for p in paths] == ["stack.json", "stack.md", "stack.png"]
    saved = json.loads(paths[0].read_text(encoding="utf-8"))
    assert saved["runs"] == after["runs"] and len(saved["overhead"]) == 4
    md = paths[1].read_text(encoding="utf-8")
    assert "![latency](stack.png)" in md
    assert "800 → 400" in md  # kefu rest level 1 p50, before → after
    assert "| sentiment | 12.0 → 12.0 |" in md
    assert "| kefu | rest | 1 | 80.0 | 55.5 |" in md  # CPU per turn
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Before → after" not in write(after, tmp_path / "solo")[1].read_text(encoding="utf-8")
