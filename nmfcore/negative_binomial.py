"""The negative binomial noise model (``Var = mu + mu**2 / alpha``) and the alternation that estimates its
dispersion alpha with the factor updates. Part of :mod:`nmfcore.noise`, which re-exports both."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from ._imports import lazy
from .dispersion_mle import nb_alpha_mle
from .noise import NoiseModel, Poisson, _buffers, _log0, _xlogx_over

special = lazy("scipy.special")


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
    majoriser : {"tight", "paper"}
        The MM update at fixed alpha (see :meth:`mm_parts`). ``"paper"``: paper 1's (and nmfgenr's),
        ``F * A.T (X/mu) B.T / A.T ((X+alpha)/(alpha+mu)) B.T``; ``"tight"`` (default): a majoriser that
        follows the NB curvature where counts are large against alpha, where the paper's steps crawl.
    """

    alpha: float | np.ndarray = 10.0
    dispersion: str = "shared"
    estimate_alpha: bool = True
    majoriser: str = "tight"
    name: ClassVar[str] = "nb"
    _a: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.dispersion not in ("shared", "sample"):
            raise ValueError(f"NB dispersion must be 'shared' or 'sample', got {self.dispersion!r}")
        if self.majoriser not in ("tight", "paper"):
            raise ValueError(f"NB majoriser must be 'tight' or 'paper', got {self.majoriser!r}")
        if np.asarray(self.alpha).dtype.kind not in "iuf":  # True would be alpha 1, "5" a string
            raise ValueError(f"NB alpha must be a positive finite number or a 1-D array of them, got {self.alpha!r}")
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
        buffers = _buffers(2)

        def nb(mu):
            t, u = buffers(mu)
            np.log(mu, out=t)
            np.subtract(lx, t, out=t)
            t *= X
            np.log(np.add(a, mu, out=u), out=u)
            np.subtract(lax, u, out=u)
            u *= ax
            t -= u
            return t.sum(axis=(-2, -1))
        return nb

    def scratch(self, X, mu):
        """Scratch arrays and ``alpha + X``, which every gradient divides by ``alpha + mu``, and a third scratch
        array for the tight majoriser's parts."""
        ax = np.add(self._alpha_for(X).astype(mu.dtype, copy=False), X, dtype=mu.dtype)
        return super().scratch(X, mu) + [ax, np.empty_like(mu)]

    def mm_parts(self, X, mu, work=None):
        """The tight majoriser's parts ``g = alpha (X - mu) / (mu (alpha + mu))`` (minus the derivative of the
        divergence), ``y = X / (alpha + mu)``, ``c = alpha / (alpha + mu)`` and ``z = alpha X / (alpha + mu)**2``.

        The divergence per entry is ``x log(1 + alpha/mu) + alpha log(alpha + mu)`` up to data-only terms: a
        convex term, majorised by Jensen's inequality over the components of ``mu`` as in every MM update, and
        a concave one, majorised by its tangent. In a factor ``F = F0 * s`` (one ``s`` per entry) the
        majoriser is convex with its minimum at the root ``s*`` of ``phi(s) = sum h q / (s + r) - s C`` (``r =
        alpha / mu``, ``q = alpha x / mu**2``, ``sum h`` the projection; ``phi(1) = G``), which is convex and
        decreasing in ``s``, while ``phi(1/u)`` is concave and increasing in ``u``. So one Newton step from ``s
        = 1`` -- in ``s`` where ``G > 0``, in ``u = 1/s`` where ``G < 0`` -- lands between 1 and ``s*`` and
        lowers the majoriser, hence the divergence; so does the chord from ``s = 0``, which is the paper's
        step ``A.T (X/mu) B.T / A.T ((X+alpha)/(alpha+mu)) B.T``. Where ``mu >> alpha`` the paper's step is
        ``~alpha / mu`` of the Newton step (its majoriser has the curvature of ``-x log mu``, ``x / mu**2``,
        where the NB divergence has ``~alpha / mu**2``); where ``alpha >> mu`` both are the Poisson step.
        ``g`` is computed as ``(X/mu - 1) c`` (rounding of one entry's size, where ``X/mu - X/(alpha+mu) -
        c`` would lose ``log10(mu/alpha)`` digits). ``paper``: :meth:`NoiseModel.mm_parts`."""
        if self.majoriser == "paper":
            return super().mm_parts(X, mu, work)
        a = self._alpha_for(X).astype(mu.dtype, copy=False)
        w0, w1, _, c = [np.empty_like(mu), np.empty_like(mu), None, np.empty_like(mu)] if work is None else work
        inv = np.reciprocal(np.add(a, mu, out=w1), out=w1)  # one division, then products (divisions cost ~2x)
        c = np.multiply(a, inv, out=c)
        y = np.multiply(X, inv, out=w1)
        z = np.multiply(y, c, out=w0)
        g = np.divide(X, mu, out=mu)
        g -= 1.0
        g *= c
        return g, y, c, z

    def mm_ratio(self, *parts, shape):
        """The step ``s`` (:meth:`mm_parts`) from the projected parts: with ``P = Y + C`` (the paper's
        denominator) and ``D = Z + C`` (minus the slope of ``phi`` at 1), ``1 + G / D`` where the divergence
        falls along ``F`` (``G >= 0``; the Newton step in ``s``, never below the paper's ``1 + G / P`` as
        ``D <= P``), else the larger step down of the Newton step in ``1/s``, ``1 / (1 - G / D)``, and the
        paper's."""
        if self.majoriser == "paper":
            return super().mm_ratio(*parts, shape=shape)
        G, Y, C, Z = parts
        step = G / (Z + C)
        down = np.minimum(np.reciprocal(1.0 + np.abs(step)), 1.0 + G / (Y + C))  # |step|: finite where G >= 0 too
        step += 1.0
        return np.where(G >= 0, step, down)

    def grad_split(self, X, mu, overwrite=False, work=None):
        a = self._alpha_for(X).astype(mu.dtype, copy=False)
        w0, w1 = (None, None) if work is None else work[:2]
        ax = work[2] if work is not None and len(work) > 2 else np.add(a, X, out=w0)  # alpha + X: from scratch()
        pos = np.divide(ax, np.add(a, mu, out=w1), out=w1)
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


@dataclass(frozen=True)
class NBAlternation:
    """A negative binomial whose alpha is estimated: a Poisson fit (a start only: to a looser tolerance, see
    ``fit.WARM_START_TOL``), then rounds of (alpha by ML given the mean, the NB fit from the previous factors,
    to the fit's tol) until alpha changes by less than ``tol`` (relative, largest over samples) or after
    ``rounds`` rounds."""

    dispersion: str = "shared"
    majoriser: str = "tight"

    def estimate(self, Xs, fit_fixed, *, rounds=5, tol=1e-3, **settings) -> list:
        out = []
        for i, (f, it, conv, trace, restarts) in enumerate(fit_fixed(Poisson(), range(len(Xs)), start_only=True)):
            X, mu = Xs[i], f["W"] @ f["H"]
            model = NegativeBinomial(alpha=1.0, dispersion=self.dispersion,
                                     majoriser=self.majoriser).with_nuisance(X, mu)
            path = [{"round": 0, "fit": "poisson", **model.params, "loglik": model.loglik(X, mu)}]
            total_it = it
            for rnd in range(1, rounds + 1):
                f, it, conv, t2, _ = fit_fixed(model, [i], warm=[f])[0]
                total_it += it
                trace = trace + [(j + trace[-1][0], o) for j, o in t2[1:]]
                mu = f["W"] @ f["H"]
                new = model.with_nuisance(X, mu)
                change = float(np.max(np.abs(np.log(np.asarray(new.alpha)) - np.log(np.asarray(model.alpha)))))
                model = new
                path.append({"round": rnd, "fit": "nb", **model.params, "loglik": model.loglik(X, mu),
                             "n_iter": it, "alpha_change": change})
                if change < tol:
                    break
            out.append((model, f, total_it, conv, trace, restarts, path, 0))
        return out
