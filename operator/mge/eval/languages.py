"""Which target languages `mge eval humaneval` can measure, and why only Python (pure).

HumanEval is a Python problem set: each prompt is a Python signature and docstring, the
visible examples are Python doctests, and the hidden tests are a Python ``check(candidate)``.
Asking a model for TypeScript or JavaScript against it would score nothing meaningful, and a
translated set (MultiPL-E's HumanEval-TS/JS) is a different benchmark with its own data, not
bundled here. For TS/JS with a local model, `mge run examples/tiny-ts/project.yaml` writes a
small TypeScript library end to end (strict tsc + node --test on every atom).
"""

from __future__ import annotations

from mge.errors import ConfigError

__all__ = ["HUMANEVAL_LANGUAGE", "TS_JS_INSTEAD", "check_humaneval_language"]

HUMANEVAL_LANGUAGE = "python"
"""The only language HumanEval's prompts and hidden tests are written in."""

TS_JS_INSTEAD = "mge run examples/tiny-ts/project.yaml"
"""What measures a TS/JS target with a local model instead."""

_OTHER_TARGETS = frozenset({"typescript", "javascript", "ts", "js"})


def check_humaneval_language(language: str) -> None:
    """Accept ``python``; otherwise a :class:`ConfigError` saying why and what to use.

    Pre: ``language`` is what the user passed to ``--language`` (any case, spaces trimmed).
    Post: returns for ``python``; raises ConfigError naming ``--language`` and the fix.
    """
    name = language.strip().lower()
    if name == HUMANEVAL_LANGUAGE:
        return
    if name in _OTHER_TARGETS:
        raise ConfigError(
            f"--language {language}: HumanEval is Python-only (its prompts are Python "
            "signatures, its examples Python doctests, its hidden tests a Python "
            "check(candidate)), so a TypeScript/JavaScript answer cannot be scored against it. "
            f"Use --language python, or measure a TS/JS target with `{TS_JS_INSTEAD}` "
            "(a local model writes a TypeScript library checked by strict tsc and node --test)"
        )
    raise ConfigError(f"--language {language}: unknown language; HumanEval supports only 'python'")
