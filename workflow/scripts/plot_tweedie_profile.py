"""Figure: Tweedie profile log-likelihood over the power p, with the maximiser p-hat marked.

One panel per data set; one curve per (structure, rank), drawn relative to its own maximum so
that curves at different ranks share a scale (the profile's shape, not its level, locates p-hat).
Full-data fits (``split == "all"``) are used when present; with several seeds the best
log-likelihood per grid point is kept. On simulated data drawn from a Tweedie family member the true power
is drawn as a dashed black line (or, outside the grid, named in the title: Poisson is p = 1).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import _style as st
from _tables import usable


def profile_table(profile: pd.DataFrame, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Best profile log-likelihood per (data set, structure, rank, power), relative to its maximum over p;
    `usable`: every fit behind the point converged and is not degenerate (from scores.tsv)."""
    df = profile.dropna(subset=["loglik", "power"])
    if scores is not None and len(df):
        key = [k for k in ("dataset", "split", "structure", "noise", "rank", "seed") if k in df and k in scores]
        ok = scores[key].assign(usable=usable(scores).to_numpy())
        df = df.merge(ok, on=key, how="left")
        df["usable"] = df["usable"].fillna(True).astype(bool)  # a profile without its score row: no evidence
    else:
        df = df.assign(usable=True)
    if "split" in df and (df["split"] == "all").any():
        df = df[df["split"] == "all"]
    keys = ["dataset", "structure", "rank", "power"]
    all_ok = df.groupby(keys)["usable"].transform("all")
    df = df.loc[df.groupby(keys)["loglik"].idxmax()].copy()
    df["usable"] = all_ok.loc[df.index].to_numpy()
    df["rel_loglik"] = df["loglik"] - df.groupby(["dataset", "structure", "rank"])["loglik"].transform("max")
    return df.sort_values(keys)


def mark_truth(ax, power, grid):
    """The true power of a simulation: a dashed line inside the grid, a note with an arrow outside it."""
    if power is None:
        return ""
    lo, hi = min(grid), max(grid)
    if lo <= power <= hi:
        ax.axvline(power, color="k", ls="--", lw=1.0, zorder=6)
        return f"\ntrue p = {power:g}"
    ax.annotate("", xy=(lo if power < lo else hi, 0.5), xycoords=("data", "axes fraction"),
                xytext=(lo + 0.1 * (hi - lo) if power < lo else hi - 0.1 * (hi - lo), 0.5),
                arrowprops={"arrowstyle": "->", "color": "k", "ls": "--"})
    return f"\ntrue p = {power:g} ({'below' if power < lo else 'above'} the grid)"


def main(profile, out_png, out_pdf, true_power=None, scores=None):
    true_power = true_power or {}
    st.setup()
    df = profile_table(pd.read_csv(profile, sep="\t"), None if scores is None else pd.read_csv(scores, sep="\t"))
    if df.empty:
        st.placeholder(out_png, out_pdf, "No Tweedie profile likelihood was computed.")
        return
    datasets = sorted(df["dataset"].unique())
    ncol = min(3, len(datasets))
    nrow = int(np.ceil(len(datasets) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(min(st.PAGE_W, 2.5 * ncol + 0.4), 2.0 * nrow + 0.6),
                             squeeze=False, sharex=True)
    ranks = sorted(df["rank"].unique())
    styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3))]
    floor = max(df["rel_loglik"].quantile(0.05), -5e4)
    for ax, ds in zip(axes.flat, datasets):
        sub = df[df["dataset"] == ds]
        for structure in st.ordered(sub["structure"].unique(), st.STRUCTURE_ORDER):
            c = st.STRUCTURE_COLOURS.get(structure, "0.3")
            for r in sorted(sub["rank"].unique()):
                d = sub[(sub["structure"] == structure) & (sub["rank"] == r)]
                if d.empty:
                    continue
                ax.plot(d["power"], d["rel_loglik"].clip(lower=floor), ls=styles[ranks.index(r) % len(styles)],
                        color=c, lw=1.2, marker="o", ms=2.5 if d["usable"].all() else 4.5,
                        mfc=c if d["usable"].all() else "white")
                best = d.loc[d["loglik"].idxmax()]
                ax.plot(best["power"], 0, marker="v", ms=6, color=c, zorder=5)
                ax.axvline(best["power"], color=c, lw=0.5, alpha=0.5)
        phat = sub.loc[sub.groupby(["structure", "rank"])["loglik"].idxmax()]
        parts = []
        for structure in st.ordered(phat["structure"].unique(), st.STRUCTURE_ORDER):
            d = phat[phat["structure"] == structure]
            lo, hi = d["power"].min(), d["power"].max()
            parts.append(f"{st.structure_label(structure)} {lo:g}" + (f"–{hi:g}" if hi > lo else ""))
        truth = mark_truth(ax, true_power.get(ds), sorted(df["power"].unique()))
        ax.set_title(f"{ds}\np̂: " + ", ".join(parts) + truth, fontweight="bold", fontsize=8)
        ax.set_xlabel("Tweedie power p")
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.grid(lw=0.4, alpha=0.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("log-lik − max over p")
    for ax in list(axes.flat)[len(datasets):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=st.STRUCTURE_COLOURS.get(s, "0.3"), lw=1.5, label=st.structure_label(s))
               for s in st.ordered(df["structure"].unique(), st.STRUCTURE_ORDER)]
    handles += [plt.Line2D([], [], color="0.3", ls=styles[i % len(styles)], label=f"K = {r}") for i, r in enumerate(ranks)]
    handles.append(plt.Line2D([], [], color="0.3", marker="v", ls="", label="p̂ (maximum)"))
    if not df["usable"].all():
        handles.append(plt.Line2D([], [], color="0.3", marker="o", mfc="white", ls="",
                                  label="not converged / degenerate"))
    if any(ds in true_power for ds in datasets):
        handles.append(plt.Line2D([], [], color="k", ls="--", lw=1.0, label="true p (simulation)"))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(handles), 6),
               frameon=False)
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.profile, snakemake.output.png, snakemake.output.pdf,  # noqa: F821
         dict(snakemake.params.true_power), snakemake.input.scores)  # noqa: F821
