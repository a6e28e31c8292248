"""Eigenvalue weighting of gene vectors against an explicit SVD, with its edge cases."""

import numpy as np
import pytest

from genevec.postprocess import check_eigen_power, eigen_weighting


def rand(n=30, d=6, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(dtype)


def test_half_power_gives_back_the_vectors():
    E = rand()
    np.testing.assert_allclose(eigen_weighting(E, 0.5), E, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("power", [0.0, 0.25, 0.75, 1.0])
def test_singular_values_are_raised_and_directions_kept(power):
    E = rand() * np.array([50.0, 10, 3, 1, 0.3, 0.1])  # a wide spectrum
    U, S, Vt = np.linalg.svd(E, full_matrices=False)
    out = eigen_weighting(E, power)
    U2, S2, Vt2 = np.linalg.svd(out, full_matrices=False)
    np.testing.assert_allclose(S2, S[0] * (S / S[0]) ** (2 * power), rtol=1e-10)
    # the same singular vectors (up to sign): out = U diag(S2) Vt
    np.testing.assert_allclose(out, (U * S2) @ Vt, rtol=1e-10, atol=1e-12)


def test_gram_eigenvalues_are_raised_to_the_power():
    E = rand(20, 4, seed=2)
    lam = np.linalg.eigvalsh(E @ E.T)[-4:]
    out = eigen_weighting(E, 0.25)
    lam_out = np.linalg.eigvalsh(out @ out.T)[-4:]
    # Gram eigenvalues S^2 become S_max^2 (S / S_max)^(4 p): proportional to lam^(2 p) = lam^0.5
    np.testing.assert_allclose(lam_out / lam_out[-1], (lam / lam[-1]) ** 0.5, rtol=1e-10)


def test_rank_deficient_directions_stay_zero():
    E = rand(25, 5, seed=1)
    E[:, 3:] = 0.0  # rank 3
    white = eigen_weighting(E, 0.0)
    S = np.linalg.svd(white, compute_uv=False)
    np.testing.assert_allclose(S[:3], S[0])
    assert S[3:].max() < 1e-10 * S[0]  # not blown up into noise
    assert not white[:, 3:].any() or np.abs(white[:, 3:]).max() < 1e-10


def test_dtype_kept_and_deterministic():
    E = rand(dtype=np.float32)
    a, b = eigen_weighting(E, 0.25), eigen_weighting(E, 0.25)
    assert a.dtype == np.float32 and a.flags.c_contiguous
    assert a.tobytes() == b.tobytes()
    assert eigen_weighting(np.zeros((4, 3)), 0.0).tolist() == np.zeros((4, 3)).tolist()


def test_cosine_neighbours_unchanged_at_half_power():
    E = rand(50, 8, seed=3)
    out = eigen_weighting(E, 0.5)
    unit = lambda V: V / np.linalg.norm(V, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(unit(out) @ unit(out).T, unit(E) @ unit(E).T, atol=1e-12)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.25", True, float("nan")])
def test_bad_power_is_refused(bad):
    with pytest.raises(ValueError, match=r"'eigen_power' parameter of eigen_weighting must be None .* \[0, 1\]"):
        eigen_weighting(rand(), bad)
    assert check_eigen_power(None) is None
    with pytest.raises(ValueError, match="None means: do not call it"):
        eigen_weighting(rand(), None)
    with pytest.raises(ValueError, match="non-empty 2-d array"):
        eigen_weighting(np.zeros(3), 0.5)
