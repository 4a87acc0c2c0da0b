"""Which patients paper 2's own 30 splits held out, from the authors' released NMF signatures.

Not part of the workflow (it needs the authors' repository, which the project does not ship); it wrote
``workflow/resources/paper2_released_heldout.tsv``, which the paper-2 report and tests read. Run it as

    python workflow/scripts/released_heldout.py AE-NMF/generated_data > workflow/resources/paper2_released_heldout.tsv

with ``AE-NMF`` a checkout of github.com/CLINDA-AAU/AE-NMF (commit f660659c; files
``{Ovary,Prostate,Uterus}/nmf_{0..29}_sigs.csv``: 96 x K signatures in the GEL channel order, columns summing
to one). The authors' splits were not seeded and their training patients were not saved, but a patient who
trained a run is fitted by that run's signatures, and one who was held out generally is not: for the most
mutated patients of a cohort (who dominate its held-out errors) the NNLS fit of the patient's catalogue with
the run's signatures leaves a residual share ``||x - S e||^2 / ||x||^2`` orders of magnitude larger when the
patient was held out. A patient's 30 shares are split at their largest gap on the log scale; a gap under
``MIN_GAP`` leaves the patient's runs undetermined (empty ``held_out``).
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

ROOT = Path(__file__).resolve().parents[2]
COHORTS = {"Ovary": 4, "Prostate": 5, "Uterus": 8}
N_RUNS = 30
TOP = 3  # most-mutated patients per cohort
MIN_GAP = 10.0  # the residual shares of held-out and training runs must differ at least this much


def residual_share(x, S):
    """``||x - S e||^2 / ||x||^2`` for the NNLS exposures ``e`` of catalogue ``x`` on signatures ``S``."""
    e = optimize.nnls(S, x, maxiter=100 * S.shape[1])[0]
    return float(np.sum((x - S @ e) ** 2) / np.sum(x ** 2))


def split_at_gap(shares, min_gap=MIN_GAP):
    """Held-out flags: shares above the largest gap (ratio) between consecutive sorted shares; ``None`` for
    every run when no gap reaches ``min_gap``."""
    s = np.sort(np.asarray(shares, dtype=float))
    ratios = s[1:] / np.maximum(s[:-1], 1e-300)
    j = int(np.argmax(ratios))
    if ratios[j] < min_gap:
        return [None] * len(shares)
    cut = np.sqrt(s[j] * s[j + 1])
    return [bool(v > cut) for v in shares]


def load_run(released, cohort, run, rank, n_channels):
    """One run's released signatures (channels x K, GEL channel order), checked."""
    S = pd.read_csv(released / cohort / f"nmf_{run}_sigs.csv", index_col=0).to_numpy(float)
    if S.shape != (n_channels, rank) or not np.allclose(S.sum(axis=0), 1, atol=1e-6):
        raise ValueError(f"{cohort} run {run}: expected {n_channels} x {rank} signatures summing to one")
    return S


def rows_for(cohort, rank, released):
    data = pd.read_csv(ROOT / f"workflow/resources/data/mutational/GEL_{cohort}_SBS96.tsv", sep="\t", index_col=0)
    totals = data.sum(axis=0).sort_values(ascending=False)
    runs = [load_run(released, cohort, run, rank, data.shape[0]) for run in range(N_RUNS)]
    rows = []
    for patient in totals.index[:TOP]:
        shares = [residual_share(data[patient].to_numpy(float), S) for S in runs]  # GEL channel order on both sides
        for run, (share, held) in enumerate(zip(shares, split_at_gap(shares))):
            rows.append({"cancer": cohort, "run": run, "patient": patient, "sbs_total": int(totals[patient]),
                         "residual_share": share, "held_out": "" if held is None else held})
    return rows


def main(released):
    released = Path(released)
    table = pd.DataFrame([r for c, k in COHORTS.items() for r in rows_for(c, k, released)])
    print("# Which patients paper 2's 30 splits held out: per cohort, its three most-mutated patients; per run, the")
    print("# residual share ||x - S e||^2 / ||x||^2 of the NNLS fit of the patient's catalogue with the run's released")
    print("# NMF signatures (github.com/CLINDA-AAU/AE-NMF at f660659c, generated_data/<cohort>/nmf_<run>_sigs.csv),")
    print(f"# held_out: above the largest gap (>= {MIN_GAP:g}x) between the patient's 30 shares; empty: no such gap.")
    print("# Written by workflow/scripts/released_heldout.py; derived numbers only, the released files are not shipped.")
    table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.6g")


if __name__ == "__main__":
    main(sys.argv[1])
