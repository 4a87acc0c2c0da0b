"""Fitting: validate -> start -> iterate -> estimate nuisance (by the noise family) -> result.

Orientation: ``X`` is samples x features (n x m); ``X ~ W @ H`` with ``W``
(n x k, exposures/weights) and ``H`` (k x m, signatures/topics as rows). Convex
NMF and the autoencoder write ``H = G @ X`` with ``G`` (k x n).
"""
from __future__ import annotations

import time
import warnings
from functools import partial

import numpy as np

from . import _validation as V
from ._imports import load_deferred_imports
from ._kernels import STRUCTURES
from .degenerate import escape_degenerate
from .discrete import loglik_discrete
from .fit_arguments import check_data as _check_data
from .fit_arguments import check_settings as _check_settings
from .fit_arguments import rngs as _rngs
from .noise import NegativeBinomial, Tweedie, nuisance_estimator
from .result import FitResult
from .squarem import squarem_cycle

__all__ = ["fit", "fit_many", "FitResult"]


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
    """One full-batch Adam step on the autoencoder weights (non-negative by |.| or projection).

    The update is written as PyTorch's ``Adam`` computes it (``denom = sqrt(v) / sqrt(1 - b2^t) + eps``,
    ``U -= lr / (1 - b1^t) * m / denom``), in place: a step allocates nothing of the weights' size
    beyond the gradients."""
    grads = structure.gradients(X, state, noise, mu, work)
    state["t"] += 1
    t = state["t"]
    step, root = lr / (1 - b1 ** t), 1.0 / np.sqrt(1 - b2 ** t)
    for name in structure.factor_names:
        U, m, v = state["U_" + name], state["m_" + name], state["v_" + name]
        g = grads[name]  # fresh array: scaled, sign-corrected and squared in place
        g *= scale
        if state["_constraint"] == "abs":
            g *= np.sign(U)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        g *= g
        g *= 1 - b2
        v += g
        denom = np.sqrt(v, out=g)
        denom *= root
        denom += eps
        np.divide(m, denom, out=denom)
        denom *= step
        U -= denom
        if state["_constraint"] == "abs":
            state[name] = np.abs(U, out=state[name] if state[name] is not U else None)
        else:  # projected gradient: clamp at zero after the step
            np.maximum(U, 0.0, out=U)
            state[name] = U
        structure._refresh(X, state, name)
    # the mean only when the next gradient needs it (not Gaussian: X and Gram products suffice);
    # the driver forms it for the convergence checks where its loss needs it
    return structure.mean(X, state, out=mu) if noise.needs_mean else None


def _loss_fn(X, structure, noise, tol):
    """``(f(state, mu) -> divergence per member), whether f needs the mean``.

    Gaussian in float64: ``0.5 ||X||^2 - <X, mu> + 0.5 <W^T W, H H^T>`` from products the updates
    hold (:meth:`Structure.gaussian_divergence`), so a check costs no pass over an n x m array (the
    paper-2 rule checks every iteration). The expansion's rounding error is about
    ``4 eps 0.5 ||X||^2``; where that exceeds 1 % of ``tol`` times the loss (a near-exact fit, or
    ``tol = 0``: a trace as exact as the elementwise sum) the check sums the residuals instead.
    Otherwise the exact elementwise sum.
    """
    div = noise.divergence_fn(X)  # data-only terms computed once
    exact = lambda st, mu: div(structure.mean(X, st) if mu is None else mu)  # noqa: E731
    if noise.needs_mean or X.dtype != np.float64:
        return exact, True
    xx = 0.5 * np.einsum("...ij,...ij->...", X, X)
    err = 4 * np.finfo(np.float64).eps * xx

    def loss(st, mu):
        value = structure.gaussian_divergence(X, st, xx)
        return value if (err <= 0.01 * tol * np.abs(value)).all() else exact(st, None)
    return loss, False


def _trace_kept(it):
    """Trace points kept: every check up to 1,000 iterations, then about 900 per decade."""
    return it <= 1000 or it % (10 ** (len(str(it)) - 3)) == 0


def _iterate(X, structure, noise, state, *, max_iter, tol, check_every, solver, lr, check, timer=None,
             accelerate=False):
    """Run a batch (leading axis of every array in ``state``) to convergence.

    ``X`` is one data matrix shared by the batch (restarts of one fit) or a stack with one matrix per
    batch member (``fit_many``). Members that converge leave the batch at each check (compaction), so
    the batch shrinks as they finish. Returns the final state and per-member info.
    """
    t_start = time.perf_counter()
    r = state[structure.factor_names[0]].shape[0]
    per_member = X.ndim == 3
    n, m = X.shape[-2:]
    scale = 2.0 / (n * m)  # autoencoder loss = mean unit deviance (= MSE for Gaussian)
    single = r == 1
    if single:  # one member: iterate on 2-D arrays (2-D BLAS, less per-call overhead on small data)
        state = _slice(state, 0)
        X = X[0] if per_member else X
        per_member = False
    loss, wants_mu = _loss_fn(X, structure, noise, tol if check else 0.0)
    mu = structure.mean(X, state) if (noise.needs_mean or wants_mu) else None
    # elementwise MM terms: X itself, or for restarts of one X a copy broadcast to the batch
    Xe = X if per_member else (np.ascontiguousarray(np.broadcast_to(X, mu.shape)) if r > 1 and mu is not None
                               else None)
    # scratch arrays for the gradient terms, allocated once per run (see NoiseModel.grad_split)
    work = noise.scratch(Xe if Xe is not None else X, mu) if noise.needs_mean else None
    obj = np.atleast_1d(loss(state, mu))
    traces = [[(0, float(o))] for o in obj]
    n_iter = np.zeros(r, dtype=int)
    converged = np.zeros(r, dtype=bool)
    final = {k: ((v[None] if single else v).copy() if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
             for k, v in state.items()}
    active = np.arange(r)
    it = 0
    amax = np.ones(() if single else r)  # SQUAREM's largest extrapolation per member
    while active.size and it < max_iter:
        steps, new, rest = min(check_every, max_iter - it), None, None
        if accelerate:  # whole cycles of three up to the check, plain steps for the rest
            new = obj[0] if single else obj  # the divergence where the next cycle starts
            for _ in range(steps // 3):
                state, mu, amax, new = squarem_cycle(X, structure, noise, state, mu, Xe, work, loss, amax, new)
            rest = steps % 3
        for _ in range(steps if rest is None else rest):
            if solver == "mm":
                mu = structure.mm_step(X, state, noise, mu, Xe, work)
            else:
                mu = _adam_step(X, structure, noise, state, mu, lr, scale, work)
        it += steps
        if mu is None and wants_mu:  # the updates did not need the mean (Gaussian): form it for the check
            mu = structure.mean(X, state)
        new = np.atleast_1d(loss(state, mu) if new is None or rest else new)
        rel = np.abs(obj - new) / np.maximum(np.abs(new), 1e-300)
        if _trace_kept(it) or it >= max_iter:
            for j, a in enumerate(active):
                traces[a].append((it, float(new[j])))
        n_iter[active] = it
        done = (rel < tol) if check else np.zeros(active.size, dtype=bool)
        finished = np.ones(active.size, dtype=bool) if it >= max_iter else done
        converged[active[done]] = True
        if finished.any():
            for j, a in enumerate(active[finished]):
                if traces[a][-1][0] != it:
                    traces[a].append((it, float(new[finished][j])))
            for k, v in state.items():
                if k in final and isinstance(v, np.ndarray) and v.ndim >= 1:  # not the structure's caches
                    final[k][active[finished]] = v[None] if single else v[finished]
            if single:
                break
            keep = ~finished
            state = _slice(state, keep)
            mu, new, active, amax = (None if mu is None else mu[keep]), new[keep], active[keep], amax[keep]
            if per_member:
                X = Xe = X[keep]
                loss, _ = _loss_fn(X, structure, noise, tol if check else 0.0)
            elif Xe is not None:
                Xe = Xe[: active.size] if active.size > 1 else None
            if work is not None:
                work = noise.scratch(Xe if Xe is not None else X, mu)
        obj = new
    if timer is not None:
        timer["iterate_s"] = timer.get("iterate_s", 0.0) + time.perf_counter() - t_start
        timer["iterations"] = timer.get("iterations", 0) + int(n_iter.max(initial=0))
    return final, n_iter, converged, traces


#: a batch is iterated together while its mean arrays stay below this size; beyond it numpy's
#: stacked products lose to one 2-D BLAS call per member (measured for restarts: 21x96 k=3, 10 restarts
#: batched 3.8x faster than one by one; 96x500 and 200x500 equal; 300x1000 k=10 1.3x slower batched)
_BATCH_BYTES = 4 << 20


def _iterate_batches(X, structure, noise, state, **kw):
    """:func:`_iterate` over the batch in parts of at most :data:`_BATCH_BYTES` of mean."""
    r = state[structure.factor_names[0]].shape[0]
    size = max(1, _BATCH_BYTES // (X.shape[-2] * X.shape[-1] * X.dtype.itemsize))
    if r <= size:
        return _iterate(X, structure, noise, state, **kw)
    parts = [_iterate(X[i:i + size] if X.ndim == 3 else X, structure, noise, _slice(state, slice(i, i + size)), **kw)
             for i in range(0, r, size)]
    final = {k: (np.concatenate([p[0][k] for p in parts]) if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
             for k, v in parts[0][0].items()}
    return (final, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
            [t for p in parts for t in p[3]])


def _start(Xs, structure, rank, n_restarts, rngs, inits, ae_init):
    """Starting factors of every member (``n_restarts`` each, or its ``init``), stacked on one axis."""
    states = []
    for X, rng, init in zip(Xs, rngs, inits):
        if init is not None:  # validated by fit() (user starts) or an earlier fit (NB warm starts)
            st = {k: np.array(init[k], dtype=float, copy=True)[None] for k in structure.factor_names}
            structure._refresh(X, st, structure.factor_names[-1])
        else:
            st = structure.init(X, rank, n_restarts, rng, scale=(ae_init != "uniform"))
        states.append(st)
    if len(states) == 1:
        return states[0]
    return {k: np.concatenate([s[k] for s in states]) for k in states[0]}


def _fit_fixed(Xs, structure_name, noise, rank, *, n_restarts, rngs, inits, max_iter, tol, check_every,
               pre_iter, solver, lr, ae_constraint, ae_init, dtype, timer, accelerate=None):
    """Fit every matrix of ``Xs`` (one shape) with fixed nuisance parameters, as one batch: restarts,
    optional pre-runs, best start of each member by its divergence once a degenerate optimum is escaped
    (every start when all run to convergence, pre_iter = 0). One ``(factors, n_iter, converged,
    trace, restarts)`` per member."""
    structure = STRUCTURES[structure_name]
    b = len(Xs)
    Xs0, scales = Xs, [_data_scale(X, noise) for X in Xs]
    if any(c != 1.0 for c in scales):  # iterate on X / c (exact: c is a power of two); see _data_scale
        Xs = [X / c for X, c in zip(Xs, scales)]
        inits = [None if s is None or structure_name != "nmf" else dict(s, W=s["W"] / c)
                 for s, c in zip(inits, scales)]
    state = _start(Xs, structure, rank, n_restarts, rngs, inits, ae_init)
    r = state[structure.factor_names[0]].shape[0] // b  # starts per member
    # starts are drawn in float64 so that a seed gives the same start in every precision
    state = {k: v.astype(dtype, copy=False) for k, v in state.items()}
    X = Xs[0].astype(dtype, copy=False) if b == 1 else np.repeat(np.stack(Xs).astype(dtype, copy=False), r, axis=0)
    if solver == "adam":
        _adam_init(structure, state, ae_constraint)
    kw = dict(solver=solver, lr=lr, timer=timer, accelerate=_accelerated(accelerate, noise, solver, check_every))
    if pre_iter and r > 1:
        state, _, _, pre_traces = _iterate_batches(X, structure, noise, state, max_iter=pre_iter, tol=0.0,
                                                   check_every=pre_iter, check=False, **kw)
        pre_obj = np.array([t[-1][1] for t in pre_traces]).reshape(b, r)
        best = np.argmin(pre_obj, axis=1)
        first = np.arange(b) * r + best
        state = _slice(state, first)
        final, n_iter, conv, traces = _iterate_batches(X if b == 1 else X[first], structure, noise, state,
                                                       max_iter=max_iter, tol=tol, check_every=check_every,
                                                       check=True, **kw)
        n_iter = n_iter + pre_iter
        traces = [pre_traces[first[i]] + [(j + pre_iter, o) for j, o in traces[i][1:]] for i in range(b)]
        restarts = [[{"restart": j, "pre_divergence": float(o)} for j, o in enumerate(pre_obj[i])] for i in range(b)]
        for i in range(b):
            restarts[i][best[i]].update(divergence=traces[i][-1][1], n_iter=int(n_iter[i]), converged=bool(conv[i]))
        candidates = [[(i, int(best[i]))] for i in range(b)]  # the continued start of each member
    else:
        final, n_iter, conv, traces = _iterate_batches(X, structure, noise, state, max_iter=max_iter, tol=tol,
                                                       check_every=check_every, check=True, **kw)
        restarts = [[{"restart": j, "divergence": float(traces[i * r + j][-1][1]), "n_iter": int(n_iter[i * r + j]),
                      "converged": bool(conv[i * r + j])} for j in range(r)] for i in range(b)]
        candidates = [[(i * r + j, j) for j in range(r)] for i in range(b)]  # every start, run to convergence
    out = []
    for i in range(b):
        results = []
        for j, start in candidates[i]:
            f = {k: final[k][j].astype(np.float64) for k in structure.factor_names}
            it, c, trace = int(n_iter[j]), bool(conv[j]), traces[j]
            if solver == "mm" and tol > 0:  # leave a degenerate optimum where that fits better (not fixed-length runs)
                run = partial(_iterate, structure=structure, noise=noise, check=True, max_iter=max_iter, tol=tol,
                              check_every=check_every, **kw)
                f, extra, c, trace, escapes = escape_degenerate(Xs[i], structure, f, trace, c, rngs[i], run, dtype)
                it += extra
                if escapes:
                    restarts[i][start].update(escapes=escapes, divergence=trace[-1][1], n_iter=it, converged=c)
            results.append((f, it, c, trace))
        f, it, c, trace = min(results, key=lambda res: res[3][-1][1])  # the lowest divergence after escapes
        out.append(_unscaled(f, it, c, trace, restarts[i], Xs0[i], scales[i], noise))
    return out


def _unscaled(f, n_iter, conv, trace, restarts, X, c, noise):
    """A member's fit on ``X / c`` (see :func:`_data_scale`) as the fit of ``X``: factors, trace, restarts."""
    if "G" in f:  # W G X is the same model on X / c and X with the same W, G
        f["H"] = f["G"] @ X
    elif c != 1.0:
        f["W"] *= c
    if c != 1.0:  # a Tweedie deviance scales by c^(2 - p)
        d = c ** (2.0 - noise.power)

        def scaled(key, value):  # every divergence of a start, also before and after each of its escapes
            if key == "escapes":
                return [dict(e, before=e["before"] * d, after=e["after"] * d) for e in value]
            return value * d if "divergence" in key else value
        trace = [(it, o * d) for it, o in trace]
        restarts = [{k: scaled(k, v) for k, v in r.items()} for r in restarts]
    return f, n_iter, conv, trace, restarts


def _data_scale(X, noise):
    """A power of two to divide ``X`` by before iterating, 1 for data of ordinary scale. The factors' floor
    (``FLOOR``, 1e-16) and the updates' arithmetic assume entries far above 1e-16: data whose largest value
    is below 1e-6 or above 1e12 are iterated at unit scale. The Tweedie family's updates are scale-
    equivariant, so the fit is the same (to rounding); NB's are not (alpha is on the counts' scale): 1."""
    if not isinstance(noise, Tweedie):
        return 1.0
    top = float(X.max())
    if 1e-6 <= top <= 1e12:
        return 1.0
    return float(2.0 ** np.round(np.log2(top)))


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------
_FIT_DOC = """
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
        that is faster: batches whose mean arrays total at most 4 MB (small data,
        where per-call overhead dominates); one at a time for larger data, where
        2-D BLAS calls win. The start with the smallest divergence is kept.
    max_iter, tol, check_every : int, float, int
        Stop when the relative change of the divergence between two checks
        ``check_every`` iterations apart is below ``tol`` (or at ``max_iter``,
        with a :class:`ConvergenceWarning`). ``check_every=1`` is the rule of
        Egendal et al. (relative change between consecutive iterations).
    pre_iter : int
        If > 0 and ``n_restarts > 1``: run every start for ``pre_iter``
        iterations, then continue only the best to convergence (as nmfgenr).
    random_state : int or numpy.random.Generator
        Seed for the initialisation; identical inputs and seeds give identical results.
    init : dict, optional
        Starting factors (``W``, ``H`` or ``W``, ``G``), 2-D arrays; implies one start.
    nb_rounds, nb_tol : int, float
        NB with estimated alpha: a Poisson fit gives the first mean (once its start
        is chosen, run to tol 1e-4, or ``tol`` if looser: it only starts the NB rounds), then
        alpha (Newton ML given the mean) and the NB factors (MM, warm-started, to ``tol``)
        are alternated until alpha changes by less than ``nb_tol`` (relative) or
        ``nb_rounds`` rounds. Each half-step increases the full NB likelihood.
    ae_init : {"scaled", "uniform"}
        Starts of every structure: ``uniform``: raw U(0, 1) entries as in the
        autoencoder paper; ``scaled``: U(0, 1) rescaled so the initial mean
        matches the data mean.
    lr, ae_constraint : float, {"abs", "project"}, optional
        Adam's learning rate (default 1e-4, paper 2's) and non-negativity constraint (default ``"abs"``);
        only for the Adam solver (structure ``autoencoder``): given with MM updates they are an error,
        never silently ignored.
    dtype : {"float64", "float32"}
        Precision of the iterations (float32 is about twice as fast). Consecutive
        float32 losses differ by 0 or by at least ~6e-8 relative, so with a
        ``tol`` below 1e-6 the fit stops when its loss repeats exactly -- what
        float32 training in PyTorch does with the paper-2 rule -- with a warning.
        Likelihoods and results are float64.
    accelerate : bool, optional
        SQUAREM extrapolation of the MM iterations (Varadhan & Roland 2008; :mod:`nmfcore.squarem`) with a
        monotonicity safeguard: cycles of two MM steps, an extrapolation along them, and one MM step from
        there, kept only where the divergence is not above the cycle's start (the divergence never
        increases). Cycles of three fit between convergence checks, so it needs ``check_every >= 3``.
        Default ``None``: on for the negative binomial (its NB rounds, which start from a converged fit),
        whose NB rounds travel far from the Poisson optimum: whole NB fits (alpha estimated, 10 starts, 50
        pre-iterations, tol 1e-6) on BRCA100 K = 6 0.21-0.27 s instead of 0.52-0.87 s, on the three GEL cohorts
        stacked (1,547 x 96, K = 6) 3.9-4.4 s instead of 6.0-9.0 s (seeds 1-2, with the tight majoriser of
        :meth:`NegativeBinomial.mm_parts`; with paper 1's, BRCA100 K = 6 from the Poisson optimum took 8.2 s
        plain and 0.8 s accelerated). Off for the other families: from random starts the
        extrapolation can push entries to the factors' floor, where multiplicative steps hardly move them,
        and a fit then stops early at a worse optimum (NMF Poisson on a simulation: -19,901 vs -19,707 with
        plain steps). ``True`` for any MM fit (convex NMF: BRCA21 Gaussian K = 5 18 s -> 1.5 s to the same
        optima); ``False``: the plain multiplicative updates step for step. Not for Adam.
"""


#: tolerance of a fit that only starts the fits that follow it (the Poisson fit that starts an NB alternation), when
#: the fit's own tol is tighter. Its optimum is no result: the NB rounds move on from it (on GEL prostate K = 5 the
#: first round crossed a plateau of 4,400 accelerated iterations from the Poisson optimum at tol 1e-6), and run to
#: the fit's tol. Measured on 2026-12-06 over seeds 1-5 (10 starts, 50 pre-iterations, tol 1e-6): iterations of the
#: whole NB fit 2-3x fewer on BRCA100 K = 4 / 6 and 1.6x fewer on GEL prostate K = 5; best log-likelihood over the
#: seeds the same to 0.1 nats, single seeds -4 to +57 nats (a less converged start leads to a neighbouring optimum).
#: Not where starts are compared at convergence (pre_iter 0 with several starts: convex NMF in the default config),
#: whose comparison at 1e-4 tripled the seed spread of the convex NB fits.
WARM_START_TOL = 1e-4


def _estimate(Xs, structure, spec, rank, rngs, inits, opts, nb_rounds, nb_tol):
    """Fit a group of equal-shaped matrices and estimate the nuisance parameters of the noise model (by
    the procedure of its family: :func:`nmfcore.noise.nuisance_estimator`).

    Returns per member ``(model, factors, n_iter, converged, trace, restarts, path, extra_params)``.
    Every candidate (Tweedie power, NB round) of a member starts from the same draws as its first fit.
    """
    state0 = [rng.bit_generator.state for rng in rngs]
    names = STRUCTURES[structure].factor_names

    def fit_fixed(model, members, warm=None, start_only=False):
        members = list(members)
        for i in members:
            rngs[i].bit_generator.state = state0[i]
        o = dict(opts, inits=[inits[i] for i in members])
        one_start = o["n_restarts"] == 1 or all(inits[i] is not None for i in members)
        if start_only and (one_start or o["pre_iter"] > 0):
            # a fit that only starts later ones (NB's Poisson fit), its start chosen already (after pre-iterations,
            # or the only one): to a looser tolerance. Starts compared at convergence (pre_iter 0) keep the tol.
            o["tol"] = max(o["tol"], WARM_START_TOL)
        if warm is not None:  # continue from given factors: one start, no pre-iterations
            o.update(inits=[{k: v for k, v in w.items() if k in names} for w in warm], n_restarts=1, pre_iter=0)
        return _fit_fixed([Xs[i] for i in members], structure, model, rank, rngs=[rngs[i] for i in members], **o)
    return nuisance_estimator(spec).estimate(Xs, fit_fixed, rounds=nb_rounds, tol=nb_tol)


def _accelerated(accelerate, noise, solver, check_every):
    """Whether the MM iterations are SQUAREM-accelerated: as set, or by default (None) for the negative binomial
    where the cycles fit between convergence checks (check_every >= 3)."""
    if accelerate is None:
        return solver == "mm" and check_every >= 3 and isinstance(noise, NegativeBinomial)
    return bool(accelerate)


def _result(X, structure, rank, fitted, seed, solver, dtype, timings, t0, accelerate=None, check_every=10):
    """The :class:`FitResult` of one member: rows of H normalised to sum to 1, likelihood, parameters."""
    model, f, it, conv, trace, restarts, path, extra_params = fitted
    n, m = X.shape
    W, H, G = f["W"], f["H"], f.get("G")
    mu = W @ H
    s = H.sum(axis=1)
    s = np.where(s > 0, s, 1.0)
    H = H / s[:, None]
    W = W * s[None, :]
    if G is not None:
        G = G / s[:, None]
    n_params = STRUCTURES[structure].n_params(n, m, rank) + model.n_nuisance(n) + extra_params
    return FitResult(W=W, H=H, G=G, structure=structure, noise=model, rank=rank, loglik=float(model.loglik(X, mu)),
                     loglik_discrete=loglik_discrete(model, X, mu),
                     divergence=model.divergence(X, mu), n_params=int(n_params), n_iter=int(it),
                     converged=bool(conv), trace=trace, seed=seed, time_s=time.perf_counter() - t0,
                     n_samples=n, n_features=m, restarts=restarts, nuisance_path=path, solver=solver,
                     timings=dict(timings, total_s=time.perf_counter() - t0), dtype=str(dtype),
                     accelerated=_accelerated(accelerate, model, solver, check_every))


def fit_many(Xs, rank, *, noise="poisson", structure="nmf", n_restarts=1, max_iter=10_000, tol=1e-8,
             check_every=10, pre_iter=0, random_state=None, init=None, nb_rounds=5, nb_tol=1e-3,
             lr=None, ae_constraint=None, ae_init="scaled", solver=None, dtype="float64", accelerate=None):
    """Fit one model to many data matrices at once; one :class:`FitResult` per matrix, in order.

    Matrices of one shape (e.g. the training sets of cross-validation splits) are iterated as one
    stacked array computation (a leading axis over the matrices and their restarts); each stops by its
    own rule and leaves the batch, and each result equals ``fit(Xs[i], ...)`` with the same seed (to
    rounding). Matrices of different shapes are fitted in one batch per shape.

    ``random_state``: one seed (every matrix starts from the draws it would get alone with it), or one
    seed per matrix. ``init``: ``None`` or one start dict per matrix. Every other setting is that of
    :func:`fit`, shared by all matrices; time_s and timings of each result are the batch's divided
    among its members.
    """
    Xs = list(Xs) if not isinstance(Xs, np.ndarray) or Xs.ndim == 3 else [Xs]
    if not Xs:
        raise ValueError("fit_many needs at least one data matrix")
    spec, opts = _check_settings(structure, rank, dict(
        noise=noise, n_restarts=n_restarts, max_iter=max_iter, tol=tol, check_every=check_every,
        pre_iter=pre_iter, nb_rounds=nb_rounds, nb_tol=nb_tol, lr=lr, ae_constraint=ae_constraint,
        ae_init=ae_init, solver=solver, dtype=dtype, accelerate=accelerate))
    if init is not None and (not isinstance(init, (list, tuple)) or len(init) != len(Xs)):
        raise ValueError(f"init must be None or a list of {len(Xs)} start dicts (one per data matrix)")
    inits = list(init) if init is not None else [None] * len(Xs)
    named = len(Xs) > 1
    checked = [_check_data(X, rank, structure, spec, s, name=f"Xs[{i}]" if named else "X")
               for i, (X, s) in enumerate(zip(Xs, inits))]
    Xs, inits = [c[0] for c in checked], [c[1] for c in checked]
    if any(s is not None for s in inits) and n_restarts > 1:
        warnings.warn("init was given, so n_restarts is ignored (one start)", UserWarning, stacklevel=2)
    rngs, seeds = _rngs(random_state, len(Xs))
    solver, dtype = opts.pop("solver"), opts["dtype"]
    run_opts = {k: opts[k] for k in ("n_restarts", "max_iter", "tol", "check_every", "pre_iter", "lr",
                                     "ae_constraint", "ae_init", "dtype", "accelerate")}
    results = [None] * len(Xs)
    load_deferred_imports()  # before the clock starts: no fit's time includes importing scipy
    groups = {}
    for i, X in enumerate(Xs):
        groups.setdefault(X.shape, []).append(i)
    for members in groups.values():
        t1, timer = time.perf_counter(), {}
        fitted = _estimate([Xs[i] for i in members], structure, spec, rank, [rngs[i] for i in members],
                           [inits[i] for i in members], dict(run_opts, solver=solver, timer=timer),
                           opts["nb_rounds"], opts["nb_tol"])
        share = {k: v / len(members) for k, v in timer.items()}
        for i, fi in zip(members, fitted):
            results[i] = _result(Xs[i], structure, rank, fi, seeds[i], solver, dtype,
                                 dict(share, batch_size=len(members)), t1, opts["accelerate"], opts["check_every"])
        for i in members:  # a batch's wall time is shared by its members
            results[i].time_s = (time.perf_counter() - t1) / len(members)
            results[i].timings["total_s"] = results[i].time_s
    for i, r in enumerate(results):  # no NaN ever leaves a fit
        if not all(np.all(np.isfinite(a)) for a in (r.W, r.H, r.loglik, r.divergence)):
            adam = f"; Adam diverged: lower lr (now {opts['lr']:g})" if solver == "adam" else ""
            raise FloatingPointError(f"the fit of {'X' if len(Xs) == 1 else f'Xs[{i}]'} produced non-finite values "
                                     "(NaN/inf); check the data's scale (rescale values above ~1e150 or below "
                                     f"~1e-150) and any given init{adam}")
    bad = [i for i, r in enumerate(results) if not r.converged]
    if bad:
        label = results[bad[0]].noise.label
        what = (f"{structure}/{label} fit did not converge" if len(Xs) == 1 else
                f"{len(bad)} of {len(Xs)} {structure}/{label} fits (matrices {bad[:10]}) did not converge")
        warnings.warn(f"{what} in {max_iter} iterations (tol={opts['tol']}); increase max_iter or tol",
                      V.ConvergenceWarning, stacklevel=2)
    return results


def fit(X, rank, *, noise="poisson", structure="nmf", n_restarts=1, max_iter=10_000, tol=1e-8,
        check_every=10, pre_iter=0, random_state=None, init=None, nb_rounds=5, nb_tol=1e-3,
        lr=None, ae_constraint=None, ae_init="scaled", solver=None, dtype="float64", accelerate=None):
    """Fit NMF, convex NMF or the non-negative linear autoencoder under a noise model.
    {params}
    Returns
    -------
    FitResult
    """
    return fit_many([X], rank, noise=noise, structure=structure, n_restarts=n_restarts, max_iter=max_iter,
                    tol=tol, check_every=check_every, pre_iter=pre_iter, random_state=random_state,
                    init=None if init is None else [init], nb_rounds=nb_rounds, nb_tol=nb_tol, lr=lr,
                    ae_constraint=ae_constraint, ae_init=ae_init, solver=solver, dtype=dtype,
                    accelerate=accelerate)[0]


fit.__doc__ = fit.__doc__.replace("{params}", _FIT_DOC)
fit_many.__doc__ += _FIT_DOC.replace("X : array-like of shape (n_samples, n_features)",
                                     "Xs : list of array-like of shape (n_samples_i, n_features_i)")
