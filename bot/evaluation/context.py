"""What every report section shares: where the evaluations' JSON lives, whether to reuse it,
and the settings and sentiment model, each resolved once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.settings import REPO_ROOT, Settings


@dataclass
class Context:
    reports: Path = REPO_ROOT / "reports"
    reuse: bool = False
    memo: dict[str, Any] = field(default_factory=dict)  # results shared between sections
    _settings: Settings | None = field(default=None, repr=False)
    _sentiment_model: str | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from bot.settings import get_settings

            self._settings = get_settings()
        return self._settings

    def sentiment_model(self) -> str:
        """The configured sentiment model, or the default one (built when missing)."""
        if self._sentiment_model is None:
            from bot.sentiment.build import ensure_sentiment_model

            self._sentiment_model = ensure_sentiment_model(self.settings)
        return self._sentiment_model

    def load_or_run(self, name: str, run: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any],
                                                                                 str]:
        """The evaluation's JSON at ``reports/name``: reused when asked to and present,
        otherwise computed by ``run`` and written there (where the module's own CLI writes)."""
        path = self.reports / name
        if self.reuse and path.exists():
            print(f"  reusing {self.shown(path)}", flush=True)
            return json.loads(path.read_text(encoding="utf-8")), f"{self.shown(path)} (reused)"
        result = run()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        return result, self.shown(path)

    @staticmethod
    def shown(path: Path) -> str:
        """The path as the report prints it: relative to the repository when inside it."""
        return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)
