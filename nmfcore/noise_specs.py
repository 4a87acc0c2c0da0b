"""Noise models by name or dict (configs, the command line): :func:`make_noise`."""
from __future__ import annotations

import numpy as np

from .noise import Gamma, Gaussian, NegativeBinomial, NoiseModel, Poisson, Tweedie

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
               "tweedie": {"power", "phi", "powers"}, "nb": {"alpha", "dispersion"}}
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
            powers = tuple(float(p) for p in kwargs.get("powers", DEFAULT_TWEEDIE_POWERS))
            if not powers:
                raise ValueError("tweedie powers is empty: list the powers to profile (e.g. [1.2, 1.4, 1.6, 1.8]) "
                                 "or give one fixed power")
            dup = sorted({p for p in powers if powers.count(p) > 1})
            if dup:
                raise ValueError(f"tweedie powers lists {dup} more than once; list each power once")
            for p in powers:  # validate the grid before any work
                Tweedie(power=p)
            return {"family": "tweedie", "powers": powers}
        return Tweedie(power=float(kwargs["power"]), phi=kwargs.get("phi", 1.0),
                       estimate_phi="phi" not in kwargs)
    # nb
    dispersion = kwargs.get("dispersion", "shared")
    if kwargs.get("alpha") is None:
        NegativeBinomial(alpha=1.0, dispersion=dispersion)  # validates dispersion
        return {"family": "nb", "dispersion": dispersion}
    if dispersion == "sample" and np.ndim(kwargs["alpha"]) == 0:
        raise ValueError(f"nb with dispersion 'sample' has one alpha per sample, but alpha={kwargs['alpha']!r} is one "
                         "value: give an array with one alpha per sample, use dispersion 'shared' for one fixed "
                         "alpha, or leave alpha out to estimate it")
    return NegativeBinomial(alpha=kwargs["alpha"], dispersion=dispersion, estimate_alpha=False)


DEFAULT_TWEEDIE_POWERS = (1.1, 1.3, 1.5, 1.7, 1.9)
