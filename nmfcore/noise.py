"""Noise models: one small immutable object per distribution.

Every model maps a mean matrix ``mu`` (same shape as the data ``X``) to

* ``divergence(X, mu)``: the quantity the MM updates decrease at fixed nuisance
  parameters. For the Tweedie family it is the beta-divergence with
  ``beta = 2 - p`` (half the GLM unit deviance); for the negative binomial it is
  the NB half-deviance. Both are zero when ``mu == X`` and correct at ``X == 0``.
* ``deviance(X, mu)``: the GLM deviance, ``2 * divergence``.
* ``loglik(X, mu)``: the full log-likelihood with every normalising term
  (Tweedie ``1 < p < 2`` by the Dunn & Smyth (2005) series).
* ``variance(mu)``, ``sample(mu, rng)``.
* ``grad_split(X, mu) -> (neg, pos)``: the derivative of the divergence in ``mu``
  written as ``pos - neg`` with both parts non-negative. ``pos`` may be the
  sentinel :data:`ONES` (Poisson) or :data:`MEAN` (Gaussian, ``pos = mu``) so
  the update kernel can use row sums or Gram matrices instead of full products.
* ``gamma``: the MM exponent of Fevotte & Idier (2011), in Tweedie power ``p``:
  ``1/(1-p)`` for ``p < 0``, ``1`` for ``0 <= p <= 1``, ``1/p`` for ``p > 1``.
* ``with_nuisance(X, mu)``: a copy with nuisance parameters (dispersion, NB
  alpha) set to their maximum-likelihood values given ``mu``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
from scipy import special

__all__ = [
    "NoiseModel", "Gaussian", "Poisson", "Gamma", "Tweedie", "NegativeBinomial",
    "make_noise", "NOISE_NAMES", "ONES", "MEAN", "mm_exponent",
]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return self.name


#: ``pos`` part of the gradient split is a matrix of ones (Poisson).
ONES = _Sentinel("ONES")
#: ``pos`` part of the gradient split is the mean itself (Gaussian).
MEAN = _Sentinel("MEAN")

_TINY = 1e-300


def mm_exponent(power: float) -> float:
    """MM exponent gamma(p) of Fevotte & Idier (2011) for Tweedie power ``p``."""
    if power < 0:
        return 1.0 / (1.0 - power)
    if power <= 1:
        return 1.0
    return 1.0 / power


def _log0(x: np.ndarray) -> np.ndarray:
    """``log(x)`` where ``x > 0`` and 0 elsewhere (vectorised ``np.log``, much faster than xlogy)."""
    x = np.asarray(x)
    return np.log(x, out=np.zeros(x.shape, dtype=np.result_type(x, np.float32)), where=x > 0)


def _xlogx_over(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x * log(x / y)`` with the limit 0 at ``x == 0`` (``y > 0``)."""
    return x * (_log0(x) - np.log(y))


@dataclass(frozen=True)
class NoiseModel:
    """Base class. Subclasses are frozen dataclasses holding their parameters."""

    name: ClassVar[str] = "base"
    #: whether the data must be strictly positive (Gamma, Tweedie p >= 2)
    needs_positive: ClassVar[bool] = False

    @property
    def needs_mean(self) -> bool:
        """Whether the MM updates need the mean (False only when ``grad_split`` is (X, MEAN))."""
        return True

    # -- interface --------------------------------------------------------
    @property
    def gamma(self) -> float:
        raise NotImplementedError

    def unit_divergence(self, X, mu):
        raise NotImplementedError

    def grad_split(self, X, mu, overwrite=False, work=None):
        """``(neg, pos)`` with ``d divergence / d mu = pos - neg``; ``overwrite=True``
        lets the model reuse ``mu``'s memory (the caller recomputes ``mu`` afterwards);
        ``work``: up to two scratch arrays of ``mu``'s shape for the other results, so that
        an iteration allocates nothing of the data's size (fresh large arrays cost page
        faults on every call)."""
        raise NotImplementedError

    def loglik_entries(self, X, mu):
        raise NotImplementedError

    def variance(self, mu):
        raise NotImplementedError

    def sample(self, mu, rng: np.random.Generator):
        raise NotImplementedError

    def with_nuisance(self, X, mu) -> "NoiseModel":
        """Copy with nuisance parameters at their ML values given ``mu``."""
        return self

    def n_nuisance(self, n_samples: int) -> int:
        """Number of estimated nuisance parameters (for BIC/AIC)."""
        return 0

    @property
    def params(self) -> dict:
        """Parameters as a flat dict (for result tables)."""
        return {}

    @property
    def label(self) -> str:
        return self.name

    def divergence_fn(self, X):
        """``f(mu) -> divergence`` summed over the last two axes (one value per restart),
        with the data-only terms of the unit divergence computed once for all calls. The
        same elementwise formula as :meth:`unit_divergence` (no cancellation of sums)."""
        return lambda mu: self.unit_divergence(X, mu).sum(axis=(-2, -1))

    # -- shared helpers ---------------------------------------------------
    def divergence(self, X, mu) -> float:
        return float(np.sum(self.unit_divergence(X, mu)))

    def deviance(self, X, mu) -> float:
        return 2.0 * self.divergence(X, mu)

    def loglik(self, X, mu) -> float:
        return float(np.sum(self.loglik_entries(X, mu)))

    def check_data(self, X: np.ndarray) -> None:
        """Raise ``ValueError`` if ``X`` is outside the model's support."""
        if self.needs_positive and np.any(X <= 0):
            raise ValueError(
                f"the {self.label} noise model needs strictly positive data, but X has "
                f"{int(np.sum(X <= 0))} zero entries; use poisson, nb or tweedie with "
                "1 <= p < 2 for count data with zeros")


# ---------------------------------------------------------------------------
# Tweedie family (Gaussian p=0, Poisson p=1, compound Poisson-Gamma 1<p<2, Gamma p=2)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Tweedie(NoiseModel):
    """Tweedie exponential dispersion model, ``Var(X) = phi * mu**power``.

    Parameters
    ----------
    power : float
        ``0`` (Gaussian), ``1`` (Poisson), ``1 < p < 2`` (compound Poisson-Gamma,
        point mass at zero) or ``2`` (Gamma). No Tweedie distribution exists for
        ``0 < p < 1``; powers above 2 are not supported by the likelihood.
    phi : float
        Dispersion. Estimated by maximum likelihood in :meth:`with_nuisance`
        (except for the Poisson, where ``phi = 1`` is fixed).
    """

    power: float = 1.5
    phi: float = 1.0
    estimate_phi: bool = True
    name: ClassVar[str] = "tweedie"

    def __post_init__(self):
        p = float(self.power)
        if not np.isfinite(p) or (0 < p < 1) or p < 0 or p > 2:
            raise ValueError(
                f"Tweedie power must be 0 or in [1, 2], got {self.power!r}: no Tweedie "
                "distribution exists for 0 < p < 1, and p < 0 or p > 2 are not supported; "
                "use p = 0 (Gaussian), 1 (Poisson), 1 < p < 2 (compound Poisson-Gamma) or 2 (Gamma)")
        if not (np.isfinite(self.phi) and self.phi > 0):
            raise ValueError(f"Tweedie dispersion phi must be positive and finite, got {self.phi!r}")

    @property
    def needs_positive(self) -> bool:  # type: ignore[override]
        return self.power >= 2

    @property
    def label(self) -> str:
        """``gaussian``, ``poisson`` and ``gamma`` for the powers 0, 1 and 2, else ``tweedie_p<power>``."""
        return {0.0: "gaussian", 1.0: "poisson", 2.0: "gamma"}.get(float(self.power), f"{self.name}_p{self.power:g}")

    @property
    def needs_mean(self) -> bool:
        return self.power != 0

    @property
    def gamma(self) -> float:
        return mm_exponent(self.power)

    @property
    def params(self) -> dict:
        return {"power": float(self.power), "phi": float(self.phi)}

    def n_nuisance(self, n_samples: int) -> int:
        return int(self.estimate_phi)

    def unit_divergence(self, X, mu):
        p = self.power
        if p == 0:
            return 0.5 * (X - mu) ** 2
        if p == 1:
            return _xlogx_over(X, mu) - X + mu
        if p == 2:
            r = X / mu
            return r - np.log(r) - 1.0
        a, b = 2.0 - p, 1.0 - p
        return (np.power(X, a) + b * np.power(mu, a) - a * X * np.power(mu, b)) / (a * b)

    def divergence_fn(self, X):
        p = self.power
        if p == 1:
            lx = _log0(X)

            def poisson(mu):
                t = np.log(mu)
                np.subtract(lx, t, out=t)
                t *= X
                t -= X
                t += mu
                return t.sum(axis=(-2, -1))
            return poisson
        if 1 < p < 2:
            a, b = 2.0 - p, 1.0 - p
            xa = np.power(X, a)

            def tweedie(mu):
                mb = np.power(mu, b)  # mu^(1-p); mu^(2-p) = mu * mu^(1-p)
                t = mu * mb
                t *= b
                mb *= X
                mb *= a
                t -= mb
                t += xa
                return t.sum(axis=(-2, -1)) / (a * b)
            return tweedie
        if p == 0:
            def gaussian(mu):
                d = np.subtract(X, mu)
                d *= d
                return 0.5 * d.sum(axis=(-2, -1))
            return gaussian
        return super().divergence_fn(X)

    def grad_split(self, X, mu, overwrite=False, work=None):
        p = self.power
        w0, w1 = (None, None) if work is None else work
        if p == 0:
            return X, MEAN
        if p == 1:
            return np.divide(X, mu, out=mu if overwrite else w0), ONES
        if p == 2:
            inv = np.reciprocal(mu, out=mu if overwrite else w1)
            neg = np.multiply(X, inv, out=w0)
            neg *= inv
            return neg, inv
        mp = np.power(mu, -p, out=w0)
        pos = np.multiply(mu, mp, out=mu if overwrite else w1)
        return np.multiply(X, mp, out=mp), pos

    def variance(self, mu):
        return self.phi * np.power(mu, self.power)

    # -- likelihood -------------------------------------------------------
    def loglik_entries(self, X, mu):
        p, phi = self.power, self.phi
        X = np.asarray(X, dtype=float)
        mu = np.asarray(mu, dtype=float)
        if p == 0:
            return -0.5 * np.log(2 * np.pi * phi) - (X - mu) ** 2 / (2 * phi)
        if p == 1:  # over-dispersed Poisson: X/phi ~ Poisson(mu/phi), lattice phi*N
            y = X / phi
            return special.xlogy(y, mu / phi) - mu / phi - special.gammaln(y + 1)
        if p == 2:
            a = 1.0 / phi
            return (a * np.log(a) - a * np.log(mu) + (a - 1) * np.log(X)
                    - a * X / mu - special.gammaln(a))
        return tweedie_logpdf(X, mu, phi, p)

    def sample(self, mu, rng):
        p, phi = self.power, self.phi
        mu = np.asarray(mu, dtype=float)
        if p == 0:
            return mu + np.sqrt(phi) * rng.standard_normal(mu.shape)
        if p == 1:
            return phi * rng.poisson(mu / phi)
        if p == 2:
            return rng.gamma(1.0 / phi, mu * phi)
        lam = np.power(mu, 2 - p) / (phi * (2 - p))
        n = rng.poisson(lam)
        shape = (2 - p) / (p - 1)
        scale = phi * (p - 1) * np.power(mu, p - 1)
        return rng.gamma(n * shape, scale)  # shape 0 gives exactly 0

    def with_nuisance(self, X, mu):
        if not self.estimate_phi or self.power == 1:
            return self
        if self.power == 0:
            return replace(self, phi=float(np.mean((X - mu) ** 2)) or _TINY)
        # 1-D ML over log(phi), started from the mean-deviance estimate.
        phi0 = max(float(2 * np.mean(self.unit_divergence(X, mu))), 1e-8)
        if self.power == 2:
            return replace(self, phi=_gamma_phi_mle(X, mu, phi0))

        loglik_sum = _tweedie_loglik_sum(X, self.power)
        mu = np.asarray(mu, dtype=float)

        def nll(logphi):
            return -loglik_sum(mu, float(np.exp(logphi)))

        from scipy import optimize  # ~0.1 s to import: only this search needs it

        lo, hi = np.log(phi0) - 4.0, np.log(phi0) + 4.0
        for _ in range(10):  # widen the bracket until the optimum is inside it
            res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-6})
            if res.x - lo > 1e-3 and hi - res.x > 1e-3:
                break
            lo, hi = (lo - 8.0, lo + 0.5) if res.x - lo <= 1e-3 else (hi - 0.5, hi + 8.0)
        return replace(self, phi=float(np.exp(res.x)))


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


def Gaussian(phi: float = 1.0, estimate_phi: bool = True) -> Tweedie:
    """Gaussian noise (Tweedie ``p = 0``), variance ``phi``."""
    return Tweedie(power=0.0, phi=phi, estimate_phi=estimate_phi)


def Poisson() -> Tweedie:
    """Poisson noise (Tweedie ``p = 1``, ``phi = 1``)."""
    return Tweedie(power=1.0, phi=1.0, estimate_phi=False)


def Gamma(phi: float = 1.0, estimate_phi: bool = True) -> Tweedie:
    """Gamma noise (Tweedie ``p = 2``), ``Var = phi * mu**2``; needs X > 0."""
    return Tweedie(power=2.0, phi=phi, estimate_phi=estimate_phi)


# ---------------------------------------------------------------------------
# Negative binomial
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NegativeBinomial(NoiseModel):
    """Negative binomial, ``Var(X) = mu + mu**2 / alpha``.

    Parameters
    ----------
    alpha : float or ndarray of shape (n_samples,)
        Dispersion ("size"); large alpha approaches the Poisson. One shared
        value or one per sample (row of X).
    dispersion : {"shared", "sample"}
        Which form :meth:`with_nuisance` estimates.
    estimate_alpha : bool
        Whether alpha is a free parameter (counts toward BIC, re-estimated).
    """

    alpha: float | np.ndarray = 10.0
    dispersion: str = "shared"
    estimate_alpha: bool = True
    name: ClassVar[str] = "nb"
    _a: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.dispersion not in ("shared", "sample"):
            raise ValueError(f"NB dispersion must be 'shared' or 'sample', got {self.dispersion!r}")
        a = np.asarray(self.alpha, dtype=float)
        if a.ndim > 1 or not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise ValueError(
                f"NB alpha must be a positive finite number or a 1-D array of them, got {self.alpha!r}; "
                "alpha is the size parameter (Var = mu + mu^2/alpha), use a large value for near-Poisson data")
        object.__setattr__(self, "_a", a[:, None] if a.ndim == 1 else a)

    @property
    def label(self) -> str:
        return f"nb_{self.dispersion}"

    @property
    def gamma(self) -> float:
        return 1.0

    @property
    def params(self) -> dict:
        a = np.asarray(self.alpha, dtype=float)
        if a.ndim == 0:
            return {"alpha": float(a)}
        return {"alpha": float(np.median(a)), "alpha_min": float(a.min()), "alpha_max": float(a.max())}

    def n_nuisance(self, n_samples: int) -> int:
        if not self.estimate_alpha:
            return 0
        return 1 if self.dispersion == "shared" else n_samples

    def check_data(self, X):
        super().check_data(X)
        self._alpha_for(X)

    def _alpha_for(self, X):
        a = self._a
        if a.ndim == 2 and a.shape[0] != X.shape[-2]:
            raise ValueError(f"NB alpha has {a.shape[0]} values but X has {X.shape[-2]} rows (samples)")
        return a

    def unit_divergence(self, X, mu):
        a = self._alpha_for(X).astype(np.result_type(X, mu), copy=False)
        return _xlogx_over(X, mu) - (a + X) * np.log((a + X) / (a + mu))

    def divergence_fn(self, X):
        a = self._alpha_for(X).astype(X.dtype, copy=False)
        lx, ax = _log0(X), a + X
        lax = np.log(ax)

        def nb(mu):
            t = np.log(mu)
            np.subtract(lx, t, out=t)
            t *= X
            u = np.log(a + mu)
            np.subtract(lax, u, out=u)
            u *= ax
            t -= u
            return t.sum(axis=(-2, -1))
        return nb

    def grad_split(self, X, mu, overwrite=False, work=None):
        a = self._alpha_for(X).astype(mu.dtype, copy=False)
        w0, w1 = (None, None) if work is None else work
        pos = np.add(a, mu, out=w1)
        np.divide(np.add(a, X, out=w0), pos, out=pos)
        return np.divide(X, mu, out=mu if overwrite else w0), pos

    def loglik_entries(self, X, mu):
        a = self._alpha_for(X)
        return (special.gammaln(X + a) - special.gammaln(a) - special.gammaln(X + 1)
                + a * np.log(a / (a + mu)) + special.xlogy(X, mu / (a + mu)))

    def variance(self, mu):
        return mu + mu ** 2 / self._a

    def sample(self, mu, rng):
        a = np.broadcast_to(self._a, np.shape(mu))
        return rng.negative_binomial(a, a / (a + mu)).astype(float)

    def with_nuisance(self, X, mu):
        if not self.estimate_alpha:
            return self
        alpha = nb_alpha_mle(X, mu, per_sample=self.dispersion == "sample",
                             start=np.asarray(self.alpha, dtype=float))
        return replace(self, alpha=alpha)


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


# ---------------------------------------------------------------------------
NOISE_NAMES = ("gaussian", "poisson", "gamma", "tweedie", "nb")


def make_noise(spec, **kwargs) -> NoiseModel | dict:
    """Build a noise model from a name or dict.

    ``make_noise("poisson")``, ``make_noise("tweedie", power=1.5)``,
    ``make_noise({"family": "nb", "dispersion": "sample"})``. A Tweedie without
    ``power`` or an NB without ``alpha`` is returned as the *unfitted* spec
    dict, which :func:`nmfcore.fit` resolves by profile likelihood / ML.
    """
    if isinstance(spec, NoiseModel):
        if kwargs:
            raise ValueError("keyword arguments are not allowed with a NoiseModel instance")
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        family = spec.pop("family", spec.pop("name", None))
        spec.update(kwargs)
        kwargs = spec
    else:
        family = spec
    if not isinstance(family, str):
        raise ValueError(f"noise model must be one of {NOISE_NAMES} or a NoiseModel, got {family!r}")
    family = family.lower()
    aliases = {"normal": "gaussian", "frobenius": "gaussian", "kl": "poisson",
               "negative_binomial": "nb", "negbin": "nb", "nb_shared": "nb", "nb_sample": "nb"}
    if family in ("nb_sample",):
        kwargs.setdefault("dispersion", "sample")
    family = aliases.get(family, family)
    allowed = {"gaussian": {"phi"}, "poisson": set(), "gamma": {"phi"},
               "tweedie": {"power", "phi", "powers"}, "nb": {"alpha", "dispersion"}}
    if family not in allowed:
        raise ValueError(f"unknown noise model {family!r}; choose one of {', '.join(NOISE_NAMES)}")
    unknown = set(kwargs) - allowed[family]
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)} for noise model {family!r}; "
                         f"allowed: {sorted(allowed[family]) or 'none'}")
    if family == "gaussian":
        return Gaussian(phi=kwargs.get("phi", 1.0), estimate_phi="phi" not in kwargs)
    if family == "poisson":
        return Poisson()
    if family == "gamma":
        return Gamma(phi=kwargs.get("phi", 1.0), estimate_phi="phi" not in kwargs)
    if family == "tweedie":
        if kwargs.get("power") is None:
            powers = tuple(float(p) for p in kwargs.get("powers", DEFAULT_TWEEDIE_POWERS))
            for p in powers:  # validate the grid before any work
                Tweedie(power=p)
            return {"family": "tweedie", "powers": powers}
        return Tweedie(power=float(kwargs["power"]), phi=kwargs.get("phi", 1.0),
                       estimate_phi="phi" not in kwargs)
    # nb
    dispersion = kwargs.get("dispersion", "shared")
    if kwargs.get("alpha") is None:
        NegativeBinomial(alpha=1.0, dispersion=dispersion)  # validates dispersion
        return {"family": "nb", "dispersion": dispersion}
    return NegativeBinomial(alpha=kwargs["alpha"], dispersion=dispersion, estimate_alpha=False)


DEFAULT_TWEEDIE_POWERS = (1.1, 1.3, 1.5, 1.7, 1.9)
