"""Paper-2 comparison helpers shared by ``plot_paper2.py`` and ``make_results_doc.py``.

Reads the published reference values (``workflow/resources/published.yaml``) and summarises our
cross-validation rows (``split == cv<i>``) in the same shape: one row per data set x structure x
metric, with the facts the results document needs to explain differences.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import yaml

METRICS = ["train_mse", "test_mse", "nmf_better_train", "nmf_better_test", "acs", "cosmic_cos"]
PAPER_NOISE = "gaussian"  # paper 2 fits the Frobenius loss only


def load_published(path):
    """Return ``(values, cancers)``: a DataFrame of the published values and the per-cancer facts."""
    with open(path) as fh:
        doc = yaml.safe_load(fh)
    values = pd.DataFrame(doc["values"])
    for col in ("value", "n", "recomputed_mean", "recomputed_median"):
        # YAML 1.1 reads 5.9e3 (no sign in the exponent) as a string: coerce explicitly
        values[col] = pd.to_numeric(values[col], errors="raise") if col in values else np.nan
    return values, doc["cancers"]


def cancer_of(dataset: str, cancers: dict) -> str | None:
    """Cancer type whose ``dataset_pattern`` occurs in the data-set name (case-insensitive)."""
    for name, facts in cancers.items():
        if re.search(facts.get("dataset_pattern", name), str(dataset), flags=re.IGNORECASE):
            return name
    return None


def pick_noise(noises, preferred: str = PAPER_NOISE) -> str:
    """The paper's (Gaussian) noise key if fitted, else a key containing 'gauss', else the first one."""
    names = sorted(set(map(str, noises)))
    if preferred in names:
        return preferred
    return next((n for n in names if "gauss" in n), names[0] if names else preferred)


def cv_rows(scores: pd.DataFrame, cancers: dict, noise: str = PAPER_NOISE) -> pd.DataFrame:
    """Cross-validation rows of the paper-2 data sets, one noise model, at the published rank when fitted."""
    df = scores[scores["split"].astype(str).str.match(r"cv\d+$")].copy()
    if df.empty:
        return df.assign(cancer=pd.Series(dtype=object))
    df = df[df["noise"] == pick_noise(df["noise"], noise)]
    df["cancer"] = df["dataset"].map(lambda d: cancer_of(d, cancers))
    keep = []
    for ds, d in df.groupby("dataset"):
        cancer = d["cancer"].iloc[0]
        rank = cancers.get(cancer, {}).get("rank") if cancer else None
        keep.append(d[d["rank"] == rank] if rank in set(d["rank"]) else d[d["rank"] == d["rank"].max()])
    df = pd.concat(keep) if keep else df
    # one fit per split x structure (best training loss if several seeds were run)
    if "data_kind" in df:
        df = df[df["data_kind"] != "simulated"]
    order = "train_mse" if "train_mse" in df else "loglik"
    df = df.sort_values(order, ascending=order == "train_mse")
    return df.drop_duplicates(["dataset", "split", "structure"])


def paired_wins(cv: pd.DataFrame, metric: str, against: str, reference: str = "nmf") -> tuple[int, int]:
    """Number of splits where ``reference`` has the lower ``metric`` than ``against``, and the number paired."""
    wide = cv.pivot_table(index="split", columns="structure", values=metric, aggfunc="first")
    if reference not in wide or against not in wide:
        return 0, 0
    both = wide[[reference, against]].dropna()
    return int((both[reference] < both[against]).sum()), int(len(both))


def our_summary(scores: pd.DataFrame, consistency: pd.DataFrame | None, cancers: dict) -> pd.DataFrame:
    """Our values per dataset x structure x metric (+ n, converged share, restarts, rank, tail ratio)."""
    cv = cv_rows(scores, cancers)
    rows = []
    for (ds, structure), d in cv.groupby(["dataset", "structure"]):
        facts = dict(dataset=ds, cancer=d["cancer"].iloc[0], structure=structure, rank=int(d["rank"].iloc[0]),
                     noise=d["noise"].iloc[0], n_splits=int(d["split"].nunique()),
                     converged_share=float(d["converged"].astype(float).mean()) if "converged" in d else np.nan,
                     n_restarts=float(d["n_restarts"].max()) if "n_restarts" in d else np.nan,
                     max_iter_hit=float((d["n_iter"] >= d["n_iter"].max()).mean()) if "n_iter" in d else np.nan,
                     n_samples=float(d["n_train"].max()) if "n_train" in d
                     else (float(d["n_samples"].max()) if "n_samples" in d else np.nan))
        for metric in ("train_mse", "test_mse", "cos_cosmic"):
            if metric in d and d[metric].notna().any():
                v = d[metric].dropna()
                rows.append(dict(facts, metric="cosmic_cos" if metric == "cos_cosmic" else metric,
                                 value=float(v.mean()), median=float(v.median()), n=len(v),
                                 tail_ratio=float(v.max() / v.median()) if v.median() > 0 else np.nan))
        if structure != "nmf":
            for metric in ("train_mse", "test_mse"):
                if metric in cv:
                    wins, n = paired_wins(cv[cv["dataset"] == ds], metric, structure)
                    if n:
                        rows.append(dict(facts, metric=f"nmf_better_{metric.split('_')[0]}", value=float(wins),
                                         median=np.nan, n=n, tail_ratio=np.nan))
    if consistency is not None and not consistency.empty:
        cons = consistency.copy()
        cv_pair = r"^cv\d+(/|$)"
        cons = cons[cons["run_a"].astype(str).str.match(cv_pair) & cons["run_b"].astype(str).str.match(cv_pair)]
        if "noise" in cons and len(cons):
            cons = cons[cons["noise"] == pick_noise(cons["noise"])]
        cons["cancer"] = cons["dataset"].map(lambda x: cancer_of(x, cancers))
        for (ds, structure), d in cons.dropna(subset=["cancer"]).groupby(["dataset", "structure"]):
            rank = cancers[d["cancer"].iloc[0]]["rank"]
            if "rank" in d and rank in set(d["rank"]):
                d = d[d["rank"] == rank]
            base = next((r for r in rows if r["dataset"] == ds and r["structure"] == structure), None)
            facts = {k: base[k] for k in ("converged_share", "n_restarts", "max_iter_hit", "n_splits",
                                          "noise", "n_samples")} if base else {}
            rows.append(dict(facts, dataset=ds, cancer=d["cancer"].iloc[0], structure=structure,
                             rank=int(d["rank"].iloc[0]) if "rank" in d else np.nan, metric="acs",
                             value=float(d["acs"].mean()), median=float(d["acs"].median()), n=len(d),
                             tail_ratio=np.nan))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- which patients a split holds out
def patient_errors(X: pd.DataFrame, W: pd.DataFrame, H: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per-patient squared error (mean over channels) of one split's fit: the training patients' (the rows of
    ``W``) from the fit itself, the held-out patients' from the NNLS refit of their exposures with ``H``
    frozen (as the test MSE is scored). The means of the two Series are the split's train and test MSE."""
    from nmfcore import metrics

    train = X.loc[W.index]
    test = X.drop(index=W.index)
    fit_err = ((train.to_numpy(float) - W.to_numpy() @ H.to_numpy()) ** 2).mean(axis=1)
    Wt = metrics.heldout_error(test.to_numpy(float), H.to_numpy())["W"]
    held_err = ((test.to_numpy(float) - Wt @ H.to_numpy()) ** 2).mean(axis=1)
    return pd.Series(fit_err, index=train.index), pd.Series(held_err, index=test.index)


def split_draw_means(errors, n_draw: int, n_splits: int, n_protocols: int = 4000, seed: int = 0) -> np.ndarray:
    """Means over ``n_splits`` random splits of the mean error of ``n_draw`` patients drawn without
    replacement from ``errors`` (one value per patient), for ``n_protocols`` repetitions of the protocol:
    the spread that the choice of random splits alone gives a reported mean, the fits held fixed."""
    e = np.asarray(errors, dtype=float)
    if not 0 < n_draw <= e.size:
        raise ValueError(f"cannot draw {n_draw} of {e.size} patients")
    rng = np.random.default_rng(seed)
    out = np.empty(n_protocols)
    chunk = max(1, 2_000_000 // (n_splits * e.size))
    for start in range(0, n_protocols, chunk):
        b = min(chunk, n_protocols - start)
        keys = rng.random((b, n_splits, e.size))
        idx = np.argpartition(keys, n_draw - 1, axis=-1)[..., :n_draw]
        out[start:start + b] = e[idx].mean(axis=(1, 2))
    return out


# ----------------------------------------------------------------------------- the patient who decides a held-out mean
def top_patient(held_errors: pd.DataFrame) -> str:
    """The patient whose held-out errors (patients x fits; NaN where the patient trained) sum highest."""
    return str(held_errors.sum(axis=1).idxmax())


def stratified_mean(values, held, k: float, n: int | None = None) -> float:
    """Mean of ``values`` (one per split) reweighted to a protocol whose test sets hold one patient in ``k``
    of ``n`` splits (default: as many as ``values``): ``(k/n) mean(values | held) + (1 - k/n)
    mean(values | trained)``. ``held`` flags the splits whose test set holds the patient; both kinds must
    occur."""
    v, h = np.asarray(values, dtype=float), np.asarray(held, dtype=bool)
    if h.all() or not h.any():
        raise ValueError("the patient must be held out in some splits and train in others")
    share = k / (v.size if n is None else n)
    return float(share * v[h].mean() + (1 - share) * v[~h].mean())


def implied_count(values, held, published: float) -> float:
    """The number of splits (of as many as ``values``) holding the patient out at which :func:`stratified_mean` equals
    ``published``."""
    v, h = np.asarray(values, dtype=float), np.asarray(held, dtype=bool)
    a, b = v[h].mean(), v[~h].mean()
    return float(v.size * (published - b) / (a - b))


def bootstrap_interval(values, level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (resampled with replacement, seeded)."""
    v = np.asarray(values, dtype=float)
    means = np.random.default_rng(seed).choice(v, size=(n_boot, v.size), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def count_tail(k: int, n: int, p: float) -> float:
    """Probability, under ``n`` independent random splits each holding a patient out with probability ``p``,
    of a count at most ``k`` (``k`` below the expected count) or at least ``k`` (otherwise)."""
    from scipy import stats

    return float(stats.binom.cdf(k, n, p) if k < n * p else stats.binom.sf(k - 1, n, p))


def load_released_heldout(path) -> pd.DataFrame:
    """``workflow/resources/paper2_released_heldout.tsv``: per cohort, patient and published run whether the
    run held the patient out (``held_out`` True/False, NA where the released signatures do not tell)."""
    df = pd.read_csv(path, sep="\t", comment="#", dtype={"patient": str})
    df["held_out"] = df["held_out"].map({True: True, False: False, "True": True, "False": False}).astype("boolean")
    return df


def released_count(released: pd.DataFrame, cancer: str, patient: str) -> int | None:
    """How many of the published runs held ``patient`` out; ``None`` if unknown for any run."""
    d = released[(released["cancer"] == cancer) & (released["patient"] == patient)]
    if d.empty or d["held_out"].isna().any():
        return None
    return int(d["held_out"].sum())
