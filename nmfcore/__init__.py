"""nmfcore: NMF, convex NMF and non-negative linear autoencoders under realistic noise models.

Orientation (fixed everywhere): ``X`` is samples x features (patients x 96
mutation channels, documents x terms); ``X ~ W @ H`` with ``W`` samples x rank
(exposures/weights) and ``H`` rank x features (signatures/topics as rows).
Convex NMF and the autoencoder write ``H = G @ X`` with ``G`` rank x samples.
The papers' ``V`` (features x samples) ``~ H W`` is the transpose.
"""
import importlib

# Names are imported on first use (PEP 562), so that `import nmfcore.data` -- what the workflow's data jobs
# need -- does not load the fitting machinery and scipy (about 0.5 s of every data job's start-up).
_SUBMODULES = ("io", "metrics", "simulate")
_NAMES = {"ConvergenceWarning": "._validation", "FitResult": ".fit", "fit": ".fit", "fit_many": ".fit",
          **{name: ".noise" for name in ("NOISE_NAMES", "Gamma", "Gaussian", "NegativeBinomial", "NoiseModel",
                                          "Poisson", "Tweedie", "make_noise", "nb_alpha_mle", "tweedie_logpdf")}}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nmfcore' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_NAMES))


__version__ = "0.1.0"

__all__ = [
    "fit", "fit_many", "FitResult", "io", "metrics", "simulate", "ConvergenceWarning", "NoiseModel", "Gaussian", "Poisson", "Gamma", "Tweedie",
    "NegativeBinomial", "make_noise", "nb_alpha_mle", "tweedie_logpdf", "NOISE_NAMES",
]
