"""Speed benchmark: nmfcore against peers measured in the same process.

Prints per-iteration times and *ratios* (machines here are noisy; only ratios
measured side by side in one run mean anything):

* Poisson/KL MU per iteration: nmfcore vs a plain NumPy Lee-Seung loop written
  below (the textbook update with row/column sums, no preallocation) and vs
  scikit-learn's MU solver;
* every noise model scikit-learn has (beta = 2, 1, 0, 0.5 <-> Tweedie p = 0, 1, 2,
  1.5) vs scikit-learn's MU;
* batched restarts (one 3-D array computation) vs a loop of single fits;
* many data matrices of one shape (the 30 GEL-prostate training sets of paper 2) in one
  ``fit_many`` call vs one ``fit`` per matrix, for each structure (Gaussian, the protocol's tol 1e-10 checked every iteration);
* NB and convex NMF, which scikit-learn lacks, relative to Poisson NMF (informative, no target);
* whole NB fits (alpha estimated) against whole Poisson fits of the same data, K and seeds (seeds 1-5 summed);
* the *floor* of unfused NumPy for KL and Frobenius: the same updates with nothing but the
  unavoidable NumPy calls (preallocated, in place, no convergence check), in each precision. A
  target below the floor cannot be met by any NumPy implementation (only by a fused compiled
  kernel); ``nmfcore / floor`` is nmfcore's own overhead (driver, floors, convergence checks).

Per-iteration times of the peers are slopes (t(N2) - t(N1)) / (N2 - N1), so
their set-up costs cancel; nmfcore's are the same slope of the time inside its
update loop (``FitResult.timings["iterate_s"]``: convergence checks every 10
iterations included at their steady-state rate, which the plain loop does not
pay; validation, initialisation and the final likelihood excluded). Each timing
is the minimum over ``--repeat`` repetitions.

    python bench/bench_speed.py                 # full sizes (96x500 k5, 1000x2000 k20)
    python bench/bench_speed.py --size small    # CI size
    python bench/bench_speed.py --check         # exit 1 if a ratio misses its target
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import nmfcore as nc
from nmfcore.datasets import read_catalogue

warnings.simplefilter("ignore")

TARGETS = {  # ratio ceilings from the project's core issue
    "poisson_vs_plain_numpy": 0.6,
    "vs_sklearn": 0.5,
    "batched_restarts_vs_loop": 0.2,
    "fit_many_vs_loop": 0.25,  # paper-2 issue: >= 4x the throughput of one-at-a-time fits (autoencoder)
    "nb_vs_poisson": 4.0,  # results issue: an NB fit with alpha estimated <= 4x the Poisson fit, same data, K, tol
}
NB_SEEDS = (1, 2, 3, 4, 5)
# What `--check` (run in CI at --size small) enforces: the issue's target where nmfcore meets it on
# the 2-core development machine, otherwise a regression guard a little above the level measured
# there (noisy shared machines: a guard is a ceiling, not a claim). Keep this table honest: when a
# target is met, replace its guard by the target. A case passes if its best path (float64 or the
# float32 option) is at or below the ceiling.
CHECK_CEILINGS = {  # best path measured on the 2-core development machine at --size small in brackets
    # guard (the per-iteration targets at 96x500 are retired): float32 0.53-0.57 on 2026-11-23; 0.64-0.67 on the
    # 2026-11-28 machine (0.48-0.78 under load), where an A/B of this code against feb4560 gave the same nmfcore times (171-180 vs
    # 167-196 us per iteration): the machine, not the code
    ("poisson", "plain NumPy"): 0.9,
    ("gaussian", "scikit-learn"): 0.8,   # guard; target 0.5 not met (float32 0.63-0.65; its NumPy floor 0.52-0.54)
    ("poisson", "scikit-learn"): 0.5,    # target (float32 0.39-0.43)
    ("gamma", "scikit-learn"): 0.5,      # target (float32 0.37)
    ("tweedie_p1.5", "scikit-learn"): 0.5,  # target (float32 0.38-0.39)
    # never slower than scikit-learn in float64, for every model both have (architecture issue); measured
    # side by side (interleaved, both checking convergence every 10 iterations) on 2026-11-28 at 96x500:
    # Gaussian 0.89, Poisson 0.62, Gamma 0.52, Tweedie 1.5 0.53. Gaussian is a guard: at parity (1.01-1.03
    # at 21x96 and 311x96, 0.75 at 600x500), both bound by NumPy's per-call cost, so 1.0 would be a coin toss
    ("gaussian", "nmfcore float64 / scikit-learn"): 1.1,
    ("poisson", "nmfcore float64 / scikit-learn"): 1.0,
    ("gamma", "nmfcore float64 / scikit-learn"): 1.0,
    ("tweedie_p1.5", "nmfcore float64 / scikit-learn"): 1.0,
    # guard; target 0.2 met until the loop's single fits got 23 % faster (2-D path): float32 0.22-0.23, float64 0.32
    ("restarts", "loop"): 0.27,
    # guard; target 0.25 (>= 4x) not met: 0.63-0.87 measured on 2026-11-28 at the protocol's tol (the products dominate)
    ("fit_many", "autoencoder Gaussian fit_many"): 1.25,
    # target 4 met since the tight NB majoriser (2312d0f): seeds 1-5 summed, idle on 2026-12-06, BRCA100 K=4 1.17, K=6
    # 2.34, GEL prostate K=5 2.87 (3.41-4.00 with paper 1's majoriser; per seed 1.4-8.1: from some starts the NB rounds
    # cross a plateau, a slow exchange of weight between two components)
    ("nb_vs_poisson", "NB (alpha estimated) fit / Poisson fit"): 4.0,
    # guard: the three GEL cohorts stacked, K=6: 4.86-4.96 (per seed 3.4-6.7; 13-16 with paper 1's majoriser). The
    # NB iteration costs ~3x a Poisson one (four projections and eight elementwise passes against one and one) and the
    # NB rounds travel ~13,000 nats from the Poisson optimum that starts them
    ("nb_stacked", "NB (alpha estimated) fit / Poisson fit"): 6.5,
}


def plain_lee_seung(X, W, H, n_iter):
    """Lee & Seung (2001) KL multiplicative updates, written the plain NumPy way."""
    for _ in range(n_iter):
        W *= ((X / (W @ H)) @ H.T) / H.sum(axis=1)
        H *= (W.T @ (X / (W @ H))) / W.sum(axis=0)[:, None]
    return W, H


def floor_kl(X, W, H, n_iter):
    """The same KL updates with nothing but the unavoidable NumPy calls: preallocated mean, in-place
    division, the faster GEMM orientation, no floor and no convergence check. What any unfused NumPy
    implementation must spend per iteration (4 GEMMs, 2 divisions, 2 sums, 2 small updates)."""
    mu = W @ H
    ones = np.ones(X.shape[0], dtype=X.dtype)
    for _ in range(n_iter):
        np.divide(X, mu, out=mu)
        W *= (mu @ H.T) / H.sum(axis=1)
        np.matmul(W, H, out=mu)
        np.divide(X, mu, out=mu)
        H *= (mu.T @ W).T / (ones @ W)[:, None]
        np.matmul(W, H, out=mu)
    return W, H


def floor_frobenius(X, W, H, n_iter):
    """Frobenius MU with nothing but the unavoidable NumPy calls (2 GEMMs against X, 4 small ones,
    2 small updates; no convergence check) -- what scikit-learn's MU also runs."""
    for _ in range(n_iter):
        W *= (X @ H.T) / (W @ (H @ H.T))
        H *= (W.T @ X) / ((W.T @ W) @ H)
    return W, H


def data(n, m, k, seed=0):
    rng = np.random.default_rng(seed)
    W, H = nc.simulate.planted_factors(n, m, k, random_state=rng, concentration=1.0, scale=200.0)
    X = rng.poisson(W @ H).astype(float)
    X += (X.sum(axis=1) == 0)[:, None]
    X[:, X.sum(axis=0) == 0] += 1
    return X, rng.uniform(0.5, 1.5, (n, k)), rng.uniform(0.5, 1.5, (k, m))


def slopes(fns, n1, n2, repeat, tries=3):
    """Per-iteration seconds of each ``fn(n_iter) -> seconds`` from two lengths, min over repeats. The
    functions run interleaved (each repeat runs every function at both lengths), so that a change of the
    machine's load falls on all of them alike and their ratios stay meaningful. A non-positive slope (noise
    larger than the difference) is measured again, up to ``tries`` times, then reported as NaN (a failed
    measurement, never a met target)."""
    out = [float("nan")] * len(fns)
    todo = list(range(len(fns)))
    for _ in range(tries):
        t1, t2 = {i: [] for i in todo}, {i: [] for i in todo}
        for _ in range(repeat):
            for i in todo:
                t1[i].append(fns[i](n1))
                t2[i].append(fns[i](n2))
        for i in todo:
            if min(t2[i]) > min(t1[i]):
                out[i] = (min(t2[i]) - min(t1[i])) / (n2 - n1)
        todo = [i for i in todo if not np.isfinite(out[i])]
        if not todo:
            break
    return out


def wall(fn):
    """``fn(n)`` as ``n -> seconds of wall time``."""
    def timed(n):
        t0 = time.perf_counter()
        fn(n)
        return time.perf_counter() - t0
    return timed


def slope(fn, n1, n2, repeat):
    """Per-iteration seconds of ``fn(n_iter)`` (wall time; see :func:`slopes`)."""
    return slopes([wall(fn)], n1, n2, repeat)[0]


def ours_fn(X, W0, H0, noise, dtype="float64", structure="nmf", tol=0.0):
    """``n -> seconds inside nmfcore's update loop`` for ``n`` iterations (``FitResult.timings["iterate_s"]``:
    the convergence checks every 10 iterations are included at their steady-state rate; validation,
    initialisation and the final likelihood are not), so that, as for the peers, fixed costs cancel in a
    slope. Convex NMF starts from its seeded draw. A ``tol`` > 0 must not stop the fit early (asserted)."""
    start = {"init": {"W": W0, "H": H0}} if structure == "nmf" else {"random_state": 0}

    def run(n_iter):
        res = nc.fit(X, W0.shape[1], noise=noise, structure=structure, max_iter=n_iter, tol=tol,
                     check_every=10, dtype=dtype, accelerate=False, **start)  # the plain updates, as the peers
        assert res.n_iter == n_iter, f"stopped at {res.n_iter} of {n_iter} iterations: lower tol"
        return res.timings["iterate_s"]
    return run


def ours(X, W0, H0, noise, n1, n2, repeat, dtype="float64", structure="nmf"):
    """Seconds per iteration inside nmfcore's update loop (see :func:`ours_fn`, :func:`slopes`)."""
    return slopes([ours_fn(X, W0, H0, noise, dtype, structure)], n1, n2, repeat)[0]


#: the peer comparison checks convergence on both sides, as every real fit does: every 10 iterations, at a
#: tolerance neither side reaches within the measured lengths (asserted). scikit-learn at tol = 0 would skip
#: its checks and nmfcore's would then only record the trace.
PEER_TOL = 1e-12


def sklearn_mu(X, W0, H0, beta, tol=PEER_TOL):
    from sklearn.decomposition import non_negative_factorization

    def run(n):
        n_iter = non_negative_factorization(X, W=W0.copy(), H=H0.copy(), n_components=W0.shape[1], init="custom",
                                            solver="mu", beta_loss=beta, max_iter=n, tol=tol)[2]
        assert n_iter == n, f"scikit-learn stopped at {n_iter} of {n} iterations: lower PEER_TOL"
    return run


def nb_cases():
    """The catalogues of the NB/Poisson ratio: BRCA100 (100 x 96) at K = 4 and 6, GEL prostate (311 x 96) at K = 5,
    and the three GEL cohorts stacked (1,547 genomes from 86 to 2.7 million SBS, joined by channel label) at K = 6:
    samples of very different scales, where paper 1's NB steps crawl on the large ones."""
    import pandas as pd
    data_dir = Path(__file__).resolve().parents[1] / "workflow/resources/data/mutational"
    cat = {c: read_catalogue(data_dir / f"{c}_SBS96.tsv") for c in ("BRCA100", "GEL_Prostate", "GEL_Ovary", "GEL_Uterus")}
    gel = pd.concat([cat["GEL_Ovary"], cat["GEL_Prostate"], cat["GEL_Uterus"][cat["GEL_Ovary"].columns]])
    return [("BRCA100", cat["BRCA100"], 4), ("BRCA100", cat["BRCA100"], 6), ("GEL", cat["GEL_Prostate"], 5),
            ("GEL 3 cohorts", gel, 6)]


def nb_vs_poisson(repeat, record):
    """An NB fit with alpha estimated against the Poisson fit of the same data and K, both to tol 1e-6 (whole fits:
    10 starts, 50 pre-iterations, alpha rounds), on :func:`nb_cases`. One seed is no measure: the starts decide how
    far the NB rounds travel from the Poisson optimum (GEL prostate, seeds 1-5 on 2026-12-06: ratios 1.3-12 with
    paper 1's majoriser), so the ratio is that of the summed times over NB_SEEDS (the time five NB fits take
    against five Poisson fits), each fit timed at its best of min(repeat, 2), NB and Poisson interleaved.
    Returns the per-seed ratios as text."""
    per_seed = []
    for name, frame, K in nb_cases():
        Xc = frame.to_numpy(dtype=float)

        def whole(noise, seed):
            t = time.perf_counter()
            r = nc.fit(Xc, K, noise=noise, n_restarts=10, pre_iter=50, max_iter=300_000, tol=1e-6, random_state=seed)
            return time.perf_counter() - t if r.converged else np.nan  # an unconverged fit is no measurement
        nb, po = [], []
        for seed in NB_SEEDS:
            pairs = [(whole({"family": "nb", "dispersion": "shared"}, seed), whole("poisson", seed))
                     for _ in range(min(repeat, 2))]
            nb.append(min(p[0] for p in pairs))
            po.append(min(p[1] for p in pairs))
        shape = f"{name} {Xc.shape[0]}x{Xc.shape[1]} k={K}"
        case = "nb_stacked" if name == "GEL 3 cohorts" else "nb_vs_poisson"  # beyond the issue's cases: no target
        record(case, shape, f"NB (alpha estimated) fit / Poisson fit, seeds {NB_SEEDS[0]}-{NB_SEEDS[-1]}",
               sum(nb), sum(po), TARGETS.get(case))
        per_seed.append(f"{shape}: " + ", ".join(f"{a / b:.2f}" for a, b in zip(nb, po)))
    return per_seed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("small", "full"), default="full")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="exit 1 if any ratio misses its target")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    try:
        import sklearn
    except ImportError:
        sys.exit("scikit-learn is needed for the peer comparison: pip install -e '.[test]'")
    sizes = [(96, 500, 5, 50, 300)] if args.size == "small" else [(96, 500, 5, 50, 250), (1000, 2000, 20, 10, 30)]
    rows = []

    def record(case, shape, what, t_ours, t_ref, target):
        ratio = t_ours / t_ref  # NaN when either measurement failed: never counted as met
        rows.append({"case": case, "shape": shape, "comparison": what, "ours_us": t_ours * 1e6,
                     "ref_us": t_ref * 1e6, "ratio": ratio, "target": target,
                     "ok": None if target is None else bool(np.isfinite(ratio) and ratio <= target)})

    for n, m, k, n1, n2 in sizes:
        X, W0, H0 = data(n, m, k)
        shape = f"{n}x{m} k={k}"
        # Poisson: ours (float64 and float32) vs plain NumPy loop and sklearn
        t_plain, t64, t32 = slopes([wall(lambda it: plain_lee_seung(X, W0.copy(), H0.copy(), it)),
                                    ours_fn(X, W0, H0, nc.Poisson()), ours_fn(X, W0, H0, nc.Poisson(), "float32")],
                                   n1, n2, args.repeat)
        record("poisson", shape, "nmfcore float64 / plain NumPy Lee-Seung", t64, t_plain, TARGETS["poisson_vs_plain_numpy"])
        record("poisson", shape, "nmfcore float32 / plain NumPy Lee-Seung", t32, t_plain, TARGETS["poisson_vs_plain_numpy"])
        # the floor of unfused NumPy: can any NumPy implementation reach the target in this precision?
        for dt, t_o in (("float64", t64), ("float32", t32)):
            Xd, Wd, Hd = X.astype(dt), W0.astype(dt), H0.astype(dt)
            t_floor = slope(lambda it: floor_kl(Xd, Wd.copy(), Hd.copy(), it), n1, n2, args.repeat)
            record("floor", shape, f"KL NumPy floor {dt} / plain NumPy Lee-Seung", t_floor, t_plain, None)
            record("floor", shape, f"nmfcore {dt} / KL NumPy floor {dt}", t_o, t_floor, None)
        # what the models sklearn lacks cost relative to Poisson NMF (no target: informs the choice of model)
        for what, kw in (("NB (alpha fixed) NMF / Poisson NMF", dict(noise=nc.NegativeBinomial(
                              alpha=10.0, estimate_alpha=False))),
                         ("Poisson convex NMF / Poisson NMF", dict(noise=nc.Poisson(), structure="convex"))):
            record("relative", shape, f"{what}, float64", ours(X, W0, H0, n1=n1, n2=n2, repeat=args.repeat, **kw),
                   t64, None)
        # every model sklearn has
        Xp = X + 1.0  # Itakura-Saito (Gamma) needs X > 0
        for name, noise, beta, Xb in [("gaussian", nc.Gaussian(estimate_phi=False), "frobenius", X),
                                      ("poisson", nc.Poisson(), "kullback-leibler", X),
                                      ("gamma", nc.Gamma(estimate_phi=False), "itakura-saito", Xp),
                                      ("tweedie_p1.5", nc.Tweedie(power=1.5, estimate_phi=False), 0.5, X)]:
            # float32 at tol 0 (it cannot resolve PEER_TOL): its checks still evaluate the exact loss
            t_sk, t_o, t_o32 = slopes([wall(sklearn_mu(Xb, W0, H0, beta)), ours_fn(Xb, W0, H0, noise, tol=PEER_TOL),
                                       ours_fn(Xb, W0, H0, noise, "float32")], n1, n2, args.repeat)
            record(name, shape, "nmfcore float64 / scikit-learn MU", t_o, t_sk, TARGETS["vs_sklearn"])
            record(name, shape, "nmfcore float32 / scikit-learn MU", t_o32, t_sk, TARGETS["vs_sklearn"])
            if name == "gaussian":
                for dt, t in (("float64", t_o), ("float32", t_o32)):
                    Xd, Wd, Hd = Xb.astype(dt), W0.astype(dt), H0.astype(dt)
                    t_floor = slope(lambda it: floor_frobenius(Xd, Wd.copy(), Hd.copy(), it), n1, n2, args.repeat)
                    record("floor", shape, f"Frobenius NumPy floor {dt} / scikit-learn MU", t_floor, t_sk, None)
                    record("floor", shape, f"nmfcore {dt} / Frobenius NumPy floor {dt}", t, t_floor, None)

    # batched restarts on a BRCA21-sized problem, in each precision (both sides in the same one)
    X, _, _ = data(96, 21, 3, seed=1)
    X = np.ascontiguousarray(X.T)  # 21 samples x 96 channels
    R = 20
    n_it = 100 if args.size == "small" else 300
    for dtype in ("float64", "float32"):
        def batched():
            t0 = time.perf_counter()
            res = nc.fit(X, 3, noise="poisson", n_restarts=R, max_iter=n_it, tol=0.0, random_state=0,
                         dtype=dtype, accelerate=False)
            return res.timings["iterate_s"], time.perf_counter() - t0

        def looped():
            t0 = time.perf_counter()
            it = sum(nc.fit(X, 3, noise="poisson", n_restarts=1, max_iter=n_it, tol=0.0, random_state=r,
                            dtype=dtype, accelerate=False).timings["iterate_s"] for r in range(R))
            return it, time.perf_counter() - t0

        tb = np.min([batched() for _ in range(args.repeat)], axis=0) / (n_it * R)
        tl = np.min([looped() for _ in range(args.repeat)], axis=0) / (n_it * R)
        record("restarts", f"21x96 k=3, {R} restarts", f"{dtype} batched / loop of single fits (per restart-it.)",
               tb[0], tl[0], TARGETS["batched_restarts_vs_loop"])
        record("restarts_e2e", f"21x96 k=3, {R} restarts", f"{dtype} fit(n_restarts=20) / 20 x fit(): whole calls",
               tb[1], tl[1], None)

    # many data matrices of one shape (paper 2: the 30 training sets of GEL prostate, 248 x 96, K = 5), fitted by
    # one fit_many call vs one fit() per matrix; per member-iteration inside the update loops
    gel = Path(__file__).resolve().parents[1] / "workflow/resources/data/mutational/GEL_Prostate_SBS96.tsv"
    Xg = np.loadtxt(gel, delimiter="\t", skiprows=1, usecols=range(1, 312)).T
    n_tr = int(np.floor(0.8 * Xg.shape[0]))
    Xs = [Xg[np.sort(np.random.default_rng(i).permutation(Xg.shape[0])[:n_tr])] for i in range(30)]
    n_it = 200 if args.size == "small" else 1000
    for structure in ("autoencoder", "nmf", "convex"):
        kw = dict(noise="gaussian", structure=structure, max_iter=n_it, tol=1e-10, check_every=1, ae_init="uniform",
                  random_state=list(range(30)))  # the protocol's rule

        def per_iteration(results):  # seconds per member-iteration (escapes of degenerate optima included)
            return sum(r.timings["iterate_s"] for r in results) / sum(r.n_iter for r in results)
        many = min(per_iteration(nc.fit_many(Xs, 5, **kw)) for _ in range(args.repeat))
        one = min(per_iteration([nc.fit(X_, 5, **dict(kw, random_state=i)) for i, X_ in enumerate(Xs)])
                  for _ in range(args.repeat))
        record("fit_many", "30 x 248x96 k=5", f"{structure} Gaussian fit_many / 30 x fit() (per it.)",
               many, one, TARGETS["fit_many_vs_loop"] if structure == "autoencoder" else None)

    per_seed = nb_vs_poisson(args.repeat, record)

    print(f"# nmfcore {nc.__version__}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"python {platform.python_version()}, {platform.machine()}")
    print(f"{'case':<14}{'shape':<26}{'comparison':<50}{'ours µs':>10}{'ref µs':>10}{'ratio':>8}{'target':>8}  ok")
    for r in rows:
        tgt = "" if r["target"] is None else f"{r['target']:.2f}"
        ok = "" if r["ok"] is None else ("yes" if r["ok"] else "NO")
        print(f"{r['case']:<14}{r['shape']:<26}{r['comparison']:<50}{r['ours_us']:>10.1f}{r['ref_us']:>10.1f}"
              f"{r['ratio']:>8.3f}{tgt:>8}  {ok}")
    print("# NB / Poisson per seed (" + "; ".join(per_seed) + ")")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if args.check:
        failed = []
        for (case, ref), ceiling in CHECK_CEILINGS.items():
            for shape in sorted({r["shape"] for r in rows if r["case"] == case}):
                best = min(r["ratio"] for r in rows if r["case"] == case and r["shape"] == shape
                           and ref in r["comparison"])
                status = "ok" if best <= ceiling else "REGRESSED"
                print(f"check {case:<14}{shape:<26} vs {ref:<31} best ratio {best:.3f} <= {ceiling:.2f}: {status}")
                if best > ceiling:
                    failed.append(case)
        if failed:
            print(f"\n{len(failed)} ratio(s) above their ceilings: {failed}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
