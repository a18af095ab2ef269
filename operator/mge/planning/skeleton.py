"""Skeletons: the model writes, per task, the files it owns with every body left empty.

The answer format (prompts/skeleton.v1.md) is one ``### path`` heading per file followed by one
fenced block. :func:`skeleton_files` parses it; anything else is a clear error, fed back by the
structured-output repair path of the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markdown_it import MarkdownIt

from mge import prompts
from mge.errors import StructuredOutputError
from mge.llm.base import LLMRequest
from mge.models.plan import Masterplan, Task

SKELETON_KEY = "skeleton/{task_id}"
SKELETON_TEMPERATURE = 0.2
SKELETON_MAX_TOKENS = 16_000

_markdown = MarkdownIt("commonmark")


def skeleton_files(answer: str) -> dict[str, str]:
    """The files of a skeleton answer: each ``### path`` heading followed by one fenced block."""
    files: dict[str, str] = {}
    path: str | None = None
    tokens = _markdown.parse(answer)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == "h3":
            path = tokens[i + 1].content.strip().strip("`")
        elif tok.type == "fence":
            if path is None:
                raise StructuredOutputError(
                    "skeleton answer: a fenced block has no `### path` heading before it"
                )
            if path in files:
                raise StructuredOutputError(f"skeleton answer: {path} is written twice")
            files[path] = tok.content
            path = None
    if path is not None:
        raise StructuredOutputError(f"skeleton answer: `### {path}` has no fenced block")
    return files


def check_ownership(task: Task, files: Mapping[str, str]) -> None:
    """The skeleton must write exactly the files the task owns."""
    owned, written = set(task.files), set(files)
    if owned != written:
        missing = ", ".join(sorted(owned - written)) or "none"
        extra = ", ".join(sorted(written - owned)) or "none"
        raise StructuredOutputError(
            f"skeleton for {task.id} must write exactly its files; missing: {missing}; "
            f"not owned: {extra}"
        )


def task_order(plan: Masterplan) -> list[Task]:
    """Tasks with every dependency before its dependents (plan order breaks ties)."""
    tasks = plan.tasks()
    done: set[str] = set()
    ordered: list[Task] = []
    while len(ordered) < len(tasks):
        ready = [t for t in tasks if t.id not in done and set(t.depends_on) <= done]
        if not ready:  # validate_plan rejects cycles; this guards against misuse
            raise StructuredOutputError("masterplan tasks depend on each other in a cycle")
        ordered.append(ready[0])
        done.add(ready[0].id)
    return ordered


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {i}" for i in items) or "- (none)"


def skeleton_request(
    task: Task,
    *,
    language: str,
    conventions: str,
    dependency_files: Mapping[str, str],
    patterns: str,
) -> LLMRequest:
    """The request for one task's skeleton; stable project context first."""
    deps = "\n\n".join(
        f"### {path}\n```{language}\n{text}```" for path, text in sorted(dependency_files.items())
    )
    system, prompt = prompts.render(
        "skeleton",
        language=language,
        conventions=conventions,
        task_id=task.id,
        task_title=task.title,
        task_description=task.description,
        files=_bullets(task.files),
        covers=_bullets(task.covers),
        acceptance=_bullets(task.acceptance),
        dependencies=deps or "(none)",
        patterns=patterns or "(none)",
    )
    return LLMRequest(
        key=SKELETON_KEY.format(task_id=task.id),
        system=(system,),
        prompt=prompt,
        temperature=SKELETON_TEMPERATURE,
        max_tokens=SKELETON_MAX_TOKENS,
    )
