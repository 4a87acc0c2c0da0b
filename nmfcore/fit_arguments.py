"""The arguments of nmfcore.fit / fit_many checked before any work: the settings (with the rule for every
contradiction a user can pass), each data matrix against the noise model and its start, and the seeds."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from . import _validation as V
from ._kernels import STRUCTURES
from .discrete import is_count_data
from .noise import NegativeBinomial, NoiseModel, Poisson, Tweedie, make_noise

#: settings of the Adam solver (structure 'autoencoder'); MM updates have neither
ADAM_ONLY = ("lr", "ae_constraint")
#: settings of the MM updates (structures 'nmf', 'convex'); Adam has none of them
MM_ONLY = ("accelerate",)


def settings_for(structure, settings):
    """``settings`` without the options of the other solver: a grid's settings shared by structures fitted by
    MM and by Adam (``fit`` refuses Adam options with MM updates and MM ones with Adam)."""
    other = MM_ONLY if structure == "autoencoder" else ADAM_ONLY
    return {k: v for k, v in settings.items() if k not in other}


def check_settings(structure, rank, kw):
    """Validate the settings that do not depend on the data; returns (noise spec, driver options)."""
    V.check_structure(structure)
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
        raise ValueError(f"rank must be an integer, got {rank!r}")
    opts = dict(kw)
    for name in ("n_restarts", "max_iter", "check_every", "nb_rounds"):
        opts[name] = V.check_positive_int(opts[name], name)
    opts["pre_iter"] = V.check_positive_int(opts["pre_iter"], "pre_iter", minimum=0)
    opts["tol"] = V.check_positive_float(opts["tol"], "tol", allow_zero=True)
    if opts["tol"] >= 1:
        raise ValueError(f"tol must be in [0, 1) (a relative change of the divergence), got {opts['tol']!r}; "
                         "e.g. 1e-6")
    opts["nb_tol"] = V.check_positive_float(opts["nb_tol"], "nb_tol")
    solver = opts["solver"] or ("adam" if structure == "autoencoder" else "mm")
    if solver not in ("mm", "adam"):
        raise ValueError(f"solver must be 'mm' or 'adam', got {solver!r}")
    if structure == "autoencoder" and solver == "mm":  # would be a convex-NMF fit labelled autoencoder
        raise ValueError("structure 'autoencoder' is trained by Adam (solver='adam'); for MM updates of the same "
                         "model use structure='convex'")
    opts["solver"] = solver
    if solver == "mm":  # Adam's options have no meaning for MM updates: say so rather than ignore them
        given = [k for k in ADAM_ONLY if opts[k] is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to Adam "
                             f"(structure='autoencoder'); the MM updates of "
                             f"structure={structure!r} take no step size or constraint: remove {given[0]}")
    opts["lr"] = 1e-4 if opts["lr"] is None else opts["lr"]
    opts["ae_constraint"] = opts["ae_constraint"] or "abs"
    if opts["ae_constraint"] not in ("abs", "project"):
        raise ValueError(f"ae_constraint must be 'abs' or 'project', got {opts['ae_constraint']!r}")
    check_budget(opts["n_restarts"], opts["pre_iter"], opts["max_iter"])
    if opts["pre_iter"] and opts["n_restarts"] == 1:
        warnings.warn(f"pre_iter={opts['pre_iter']} only applies with n_restarts > 1 (pre-iterations choose among "
                      "restarts); ignored with one start", UserWarning, stacklevel=3)

    opts["accelerate"] = check_accelerate(opts.get("accelerate"), solver, opts["check_every"])  # None: by noise
    if opts["ae_init"] not in ("scaled", "uniform"):
        raise ValueError(f"ae_init must be 'scaled' or 'uniform', got {opts['ae_init']!r}")
    if solver == "adam":
        opts["lr"] = V.check_positive_float(opts["lr"], "lr")
        if opts["lr"] > 1:
            raise ValueError(f"lr must be in (0, 1] (Adam's step size; default 1e-4, paper 2 used 1e-3 to 1e-2), "
                             f"got {opts['lr']!r}")
    if str(opts["dtype"]) not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {opts['dtype']!r}")
    opts["dtype"] = np.dtype(str(opts["dtype"]))
    if opts["dtype"] == np.float32 and 0 < opts["tol"] < 1e-6:
        # kept as given: consecutive float32 losses then differ by 0 or by at least ~6e-8, so the rule stops
        # when the loss repeats exactly, which is what float32 training in PyTorch does with such a tol (paper 2)
        warnings.warn(f"tol={opts['tol']} is below float32 resolution: the fit stops only when the float32 loss "
                      "repeats exactly (or at max_iter); use dtype='float64' for convergence to this tol",
                      UserWarning, stacklevel=3)
    return make_noise(opts.pop("noise")), opts


def check_accelerate(acc, solver, check_every):
    """SQUAREM for the MM iterations: True/False as given (checked against the solver and check_every), or None
    ('auto': decided per noise model by the driver, nmfcore.fit._accelerated)."""
    if isinstance(acc, str) and acc == "auto":
        acc = None
    if not (acc is None or isinstance(acc, (bool, np.bool_))):
        raise ValueError(f"accelerate must be True, False or None / 'auto' (on for the negative binomial), got "
                         f"{acc!r}")
    if acc and solver == "adam":
        raise ValueError("accelerate applies to MM updates; structure 'autoencoder' is trained by Adam: remove "
                         "accelerate, or fit structure='convex' (the same model by MM updates)")
    if acc and check_every < 3:
        raise ValueError(f"accelerate=True needs check_every >= 3 (its cycles of three MM steps fit between "
                         f"convergence checks), got check_every={check_every}: raise check_every or drop accelerate")
    return None if acc is None else bool(acc)


def check_budget(n_restarts, pre_iter, max_iter):
    """pre_iter runs every restart before the best continues: it must be below max_iter (also checked when the
    workflow plans its fits)."""
    if pre_iter and pre_iter >= max_iter:
        raise ValueError(f"pre_iter={pre_iter} must be below max_iter={max_iter}: the restarts are pre-iterated "
                         "before the best one continues to max_iter; lower pre_iter")


def check_data(X, rank, structure, spec, init, name="X"):
    """Validate one data matrix (and its start) against the model; returns (X, init)."""
    X = V.check_matrix(X, name=name)
    n, m = X.shape
    rank = V.check_rank(rank, X.shape)
    probe = spec if isinstance(spec, NoiseModel) else (
        Tweedie(power=min(spec["powers"])) if spec["family"] == "tweedie" else Poisson())
    probe.check_data(X)
    if isinstance(spec, dict) and spec["family"] == "tweedie":
        Tweedie(power=max(spec["powers"])).check_data(X)
    mass = (isinstance(spec, dict) and spec["family"] == "nb") or isinstance(spec, NegativeBinomial) or (
        isinstance(spec, Tweedie) and spec.power == 1)
    if mass and not is_count_data(X):
        warnings.warn(f"{name} has non-integer values: the fit (divergence minimisation) is valid, but a Poisson/NB "
                      "log-likelihood and BIC are not probabilities of these data; compare models by divergence, "
                      "or use a density family (gaussian, gamma, tweedie)", UserWarning, stacklevel=4)
    if init is not None:
        fn = STRUCTURES[structure].factor_names
        shapes = {"W": (n, rank), "H": (rank, m), "G": (rank, n)}
        init = V.check_init(init, fn, {k: shapes[k] for k in fn}, structure)
        V.check_init_scale(X, init)
    return X, init


def rngs(random_state, count):
    """One generator and recorded seed per member (a single seed or generator serves every member)."""
    if isinstance(random_state, (list, tuple, np.ndarray)):
        if len(random_state) != count:
            raise ValueError(f"random_state has {len(random_state)} seeds for {count} data matrices; give one "
                             "seed per matrix or a single seed")
        return [rngs(s, 1)[0][0] for s in random_state], list(random_state)
    if isinstance(random_state, np.random.Generator):
        return [random_state] * count if count == 1 else [np.random.default_rng(random_state.bit_generator.random_raw())
                                                          for _ in range(count)], [None] * count
    if random_state is not None and (isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral)
                                     or random_state < 0):
        raise ValueError(f"random_state must be a non-negative whole number, a numpy Generator or None, got "
                         f"{random_state!r}")
    return [np.random.default_rng(random_state) for _ in range(count)], [random_state] * count
