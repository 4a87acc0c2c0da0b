"""Figure: paper-2 replication, NMF vs AE-NMF vs convex NMF on 80/20 patient splits.

Columns = data sets (cancer types). Rows: training MSE, test MSE (log y; boxes over splits where there
are at least MIN_BOX of them, else the points alone; grey
lines join the fits of the same split, white diamond = our mean) and signature consistency
(average cosine similarity over pairs of splits). The black cross is the mean published in
paper 2 (workflow/resources/published.yaml: figure readings / recomputations, not our results).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import _paper2 as p2
import _style as st

#: boxes are drawn over at least this many splits; fewer are shown as points only
MIN_BOX = 10
ROWS = [("train_mse", "training MSE"), ("test_mse", "test MSE (NNLS refit)"), ("acs", "consistency (ACS)")]


def _box(ax, data: pd.DataFrame, col: str, structures: list, paired: bool, log: bool):
    pos = {s: i for i, s in enumerate(structures)}
    groups = [data.loc[data["structure"] == s, col].dropna().to_numpy() for s in structures]
    if min((len(g) for g in groups), default=0) >= MIN_BOX:  # a box over a handful of points would be noise
        bp = ax.boxplot(groups, positions=range(len(structures)), widths=0.55, patch_artist=True, showfliers=False,
                        medianprops={"color": "black", "lw": 1}, whiskerprops={"lw": 0.8}, capprops={"lw": 0.8})
        for patch, s in zip(bp["boxes"], structures):
            patch.set_facecolor(st.STRUCTURE_COLOURS.get(s, "0.6"))
            patch.set_alpha(0.55)
            patch.set_linewidth(0.8)
    else:  # few splits: every value as a coloured point (the grey lines still pair them)
        for i, (s, g) in enumerate(zip(structures, groups)):
            ax.scatter(np.full(len(g), i), g, s=18, color=st.STRUCTURE_COLOURS.get(s, "0.6"), zorder=5, lw=0)
    if paired:
        wide = data.pivot_table(index="split", columns="structure", values=col, aggfunc="first")
        wide = wide.reindex(columns=structures)
        for _, r in wide.iterrows():
            ax.plot(range(len(structures)), r.to_numpy(), color="0.35", lw=0.5, alpha=0.6, zorder=3)
        ax.scatter(np.repeat(np.arange(len(structures))[None], len(wide), 0).ravel(), wide.to_numpy().ravel(),
                   s=4, color="0.25", zorder=4)
    else:
        rng = np.random.default_rng(0)
        for i, g in enumerate(groups):
            ax.scatter(i + rng.uniform(-0.18, 0.18, len(g)), g, s=2, color="0.3", alpha=0.5, zorder=4, lw=0)
    for s, g in zip(structures, groups):
        if len(g):
            ax.plot(pos[s], g.mean(), marker="D", ms=5, mfc="white", mec="black", zorder=6)
    if log:
        st.log_axis(ax)


def main(scores, consistency, published, out_png, out_pdf):
    st.setup()
    pub, cancers = p2.load_published(published)
    cv = p2.cv_rows(pd.read_csv(scores, sep="\t"), cancers)
    cons = pd.read_csv(consistency, sep="\t") if consistency else pd.DataFrame()
    if cv.empty:
        st.placeholder(out_png, out_pdf, "No cross-validation splits (paper-2 protocol) in this configuration.")
        return
    if not cons.empty:  # pairs of cross-validation runs of the paper's noise model only
        cv_pair = r"^cv\d+(/|$)"
        cons = cons[cons["run_a"].astype(str).str.match(cv_pair) & cons["run_b"].astype(str).str.match(cv_pair)]
        cons = cons[cons["noise"] == p2.pick_noise(cons["noise"])] if len(cons) else cons
    datasets = sorted(cv["dataset"].unique())
    structures = st.ordered(cv["structure"].unique(), st.STRUCTURE_ORDER)
    fig, axes = plt.subplots(3, len(datasets), figsize=(min(st.PAGE_W, 2.35 * len(datasets) + 0.5), 6.4),
                             squeeze=False)
    for j, ds in enumerate(datasets):
        d = cv[cv["dataset"] == ds]
        cancer = d["cancer"].iloc[0]
        for i, (col, label) in enumerate(ROWS):
            ax = axes[i, j]
            if col == "acs":
                c = cons[cons["dataset"] == ds] if not cons.empty else cons
                if not c.empty and (c["rank"] == d["rank"].iloc[0]).any():
                    c = c[c["rank"] == d["rank"].iloc[0]]
                if c.empty:
                    ax.text(0.5, 0.5, "no consistency table", ha="center", transform=ax.transAxes, color="0.5")
                else:
                    _box(ax, c, "acs", structures, paired=False, log=False)
            elif col in d and d[col].notna().any():
                _box(ax, d, col, structures, paired=True, log=True)
            else:
                ax.text(0.5, 0.5, f"no {col}", ha="center", transform=ax.transAxes, color="0.5")
            if cancer:
                ref = pub[(pub["cancer"] == cancer) & (pub["metric"] == col)]
                for _, r in ref.iterrows():
                    if r["structure"] in structures:
                        ax.plot(structures.index(r["structure"]) + 0.36, r["value"], marker="X", ms=6,
                                color="black", zorder=7)
            ax.set_xticks(range(len(structures)))
            ax.set_xticklabels([st.structure_label(s) for s in structures] if i == 2 else [])
            ax.grid(axis="y", lw=0.4, alpha=0.5, which="major")
            if j == 0:
                ax.set_ylabel(label)
            if i == 0:
                n = d["split"].nunique()
                ax.set_title(f"{ds}\n{cancer or 'not a paper-2 cohort'}, K = {int(d['rank'].iloc[0])}, {n} splits",
                             fontweight="bold")
    handles = [plt.Line2D([], [], marker="D", ls="", mfc="white", mec="black", label="our mean"),
               plt.Line2D([], [], marker="X", ls="", color="black", label="published mean (paper 2)"),
               plt.Line2D([], [], color="0.35", lw=0.8, label="same split")]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    fig.tight_layout(h_pad=0.8)
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.input.consistency, snakemake.input.published,  # noqa: F821
         snakemake.output.png, snakemake.output.pdf)  # noqa: F821
