"""The Tweedie density for 1 < p < 2 (compound Poisson-Gamma) by the Dunn & Smyth (2005) series."""
from __future__ import annotations

import numpy as np

from ._imports import lazy

special = lazy("scipy.special")

__all__ = ["tweedie_logpdf"]


def tweedie_logpdf(y, mu, phi, p, *, tol_log=-37.0):
    """Log density of the Tweedie distribution for ``1 < p < 2``.

    Exact evaluation by the Dunn & Smyth (2005) series
    ``W(y, phi, p) = sum_j W_j``; terms are summed over a window around the
    largest term that is wide enough that omitted terms are below
    ``exp(tol_log)`` relative to it. ``y == 0`` is the point mass
    ``P(Y = 0) = exp(-mu^(2-p) / (phi (2-p)))``.
    """
    y, mu = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(mu, dtype=float))
    out = np.empty(y.shape, dtype=float)
    zero = y == 0
    out[zero] = -np.power(mu[zero], 2 - p) / (phi * (2 - p))
    pos = ~zero
    if np.any(pos):
        yp, mp = y[pos], mu[pos]
        theta_part = (yp * np.power(mp, 1 - p) / (1 - p) - np.power(mp, 2 - p) / (2 - p)) / phi
        u, inv = np.unique(yp, return_inverse=True)
        out[pos] = (_tweedie_logw(u, phi, p, tol_log) - np.log(u))[inv] + theta_part
    return out


def _tweedie_loglik_sum(X, p):
    """``f(mu, phi) -> sum of the Tweedie log density`` (1 < p < 2) for fixed data.

    The series term ``log W(y, phi, p) - log y`` depends on ``y`` only, not on ``mu``, and count
    data repeat a few hundred distinct values many times: it is evaluated once per distinct
    value and weighted by its count (np.unique once per data set), so a dispersion search costs
    the series on the distinct values, not on every entry. The rest sums in closed form:
    ``sum_pos(...) + (sum x mu^(1-p) / (1-p) - sum mu^(2-p) / (2-p)) / phi`` (zeros add only
    the second sum, the point mass).
    """
    X = np.asarray(X, dtype=float)
    u, cnt = np.unique(X[X > 0], return_counts=True)
    sum_logu = float(cnt @ np.log(u)) if u.size else 0.0
    a, b = 2.0 - p, 1.0 - p

    def f(mu, phi, tol_log=-37.0):
        mb = np.power(mu, b)
        theta = float(np.vdot(X, mb)) / b - float(np.vdot(mu, mb)) / a  # mu^(2-p) = mu * mu^(1-p)
        series = float(cnt @ _tweedie_logw(u, phi, p, tol_log)) if u.size else 0.0
        return series - sum_logu + theta / phi
    return f


def _tweedie_logw(y, phi, p, tol_log):
    """log of the Dunn-Smyth series W(y, phi, p) for ``1 < p < 2``, vectorised.

    ``log W_j`` is smooth and concave in ``j`` with its peak near
    ``jmax = y^(2-p) / (phi (2-p))`` and a spread ``sd ~ sqrt(jmax / (1 - alpha))``.
    Terms are summed over ``jmax +- (sqrt(-2 tol_log) sd + 10)``. Where ``sd`` is
    large the sum runs over every ``step``-th term (``step ~ sd / 4``) times
    ``step``: for a smooth bump the trapezoidal sum and the integer sum both
    equal the integral up to ``exp(-2 pi^2 (sd/step)^2)`` (< 1e-130 relative),
    so the cost per entry stays bounded for any ``y`` and ``phi``.
    """
    alpha = (2 - p) / (1 - p)  # negative
    logz = (-alpha * np.log(y) + alpha * np.log(p - 1) - (1 - alpha) * np.log(phi)
            - np.log(2 - p))
    jmax = np.maximum(np.power(y, 2 - p) / (phi * (2 - p)), 1.0)
    sd = np.sqrt(jmax / (1 - alpha))
    step = np.maximum(np.floor(sd / 4.0), 1.0)
    half = np.ceil((np.sqrt(-2 * tol_log) * sd + 10) / step).astype(np.int64)  # in steps
    result = np.empty_like(y)
    # process entries in buckets of similar window width (vectorised per bucket)
    bucket = np.ceil(np.log2(half)).astype(np.int64)
    for b in np.unique(bucket):
        idx = np.nonzero(bucket == b)[0]
        width = int(2 ** b)
        offs = np.arange(-width, width + 1)
        j = np.floor(jmax[idx])[:, None] + step[idx, None] * offs[None, :]
        valid = j >= 1
        j = np.where(valid, j, 1.0)
        logw = (j * logz[idx, None] - special.gammaln(1 + j) - special.gammaln(-alpha * j))
        logw = np.where(valid, logw, -np.inf)
        result[idx] = special.logsumexp(logw, axis=1) + np.log(step[idx])
    return result
