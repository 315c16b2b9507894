"""Full-stack benchmark: Kefu (hub + Rasa + action server, demo shop, trained model) against a
bare Rasa with the same NLU, at growing numbers of concurrent conversations, over the hub's
REST and websocket chat; per-component times; peak memory per process.

    .venv-app/bin/python -m bench.stack [--levels 1,10,50] [--duration 20] [--quick]
                                        [--out reports/bench] [--name stack] [--before PATH]

Writes ``<out>/<name>.json``, ``.md`` and ``.png`` and prints a compact table. With a baseline
(``--before``, by default ``<out>/stack-before.json`` when it exists) the Markdown compares.
Everything runs in a temporary data directory; models come from ``~/.cache/kefu``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from bench import components, shop
from bench.bare_rasa import ensure_bare_model, start_bare
from bench.load import HubRest, HubWebsocket, RasaRest, Transport, run_level, summarize
from bench.mix import Line, OrderRef, load_mix
from bench.procmem import MemorySampler, tree_cpu_s
from bench.report import table, write
from bot.db.models import Customer, Order
from bot.db.session import Database
from bot.launcher import Stack, ensure_model, settings_env, start_stack, wait_http
from bot.sentiment.build import ensure_sentiment_model
from bot.settings import REPO_ROOT, Settings, get_settings

WARM_UP_S = 4.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'kefu.db'}",
                    hub_port=free_port(), action_port=free_port(),
                    rasa_url=f"http://127.0.0.1:{free_port()}",
                    admin_password="bench-admin-password",  # type: ignore[arg-type]
                    jwt_secret="bench-secret-" + "x" * 32,  # type: ignore[arg-type]
                    _env_file=None)  # type: ignore[call-arg]


def demo_orders(db: Database, n: int = 200) -> list[OrderRef]:
    """Real order numbers with their customer's email, so verification succeeds."""
    with db.session() as s:
        rows = s.execute(select(Order.id, Customer.email).join(Customer)
                         .where(Order.status.in_(("shipped", "delivered")))
                         .order_by(Order.id).limit(n)).all()
    return [OrderRef(int(i), str(e)) for i, e in rows]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"  # e.g. run from a `git archive`
    dirty = git("status", "--porcelain", "--", "actions", "knowledge", "bot", "bench")
    return head + ("+dirty" if dirty else "")


def cpu_per_turn(before: dict[str, float], after: dict[str, float], turns: int
                 ) -> dict[str, float | None]:
    """CPU milliseconds each process spent per answered turn."""
    return {name: round(1000 * (after[name] - before[name]) / turns, 1) if turns else None
            for name in after}


def cpu_now(roots: dict[str, int]) -> dict[str, float]:
    return {**tree_cpu_s(roots), "client": time.process_time()}


async def load_phase(kefu_url: str, bare_url: str, kefu_rasa_url: str, levels: list[int],
                     duration_s: float, lines: list[Line], orders: list[OrderRef],
                     roots: dict[str, int], kefu_rasa_token: str
                     ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=None)) as http:
        targets: list[tuple[str, Transport]] = [
            ("kefu", HubRest(http, kefu_url)), ("kefu", HubWebsocket(http, kefu_url)),
            ("bare", RasaRest(http, bare_url))]
        print("Warming up (first turns load lazily built graphs)...", flush=True)
        for target, transport in targets:
            await run_level(transport, 2, WARM_UP_S, lines, orders, f"warm-{target}")
        for level in levels:
            for target, transport in targets:
                cpu0 = cpu_now(roots)
                results, wall = await run_level(transport, level, duration_s, lines, orders,
                                                f"{target}-{transport.name}", seed=level)
                row = {"target": target, "transport": transport.name, "level": level,
                       **summarize(results, wall)}
                row["cpu_ms_per_turn"] = cpu_per_turn(cpu0, cpu_now(roots), row["answered"])
                runs.append(row)
                print(f"  {target:<4} {transport.name:<4} x{level:<3} {row['answered']:>5} "
                      f"turns  p50 {row['p50']} ms  p95 {row['p95']} ms  "
                      f"{row['throughput_tps']} turns/s  errors {row['errors']}", flush=True)
        # Rasa + actions without the hub, one customer: what the hub adds at level 1
        results, wall = await run_level(RasaRest(http, kefu_rasa_url, kefu_rasa_token), 1,
                                        duration_s / 2, lines, orders, "direct")
        direct = summarize(results, wall)
    return runs, {"p50": direct["p50"], "p95": direct["p95"], "n": direct["answered"]}


@dataclass
class Servers:
    settings: Settings
    stack: Stack
    bare_url: str
    start_s: float

    def roots(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.stack.procs.items()}


@contextlib.contextmanager
def servers(settings: Settings, log_dir: Path) -> Iterator[Servers]:
    """Bare Rasa and Kefu (Rasa, action server, hub), loading side by side; stopped on exit."""
    settings = settings.model_copy(update={"sentiment_model": ensure_sentiment_model(settings)})
    model, bare_model = ensure_model(settings), ensure_bare_model(settings)
    bare_url = f"http://127.0.0.1:{free_port()}"
    bare, stack = Stack(), None
    try:
        print("Starting bare Rasa, then Kefu's Rasa, action server and hub...", flush=True)
        t0 = time.monotonic()
        start_bare(bare, settings, bare_model, int(bare_url.rsplit(":", 1)[1]), log_dir)
        stack = start_stack(settings, model, log_dir=log_dir)
        wait_http(f"{bare_url}/", bare, 300, "bare Rasa")
        stack.procs.update(bare.procs)
        stack.logs.update(bare.logs)
        yield Servers(settings, stack, bare_url, time.monotonic() - t0)
    finally:
        if stack is not None:
            stack.stop()
        bare.stop()


def run(levels: list[int], duration_s: float, out: Path, name: str,
        before: dict[str, Any] | None, keep: bool, notes: list[str]) -> dict[str, Any]:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    loadavg = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    settings = bench_settings(tmp)
    lines = load_mix()
    init_s = shop.prepare(settings, bench_settings)
    db = Database(settings.db_url())
    orders = demo_orders(db)
    try:
        with servers(settings, tmp / "logs") as up:
            sampler = MemorySampler(up.roots()).start()
            runs, direct = asyncio.run(load_phase(settings.hub_url(), up.bare_url,
                                                  settings.rasa_url, levels, duration_s, lines,
                                                  orders, up.roots(),
                                                  up.settings.rasa_auth_token()))
            print("Timing components...", flush=True)
            os.environ.update(settings_env(up.settings))  # the actions' helpers read these
            get_settings.cache_clear()
            texts = components.texts_of(lines, orders)
            comps = {"nlu_parse": components.nlu_parse(up.bare_url, texts),
                     **components.models(texts),
                     **components.redaction(lines, orders, up.settings.redaction),
                     **components.database_calls(db, orders[:20]),
                     "rasa_turn_no_hub": direct}
            memory = sampler.stop()
            start_s = up.start_s
    finally:
        db.dispose()
        if keep:
            print(f"Data directory and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "meta": {"started": started, "commit": commit(), "cpus": os.cpu_count(),
                 "loadavg_before": [round(x, 2) for x in loadavg], "levels": levels,
                 "duration_s": duration_s, "init_s": round(init_s, 1),
                 "stack_start_s": round(start_s, 1), "messages": len(lines),
                 "orders": len(orders)},
        "runs": runs, "components": comps, "memory": memory, "notes": notes,
    }
    paths = write(result, out, before, name)
    print("\n" + table(result))
    print("\nComponents (ms, p50 / p95): " + ", ".join(
        f"{k} {v['p50']} / {v['p95']}" for k, v in comps.items()))
    print("Peak memory (MB): " + ", ".join(
        f"{k} {v['peak_rss_mb']:,.0f}" for k, v in memory.items()))
    print("Wrote " + ", ".join(str(p) for p in paths))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="1,10,50", help="concurrent conversations, comma-separated")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per level and target")
    ap.add_argument("--quick", action="store_true", help="smoke run: levels 1 and 10, 5 s each")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "bench")
    ap.add_argument("--name", default="stack", help="base name of the output files")
    ap.add_argument("--before", type=Path, default=None,
                    help="baseline JSON to compare with (default <out>/stack-before.json)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    ap.add_argument("--note", action="append", default=[], help="a line for the report's notes")
    args = ap.parse_args()
    # a plain SIGTERM would skip the clean-up and leave the servers running
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    levels = [1, 10] if args.quick else [int(x) for x in args.levels.split(",")]
    duration = 5.0 if args.quick else args.duration
    before_path = args.before or args.out / "stack-before.json"
    before = None
    if before_path.exists() and before_path.name != f"{args.name}.json":
        before = json.loads(before_path.read_text(encoding="utf-8"))
    run(levels, duration, args.out, args.name, before, args.keep, args.note)


if __name__ == "__main__":
    main()
