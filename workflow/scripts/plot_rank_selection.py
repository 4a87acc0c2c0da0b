"""Figure: BIC and log-likelihood against rank, one line per noise model, chosen rank marked.

Facets: one row pair (BIC, log-likelihood) per data set, one column per model structure.
Only full-data fits (``split == "all"``) of real data sets (not the simulations) surveyed at two
or more ranks are drawn; for several seeds of the same fit the best (lowest BIC) is kept. Fits that
did not converge or are degenerate are drawn hollow and never marked as the chosen rank; each data set
has its own rank axis.
"""

import matplotlib.pyplot as plt
import pandas as pd

import _style as st


def best_per_rank(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, structure, noise, rank): the seed with the lowest BIC."""
    df = scores[(scores["split"] == "all") & (scores["data_kind"] != "simulated")].dropna(subset=["bic"])
    n_ranks = df.groupby("dataset")["rank"].transform("nunique")
    df = df[n_ranks >= 2]
    idx = df.groupby(["dataset", "structure", "noise", "rank"])["bic"].idxmin()
    return df.loc[idx].sort_values(["dataset", "structure", "noise", "rank"])


def main(scores, out_png, out_pdf):
    st.setup()
    df = best_per_rank(pd.read_csv(scores, sep="\t"))
    if df.empty:
        st.placeholder(out_png, out_pdf, "No data set was fitted at two or more ranks.")
        return
    datasets = sorted(df["dataset"].unique())
    structures = st.ordered(df["structure"].unique(), st.STRUCTURE_ORDER)
    noises = st.ordered(df["noise"].unique(), st.NOISE_ORDER)
    nrow, ncol = 2 * len(datasets), len(structures)
    fig, axes = plt.subplots(nrow, ncol, figsize=(min(st.PAGE_W, 2.4 * ncol + 0.6), 1.45 * nrow + 0.5),
                             squeeze=False)
    for i, ds in enumerate(datasets):
        for j, structure in enumerate(structures):
            ax_bic, ax_ll = axes[2 * i, j], axes[2 * i + 1, j]
            sub = df[(df["dataset"] == ds) & (df["structure"] == structure)]
            for noise in noises:
                d = sub[sub["noise"] == noise]
                if d.empty:
                    continue
                c = st.noise_colour(noise)
                ok = d["converged"].astype(str).str.lower().eq("true")
                if "degenerate" in d:
                    ok &= ~d["degenerate"].astype(str).str.lower().eq("true")
                for ax, col in ((ax_bic, "bic"), (ax_ll, "loglik")):
                    ax.plot(d["rank"], d[col], "-", color=c, lw=1.2, label=st.noise_label(noise) if col == "bic" else None)
                    ax.plot(d.loc[ok, "rank"], d.loc[ok, col], "o", color=c, ms=3)
                    ax.plot(d.loc[~ok, "rank"], d.loc[~ok, col], "o", mfc="white", mec=c, ms=4, mew=1.0)
                if ok.any():
                    best = d[ok].loc[d.loc[ok, "bic"].idxmin()]
                    for ax, col in ((ax_bic, "bic"), (ax_ll, "loglik")):
                        ax.plot(best["rank"], best[col], marker="*", ms=10, mfc="white", mec=c, mew=1.3, zorder=5)
            for ax in (ax_bic, ax_ll):
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)
                ax.yaxis.get_offset_text().set_fontsize(6.5)
                ax.grid(axis="y", lw=0.4, alpha=0.5)
            if i == 0:
                ax_bic.set_title(st.structure_label(structure), fontweight="bold")
            if j == 0:
                ax_bic.set_ylabel(f"{ds}\nBIC")
                ax_ll.set_ylabel("log-likelihood")
            if sub.empty:
                ax_bic.text(0.5, 0.5, "not fitted", transform=ax_bic.transAxes, ha="center", color="0.5")
    for i, ds in enumerate(datasets):  # each data set's own rank axis (BIC and log-likelihood rows share it)
        ranks = df.loc[df["dataset"] == ds, "rank"]
        for ax in axes[2 * i:2 * i + 2].flat:
            ax.set_xlim(ranks.min() - 0.5, ranks.max() + 0.5)
            ax.xaxis.get_major_locator().set_params(integer=True)
        for ax in axes[2 * i + 1]:
            ax.set_xlabel("rank K")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    handles.append(plt.Line2D([], [], marker="*", ms=9, mfc="white", mec="0.2", ls=""))
    labels.append("rank with minimum BIC (converged fits)")
    handles.append(plt.Line2D([], [], marker="o", ms=4, mfc="white", mec="0.2", ls=""))
    labels.append("did not converge or degenerate")
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(h_pad=0.6, w_pad=0.8)
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
