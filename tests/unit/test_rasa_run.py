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
