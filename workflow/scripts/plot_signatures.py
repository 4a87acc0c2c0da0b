"""Figure: extracted signatures (96-channel SBS bar plots) next to their Hungarian-matched COSMIC signature.

One row per extracted signature: left the signature (normalised to sum 1), right the COSMIC
signature it is matched to one-to-one (Hungarian algorithm on cosine similarity), cosine in the
title. Channels are grouped by substitution (C>A, C>G, C>T, T>A, T>C, T>G) then by 5'/3' context,
coloured in the usual six-colour scheme.

The fit is either given (``selection`` = dict with structure, noise, rank and optionally seed) or
the converged full-data fit of the data set with the lowest BIC across noise families: the discretised
BIC (nmfcore.discrete, one scale for every family) on count data, else the BIC.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from nmfcore.datasets import read_reference
from nmfcore.metrics import match_components

import _style as st
from _tables import comparable

CHANNELS = [f"{five}[{sub}]{three}" for sub in st.SUBSTITUTIONS for five in "ACGT" for three in "ACGT"]


def choose_fit(scores: pd.DataFrame, dataset: str, selection: dict | None) -> pd.Series:
    df = scores[(scores["dataset"] == dataset) & (scores["split"] == "all")]
    if selection:
        for key in ("structure", "noise", "rank", "seed"):
            if selection.get(key) is not None:
                df = df[df[key].astype(str) == str(selection[key])]
        if df.empty:
            raise ValueError(f"no full-data fit of {dataset!r} matches {selection}; "
                             "check the signature selection in the config against the fitted grid")
        return df.sort_values("loglik", ascending=False).iloc[0]
    # across noise families on one scale: the discretised BIC on count data (nmfcore.discrete), else the BIC
    df = comparable(df)
    if "converged" in df:
        df = df[df["converged"].astype(str).str.lower().isin(["true", "1"])]
    df = df.dropna(subset=["_bic"])
    if df.empty:
        raise ValueError(f"no converged full-data fit with a BIC for data set {dataset!r}")
    return df.loc[df["_bic"].idxmin()]


def fit_dir(fits_root, row: pd.Series) -> Path:
    return (Path(fits_root) / str(row["dataset"]) / str(row["split"]) / str(row["structure"]) / str(row["noise"])
            / f"k{int(row['rank'])}" / f"s{int(row['seed'])}")


def _bars(ax, values: np.ndarray, ymax: float, labels: bool):
    colours = [st.SBS_COLOURS[c[2:5]] for c in CHANNELS]
    ax.bar(np.arange(96), values, width=0.75, color=colours, lw=0)
    ax.set_xlim(-0.7, 95.7)
    ax.set_ylim(0, ymax * 1.18)
    for i, sub in enumerate(st.SUBSTITUTIONS):  # coloured band with the substitution on top
        ax.axhspan(ymax * 1.1, ymax * 1.18, xmin=(16 * i + 0.7) / 97.4, xmax=(16 * i + 16.3) / 97.4,
                   color=st.SBS_COLOURS[sub], lw=0)
        if labels:
            ax.text(16 * i + 7.5, ymax * 1.2, sub, ha="center", va="bottom", fontsize=6.5)
    ax.set_xticks([])
    ax.tick_params(axis="x", length=0)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.tick_params(axis="y", labelsize=6)


def main(scores, reference, fits_root, out_png, out_pdf, dataset, selection=None):
    st.setup()
    row = choose_fit(pd.read_csv(scores, sep="\t"), dataset, selection)
    H = pd.read_csv(fit_dir(fits_root, row) / "H.tsv", sep="\t", index_col=0)
    cosmic = read_reference(reference)
    if set(CHANNELS) - set(H.columns):
        raise ValueError(f"{dataset}: H.tsv columns are not the 96 SBS channels (e.g. {list(H.columns[:3])})")
    H = H[CHANNELS].to_numpy(float)
    H = H / np.where(H.sum(1, keepdims=True) > 0, H.sum(1, keepdims=True), 1)
    ref = cosmic[CHANNELS]
    mean_cos, ia, ib, cos = match_components(H, ref.to_numpy(float))
    order = np.argsort(-cos)
    k = len(order)
    # one full-width panel per profile (extracted above its COSMIC match), so that the 96 context labels are legible
    fig, axes = plt.subplots(2 * k, 1, figsize=(st.PAGE_W, 0.78 * 2 * k + 0.9), squeeze=False, sharex=True)
    axes = axes[:, 0]
    for r, idx in enumerate(order):
        ours, theirs = H[ia[idx]], ref.to_numpy(float)[ib[idx]]
        top, bottom = axes[2 * r], axes[2 * r + 1]
        _bars(top, ours, max(ours.max(), 1e-3), labels=True)  # own scale: compare shapes
        _bars(bottom, theirs, max(theirs.max(), 1e-3), labels=False)
        top.set_ylabel(f"sig. {ia[idx] + 1}", fontsize=7)
        bottom.set_ylabel(ref.index[ib[idx]], fontsize=7)
        top.set_title(f"extracted signature {ia[idx] + 1} (above) and its match COSMIC {ref.index[ib[idx]]} "
                      f"(below): cosine = {cos[idx]:.3f}", fontsize=7.5, loc="left", pad=11)
    ax = axes[-1]
    ax.set_xticks(np.arange(96))
    ax.set_xticklabels([c[0] + c[2] + c[6] for c in CHANNELS], rotation=90, fontsize=5.2, family="monospace")
    ax.tick_params(axis="x", length=0, pad=1)
    ax.set_xlabel("trinucleotide context (5' base, mutated base, 3' base), grouped by substitution", fontsize=7)
    how = ("chosen in the config" if selection else
           "lowest discretised BIC over noise families" if pd.notna(row.get("bic_discrete")) else "lowest BIC")
    how += ", seed " + str(int(row["seed"])) if "seed" in row and pd.notna(row["seed"]) else ""
    fig.suptitle(f"{dataset}: {st.structure_label(row['structure'])}, {st.noise_label(row['noise'])}, "
                 f"K = {int(row['rank'])} ({how}); mean matched cosine to COSMIC = {mean_cos:.3f}",
                 fontsize=8.5, fontweight="bold")
    fig.tight_layout(h_pad=0.4, w_pad=1.0)
    st.save(fig, out_png, out_pdf)


if "snakemake" in globals():
    st.log_to(snakemake.log[0])  # noqa: F821
    main(snakemake.input.scores, snakemake.input.reference, snakemake.params.fits_root,  # noqa: F821
         snakemake.output.png, snakemake.output.pdf, snakemake.wildcards.dataset,  # noqa: F821
         snakemake.params.selection)  # noqa: F821
