"""Evaluations owned by other packages are optional: a section reports "not available" when
their module is missing instead of failing the whole report."""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_module(name: str) -> ModuleType | None:
    """The module, or None when it (or its package) does not exist; a missing dependency
    inside an existing module is an error, not absence."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise
