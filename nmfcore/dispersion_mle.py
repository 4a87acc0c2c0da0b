"""Maximum-likelihood dispersion given a fitted mean: the NB size alpha and the Gamma dispersion phi."""
from __future__ import annotations

import numpy as np

from ._imports import lazy

special = lazy("scipy.special")

__all__ = ["nb_alpha_mle"]

_TINY = 1e-300


def _gamma_phi_mle(X, mu, phi0):
    """ML dispersion of the Gamma GLM given the mean: Newton on the shape."""
    r = X / mu
    s = float(np.mean(np.log(r) - r))  # sum(log r - r)/N ; score: log a - psi(a) + 1 + s = 0
    a = 1.0 / phi0
    for _ in range(100):
        f = np.log(a) - special.digamma(a) + 1.0 + s
        fp = 1.0 / a - special.polygamma(1, a)
        step = f / fp
        a_new = a - step
        if a_new <= 0:
            a_new = a / 2
        if abs(a_new - a) < 1e-12 * a:
            a = a_new
            break
        a = a_new
    return float(1.0 / a)


def nb_alpha_mle(X, mu, *, per_sample: bool = False, start=None, max_iter: int = 100,
                 tol: float = 1e-8, alpha_max: float = 1e8):
    """Maximum-likelihood NB size ``alpha`` given the fitted mean ``mu``.

    Newton's method on ``log(alpha)`` with step halving, so every accepted step
    increases the NB log-likelihood; one shared value or one per row. Each row (or
    the shared value) stops when its Newton step, or its halved step, falls below
    ``tol`` in ``log(alpha)``; only rows still moving are evaluated. Rows whose
    likelihood keeps increasing towards the Poisson limit end at ``alpha_max``.
    """
    X = np.asarray(X, dtype=float)
    mu = np.asarray(mu, dtype=float)
    # groups sharing one alpha: the rows (per sample) or all entries (shared)
    Xg, mg = (X, mu) if per_sample else (X.reshape(1, -1), mu.reshape(1, -1))
    n = Xg.shape[0]
    every = np.arange(n)

    def take(rows):
        return (Xg, mg) if rows.size == n else (Xg[rows], mg[rows])

    def ll(a, rows):
        x, m = take(rows)
        ac = a[:, None]
        e = (special.gammaln(x + ac) - special.gammaln(ac) + ac * np.log(ac / (ac + m))
             + special.xlogy(x, m / (ac + m)))
        return e.sum(axis=1)

    def derivs(a, rows):
        x, m = take(rows)
        ac = a[:, None]
        g = (special.digamma(x + ac) - special.digamma(ac) + np.log(ac / (ac + m))
             + 1 - (ac + x) / (ac + m))
        h = (special.polygamma(1, x + ac) - special.polygamma(1, ac) + 1 / ac
             - 2 / (ac + m) + (ac + x) / (ac + m) ** 2)
        return g.sum(axis=1), h.sum(axis=1)

    if start is not None and np.size(start) in (1, n):
        a = np.broadcast_to(np.asarray(start, dtype=float).ravel(), (n,)).copy()
    else:
        # method-of-moments start: Var(x) - mu = mu^2 / alpha
        excess = ((Xg - mg) ** 2 - mg).sum(axis=1)
        a = np.where(excess > 0, (mg ** 2).sum(axis=1) / np.maximum(excess, _TINY), 1e3)
    a = np.clip(a, 1e-6, alpha_max)
    cur = ll(a, every)
    active = np.ones(n, dtype=bool)
    for _ in range(max_iter):
        rows = np.nonzero(active)[0]
        ar = a[rows]
        g, h = derivs(ar, rows)
        # Newton on t = log(alpha): dl/dt = a g, d2l/dt2 = a^2 h + a g
        gt, ht = ar * g, ar * ar * h + ar * g
        with np.errstate(divide="ignore", invalid="ignore"):  # ht = 0 takes the other branch
            step = np.clip(np.where(ht < 0, -gt / ht, np.sign(gt) * 1.0), -5, 5)
        new_a, new_val = ar.copy(), cur[rows]
        t = np.ones_like(ar)
        pending = np.abs(step) >= tol
        for _half in range(30):
            idx = np.nonzero(pending)[0]
            if idx.size == 0:
                break
            trial = np.clip(ar[idx] * np.exp(t[idx] * step[idx]), 1e-8, alpha_max)
            val = ll(trial, rows[idx])
            ok = val >= new_val[idx]
            new_a[idx[ok]], new_val[idx[ok]] = trial[ok], val[ok]
            pending[idx[ok]] = False
            t[idx[~ok]] /= 2
            pending &= np.abs(t * step) >= tol  # no gain down to a step below tol: at the optimum
        change = np.abs(np.log(new_a) - np.log(ar))
        a[rows], cur[rows] = new_a, new_val
        active[rows] = change >= tol
        if not active.any():
            break
    return float(a[0]) if not per_sample else a
