"""SQUAREM acceleration of the MM iterations (Varadhan & Roland 2008, Scand. J. Stat. 35: 335-353).

The MM updates of :mod:`nmfcore._kernels` are a fixed-point map ``t -> M(t)`` that never increases the
divergence. SQUAREM extrapolates along two of its steps and keeps the extrapolation only where the divergence
does not rise, so the accelerated iteration keeps the MM guarantee; used by :func:`nmfcore.fit._iterate` when
``accelerate`` is on (by default for the negative binomial, whose NB rounds travel far from the Poisson fit
that starts them)."""
from __future__ import annotations

import numpy as np

from ._kernels import FLOOR


def squarem_cycle(X, structure, noise, state, mu, Xe, work, loss, amax, base):
    """One SQUAREM cycle (Varadhan & Roland 2008, scheme S3) of three MM iterations per batch member: two MM
    steps from ``t0`` give ``r = t1 - t0`` and ``v = t2 - 2 t1 + t0``; the extrapolation ``t0 - 2a r + a^2 v``
    (``a = -|r| / |v|``, at most ``amax`` in size, floored at the factors' floor) is followed by one MM step
    and kept where its divergence is not above ``base``, the divergence at ``t0``; elsewhere the two plain MM
    steps are kept -- so the divergence never increases. ``amax`` grows fourfold after an extrapolation of
    full size is kept and shrinks fourfold after one is refused. Returns ``(state, mu, amax, divergence)``."""
    names = structure.factor_names
    t0 = {k: state[k].copy() for k in names}
    mu = structure.mm_step(X, state, noise, mu, Xe, work)
    r = {k: state[k] - t0[k] for k in names}
    mu = structure.mm_step(X, state, noise, mu, Xe, work)
    v = {k: state[k] - t0[k] - 2.0 * r[k] for k in names}
    # squared norms summed as the losses are (per member, over the last two axes), so that a member's
    # arithmetic is the same alone and in a batch
    rr = sum(np.square(r[k]).sum(axis=(-2, -1)) for k in names)
    vv = sum(np.square(v[k]).sum(axis=(-2, -1)) for k in names)
    size = np.clip(np.sqrt(rr / np.where(vv > 0, vv, np.inf)), 1.0, amax)  # 1: the plain third step
    a = -size if np.ndim(size) == 0 else -size[:, None, None]
    cand = dict(state)
    for k in names:
        cand[k] = np.maximum(t0[k] - 2.0 * a * r[k] + a * a * v[k], FLOOR)
    for k in names:  # the structure's held products follow its factors
        structure._refresh(X, cand, k)
    mu_c = structure.mm_step(X, cand, noise, structure.mean(X, cand) if mu is not None else None, Xe, work)
    d_c = loss(cand, mu_c)
    keep = d_c <= base  # (NaN compares False: the plain steps are kept)
    amax = np.where(keep, np.where(size >= amax, 4.0 * amax, amax), np.maximum(amax / 4.0, 1.0))
    if np.all(keep):
        return cand, mu_c, amax, d_c
    d = np.where(keep, d_c, loss(state, mu))
    if np.any(keep):
        pick = keep[:, None, None]
        for k in names:
            state[k] = np.where(pick, cand[k], state[k])
            structure._refresh(X, state, k)
        mu = None if mu is None else np.where(pick, mu_c, mu)
    return state, mu, amax, d
