"""The result of one fit: factors, noise model with its nuisance parameters, likelihoods, convergence."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .noise import NoiseModel

__all__ = ["FitResult"]


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
    #: whether the MM iterations were SQUAREM-accelerated (``fit(accelerate=...)``; for an NB fit with alpha
    #: estimated, its NB rounds)
    accelerated: bool = False
    #: log-likelihood on the mass scale of count data (:mod:`nmfcore.discrete`: the probability of the unit
    #: interval around each count; equal to ``loglik`` for Poisson and NB), NaN unless X holds counts
    loglik_discrete: float = float("nan")
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
    def bic_discrete(self) -> float:
        """BIC from :attr:`loglik_discrete`: comparable across noise families on count data."""
        return -2.0 * self.loglik_discrete + self.n_params * np.log(self.n_samples * self.n_features)

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
            "loglik_discrete": self.loglik_discrete, "bic_discrete": self.bic_discrete,
            "n_iter": self.n_iter, "converged": self.converged, "time_s": self.time_s,
            "iterate_s": self.timings.get("iterate_s", float("nan")),
            "n_restarts": max(len(self.restarts), 1), "dtype": self.dtype, "accelerated": self.accelerated,
        }
        row.update({f"noise_{k}": v for k, v in self.noise.params.items()})
        return row
