"""Build the request for one attempt of one atom: stable context first, the variable part last.

System blocks, most stable first so prompt caching reuses them:

1. the rules and the project conventions (the same for every atom of the project);
2. the skeleton of the atom's file (the same for every atom of that file);
3. the validated code of the atom's dependencies (the same for every attempt of the atom) —
   or only the signature of a dependency whose code was not validated (it ended in review).

The prompt holds what changes: the atom's contract, its tests, retrieved patterns and, on a
retry, the previous code with the failure analysis and any outside feedback. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from mge import prompts
from mge.execution.retry import AttemptPlan
from mge.llm.base import LLMRequest
from mge.models.atoms import AtomicUnit
from mge.validation.codebase import Codebase

ATOM_TEMPLATE = "atom"
RETRY_TEMPLATE = "atom_retry"
BLOCK_SEPARATOR = "=== block ==="

ATOM_MAX_TOKENS = 2048
"""Output cap of one atom answer: a ~10-line function fits many times over."""

NONE_TEXT = "(none)"

DEFAULT_CONVENTIONS: Mapping[str, str] = {
    "python": "Python 3.11, standard library first, type hints everywhere, PEP 8 names, "
    "pure functions where possible, raise ValueError for invalid input.",
    "typescript": "TypeScript (strict), ES modules, no `any`, pure functions where possible, "
    "throw Error for invalid input.",
    "javascript": "Modern JavaScript (ES2022), ES modules, pure functions where possible.",
}


EXAMPLES_PER_ATOM = 3
"""Learned examples asked of retrieval per atom (the prompt budget may keep fewer)."""
EXAMPLES_MAX_CHARS = 2400
"""Prompt budget of an atom's learned examples, characters (~600 tokens): the contract, the
tests and the dependencies matter more; an example that does not fit is left out whole."""
EXAMPLE_MIN_SCORE = 0.35
"""Cosine similarity below which a learned example is not shown (unrelated code misleads)."""


@dataclass(frozen=True)
class Example:
    """Validated code learned from an earlier project, similar to the atom being written."""

    entry_id: str
    title: str
    code: str
    language: str
    score: float
    project: str = ""


ExampleSource = Callable[[AtomicUnit], Awaitable[Sequence[Example]]]
"""Retrieval of learned examples for one atom, best first (the drivers build it over Chroma)."""


def example_query(atom: AtomicUnit) -> str:
    """What an atom's examples are searched with: its name, signature and specification."""
    return "\n".join(p for p in (atom.qualname, atom.signature, atom.spec) if p)


def fit_examples(
    examples: Sequence[Example],
    max_chars: int = EXAMPLES_MAX_CHARS,
    min_score: float = EXAMPLE_MIN_SCORE,
) -> list[Example]:
    """The examples shown, best first: similar enough, one per code, within ``max_chars``."""
    kept: list[Example] = []
    seen: set[str] = set()
    used = 0
    for e in sorted(examples, key=lambda e: -e.score):
        size = len(e.code)
        if e.score < min_score or e.code in seen or used + size > max_chars:
            continue
        kept.append(e)
        seen.add(e.code)
        used += size
    return kept


def example_blocks(examples: Sequence[Example]) -> tuple[str, ...]:
    """One prompt block per example: where it came from, then its code."""
    blocks = []
    for e in examples:
        origin = f" (project {e.project})" if e.project else ""
        blocks.append(f"`{e.title}`{origin}, validated:\n```{e.language}\n{e.code.strip()}\n```")
    return tuple(blocks)


@dataclass(frozen=True)
class AtomContext:
    """What one atom's prompt is built from.

    ``patterns`` fills the template's pattern slot: learned examples similar to the atom
    (:func:`example_blocks`), or nothing — then the slot says (none) and the prompt text is the
    same as without retrieval.
    """

    atom: AtomicUnit
    skeleton: str
    dependencies: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    conventions: str = ""


def dependency_blocks(
    atom: AtomicUnit, codebase: Codebase, validated: Mapping[str, str]
) -> tuple[str, ...]:
    """One block per dependency: its validated code, or its signature when it has none.

    Dependencies that are not atoms of this codebase are ignored (the skeleton shows them).
    """
    blocks = []
    for dep_id in atom.dependencies:
        dep = codebase.atoms.get(dep_id)
        if dep is None:
            continue
        fence = dep.language
        if dep_id in validated:
            body = validated[dep_id].strip("\n")
            blocks.append(f"`{dep.qualname}` in `{dep.file}` (validated):\n```{fence}\n{body}\n```")
        else:
            blocks.append(
                f"`{dep.qualname}` in `{dep.file}` (signature only, its code is not validated):\n"
                f"```{fence}\n{dep.signature}\n```"
            )
    return tuple(blocks)


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {i}" for i in items) if items else NONE_TEXT


def _tests_text(atom: AtomicUnit) -> str:
    if atom.context.tests:
        return "\n\n".join(f"```{atom.language}\n{t.strip()}\n```" for t in atom.context.tests)
    return _bullets(atom.test_cases)


def _types_text(atom: AtomicUnit) -> str:
    items = [*atom.context.types, *atom.context.dependency_signatures]
    return "\n".join(items) if items else NONE_TEXT


def build_request(
    ctx: AtomContext, plan: AttemptPlan, max_tokens: int = ATOM_MAX_TOKENS
) -> LLMRequest:
    """The LLMRequest for ``plan`` (key ``atom/<id>/attempt-<n>`` or ``…/regenerate-<n>``)."""
    atom = ctx.atom
    conventions = ctx.conventions or DEFAULT_CONVENTIONS.get(atom.language, "")
    system, prompt = prompts.render(
        ATOM_TEMPLATE,
        language=atom.language,
        conventions=conventions,
        file=atom.file,
        skeleton=ctx.skeleton.strip("\n"),
        qualname=atom.qualname,
        dependencies="\n\n".join(ctx.dependencies) or NONE_TEXT,
        signature=atom.signature,
        spec=atom.spec or NONE_TEXT,
        preconditions=_bullets(atom.preconditions or atom.context.preconditions),
        postconditions=_bullets(atom.postconditions or atom.context.postconditions),
        types=_types_text(atom),
        tests=_tests_text(atom),
        patterns="\n\n".join(ctx.patterns) or NONE_TEXT,
    )
    blocks = tuple(b.strip() for b in system.split(BLOCK_SEPARATOR) if b.strip())
    if plan.is_retry:
        _, retry = prompts.render(
            RETRY_TEMPLATE,
            number=plan.number,
            language=atom.language,
            previous_code=(plan.previous_code or "").strip("\n") or NONE_TEXT,
            analysis=plan.analysis_text() or NONE_TEXT,
            feedback=f"Feedback:\n{plan.feedback}" if plan.feedback else "",
        )
        prompt = prompt + "\n\n" + retry
    return LLMRequest(
        key=plan.key,
        system=blocks,
        prompt=prompt,
        temperature=plan.temperature,
        max_tokens=max_tokens,
    )


def prompt_hash(request: LLMRequest) -> str:
    """sha256 of what the model was shown (system blocks, prompt, temperature)."""
    blob = "\x00".join([*request.system, request.prompt, f"{request.temperature:.3f}"])
    return hashlib.sha256(blob.encode()).hexdigest()
