"""Figure: negative-binomial dispersion estimates, shared alpha vs the per-sample alphas.

Per data set (x) and model structure (colour): the distribution of the per-sample estimates
(box + points, log scale) and the single shared estimate (diamond), at the rank the NB model's BIC
chooses (simulations: the true rank; named under the data set), best seed. Larger alpha = closer to
Poisson (Var = mu + mu^2 / alpha).
"""

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

import _style as st
from _tables import usable


KEY = ["dataset", "structure", "noise"]


def chosen_fits(scores: pd.DataFrame) -> pd.DataFrame:
    """Per data set x structure x NB model, the fit whose dispersion is shown: at the rank its own BIC chooses
    among converged, non-degenerate full-data fits (simulations: the true rank), the best seed there."""
    s = scores[usable(scores) & (scores["split"] == "all")]
    s = s[s["noise_family"].eq("nb")] if "noise_family" in s else s[s["noise"].str.startswith("nb")]
    sim = s["true_rank"].notna() if "true_rank" in s else pd.Series(False, index=s.index)
    truth = s[sim & (s["rank"] == s.get("true_rank"))]
    real = s[~sim].dropna(subset=["bic"])
    real = real.merge(real.loc[real.groupby(KEY)["bic"].idxmin(), KEY + ["rank"]], on=KEY + ["rank"])
    both = pd.concat([truth, real], ignore_index=True)
    return both.loc[both.groupby(KEY)["loglik"].idxmax(), KEY + ["rank", "seed"]]


def main(dispersion, scores, out_png, out_pdf):
    st.setup()
    df = pd.read_csv(dispersion, sep="\t").dropna(subset=["alpha"])
    df = df[df["alpha"] > 0]
    if "split" in df:
        df = df[df["split"] == "all"]
    df = df.merge(chosen_fits(pd.read_csv(scores, sep="\t")), on=KEY + ["rank", "seed"])
    if df.empty:
        st.placeholder(out_png, out_pdf, "No negative-binomial dispersion was estimated on the full data of a "
                                         "converged fit.")
        return
    ranks = df.groupby("dataset")["rank"].agg(lambda r: "/".join(str(int(v)) for v in sorted(set(r))))
    df = df.assign(dataset=df["dataset"].map(lambda d: f"{d} (K = {ranks[d]})"))
    is_shared = df["sample"].astype(str).isin(["(shared)", "shared", "all"])
    shared, per_sample = df[is_shared], df[~is_shared]
    datasets = sorted(df["dataset"].unique())
    structures = st.ordered(df["structure"].unique(), st.STRUCTURE_ORDER)
    palette = {s: st.STRUCTURE_COLOURS.get(s, "0.5") for s in structures}
    fig, ax = plt.subplots(figsize=(min(st.PAGE_W, 1.1 * len(datasets) * max(1, len(structures)) / 2 + 2.2), 2.8))
    if not per_sample.empty:
        sns.boxplot(data=per_sample, x="dataset", y="alpha", hue="structure", order=datasets, hue_order=structures,
                    palette=palette, log_scale=True, fliersize=0, width=0.7, linewidth=0.8, ax=ax,
                    boxprops={"alpha": 0.45})
        sns.stripplot(data=per_sample, x="dataset", y="alpha", hue="structure", order=datasets,
                      hue_order=structures, palette=palette, dodge=True, size=1.8, alpha=0.7, jitter=0.25,
                      ax=ax, legend=False)
    else:
        ax.set_yscale("log")
    width = 0.7 / max(len(structures), 1)
    for _, r in shared.iterrows():
        if r["dataset"] not in datasets or r["structure"] not in structures:
            continue
        x = datasets.index(r["dataset"]) - 0.35 + width * (structures.index(r["structure"]) + 0.5)
        ax.plot(x, r["alpha"], marker="D", ms=6, mfc=palette[r["structure"]], mec="black", mew=0.8, zorder=6)
    ax.set_xlabel("")
    ax.set_ylabel("NB dispersion α (log scale)")
    ax.grid(axis="y", which="major", lw=0.4, alpha=0.5)
    handles = [plt.Rectangle((0, 0), 1, 1, fc=palette[s], alpha=0.6, label=st.structure_label(s))
               for s in structures]
    handles += [plt.Line2D([], [], marker="D", ls="", mfc="white", mec="black", label="shared α"),
                plt.Line2D([], [], marker="o", ls="", ms=3, color="0.4", label="per-sample α")]
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if df["alpha"].max() > 1e7:  # nb_alpha_mle's upper bound: no overdispersion detected for those samples
        ax.axhline(1e8, color="0.4", lw=0.8, ls=":")
        ax.text(ax.get_xlim()[0], 1e8, " upper bound of α (≈ Poisson)", va="bottom", ha="left", fontsize=7, color="0.3")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.dispersion, snakemake.input.scores, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
