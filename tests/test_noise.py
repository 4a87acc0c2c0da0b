"""Noise models: likelihoods against scipy.stats, normalisation, gradients, zero handling."""
import numpy as np
import pytest
from scipy import integrate, stats

import nmfcore as nc
from nmfcore.noise import MEAN, ONES, nb_alpha_mle, tweedie_logpdf

RNG = np.random.default_rng(12345)
X_COUNTS = RNG.poisson(RNG.gamma(0.8, 6.0, size=(7, 9))).astype(float)
MU = RNG.gamma(2.0, 3.0, size=(7, 9)) + 0.1


def test_gaussian_loglik_matches_scipy():
    m = nc.Gaussian(phi=2.7)
    ref = stats.norm.logpdf(X_COUNTS, loc=MU, scale=np.sqrt(2.7)).sum()
    assert m.loglik(X_COUNTS, MU) == pytest.approx(ref, rel=1e-10, abs=1e-10)


def test_poisson_loglik_matches_scipy():
    ref = stats.poisson.logpmf(X_COUNTS, MU).sum()
    assert nc.Poisson().loglik(X_COUNTS, MU) == pytest.approx(ref, rel=1e-10)


def test_gamma_loglik_matches_scipy():
    X = X_COUNTS + 0.5
    phi = 0.4
    ref = stats.gamma.logpdf(X, a=1 / phi, scale=MU * phi).sum()
    assert nc.Gamma(phi=phi).loglik(X, MU) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("alpha", [0.7, 5.0, 250.0])
def test_nb_loglik_matches_scipy(alpha):
    ref = stats.nbinom.logpmf(X_COUNTS, alpha, alpha / (alpha + MU)).sum()
    assert nc.NegativeBinomial(alpha=alpha).loglik(X_COUNTS, MU) == pytest.approx(ref, rel=1e-10)


def test_nb_per_sample_alpha_matches_scipy():
    alpha = np.linspace(0.5, 50, X_COUNTS.shape[0])
    ref = stats.nbinom.logpmf(X_COUNTS, alpha[:, None], alpha[:, None] / (alpha[:, None] + MU)).sum()
    assert nc.NegativeBinomial(alpha=alpha, dispersion="sample").loglik(X_COUNTS, MU) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("p", [1.05, 1.3, 1.5, 1.8, 1.95])
@pytest.mark.parametrize("mu,phi", [(0.3, 0.5), (2.0, 1.0), (15.0, 3.0), (60.0, 0.2)])
def test_tweedie_density_integrates_to_one(p, mu, phi):
    p0 = np.exp(tweedie_logpdf(0.0, mu, phi, p))
    f = lambda y: float(np.exp(tweedie_logpdf(np.array([y]), mu, phi, p))[0])  # noqa: E731
    sd = np.sqrt(phi * mu ** p)
    hi = mu + 40 * sd + 50
    pts = [mu / 4, mu, mu + sd, mu + 5 * sd]
    mass, _ = integrate.quad(f, 0, hi, limit=500, points=[q for q in pts if 0 < q < hi], epsabs=1e-12)
    assert p0 + mass == pytest.approx(1.0, abs=1e-6)


def test_tweedie_mean_and_variance_from_density():
    p, mu, phi = 1.4, 5.0, 1.3
    f = lambda y: float(np.exp(tweedie_logpdf(np.array([y]), mu, phi, p))[0])  # noqa: E731
    m1 = integrate.quad(lambda y: y * f(y), 0, 200, limit=400)[0]
    m2 = integrate.quad(lambda y: y * y * f(y), 0, 200, limit=400)[0]
    assert m1 == pytest.approx(mu, rel=1e-6)
    assert m2 - m1 ** 2 == pytest.approx(phi * mu ** p, rel=1e-5)


def test_tweedie_reduces_to_gamma_near_p2():
    y = np.array([0.3, 1.0, 4.0, 9.0])
    mu, phi = 3.0, 0.5
    gam = stats.gamma.logpdf(y, a=1 / phi, scale=mu * phi)
    assert np.allclose(tweedie_logpdf(y, mu, phi, 1.9999), gam, atol=2e-3)


def test_tweedie_reduces_to_poisson_near_p1():
    # near p=1 the mass of Y concentrates around the integers with Poisson probabilities
    mu, p = 3.0, 1.001
    for k in range(0, 7):
        if k == 0:
            mass = np.exp(tweedie_logpdf(0.0, mu, 1.0, p))
        else:
            f = lambda y: float(np.exp(tweedie_logpdf(np.array([y]), mu, 1.0, p))[0])  # noqa: E731
            mass = integrate.quad(f, k - 0.5, k + 0.5, points=[k], limit=200)[0]
        assert mass == pytest.approx(stats.poisson.pmf(k, mu), abs=5e-3)


def test_tweedie_special_powers_match_closed_forms():
    assert nc.Tweedie(power=0, phi=2.0).loglik(X_COUNTS, MU) == pytest.approx(nc.Gaussian(phi=2.0).loglik(X_COUNTS, MU))
    assert nc.Tweedie(power=1).loglik(X_COUNTS, MU) == pytest.approx(stats.poisson.logpmf(X_COUNTS, MU).sum())


@pytest.mark.parametrize("model", [nc.Gaussian(), nc.Poisson(), nc.Gamma(), nc.Tweedie(power=1.5),
                                   nc.Tweedie(power=1.2), nc.NegativeBinomial(alpha=3.0),
                                   nc.NegativeBinomial(alpha=np.arange(1.0, 8.0), dispersion="sample")],
                         ids=lambda m: m.label)
def test_gradient_split_matches_finite_differences(model):
    X = X_COUNTS + (0.5 if model.needs_positive else 0.0)
    neg, pos = model.grad_split(X, MU)
    pos = np.ones_like(MU) if pos is ONES else (MU if pos is MEAN else pos)
    assert np.all(neg >= 0) and np.all(pos >= 0)
    h = 1e-6 * MU
    num = (model.unit_divergence(X, MU + h) - model.unit_divergence(X, MU - h)) / (2 * h)
    assert np.allclose(pos - neg, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("model", [nc.Gaussian(), nc.Poisson(), nc.Tweedie(power=1.5), nc.NegativeBinomial(alpha=2.0)],
                         ids=lambda m: m.label)
def test_divergence_is_zero_at_the_data_and_positive_elsewhere(model):
    X = X_COUNTS + 1.0
    assert np.allclose(model.unit_divergence(X, X), 0.0, atol=1e-12)
    assert np.all(model.unit_divergence(X, MU) >= -1e-12)


def test_divergences_are_correct_at_zero_counts():
    mu = np.array([1.0, 2.0])
    x = np.zeros(2)
    # Tweedie p: d(0, mu) = mu^(2-p) / (2-p); nmfgenr's R unitdev returns 3 here (wrong)
    assert nc.Tweedie(power=1.5).divergence(x, mu) == pytest.approx((1 + np.sqrt(2)) / 0.5)
    assert nc.Poisson().divergence(x, mu) == pytest.approx(3.0)
    assert nc.Gaussian().divergence(x, mu) == pytest.approx(0.5 + 2.0)
    # NB: d(0, mu) = alpha log(1 + mu/alpha)
    assert nc.NegativeBinomial(alpha=5.0).divergence(x, mu) == pytest.approx(5 * np.log(1.2) + 5 * np.log(1.4))


def test_deviance_difference_equals_loglik_difference():
    # for fixed nuisance, loglik(mu1) - loglik(mu2) = -(div(mu1) - div(mu2)) / phi
    mu2 = MU * 1.3
    for model, scale in [(nc.Poisson(), 1.0), (nc.NegativeBinomial(alpha=4.0), 1.0), (nc.Gaussian(phi=2.0), 2.0)]:
        dl = model.loglik(X_COUNTS, MU) - model.loglik(X_COUNTS, mu2)
        dd = model.divergence(X_COUNTS, MU) - model.divergence(X_COUNTS, mu2)
        assert dl == pytest.approx(-dd / scale, rel=1e-9)


@pytest.mark.parametrize("model", [nc.Gaussian(phi=2.0), nc.Poisson(), nc.Gamma(phi=0.3), nc.Tweedie(power=1.5, phi=1.7),
                                   nc.NegativeBinomial(alpha=3.0)], ids=lambda m: m.label)
def test_sampler_mean_and_variance(model):
    rng = np.random.default_rng(7)
    mu = np.full(200_000, 4.0)
    y = model.sample(mu, rng)
    assert y.mean() == pytest.approx(4.0, rel=0.01)
    assert y.var() == pytest.approx(float(model.variance(np.array(4.0))), rel=0.03)


@pytest.mark.parametrize("per_sample", [False, True])
def test_nb_alpha_mle_recovers_truth(per_sample):
    rng = np.random.default_rng(3)
    mu = rng.gamma(2.0, 20.0, size=(6, 4000))
    alpha = np.array([2.0, 5.0, 10.0, 20.0, 3.0, 8.0]) if per_sample else 6.0
    model = nc.NegativeBinomial(alpha=alpha, dispersion="sample" if per_sample else "shared")
    X = model.sample(mu, rng)
    est = nb_alpha_mle(X, mu, per_sample=per_sample)
    assert np.allclose(est, alpha, rtol=0.1)


def test_nb_alpha_mle_is_a_maximum():
    rng = np.random.default_rng(4)
    mu = rng.gamma(2.0, 10.0, size=(5, 300))
    X = nc.NegativeBinomial(alpha=4.0).sample(mu, rng)
    a = nb_alpha_mle(X, mu)
    ll = lambda al: nc.NegativeBinomial(alpha=al).loglik(X, mu)  # noqa: E731
    assert ll(a) >= ll(a * 1.01) and ll(a) >= ll(a / 1.01)


def test_tweedie_phi_is_ml():
    rng = np.random.default_rng(5)
    mu = rng.gamma(2.0, 5.0, size=(20, 30))
    m = nc.Tweedie(power=1.5, phi=2.0)
    X = m.sample(mu, rng)
    fitted = nc.Tweedie(power=1.5).with_nuisance(X, mu)
    assert fitted.phi == pytest.approx(2.0, rel=0.15)
    ll = lambda ph: nc.Tweedie(power=1.5, phi=ph).loglik(X, mu)  # noqa: E731
    assert ll(fitted.phi) >= max(ll(fitted.phi * 1.01), ll(fitted.phi / 1.01))


@pytest.mark.parametrize("p", [1.1, 1.5, 1.9])
@pytest.mark.parametrize("data", ["counts", "continuous"])
def test_tweedie_loglik_per_distinct_value_equals_per_entry_series(p, data):
    """The likelihood sums the series once per distinct data value; it must equal the Dunn-Smyth
    series evaluated entry by entry (repeated counts and all-distinct continuous values)."""
    from nmfcore.tweedie_series import _tweedie_logw
    rng = np.random.default_rng(8)
    mu = rng.gamma(2.0, 3.0, size=(25, 40))
    X = rng.poisson(mu).astype(float) if data == "counts" else nc.Tweedie(power=p, phi=1.3).sample(mu, rng)
    phi = 1.3
    pos = X > 0
    ref = np.empty_like(X)
    ref[~pos] = -np.power(mu[~pos], 2 - p) / (phi * (2 - p))
    y, m = X[pos], mu[pos]
    ref[pos] = (-np.log(y) + _tweedie_logw(y, phi, p, -37.0)
                + (y * np.power(m, 1 - p) / (1 - p) - np.power(m, 2 - p) / (2 - p)) / phi)
    entries = tweedie_logpdf(X, mu, phi, p)
    assert np.array_equal(entries, ref)
    assert nc.Tweedie(power=p, phi=phi).loglik(X, mu) == pytest.approx(ref.sum(), rel=1e-13)


def test_gamma_phi_is_ml():
    rng = np.random.default_rng(6)
    mu = rng.gamma(2.0, 5.0, size=(20, 30))
    X = nc.Gamma(phi=0.25).sample(mu, rng)
    fitted = nc.Gamma().with_nuisance(X, mu)
    ll = lambda ph: nc.Gamma(phi=ph).loglik(X, mu)  # noqa: E731
    assert ll(fitted.phi) >= max(ll(fitted.phi * 1.001), ll(fitted.phi / 1.001))


@pytest.mark.parametrize("p", [0.5, -1.0, 2.5, float("nan")])
def test_bad_tweedie_power_is_rejected(p):
    with pytest.raises(ValueError, match="power"):
        nc.Tweedie(power=p)


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("inf"), [1.0, -2.0]])
def test_bad_nb_alpha_is_rejected(alpha):
    with pytest.raises(ValueError, match="alpha"):
        nc.NegativeBinomial(alpha=alpha)


def test_make_noise_rejects_unknown_names_and_parameters():
    with pytest.raises(ValueError, match="unknown noise model 'laplace'"):
        nc.make_noise("laplace")
    with pytest.raises(ValueError, match="unknown parameter"):
        nc.make_noise("poisson", alpha=3)
    with pytest.raises(ValueError, match="power"):
        nc.make_noise({"family": "tweedie", "powers": [1.5, 0.5]})


def test_mm_exponents():
    assert nc.Tweedie(power=1.5).gamma == pytest.approx(2 / 3)
    assert nc.Gamma().gamma == pytest.approx(0.5)
    assert nc.Poisson().gamma == 1.0 and nc.Gaussian().gamma == 1.0


def _nb_w_majoriser(X, W, H, alpha, i, k, s):
    """The NB divergence's Jensen/tangent majoriser in ``W[i, k] = s W0[i, k]`` (H fixed), up to a constant,
    written from its definition: ``x log(1 + alpha/mu)`` bounded by Jensen over the components of ``mu``,
    ``alpha log(alpha + mu)`` by its tangent."""
    mu = W @ H
    a = alpha[i] if np.ndim(alpha) else alpha
    lam = W[i, k] * H[k] / mu[i]  # component k's share of each mean of row i
    t = s * W[i, k] * H[k]
    return float(np.sum(X[i] * lam * np.log1p(a * lam / t) + a * t / (a + mu[i])))


@pytest.mark.parametrize("alpha", [2.0, 40.0, "per-sample"])
@pytest.mark.parametrize("scale", [0.5, 30.0, 3000.0])
def test_nb_tight_step_lies_between_no_step_and_the_majorisers_minimum(alpha, scale):
    """Each entry's step of the tight NB majoriser (``majoriser="tight"``) lowers that entry's majoriser --
    it lies between 1 and the majoriser's minimiser, found here by a scalar search -- and moves at least as
    far as paper 1's step, from counts far below alpha (Poisson-like) to far above it (where it matters)."""
    from scipy import optimize

    from nmfcore._kernels import project
    rng = np.random.default_rng(int(scale))
    n, m, K = 6, 12, 3
    W, H = rng.gamma(1.0, 1.0, (n, K)), rng.dirichlet(np.ones(m), K)
    X = rng.poisson(scale * (W * 2.0) @ H).astype(float)  # the data away from the current mean
    X[0, :3] = 0.0
    W *= scale
    a = np.linspace(0.5, 50.0, n) if alpha == "per-sample" else alpha
    steps = {}
    for how in ("tight", "paper"):
        model = nc.NegativeBinomial(alpha=a, dispersion="sample" if alpha == "per-sample" else "shared",
                                    majoriser=how)
        parts = model.mm_parts(X, W @ H)
        steps[how] = model.mm_ratio(*[project(p, None, W, H) for p in parts], shape=W.shape)
    for i in range(n):
        for k in range(K):
            f = lambda log_s, i=i, k=k: _nb_w_majoriser(X, W, H, a, i, k, np.exp(log_s))  # noqa: E731
            best = np.exp(optimize.minimize_scalar(f, bounds=(-30, 10), method="bounded",
                                                   options={"xatol": 1e-12}).x)
            s, s_paper = steps["tight"][i, k], steps["paper"][i, k]
            lo, hi = min(1.0, best), max(1.0, best)
            assert lo * (1 - 1e-6) <= s <= hi * (1 + 1e-6), (i, k, s, best)
            assert f(np.log(s)) <= f(0.0) + 1e-9 * abs(f(0.0))
            assert abs(s - 1.0) >= abs(s_paper - 1.0) * (1 - 1e-12)
    if scale == 3000.0 and alpha == 2.0:  # counts >> alpha: the paper's steps are a small fraction of the tight ones
        moved = np.abs(steps["tight"] - 1.0) > 1e-3
        assert np.median(np.abs(steps["paper"] - 1.0)[moved] / np.abs(steps["tight"] - 1.0)[moved]) < 0.1


def test_nb_tight_parts_are_the_derivative_and_the_papers_denominator():
    """``g`` is minus the derivative of the divergence in the mean; ``y + c`` is paper 1's denominator
    ``(X + alpha) / (alpha + mu)``; ``z = c y``."""
    model = nc.NegativeBinomial(alpha=3.0)
    g, y, c, z = (p.copy() for p in model.mm_parts(X_COUNTS, MU.copy()))
    h = 1e-6 * MU
    num = (model.unit_divergence(X_COUNTS, MU + h) - model.unit_divergence(X_COUNTS, MU - h)) / (2 * h)
    assert np.allclose(-g, num, rtol=1e-6, atol=1e-8)
    assert np.allclose(y + c, (X_COUNTS + 3.0) / (3.0 + MU), rtol=1e-14)
    assert np.allclose(z, c * y, rtol=1e-14) and np.all(c > 0) and np.all(z >= 0)


def test_nb_tight_ratio_has_no_floating_point_warnings():
    """The step's two branches are both computed; the discarded one must not divide by zero (a step up of exactly 1
    once gave 1 / (1 - 1) there): no warning, and the steps by hand, with a step down decided by each candidate."""
    import warnings
    G, Y, C, Z = (np.array([[3.0, -1.0, -0.1]]), np.ones((1, 3)), np.ones((1, 3)), np.array([[2.0, 0.5, 0.5]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = nc.NegativeBinomial(alpha=2.0).mm_ratio(G, Y, C, Z, shape=G.shape)
    # up: 1 + 3 / (2 + 1). Down, the smaller of the Newton step in 1/s and paper 1's chord: 1 / (1 + 1 / 1.5) = 0.6
    # against 1 - 1 / 2 = 0.5 (the chord); 1 / (1 + 0.1 / 1.5) = 0.9375 (Newton) against 1 - 0.1 / 2 = 0.95
    np.testing.assert_allclose(s, [[2.0, 0.5, 0.9375]], rtol=1e-15)
