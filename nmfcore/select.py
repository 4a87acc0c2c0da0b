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

__all__ = ["parse_ranks", "noise_label", "noise_spec", "run_grid", "choose", "NOISE_LABELS"]


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


#: the noise labels of select and fit (``tweedie_p<p>`` for any fixed power p)
NOISE_LABELS = ("gaussian", "poisson", "gamma", "nb_shared", "nb_sample", "tweedie", "tweedie_p<p>")
_SPECS = {"gaussian": "gaussian", "poisson": "poisson", "gamma": "gamma", "tweedie": "tweedie",
          "nb_shared": {"family": "nb", "dispersion": "shared"}, "nb_sample": {"family": "nb", "dispersion": "sample"}}


def noise_label(name: str) -> str:
    """The canonical label of a noise name: ``nb`` -> ``nb_shared``, ``tweedie_p1.50`` -> ``tweedie_p1.5``; other
    labels as given. Raises ``ValueError`` for an unknown name (listing the labels)."""
    name = str(name).strip()
    if name == "nb":
        return "nb_shared"
    if name in _SPECS:
        return name
    if name.startswith("tweedie_p"):
        try:
            return f"tweedie_p{float(name[len('tweedie_p'):]):g}"
        except ValueError:
            pass
    raise ValueError(f"unknown noise model {name!r}; choose from {', '.join(NOISE_LABELS)} (e.g. tweedie_p1.5), "
                     "or the family names nb (= nb_shared) and tweedie (power by profile likelihood)")


def noise_spec(name: str):
    """A noise label -> nmfcore noise spec: gaussian, poisson, gamma, tweedie (power by profile likelihood),
    tweedie_p<p> (fixed power p), nb / nb_shared (one alpha), nb_sample (alpha per sample). Checked (a power no
    Tweedie distribution has is refused here)."""
    from .noise_specs import make_noise

    label = noise_label(name)
    spec = _SPECS.get(label) or {"family": "tweedie", "power": float(label[len("tweedie_p"):])}
    make_noise(spec)  # validates before any work
    return spec


def _fit_one(task):
    """Worker: one fit of the grid (its own process: BLAS pinned to one thread by the parent's env)."""
    from ._imports import load_deferred_imports
    from .fit import fit
    from .fit_arguments import settings_for

    X, noise, structure, rank, seed, settings = task
    load_deferred_imports()  # scipy before the clock starts: a fit's time_s never includes an import
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


class Progress:
    """A progress line: fits done of total, elapsed time and the time left, estimated from the fits done so far
    as each (noise, structure)'s seconds per unit of rank times the ranks still to fit of it (fits of one model
    cost roughly in proportion to the rank; a Tweedie profile or an NB fit costs several Poisson fits). While a
    (noise, structure) has no finished fit the estimate is a lower bound and says which are not yet timed."""

    def __init__(self, tasks, jobs=1, stream=None, width=30):
        self.todo = [(task[1], task[2], task[3]) for task in tasks]  # (noise, structure, rank) still to finish
        self.total, self.jobs, self.stream, self.width = len(tasks), max(1, jobs), stream, width
        self.spent, self.units = {}, {}  # per (noise, structure): seconds and ranks of the finished fits
        self.t0 = time.perf_counter()

    def done(self, task, seconds):
        noise, structure, rank = task[1], task[2], task[3]
        self.todo.remove((noise, structure, rank))
        group = (noise, structure)
        self.spent[group] = self.spent.get(group, 0.0) + seconds
        self.units[group] = self.units.get(group, 0) + rank
        if self.stream is not None:
            self.stream.write("\r" + self.line() + " ")
            self.stream.flush()

    def left(self):
        """(seconds left, the (noise, structure) groups not yet timed)."""
        seconds = sum(self.spent[(n, s)] / self.units[(n, s)] * k for n, s, k in self.todo if (n, s) in self.spent)
        untimed = sorted({(n, s) for n, s, _ in self.todo if (n, s) not in self.spent})
        return seconds / self.jobs, untimed

    def line(self):
        done = self.total - len(self.todo)
        filled = int(self.width * done / self.total)
        elapsed = time.perf_counter() - self.t0
        seconds, untimed = self.left()
        if not self.todo:
            rest = "done"
        elif untimed:
            rest = f"at least ~{seconds:.0f} s left (not yet timed: {', '.join('/'.join(g) for g in untimed)})"
        else:
            rest = f"~{seconds:.0f} s left"
        return f"[{'#' * filled}{'-' * (self.width - filled)}] {done}/{self.total} fits, {elapsed:.0f} s elapsed, {rest}"


def run_order(tasks):
    """The order the fits run in: rank by rank (lowest first), within a rank every noise x structure, so that every
    model is timed early (the time-left estimate needs one finished fit of each) and cheap fits come first."""
    return sorted(tasks, key=lambda t: (t[3], t[4]))  # stable: noise x structure order kept within a rank x seed


def run_grid(X, ranks, noises, structures, seeds, settings, jobs=1, stream="stderr"):
    """Fit every (noise, structure, rank, seed); returns the rows (in grid order) and the results by key.
    ``stream``: where the progress line goes ('stderr': sys.stderr at the time of the call; None: nowhere)."""
    tasks = [(X, n, s, k, seed, settings) for n in noises for s in structures for k in ranks for seed in seeds]
    rows, results = {}, {}
    stream = sys.stderr if stream == "stderr" else stream
    progress = Progress(tasks, jobs, stream)
    if jobs <= 1:
        for task in run_order(tasks):
            row, res = _fit_one(task)
            rows[task[1:5]], results[task[1:5]] = row, res
            progress.done(task, row["time_s"])
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_fit_one, task): task for task in run_order(tasks)}
            for fut in as_completed(futures):
                task = futures[fut]
                rows[task[1:5]], results[task[1:5]] = fut.result()
                progress.done(task, rows[task[1:5]]["time_s"])
    if stream is not None:
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
