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


def _heatmap_axes(ax, m, xlabels, ylabels):
    ax.set_xticklabels([st.noise_label(c) for c in m.columns] if xlabels else [], rotation=35, ha="right")
    ax.set_yticklabels([st.scenario_label(c) for c in m.index] if ylabels else [], rotation=0)
    ax.set_xlabel("fitted noise model" if xlabels else "")
    ax.tick_params(length=0)


def main(scores, out_png, out_pdf):
    st.setup()
    df = simulated(pd.read_csv(scores, sep="\t"))
    if df.empty or df["cos_truth"].isna().all():
        st.placeholder(out_png, out_pdf, "No simulated data sets in this configuration.")
        return
    structures = st.ordered(df["structure"].unique(), st.STRUCTURE_ORDER)
    families = (df.drop_duplicates("noise").set_index("noise")["noise_family"].to_dict()
                if "noise_family" in df else {})
    n_ranks = df.groupby("dataset")["rank"].nunique().max()
    two = n_ranks >= 2 and true_rank_column(df) is not None
    recs = {s: recovery_matrix(df[df["structure"] == s]) for s in structures}
    shape = max((len(m), len(m.columns)) for m in recs.values())
    ncols = 2 if two else 1
    w = 0.62 * shape[1] + 1.5
    fig, axes = plt.subplots(len(structures), ncols, squeeze=False,
                             figsize=(min(st.PAGE_W, w * ncols + 0.4), (0.42 * shape[0] + 0.9) * len(structures) + 0.8))
    vals = np.concatenate([m.to_numpy().ravel() for m in recs.values()])
    lo = float(np.nanmin(vals)) if np.isfinite(vals).any() else 0.0
    for i, structure in enumerate(structures):
        rec = recs[structure]
        last = i == len(structures) - 1
        ax = axes[i, 0]
        sns.heatmap(rec, ax=ax, annot=True, fmt=".3f", cmap="viridis", vmin=min(lo, 0.9), vmax=1.0,
                    annot_kws={"fontsize": 6.5}, cbar_kws={"label": "mean cosine to truth", "shrink": 0.8},
                    linewidths=0.5, linecolor="white")
        for r, sim in enumerate(rec.index):  # outline the correctly specified cells (same noise family)
            for c, fitted in enumerate(rec.columns):
                if st.same_family(sim, fitted, families.get(fitted)):
                    ax.add_patch(plt.Rectangle((c, r), 1, 1, fill=False, ec="red", lw=1.5))
        n_rep = int(df[df["structure"] == structure].groupby("sim_noise")["dataset"].nunique().max())
        title = f"Signature recovery at the true rank\n(mean of {n_rep} replicate{'s' if n_rep > 1 else ''})"
        ax.set_title(title + (f"\n{st.structure_label(structure)}" if len(structures) > 1 else ""),
                     fontweight="bold")
        _heatmap_axes(ax, rec, last, True)
        ax.set_ylabel("generating noise")
        if two:
            sub = df[df["structure"] == structure]
            ranks = chosen_rank_table(sub)
            ranks["delta"] = ranks["chosen_rank"] - ranks["true_rank"]
            delta = ranks.groupby(["sim_noise", "noise"])["delta"].mean().unstack("noise").reindex(
                index=rec.index, columns=rec.columns)
            chosen = ranks.groupby(["sim_noise", "noise"])["chosen_rank"].mean().unstack("noise").reindex(
                index=rec.index, columns=rec.columns)
            lim = max(1.0, float(np.nanmax(np.abs(delta.to_numpy()))) if np.isfinite(delta.to_numpy()).any()
                      else 1.0)
            annot = chosen.map(lambda v: "" if pd.isna(v) else f"{v:.2g}")
            ax2 = axes[i, 1]
            sns.heatmap(delta, ax=ax2, annot=annot, fmt="", cmap="RdBu_r", center=0, vmin=-lim, vmax=lim,
                        annot_kws={"fontsize": 6.5}, linewidths=0.5, linecolor="white",
                        cbar_kws={"label": "chosen − true rank", "shrink": 0.8})
            true = ranks["true_rank"].dropna().unique()
            ax2.set_title("Rank chosen by BIC" + (f" (true K = {int(true[0])})" if len(true) == 1 else "")
                          + f"\n(mean of {n_rep} replicate{'s' if n_rep > 1 else ''})"
                          + (f"\n{st.structure_label(structure)}" if len(structures) > 1 else ""),
                          fontweight="bold")
            _heatmap_axes(ax2, delta, last, True)  # row labels on both panels: each is read on its own
            ax2.set_ylabel("generating noise")
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
