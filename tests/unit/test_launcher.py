"""The launcher hands the stack's shared secrets to each process in its environment (never on
a command line, which every local user can read), and warms the action server up with its
secret. The end-to-end suite starts the stack through the same ``start_stack``."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from bot import launcher
from tests.conftest import make_settings


def test_each_process_gets_the_secrets_it_needs_in_its_environment(tmp_path: Path,
                                                                   monkeypatch) -> None:
    settings = make_settings(tmp_path, rasa_url="http://127.0.0.1:5999")
    started: dict[str, tuple[list[str], dict[str, str]]] = {}
    monkeypatch.setattr(launcher.Stack, "start",
                        lambda self, name, cmd, env, log_dir: started.update({name: (cmd, env)}))
    monkeypatch.setattr(launcher, "wait_http", lambda *a, **k: None)
    warmed: list[tuple[int, str]] = []
    monkeypatch.setattr(launcher, "warm_up_actions", lambda port, token: warmed.append(
        (port, token)))
    launcher.start_stack(settings, tmp_path / "model.tar.gz", log_dir=tmp_path / "logs")

    rasa_token, action_token = settings.rasa_auth_token(), settings.action_auth_token()
    assert rasa_token != action_token
    rasa_cmd, rasa_env = started["rasa"]
    assert rasa_cmd[1:3] == ["-m", "bot.rasa_run"]  # the entry point that guards Rasa
    assert rasa_env["KEFU_RASA_TOKEN"] == rasa_token
    assert rasa_env["KEFU_ACTION_TOKEN"] == action_token  # endpoints.yml reads it
    assert started["actions"][1]["KEFU_ACTION_TOKEN"] == action_token
    assert started["hub"][1]["KEFU_RASA_TOKEN"] == rasa_token
    for name, (cmd, _) in started.items():
        assert not {rasa_token, action_token} & set(" ".join(cmd).split()), name
    assert warmed == [(settings.action_port, action_token)]
    assert launcher.rasa_env(settings, tmp_path / "t.db")["KEFU_ACTION_TOKEN"] == action_token


def test_the_warm_up_call_carries_the_action_secret() -> None:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get("X-Kefu-Action-Token"))
            body = json.dumps({"events": [], "responses": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        launcher.warm_up_actions(server.server_port, "the-action-secret")
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["the-action-secret"]
