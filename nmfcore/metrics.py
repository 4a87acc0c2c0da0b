"""Evaluation: matched cosine similarity, consistency, consensus, held-out error, class recovery."""
from __future__ import annotations

from itertools import combinations

import numpy as np

from . import _validation as V
from ._imports import lazy
from ._kernels import FLOOR, mm_update, project
from .noise import NoiseModel, make_noise

optimize = lazy("scipy.optimize")  # ~0.1 s to import: only the matchings and the NNLS refit use it

__all__ = [
    "cosine_matrix", "match_components", "consistency", "kmedoids", "consensus_components",
    "refit_weights", "heldout_error", "adjusted_rand_index", "clustering_accuracy",
]


def cosine_matrix(A, B):
    """Cosine similarity between the rows of ``A`` (a x m) and of ``B`` (b x m)."""
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    if A.shape[-1] != B.shape[-1]:
        raise ValueError(f"cannot compare components with {A.shape[-1]} and {B.shape[-1]} features; "
                         "align the feature labels first (join by label, not position)")
    na = np.linalg.norm(A, axis=1, keepdims=True)
    nb = np.linalg.norm(B, axis=1, keepdims=True)
    return (A / np.where(na > 0, na, 1.0)) @ (B / np.where(nb > 0, nb, 1.0)).T


def match_components(A, B):
    """One-to-one Hungarian matching of the rows of ``A`` to rows of ``B`` by cosine.

    Returns ``(mean_cosine, rows_A, rows_B, cosines)``: each row of ``A`` gets a
    distinct row of ``B`` (``B`` may have more rows, e.g. the COSMIC catalogue),
    maximising the summed cosine similarity.
    """
    C = cosine_matrix(A, B)
    ra, rb = optimize.linear_sum_assignment(-C)
    cos = C[ra, rb]
    return float(cos.mean()), ra, rb, cos


def consistency(components):
    """Hungarian-matched average cosine for every pair of runs (list of k x m arrays)."""
    return np.array([match_components(a, b)[0] for a, b in combinations(components, 2)])


def kmedoids(D, k, *, max_iter=100):
    """Deterministic k-medoids (PAM BUILD start, then alternating assignment/medoid update).

    ``D`` is a symmetric dissimilarity matrix. Returns ``(medoids, labels)``.
    """
    D = np.asarray(D, dtype=float)
    n = D.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    medoids = [int(np.argmin(D.sum(axis=1)))]
    for _ in range(1, k):
        nearest = D[:, medoids].min(axis=1)
        gain = np.maximum(nearest[:, None] - D, 0).sum(axis=0)
        gain[medoids] = -np.inf
        medoids.append(int(np.argmax(gain)))
    medoids = np.array(medoids)
    for _ in range(max_iter):
        labels = np.argmin(D[:, medoids], axis=1)
        new = medoids.copy()
        for c in range(k):
            members = np.flatnonzero(labels == c)
            if members.size:
                new[c] = members[np.argmin(D[np.ix_(members, members)].sum(axis=1))]
        if np.array_equal(new, medoids):
            break
        medoids = new
    return medoids, np.argmin(D[:, medoids], axis=1)


def consensus_components(components, k):
    """Pool all runs' components and return the ``k`` k-medoids (1 - cosine) medoids."""
    pooled = np.vstack(components)
    medoids, _ = kmedoids(1.0 - cosine_matrix(pooled, pooled), k)
    return pooled[medoids]


def refit_weights(X, H, noise="gaussian", *, max_iter=5000, tol=1e-10, random_state=0):
    """Weights ``W`` for new samples with the components ``H`` frozen.

    Gaussian: exact non-negative least squares per sample (``scipy.optimize.nnls``).
    Other noise models: the model's own MM updates of ``W`` (all samples at once)
    until the relative change of the divergence is below ``tol``.
    """
    X = V.check_matrix(X, allow_zero_rows=True, allow_zero_cols=True, allow_small=True)
    H = np.asarray(H, dtype=float)
    if H.shape[1] != X.shape[1]:
        raise ValueError(f"H has {H.shape[1]} features but X has {X.shape[1]}")
    model = make_noise(noise)
    if not isinstance(model, NoiseModel):
        raise ValueError("refit_weights needs a noise model with fixed parameters (e.g. a fitted result's noise)")
    if model.name == "tweedie" and model.power == 0:
        W = np.empty((X.shape[0], H.shape[0]))
        Ht = H.T
        for i, x in enumerate(X):
            W[i] = optimize.nnls(Ht, x, maxiter=max(30 * H.shape[0], 100))[0]
        return W
    rng = np.random.default_rng(random_state)
    W = rng.uniform(0.5, 1.5, size=(X.shape[0], H.shape[0]))
    W *= (X.sum(axis=1) / H.sum())[:, None] + FLOOR  # rough scale
    mu = W @ H
    divergence = model.divergence_fn(X)  # data-only terms computed once
    old = float(divergence(mu))
    for it in range(max_iter):
        mm_update(W, model, [project(g, None, W, H) for g in model.mm_parts(X, mu)])
        mu = W @ H
        if it % 10 == 9:
            new = float(divergence(mu))
            if abs(old - new) <= tol * abs(new):
                break
            old = new
    return W


def heldout_error(X, H, noise="gaussian", **kwargs):
    """Refit weights for held-out samples (``H`` frozen) and score the reconstruction.

    Returns a dict with ``mse`` (per entry), ``divergence`` and ``loglik`` under
    ``noise`` (which must have fixed parameters), and the refitted ``W``.
    """
    X = V.check_matrix(X, allow_zero_rows=True, allow_zero_cols=True, allow_small=True)
    model = make_noise(noise)
    W = refit_weights(X, H, model, **kwargs)
    mu = np.maximum(W @ np.asarray(H, dtype=float), FLOOR)
    return {"mse": float(np.mean((X - mu) ** 2)), "divergence": model.divergence(X, mu),
            "loglik": model.loglik(X, mu), "W": W}


def _contingency(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"label vectors differ in length: {a.shape} vs {b.shape}")
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    C = np.zeros((ua.size, ub.size), dtype=np.int64)
    np.add.at(C, (ia, ib), 1)
    return C


def adjusted_rand_index(labels_true, labels_pred):
    """Hubert & Arabie adjusted Rand index between two labelings."""
    C = _contingency(labels_true, labels_pred)
    comb = lambda x: x * (x - 1) / 2.0  # noqa: E731
    n = C.sum()
    s_ij = comb(C).sum()
    s_a = comb(C.sum(axis=1)).sum()
    s_b = comb(C.sum(axis=0)).sum()
    expected = s_a * s_b / comb(n)
    max_index = (s_a + s_b) / 2.0
    if max_index == expected:
        return 1.0
    return float((s_ij - expected) / (max_index - expected))


def clustering_accuracy(labels_true, labels_pred):
    """Accuracy of the best one-to-one mapping of clusters to classes (Hungarian)."""
    C = _contingency(labels_true, labels_pred)
    r, c = optimize.linear_sum_assignment(-C)
    return float(C[r, c].sum() / C.sum())
