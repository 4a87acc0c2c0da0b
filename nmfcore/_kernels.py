"""The one update kernel, and the model structures that use it.

Every structure writes its mean as ``mu = A @ F @ B`` in each factor ``F``
(``A``, ``B`` non-negative and fixed while ``F`` is updated), so a single
projection ``A.T @ g @ B.T`` serves every structure and noise model:

* the MM (multiplicative) update ``F <- F * (A.T neg B.T / A.T pos B.T) ** gamma``
  where the derivative of the divergence is ``pos - neg`` (Fevotte & Idier 2011;
  the majoriser only needs ``mu`` to be linear in ``F`` with non-negative
  coefficients, which holds for convex NMF because ``X >= 0``);
* the gradient ``A.T (pos - neg) B.T`` used by the autoencoder's Adam steps.

Arrays of a batch of restarts carry a leading restart axis ``r`` (restarts are fitted together); a
single restart is iterated on plain 2-D arrays, which go straight to 2-D BLAS with less per-call
overhead. The kernel takes either.
"""
from __future__ import annotations

import numpy as np

from .noise import MEAN, ONES

#: floor for factor entries (keeps every multiplicative update able to grow)
FLOOR = 1e-16
#: ``A.T @ g`` (n x m x k multiply-adds) is computed as written up to this size and as ``(g.T @ A).T``
#: beyond it. Which wins depends on the machine's BLAS: on the 2026-11-23 machine the transposed form did at
#: 600x500 k=20 (228 vs 148 us) and 1000x2000 k=20 (1.6 vs 1.1 ms); on the 2026-11-28 one the form as
#: written does (247 vs 358 us, 1.66 vs 2.51 ms; a Gaussian iteration at 1000x2000 3.6 vs 4.9 ms). As
#: written is how scikit-learn and the NumPy floor compute it, so it is the default everywhere (the switch
#: stays for machines where the other form wins; both give the same fit: tests/test_fit.py).
_SMALL_PRODUCT = 1 << 62


def _t(a):
    return a.T if a.ndim == 2 else np.swapaxes(a, -1, -2)


def _mm(a, b, out=None):
    """``np.matmul``; a batch of one goes through the 2-D BLAS path, which numpy's stacked
    matmul does not take (about 1.5x slower on large matrices)."""
    if a.ndim == 2 and b.ndim == 2:
        return np.matmul(a, b, out=out)
    if a.ndim == 3 and a.shape[0] == 1 and (b.ndim == 2 or b.shape[0] == 1):
        r = np.matmul(a[0], b if b.ndim == 2 else b[0], out=None if out is None else out[0])
        return r[None] if out is None else out
    if a.ndim == 2 and b.ndim == 3 and b.shape[0] == 1:
        r = np.matmul(a, b[0], out=None if out is None else out[0])
        return r[None] if out is None else out
    return np.matmul(a, b, out=out)


def _inner(a, b):
    """``<a, b>`` over the last two axes (one value per batch member; a dot product for 2-D arrays)."""
    if a.ndim == 2:
        return np.dot(a.ravel(), b.ravel())
    return np.einsum("...ij,...ij->...", a, b)


def project(g, A, F, B, FB=None, B_is_data=False):
    """``A.T @ g @ B.T`` for ``mu = A @ F @ B``; ``A``/``B`` ``None`` mean identity.

    ``g`` is an array of the mean's shape (``(n, m)``, or ``(r, n, m)`` for a batch) or one of the
    sentinels :data:`~nmfcore.noise.ONES` (all ones) and :data:`~nmfcore.noise.MEAN` (``g = mu``),
    for which sums or Gram matrices replace the full product. ``B`` is a factor (``(k, m)`` /
    ``(r, k, m)``) or, with ``B_is_data``, the data ``X`` (``(n, m)``, convex NMF). The result
    broadcasts to ``F``'s shape. ``FB``: ``F @ B`` if the structure already holds it (convex NMF
    keeps ``H = G @ X``).
    """
    if type(g) is np.ndarray:  # the common case first (one pass of the hot loop's dispatch)
        return _project_array(g, A, B)
    if g is ONES:
        # column sums of A as a vector-matrix product: ~4x faster than A.sum(axis=-2) on a batch
        a = None if A is None else (np.ones(A.shape[-2], dtype=A.dtype) @ A)[..., :, None]  # (r, k, 1)
        if B is None:
            return a
        b = B.sum(axis=-1)[..., None, :]  # (r, 1, k) for a factor, (1, n) for the data
        return b if a is None else a * b
    if g is MEAN:
        if B is None:
            return (_t(A) @ A) @ F
        if not B_is_data:
            right = F @ (B @ _t(B))
        else:  # convex: F @ X @ X.T without forming the n x n Gram matrix
            right = _mm(_mm(F, B) if FB is None else FB, _t(B))
        return right if A is None else (_t(A) @ A) @ right
    return _project_array(g, A, B)


def _project_array(g, A, B):
    """``A.T @ g @ B.T`` for an array ``g``.

    Every product is written the same way for a batch as for one member (numpy's stacked matmul makes
    the 2-D BLAS call of each member), so a member's arithmetic does not depend on its batch: batched
    and separate fits agree to the last bit, which Adam needs (its step m / sqrt(v) amplifies rounding
    differences in near-zero gradients). Orientation of A.T @ g by measured size (_SMALL_PRODUCT)."""
    if A is None:
        out = g
    else:
        out = _mm(_t(A), g) if A.shape[-2] * A.shape[-1] * g.shape[-1] <= _SMALL_PRODUCT else _t(_mm(_t(g), A))
    if B is None:
        return out
    return _mm(out, _t(B))  # B a factor, or the data (convex NMF; a stack with one matrix per member)


def mm_update(F, noise, projections):
    """In-place multiplicative update ``F *= noise.mm_ratio(*projections)`` (``(num / den) ** gamma`` but for
    the NB's tight majoriser) with a floor. The projections are left as they are (a structure may hold them)
    but for the last, always a fresh product, which may be overwritten."""
    F *= noise.mm_ratio(*projections, shape=F.shape)
    np.maximum(F, FLOOR, out=F)


class Structure:
    """Base class: how factors map to the mean and which factors are updated."""

    name = "base"
    factor_names: tuple[str, ...] = ()

    def init(self, X, rank, n_restarts, rng, scale=True):
        raise NotImplementedError

    def mean(self, X, f, out=None):
        raise NotImplementedError

    def features(self, X, f):
        """The signature/topic matrix H (r, k, m)."""
        raise NotImplementedError

    def terms(self, X, f):
        """Yield ``(name, A, B)`` for each factor in update order."""
        raise NotImplementedError

    def n_params(self, n, m, k):
        raise NotImplementedError

    # -- generic steps built on the kernel --------------------------------
    def mm_step(self, X, f, noise, mu, Xe=None, work=None):
        """One MM iteration (every factor once); returns the new mean (``None`` if the
        noise model's updates do not use it, e.g. Gaussian). ``Xe``: ``X`` for the elementwise
        gradient terms, optionally a contiguous copy broadcast to the restart batch (numpy's
        ufuncs are ~30 % slower on a stride-0 broadcast operand)."""
        Xe = X if Xe is None else Xe
        if not noise.needs_mean:  # Gaussian: X and Gram matrices suffice, the mean is never formed
            for name, A, B in self.terms(X, f):
                mm_update(f[name], noise, [self.projection(g, X, f, name, A, B) for g in (X, MEAN)])
                self._refresh(X, f, name)
            return None
        for name, A, B in self.terms(X, f):
            parts = noise.mm_parts(Xe, mu, work=work)  # mu's memory is reused
            mm_update(f[name], noise, [self.projection(g, X, f, name, A, B) for g in parts])
            self._refresh(X, f, name)
            mu = self.mean(X, f, out=mu)
        return mu

    def gradients(self, X, f, noise, mu, work=None):
        """Gradient of the divergence in each factor at the current mean (``work``: scratch
        arrays for the gradient terms, see :meth:`NoiseModel.grad_split`)."""
        neg, pos = noise.grad_split(X, mu, work=work)
        out = {}
        for name, A, B in self.terms(X, f):
            p = self.projection(pos, X, f, name, A, B)
            out[name] = np.broadcast_to(p, f[name].shape) - self.projection(neg, X, f, name, A, B)
        return out

    def projection(self, g, X, f, name, A, B):
        """:func:`project` for the term of factor ``name`` (``A``, ``B`` from :meth:`terms`); a
        structure can answer from products it holds. The result may be held: do not write to it."""
        return project(g, A, f[name], B, self.product(f, name) if g is MEAN else None, B is X)

    def _refresh(self, X, f, name):
        """Update cached derived quantities after factor ``name`` changed."""

    def product(self, f, name):
        """``F @ B`` for factor ``name`` if it is held already (else ``None``)."""
        return None

    def gaussian_divergence(self, X, f, xx):
        """``0.5 ||X - mu||^2`` per batch member as ``xx - <X, mu> + 0.5 <W^T W, H H^T>`` (``xx``:
        ``0.5 ||X||^2``), with ``<X, mu>`` from a product the updates hold (:meth:`cross`)."""
        W, H = f["W"], self.features(X, f)
        return xx - self.cross(X, f) + 0.5 * _inner((_t(W) @ W) @ H, H)  # <W^T W, H H^T> = <(W^T W) H, H>

    def cross(self, X, f):
        """``<X, W H>`` per batch member."""
        raise NotImplementedError


class Traditional(Structure):
    """Traditional NMF, ``X ~ W @ H``."""

    name = "nmf"
    factor_names = ("W", "H")

    def init(self, X, rank, n_restarts, rng, scale=True):
        n, m = X.shape
        W = rng.uniform(size=(n_restarts, n, rank))
        H = rng.uniform(size=(n_restarts, rank, m))
        f = {"W": W, "H": H}
        if scale:
            _match_scale(X, f, self)
        return f

    def mean(self, X, f, out=None):
        return _mm(f["W"], f["H"], out=out)

    def features(self, X, f):
        return f["H"]

    def terms(self, X, f):
        yield "W", None, f["H"]
        yield "H", f["W"], None

    def projection(self, g, X, f, name, A, B):
        # H's data term W.T @ X is held until W changes: the Gaussian loss after the iteration reuses it
        if g is X and name == "H":
            WtX = f.get("WtX")
            if WtX is None:
                WtX = f["WtX"] = project(g, A, f[name], B)
            return WtX
        return project(g, A, f[name], B)  # no held products besides W.T @ X

    def _refresh(self, X, f, name):
        if name == "W":
            f.pop("WtX", None)

    def cross(self, X, f):
        return _inner(f["H"], f["WtX"] if "WtX" in f else _mm(_t(f["W"]), X))

    def n_params(self, n, m, k):
        return k * (n + m) - k  # minus the k scale normalisations (rows of H sum to 1)


class Convex(Structure):
    """Convex NMF, ``X ~ W @ G @ X``: features ``H = G @ X`` are non-negative
    combinations of the data rows (samples)."""

    name = "convex"
    factor_names = ("W", "G")

    def init(self, X, rank, n_restarts, rng, scale=True):
        n, m = X.shape
        W = rng.uniform(size=(n_restarts, n, rank))
        G = rng.uniform(size=(n_restarts, rank, n))
        f = {"W": W, "G": G}
        if scale:
            _match_scale(X, f, self)
        self._refresh(X, f, "G")
        return f

    def _refresh(self, X, f, name):
        if name == "W":
            f.pop("WtX", None)
        elif f.get("_hold_wtx"):  # Gaussian gradients: H = G X and W.T X from one product [G; W.T] X
            k = f["G"].shape[-2]
            P = _mm(np.concatenate((f["G"], _t(f["W"])), axis=-2), X)
            f["H"], f["WtX"] = np.ascontiguousarray(P[..., :k, :]), np.ascontiguousarray(P[..., k:, :])
            f.pop("XHt", None)
        else:
            f["H"] = _mm(f["G"], X)
            f.pop("XHt", None)

    def gradients(self, X, f, noise, mu, work=None):
        if noise.needs_mean:
            return super().gradients(X, f, noise, mu, work)
        # Gaussian: dW = W (H H^T) - X H^T and dG = [(W^T W) H - W^T X] X^T. X H^T and (the transpose of)
        # the second product come from one product X [H^T | R^T]; W^T X from the refresh of G (above).
        # Two n x m x 2k products per Adam step instead of four n x m x k ones (wider GEMMs run faster).
        f["_hold_wtx"] = np.True_  # (state values are arrays)
        W, H = f["W"], f["H"]
        WtX = f["WtX"] if "WtX" in f else _mm(_t(W), X)
        R = (_t(W) @ W) @ H - WtX
        k = H.shape[-2]
        Q = _mm(X, np.concatenate((_t(H), _t(R)), axis=-1))
        f["XHt"] = np.ascontiguousarray(Q[..., :k])
        return {"W": W @ (H @ _t(H)) - f["XHt"], "G": np.ascontiguousarray(_t(Q[..., k:]))}

    def projection(self, g, X, f, name, A, B):
        # The data term of W's update, X @ H.T, is the transpose of H @ X.T in the Gram term of G's
        # (Gaussian): one n x m x k product serves both until G changes (the W step leaves H alone).
        if g is X and name == "W":
            return self._xht(X, f)
        if g is MEAN and name == "G":
            return (_t(A) @ A) @ _t(self._xht(X, f))
        return super().projection(g, X, f, name, A, B)

    def cross(self, X, f):
        if "WtX" in f:
            return _inner(f["H"], f["WtX"])
        return _inner(f["W"], self._xht(X, f))

    @staticmethod
    def _xht(X, f):
        if "XHt" not in f:
            f["XHt"] = _mm(X, _t(f["H"]))
        return f["XHt"]

    def mean(self, X, f, out=None):
        return _mm(f["W"], f["H"], out=out)

    def features(self, X, f):
        return f["H"]

    def product(self, f, name):
        return f["H"] if name == "G" else None  # G @ X, kept current by _refresh

    def terms(self, X, f):
        yield "W", None, f["H"]
        yield "G", f["W"], X

    def n_params(self, n, m, k):
        return 2 * k * n - k


def _match_scale(X, f, structure):
    """Rescale the first factor of each restart so that mean(mu) == mean(X)."""
    if structure.name == "nmf":
        mu_mean = (f["W"].sum(axis=1)[:, :, None] * f["H"].sum(axis=2)[:, :, None]).sum(axis=(1, 2))
        mu_mean = mu_mean / (X.shape[0] * X.shape[1])
    else:
        H = f["G"] @ X
        mu_mean = np.einsum("rnk,rkm->r", f["W"], H) / (X.shape[0] * X.shape[1])
    target = max(float(X.mean()), FLOOR)
    f["W"] *= (target / mu_mean)[:, None, None]


STRUCTURES = {"nmf": Traditional(), "convex": Convex(), "autoencoder": Convex()}
