"""Degenerate stationary points of the MM iterations: components that duplicate each other or carry no
weight, found after a fit converges, and left by re-drawing them and iterating on."""
from __future__ import annotations

import numpy as np

__all__ = ["degenerate_components", "escape_degenerate"]


def degenerate_components(W, H, cos_max=0.999):
    """Indices of components that duplicate an earlier one (rows of ``H`` with cosine > ``cos_max``) or carry
    no weight (a column of ``W`` below 1e-8 of the total)."""
    Hn = H / np.maximum(np.linalg.norm(H, axis=1, keepdims=True), 1e-300)
    C = np.triu(Hn @ Hn.T, 1)
    dup = set(np.nonzero((C > cos_max).any(axis=0))[0].tolist())
    used = W.sum(axis=0)
    return sorted(dup | set(np.nonzero(used <= 1e-8 * used.sum())[0].tolist()))


def escape_degenerate(X, structure, f, trace, conv, rng, iterate, dtype, tries=3):
    """A fit whose components duplicate each other (cosine > 0.999) or carry no weight sits at a degenerate
    stationary point. Re-draw those components (U(0,1) scaled to the factor's mean, from the member's own
    generator ``rng``) and iterate on (``iterate(X, state=...)``: the fit's own iteration, run to its
    convergence rule); keep the result when its divergence is lower, up to ``tries`` times. The trace
    continues through the re-draw (the objective jumps up there: not an MM step); each escape is recorded as
    ``{"at": iteration, "components": [...], "before": d, "after": d}``. Returns
    ``(factors, extra iterations, converged, trace, escapes)``."""
    extra, escapes = 0, []
    for _ in range(tries):
        H = f["H"] if "H" in f else f["G"] @ X
        bad = degenerate_components(f["W"], H)
        if not bad:
            break
        g = {k: f[k].copy() for k in structure.factor_names}
        name = "H" if "H" in g else "G"
        for j in bad:
            g["W"][:, j] = rng.uniform(size=g["W"].shape[0]) * g["W"].mean()
            g[name][j] = rng.uniform(size=g[name].shape[1]) * g[name].mean()
        state = {k: v[None].astype(dtype) for k, v in g.items()}
        structure._refresh(X, state, structure.factor_names[-1])
        final, n_iter, c, traces = iterate(X.astype(dtype, copy=False), state=state)
        if traces[0][-1][1] >= trace[-1][1]:
            break
        last = trace[-1][0]
        escapes.append({"at": int(last), "components": bad, "before": float(trace[-1][1]),
                        "after": float(traces[0][-1][1])})
        trace = trace + [(last + it, o) for it, o in traces[0][1:]]
        f = {k: final[k][0].astype(np.float64) for k in structure.factor_names}
        extra, conv = extra + int(n_iter[0]), bool(c[0])
    return f, extra, conv, trace, escapes
