"""Model choice in one call: fit a grid of noise models x structures x ranks x seeds and pick by BIC.

Likelihoods are only comparable across noise families on one scale. For count data (integers) every
family is compared by its discretised BIC (:mod:`nmfcore.discrete`: the probability each model gives to
the unit interval around each count, the mass scale of Poisson and NB); a density's own log-likelihood
is on another scale and never decides between families. For continuous data every family is a density
and all are compared by their BIC. Unconverged fits are never chosen.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

__all__ = ["parse_ranks", "noise_spec", "run_grid", "choose"]


def parse_ranks(text: str) -> list[int]:
    """``"2-10"``, ``"2,3,5"`` or ``"2-4,8"`` -> sorted unique ranks."""
    out = set()
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
    except ValueError:
        raise ValueError(f"--ranks takes ranks such as 2-10 or 2,3,5, got {text!r}") from None
    if not out or min(out) < 1:
        raise ValueError(f"--ranks must be positive whole numbers, got {text!r}")
    return sorted(out)


def noise_spec(name: str):
    """A selection noise name -> nmfcore noise spec: gaussian, poisson, gamma, tweedie (power by profile
    likelihood), nb / nb_shared (one alpha), nb_sample (alpha per sample)."""
    table = {"gaussian": "gaussian", "poisson": "poisson", "gamma": "gamma", "tweedie": "tweedie",
             "nb": {"family": "nb", "dispersion": "shared"}, "nb_shared": {"family": "nb", "dispersion": "shared"},
             "nb_sample": {"family": "nb", "dispersion": "sample"}}
    if name not in table:
        raise ValueError(f"unknown noise model {name!r} for select; choose from {', '.join(table)}")
    return table[name]


def _fit_one(task):
    """Worker: one fit of the grid (its own process: BLAS pinned to one thread by the parent's env)."""
    from .fit import fit
    from .fit_arguments import settings_for

    X, noise, structure, rank, seed, settings = task
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the Adam options (lr, ae_constraint) of a grid apply to its autoencoder fits only
        res = fit(X, rank, noise=noise_spec(noise), structure=structure, random_state=seed,
                  **settings_for(structure, settings))
    row = {"noise": noise, "structure": structure, "rank": rank, "seed": seed, "noise_fitted": res.noise.label,
           "loglik": res.loglik, "bic": res.bic, "aic": res.aic, "n_params": res.n_params,
           "loglik_discrete": res.loglik_discrete, "bic_discrete": res.bic_discrete,
           "converged": res.converged, "n_iter": res.n_iter, "time_s": time.perf_counter() - t0,
           **{f"noise_{k}": v for k, v in res.noise.params.items()}}
    return row, res


def _progress(done, total, t0, stream):
    elapsed = time.perf_counter() - t0
    left = elapsed / done * (total - done) if done else float("nan")
    width = 30
    bar = "#" * int(width * done / total) + "-" * (width - int(width * done / total))
    stream.write(f"\r[{bar}] {done}/{total} fits, {elapsed:5.0f} s elapsed, ~{left:5.0f} s left ")
    stream.flush()


def run_grid(X, ranks, noises, structures, seeds, settings, jobs=1, stream=sys.stderr):
    """Fit every (noise, structure, rank, seed); returns the rows (in grid order) and the results by key."""
    tasks = [(X, n, s, k, seed, settings) for n in noises for s in structures for k in ranks for seed in seeds]
    rows, results = {}, {}
    t0 = time.perf_counter()
    show = stream is not None
    if jobs <= 1:
        for i, task in enumerate(tasks):
            row, res = _fit_one(task)
            key = task[1:5]
            rows[key], results[key] = row, res
            if show:
                _progress(i + 1, len(tasks), t0, stream)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_fit_one, task): task[1:5] for task in tasks}
            for i, fut in enumerate(as_completed(futures)):
                rows[futures[fut]], results[futures[fut]] = fut.result()
                if show:
                    _progress(i + 1, len(tasks), t0, stream)
    if show:
        stream.write("\n")
    order = [t[1:5] for t in tasks]
    return [rows[k] for k in order], results


def choose(rows, integer_data: bool):
    """The chosen (noise, structure, rank) and why: lowest BIC over converged fits, best seed per model, on a
    scale comparable across the candidate families (see the module docstring)."""
    ok = [r for r in rows if r["converged"]]
    if not ok:
        return None, ("no fit converged: raise --max-iter or --tol (every fit is listed in selection.tsv with "
                      "converged = False)")
    key, scale = (("bic_discrete", "discretised BIC (count data: every family on the mass scale)") if integer_data
                  else ("bic", "BIC (continuous data: every likelihood is a density)"))
    pool = [r for r in ok if np.isfinite(r[key])]
    if not pool:
        return None, f"no converged fit has a finite {key}"
    best = min(pool, key=lambda r: r[key])
    runner = min((r for r in pool if (r["noise"], r["structure"], r["rank"]) != (best["noise"], best["structure"],
                                                                              best["rank"])),
                 key=lambda r: r[key], default=None)
    why = (f"lowest {scale} {best[key]:.6g} among converged fits"
           + (f"; next best {runner['noise']}/{runner['structure']} rank {runner['rank']} "
              f"{key} {runner[key]:.6g} (+{runner[key] - best[key]:.4g})" if runner else ""))
    return best, why


def default_jobs() -> int:
    """The cores this process may use: CPU affinity, capped by SLURM_CPUS_PER_TASK when set."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK")
    if slurm and slurm.isdigit():
        n = min(n, int(slurm))
    return max(1, n)
