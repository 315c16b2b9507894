"""The Rasa server's entry point (runs in Rasa's Python 3.10 environment): ``rasa`` with one
fix and one guard applied first.

The fix: Rasa 3.6 checks every action server response with ``jsonschema.validate``, which
first checks the response schema itself against the JSON meta-schema, every time: ~20 ms of CPU
on Rasa's event loop per action call, two or three calls per turn, about half of Rasa's time
per turn (``bench.stack`` with cProfile). Here the validator is built once; each response is
still validated against the same schema and fails with the same error.

The guard: ``rasa run`` serves its channel webhooks to anyone who can connect, and
``--auth-token`` protects only its HTTP API (``--enable-api``), not the REST channel the hub
uses, so any local process could post messages with a forged ``customer_id`` in the metadata.
``run`` therefore needs ``KEFU_RASA_TOKEN`` in the environment: it becomes Rasa's
``--auth-token`` (added here, so it never shows in the process list) and every request but
the health check ``/`` must carry it as ``?token=`` (401 otherwise).

    KEFU_RASA_TOKEN=... python -m bot.rasa_run run --model ... (any ``rasa`` arguments)
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)
HINT = (". Failed to validate Action server response from API, make sure your response from "
        "the Action endpoint is valid. For more information about the format visit "
        "{docs}/custom-actions")


def patch_action_validation() -> bool:
    """Validate action server responses with a validator built once; False when this Rasa
    does not look like the one the fix was written for (then nothing changes)."""
    from jsonschema import exceptions, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if not callable(getattr(RemoteAction, "_validate_action_result", None)):
        log.warning("RemoteAction has no _validate_action_result; not patched")
        return False

    @lru_cache(maxsize=1)
    def validator() -> Any:
        spec = RemoteAction.action_response_format_spec()
        cls = validators.validator_for(spec)
        cls.check_schema(spec)  # once, instead of on every response
        return cls(spec)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = exceptions.best_match(validator().iter_errors(result))
        if error is not None:  # what jsonschema.validate raises, with Rasa's hint
            error.message += HINT.format(docs=DOCS_BASE_URL)
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    return True


TOKEN_ENV = "KEFU_RASA_TOKEN"
OPEN_PATHS = frozenset({"/"})  # the health check (it answers "Hello from Rasa: <version>")


def token_ok(path: str, provided: str | None, expected: str) -> bool:
    if path in OPEN_PATHS:
        return True
    return provided is not None and hmac.compare_digest(provided.encode(), expected.encode())


def token_guard(expected: str) -> Callable[[Any], Awaitable[Any]]:
    """A Sanic request middleware: 401 for a request without ``?token=<expected>``."""

    async def guard(request: Any) -> Any:
        if token_ok(request.path, request.args.get("token"), expected):
            return None
        from sanic import response

        return response.json({"error": "unauthorized",
                              "message": "a valid ?token= is required"}, status=401)

    return guard


def guard_server(expected: str) -> None:
    """Every Sanic app ``rasa run`` configures gets ``token_guard`` first."""
    import rasa.core.run

    configure_app = rasa.core.run.configure_app

    def configure_guarded_app(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.register_middleware(token_guard(expected), "request")
        return app

    rasa.core.run.configure_app = configure_guarded_app


def rasa_argv(argv: list[str], env: dict[str, str]) -> tuple[list[str], str | None]:
    """``rasa``'s arguments and the token to guard with (``run`` only). ``run`` without
    ``KEFU_RASA_TOKEN`` is refused (SystemExit): Rasa never starts unguarded."""
    args = ["rasa", *argv[1:]]
    if len(args) < 2 or args[1] != "run":
        return args, None
    token = env.get(TOKEN_ENV, "")
    if len(token.encode()) < 32:
        raise SystemExit(f"{TOKEN_ENV} must be set (at least 32 bytes) to run Rasa; "
                         "bot.launcher passes the hub's")
    if "--auth-token" not in args:
        args += ["--auth-token", token]
    return args, token


def main() -> None:
    sys.argv, token = rasa_argv(sys.argv, dict(os.environ))
    patch_action_validation()
    if token is not None:
        guard_server(token)
    from rasa.__main__ import main as rasa_main

    sys.exit(rasa_main())


if __name__ == "__main__":
    main()
