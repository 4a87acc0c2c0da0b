"""Noise models by name or dict (configs, the command line): :func:`make_noise`."""
from __future__ import annotations

import numpy as np

from .noise import Gamma, Gaussian, NegativeBinomial, NoiseModel, Poisson, Tweedie, _check_number

__all__ = ["make_noise", "NOISE_NAMES", "DEFAULT_TWEEDIE_POWERS"]

NOISE_NAMES = ("gaussian", "poisson", "gamma", "tweedie", "nb")


def make_noise(spec, **kwargs) -> NoiseModel | dict:
    """Build a noise model from a name or dict.

    ``make_noise("poisson")``, ``make_noise("tweedie", power=1.5)``,
    ``make_noise({"family": "nb", "dispersion": "sample"})``. A Tweedie without
    ``power`` or an NB without ``alpha`` is returned as the *unfitted* spec
    dict, which :func:`nmfcore.fit` resolves by profile likelihood / ML.
    """
    if isinstance(spec, NoiseModel):
        if kwargs:
            raise ValueError("keyword arguments are not allowed with a NoiseModel instance")
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        family = spec.pop("family", spec.pop("name", None))
        spec.update(kwargs)
        kwargs = spec
    else:
        family = spec
    if not isinstance(family, str):
        raise ValueError(f"noise model must be one of {NOISE_NAMES} or a NoiseModel, got {family!r}")
    family = family.lower()
    aliases = {"normal": "gaussian", "frobenius": "gaussian", "kl": "poisson",
               "negative_binomial": "nb", "negbin": "nb", "nb_shared": "nb", "nb_sample": "nb"}
    if family in ("nb_sample",):
        kwargs.setdefault("dispersion", "sample")
    family = aliases.get(family, family)
    allowed = {"gaussian": {"phi"}, "poisson": set(), "gamma": {"phi"},
               "tweedie": {"power", "phi", "powers"}, "nb": {"alpha", "dispersion", "majoriser"}}
    if family not in allowed:
        raise ValueError(f"unknown noise model {family!r}; choose one of {', '.join(NOISE_NAMES)}")
    unknown = set(kwargs) - allowed[family]
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)} for noise model {family!r}; "
                         f"allowed: {sorted(allowed[family]) or 'none'}")
    if family == "gaussian":
        return Gaussian(phi=kwargs.get("phi", 1.0), estimate_phi="phi" not in kwargs)
    if family == "poisson":
        return Poisson()
    if family == "gamma":
        return Gamma(phi=kwargs.get("phi", 1.0), estimate_phi="phi" not in kwargs)
    if family == "tweedie":
        if kwargs.get("power") is not None and kwargs.get("powers") is not None:
            raise ValueError("tweedie takes either power (fixed) or powers (a grid for the profile likelihood), "
                             f"not both; got power={kwargs['power']!r} and powers={kwargs['powers']!r}")
        if kwargs.get("power") is None:
            powers = _power_grid(kwargs.get("powers", DEFAULT_TWEEDIE_POWERS))
            if not powers:
                raise ValueError("tweedie powers is empty: list the powers to profile (e.g. [1.2, 1.4, 1.6, 1.8]) "
                                 "or give one fixed power")
            dup = sorted({p for p in powers if powers.count(p) > 1})
            if dup:
                raise ValueError(f"tweedie powers lists {dup} more than once; list each power once")
            for p in powers:  # validate the grid before any work
                Tweedie(power=p)
            check_profile_powers(powers)
            return {"family": "tweedie", "powers": powers}
        return Tweedie(power=kwargs["power"], phi=kwargs.get("phi", 1.0), estimate_phi="phi" not in kwargs)
    # nb
    dispersion, majoriser = kwargs.get("dispersion", "shared"), kwargs.get("majoriser", "tight")
    if kwargs.get("alpha") is None:
        NegativeBinomial(alpha=1.0, dispersion=dispersion, majoriser=majoriser)  # validates both
        return {"family": "nb", "dispersion": dispersion, "majoriser": majoriser}
    model = NegativeBinomial(alpha=kwargs["alpha"], dispersion=dispersion, estimate_alpha=False,  # the values
                             majoriser=majoriser)
    if dispersion == "shared" and np.ndim(kwargs["alpha"]) != 0:
        raise ValueError(f"nb with dispersion 'shared' takes one alpha, but alpha has {np.size(kwargs['alpha'])} "
                         "values; give one number, or use dispersion 'sample' for one alpha per sample")
    if dispersion == "sample" and np.ndim(kwargs["alpha"]) == 0:
        raise ValueError(f"nb with dispersion 'sample' has one alpha per sample, but alpha={kwargs['alpha']!r} is one "
                         "value: give an array with one alpha per sample, use dispersion 'shared' for one fixed "
                         "alpha, or leave alpha out to estimate it")
    return model


def _power_grid(powers) -> tuple:
    """The Tweedie grid as a tuple of floats; a string or a non-number is refused (a string would be read
    character by character)."""
    if isinstance(powers, (str, bytes)) or not np.iterable(powers):
        raise ValueError(f"tweedie powers must be a list of numbers (e.g. [1.2, 1.5, 1.8]), got {powers!r}")
    for p in powers:
        _check_number(p, "each tweedie power in powers")
    return tuple(float(p) for p in powers)


def check_profile_powers(powers):
    """A profiled grid compares Tweedie densities: powers 1 < p <= 2 only (p = 0 is a Gaussian density, p = 1
    a Poisson mass: not comparable by likelihood with the others, and fitted as their own models)."""
    bad = [p for p in powers if not 1 < p <= 2]
    if bad:
        raise ValueError(f"a profiled tweedie grid takes powers 1 < p <= 2, got {bad}: p = 1 and p = 0 are the "
                         "poisson and gaussian models; fit them as such (noise 'poisson' / 'gaussian') and remove "
                         "them from powers")


DEFAULT_TWEEDIE_POWERS = (1.1, 1.3, 1.5, 1.7, 1.9)
