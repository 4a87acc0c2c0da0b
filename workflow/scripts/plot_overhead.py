"""Figure: workflow overhead, time spent inside the model fits vs everything else.

For each recorded workflow run (row of ``overhead.tsv``) the available core time (wall time x
cores) is split into time inside the fitting routine, time in job scripts outside the fit (reading
data, writing results, imports; from Snakemake ``benchmark:`` files) and the rest (scheduling,
idle cores, the non-fit rules).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import _style as st

COLUMNS = {  # meaning -> accepted column names, first match wins
    "wall": ["wall_s", "workflow_wall_s", "wall_time_s", "wall"],
    "fit": ["fit_s", "time_in_fits_s", "fits_s", "fit_time_s", "sum_fit_s"],
    "jobs": ["bench_s", "jobs_s", "job_s", "sum_bench_s", "fit_job_s"],
    "cores": ["cores", "n_cores"],
    "label": ["run", "executor", "profile", "label", "config"],
}


def pick(df: pd.DataFrame, meaning: str) -> str | None:
    return next((c for c in COLUMNS[meaning] if c in df.columns), None)


def main(overhead, out_png, out_pdf):
    st.setup()
    df = pd.read_csv(overhead, sep="\t")
    wall, fit = pick(df, "wall"), pick(df, "fit")
    if df.empty or wall is None or fit is None:
        st.placeholder(out_png, out_pdf, f"overhead.tsv lacks wall/fit time columns ({list(df.columns)}).")
        return
    jobs, cores, label = pick(df, "jobs"), pick(df, "cores"), pick(df, "label")
    n_cores = df[cores].fillna(1).to_numpy(float) if cores else np.ones(len(df))
    avail = df[wall].to_numpy(float) * n_cores
    t_fit = df[fit].to_numpy(float)
    t_jobs = np.maximum(df[jobs].to_numpy(float) - t_fit, 0) if jobs else np.zeros(len(df))
    rest = np.maximum(avail - t_fit - t_jobs, 0)
    names = df[label].astype(str).to_list() if label else [f"run {i + 1}" for i in range(len(df))]
    fig, ax = plt.subplots(figsize=(st.PAGE_W * 0.75, 0.45 * len(df) + 1.3))
    y = np.arange(len(df))
    parts = [(t_fit, "inside fits", "#1b9e77"), (t_jobs, "in fit jobs, outside the fit (I/O, imports)", "#e6ab02"),
             (rest, "rest of the workflow (scheduling, other rules, idle cores)", "#bdbdbd")]
    left = np.zeros(len(df))
    for vals, lab, col in parts:
        ax.barh(y, vals, left=left, color=col, label=lab, height=0.6)
        left += vals
    for yi, tf, av, w in zip(y, t_fit, avail, df[wall].to_numpy(float)):
        ax.text(av * 1.01, yi, f"{100 * tf / av:.0f}% in fits · wall {w:.0f} s", va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlim(0, avail.max() * 1.35)
    ax.set_xlabel("core-seconds (wall time × cores)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, ncol=1)
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.overhead, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
