"""Bare Rasa, the baseline for the stack benchmark: Kefu's NLU pipeline and NLU data with a
generated minimal domain (every NLU intent answered by one static ``utter_`` response through
a rule), no custom actions, no action server, in-memory tracker store.

The model is trained once and cached by a fingerprint of its inputs, like ``ensure_model``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bot.launcher import RASA_VENV, Stack, cached_model, rasa_env
from bot.settings import REPO_ROOT, Settings

NLU_FILES = (REPO_ROOT / "nlu_data" / "nlu.yml", REPO_ROOT / "nlu_data" / "bitext.yml")
# Training inputs besides the NLU data and the generated domain and rules.
FIXED_INPUTS = (REPO_ROOT / "config.yml", REPO_ROOT / "bot" / "nlu" / "use_featurizer.py",
                REPO_ROOT / "requirements" / "rasa.lock")
FALLBACK_INTENT = "nlu_fallback"  # produced by the FallbackClassifier in config.yml


def nlu_intents(files: tuple[Path, ...] | None = None) -> list[str]:
    """Every intent with examples in the NLU data, in first-seen order."""
    seen: dict[str, None] = {}
    for path in files or NLU_FILES:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                seen[str(item["intent"])] = None
    return list(seen)


def kefu_entities(domain: Path = REPO_ROOT / "bot" / "domain.yml") -> list[str]:
    """The entities Kefu's NLU extracts (regexes and annotated examples)."""
    return [str(e) for e in yaml.safe_load(domain.read_text(encoding="utf-8"))["entities"]]


def bare_domain(intents: list[str], entities: list[str]) -> dict[str, Any]:
    responses = {f"utter_{i}": [{"text": f"[bare] {i}"}] for i in intents}
    responses["utter_default"] = [{"text": "[bare] fallback"}]
    return {"version": "3.1", "intents": list(intents), "entities": list(entities),
            "responses": responses,
            "session_config": {"session_expiration_time": 60,
                               "carry_over_slots_to_new_session": True}}


def bare_rules(intents: list[str]) -> dict[str, Any]:
    rules = [{"rule": f"answer {i}", "steps": [{"intent": i}, {"action": f"utter_{i}"}]}
             for i in intents]
    rules.append({"rule": "nlu fallback",
                  "steps": [{"intent": FALLBACK_INTENT}, {"action": "utter_default"}]})
    return {"version": "3.1", "rules": rules}


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def fingerprint() -> str:
    intents = nlu_intents()
    h = hashlib.sha256()
    for path in (*FIXED_INPUTS, *NLU_FILES):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(_dump(bare_domain(intents, kefu_entities())).encode())
    h.update(_dump(bare_rules(intents)).encode())
    return h.hexdigest()[:16]


def write_project(folder: Path) -> tuple[Path, Path]:
    """The generated domain and a data folder (Kefu's NLU files + the rules); returns both."""
    intents = nlu_intents()
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for f in NLU_FILES:
        shutil.copy(f, data / f.name)
    (data / "rules.yml").write_text(_dump(bare_rules(intents)), encoding="utf-8")
    domain = folder / "domain.yml"
    domain.write_text(_dump(bare_domain(intents, kefu_entities())), encoding="utf-8")
    return domain, data


def ensure_bare_model(settings: Settings, rasa_venv: Path = RASA_VENV) -> Path:
    """Train the bare model when its inputs changed, and only then."""
    name = f"bare-{fingerprint()}"
    model = settings.cache_dir / "rasa-models" / f"{name}.tar.gz"
    if model.exists():  # the bare project is written only when training is needed
        return model
    with tempfile.TemporaryDirectory(prefix="kefu-bare-") as tmp:
        domain, data = write_project(Path(tmp))
        return cached_model(settings, name, domain, data, rasa_venv)


def start_bare(stack: Stack, settings: Settings, model: Path, port: int, log_dir: Path,
               rasa_venv: Path = RASA_VENV) -> None:
    """Add the bare server to ``stack``: REST channel plus the HTTP API (``/model/parse``);
    no endpoints file, so no action server and an in-memory tracker store."""
    stack.start("bare_rasa", [str(rasa_venv / "bin" / "rasa"), "run", "--model", str(model),
                              "--enable-api", "--credentials", "credentials.yml",
                              "--interface", "127.0.0.1", "--port", str(port)],
                rasa_env(settings, settings.data_dir / "bare_tracker_unused.db"), log_dir)
