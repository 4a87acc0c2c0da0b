"""Command line.

  python -m nmfcore fit counts.tsv --rank 5 --noise nb --structure convex --out fit/
  python -m nmfcore select counts.csv --ranks 2-10 --noise poisson,nb,tweedie,gaussian --out choice/

Input: TSV or CSV (optionally .gz), labels in the first column and the header, samples x features;
a catalogue whose rows carry the 96 SBS channel labels (SigProfiler's layout) is turned around.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import warnings

from . import _validation as V
from .discrete import is_count_data
from .fit import fit
from .io import check_output_dir, read_user_matrix, write_result

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _is_float(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _float_list(text):
    try:
        return [float(p) for p in text.split(",")]
    except ValueError:
        bad = next(p for p in text.split(",") if not _is_float(p))
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 1.2,1.5,1.8, got {text!r} ({bad!r} is not a number)") from None


def _noise_spec(args):
    """fit's noise spec: the label (select's labels and the family names nb, tweedie) with --power, --powers,
    --alpha and --dispersion; an option that contradicts the label is an error."""
    from .select import noise_spec

    base = noise_spec(args.noise)
    spec = dict(base) if isinstance(base, dict) else {"family": base}
    family = spec["family"]
    if args.power is not None or args.powers:
        if "power" in spec:
            raise ValueError(f"--noise {args.noise} fixes the Tweedie power; drop --power/--powers, or use --noise "
                             "tweedie with them")
    if args.power is not None:
        spec["power"] = args.power
    if args.powers:
        spec["powers"] = args.powers
    if args.alpha is not None:
        spec["alpha"] = args.alpha
    if args.dispersion is not None:
        if family != "nb":
            raise ValueError(f"--dispersion applies to --noise nb only, not {args.noise}; drop it or use --noise nb")
        if args.noise in ("nb_shared", "nb_sample") and spec["dispersion"] != args.dispersion:
            raise ValueError(f"--noise {args.noise} and --dispersion {args.dispersion} contradict each other; give "
                             f"--noise nb_{args.dispersion} alone")
        spec["dispersion"] = args.dispersion
    return spec


def _default_threads() -> int:
    from .select import default_jobs

    return default_jobs()


def _pin_threads(threads: int, argv) -> None:
    """Limit BLAS to ``threads`` (a busy 2-core machine ran one fit 13x slower with OpenBLAS's default
    threads). numpy is loaded already: threadpoolctl if installed, else the process restarts itself
    once with the thread variables set (only when run from the shell, argv None)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
        return
    except ImportError:
        pass
    if argv is None and os.environ.get("OPENBLAS_NUM_THREADS") != str(threads):
        env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
        os.execve(sys.executable, [sys.executable, "-m", "nmfcore", *sys.argv[1:]], env)


class _Ticker:
    """Elapsed time on stderr while a long fit runs (nothing for fits under 3 s): rewritten in place every few
    seconds on a terminal; one line a minute into a log file or pipe (no carriage returns piling up)."""

    def __init__(self, what, stream=sys.stderr, first=3.0, every=5.0):
        tty = getattr(stream, "isatty", lambda: False)()
        self.what, self.stream, self.first, self.every = what, stream, first, every if tty else 60.0
        self.start, self.end = ("\r", " ") if tty else ("", "\n")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.shown = False

    def _run(self):
        t0 = time.perf_counter()
        wait = self.first
        while not self._stop.wait(wait):
            self.stream.write(f"{self.start}{self.what}: {time.perf_counter() - t0:.0f} s{self.end}")
            self.stream.flush()
            self.shown, wait = True, self.every

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.shown and self.start:
            self.stream.write("\n")


#: random starts per fit, the same for fit and select (select's --seeds multiplies them)
RESTARTS = 3


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's one real default: none shown for a required option, a flag, or a default of None (whose
    meaning the help text states)."""

    def _get_help_string(self, action):
        if action.required or action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _common(p, command):
    p.add_argument("counts", help="data file: TSV or CSV (optionally .gz), sample ids in the first column, feature "
                                  "labels in the header; a file with the 96 SBS channel labels on its rows or columns "
                                  "is read as a catalogue (oriented and ordered by label)")
    what = ("model structure: nmf (X ~ W H), convex (H = G X) or autoencoder (convex NMF trained by Adam)"
            if command == "fit" else "comma-separated list of model structures, e.g. nmf,convex: nmf (X ~ W H), "
            "convex (H = G X), autoencoder (convex NMF trained by Adam)")
    p.add_argument("--structure", default="nmf", help=what)
    p.add_argument("--restarts", type=int, default=RESTARTS,
                   help=f"random starts per fit; the best is kept (default: {RESTARTS}, for fit and select alike)")
    p.add_argument("--pre-iter", type=int, default=0,
                   help="iterations of every start before only the best continues (0: all to convergence)")
    p.add_argument("--max-iter", type=int, default=50_000, help="iteration cap of each fit")
    p.add_argument("--tol", type=float, default=1e-8,
                   help="convergence: relative change of the divergence over --check-every iterations")
    p.add_argument("--check-every", type=int, default=10, help="iterations between convergence checks")
    p.add_argument("--nb-rounds", type=int, default=5, help="NB with estimated alpha: alpha/factor alternations")
    p.add_argument("--nb-tol", type=float, default=1e-3, help="NB: stop the alternation when alpha changes less")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (autoencoder only; default: 1e-3)")
    p.add_argument("--ae-init", default="scaled", choices=("scaled", "uniform"),
                   help="starts: U(0,1) scaled to the data mean, or raw U(0,1) (paper 2)")
    p.add_argument("--ae-constraint", default=None, choices=("abs", "project"),
                   help="autoencoder only: non-negativity by |U| in the forward pass (abs), or projection after "
                        "each step (default: abs)")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="precision of the iterations (float32: about 2x faster, tol >= 1e-6); results are float64")
    p.add_argument("--accelerate", default="auto", choices=("auto", "on", "off"),
                   help="SQUAREM acceleration of the MM iterations (the divergence still never increases); auto: on "
                        "for the negative binomial (with --check-every >= 3); on: every MM fit; off: the plain multiplicative updates")
    p.add_argument("--transpose", action="store_true", help="the file is features x samples (not needed for a "
                                                                   "catalogue: oriented by its channel labels)")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads (default: the cores this process may use, from CPU affinity and "
                        "SLURM_CPUS_PER_TASK; with select --jobs > 1 every worker uses one)")
    p.add_argument("--out", required=True, help="output folder (created; an earlier nmfcore result in it is replaced, "
                                               "a folder holding other files of the same names is refused)")


def _settings(args, structure="autoencoder"):
    """nmfcore.fit's settings from the options; the Adam ones (--lr, --ae-constraint) are passed as given for a
    structure other than the autoencoder, where nmfcore.fit refuses them rather than ignore them."""
    adam = structure == "autoencoder"
    return dict(n_restarts=args.restarts, pre_iter=args.pre_iter, max_iter=args.max_iter, tol=args.tol,
                check_every=args.check_every, nb_rounds=args.nb_rounds, nb_tol=args.nb_tol,
                lr=1e-3 if adam and args.lr is None else args.lr, ae_init=args.ae_init,
                ae_constraint=args.ae_constraint, dtype=args.dtype,
                accelerate={"auto": None, "on": True, "off": False}[args.accelerate])


def _parser():
    parser = argparse.ArgumentParser(prog="python -m nmfcore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = _HelpFormatter
    p = sub.add_parser("fit", help="fit one model", formatter_class=fmt,
                       description="Fit one model and write W.tsv, H.tsv (G.tsv), trace.tsv and summary.json.")
    _common(p, "fit")
    p.add_argument("--rank", type=int, required=True, help="number of components K (1 <= K < min(samples, features))")
    p.add_argument("--noise", default="poisson",
                   help="noise model: gaussian, poisson, gamma, nb_shared (or nb), nb_sample, tweedie (power by "
                        "profile likelihood) or tweedie_p<p> (fixed power, e.g. tweedie_p1.5)")
    p.add_argument("--power", type=float, help="Tweedie power (omit to choose by profile likelihood)")
    p.add_argument("--powers", type=_float_list, help="comma-separated Tweedie power grid for the profile likelihood "
                                                       "(default: 1.1,1.3,1.5,1.7,1.9)")
    p.add_argument("--alpha", type=float, help="fixed NB alpha (omit to estimate by ML)")
    p.add_argument("--dispersion", default=None, choices=("shared", "sample"),
                   help="NB: one alpha (shared) or one per sample (default: shared for --noise nb)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starts")
    s = sub.add_parser("select", help="choose noise model, structure and rank by BIC", formatter_class=fmt,
                       description="Fit every noise model x structure x rank x seed, write selection.tsv, "
                                   "selection.png and the chosen model's factors under OUT/best/, and say why.")
    _common(s, "select")
    s.add_argument("--ranks", default="2-10", help="ranks, e.g. 2-10 or 2,3,5")
    s.add_argument("--noise", default="poisson,nb_shared,tweedie,gaussian",
                   help="comma-separated noise models: gaussian, poisson, gamma, nb_shared (or nb), nb_sample, "
                        "tweedie (power by profile likelihood), tweedie_p<p> (fixed power, e.g. tweedie_p1.5)")
    s.add_argument("--seeds", type=int, default=1, help="independent fits (seeds 0..N-1) per model, each of "
                                                        "--restarts starts; the best is kept")
    s.add_argument("--reference", choices=("cosmic",), help="match the chosen signatures to COSMIC v3.4 (SBS96 data)")
    s.add_argument("--jobs", type=int, default=None, help="fits in parallel processes (default: the usable cores)")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        V.check_structure(args.structure) if args.command == "fit" else None
        spec = _noise_spec(args) if args.command == "fit" else None
        for name in ("restarts", "max_iter", "check_every", "nb_rounds"):
            V.check_positive_int(getattr(args, name), "--" + name.replace("_", "-"))
        for name in ("threads", "jobs"):
            if getattr(args, name, None) is not None:
                V.check_positive_int(getattr(args, name), "--" + name)
        check_output_dir(args.out, inputs=[args.counts], select=args.command == "select")
        if args.command == "select":
            check_output_dir(os.path.join(args.out, "best"), inputs=[args.counts])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the orientation note is printed below
            X, info = read_user_matrix(args.counts, transpose=args.transpose)
        if getattr(args, "reference", None):
            _check_reference_channels(args.counts, X, info)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say_how_read(args.counts, info)
    return _fit(args, X, spec, argv) if args.command == "fit" else _select(args, X, argv)


def _say_how_read(path, info):
    rows, cols = info["file_shape"]
    how = (f"read {path}: {rows} rows x {cols} columns ({info['file_layout']}) as {info['shape'][0]} samples x "
           f"{info['shape'][1]} features")
    if info["read_as"] == "catalogue":
        how += ", channels by label in the canonical SBS96 order"
    print(how, file=sys.stderr)


def _check_reference_channels(path, X, info):
    """--reference cosmic compares signatures over the 96 SBS channels: the file must carry all of them."""
    from .data.channels import SBS96_CHANNELS

    if info["read_as"] == "catalogue":
        return
    axes = (("features", list(X.columns)), ("samples", list(X.index)))
    axis, labels = max(axes, key=lambda a: len(set(a[1]) & set(SBS96_CHANNELS)))
    missing = [c for c in SBS96_CHANNELS if c not in set(labels)]
    raise ValueError(f"{path}: --reference cosmic needs the 96 SBS channel labels (e.g. A[C>A]A) on the rows or "
                     f"the columns; its {axis} carry {96 - len(missing)} of them, absent: {missing[:10]}"
                     f"{' ...' if len(missing) > 10 else ''}: label the channels as SBS96, or drop --reference")


def _fit(args, X, spec, argv) -> int:
    _pin_threads(args.threads or _default_threads(), argv)
    try:
        with warnings.catch_warnings(record=True) as caught, _Ticker(f"fitting {args.structure}/{args.noise} "
                                                                     f"rank {args.rank}"):
            warnings.simplefilter("always", V.ConvergenceWarning)
            res = fit(X.to_numpy(), args.rank, noise=spec, structure=args.structure,
                      random_state=args.seed, **_settings(args, args.structure))
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for w in caught:
        if not issubclass(w.category, V.ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    try:
        write_result(res, args.out, samples=X.index, features=X.columns)
    except OSError as exc:
        print(f"error: could not write the result to {args.out}: {exc}", file=sys.stderr)
        return 2
    row = res.to_row()
    print("\t".join(f"{k}={row[k]}" for k in ("structure", "noise", "rank", "loglik", "bic", "n_iter", "converged")))
    print(f"wrote W.tsv, H.tsv{', G.tsv' if res.G is not None else ''}, trace.tsv and summary.json to {args.out}",
          file=sys.stderr)
    if not res.converged:
        hint = "raise --max-iter (or --lr for the autoencoder) or loosen --tol"
        print(f"warning: NOT CONVERGED after {res.n_iter} iterations (tol {args.tol}); {hint}", file=sys.stderr)
    return 0


def _select(args, X, argv) -> int:
    from . import select as S

    try:
        ranks = S.parse_ranks(args.ranks)
        noises = _noise_labels(args.noise)
        structures = _name_list(args.structure, "--structure", V.check_structure)
        V.check_positive_int(args.seeds, "--seeds")
        bound = min(X.shape)
        if ranks[-1] >= bound:
            raise ValueError(f"--ranks: rank {ranks[-1]} is not below min(samples, features) = {bound} "
                             f"({X.shape[0]} x {X.shape[1]}); lower the largest rank")
        values = V.check_matrix(X.to_numpy())
        if args.reference and not os.path.isfile(_cosmic_path()):
            raise ValueError(f"the COSMIC reference is not at {_cosmic_path()} (it ships with the repository "
                             "checkout): run select from a checkout (pip install -e .) or drop --reference")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    jobs = args.jobs or _default_threads()
    if jobs > 1:  # one BLAS thread per worker process (set before the workers load numpy)
        for v in THREAD_VARS:
            os.environ[v] = "1"
    else:
        _pin_threads(args.threads or _default_threads(), argv)
    integer = is_count_data(values)  # X is already checked non-negative
    total = len(ranks) * len(noises) * len(structures) * args.seeds
    print(f"select: {X.shape[0]} samples x {X.shape[1]} features, {total} fits "
          f"({len(noises)} noise x {len(structures)} structure x {len(ranks)} ranks x {args.seeds} seeds), "
          f"{jobs} process(es)", file=sys.stderr)
    rows, results = S.run_grid(values, ranks, noises, structures, range(args.seeds), _settings(args), jobs=jobs)
    return _report(args, X, rows, results, integer)


def _name_list(text, option, check):
    """A comma-separated list of names, each passed to ``check``: none, or one twice, is an error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"{option} lists no name (got {text!r}); give at least one, comma-separated")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{option} lists {', '.join(dup)} more than once; list each once")
    for name in names:
        check(name)
    return names


def _noise_labels(text):
    """select's --noise as canonical labels (nb -> nb_shared); one model listed under two names is an error."""
    from . import select as S

    names = _name_list(text, "--noise", S.noise_spec)
    labels = [S.noise_label(n) for n in names]
    same = sorted({n for n, lab in zip(names, labels) if labels.count(lab) > 1})
    if same:
        raise ValueError(f"--noise lists {' and '.join(same)}, which are the same model; list it once")
    return labels


def _report(args, X, rows, results, integer) -> int:
    import pandas as pd

    from . import select as S

    os.makedirs(args.out, exist_ok=True)
    table = pd.DataFrame(rows)
    table["comparable"] = (table["bic_discrete"] if integer else table["bic"]).notna()
    table.to_csv(os.path.join(args.out, "selection.tsv"), sep="\t", index=False, float_format="%.10g")
    _selection_plot(table, os.path.join(args.out, "selection.png"), integer)
    best, why = S.choose(rows, integer)
    n_bad = int((~table["converged"]).sum())
    if n_bad:
        print(f"warning: {n_bad} of {len(table)} fits did not converge (never chosen; raise --max-iter): "
              + ", ".join(f"{r.noise}/{r.structure}/k{r.rank}/s{r.seed}" for r in table[~table["converged"]]
                          .head(8).itertuples()) + (" ..." if n_bad > 8 else ""), file=sys.stderr)
    if best is None:
        print(f"no model chosen: {why}", file=sys.stderr)
        return 1
    res = results[(best["noise"], best["structure"], best["rank"], best["seed"])]
    write_result(res, os.path.join(args.out, "best"), samples=X.index, features=X.columns)
    fitted = f" ({res.noise.label} by profile likelihood)" if res.noise.label != best["noise"] else ""
    print(f"chosen: noise {best['noise']}{fitted}, structure {best['structure']}, rank {best['rank']} "
          f"(seed {best['seed']})")
    print(f"why: {why}")
    _warn_at_the_edge(int(best["rank"]), sorted(table["rank"].unique()), min(X.shape))
    matches = os.path.join(args.out, "cosmic_matches.tsv")
    if args.reference:
        _write_cosmic_matches(res, X, matches)
    elif os.path.exists(matches):  # of an earlier run with --reference: not of this choice
        os.unlink(matches)
    print(f"wrote selection.tsv, selection.png{', cosmic_matches.tsv' if args.reference else ''} and best/ to "
          f"{args.out}", file=sys.stderr)
    return 0


def _warn_at_the_edge(rank, ranks, bound):
    """The chosen rank at the lowest or highest rank tried (where the grid could go further): say so."""
    if len(ranks) > 1 and rank == ranks[-1] and rank + 1 < bound:
        print(f"warning: the chosen rank {rank} is the highest rank tried: a higher rank may fit better; extend "
              f"--ranks (e.g. {ranks[0]}-{rank + 3})", file=sys.stderr)
    elif len(ranks) > 1 and rank == ranks[0] and rank > 1:
        print(f"warning: the chosen rank {rank} is the lowest rank tried: a lower rank may fit better; extend "
              f"--ranks (e.g. 1-{ranks[-1]})", file=sys.stderr)


def _write_cosmic_matches(res, X, path):
    """Each chosen signature's best COSMIC match (one-to-one assignment) and cosine: printed and written."""
    import pandas as pd

    from .datasets import read_reference
    from .metrics import match_components

    ref = read_reference(_cosmic_path())
    _, rows_h, rows_r, cos = match_components(res.H, ref[list(X.columns)].to_numpy())
    table = pd.DataFrame({"signature": [f"C{i + 1}" for i in rows_h], "best_cosmic_match": ref.index[rows_r],
                          "cosine": cos}).sort_values("signature", key=lambda c: c.str[1:].astype(int))
    for row in table.itertuples():
        print(f"  signature {row.signature[1:]}: best COSMIC match {row.best_cosmic_match} (cosine {row.cosine:.3f})")
    table.to_csv(path, sep="\t", index=False, float_format="%.6g")


def _cosmic_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "workflow", "resources", "data",
                        "reference", "COSMIC_v3.4_SBS_GRCh37.txt")


def _selection_figure(table, integer):
    """BIC and log-likelihood against the rank, one line per noise x structure (best seed), integer rank ticks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    bic, ll = ("bic_discrete", "loglik_discrete") if integer else ("bic", "loglik")
    best = table.sort_values(ll, ascending=False).drop_duplicates(["noise", "structure", "rank"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for (noise, structure), d in best.groupby(["noise", "structure"]):
        d = d.sort_values("rank")
        for ax, col in zip(axes, (bic, ll)):
            line, = ax.plot(d["rank"], d[col], "-", marker="o", label=f"{noise} / {structure}")
            bad = ~d["converged"].astype(bool)
            ax.scatter(d.loc[bad, "rank"], d.loc[bad, col], s=60, facecolors="white", edgecolors=line.get_color(),
                       zorder=3)
    axes[0].set(xlabel="rank K", ylabel=f"{bic} (lower is better)", title="BIC")
    axes[1].set(xlabel="rank K", ylabel=f"{ll} (best seed)", title="log-likelihood")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(fontsize=8)
    scale = ("discretised: count data, every family on the mass scale" if integer
             else "densities: continuous data")
    fig.suptitle(f"Model selection ({scale}); best seed per model; white markers: fits that did not converge",
                 fontsize=10)
    fig.tight_layout()
    return fig


def _selection_plot(table, path, integer):
    import matplotlib.pyplot as plt

    fig = _selection_figure(table, integer)
    fig.savefig(path, dpi=150)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
