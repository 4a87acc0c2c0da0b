"""nmfcore: NMF, convex NMF and non-negative linear autoencoders under realistic noise models.

Orientation (fixed everywhere): ``X`` is samples x features (patients x 96
mutation channels, documents x terms); ``X ~ W @ H`` with ``W`` samples x rank
(exposures/weights) and ``H`` rank x features (signatures/topics as rows).
Convex NMF and the autoencoder write ``H = G @ X`` with ``G`` rank x samples.
The papers' ``V`` (features x samples) ``~ H W`` is the transpose.
"""
from . import io, metrics, simulate
from ._validation import ConvergenceWarning
from .fit import FitResult, fit, fit_many
from .noise import (NOISE_NAMES, Gamma, Gaussian, NegativeBinomial, NoiseModel, Poisson, Tweedie,
                    make_noise, nb_alpha_mle, tweedie_logpdf)

__version__ = "0.1.0"

__all__ = [
    "fit", "fit_many", "FitResult", "io", "metrics", "simulate", "ConvergenceWarning", "NoiseModel", "Gaussian", "Poisson", "Gamma", "Tweedie",
    "NegativeBinomial", "make_noise", "nb_alpha_mle", "tweedie_logpdf", "NOISE_NAMES",
]
