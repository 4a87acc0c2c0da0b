"""Evaluation helpers: matching, consistency, k-medoids, held-out refits, class recovery, CLI round trip."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

import nmfcore as nc
from nmfcore import metrics


def test_match_components_recovers_a_permutation():
    rng = np.random.default_rng(0)
    H = rng.dirichlet(np.full(96, 0.3), size=5)
    perm = rng.permutation(5)
    mean, ra, rb, cos = metrics.match_components(H, H[perm] * 3.0)  # scale does not matter
    assert mean == pytest.approx(1.0)
    assert np.array_equal(perm[rb], ra)


def test_match_components_against_a_larger_catalogue_uses_distinct_references():
    rng = np.random.default_rng(1)
    ref = rng.dirichlet(np.full(20, 0.5), size=10)
    A = np.vstack([ref[3], ref[3] * 0.9 + ref[7] * 0.1])  # both closest to ref 3
    _, ra, rb, _ = metrics.match_components(A, ref)
    assert len(set(rb)) == 2 and 3 in rb


def test_consistency_counts_all_pairs():
    rng = np.random.default_rng(2)
    runs = [rng.dirichlet(np.ones(10), size=3) for _ in range(6)]
    acs = metrics.consistency(runs)
    assert acs.shape == (15,) and np.all((acs > 0) & (acs <= 1 + 1e-12))
    assert np.allclose(metrics.consistency([runs[0], runs[0][::-1]]), 1.0)


def test_kmedoids_finds_planted_clusters_and_consensus():
    rng = np.random.default_rng(3)
    centres = rng.dirichlet(np.full(30, 0.3), size=3)
    runs = [np.abs(centres + rng.normal(0, 0.002, centres.shape))[rng.permutation(3)] for _ in range(10)]
    cons = metrics.consensus_components(runs, 3)
    mean, *_ = metrics.match_components(cons, centres)
    assert mean > 0.99
    D = 1 - metrics.cosine_matrix(np.vstack(runs), np.vstack(runs))
    _, labels = metrics.kmedoids(D, 3)
    assert len(np.unique(labels)) == 3 and np.all(np.bincount(labels) == 10)


def test_gaussian_refit_is_nnls():
    rng = np.random.default_rng(4)
    H = rng.dirichlet(np.ones(20), size=3)
    X = rng.poisson(rng.gamma(1, 50, (6, 3)) @ H).astype(float)
    W = metrics.refit_weights(X, H, "gaussian")
    ref = np.array([nnls(H.T, x)[0] for x in X])
    assert np.allclose(W, ref)
    out = metrics.heldout_error(X, H, nc.Gaussian())
    assert out["mse"] == pytest.approx(np.mean((X - ref @ H) ** 2), rel=1e-10)


def test_poisson_refit_reaches_the_kl_optimum():
    rng = np.random.default_rng(5)
    H = rng.dirichlet(np.ones(30), size=3)
    W_true = rng.gamma(1, 100, (8, 3))
    X = (W_true @ H).round() + 0.0
    W = metrics.refit_weights(X, H, nc.Poisson(), tol=1e-14)
    # KKT conditions of min_W KL(X | W H), W >= 0: gradient >= 0, = 0 where W > 0
    grad = H.sum(axis=1)[None, :] - (X / (W @ H)) @ H.T
    assert np.all(grad > -1e-6)
    assert np.all(np.abs(grad[W > 1e-6]) < 1e-5)


def test_class_recovery_scores():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(6)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.uniform(size=200) < 0.7, a, rng.integers(0, 4, 200))
    assert metrics.adjusted_rand_index(a, b) == pytest.approx(sk.adjusted_rand_score(a, b))
    perm = np.array([2, 0, 3, 1])
    assert metrics.clustering_accuracy(a, perm[a]) == 1.0
    assert metrics.adjusted_rand_index(a, perm[a]) == pytest.approx(1.0)


def test_simulated_counts_have_the_planted_mean():
    rng = np.random.default_rng(7)
    W = metrics_W = nc.simulate.simulate_exposures(2000, 3, random_state=rng, mean_total=500)
    assert np.allclose(W.sum(axis=1).mean(), 500, rtol=0.1)
    H = rng.dirichlet(np.ones(10), size=3)
    X = nc.simulate.simulate_counts(metrics_W, H, {"family": "nb", "alpha": 10}, random_state=1)
    assert X.mean() == pytest.approx((W @ H).mean(), rel=0.05)
    with pytest.raises(ValueError, match="fixed noise parameters"):
        nc.simulate.simulate_counts(W, H, "nb")


def test_float32_fit_agrees_with_float64():
    rng = np.random.default_rng(8)
    W, H = nc.simulate.planted_factors(40, 30, 3, random_state=rng, concentration=1.0)
    X = rng.poisson(W @ H).astype(float)
    a = nc.fit(X, 3, noise="poisson", random_state=0, max_iter=3000, tol=1e-6)
    b = nc.fit(X, 3, noise="poisson", random_state=0, max_iter=3000, tol=1e-6, dtype="float32")
    assert b.W.dtype == np.float64
    assert b.dtype == "float32" and b.to_row()["dtype"] == "float32"
    assert b.loglik == pytest.approx(a.loglik, rel=1e-4)
    assert metrics.match_components(a.H, b.H)[0] > 0.999


def test_cli_fit_writes_labelled_factors(tmp_path):
    rng = np.random.default_rng(9)
    W, H = nc.simulate.planted_factors(12, 10, 2, random_state=rng, concentration=1.0)
    X = pd.DataFrame(rng.poisson(W @ H) + 1, index=[f"patient{i}" for i in range(12)],
                     columns=[f"ch{j}" for j in range(10)])
    X.index.name = "sample"
    X.to_csv(tmp_path / "counts.tsv", sep="\t")
    out = tmp_path / "fit"
    proc = subprocess.run([sys.executable, "-m", "nmfcore", "fit", str(tmp_path / "counts.tsv"), "--rank", "2",
                           "--noise", "nb", "--structure", "convex", "--restarts", "3", "--dtype", "float32",
                           "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    res = nc.io.read_result(out)
    assert list(res["W"].index) == list(X.index) and list(res["H"].columns) == list(X.columns)
    assert list(res["G"].columns) == list(X.index)
    assert np.allclose(res["H"].sum(axis=1), 1.0)
    assert res["summary"]["row"]["structure"] == "convex" and res["summary"]["noise"]["label"] == "nb_shared"
    assert res["summary"]["row"]["dtype"] == "float32"
