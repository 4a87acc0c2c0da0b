"""Fit a block of the grid (one fit job, workflow/rules/fit.smk): every listed fit of one data set (or of
the replicates of one simulation scenario); save and score each.

Each data set is read once. Fits that share structure, noise model, rank and settings and whose training
matrices share their shape (the seeds of the `all` split, the replicates of a simulation; the cv splits
of a block and their seeds) are one batched computation (nmfcore.fit_many), which gives each member the
result of its separate fit.
Each fit gets its own folder with the factors, trace and summary (nmfcore.io.write_result) and two
one-row tables:

* score.tsv: every parameter of the fit as a column plus the metrics (training fit, held-out error on
  cv splits with H frozen, matched cosine to the true or the COSMIC signatures, class recovery for
  labelled text). Deterministic: the same config and seed give the same bytes on any machine and run.
* timing.tsv: the fit's key (_tables.FIT_KEY) plus what differs between runs: seconds inside
  nmfcore.fit (time_s) and its update loops (iterate_s; for a batch, its time divided among its
  members), the SLURM job id ("" outside SLURM), the host.

Starts: the `all` split uses the seed itself; split cv<i> uses seed 1000 * seed + i (a different U(0,1)
start per split, as paper 2's runs), recorded as `start_seed`.
"""
import functools
import gc
import os
import socket
import sys
import warnings
from types import SimpleNamespace

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821
warnings.simplefilter("default")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(snakemake.threads))  # noqa: F821

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import nmfcore  # noqa: E402
from nmfcore import metrics  # noqa: E402
from nmfcore.fit_arguments import settings_for  # noqa: E402
from nmfcore.io import read_matrix, write_result  # noqa: E402

from _tables import FIT_KEY, FIT_TIMING_COLUMNS  # noqa: E402

sm = snakemake  # noqa: F821


@functools.lru_cache(maxsize=None)
def read_reference(path):
    """A reference signature table, read once per job however many of its data sets are scored against it."""
    return pd.read_csv(path, sep="\t", index_col=0)


def read_data(name, spec):
    """One data set of the job, read once: the matrix and what scoring compares every fit with (signatures
    joined to the data's features by label once: every fit's H has the data's columns)."""
    paths, X = spec["inputs"], read_matrix(spec["inputs"]["X"])
    truth_H = pd.read_csv(paths["truth_H"], sep="\t", index_col=0)[X.columns] if "truth_H" in paths else None
    reference = read_reference(paths["reference"]) if "reference" in paths else None
    if reference is not None:
        missing = sorted(set(X.columns) - set(reference.columns))
        if missing:
            raise ValueError(f"channels {missing[:5]} of {paths['X']} are not in the reference {paths['reference']}")
        reference = reference[X.columns]
    # sample ids as read_matrix reads them
    labels = (pd.read_csv(paths["labels"], sep="\t", index_col=0, dtype={0: str})["label"] if "labels" in paths
              else None)
    return SimpleNamespace(name=name, info=spec["info"], X=X, truth_H=truth_H, reference=reference, labels=labels)


DATA = {name: read_data(name, spec) for name, spec in sm.params.data.items()}


def train_test(X, split):
    """Paper 2's split: a random permutation of the samples (seed = split index), the first
    floor((1 - test_fraction) n) samples train (scikit-learn's train_test_split convention)."""
    if split is None:
        return X, None
    order = np.random.default_rng(split["seed"]).permutation(X.shape[0])
    n_train = int(np.floor((1.0 - split["test_fraction"]) * X.shape[0] + 1e-9))
    return X.iloc[np.sort(order[:n_train])], X.iloc[np.sort(order[n_train:])]


def drop_empty(train):
    # samples left empty (e.g. text documents) cannot be fitted by the multiplicative updates
    empty = train.sum(axis=1) == 0
    if empty.any():
        warnings.warn(f"dropping {int(empty.sum())} all-zero training sample(s) {list(train.index[empty][:5])}: "
                      "they carry no information for the fit")
    return train[~empty]


def score(result, train, test, fit, start_seed, data):
    """One score row (parameters first, then the fit, then the metrics) and one timing row."""
    info = data.info
    row = {"dataset": data.name, "data_kind": info["data_kind"], "source": info["source"],
           "experiment": fit["experiment"], "split": fit["split"], "structure": fit["structure"],
           "noise": fit["noise"], "noise_family": fit["noise_spec"]["family"], "noise_fitted": result.noise.label,
           "rank": fit["rank"], "seed": fit["seed"]}
    row.update(fit["settings"])
    row["start_seed"] = start_seed
    fitted = result.to_row()
    for key in ("structure", "noise", "rank", "seed", "n_restarts"):
        fitted.pop(key, None)
    timing = {k: row[k] for k in FIT_KEY}
    timing.update(time_s=fitted.pop("time_s"), iterate_s=fitted.pop("iterate_s", np.nan),
                  slurm_job_id=os.environ.get("SLURM_JOB_ID", ""), host=socket.gethostname())
    fitted["n_restarts_run"] = max(len(result.restarts), 1)
    row.update(fitted)
    for key in ("noise_power", "noise_phi", "noise_alpha", "noise_alpha_min", "noise_alpha_max"):
        row.setdefault(key, np.nan)
    mu = result.W @ result.H
    row.update(n_train=int(train.shape[0]), n_test=0 if test is None else int(test.shape[0]),
               train_mse=float(np.mean((train.to_numpy(dtype=float) - mu) ** 2)),
               test_mse=np.nan, test_divergence=np.nan, test_loglik=np.nan)
    if test is not None and len(test):
        held = metrics.heldout_error(test.to_numpy(dtype=float), result.H, result.noise)
        row.update(test_mse=held["mse"], test_divergence=held["divergence"], test_loglik=held["loglik"])
    # degenerate optimum: two components (rows of H) the same (cosine > 0.999) or a component without weight
    Hn = result.H / np.maximum(np.linalg.norm(result.H, axis=1, keepdims=True), 1e-300)
    cos = Hn @ Hn.T - 2 * np.eye(len(Hn))
    used = result.W.sum(axis=0)
    row.update(max_component_cosine=float(cos.max()) if len(Hn) > 1 else np.nan,
               n_empty_components=int((used <= 1e-8 * used.sum()).sum()))
    row["degenerate"] = bool(row["max_component_cosine"] > 0.999 or row["n_empty_components"] > 0)
    row.update(sim_noise=info["sim_noise"], true_rank=info["true_rank"], cos_truth=np.nan, cos_cosmic=np.nan,
               cosmic_matches="", n_classes=np.nan, ari=np.nan, accuracy=np.nan)
    if data.truth_H is not None:
        row["cos_truth"] = metrics.match_components(result.H, data.truth_H.to_numpy())[0]
    if data.reference is not None:
        cos, _, rows_ref, _ = metrics.match_components(result.H, data.reference.to_numpy())
        row["cos_cosmic"] = cos
        row["cosmic_matches"] = ";".join(data.reference.index[rows_ref])
    if data.labels is not None:
        labels = data.labels.reindex(train.index)
        known = labels.notna().to_numpy()
        if known.any():
            predicted = np.argmax(result.W, axis=1)[known]
            truth_labels = labels[known].astype(str).to_numpy()
            row.update(n_classes=int(pd.unique(truth_labels).size),
                       ari=metrics.adjusted_rand_index(truth_labels, predicted),
                       accuracy=metrics.clustering_accuracy(truth_labels, predicted))
    return row, timing


def batches(fits):
    """Fits run as one fit_many: same structure, noise, rank and settings, training matrices of one shape
    (the `all` split, or cv splits), in the order listed."""
    groups = {}
    for fit in fits:
        key = (fit["split"] == "all", fit["structure"], fit["noise"], fit["rank"], repr(sorted(fit["settings"].items())))
        groups.setdefault(key, []).append(fit)
    return list(groups.values())


def run_batch(fits):
    """Fit, write and score one batch; the start of split cv<i> is 1000 * seed + i, of `all` the seed."""
    data = [DATA[fit["dataset"]] for fit in fits]
    parts = [train_test(d.X, fit["split_settings"]) for d, fit in zip(data, fits)]
    parts = [(drop_empty(train), test) for train, test in parts]
    starts = [fit["seed"] if fit["split_settings"] is None else 1000 * fit["seed"] + fit["split_settings"]["index"]
              for fit in fits]
    first = fits[0]
    # lr and ae_constraint only apply to the autoencoder (ae_init sets the starts of every structure)
    fit_kwargs = settings_for(first["structure"], first["settings"])
    results = nmfcore.fit_many([train.to_numpy(dtype=float) for train, _ in parts], first["rank"],
                               noise=first["noise_spec"], structure=first["structure"], random_state=starts,
                               **fit_kwargs)
    for result, (train, test), fit, start, d in zip(results, parts, fits, starts, data):
        keys = {k: fit[k] for k in ("split", "structure", "noise", "rank", "seed")}
        write_result(result, fit["outdir"], samples=train.index, features=train.columns,
                     extra={"wildcards": {"dataset": d.name, **{k: str(v) for k, v in keys.items()}},
                            "noise_spec": fit["noise_spec"], "settings": fit["settings"],
                            "split": fit["split_settings"], "start_seed": start,
                            "test_samples": [] if test is None else list(test.index)})
        row, timing = score(result, train, test, fit, start, d)
        pd.DataFrame([row]).to_csv(os.path.join(fit["outdir"], "score.tsv"), sep="\t", index=False,
                                   float_format="%.10g")
        pd.DataFrame([timing], columns=FIT_KEY + FIT_TIMING_COLUMNS).to_csv(
            os.path.join(fit["outdir"], "timing.tsv"), sep="\t", index=False, float_format="%.10g")
        print(f"done: {'/'.join(map(str, keys.values()))} {result.noise.label} loglik={result.loglik:.6g} "
              f"converged={result.converged} n_iter={result.n_iter}", file=sys.stderr)


for batch in batches(sm.params.fits):
    run_batch(batch)
# Everything is written and the process exits next: freezing the heap spares the interpreter's collection at
# exit from traversing every numpy/pandas/scipy module object (~0.1 s of each fit job).
gc.freeze()
