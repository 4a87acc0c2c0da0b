"""Discretised log-likelihood: every noise model on one scale for count data.

The log-likelihood of a density (Gaussian, Gamma, Tweedie) and that of a probability mass (Poisson,
NB) are not comparable: a density's value depends on the unit of measurement, a mass's does not. For
integer data ``y = 0, 1, 2, ...`` each model is put on the mass scale by the probability it gives to
the unit interval around each observed count,

    I(0) = (-inf, 1/2],   I(y) = (y - 1/2, y + 1/2]   for y >= 1,

(the intervals tile the line, so these probabilities sum to 1 over y). Poisson and NB already are
masses on the integers and keep their log-likelihood. Gaussian: differences of the normal CDF;
Gamma: differences of the regularised incomplete gamma function; Tweedie (1 < p < 2): the compound
Poisson-Gamma sum ``P(a < Y <= b) = sum_n Pois(n; lam) [G_n(b) - G_n(a)]`` with ``G_n`` the CDF of
Gamma(n alpha, gamma) (``G_0`` the point mass at 0), summed over the window of ``n`` where the terms
matter. Each difference is taken in the tail where it is small, so tail probabilities keep their
relative precision; one that still underflows is replaced by the density at ``y`` (midpoint rule).
"""
from __future__ import annotations

import numpy as np

from ._imports import lazy
from .noise import NegativeBinomial, NoiseModel, Tweedie

special = lazy("scipy.special")


def is_count_data(X) -> bool:
    """Whether every entry is a non-negative integer (the discretised likelihood is defined)."""
    X = np.asarray(X, dtype=float)
    return bool(np.all(X >= 0) and np.all(X == np.round(X)))


def loglik_discrete(model: NoiseModel, X, mu) -> float:
    """Sum over entries of ``log P(Y in I(x))`` under ``model`` with mean ``mu``; NaN unless ``X`` is
    count data."""
    if not is_count_data(X):
        return float("nan")
    return float(np.sum(logprob_entries(model, X, mu)))


def logprob_entries(model: NoiseModel, X, mu) -> np.ndarray:
    """``log P(Y in I(x))`` per entry, for integer ``X >= 0``."""
    y, mu = np.broadcast_arrays(np.asarray(X, dtype=float), np.asarray(mu, dtype=float))
    if isinstance(model, NegativeBinomial):
        return model.loglik_entries(y, mu)
    if not isinstance(model, Tweedie):
        raise TypeError(f"no discretised likelihood for {type(model).__name__}")
    p, phi = model.power, model.phi
    if p == 0:
        out = _gaussian(y, mu, np.sqrt(phi))
    elif p == 1:
        return _poisson(model, y, mu)
    elif p == 2:
        out = _gamma(y, mu, phi)
    else:
        out = _tweedie(y, mu, phi, p)
    bad = ~np.isfinite(out)
    if bad.any():  # underflow in a far tail: the density at y times the interval's width 1
        out[bad] = model.loglik_entries(y[bad], mu[bad])
    return out


def _log_diff(log_hi, log_lo):
    """``log(exp(log_hi) - exp(log_lo))`` for ``log_hi >= log_lo`` (-inf where equal)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_hi + np.log1p(-np.exp(log_lo - log_hi))


def _gaussian(y, mu, sd):
    b = (y + 0.5 - mu) / sd
    a = np.where(y == 0, -np.inf, (y - 0.5 - mu) / sd)
    # Phi(b) - Phi(a) in the lower tail, Phi(-a) - Phi(-b) in the upper one (each without cancellation)
    upper = a > 0
    return np.where(upper, _log_diff(special.log_ndtr(-a), special.log_ndtr(-b)),
                    _log_diff(special.log_ndtr(b), special.log_ndtr(a)))


def _gamma_interval(shape, a, b):
    """``P(a < Z <= b)`` for Z ~ Gamma(shape, 1), ``0 <= a < b`` (from the smaller tail)."""
    shape, a, b = np.broadcast_arrays(shape, a, b)
    lo_b = special.gammainc(shape, b)
    out = lo_b - special.gammainc(shape, a)
    upper = lo_b >= 0.5  # there the upper tails are the small numbers
    if upper.any():
        s, a, b = shape[upper], a[upper], b[upper]
        out[upper] = special.gammaincc(s, a) - special.gammaincc(s, b)
    return out


def _log_gamma_interval(shape, a, b, mid):
    """``log P(a < Z <= b)`` for Z ~ Gamma(shape, 1); where the difference is too small for its digits
    (below 1e-280: far tails) the log density at the interval's midpoint ``mid`` times its width."""
    d = _gamma_interval(shape, a, b)
    with np.errstate(divide="ignore"):
        out = np.log(d)
    tiny = ~(d > 1e-280)
    if tiny.any():
        shape, a, b, mid = (np.broadcast_to(v, d.shape)[tiny] for v in (shape, a, b, mid))
        mid = np.where(a > 0, mid, 0.5 * b)  # I(0) = (0, 1/2]: its midpoint
        with np.errstate(divide="ignore"):  # a width that rounds to 0 gives -inf: the caller uses the density
            out[tiny] = np.log(b - a) + special.xlogy(shape - 1, mid) - mid - special.gammaln(shape)
    return out


def _gamma(y, mu, phi):
    shape, scale = 1.0 / phi, phi * mu
    return _log_gamma_interval(shape, np.maximum(y - 0.5, 0.0) / scale, (y + 0.5) / scale, y / scale)


def _poisson(model, y, mu):
    """Poisson (``phi = 1``): already a mass on the integers, its own log-likelihood. An over-dispersed Poisson
    (``phi != 1``) lives on the lattice ``phi N`` and gives most counts probability 0: NaN (not comparable)."""
    if model.phi != 1.0:
        return np.full(y.shape, np.nan)
    return model.loglik_entries(y, mu)


def _tweedie(y, mu, phi, p, sds=6.0):
    """Compound Poisson-Gamma interval probabilities (1 < p < 2).

    ``N ~ Poisson(lam)``, ``lam = mu^(2-p) / (phi (2-p))``; given ``N = n`` the sum of ``n`` Gamma jumps
    of shape ``alpha = (2-p)/(p-1)`` and scale ``gamma = phi (p-1) mu^(p-1)``. The conditional law of
    ``N`` given ``Y = y`` does not depend on ``mu`` (Dunn & Smyth 2005): it peaks near
    ``jmax(y) = y^(2-p) / (phi (2-p))`` with spread ``sd ~ sqrt(jmax (p-1))``, so per entry the sum runs
    over ``n`` within ``sds`` spreads (+3) of the peaks at both ends of the interval.
    """
    lam = np.power(mu, 2 - p) / (phi * (2 - p))
    alpha = (2 - p) / (p - 1)
    gam = phi * (p - 1) * np.power(mu, p - 1)
    a = np.maximum(y - 0.5, 0.0)
    b = y + 0.5

    def jmax(v):
        return np.power(v, 2 - p) / (phi * (2 - p))
    lo_n = np.maximum(np.floor(jmax(a) - sds * np.sqrt(jmax(a) * (p - 1) + 1) - 3), 1.0)
    hi_n = np.ceil(jmax(b) + sds * np.sqrt(jmax(b) * (p - 1) + 1) + 3)
    width = (hi_n - lo_n + 1).astype(np.int64)
    out = np.empty(y.shape, dtype=float)
    flat = [v.ravel() for v in (y, lam, gam, a, b, lo_n)]
    o = out.ravel()
    bucket = -(-width.ravel() // 8) * 8  # entries with windows of similar width (to 8 terms), vectorised together
    for w in np.unique(bucket):
        for idx in np.array_split(np.nonzero(bucket == w)[0], max(1, int(np.sum(bucket == w)) * int(w) >> 21)):
            o[idx] = _tweedie_window(*(v[idx] for v in flat), int(w), alpha)
    return out


def _tweedie_window(yy, ll, gg, aa, bb, n0, w, alpha):
    """log of the compound Poisson-Gamma sum over ``n = n0 .. n0 + w - 1`` (and ``n = 0`` for y = 0)."""
    n = n0[:, None] + np.arange(w)[None, :]
    logw = special.xlogy(n, ll[:, None]) - ll[:, None] - special.gammaln(n + 1)
    shape = n * alpha
    terms = logw + _log_gamma_interval(shape, (aa / gg)[:, None], (bb / gg)[:, None], (yy / gg)[:, None])
    zero_mass = np.where(yy == 0, -ll, -np.inf)  # n = 0: the point mass at 0, inside I(0) only
    return special.logsumexp(np.concatenate([terms, zero_mass[:, None]], axis=1), axis=1)
