"""Collect the per-fit results into tidy, deterministically sorted tables.

scores.tsv           one row per fit (score.tsv of every fit): every parameter and every result/score
                     column, nothing that depends on the run. The same config and seeds give a
                     byte-identical file (also after kill -9 and --rerun-incomplete, or on SLURM).
timings.tsv          one row per fit, same rows in the same order as scores.tsv: the join key
                     dataset, split, structure, noise, rank, seed (_tables.FIT_KEY, unique per fit)
                     plus time_s (inside nmfcore.fit), iterate_s (inside its update loops),
                     bench_s, bench_max_rss (the fit job's Snakemake benchmark: wall seconds, peak
                     RSS in MB; NaN for a job too short to be sampled), host and slurm_job_id ("" outside
                     SLURM). Differs between runs.
                     Join with pandas: scores.merge(timings, on=FIT_KEY).
consistency.tsv      Hungarian-matched average cosine (ACS) between the H of every pair of runs (seeds and
                     splits) of the same dataset x structure x noise x rank
tweedie_profile.tsv  profile likelihood over the Tweedie power grid of every Tweedie fit
nb_dispersion.tsv    fitted NB alpha of every NB fit (one row per sample, or sample '(shared)')
overhead.tsv         wall time of the data + fit phase vs the time spent inside nmfcore.fit (see below);
                     differs between runs, like timings.tsv
config_used.yaml     the effective configuration

Overhead method: every job writes a Snakemake benchmark file when it ends, so for each job
end = mtime of its benchmark file and start = end - s (the benchmark's wall seconds). The phase's
wall time is max(end) - min(start) over the data and fit jobs of this config; `cores` is the largest
number of these jobs observed running at the same time. fit_s sums time_s (inside nmfcore.fit),
bench_s sums the fit jobs' wall seconds (fit + Python start-up + I/O + scoring), both from timings.tsv.
It is meaningful for a run that made every job afresh (old benchmark files keep their old mtimes).
"""
import json
import os
import socket
import sys
from itertools import combinations

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from nmfcore import metrics  # noqa: E402

from _tables import FIT_KEY as KEYS, TIMING_COLUMNS  # noqa: E402

sm = snakemake  # noqa: F821
FLOAT = "%.10g"


def split_order(split):
    return -1 if split == "all" else int(split[2:])


def sort_fits(df, keys=KEYS):
    order = df.assign(_split=df["split"].map(split_order))
    cols = [("_split" if k == "split" else k) for k in keys if k in df.columns or k == "split"]
    return df.loc[order.sort_values(cols, kind="mergesort").index].reset_index(drop=True)


def read_benchmark(path):
    """Wall seconds and peak RSS (MB) of a job's Snakemake benchmark. A job that ends before the benchmark's first
    sample, or as it is taken (a process exiting has no resident memory), has no peak RSS: Snakemake writes NA or
    0, both recorded as NaN (unknown), never as a peak of 0 MB."""
    b = pd.read_csv(path, sep="\t")
    rss = pd.to_numeric(b["max_rss"], errors="coerce").iloc[0]
    return {"bench_s": float(b["s"].iloc[0]), "bench_max_rss": float(rss) if rss > 0 else float("nan")}


def read_row(path, dtype=None):
    """The single row of a per-fit score.tsv / timing.tsv as a dict (empty cells are NaN)."""
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], dtype=dtype).iloc[0].to_dict()


def write(df, path):
    df.to_csv(path, sep="\t", index=False, float_format=FLOAT)


keys = sm.params.fits
inp = sm.input

# ---- scores (deterministic) and timings (run-dependent), one row per fit each, same order
scores = sort_fits(pd.DataFrame([read_row(p) for p in inp.scores]))
volatile = sorted(set(scores.columns) & set(TIMING_COLUMNS))
if volatile:
    raise ValueError(f"score.tsv files carry run-dependent column(s) {volatile}; they belong in timing.tsv")
first = ["dataset", "data_kind", "source", "experiment", "split", "structure", "noise", "noise_family",
         "noise_fitted", "rank", "seed"]
scores = scores[first + [c for c in scores.columns if c not in first]]
scores["converged"] = scores["converged"].astype(str).str.lower().map({"true": True, "false": False})
write(scores, sm.output.scores)

text = {"slurm_job_id": str, "host": str}
# a fit job makes several fits: each gets its own seconds inside nmfcore.fit plus an equal share of the
# job's remaining wall seconds (start-up, reading, scoring, writing)
fit_rows = [read_row(t, dtype=text) for t in inp.timings]
job_fits = pd.Series(list(inp.fit_benchmarks)).value_counts().to_dict()
job_fit_s = pd.Series([r["time_s"] for r in fit_rows]).groupby(list(inp.fit_benchmarks)).sum().to_dict()


def job_share(path, row):
    bench = read_benchmark(path)
    rest = max(bench["bench_s"] - job_fit_s[path], 0.0) / job_fits[path]
    return {"bench_s": row["time_s"] + rest, "bench_max_rss": bench["bench_max_rss"]}


timings = sort_fits(pd.DataFrame([{**r, **job_share(b, r)}
                                  for r, b in zip(fit_rows, inp.fit_benchmarks)]))[KEYS + TIMING_COLUMNS]
if not timings[KEYS].astype(str).equals(scores[KEYS].astype(str)):
    raise ValueError("timing.tsv and score.tsv files describe different fits")
write(timings, sm.output.timings)

# ---- consistency between runs (seeds x splits) of the same dataset x structure x noise x rank
frame = pd.DataFrame(keys).assign(H=list(inp.H))
cons = []
for (dataset, structure, noise, rank), grp in frame.groupby(["dataset", "structure", "noise", "rank"], sort=True):
    grp = sort_fits(grp)
    if len(grp) < 2:
        continue
    Hs = [pd.read_csv(p, sep="\t", index_col=0) for p in grp["H"]]
    labels = [f"{r.split}/s{r.seed}" for r in grp.itertuples()]
    for (i, a), (j, b) in combinations(enumerate(Hs), 2):
        cons.append({"dataset": dataset, "structure": structure, "noise": noise, "rank": rank,
                     "run_a": labels[i], "run_b": labels[j],
                     "acs": metrics.match_components(a.to_numpy(), b[a.columns].to_numpy())[0]})
write(pd.DataFrame(cons, columns=["dataset", "structure", "noise", "rank", "run_a", "run_b", "acs"]),
      sm.output.consistency)

# ---- Tweedie profiles and NB dispersions from the summaries
profile, dispersion = [], []
for key, path in zip(keys, inp.summaries):
    with open(path) as fh:
        summary = json.load(fh)
    base = {k: key[k] for k in KEYS}
    label = summary["noise"]["label"]
    if label.startswith("tweedie"):
        for step in summary.get("nuisance_path", []):
            if "power" in step:
                profile.append({**base, "power": step["power"], "phi": step["phi"], "loglik": step["loglik"],
                                "divergence": step["divergence"], "chosen": step["power"] == summary["noise"]["power"]})
    elif label.startswith("nb_"):
        per_sample = summary["noise"].get("alpha_per_sample")
        pairs = per_sample.items() if per_sample else [("(shared)", summary["noise"]["alpha"])]
        dispersion += [{**base, "sample": s, "alpha": a} for s, a in pairs]
prof_cols = KEYS + ["power", "phi", "loglik", "divergence", "chosen"]
prof = pd.DataFrame(profile, columns=prof_cols)
write(sort_fits(prof, KEYS + ["power"]) if len(prof) else prof, sm.output.tweedie_profile)
disp = pd.DataFrame(dispersion, columns=KEYS + ["sample", "alpha"])
disp_cols = ["dataset", "split", "structure", "noise", "rank", "seed", "sample", "alpha"]
write(sort_fits(disp, KEYS + ["sample"])[disp_cols] if len(disp) else disp[disp_cols], sm.output.nb_dispersion)

# ---- overhead (method in the module docstring)
intervals = []
for path in list(inp.data_benchmarks) + list(dict.fromkeys(inp.fit_benchmarks)):  # each job once
    end = os.path.getmtime(path)
    intervals.append((end - read_benchmark(path)["bench_s"], end))
starts, ends = np.array(intervals).T
events = sorted([(s, 1) for s in starts] + [(e, -1) for e in ends], key=lambda t: (t[0], t[1]))
running = peak = 0
for _, step in events:
    running += step
    peak = max(peak, running)
wall = float(ends.max() - starts.min())
fit_s = float(timings["time_s"].sum())
bench_s = float(timings["bench_s"].sum())
overhead = pd.DataFrame([{
    "run": "this config", "host": socket.gethostname(), "n_jobs": len(intervals), "n_fits": len(scores),
    "cores": peak, "wall_s": wall, "fit_s": fit_s, "bench_s": bench_s,
    "data_jobs_s": float(sum(e - s for s, e in intervals[: len(inp.data_benchmarks)])),
    "share_outside_fit": 1.0 - fit_s / (wall * peak) if wall > 0 else np.nan,
    "share_outside_fit_in_fit_jobs": 1.0 - fit_s / bench_s if bench_s > 0 else np.nan,
    "method": "benchmark mtime = job end, start = end - s; wall = max(end) - min(start)"}])
write(overhead, sm.output.overhead)

with open(sm.output.config, "w") as fh:
    yaml.safe_dump(json.loads(json.dumps(sm.params.config)), fh, sort_keys=False, default_flow_style=False)
print(f"{len(scores)} fits aggregated; wall {wall:.1f} s, {fit_s:.1f} s inside fits", file=sys.stderr)
