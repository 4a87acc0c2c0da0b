"""Fitting: restarts, the iteration driver, nuisance estimation and the result object.

Orientation: ``X`` is samples x features (n x m); ``X ~ W @ H`` with ``W``
(n x k, exposures/weights) and ``H`` (k x m, signatures/topics as rows). Convex
NMF and the autoencoder write ``H = G @ X`` with ``G`` (k x n).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validation as V
from ._kernels import STRUCTURES
from .noise import NegativeBinomial, NoiseModel, Poisson, Tweedie, make_noise

__all__ = ["fit", "FitResult"]


@dataclass
class FitResult:
    """Everything a fit produced. ``H`` rows sum to 1 (``W`` rescaled; fit unchanged).

    ``n_params`` counts free parameters: ``k(n+m) - k`` for traditional NMF and
    ``2kn - k`` for convex NMF / the autoencoder (the ``-k`` removes the scale
    freedom fixed by normalising the rows of H), plus the estimated nuisance
    parameters (Gaussian/Gamma/Tweedie dispersion 1, Tweedie power 1 when chosen
    by profile likelihood, NB alpha 1 shared or n per sample).
    """

    W: np.ndarray
    H: np.ndarray
    G: np.ndarray | None
    structure: str
    noise: NoiseModel
    rank: int
    loglik: float
    divergence: float
    n_params: int
    n_iter: int
    converged: bool
    trace: list
    seed: Any
    time_s: float
    n_samples: int
    n_features: int
    restarts: list = field(default_factory=list)
    nuisance_path: list = field(default_factory=list)
    solver: str = "mm"
    #: precision of the iterations ("float64" or "float32"; results are float64 either way)
    dtype: str = "float64"
    #: wall seconds: ``total_s``; ``iterate_s`` inside the update loops (``iterations`` batch
    #: iterations run, pre-runs and nuisance rounds included); the rest is set-up, nuisance
    #: estimation and likelihood evaluation
    timings: dict = field(default_factory=dict)

    @property
    def deviance(self) -> float:
        return 2.0 * self.divergence

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + self.n_params * np.log(self.n_samples * self.n_features)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def mean(self) -> np.ndarray:
        return self.W @ self.H

    def to_row(self) -> dict:
        """One flat, self-describing dict (for result tables)."""
        row = {
            "structure": self.structure, "noise": self.noise.label, "rank": self.rank,
            "solver": self.solver, "seed": self.seed, "n_samples": self.n_samples,
            "n_features": self.n_features, "loglik": self.loglik, "divergence": self.divergence,
            "deviance": self.deviance, "n_params": self.n_params, "bic": self.bic, "aic": self.aic,
            "n_iter": self.n_iter, "converged": self.converged, "time_s": self.time_s,
            "iterate_s": self.timings.get("iterate_s", float("nan")),
            "n_restarts": max(len(self.restarts), 1), "dtype": self.dtype,
        }
        row.update({f"noise_{k}": v for k, v in self.noise.params.items()})
        return row


# ---------------------------------------------------------------------------
# iteration driver
# ---------------------------------------------------------------------------
def _slice(state, idx):
    return {k: (v[idx] if isinstance(v, np.ndarray) and v.ndim >= 1 else v) for k, v in state.items()}


def _adam_init(structure, state, constraint):
    for name in structure.factor_names:
        state["U_" + name] = state[name].copy()
        state["m_" + name] = np.zeros_like(state[name])
        state["v_" + name] = np.zeros_like(state[name])
    state["t"] = 0
    state["_constraint"] = constraint


def _adam_step(X, structure, noise, state, mu, lr, scale, work=None, b1=0.9, b2=0.999, eps=1e-8):
    """One full-batch Adam step on the autoencoder weights (non-negative by |.| or projection)."""
    grads = structure.gradients(X, state, noise, mu, work)
    state["t"] += 1
    t = state["t"]
    for name in structure.factor_names:
        U = state["U_" + name]
        g = grads[name] * scale
        if state["_constraint"] == "abs":
            g = g * np.sign(U)
        m, v = state["m_" + name], state["v_" + name]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        U -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        if state["_constraint"] == "abs":
            state[name] = np.abs(U)
        else:  # projected gradient: clamp at zero after the step
            np.maximum(U, 0.0, out=U)
            state[name] = U
        structure._refresh(X, state, name)
    # the mean only when the next gradient needs it (not Gaussian: X and Gram products suffice);
    # the driver forms it for the convergence checks
    return structure.mean(X, state, out=mu) if noise.needs_mean else None


def _iterate(X, structure, noise, state, *, max_iter, tol, check_every, solver, lr, check, timer=None):
    """Run restarts (leading axis of every array in ``state``) to convergence.

    Converged restarts leave the batch at each check (compaction), so the batch
    shrinks as restarts finish. Returns the final state and per-restart info.
    """
    t_start = time.perf_counter()
    r = state[structure.factor_names[0]].shape[0]
    n, m = X.shape
    scale = 2.0 / (n * m)  # autoencoder loss = mean unit deviance (= MSE for Gaussian)
    divergence = noise.divergence_fn(X)  # data-only terms computed once per run
    single = r == 1
    if single:  # one restart: iterate on 2-D arrays (2-D BLAS, less per-call overhead on small data)
        state = _slice(state, 0)
        div2d = divergence
        divergence = lambda mu: np.atleast_1d(div2d(mu))  # noqa: E731
    mu = structure.mean(X, state)
    # a batch (at most _BATCH_BYTES of mean): X broadcast to it once, for the elementwise MM terms
    Xe = np.ascontiguousarray(np.broadcast_to(X, mu.shape)) if r > 1 else None
    # scratch arrays for the gradient terms, allocated once per run (see NoiseModel.grad_split)
    work = [np.empty_like(mu), np.empty_like(mu)] if noise.needs_mean else None
    obj = divergence(mu)
    traces = [[(0, float(o))] for o in obj]
    n_iter = np.zeros(r, dtype=int)
    converged = np.zeros(r, dtype=bool)
    final = {k: ((v[None] if single else v).copy() if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
             for k, v in state.items()}
    active = np.arange(r)
    it = 0
    while active.size and it < max_iter:
        steps = min(check_every, max_iter - it)
        for _ in range(steps):
            if solver == "mm":
                mu = structure.mm_step(X, state, noise, mu, Xe, work)
            else:
                mu = _adam_step(X, structure, noise, state, mu, lr, scale, work)
        it += steps
        if mu is None:  # the updates did not need the mean (Gaussian): form it for the check only
            mu = structure.mean(X, state)
        new = divergence(mu)
        rel = np.abs(obj - new) / np.maximum(np.abs(new), 1e-300)
        for j, a in enumerate(active):
            traces[a].append((it, float(new[j])))
        n_iter[active] = it
        done = (rel < tol) if check else np.zeros(active.size, dtype=bool)
        if it >= max_iter:
            finished = np.ones(active.size, dtype=bool)
        else:
            finished = done
        converged[active[done]] = True
        if finished.any():
            for k, v in state.items():
                if k in final and isinstance(v, np.ndarray) and v.ndim >= 1:  # not the structure's caches
                    final[k][active[finished]] = v[None] if single else v[finished]
            if single:
                break
            keep = ~finished
            state = _slice(state, keep)
            mu, new, active = (None if mu is None else mu[keep]), new[keep], active[keep]
            if Xe is not None:
                Xe = Xe[: active.size] if active.size > 1 else None
            if work is not None:
                work = [w[: active.size] for w in work]
        obj = new
    if timer is not None:
        timer["iterate_s"] = timer.get("iterate_s", 0.0) + time.perf_counter() - t_start
        timer["iterations"] = timer.get("iterations", 0) + int(n_iter.max(initial=0))
    return final, n_iter, converged, traces


#: restarts are iterated together in batches whose mean array stays below this size; beyond it numpy's
#: stacked products lose to one 2-D BLAS call per restart (measured: 21x96 k=3, 10 restarts batched
#: 3.8x faster than one by one; 96x500 and 200x500 equal; 300x1000 k=10 1.3x slower batched)
_BATCH_BYTES = 4 << 20


def _iterate_batches(X, structure, noise, state, **kw):
    """:func:`_iterate` over the restarts in batches of at most :data:`_BATCH_BYTES` of mean."""
    r = state[structure.factor_names[0]].shape[0]
    size = max(1, _BATCH_BYTES // (X.shape[0] * X.shape[1] * X.dtype.itemsize))
    if r <= size:
        return _iterate(X, structure, noise, state, **kw)
    parts = [_iterate(X, structure, noise, _slice(state, slice(i, i + size)), **kw) for i in range(0, r, size)]
    final = {k: (np.concatenate([p[0][k] for p in parts]) if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
             for k, v in parts[0][0].items()}
    return (final, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
            [t for p in parts for t in p[3]])


def _fit_fixed(X, structure_name, noise, rank, *, n_restarts, rng, init, max_iter, tol,
               check_every, pre_iter, solver, lr, ae_constraint, ae_init, dtype, timer):
    """Fit with fixed nuisance parameters: restarts, optional pre-runs, best by divergence."""
    structure = STRUCTURES[structure_name]
    X64, X = X, X.astype(dtype, copy=False)
    if init is not None:  # validated by fit() (user starts) or an earlier fit (NB warm starts)
        state = {k: np.array(init[k], dtype=float, copy=True)[None] for k in structure.factor_names}
        structure._refresh(X64, state, structure.factor_names[-1])
    else:
        state = structure.init(X64, rank, n_restarts, rng, scale=(ae_init != "uniform"))
    # starts are drawn in float64 so that a seed gives the same start in every precision
    state = {k: v.astype(dtype, copy=False) for k, v in state.items()}
    if solver == "adam":
        _adam_init(structure, state, ae_constraint)
    restarts = []
    if pre_iter and state[structure.factor_names[0]].shape[0] > 1:
        state, _, _, pre_traces = _iterate_batches(X, structure, noise, state, max_iter=pre_iter, tol=0.0,
                                                   check_every=pre_iter, solver=solver, lr=lr, check=False,
                                                   timer=timer)
        pre_obj = np.array([t[-1][1] for t in pre_traces])
        best = int(np.argmin(pre_obj))
        restarts = [{"restart": i, "pre_divergence": float(o)} for i, o in enumerate(pre_obj)]
        state = _slice(state, np.array([best]))
        final, n_iter, conv, traces = _iterate_batches(X, structure, noise, state, max_iter=max_iter, tol=tol,
                                                       check_every=check_every, solver=solver, lr=lr,
                                                       check=True, timer=timer)
        n_iter = n_iter + pre_iter
        traces = [pre_traces[best] + [(i + pre_iter, o) for i, o in traces[0][1:]]]
        restarts[best].update(divergence=traces[0][-1][1], n_iter=int(n_iter[0]), converged=bool(conv[0]))
        idx = 0
    else:
        final, n_iter, conv, traces = _iterate_batches(X, structure, noise, state, max_iter=max_iter, tol=tol,
                                                       check_every=check_every, solver=solver, lr=lr,
                                                       check=True, timer=timer)
        objs = np.array([t[-1][1] for t in traces])
        idx = int(np.argmin(objs))
        restarts = [{"restart": i, "divergence": float(o), "n_iter": int(n_iter[i]),
                     "converged": bool(conv[i])} for i, o in enumerate(objs)]
    best = {k: final[k][idx].astype(np.float64) for k in structure.factor_names}
    if "G" in best:
        best["H"] = best["G"] @ X64
    return best, int(n_iter[idx]), bool(conv[idx]), traces[idx], restarts


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------
def fit(X, rank, *, noise="poisson", structure="nmf", n_restarts=1, max_iter=10_000, tol=1e-8,
        check_every=10, pre_iter=0, random_state=None, init=None, nb_rounds=5, nb_tol=1e-3,
        lr=1e-4, ae_constraint="abs", ae_init="scaled", solver=None, dtype="float64"):
    """Fit NMF, convex NMF or the non-negative linear autoencoder under a noise model.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Non-negative data (e.g. patients x 96 channels, documents x terms).
    rank : int
        Number of components k, ``1 <= k < min(n_samples, n_features)``.
    noise : str, dict or NoiseModel
        ``"gaussian"``, ``"poisson"``, ``"gamma"``, ``"tweedie"`` (power chosen by
        profile likelihood over ``powers``), ``{"family": "tweedie", "power": 1.5}``,
        ``"nb"`` / ``{"family": "nb", "dispersion": "sample"}`` (alpha by ML) or a
        :class:`~nmfcore.noise.NoiseModel` with fixed parameters.
    structure : {"nmf", "convex", "autoencoder"}
        ``nmf``: X ~ W H. ``convex``: X ~ W G X (MM updates). ``autoencoder``:
        the same model as convex NMF (encoder G, decoder W) trained by full-batch
        Adam (``lr``), weights kept non-negative by absolute value in the forward
        pass (``ae_constraint="abs"``, as in Egendal et al.) or by projection
        (``"project"``).
    n_restarts : int
        Random starts, fitted together as batched (3-D) array computations where
        that is faster: batches of restarts whose mean arrays total at most 4 MB
        (small data, where per-call overhead dominates); one restart at a time
        for larger data, where 2-D BLAS calls win. The start with the smallest
        divergence is kept.
    max_iter, tol, check_every : int, float, int
        Stop when the relative change of the divergence between two checks
        ``check_every`` iterations apart is below ``tol`` (or at ``max_iter``,
        with a :class:`ConvergenceWarning`).
    pre_iter : int
        If > 0 and ``n_restarts > 1``: run every start for ``pre_iter``
        iterations, then continue only the best to convergence (as nmfgenr).
    random_state : int or numpy.random.Generator
        Seed for the initialisation; identical inputs and seeds give identical results.
    init : dict, optional
        Starting factors (``W``, ``H`` or ``W``, ``G``), 2-D arrays; implies one start.
    nb_rounds, nb_tol : int, float
        NB with estimated alpha: a Poisson fit gives the first mean, then
        alpha (Newton ML given the mean) and the NB factors (MM, warm-started)
        are alternated until alpha changes by less than ``nb_tol`` (relative) or
        ``nb_rounds`` rounds. Each half-step increases the full NB likelihood.
    ae_init : {"scaled", "uniform"}
        ``uniform``: raw U(0, 1) starts as in the autoencoder paper; ``scaled``:
        U(0, 1) rescaled so the initial mean matches the data mean.
    dtype : {"float64", "float32"}
        Precision of the iterations (float32 is about twice as fast; its
        relative-change test cannot go below ~1e-6, so a smaller ``tol`` is
        raised to 1e-6 with a warning). Likelihoods and results are float64.

    Returns
    -------
    FitResult
    """
    t0 = time.perf_counter()
    V.check_structure(structure)
    X = V.check_matrix(X)
    n, m = X.shape
    rank = V.check_rank(rank, X.shape)
    n_restarts = V.check_positive_int(n_restarts, "n_restarts")
    max_iter = V.check_positive_int(max_iter, "max_iter")
    check_every = V.check_positive_int(check_every, "check_every")
    pre_iter = V.check_positive_int(pre_iter, "pre_iter", minimum=0)
    nb_rounds = V.check_positive_int(nb_rounds, "nb_rounds")
    tol = V.check_positive_float(tol, "tol", allow_zero=True)
    if solver is None:
        solver = "adam" if structure == "autoencoder" else "mm"
    if solver not in ("mm", "adam"):
        raise ValueError(f"solver must be 'mm' or 'adam', got {solver!r}")
    if ae_constraint not in ("abs", "project"):
        raise ValueError(f"ae_constraint must be 'abs' or 'project', got {ae_constraint!r}")
    if ae_init not in ("scaled", "uniform"):
        raise ValueError(f"ae_init must be 'scaled' or 'uniform', got {ae_init!r}")
    if solver == "adam":
        lr = V.check_positive_float(lr, "lr")
    if str(dtype) not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    dtype = np.dtype(str(dtype))
    if dtype == np.float32 and 0 < tol < 1e-6:
        warnings.warn(f"tol={tol} is below float32 resolution; using tol=1e-6 (use dtype='float64' for "
                      "tighter convergence)", UserWarning, stacklevel=2)
        tol = 1e-6
    spec = make_noise(noise)
    probe = spec if isinstance(spec, NoiseModel) else (
        Tweedie(power=min(spec["powers"])) if spec["family"] == "tweedie" else Poisson())
    probe.check_data(X)
    if isinstance(spec, dict) and spec["family"] == "tweedie":
        Tweedie(power=max(spec["powers"])).check_data(X)
    if init is not None:
        fn = STRUCTURES[structure].factor_names
        shapes = {"W": (n, rank), "H": (rank, m), "G": (rank, n)}
        init = V.check_init(init, fn, {k: shapes[k] for k in fn}, structure)
    if init is not None and n_restarts > 1:
        warnings.warn("init was given, so n_restarts is ignored (one start)", UserWarning, stacklevel=2)
    if isinstance(random_state, np.random.Generator):
        rng, seed = random_state, None
    else:
        rng, seed = np.random.default_rng(random_state), random_state
    state0 = rng.bit_generator.state  # every nuisance candidate starts from the same draws

    opts = dict(n_restarts=n_restarts, init=init, max_iter=max_iter, tol=tol, check_every=check_every,
                pre_iter=pre_iter, solver=solver, lr=lr, ae_constraint=ae_constraint, ae_init=ae_init,
                dtype=dtype, timer={})

    def run(model, **over):
        rng.bit_generator.state = state0
        o = dict(opts, **over)
        return _fit_fixed(X, structure, model, rank, rng=rng, **o)

    path = []
    if isinstance(spec, dict) and spec["family"] == "tweedie":
        best = None
        for p in spec["powers"]:
            model = Tweedie(power=p)
            f, it, conv, trace, restarts = run(model)
            mu = f["W"] @ f["H"]
            model = model.with_nuisance(X, mu)
            ll = model.loglik(X, mu)
            path.append({"power": p, "phi": model.phi, "loglik": ll,
                         "divergence": model.divergence(X, mu), "n_iter": it, "converged": conv})
            if best is None or ll > best[0]:
                best = (ll, model, f, it, conv, trace, restarts)
        _, model, f, it, conv, trace, restarts = best
        extra_params = 1  # the power
    elif isinstance(spec, dict) and spec["family"] == "nb":
        f, it, conv, trace, restarts = run(Poisson())
        mu = f["W"] @ f["H"]
        model = NegativeBinomial(alpha=1.0, dispersion=spec["dispersion"]).with_nuisance(X, mu)
        path.append({"round": 0, "fit": "poisson", **model.params, "loglik": model.loglik(X, mu)})
        total_it = it
        for rnd in range(1, nb_rounds + 1):
            warm = {k: v for k, v in f.items() if k in STRUCTURES[structure].factor_names}
            f, it, conv, t2, _ = run(model, init=warm, n_restarts=1, pre_iter=0)
            total_it += it
            trace = trace + [(i + trace[-1][0], o) for i, o in t2[1:]]
            mu = f["W"] @ f["H"]
            new = model.with_nuisance(X, mu)
            change = float(np.max(np.abs(np.log(np.asarray(new.alpha)) - np.log(np.asarray(model.alpha)))))
            model = new
            path.append({"round": rnd, "fit": "nb", **model.params, "loglik": model.loglik(X, mu),
                         "n_iter": it, "alpha_change": change})
            if change < nb_tol:
                break
        it = total_it
        extra_params = 0
    else:
        model = spec
        f, it, conv, trace, restarts = run(model)
        mu = f["W"] @ f["H"]
        model = model.with_nuisance(X, mu)
        extra_params = 0
    if not conv:
        warnings.warn(f"{structure}/{model.label} fit did not converge in {max_iter} iterations "
                      f"(tol={tol}); increase max_iter or tol", V.ConvergenceWarning, stacklevel=2)
    W, H, G = f["W"], f["H"], f.get("G")
    mu = W @ H
    # normalise rows of H to sum to 1; the fit is unchanged
    s = H.sum(axis=1)
    s = np.where(s > 0, s, 1.0)
    H = H / s[:, None]
    W = W * s[None, :]
    if G is not None:
        G = G / s[:, None]
    ll = model.loglik(X, mu)
    n_params = STRUCTURES[structure].n_params(n, m, rank) + model.n_nuisance(n) + extra_params
    timings = dict(opts["timer"], total_s=time.perf_counter() - t0)
    return FitResult(W=W, H=H, G=G, structure=structure, noise=model, rank=rank, loglik=float(ll),
                     divergence=model.divergence(X, mu), n_params=int(n_params), n_iter=int(it),
                     converged=bool(conv), trace=trace, seed=seed, time_s=time.perf_counter() - t0,
                     n_samples=n, n_features=m, restarts=restarts, nuisance_path=path, solver=solver,
                     timings=timings, dtype=str(dtype))
