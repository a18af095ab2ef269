"""Structured answers: JSON out of a model's text, validated into a pydantic model, one repair.

Models wrap JSON in ```json fences or a sentence of prose, and now and then get a field wrong.
:func:`complete_structured` extracts the JSON (fenced block first, else the first JSON value in
the text), validates it, and on failure makes ONE repair request (key ``<key>/repair``, prompt
template ``repair``) that shows the validation errors and asks for corrected JSON only. If that
answer does not validate either, StructuredOutputError lists the errors.

:func:`extract_code` does the same for code answers: the fenced block in the wanted language, any
fenced block, or the raw text.

Fences are found with markdown-it-py (CommonMark), not a hand-written regex, so ``~~~`` fences,
longer fences and an unterminated fence at the end of a cut-off answer all work.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from markdown_it import MarkdownIt
from pydantic import BaseModel, ValidationError

from mge import prompts
from mge.errors import ParseFailure, StructuredOutputError
from mge.llm.base import LLMRequest, LLMResponse

__all__ = [
    "REPAIR_SUFFIX",
    "REPAIR_TEMPERATURE",
    "complete_structured",
    "extract_code",
    "extract_json",
    "fenced_blocks",
    "parse_structured",
    "repair_request",
]

M = TypeVar("M", bound=BaseModel)

REPAIR_SUFFIX = "/repair"
"""Appended to the request key of the repair round."""

REPAIR_TEMPERATURE = 0.0
"""The repair asks for a correction, not a new idea."""

MAX_ANSWER_CHARS_IN_REPAIR = 24_000
"""A longer failed answer is cut (head and tail kept) before it is shown back to the model."""

MAX_INPUT_CHARS_IN_ERROR = 80
"""How much of an offending value an error line shows."""

MAX_ERRORS_SHOWN = 30
"""Error lines shown to the model and in StructuredOutputError."""

LANGUAGE_ALIASES: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3"}),
    "typescript": frozenset({"typescript", "ts", "tsx"}),
    "javascript": frozenset({"javascript", "js", "jsx", "mjs"}),
    "json": frozenset({"json", "jsonc"}),
}
"""Info strings accepted as the same language."""

_markdown = MarkdownIt("commonmark")
_decoder = json.JSONDecoder()


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced code block of a Markdown text as ``(language, content)``, in order."""
    return [
        (tok.info.strip().split(" ")[0].lower(), tok.content)
        for tok in _markdown.parse(text)
        if tok.type == "fence"
    ]


def _first_json_value(text: str) -> Any:
    """The first complete JSON object or array in ``text``, skipping prose around it."""
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                value, _ = _decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                continue
            return value
    raise ParseFailure(["the answer contains no JSON object or array"])


def extract_json(text: str) -> Any:
    """The JSON value an answer carries: a fenced block's (json first) or the first in the text.

    Raises ParseFailure when there is none.
    """
    blocks = fenced_blocks(text)
    ordered = [c for lang, c in blocks if lang in LANGUAGE_ALIASES["json"]] + [
        c for lang, c in blocks if lang not in LANGUAGE_ALIASES["json"]
    ]
    for content in ordered:
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            continue
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    if blocks:
        # A fenced block that is JSON with prose or a trailing comment inside it.
        for content in ordered:
            try:
                return _first_json_value(content)
            except ParseFailure:
                continue
    return _first_json_value(text)


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_INPUT_CHARS_IN_ERROR:
        return text[: MAX_INPUT_CHARS_IN_ERROR - 3] + "..."
    return text


def describe_validation_error(err: ValidationError) -> list[str]:
    """One line per error: the field path, the message and (shortened) what was given."""
    lines = []
    for e in err.errors()[:MAX_ERRORS_SHOWN]:
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{path}: {e['msg']} (got {_shown(e.get('input'))})")
    if err.error_count() > MAX_ERRORS_SHOWN:
        lines.append(f"... and {err.error_count() - MAX_ERRORS_SHOWN} more")
    return lines


def parse_structured(text: str, model_cls: type[M]) -> M:
    """``text`` parsed into ``model_cls``; ParseFailure lists what is wrong."""
    value = extract_json(text)
    try:
        return model_cls.model_validate(value)
    except ValidationError as e:
        raise ParseFailure(describe_validation_error(e)) from e


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters left out] ...\n{text[-half:]}"


def repair_request(
    original: LLMRequest, answer: str, errors: list[str], model_cls: type[BaseModel]
) -> LLMRequest:
    """The one repair round: same stable system blocks, a prompt showing the errors."""
    schema = json.dumps(model_cls.model_json_schema(by_alias=True), indent=1, ensure_ascii=False)
    _, prompt = prompts.render(
        "repair",
        task=original.prompt,
        answer=_clip(answer, MAX_ANSWER_CHARS_IN_REPAIR),
        errors="\n".join(f"- {e}" for e in errors),
        model_name=model_cls.__name__,
        schema=schema,
    )
    return original.model_copy(
        update={
            "key": original.key + REPAIR_SUFFIX,
            "prompt": prompt,
            "temperature": min(original.temperature, REPAIR_TEMPERATURE),
        }
    )


def _combined(first: LLMResponse, second: LLMResponse) -> LLMResponse:
    """The repair's response, accounting for both calls."""
    return second.model_copy(
        update={
            "usage": first.usage + second.usage,
            "cost_usd": first.cost_usd + second.cost_usd,
            "from_cache": first.from_cache and second.from_cache,
            "recorded": first.recorded or second.recorded,
        }
    )


async def complete_structured(
    complete: Callable[[LLMRequest], Awaitable[LLMResponse]],
    request: LLMRequest,
    model_cls: type[M],
) -> tuple[M, LLMResponse]:
    """Call, parse into ``model_cls``, and on failure repair once; see the module docstring."""
    first = await complete(request)
    try:
        return parse_structured(first.text, model_cls), first
    except ParseFailure as failure:
        first_errors = failure.errors
    second = await complete(repair_request(request, first.text, first_errors, model_cls))
    try:
        return parse_structured(second.text, model_cls), _combined(first, second)
    except ParseFailure as failure:
        lines = "\n".join(f"  - {e}" for e in failure.errors)
        raise StructuredOutputError(
            f"{request.key}: the answer is not a valid {model_cls.__name__}, even after one "
            f"repair round ({request.key}{REPAIR_SUFFIX}):\n{lines}"
        ) from None


def extract_code(text: str, language: str) -> str:
    """The code of an answer: the first block fenced as ``language``, else the first block
    fenced without a language, else the first fenced block at all (a mislabelled fence), else
    the whole text, stripped (an answer that is only code)."""
    wanted = LANGUAGE_ALIASES.get(language.lower(), frozenset({language.lower()}))
    blocks = fenced_blocks(text)
    for lang, content in blocks:
        if lang in wanted:
            return content
    for lang, content in blocks:
        if not lang:
            return content
    if blocks:
        return blocks[0][1]
    return text.strip()
