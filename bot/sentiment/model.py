"""The sentiment seam: ``warm_up()`` then ``score(texts)`` → one (label, probability) per text,
labels negative / neutral / positive.

``TransformersSentiment`` loads any Hugging Face ``AutoModelForSequenceClassification``
checkpoint by name or path (our locally built default, or e.g. a multilingual XLM-R sentiment
model where a hub is reachable); label names are read from the checkpoint's ``id2label``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

LABELS = ("negative", "neutral", "positive")
# Common label spellings in public checkpoints
_ALIASES = {"neg": "negative", "negative": "negative", "label_0": "negative",
            "neu": "neutral", "neutral": "neutral", "label_1": "neutral",
            "pos": "positive", "positive": "positive", "label_2": "positive"}


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float  # probability of ``label``
    probs: tuple[float, float, float]  # negative, neutral, positive


class SentimentModel(Protocol):
    def warm_up(self) -> None: ...

    def score(self, texts: list[str]) -> list[Sentiment]: ...


class TransformersSentiment:
    def __init__(self, name_or_path: str, max_length: int = 128, batch_size: int = 32) -> None:
        self.name_or_path = name_or_path
        self.max_length = max_length
        self.batch_size = batch_size
        self._model: Any = None
        self._tokenizer: Any = None
        self._index: list[int] = []  # our label i -> model output index
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)
            model = AutoModelForSequenceClassification.from_pretrained(self.name_or_path)
            model.eval()
            names = {i: _ALIASES.get(str(n).lower(), str(n).lower())
                     for i, n in model.config.id2label.items()}
            missing = [lab for lab in LABELS if lab not in names.values()]
            if missing:
                raise ValueError(f"{self.name_or_path}: labels {sorted(names.values())} lack "
                                 f"{missing}")
            self._index = [next(i for i, n in names.items() if n == lab) for lab in LABELS]
            self._tokenizer, self._model = tokenizer, model

    def score(self, texts: list[str]) -> list[Sentiment]:
        import torch

        self.warm_up()
        out: list[Sentiment] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else "." for t in texts[start:start + self.batch_size]]
            enc = self._tokenizer(batch, padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                probs = torch.softmax(self._model(**enc).logits, dim=-1)[:, self._index]
            for row in probs.tolist():
                i = max(range(3), key=row.__getitem__)
                out.append(Sentiment(LABELS[i], float(row[i]), (row[0], row[1], row[2])))
        return out
