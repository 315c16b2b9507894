"""The action server refuses calls without the shared secret header (401), except its health
check; rasa-sdk finds the check through its plugin hook (rasa_sdk_plugins)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

from actions.server_auth import HEADER, token_guard
from bot.settings import REPO_ROOT

SECRET = "action-secret-" + "s" * 40


async def _status(path: str, headers: dict[str, str]) -> int | None:
    refused = await token_guard(SECRET)(SimpleNamespace(path=path, headers=headers))
    return None if refused is None else refused.status


async def test_only_calls_with_the_secret_get_through() -> None:
    assert await _status("/webhook", {HEADER: SECRET}) is None
    assert await _status("/webhook", {}) == 401
    assert await _status("/webhook", {HEADER: SECRET[:-1] + "x"}) == 401
    assert await _status("/webhook", {HEADER: ""}) == 401
    assert await _status("/actions", {}) == 401
    assert await _status("/health", {}) is None  # the launcher waits on it


SERVER_CHECK = """
import asyncio, json, socket, sys, warnings
warnings.simplefilter("ignore")
import aiohttp
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor

app = create_app_for_serve(ActionExecutor())  # what each action server worker builds

async def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    base, out, good = f"http://127.0.0.1:{port}", {}, {"X-Kefu-Action-Token": sys.argv[1]}
    body = {"next_action": "action_none", "sender_id": "s", "tracker": {"sender_id": "s"},
            "domain": {}}
    async with aiohttp.ClientSession() as http:
        for name, method, path, headers in (
                ("health", "GET", "/health", None),
                ("webhook_without", "POST", "/webhook", None),
                ("webhook_wrong", "POST", "/webhook", {"X-Kefu-Action-Token": "w" * 40}),
                ("webhook_with", "POST", "/webhook", good),
                ("actions_without", "GET", "/actions", None)):
            async with http.request(method, base + path, json=body, headers=headers) as r:
                out[name] = r.status
    server.close()
    await server.wait_closed()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_the_action_server_app_refuses_calls_without_the_secret(tmp_path) -> None:
    """rasa-sdk's own app, with plugins attached as when the server starts."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "KEFU_ACTION_TOKEN": SECRET,
           "KEFU_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", SERVER_CHECK, SECRET], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # with the secret the request reaches rasa-sdk, which knows no "action_none" (404)
    assert got == {"health": 200, "webhook_without": 401, "webhook_wrong": 401,
                   "webhook_with": 404, "actions_without": 401}
