"""bot.rasa_run's fix, run in Rasa's own environment: action server responses are validated
exactly as Rasa does (valid ones pass, invalid ones fail with Rasa's error and message)."""

from __future__ import annotations

import json
import subprocess

import pytest

from bot.launcher import RASA_VENV
from bot.settings import REPO_ROOT

CHECK = """
import json, warnings
warnings.simplefilter("ignore")
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from bot.rasa_run import patch_action_validation

original = RemoteAction._validate_action_result
action = RemoteAction("action_x", None)
ok = {"events": [{"event": "slot", "name": "language", "value": "zh"}],
      "responses": [{"text": "hi", "buttons": [{"title": "a", "payload": "/b"}]}]}
bad = {"events": [{"event": "slot", "name": 5}], "responses": []}

def outcome(validate, result):
    try:
        return ["ok", validate(action, result)]
    except ValidationError as e:
        return ["error", e.message]

before = [outcome(original, r) for r in (ok, bad)]
patched = patch_action_validation()
after = [outcome(RemoteAction._validate_action_result, r) for r in (ok, bad)]
print(json.dumps({"patched": patched, "before": before, "after": after,
                  "replaced": RemoteAction._validate_action_result is not original}))
"""


@pytest.mark.skipif(not (RASA_VENV / "bin" / "python").exists(), reason="no Rasa environment")
def test_patched_validation_matches_rasa() -> None:
    proc = subprocess.run([str(RASA_VENV / "bin" / "python"), "-c", CHECK], cwd=REPO_ROOT,
                          env={"PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
                               "RASA_TELEMETRY_ENABLED": "false"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["patched"] and got["replaced"]
    assert got["after"] == got["before"]
    assert got["after"][0] == ["ok", True]
    kind, message = got["after"][1]
    assert kind == "error" and "Failed to validate Action server response" in message


GUARD_CHECK = """
import asyncio, json, socket, sys, warnings
warnings.simplefilter("ignore")
import aiohttp
import rasa.core.run
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import read_endpoint_config
from bot.rasa_run import guard_server

TOKEN = sys.argv[1]
guard_server(TOKEN)
app = rasa.core.run.configure_app([RestInput()], enable_api=False)  # as `rasa run` does

async def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    base, out = f"http://127.0.0.1:{port}", {}
    async with aiohttp.ClientSession() as http:
        for name, method, path, params in (
                ("health", "GET", "/", None),
                ("channel_without_token", "GET", "/webhooks/rest/", None),
                ("channel_wrong_token", "GET", "/webhooks/rest/", {"token": "x" * 40}),
                ("channel_with_token", "GET", "/webhooks/rest/", {"token": TOKEN}),
                ("message_without_token", "POST", "/webhooks/rest/webhook", None)):
            async with http.request(method, base + path, params=params, json={
                    "sender": "s", "message": "hi", "metadata": {"customer_id": 1}}) as r:
                out[name] = r.status
    server.close()
    await server.wait_closed()
    action = read_endpoint_config("endpoints.yml", "action_endpoint")
    out["action_headers"] = action.headers
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.mark.skipif(not (RASA_VENV / "bin" / "python").exists(), reason="no Rasa environment")
def test_rasa_refuses_requests_without_the_token_and_sends_the_action_secret() -> None:
    """On Rasa's own Sanic app, as ``rasa run`` builds it: the REST channel (which
    ``--auth-token`` does not cover) answers 401 without ``?token=``; endpoints.yml gives
    the action server calls the shared-secret header from the environment."""
    token, action_token = "rasa-" + "r" * 40, "action-" + "a" * 40
    proc = subprocess.run([str(RASA_VENV / "bin" / "python"), "-c", GUARD_CHECK, token],
                          cwd=REPO_ROOT,
                          env={"PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
                               "RASA_TELEMETRY_ENABLED": "false", "KEFU_ACTION_PORT": "5055",
                               "KEFU_ACTION_TOKEN": action_token,
                               "KEFU_TRACKER_DB": "/tmp/unused.db"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got.pop("action_headers") == {"X-Kefu-Action-Token": action_token}
    assert got == {"health": 200, "channel_without_token": 401, "channel_wrong_token": 401,
                   "channel_with_token": 200, "message_without_token": 401}


def test_rasa_run_needs_the_token_and_hands_it_to_rasa_off_the_command_line() -> None:
    from bot.rasa_run import rasa_argv

    token = "k" * 40
    args, guard = rasa_argv(["bot/rasa_run.py", "run", "--model", "m.tar.gz"],
                            {"KEFU_RASA_TOKEN": token})
    assert args == ["rasa", "run", "--model", "m.tar.gz", "--auth-token", token]
    assert guard == token
    for env in ({}, {"KEFU_RASA_TOKEN": "short"}):
        with pytest.raises(SystemExit, match="KEFU_RASA_TOKEN"):
            rasa_argv(["x", "run", "--model", "m"], env)
    assert rasa_argv(["x", "train", "--out", "o"], {}) == (["rasa", "train", "--out", "o"], None)


async def test_the_guard_lets_through_only_the_token_and_the_health_check() -> None:
    from types import SimpleNamespace

    from bot.rasa_run import token_guard

    guard = token_guard("s" * 40)

    async def status(path: str, token: str | None) -> int | None:
        request = SimpleNamespace(path=path, args={"token": token} if token else {})
        refused = await guard(request)
        return None if refused is None else refused.status

    assert await status("/", None) is None
    assert await status("/webhooks/rest/webhook", "s" * 40) is None
    assert await status("/webhooks/rest/webhook", None) == 401
    assert await status("/webhooks/rest/webhook", "s" * 39 + "t") == 401
    assert await status("/model/parse", "") == 401
