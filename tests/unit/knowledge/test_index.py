import numpy as np
import pytest

from knowledge.index import VectorIndex


def _unit(rng: np.random.Generator, n: int, d: int = 32) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize(("n", "threshold", "kind"), [(200, 1000, "flat"), (2000, 1000, "ivf")])
def test_search_add_remove_by_id(n: int, threshold: int, kind: str) -> None:
    rng = np.random.default_rng(0)
    vecs = _unit(rng, n)
    ids = np.arange(100, 100 + n)
    index = VectorIndex.build(vecs, ids, approx_threshold=threshold, nprobe=64)
    assert index.kind == kind and index.size == n
    _, found = index.search(vecs[:5], 1)
    assert found[:, 0].tolist() == ids[:5].tolist()
    assert index.remove([100, 101]) == 2
    _, found = index.search(vecs[:1], 3)
    assert 100 not in found[0].tolist()
    index.add(vecs[:1], np.array([999]))
    _, found = index.search(vecs[:1], 1)
    assert found[0, 0] == 999


def test_save_and_load_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(1)
    vecs = _unit(rng, 50)
    index = VectorIndex.build(vecs, np.arange(50))
    index.save(tmp_path / "i.faiss")
    again = VectorIndex.load(tmp_path / "i.faiss")
    assert again.size == 50
    np.testing.assert_array_equal(index.search(vecs[:3], 2)[1], again.search(vecs[:3], 2)[1])
