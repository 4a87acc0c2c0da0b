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

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from ._imports import lazy
from .dispersion_mle import _gamma_phi_mle, nb_alpha_mle  # noqa: F401  (nb_alpha_mle re-exported)
from .tweedie_series import _tweedie_loglik_sum, tweedie_logpdf

special = lazy("scipy.special")
optimize = lazy("scipy.optimize")  # only the Tweedie phi search uses it

__all__ = [
    "NoiseModel", "Gaussian", "Poisson", "Gamma", "Tweedie", "NegativeBinomial",
    "make_noise", "NOISE_NAMES", "ONES", "MEAN", "mm_exponent", "nuisance_estimator", "TweedieProfile",
    "NBAlternation",
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


def _check_number(value, what):
    """Refuse what is not a real number (True, "1", None), which arithmetic would accept or fail on later."""
    import numbers

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, got {value!r} ({type(value).__name__})")


def mm_exponent(power: float) -> float:
    """MM exponent gamma(p) of Fevotte & Idier (2011) for Tweedie power ``p``."""
    if power < 0:
        return 1.0 / (1.0 - power)
    if power <= 1:
        return 1.0
    return 1.0 / power


def _buffers(count: int):
    """``get(like) -> [count arrays of like's shape and dtype]``, allocated once per shape (the last one kept): a
    divergence evaluated at every check would otherwise allocate arrays of the data's size on every call, and
    fresh large arrays cost page faults (NB on 1,547 x 96: 1.55 ms a call with fresh arrays)."""
    held = {}

    def get(like):
        key = (like.shape, like.dtype)
        if key not in held:
            held.clear()
            held[key] = [np.empty_like(like) for _ in range(count)]
        return held[key]
    return get


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

    def scratch(self, X, mu) -> list:
        """The ``work`` of :meth:`grad_split` for a run of iterations on ``X``: two scratch arrays of
        ``mu``'s shape, then any data-only terms the model's gradient reuses (computed once per run)."""
        return [np.empty_like(mu), np.empty_like(mu)]

    def mm_parts(self, X, mu, work=None):
        """The arrays whose projections on a factor make its MM step (:meth:`mm_ratio`); ``mu``'s memory
        may be reused. Default: ``(neg, pos)`` of :meth:`grad_split`."""
        return self.grad_split(X, mu, overwrite=True, work=work)

    def mm_ratio(self, num, den, shape):
        """The multiplicative MM step of a factor of ``shape`` from its projected parts: ``(num / den) **
        gamma`` (Fevotte & Idier 2011), written into ``den`` where it has the factor's shape (a fresh
        product, never one a structure holds)."""
        ratio = np.divide(num, den, out=den if den.shape == shape else None)
        if self.gamma != 1.0:
            np.power(ratio, self.gamma, out=ratio)
        return ratio

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

    def estimate(self, Xs, fit_fixed, **settings) -> list:
        """Fit every matrix of ``Xs`` and estimate the nuisance parameters: the interface :func:`nmfcore.fit`
        calls (see :func:`nuisance_estimator`). Here: one fit with this model, then :meth:`with_nuisance`
        (phi by ML for Gaussian/Gamma/Tweedie, alpha for an NB that estimates it) given the fitted mean.

        ``fit_fixed(model, members, warm=None, start_only=False)`` fits ``model`` with its nuisance held fixed to
        the matrices ``Xs[i]`` for ``i in members`` (from the factors ``warm``, one dict per member, if given; a
        ``start_only`` fit, whose optimum only starts later fits, to the looser ``fit.WARM_START_TOL``)
        and returns per member ``(factors, n_iter, converged, trace, restarts)``. Returns per member
        ``(model, factors, n_iter, converged, trace, restarts, path, extra_params)``: ``path`` the
        estimation's steps (for the result tables), ``extra_params`` parameters beyond ``n_nuisance``."""
        return [(self.with_nuisance(Xs[i], f["W"] @ f["H"]), f, it, conv, trace, restarts, [], 0)
                for i, (f, it, conv, trace, restarts) in enumerate(fit_fixed(self, range(len(Xs))))]

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
        for what in ("power", "phi"):
            _check_number(getattr(self, what), what)
        p = float(self.power)
        if not np.isfinite(p) or (0 < p < 1) or p < 0 or p > 2:
            raise ValueError(
                f"Tweedie power must be 0 or in [1, 2], got {self.power!r}: no Tweedie "
                "distribution exists for 0 < p < 1, and p < 0 or p > 2 are not supported; "
                "use p = 0 (Gaussian), 1 (Poisson), 1 < p < 2 (compound Poisson-Gamma) or 2 (Gamma)")
        if not (np.isfinite(self.phi) and self.phi > 0):
            raise ValueError(f"Tweedie dispersion phi must be positive and finite, got {self.phi!r}")
        object.__setattr__(self, "power", p)
        object.__setattr__(self, "phi", float(self.phi))

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

            buffers = _buffers(1)

            def poisson(mu):
                t = np.log(mu, out=buffers(mu)[0])
                np.subtract(lx, t, out=t)
                t *= X
                t -= X
                t += mu
                return t.sum(axis=(-2, -1))
            return poisson
        if 1 < p < 2:
            a, b = 2.0 - p, 1.0 - p
            xa = np.power(X, a)

            buffers = _buffers(2)

            def tweedie(mu):
                mb, t = buffers(mu)
                np.power(mu, b, out=mb)  # mu^(1-p); mu^(2-p) = mu * mu^(1-p)
                np.multiply(mu, mb, out=t)
                t *= b
                mb *= X
                mb *= a
                t -= mb
                t += xa
                return t.sum(axis=(-2, -1)) / (a * b)
            return tweedie
        if p == 0:
            buffers = _buffers(1)

            def gaussian(mu):
                d = np.subtract(X, mu, out=buffers(mu)[0])
                d *= d
                return 0.5 * d.sum(axis=(-2, -1))
            return gaussian
        return super().divergence_fn(X)

    def grad_split(self, X, mu, overwrite=False, work=None):
        p = self.power
        w0, w1 = (None, None) if work is None else work[:2]
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
        # 1-D ML over log(phi), started from the mean-deviance estimate (on the data's scale: phi scales as
        # c^(2 - p) when X and mu scale by c, so no absolute floor; Gamma's phi is scale-free)
        phi0 = float(2 * np.mean(self.unit_divergence(X, mu)))
        if self.power == 2:
            return replace(self, phi=_gamma_phi_mle(X, mu, max(phi0, 1e-8)))
        phi0 = phi0 if phi0 > 0 else _TINY

        loglik_sum = _tweedie_loglik_sum(X, self.power)
        mu = np.asarray(mu, dtype=float)

        def nll(logphi):
            return -loglik_sum(mu, float(np.exp(logphi)))

        lo, hi = np.log(phi0) - 4.0, np.log(phi0) + 4.0
        for _ in range(10):  # widen the bracket until the optimum is inside it
            res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-6})
            if res.x - lo > 1e-3 and hi - res.x > 1e-3:
                break
            lo, hi = (lo - 8.0, lo + 0.5) if res.x - lo <= 1e-3 else (hi - 0.5, hi + 8.0)
        else:
            raise FloatingPointError(f"Tweedie p={self.power:g}: the maximum-likelihood phi lies beyond "
                                     f"exp({lo:.0f})..exp({hi:.0f}) of the deviance estimate {phi0:.3g}; the "
                                     "data's scale is beyond what the likelihood resolves: rescale the data")
        return replace(self, phi=float(np.exp(res.x)))


def Gaussian(phi: float = 1.0, estimate_phi: bool = True) -> Tweedie:
    """Gaussian noise (Tweedie ``p = 0``), variance ``phi``."""
    return Tweedie(power=0.0, phi=phi, estimate_phi=estimate_phi)


def Poisson() -> Tweedie:
    """Poisson noise (Tweedie ``p = 1``, ``phi = 1``)."""
    return Tweedie(power=1.0, phi=1.0, estimate_phi=False)


def Gamma(phi: float = 1.0, estimate_phi: bool = True) -> Tweedie:
    """Gamma noise (Tweedie ``p = 2``), ``Var = phi * mu**2``; needs X > 0."""
    return Tweedie(power=2.0, phi=phi, estimate_phi=estimate_phi)


@dataclass(frozen=True)
class TweedieProfile:
    """A Tweedie model whose power is chosen by profile likelihood: every power of ``powers`` is fitted
    (phi by ML at each) and the one with the highest log-likelihood kept; the power counts as one more
    parameter."""

    powers: tuple

    def estimate(self, Xs, fit_fixed, **settings) -> list:
        best, paths = [None] * len(Xs), [[] for _ in Xs]
        for p in self.powers:
            for i, (f, it, conv, trace, restarts) in enumerate(fit_fixed(Tweedie(power=p), range(len(Xs)))):
                mu = f["W"] @ f["H"]
                model = Tweedie(power=p).with_nuisance(Xs[i], mu)
                ll = model.loglik(Xs[i], mu)
                paths[i].append({"power": p, "phi": model.phi, "loglik": ll,
                                 "divergence": model.divergence(Xs[i], mu), "n_iter": it, "converged": conv})
                if best[i] is None or ll > best[i][0]:
                    best[i] = (ll, model, f, it, conv, trace, restarts)
        return [(*best[i][1:], paths[i], 1) for i in range(len(Xs))]


def nuisance_estimator(spec):
    """What estimates a noise spec's nuisance parameters, with the one method ``estimate(Xs, fit_fixed,
    **settings)`` (:meth:`NoiseModel.estimate`): the model itself, or for the unfitted specs of
    :func:`make_noise` the Tweedie power profile and the NB alternation."""
    if isinstance(spec, dict) and spec["family"] == "tweedie":
        return TweedieProfile(tuple(spec["powers"]))
    if isinstance(spec, dict) and spec["family"] == "nb":
        return NBAlternation(spec["dispersion"], spec.get("majoriser", "tight"))
    return spec


# re-exported; the negative binomial's module imports the base class above
from .negative_binomial import NBAlternation, NegativeBinomial
from .noise_specs import DEFAULT_TWEEDIE_POWERS, NOISE_NAMES, make_noise  # noqa: E402,F401  (re-exported)
