"""make_provider: the Provider a project's ``spec.llm`` asks for.

``scripted`` replays recordings (offline, tests, examples); ``anthropic`` calls Claude;
``openai-compatible`` calls any chat-completions server (Ollama, vLLM, llama.cpp server, OpenAI);
``llamacpp`` runs a GGUF model in-process (optional extra ``local``). Each SDK is imported only
when its provider is made.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from mge.config import Settings
from mge.errors import ConfigError, NotAvailableYet
from mge.llm.base import Provider
from mge.llm.credentials import load_api_key
from mge.llm.scripted import ScriptedProvider
from mge.models.project import LLMSpec

__all__ = ["NOT_YET_PROVIDERS", "make_provider"]

NOT_YET_PROVIDERS: frozenset[str] = frozenset()
"""Provider names the schema accepts whose implementation is a later issue."""


def make_provider(
    spec: LLMSpec,
    settings: Settings,
    recordings_dir: Path | None = None,
    *,
    api_key: SecretStr | None = None,
) -> Provider:
    """The provider for ``spec``.

    ``recordings_dir``: the scripted provider's folder, already resolved by the caller (e.g.
    relative to the manifest); default ``spec.recordings`` as given. ``api_key``: the key when
    the caller already has it (the operator reads ``spec.llm.secretRef``); default from
    ``settings.anthropic_api_key_file`` or ANTHROPIC_API_KEY.
    """
    if spec.provider == "scripted":
        folder = recordings_dir or (Path(spec.recordings) if spec.recordings else None)
        if folder is None:
            raise ConfigError(
                "spec.llm.recordings: the scripted provider needs a folder of recordings"
            )
        return ScriptedProvider(folder, priced_as=spec.model)
    if spec.provider == "anthropic":
        from mge.llm.anthropic_provider import AnthropicProvider  # the SDK takes ~1 s to import

        return AnthropicProvider(
            api_key=api_key or load_api_key(settings),
            model=spec.model,
            base_url=spec.base_url,
            max_retries=settings.llm_max_retries,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    if spec.provider == "openai-compatible":
        from mge.llm.openai_provider import API_KEY_ENV, OpenAICompatibleProvider

        env_key = os.environ.get(API_KEY_ENV, "").strip()
        return OpenAICompatibleProvider(
            model=spec.model,
            base_url=spec.base_url,
            api_key=api_key or (SecretStr(env_key) if env_key else None),
            max_retries=settings.llm_max_retries,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    if spec.provider == "llamacpp":
        from mge.llm.llamacpp_provider import LlamaCppProvider, resolve_model_path

        return LlamaCppProvider(
            resolve_model_path(spec.model), max_output_tokens=settings.llamacpp_max_output_tokens
        )
    if spec.provider in NOT_YET_PROVIDERS:
        raise NotAvailableYet(
            f"spec.llm.provider {spec.provider!r} is not available yet (planned in a later "
            "issue); use 'anthropic', or 'scripted' with recordings"
        )
    raise ConfigError(f"spec.llm.provider: unknown provider {spec.provider!r}")
