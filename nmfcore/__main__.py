"""Command line: ``python -m nmfcore fit counts.tsv --rank 5 --noise nb --structure convex --out fit/``."""
from __future__ import annotations

import argparse
import sys
import warnings

from . import _validation as V
from .fit import fit
from .io import check_output_dir, read_matrix, write_result
from .noise import NOISE_NAMES


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
    spec = {"family": args.noise}
    if args.power is not None:
        spec["power"] = args.power
    if args.powers:
        spec["powers"] = args.powers
    if args.alpha is not None:
        spec["alpha"] = args.alpha
    if args.noise == "nb":
        spec["dispersion"] = args.dispersion
    return spec


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nmfcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit", help="fit one model to a labelled TSV (samples x features)")
    p.add_argument("counts", help="TSV: first column sample ids, header feature labels")
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--noise", default="poisson", choices=NOISE_NAMES)
    p.add_argument("--power", type=float, help="Tweedie power (omit to choose by profile likelihood)")
    p.add_argument("--powers", type=_float_list, help="comma-separated Tweedie power grid for the profile likelihood")
    p.add_argument("--alpha", type=float, help="fixed NB alpha (omit to estimate by ML)")
    p.add_argument("--dispersion", default="shared", choices=("shared", "sample"))
    p.add_argument("--structure", default="nmf", choices=V.STRUCTURE_NAMES)
    p.add_argument("--restarts", type=int, default=10)
    p.add_argument("--pre-iter", type=int, default=0)
    p.add_argument("--max-iter", type=int, default=10_000)
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (autoencoder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                   help="precision of the iterations (float32: about 2x faster, tol >= 1e-6); results are float64")
    p.add_argument("--transpose", action="store_true", help="input is features x samples")
    p.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        check_output_dir(args.out, inputs=[args.counts])
        X = read_matrix(args.counts, transpose=args.transpose)
        with warnings.catch_warnings():
            warnings.simplefilter("always", V.ConvergenceWarning)
            res = fit(X.to_numpy(), args.rank, noise=_noise_spec(args), structure=args.structure,
                      n_restarts=args.restarts, pre_iter=args.pre_iter, max_iter=args.max_iter,
                      tol=args.tol, lr=args.lr, random_state=args.seed, dtype=args.dtype)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        write_result(res, args.out, samples=X.index, features=X.columns)
    except OSError as exc:
        print(f"error: could not write the result to {args.out}: {exc}", file=sys.stderr)
        return 2
    row = res.to_row()
    print("\t".join(f"{k}={row[k]}" for k in ("structure", "noise", "rank", "loglik", "bic", "n_iter", "converged")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
