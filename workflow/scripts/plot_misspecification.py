"""Figure: recovery under noise misspecification on simulated data.

Left: generating noise (rows) x fitted noise (columns); cell = mean Hungarian-matched cosine
between the estimated and the true signatures, at the true rank. Right: rank chosen by minimum
BIC minus the true rank (cell text: mean chosen rank), per generating x fitted noise.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import _style as st

TRUE_RANK_COLUMNS = ("true_rank", "rank_true", "sim_rank")


def true_rank_column(df: pd.DataFrame) -> str | None:
    return next((c for c in TRUE_RANK_COLUMNS if c in df and df[c].notna().any()), None)


def simulated(scores: pd.DataFrame) -> pd.DataFrame:
    df = scores[scores["data_kind"] == "simulated"]
    if "split" in df:
        df = df[df["split"] == "all"]
    return df.dropna(subset=["sim_noise"])


def recovery_matrix(df: pd.DataFrame) -> pd.DataFrame:
    tr = true_rank_column(df)
    d = df[df["rank"] == df[tr]] if tr else df
    if d.empty:
        d = df
    m = d.groupby(["sim_noise", "noise"])["cos_truth"].mean().unstack("noise")
    return m.loc[st.ordered(m.index, st.NOISE_ORDER), st.ordered(m.columns, st.NOISE_ORDER)]


def chosen_rank_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per simulated data set x structure x fitted noise x seed: rank with minimum BIC (and the true rank)."""
    tr = true_rank_column(df)
    keys = ["dataset", "sim_noise", "structure", "noise"] + (["seed"] if "seed" in df else [])
    d = df.dropna(subset=["bic"])
    best = d.loc[d.groupby(keys)["bic"].idxmin()]
    out = best[keys + ["rank"]].rename(columns={"rank": "chosen_rank"})
    out["true_rank"] = best[tr].to_numpy() if tr else np.nan
    return out


def main(scores, out_png, out_pdf):
    st.setup()
    df = simulated(pd.read_csv(scores, sep="\t"))
    if df.empty or df["cos_truth"].isna().all():
        st.placeholder(out_png, out_pdf, "No simulated data sets in this configuration.")
        return
    rec = recovery_matrix(df)
    ranks = chosen_rank_table(df)
    n_ranks = df.groupby("dataset")["rank"].nunique().max()
    two = n_ranks >= 2 and ranks["true_rank"].notna().any()
    ncols = 2 if two else 1
    w = 0.62 * len(rec.columns) + 1.5
    fig, axes = plt.subplots(1, ncols, figsize=(min(st.PAGE_W, w * ncols + 0.4), 0.42 * len(rec) + 1.7),
                             squeeze=False)
    ax = axes[0, 0]
    lo = float(np.nanmin(rec.to_numpy())) if np.isfinite(rec.to_numpy()).any() else 0.0
    sns.heatmap(rec, ax=ax, annot=True, fmt=".3f", cmap="viridis", vmin=min(lo, 0.9), vmax=1.0,
                annot_kws={"fontsize": 6.5}, cbar_kws={"label": "mean matched cosine to truth", "shrink": 0.8},
                linewidths=0.5, linecolor="white")
    for i, sim in enumerate(rec.index):  # outline the correctly specified cell
        if sim in rec.columns:
            ax.add_patch(plt.Rectangle((list(rec.columns).index(sim), i), 1, 1, fill=False, ec="red", lw=1.5))
    ax.set_title("Signature recovery at the true rank", fontweight="bold")
    ax.set_xticklabels([st.noise_label(c) for c in rec.columns], rotation=35, ha="right")
    ax.set_yticklabels([st.noise_label(c) for c in rec.index], rotation=0)
    ax.set_xlabel("fitted noise model")
    ax.set_ylabel("generating noise")
    if two:
        ax2 = axes[0, 1]
        ranks["delta"] = ranks["chosen_rank"] - ranks["true_rank"]
        delta = ranks.groupby(["sim_noise", "noise"])["delta"].mean().unstack("noise").reindex(
            index=rec.index, columns=rec.columns)
        chosen = ranks.groupby(["sim_noise", "noise"])["chosen_rank"].mean().unstack("noise").reindex(
            index=rec.index, columns=rec.columns)
        lim = max(1.0, float(np.nanmax(np.abs(delta.to_numpy()))))
        annot = chosen.map(lambda v: "" if pd.isna(v) else f"{v:.2g}")
        sns.heatmap(delta, ax=ax2, annot=annot, fmt="", cmap="RdBu_r", center=0, vmin=-lim, vmax=lim,
                    annot_kws={"fontsize": 6.5}, linewidths=0.5, linecolor="white",
                    cbar_kws={"label": "chosen − true rank", "shrink": 0.8})
        true = ranks["true_rank"].dropna().unique()
        ax2.set_title("Rank chosen by BIC" + (f" (true K = {int(true[0])})" if len(true) == 1 else ""),
                      fontweight="bold")
        ax2.set_xticklabels([st.noise_label(c) for c in delta.columns], rotation=35, ha="right")
        ax2.set_yticklabels([])  # same rows as the left panel
        ax2.set_xlabel("fitted noise model")
        ax2.set_ylabel("")
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
