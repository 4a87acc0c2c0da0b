"""Figure: word counts, class recovery and run time of convex vs traditional NMF against the number of classes.

Each text data set is fitted at rank = number of document classes; documents are assigned to
their largest weight and compared with the true classes (ARI, accuracy after optimal matching).
Colour = structure, line style = noise model, x = number of classes. Fit times (time_s, seconds inside
nmfcore.fit) come from timings.tsv, joined to scores.tsv on the fit key.
"""

import matplotlib.pyplot as plt
import pandas as pd

import _style as st
from _tables import join_timings

LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D"]


def text_table(scores: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    df = join_timings(scores[(scores["data_kind"] == "text")], timings)
    if "split" in df:
        df = df[df["split"] == "all"]
    df = df.dropna(subset=["ari"])
    if "n_classes" not in df or df["n_classes"].isna().all():
        df = df.assign(n_classes=df["rank"])
    agg = (df.groupby(["dataset", "n_classes", "structure", "noise"])
             .agg(ari=("ari", "mean"), accuracy=("accuracy", "mean"), time_s=("time_s", "mean"),
                  n=("ari", "size")).reset_index())
    return agg.sort_values(["structure", "noise", "n_classes"])


def main(scores, timings, out_png, out_pdf):
    st.setup()
    df = text_table(pd.read_csv(scores, sep="\t"), pd.read_csv(timings, sep="\t"))
    if df.empty:
        st.placeholder(out_png, out_pdf, "No word-count data sets in this configuration.")
        return
    structures = st.ordered(df["structure"].unique(), st.STRUCTURE_ORDER)
    noises = st.ordered(df["noise"].unique(), st.NOISE_ORDER)
    fig, axes = plt.subplots(1, 3, figsize=(st.PAGE_W, 2.5))
    panels = [("ari", "adjusted Rand index", False), ("accuracy", "classification accuracy", False),
              ("time_s", "fit time (s, log scale)", True)]
    for ax, (col, label, logy) in zip(axes, panels):
        for s in structures:
            for i, n in enumerate(noises):
                d = df[(df["structure"] == s) & (df["noise"] == n)]
                if d.empty:
                    continue
                ax.plot(d["n_classes"], d[col], LINESTYLES[i % 4], marker=MARKERS[i % 4], ms=3.5, lw=1.2,
                        color=st.STRUCTURE_COLOURS.get(s, "0.4"))
        ax.set_xlabel("number of classes (= rank)")
        ax.set_ylabel(label)
        ax.grid(lw=0.4, alpha=0.5)
        if logy:
            st.log_axis(ax)
        else:
            ax.set_ylim(0, 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
    labels = df.drop_duplicates("n_classes").sort_values("n_classes")
    axes[0].set_title(", ".join(f"{d} ({int(k)})" for d, k in zip(labels["dataset"], labels["n_classes"])),
                      fontsize=6.5, loc="left")
    handles = [plt.Line2D([], [], color=st.STRUCTURE_COLOURS.get(s, "0.4"), lw=2, label=st.structure_label(s))
               for s in structures]
    handles += [plt.Line2D([], [], color="0.3", ls=LINESTYLES[i % 4], marker=MARKERS[i % 4], ms=3.5,
                           label=st.noise_label(n)) for i, n in enumerate(noises)]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles), frameon=False)
    fig.tight_layout()
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.input.timings, snakemake.output.png, snakemake.output.pdf)  # noqa: F821
