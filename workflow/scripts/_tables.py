"""The split between deterministic scores and volatile timings, shared by the workflow's scripts.

``results/tables/scores.tsv`` holds only what the same config and seeds reproduce byte for byte;
everything that depends on the machine, the load or the scheduler lives in
``results/tables/timings.tsv``. Both have one row per fit, in the same order, and are joined on
``FIT_KEY`` (the fit's wildcards, unique per fit).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: identifies one fit (its folder results/fits/<dataset>/<split>/<structure>/<noise>/k<rank>/s<seed>); the join key of scores.tsv and timings.tsv
FIT_KEY = ["dataset", "split", "structure", "noise", "rank", "seed"]
#: per-fit columns written by the fit jobs (fit_model.py, timing.tsv): seconds inside nmfcore.fit and its update loops,
#: the SLURM job that ran the fit ("" outside SLURM) and the host
FIT_TIMING_COLUMNS = ["time_s", "iterate_s", "slurm_job_id", "host"]
#: added by aggregate_scores from the job's Snakemake benchmark file (wall seconds, peak RSS in MB)
BENCHMARK_COLUMNS = ["bench_s", "bench_max_rss"]
TIMING_COLUMNS = FIT_TIMING_COLUMNS + BENCHMARK_COLUMNS


def join_timings(scores: pd.DataFrame, timings: pd.DataFrame, columns=("time_s",)) -> pd.DataFrame:
    """``scores`` with the given timing columns added (left join on FIT_KEY, row order kept)."""
    columns = [c for c in columns if c not in scores.columns]
    if not columns:
        return scores
    missing = [c for c in FIT_KEY + columns if c not in timings.columns]
    if missing:
        raise ValueError(f"timings table lacks column(s) {missing}")
    key = [c for c in FIT_KEY if c in scores.columns]
    right = timings[key + columns]
    if right.duplicated(key).any():
        raise ValueError(f"timings table has more than one row per fit ({key})")
    return scores.merge(right, on=key, how="left", validate="many_to_one")


def usable(scores: pd.DataFrame) -> pd.Series:
    """Fits that may decide a conclusion: converged and not degenerate."""
    ok = scores["converged"].astype(str).str.lower().eq("true")
    if "degenerate" in scores:
        ok &= ~scores["degenerate"].astype(str).str.lower().eq("true")
    return ok


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """``_loglik``/``_bic``: the discretised log-likelihood and BIC where defined (count data: one scale for
    every noise family, nmfcore.discrete), else the log-likelihood and BIC; ``_scale`` says which."""
    disc = df["loglik_discrete"].notna() if "loglik_discrete" in df else pd.Series(False, index=df.index)
    return df.assign(_loglik=df["loglik_discrete"].where(disc, df["loglik"]) if disc.any() else df["loglik"],
                     _bic=df["bic_discrete"].where(disc, df["bic"]) if disc.any() else df["bic"],
                     _scale=np.where(disc, "discretised", "density"))
