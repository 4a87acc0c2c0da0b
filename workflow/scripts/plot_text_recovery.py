"""Figure: word counts, class recovery and run time of convex vs traditional NMF against the number of classes.

Each text data set is fitted at rank = number of document classes, once per seed; documents are assigned
to their largest weight and compared with the true classes (ARI, accuracy after optimal matching).
Colour = structure, line style = noise model, x = number of classes. A line joins the means over seeds,
a vertical bar spans the seeds' range and small dots are the seeds themselves; fits that did not converge
or sit at a degenerate optimum (_tables.usable) are drawn hollow and left out of the means. Chance: ARI 0,
accuracy = the largest class's share of the documents (every document assigned to one class). Fit times
(time_s, seconds inside nmfcore.fit) come from timings.tsv, joined to scores.tsv on the fit key.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import _style as st
from _tables import join_timings, usable

LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D"]
PANELS = [("ari", "adjusted Rand index", False), ("accuracy", "classification accuracy", False),
          ("time_s", "fit time (s, log scale)", True)]


def text_table(scores: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    """One row per text fit of the `all` split, with time_s and `usable`."""
    df = join_timings(scores[(scores["data_kind"] == "text")], timings)
    if "split" in df:
        df = df[df["split"] == "all"]
    df = df.dropna(subset=["ari"]).assign(usable=lambda d: usable(d))
    if "n_classes" not in df or df["n_classes"].isna().all():
        df = df.assign(n_classes=df["rank"])
    return df.sort_values(["structure", "noise", "n_classes", "seed"])


def chance_accuracy(label_files, datasets) -> dict:
    """{data set: share of its documents in the largest class} (the accuracy of assigning all to one class)."""
    out = {}
    for path in label_files:
        name = path.replace("\\", "/").split("/")[-2]
        labels = pd.read_csv(path, sep="\t", index_col=0)["label"].dropna()
        if name in datasets and len(labels):
            out[name] = float(labels.value_counts().iloc[0] / len(labels))
    return out


def draw_series(ax, d, col, style, colour, offset):
    """Means over usable seeds joined by a line, the seeds' range as a bar, every seed as a dot."""
    x = d["n_classes"].astype(float) + offset
    good = d[d["usable"]]
    mean = good.groupby("n_classes")[col].mean()
    ax.plot(mean.index.astype(float) + offset, mean.values, style[0], marker=style[1], ms=3.5, lw=1.2, color=colour)
    span = d.groupby("n_classes")[col].agg(["min", "max"])
    ax.vlines(span.index.astype(float) + offset, span["min"], span["max"], color=colour, lw=0.8)
    ax.scatter(x[d["usable"]], d.loc[d["usable"], col], s=5, color=colour, alpha=0.6, lw=0, zorder=3)
    bad = ~d["usable"]
    if bad.any():
        ax.scatter(x[bad], d.loc[bad, col], s=16, facecolors="none", edgecolors=colour, lw=0.8, zorder=4)


def main(scores, timings, label_files, out_png, out_pdf):
    st.setup()
    df = text_table(pd.read_csv(scores, sep="\t"), pd.read_csv(timings, sep="\t"))
    if df.empty:
        st.placeholder(out_png, out_pdf, "No word-count data sets in this configuration.")
        return
    structures = st.ordered(df["structure"].unique(), st.STRUCTURE_ORDER)
    noises = st.ordered(df["noise"].unique(), st.NOISE_ORDER)
    series = [(s, n) for s in structures for n in noises if ((df["structure"] == s) & (df["noise"] == n)).any()]
    offsets = np.linspace(-0.12, 0.12, len(series)) if len(series) > 1 else [0.0]
    per_class = df.drop_duplicates("dataset").set_index("dataset")["n_classes"]
    chance = chance_accuracy(label_files, set(per_class.index))
    fig, axes = plt.subplots(1, 3, figsize=(st.PAGE_W, 2.6))
    for ax, (col, label, logy) in zip(axes, PANELS):
        for (s, n), off in zip(series, offsets):
            i = noises.index(n)
            d = df[(df["structure"] == s) & (df["noise"] == n)]
            draw_series(ax, d, col, (LINESTYLES[i % 4], MARKERS[i % 4]), st.STRUCTURE_COLOURS.get(s, "0.4"), off)
        ax.set_xlabel("number of classes (= rank)")
        ax.set_ylabel(label)
        ax.grid(lw=0.4, alpha=0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if logy:
            st.log_axis(ax)
        else:
            ax.set_ylim(-0.05 if col == "ari" else 0, 1)
    axes[0].axhline(0, color="0.35", ls=(0, (2, 2)), lw=0.9)
    if chance:
        pts = sorted((per_class[d], a) for d, a in chance.items())
        axes[1].plot([k for k, _ in pts], [a for _, a in pts], ls=(0, (2, 2)), color="0.35", marker="_", ms=8, lw=0.9)
    seeds = sorted(df["seed"].unique())
    axes[0].set_title(", ".join(f"{d} ({int(k)})" for d, k in per_class.sort_values().items())
                      + f"; seeds {', '.join(map(str, seeds))}", fontsize=6.5, loc="left")
    handles = [plt.Line2D([], [], color=st.STRUCTURE_COLOURS.get(s, "0.4"), lw=2, label=st.structure_label(s))
               for s in structures]
    handles += [plt.Line2D([], [], color="0.3", ls=LINESTYLES[i % 4], marker=MARKERS[i % 4], ms=3.5,
                           label=st.noise_label(n)) for i, n in enumerate(noises)]
    handles.append(plt.Line2D([], [], color="0.35", ls=(0, (2, 2)), label="chance (ARI 0; largest class)"))
    if (~df["usable"]).any():
        handles.append(plt.Line2D([], [], color="0.3", marker="o", mfc="none", ls="", label="not converged / degenerate"))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(handles), 4),
               frameon=False)
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.input.timings, list(snakemake.input.labels),  # noqa: F821
         snakemake.output.png, snakemake.output.pdf)  # noqa: F821
