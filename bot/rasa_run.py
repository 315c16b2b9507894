"""The Rasa server's entry point (runs in Rasa's Python 3.10 environment): ``rasa`` with one
fix applied first.

Rasa 3.6 checks every action server response with ``jsonschema.validate``, which first checks
the response schema itself against the JSON meta-schema, every time: ~20 ms of CPU on Rasa's
event loop per action call, two or three calls per turn, about half of Rasa's time per turn
(``bench.stack`` with cProfile). Here the validator is built once; each response is still
validated against the same schema and fails with the same error.

    python -m bot.rasa_run run --model ... (any ``rasa`` arguments)
"""

from __future__ import annotations

import logging
import sys
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


def main() -> None:
    patch_action_validation()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    sys.exit(rasa_main())


if __name__ == "__main__":
    main()
