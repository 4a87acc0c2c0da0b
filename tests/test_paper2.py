"""Paper 2's protocol: batched fits of many data matrices (fit_many), the consecutive-iteration stopping rule,
and convex NMF's Gaussian MM updates reaching the optimum of Ding et al.'s square-root updates."""
import warnings

import numpy as np
import pytest

import nmfcore as nc

FIXED = {"gaussian": nc.Gaussian(), "poisson": nc.Poisson(), "gamma": nc.Gamma(),
         "tweedie_1.5": nc.Tweedie(power=1.5), "nb_5": nc.NegativeBinomial(alpha=5.0)}


def _data(count=4, n=18, m=12, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.gamma(1.0, 1.0, size=(n, 3))
    return [rng.poisson(rng.gamma(2.0, 1.0, size=(n, 1)) * W @ rng.gamma(1.0, 2.0, size=(3, m))).astype(float) + 1
            for _ in range(count)]


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nc.ConvergenceWarning)
        return fn(*args, **kw)


def _same(a, b):
    for x, y in zip(a, b):
        assert x.n_iter == y.n_iter and x.converged == y.converged
        for name in ("W", "H"):
            np.testing.assert_allclose(getattr(x, name), getattr(y, name), rtol=1e-12, atol=0)
        assert x.loglik == pytest.approx(y.loglik, rel=1e-12)
        assert x.divergence == pytest.approx(y.divergence, rel=1e-12)


@pytest.mark.parametrize("structure", ["nmf", "convex"])
@pytest.mark.parametrize("noise", list(FIXED), ids=str)
def test_fit_many_equals_separate_mm_fits(structure, noise):
    """Every member of a batch gets the fit it gets alone (same seed), and stops on its own rule."""
    Xs = _data()
    kw = dict(noise=FIXED[noise], structure=structure, max_iter=5000, tol=1e-6, check_every=1,
              random_state=[3, 4, 5, 6])
    many = _quiet(nc.fit_many, Xs, 3, **kw)
    alone = [_quiet(nc.fit, X, 3, **dict(kw, random_state=s)) for X, s in zip(Xs, [3, 4, 5, 6])]
    _same(many, alone)
    assert len({r.n_iter for r in many}) > 1  # members left the batch at different iterations


@pytest.mark.parametrize("noise", ["gaussian", "poisson", "nb_5"])
@pytest.mark.parametrize("constraint", ["abs", "project"])
def test_fit_many_equals_separate_adam_fits(noise, constraint):
    """Adam amplifies rounding differences (m / sqrt(v) of near-zero gradients), so this needs the batched
    arithmetic of each member to be that of its separate fit, bit for bit."""
    Xs = _data(3)
    kw = dict(noise=FIXED[noise], structure="autoencoder", lr=1e-2, max_iter=800, tol=1e-9, check_every=1,
              ae_constraint=constraint, random_state=11)
    many = _quiet(nc.fit_many, Xs, 3, **kw)
    alone = [_quiet(nc.fit, X, 3, **kw) for X in Xs]
    _same(many, alone)
    for x, y in zip(many, alone):
        np.testing.assert_allclose(x.G, y.G, rtol=1e-12, atol=0)


@pytest.mark.parametrize("noise", ["nb", "tweedie"])
def test_fit_many_equals_separate_fits_with_nuisance_estimation(noise):
    Xs = _data(3, seed=2)
    kw = dict(noise=noise if noise == "nb" else {"family": "tweedie", "powers": [1.2, 1.5]}, max_iter=400, tol=1e-6,
              n_restarts=3, pre_iter=20, random_state=1)
    many = _quiet(nc.fit_many, Xs, 2, **kw)
    alone = [_quiet(nc.fit, X, 2, **kw) for X in Xs]
    _same(many, alone)
    assert [m.noise.params for m in many] == [a.noise.params for a in alone]


def test_fit_many_mixed_shapes_and_restarts():
    """Matrices of different shapes are fitted in one batch per shape; results come back in input order."""
    Xs = _data(2, n=15) + _data(2, n=20, seed=1)
    Xs = [Xs[0], Xs[2], Xs[1], Xs[3]]
    kw = dict(noise="poisson", max_iter=300, n_restarts=3, pre_iter=10, random_state=0)
    many = _quiet(nc.fit_many, Xs, 2, **kw)
    assert [r.W.shape[0] for r in many] == [15, 20, 15, 20]
    _same(many, [_quiet(nc.fit, X, 2, **kw) for X in Xs])


def test_fit_many_rejects_bad_input_naming_the_matrix():
    Xs = _data(3)
    Xs[1] = Xs[1].copy()
    Xs[1][0, 0] = -1
    with pytest.raises(ValueError, match=r"Xs\[1\] contains 1 negative"):
        nc.fit_many(Xs, 2)
    with pytest.raises(ValueError, match="2 seeds for 3 data matrices"):
        nc.fit_many(Xs[:1] * 3, 2, random_state=[1, 2])
    with pytest.raises(ValueError, match="at least one data matrix"):
        nc.fit_many([], 2)


@pytest.mark.parametrize("structure", ["nmf", "convex", "autoencoder"])
def test_consecutive_iteration_rule(structure):
    """check_every=1: a fit stops at the first iteration whose relative change of the loss is below tol."""
    X = _data(1)[0]
    tol = 1e-5
    kw = dict(noise="gaussian", structure=structure, tol=tol, check_every=1, ae_init="uniform", random_state=0,
              **({"lr": 1e-2} if structure == "autoencoder" else {}))
    res = _quiet(nc.fit, X, 3, max_iter=20000, **kw)
    before = _quiet(nc.fit, X, 3, max_iter=res.n_iter - 1, **kw)  # the same trajectory, one iteration short
    assert res.converged and not before.converged
    assert abs(before.divergence - res.divergence) / res.divergence < tol
    its, obj = np.array(res.trace).T
    assert its[-1] == res.n_iter and obj[-1] == pytest.approx(res.divergence, rel=1e-9)
    early = its <= 1000  # every check is kept in the trace up to 1,000 iterations
    assert list(its[early]) == list(range(int(its[early][-1]) + 1))
    rel = np.abs(np.diff(obj[early])) / obj[early][1:]
    assert (rel[: min(len(rel), res.n_iter - 1)] >= tol).all()


def test_convex_gaussian_mm_reaches_ding_optimum():
    """Convex NMF under Gaussian noise: our MM updates (exponent 1: W G X is linear in each factor with
    non-negative coefficients, so the Lee-Seung majoriser applies) and Ding, Li & Jordan's (2010)
    square-root updates for V ~ V Wd Gd^T (the authors' orientation, features x patients) descend to the
    same optimum from the same start; ours gets there in fewer iterations."""
    X = _data(1, n=16, m=10, seed=4)[0]
    K = X @ X.T  # V^T V
    for seed in (0, 2):  # two starts that reach different local optima (loss ~424 and ~889)
        rng = np.random.default_rng(seed)
        W0, G0 = rng.uniform(size=(16, 3)), rng.uniform(size=(3, 16))
        ours = _quiet(nc.fit, X, 3, noise="gaussian", structure="convex", init={"W": W0, "G": G0},
                      max_iter=30000, tol=0)
        Gd, Wd = W0.copy(), G0.T.copy()
        for _ in range(30000):
            Gd *= np.sqrt((K @ Wd) / (Gd @ Wd.T @ K @ Wd))
            Wd *= np.sqrt((K @ Gd) / (K @ Wd @ Gd.T @ Gd))
        ding_mean = Gd @ (Wd.T @ X)
        ding_loss = 0.5 * np.sum((X - ding_mean) ** 2)
        assert ours.divergence <= ding_loss
        assert ours.divergence == pytest.approx(ding_loss, rel=1e-3)
        np.testing.assert_allclose(ours.W @ ours.H, ding_mean, rtol=0, atol=5e-3 * ding_mean.max())


def _paper2_helpers():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
    import _paper2
    return _paper2


@pytest.mark.parametrize("dataset, cancer", [("gel_ovary", "Ovary"), ("gel_prostate", "Prostate"),
                                             ("gel_uterus", "Uterus")])
def test_published_heldout_means_follow_how_often_the_papers_splits_held_out_one_patient(dataset, cancer):
    """Our held-out means are 18-103 % above the published ones. Cause, shown on our committed fits
    (docs/paper2/scores.tsv) and the authors' released signatures: in each cohort one hypermutated patient
    (the most mutated) decides a split's held-out MSE -- splits whose test set holds it average >= 2.5x the
    others -- so a mean over 30 splits is set by how many test sets hold it: 5, 8 and 6 of ours (cv<i> from
    seed i). The authors' released NMF signatures show that their 30 runs held it out 4, 3 and 2 times
    (workflow/resources/paper2_released_heldout.tsv): our splits, weighted to that count, give every published
    held-out mean (NMF, C-NMF, AE-NMF) within 10 %, and the NMF and C-NMF training means too (but ovary C-NMF's,
    the published degenerate optima). Both counts are draws of Binomial(30, 0.2)."""
    from pathlib import Path

    import pandas as pd
    import yaml

    import nmfcore.datasets as ds
    p2 = _paper2_helpers()
    root = Path(__file__).resolve().parents[1]
    X = ds.read_catalogue(root / f"workflow/resources/data/mutational/GEL_{cancer}_SBS96.tsv")
    scores = pd.read_csv(root / "docs/paper2/scores.tsv", sep="\t")
    released = p2.load_released_heldout(root / "workflow/resources/paper2_released_heldout.tsv")
    published = yaml.safe_load((root / "workflow/resources/published.yaml").read_text())["values"]
    n = X.shape[0]
    n_train = int(np.floor(0.8 * n + 1e-9))
    top = X.sum(axis=1).idxmax()
    holds = {f"cv{i}": top in X.index[np.random.default_rng(i).permutation(n)[n_train:]] for i in range(30)}
    k_paper = p2.released_count(released, cancer, top)
    assert k_paper is not None  # every published run classified
    assert p2.count_tail(k_paper, 30, (n - n_train) / n) > 0.01  # an ordinary draw of random splits
    for method in ("nmf", "convex", "autoencoder"):
        pub = next(float(v["value"]) for v in published
                   if (v["cancer"], v["metric"], v["structure"]) == (cancer, "test_mse", method))
        v = scores[(scores["dataset"] == dataset) & (scores["structure"] == method)].set_index("split")["test_mse"]
        assert len(v) == 30
        held = np.array([holds[s] for s in v.index])
        assert v[held].mean() > 2.5 * v[~held].mean(), method
        predicted = p2.stratified_mean(v.to_numpy(), held, k_paper, 30)
        assert abs(predicted / pub - 1) <= 0.10, (method, predicted, pub)
    for method in ("nmf", "convex"):  # training means move with it too (the patient takes a component when it trains)
        if (cancer, method) == ("Ovary", "convex"):
            continue  # the published degenerate optima: test_published_ovary_convex_train_error_needs_fits_above_...
        pub = next(float(v["value"]) for v in published
                   if (v["cancer"], v["metric"], v["structure"]) == (cancer, "train_mse", method))
        v = scores[(scores["dataset"] == dataset) & (scores["structure"] == method)].set_index("split")["train_mse"]
        predicted = p2.stratified_mean(v.to_numpy(), np.array([holds[s] for s in v.index]), k_paper, 30)
        assert abs(predicted / pub - 1) <= 0.10, (method, "train", predicted, pub)


def test_released_heldout_table_follows_its_own_rule():
    """workflow/resources/paper2_released_heldout.tsv (derived from the authors' released signatures, which
    are not shipped) agrees with the rule that wrote it: per cohort, its three most mutated patients of the
    bundled catalogue, 30 runs each, and every patient's held_out flags are what split_at_gap gives for its
    residual shares (so a hand edit of a flag or a share fails here)."""
    from pathlib import Path

    import pandas as pd

    import nmfcore.datasets as ds
    p2 = _paper2_helpers()
    import released_heldout as rh

    root = Path(__file__).resolve().parents[1]
    table = p2.load_released_heldout(root / "workflow/resources/paper2_released_heldout.tsv")
    for cancer in rh.COHORTS:
        X = ds.read_catalogue(root / f"workflow/resources/data/mutational/GEL_{cancer}_SBS96.tsv")
        d = table[table["cancer"] == cancer]
        assert list(d["patient"].drop_duplicates()) == list(X.sum(axis=1).sort_values(ascending=False).index[:rh.TOP])
        for patient, g in d.groupby("patient"):
            assert sorted(g["run"]) == list(range(rh.N_RUNS))
            expected = rh.split_at_gap(g.sort_values("run")["residual_share"].to_numpy())
            got = [None if v is pd.NA else bool(v) for v in g.sort_values("run")["held_out"]]
            assert got == expected, (cancer, patient)


def test_published_autoencoder_training_means_lie_within_where_adam_stops():
    """AE-NMF fits convex NMF's model by Adam and reports the training error where its float32 run stops, not
    the model's optimum: over our 30 splits of each cohort its training errors spread 3.7-7.7x (max / min) while
    convex NMF, the same model at its optimum, spreads at most 2.3x, and AE-NMF's median is 1.3-2.2x convex
    NMF's. A 30-split mean of so noisy a quantity is uncertain by about +-20 %: every published AE-NMF training
    mean is within 10 % of ours or inside our bootstrap 95 % interval (ovary: +14 %, interval 1.16e4-1.85e4)."""
    from pathlib import Path

    import pandas as pd
    import yaml

    p2 = _paper2_helpers()
    root = Path(__file__).resolve().parents[1]
    scores = pd.read_csv(root / "docs/paper2/scores.tsv", sep="\t")
    published = yaml.safe_load((root / "workflow/resources/published.yaml").read_text())["values"]
    for dataset, cancer in (("gel_ovary", "Ovary"), ("gel_prostate", "Prostate"), ("gel_uterus", "Uterus")):
        ae = scores[(scores["dataset"] == dataset) & (scores["structure"] == "autoencoder")]["train_mse"]
        cvx = scores[(scores["dataset"] == dataset) & (scores["structure"] == "convex")]["train_mse"]
        assert ae.max() / ae.min() > 3.5 and cvx.max() / cvx.min() < 2.5, dataset
        assert ae.median() > 1.25 * cvx.median(), dataset
        pub = next(float(v["value"]) for v in published
                   if (v["cancer"], v["metric"], v["structure"]) == (cancer, "train_mse", "autoencoder"))
        lo, hi = p2.bootstrap_interval(ae)
        assert abs(ae.mean() / pub - 1) <= 0.10 or lo <= pub <= hi, (dataset, ae.mean(), pub, lo, hi)


@pytest.mark.parametrize("cancer, rank", [("Prostate", 5), ("Uterus", 8)])
def test_released_runs_are_classified_by_a_gap_our_own_fits_show(cancer, rank):
    """The released-signature classification rests on one fact: a patient who trained a fit is reconstructed
    almost exactly by its signatures (NNLS), one held out is not. Checked on our own Gaussian NMF fits of two
    splits of a cohort, one training on its most mutated patient and one holding it out: the residual shares
    differ by far more than the classifier's minimum gap (prostate ~5e5x, uterus ~400x: the smallest gap of the
    three cohorts); and the gap rule itself on made-up shares."""
    from pathlib import Path

    import nmfcore.datasets as ds
    p2 = _paper2_helpers()
    import released_heldout as rh

    X = ds.read_catalogue(Path(__file__).resolve().parents[1] / f"workflow/resources/data/mutational/GEL_{cancer}_SBS96.tsv")
    n = X.shape[0]
    n_train = int(np.floor(0.8 * n + 1e-9))
    top = X.sum(axis=1).idxmax()
    shares = {}
    for i in range(30):
        train = X.index[np.sort(np.random.default_rng(i).permutation(n)[:n_train])]
        kind = top in train
        if kind in shares:
            continue
        fit = _quiet(nc.fit, X.loc[train].to_numpy(), rank, noise="gaussian", tol=1e-6, max_iter=20000, random_state=i)
        shares[kind] = rh.residual_share(X.loc[top].to_numpy(float), fit.H.T)
        if len(shares) == 2:
            break
    assert shares[False] > 10 * rh.MIN_GAP * shares[True]
    assert rh.split_at_gap([1e-6, 2e-6, 0.3, 1.5e-6, 0.1]) == [False, False, True, False, True]
    assert rh.split_at_gap([0.02, 0.05, 0.1]) == [None, None, None]  # no gap of 10x: undetermined
    assert p2.count_tail(2, 30, 0.2) == pytest.approx(0.0442, abs=1e-4)  # P(K <= 2), K ~ Binomial(30, 0.2)
    assert p2.count_tail(8, 30, 0.2) == pytest.approx(0.2392, abs=1e-4)  # P(K >= 8)
    assert p2.bootstrap_interval([3.0] * 30) == (3.0, 3.0)
    lo, hi = p2.bootstrap_interval(np.random.default_rng(0).normal(10, 2, 400))
    assert lo < 10 < hi and hi - lo == pytest.approx(2 * 1.96 * 2 / 20, rel=0.15)
    assert p2.stratified_mean([10.0, 1.0, 1.0, 1.0], [True, False, False, False], 2) == pytest.approx(5.5)
    assert p2.implied_count([10.0, 1.0, 1.0, 1.0], [True, False, False, False], 5.5) == pytest.approx(2)


def test_published_ovary_convex_train_error_needs_fits_above_their_optimum():
    """Our ovary C-NMF training MSE mean is 62 % below the published one although the medians agree. The
    published mean (1.53e4) is 2.6x the median recomputed from the authors' factors (5.8e3). Training error
    at the optimum varies little between 80 % subsamples of one cohort: over our 30 converged fits the largest
    is below 1.5x the median, so at the optimum the mean over any 30 such splits stays below 1.5x the median
    -- the published mean is far above that bound. Some of the published fits therefore sit well above their
    split's optimum: the degenerate stationary points that convex NMF's MM updates reach from U(0,1) starts
    (duplicate components; nmfcore detects and escapes them), not a property of the data."""
    from pathlib import Path

    import pandas as pd
    import yaml

    root = Path(__file__).resolve().parents[1]
    scores = pd.read_csv(root / "docs/paper2/scores.tsv", sep="\t")
    published = next(v for v in yaml.safe_load((root / "workflow/resources/published.yaml").read_text())["values"]
                     if (v["cancer"], v["metric"], v["structure"]) == ("Ovary", "train_mse", "convex"))
    ours = scores[(scores["dataset"] == "gel_ovary") & (scores["structure"] == "convex")]
    assert len(ours) == 30 and ours["converged"].all()
    v = ours["train_mse"]
    mean, median = float(published["value"]), float(published["recomputed_median"])  # YAML reads 5.8e3 as text
    assert abs(v.median() / median - 1) < 0.05  # the same optimum
    assert v.max() < 1.5 * v.median()  # the data move the optimum's error little
    bound = 1.5 * median
    assert mean > 1.5 * bound  # published mean: far above what optima can average to
    assert abs(v.mean() / v.median() - 1) < 0.1  # ours: mean ~ median, no fit far above its optimum


def test_split_draw_means_follow_sampling_without_replacement():
    """The redrawn protocol means have the mean and variance of sampling theory: a mean of S independent
    split means, each of n of m values drawn without replacement (finite-population correction), on
    heavy-tailed per-patient errors like the cohorts' (one patient far above the rest)."""
    split_draw_means = _paper2_helpers().split_draw_means

    rng = np.random.default_rng(3)
    e = rng.lognormal(3.0, 1.5, size=200)
    e[17] = 200 * e.max()
    m, n, S = e.size, 40, 30
    means = split_draw_means(e, n, S, n_protocols=20000, seed=1)
    var = e.var() / n * (m - n) / (m - 1) / S
    assert abs(means.mean() - e.mean()) < 4 * np.sqrt(var / means.size)
    assert means.var(ddof=1) == pytest.approx(var, rel=0.05)
    assert np.all(split_draw_means(e, m, 2, n_protocols=5) == pytest.approx(e.mean()))  # every patient drawn
    with pytest.raises(ValueError, match="cannot draw"):
        split_draw_means(e, m + 1, 2)
