"""Simulation of data with known factors under any noise model."""
from __future__ import annotations

import numpy as np

from .noise import NoiseModel, make_noise

__all__ = ["planted_factors", "simulate_exposures", "simulate_counts"]


def _rng(random_state):
    return random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)


def planted_factors(n_samples, n_features, rank, *, random_state=None, concentration=0.3, scale=100.0):
    """Random ``W`` (n x k, gamma exposures) and ``H`` (k x m, Dirichlet rows summing to 1)."""
    rng = _rng(random_state)
    H = rng.dirichlet(np.full(n_features, concentration), size=rank)
    W = rng.gamma(1.0, scale, size=(n_samples, rank))
    return W, H


def simulate_exposures(n_samples, rank, *, random_state=None, mean_total=5000.0, sd_log_total=1.0,
                       concentration=0.5, p_active=0.7):
    """Exposures of ``n_samples`` to ``rank`` signatures (mutations per signature).

    Totals per sample are log-normal around ``mean_total``; proportions are
    Dirichlet(``concentration``) over the signatures active in the sample (each
    active with probability ``p_active``, at least one per sample).
    """
    rng = _rng(random_state)
    totals = mean_total * np.exp(sd_log_total * rng.standard_normal(n_samples) - sd_log_total ** 2 / 2)
    active = rng.uniform(size=(n_samples, rank)) < p_active
    active[np.arange(n_samples), rng.integers(rank, size=n_samples)] = True
    props = rng.gamma(concentration, size=(n_samples, rank)) * active
    props /= props.sum(axis=1, keepdims=True)
    return totals[:, None] * props


def simulate_counts(W, H, noise, *, random_state=None):
    """Draw data with mean ``W @ H`` from ``noise`` (a NoiseModel with fixed parameters)."""
    model = make_noise(noise)
    if not isinstance(model, NoiseModel):
        raise ValueError(f"simulation needs fixed noise parameters (e.g. NB alpha, Tweedie power), got {noise!r}")
    return model.sample(np.asarray(W, dtype=float) @ np.asarray(H, dtype=float), _rng(random_state))
