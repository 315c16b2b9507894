"""The benchmark's data directory: the demo shop, help centre index and fitted recommender,
prepared once (minutes on 2 cores) and cached by a fingerprint of the code and data that shape
them; every run works on a fresh copy, since a run writes conversations into it."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from bot.cli import init
from bot.settings import REPO_ROOT, Settings

# What the prepared directory depends on: demo generator, schema, articles and retrieval,
# recommender, and the set-up code itself.
INPUTS = ("bot/demo", "bot/db", "knowledge", "bot/recommend", "bot/services/kb.py",
          "bot/services/kb_index.py", "bot/cli.py", "bot/cli_kb.py")


def fingerprint(settings: Settings, root: Path = REPO_ROOT) -> str:
    h = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in
                       p.parts) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    h.update(f"{settings.demo_customers}/{settings.demo_products}/{settings.demo_orders}/"
             f"{settings.demo_seed}/{settings.kb_embedder}".encode())
    return h.hexdigest()[:12]


def prepare(settings: Settings, make_settings: Callable[[Path], Settings]) -> float:
    """Fill ``settings.data_dir`` from the cached template (building it when missing) and run
    the idempotent set-up on it; returns the seconds that took."""
    t0 = time.monotonic()
    template = settings.cache_dir / "bench" / f"shop-{fingerprint(settings)}"
    if not template.exists():
        print(f"Preparing the benchmark shop once ({template.name})...", flush=True)
        tmp = template.with_name(template.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        init(make_settings(tmp))
        tmp.rename(template)
    shutil.copytree(template, settings.data_dir, dirs_exist_ok=True)
    init(settings)  # migrations added since, the admin
    return time.monotonic() - t0
