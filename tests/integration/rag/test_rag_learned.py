"""The learned collection: validated atoms become searchable examples, flagged as learned."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mge.errors import InputError
from mge.rag import MiniLMInt8EmbeddingFunction, Pattern, Retriever

OpenRetriever = Callable[[MiniLMInt8EmbeddingFunction | None], Retriever]

SLUGIFY = '''def slugify(title: str) -> str:
    """Lower-case words joined by dashes, for URLs."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)
'''


async def test_learned_code_is_found_and_flagged(
    open_retriever: OpenRetriever, small_library: list[Pattern]
) -> None:
    retriever = open_retriever(None)
    await retriever.index(small_library)
    entry = await retriever.learn(
        "slugify-0a1b2c3d4e",
        SLUGIFY,
        "python",
        {"title": "slugify", "description": "turn a title into a URL slug", "project": "blog"},
    )
    assert entry.startswith("slugify-0a1b2c3d4e-")
    hits = await retriever.search("make a URL slug from an article title", k=3)
    assert (hits[0].pattern_id, hits[0].source) == ("slugify-0a1b2c3d4e", "learned")
    assert hits[0].snippet == SLUGIFY
    assert (hits[0].title, hits[0].kind, hits[0].framework) == ("slugify", "learned", "none")
    assert {h.source for h in hits[1:]} == {"patterns"}

    only_patterns = await retriever.search("make a URL slug", k=3, include_learned=False)
    assert {h.source for h in only_patterns} == {"patterns"}


async def test_filters_apply_to_learned_entries(open_retriever: OpenRetriever) -> None:
    retriever = open_retriever(None)
    await retriever.learn("ts-slug-1", "export const slug = (s: string) => s;\n", "typescript")
    assert await retriever.search("slug", language="python") == []
    (hit,) = await retriever.search("slug", language="typescript")
    assert hit.source == "learned"


async def test_learning_is_idempotent_per_code(open_retriever: OpenRetriever) -> None:
    retriever = open_retriever(None)
    first = await retriever.learn("atom-a", SLUGIFY, "python")
    again = await retriever.learn("atom-a", SLUGIFY, "python")
    other = await retriever.learn("atom-a", SLUGIFY.replace("dashes", "hyphens"), "python")
    assert first == again != other
    assert await retriever.count("learned") == 2


@pytest.mark.parametrize(
    ("atom_id", "code", "metadata", "message"),
    [
        ("", SLUGIFY, {}, "must not be empty"),
        ("a", "   ", {}, "must not be empty"),
        ("a", SLUGIFY, {"atom_id": "b"}, "set by MGE"),
        ("a", SLUGIFY, {"snippet": "x"}, "set by MGE"),
        ("a", SLUGIFY, {"tags": ["x"]}, "str, int, float or bool"),
    ],
)
async def test_bad_learn_input_is_refused(
    open_retriever: OpenRetriever,
    atom_id: str,
    code: str,
    metadata: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(InputError, match=message):
        await open_retriever(None).learn(atom_id, code, "python", metadata)  # type: ignore[arg-type]
