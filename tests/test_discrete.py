"""The discretised log-likelihood (nmfcore.discrete): every noise model on the mass scale of count data."""
import numpy as np
import pytest
from scipy import integrate, stats

import nmfcore as nc
from nmfcore import noise as nz
from nmfcore.discrete import is_count_data, logprob_entries, loglik_discrete

CONTINUOUS = [nz.Gaussian(phi=0.01), nz.Gaussian(phi=3.0), nz.Gaussian(phi=400.0), nz.Gamma(phi=0.05),
              nz.Gamma(phi=0.5), nz.Gamma(phi=4.0)] + [nz.Tweedie(power=p, phi=phi) for p in (1.05, 1.2, 1.5, 1.8, 1.95)
                                                       for phi in (0.3, 1.0, 3.0)]


def _support(model, mu):
    """0 .. far enough into the upper tail that the mass beyond is < 1e-12."""
    sd = np.sqrt(model.variance(np.asarray(mu)))
    heavy = 1.0 if model.power < 1.5 else 30.0 * model.phi  # Gamma-like tails of the high powers
    return np.arange(0.0, np.ceil(mu + (40 + heavy) * sd + 60))


@pytest.mark.parametrize("model", CONTINUOUS, ids=lambda m: f"{m.label}_phi{m.phi:g}")
@pytest.mark.parametrize("mu", [0.05, 0.7, 6.0, 300.0])
def test_probabilities_of_the_counts_sum_to_one(model, mu):
    y = _support(model, mu)
    lp = logprob_entries(model, y, np.full_like(y, mu))
    assert np.isfinite(lp).all() and (lp <= 1e-12).all()
    assert abs(np.exp(lp).sum() - 1.0) < 1e-8


@pytest.mark.parametrize("model", [nz.Gaussian(phi=2000.0), nz.Gamma(phi=0.01), nz.Tweedie(power=1.5, phi=2.0),
                                   nz.Tweedie(power=1.2, phi=0.5)], ids=lambda m: m.label)
def test_large_counts_agree_with_the_density(model):
    # where the density hardly changes over a unit interval, P(I(y)) = f(y) (midpoint rule error ~ f''/24)
    mu = 5000.0
    sd = np.sqrt(model.variance(mu))
    y = np.round(mu + sd * np.linspace(-2, 2, 9))
    lp = logprob_entries(model, y, np.full_like(y, mu))
    np.testing.assert_allclose(lp, model.loglik_entries(y, np.full_like(y, mu)), rtol=0, atol=2e-3)


def _interval(dist, a, b):
    """scipy.stats' P(a < Y <= b), from the CDF in the lower half and the survival function in the upper."""
    return np.where(dist.cdf(b) < 0.5, dist.cdf(b) - dist.cdf(a), dist.sf(a) - dist.sf(b))


def test_gaussian_and_gamma_match_scipy_cdf_differences():
    y = np.arange(0.0, 40.0)
    for mu in (0.4, 7.0, 25.0):
        a = np.where(y == 0, -np.inf, y - 0.5)
        want = _interval(stats.norm(mu, np.sqrt(5.0)), a, y + 0.5)
        got = np.exp(logprob_entries(nz.Gaussian(phi=5.0), y, np.full_like(y, mu)))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)
        want = _interval(stats.gamma(1 / 0.3, scale=0.3 * mu), np.maximum(y - 0.5, 0), y + 0.5)
        got = np.exp(logprob_entries(nz.Gamma(phi=0.3), y, np.full_like(y, mu)))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("p,phi,mu", [(1.3, 0.8, 4.0), (1.6, 1.5, 20.0), (1.8, 0.5, 2.0)])
def test_tweedie_matches_quadrature_of_its_density(p, phi, mu):
    # independent route: P(Y = 0) plus the integral of the series density (nmfcore.noise.tweedie_logpdf)
    model = nz.Tweedie(power=p, phi=phi)
    dens = lambda t: float(np.exp(nz.tweedie_logpdf(np.array([t]), np.array([mu]), phi, p)[0]))  # noqa: E731
    p0 = np.exp(-mu ** (2 - p) / (phi * (2 - p)))
    for y in (0, 1, 3, 10, 30):
        lo, hi = max(y - 0.5, 0.0), y + 0.5
        want = integrate.quad(dens, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0] + (p0 if y == 0 else 0.0)
        got = np.exp(logprob_entries(model, np.array([float(y)]), np.array([mu]))[0])
        assert got == pytest.approx(want, rel=1e-7), (y, got, want)


def test_mass_families_keep_their_log_likelihood():
    rng = np.random.default_rng(0)
    X = rng.poisson(5.0, size=(12, 20)).astype(float)
    mu = rng.uniform(1, 10, size=X.shape)
    for model in (nz.Poisson(), nz.NegativeBinomial(alpha=3.0), nz.NegativeBinomial(alpha=np.arange(1.0, 13.0))):
        assert loglik_discrete(model, X, mu) == pytest.approx(model.loglik(X, mu), rel=1e-13)


def test_tweedie_near_power_one_is_the_poisson_mass():
    # p -> 1 with phi = 1: jumps of size ~1 (shape (2-p)/(p-1) -> infinity), Y -> Poisson(mu) on the integers
    y = np.arange(0.0, 30.0)
    mu = np.full_like(y, 6.0)
    got = logprob_entries(nz.Tweedie(power=1.001, phi=1.0), y, mu)
    np.testing.assert_allclose(got, nz.Poisson().loglik_entries(y, mu), atol=0.02)


def test_defined_for_counts_only():
    assert is_count_data(np.array([[0.0, 3.0], [7.0, 1.0]]))
    assert not is_count_data(np.array([[0.5, 3.0]])) and not is_count_data(np.array([[-1.0, 3.0]]))
    assert np.isnan(loglik_discrete(nz.Gaussian(), np.array([[0.5, 2.0]]), np.ones((1, 2))))


def test_fit_reports_it_on_counts_and_not_otherwise():
    rng = np.random.default_rng(1)
    X = rng.poisson(rng.uniform(2, 30, size=(15, 1)) * rng.dirichlet(np.ones(8), size=1), size=(15, 8)).astype(float)
    for noise in ("gaussian", "poisson", "nb"):
        res = nc.fit(X, 2, noise=noise, random_state=0, max_iter=300)
        row = res.to_row()
        assert np.isfinite(row["loglik_discrete"]) and np.isfinite(row["bic_discrete"])
        assert row["bic_discrete"] == pytest.approx(-2 * row["loglik_discrete"] + res.n_params * np.log(X.size))
        if noise != "gaussian":
            assert row["loglik_discrete"] == pytest.approx(row["loglik"], rel=1e-12)
    res = nc.fit(X + 0.25, 2, noise="gaussian", random_state=0, max_iter=300)
    assert np.isnan(res.to_row()["loglik_discrete"])
