"""Checks that evaluation text does not also appear in training data.

Texts are compared after lower-casing and dropping punctuation and spacing, so "Hi!" and
"hi" count as the same message: the check errs towards reporting overlap."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from bot.settings import REPO_ROOT

_NON_WORD = re.compile(r"[\W_]+")
_ENTITY = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")


def normalise(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def overlap(evaluation: Iterable[str], training: Iterable[str]) -> list[str]:
    """The evaluation texts (as given) whose normalised form also occurs in ``training``."""
    seen = {normalise(t) for t in training}
    return [t for t in evaluation if normalise(t) in seen]


def nlu_training_texts(folder: Path = REPO_ROOT / "nlu_data") -> list[str]:
    """Every NLU example Rasa trains on (entity annotations reduced to their text)."""
    out: list[str] = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                text = _ENTITY.sub(lambda m: m.group(1) or m.group(2),
                                   line.strip().removeprefix("- ").strip())
                if text:
                    out.append(text)
    return out


def story_user_texts(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(step["user"]).strip() for story in data.get("stories") or []
            for step in story.get("steps") or [] if "user" in step]
