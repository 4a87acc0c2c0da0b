"""Input checks shared by the API and the command line. Every check runs before any work."""
from __future__ import annotations

import numbers
import warnings
from decimal import Decimal

import numpy as np

STRUCTURE_NAMES = ("nmf", "convex", "autoencoder")


class ConvergenceWarning(UserWarning):
    """A fit stopped at ``max_iter`` before the relative-change tolerance was met."""


def _check_frame(X, name):
    """A pandas input: no date/time columns (a conversion would fit nanoseconds) and unique labels (the factors'
    rows and columns are named by them)."""
    dtypes = list(X.dtypes) if getattr(X, "ndim", 2) == 2 else [X.dtype]  # a Series: refused as 1-D below
    timed = [str(d) for d in dtypes if getattr(d, "kind", "") in "mM"]
    if timed:
        raise ValueError(f"{name} has date/time values ({timed[0]}); they are not counts: pass numeric columns only")
    for axis, what in (("index", "sample (row)"), ("columns", "feature (column)")):
        labels = getattr(X, axis, None)
        if labels is not None and labels.has_duplicates:
            dup = list(dict.fromkeys(labels[labels.duplicated()]))[:5]
            raise ValueError(f"{name} has duplicate {what} labels {dup}; every {what.split()[0]} needs its own label "
                             "(merge or rename the duplicates)")


def check_matrix(X, *, name="X", allow_zero_rows=False, allow_zero_cols=False, allow_small=False):
    """Return ``X`` as a C-contiguous float64 array or raise ``ValueError``.

    Rejects non-numeric, non-2-D, empty, NaN/inf and negative input, and (unless
    allowed) all-zero rows or columns, with a message that says how to fix it.
    """
    if hasattr(X, "tocsr") and hasattr(X, "toarray"):  # scipy.sparse: the same counts, densified
        X = X.toarray()
    if isinstance(X, np.ma.MaskedArray):
        if np.ma.count_masked(X):
            raise ValueError(f"{name} is a masked array with {int(np.ma.count_masked(X))} masked value(s); the fit has "
                             "no missing-data mode, and dropping the mask would fit the hidden values as data: "
                             "remove those samples/features or impute the values first")
        X = X.filled()
    if hasattr(X, "to_numpy"):  # pandas: labels and column types carry meaning that a plain conversion drops
        _check_frame(X, name)
    if hasattr(X, "to_numpy"):  # pandas; nullable dtypes' NA become NaN (refused below, with their position)
        try:
            X = X.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged nested lists etc.
        raise ValueError(f"{name} could not be read as a 2-D numeric array ({exc}); "
                         "pass a rectangular array of numbers (samples x features)") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got dtype {arr.dtype}; pass the real counts")
    if arr.dtype == object:
        arr = _object_numbers(arr, name)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}; convert labels/strings "
                         "out of the matrix (samples as rows, features as columns, counts as cells)")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least 2 samples and 2 features")
    if min(arr.shape) < 2 and not allow_small:
        raise ValueError(f"{name} of shape {arr.shape} is too small: NMF needs at least 2 samples and 2 features")
    if arr.dtype == bool:
        warnings.warn(f"{name} is boolean: fitted as 0/1 counts (presence/absence)", UserWarning, stacklevel=3)
    arr = _as_float64(arr, name)
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{name} contains {int(bad.sum())} NaN/inf value(s), first at row {i}, column {j}; "
                         "remove or impute them before fitting")
    if (arr < 0).any():
        i, j = np.argwhere(arr < 0)[0]
        raise ValueError(f"{name} contains {int((arr < 0).sum())} negative value(s), first {arr[i, j]:g} at "
                         f"row {i}, column {j}; NMF needs non-negative data (counts)")
    top = float(arr.max())
    tiny = float(arr[arr > 0].min()) if (arr > 0).any() else 0.0
    if top > 1e100 or 0 < tiny < 1e-100:
        bad_value = top if top > 1e100 else tiny
        raise ValueError(f"{name} has values as {'large' if top > 1e100 else 'small'} as {bad_value:.3g}; beyond "
                         "1e+/-100 squared deviations, likelihoods and the updates under- or overflow in float64: "
                         "rescale the data (e.g. divide by a power of ten)")
    if not allow_zero_rows:
        zr = np.flatnonzero(arr.sum(axis=1) == 0)
        if zr.size:
            raise ValueError(f"{name} has {zr.size} all-zero row(s) (samples), e.g. row {zr[0]}; they carry no "
                             "information and make per-sample dispersion undefined: remove them first")
    if not allow_zero_cols:
        zc = np.flatnonzero(arr.sum(axis=0) == 0)
        if zc.size:
            raise ValueError(f"{name} has {zc.size} all-zero column(s) (features), e.g. column {zc[0]}; "
                             "remove them first (their fitted values would be forced to zero)")
    return arr


def _where(idx):
    return f"row {idx[0]}, column {idx[1]}" if len(idx) == 2 else f"index {idx}"


def _object_numbers(arr, name):
    """An object array (a list holding None, Decimal, Fraction, Python ints beyond int64, strings): exact
    numbers become float64 (as a pandas frame of them converts); a missing value or text is refused by position."""
    for idx, v in np.ndenumerate(arr):
        if v is None:
            raise ValueError(f"{name} has a missing value (None) at {_where(idx)}; remove or impute it before fitting")
        if isinstance(v, (bool, np.bool_, complex, np.complexfloating)) or not isinstance(v, (numbers.Real, Decimal)):
            raise ValueError(f"{name} must be numeric, got dtype object with {type(v).__name__} {v!r} at "
                             f"{_where(idx)}; convert labels/strings out of the matrix (samples as rows, features "
                             "as columns, counts as cells)")
    return _as_float64(arr, name)


def _finite(v):
    if isinstance(v, Decimal):
        return v.is_finite()
    return bool(np.isfinite(v)) if isinstance(v, (float, np.floating)) else True  # int, Fraction: exact


def _as_float64(arr, name):
    """``arr`` as C-contiguous float64. Values that overflow to inf or underflow to 0 in the conversion (a
    longdouble, Decimal, Fraction or huge int) are refused as such (not as NaN/inf or an all-zero row)."""
    if arr.dtype.kind not in "fO" or arr.dtype == np.float64 or arr.size == 0:
        return np.ascontiguousarray(arr, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        out = np.ascontiguousarray(arr.astype(np.float64))
    finite = np.isfinite(arr) if arr.dtype != object else np.vectorize(_finite, otypes=[bool])(arr)
    for bad, what, limit in ((np.isinf(out) & finite, "overflow", "above ~1.8e308"),
                             ((out == 0) & (arr != 0), "underflow", "below ~4.9e-324")):
        if bad.any():
            i = tuple(int(k) for k in np.argwhere(bad)[0])
            raise ValueError(f"{name} has {int(bad.sum())} value(s) that {what} float64 ({limit}), first {arr[i]!s} "
                             f"at {_where(i)}; the fit computes in float64: rescale the data (e.g. divide or "
                             "multiply by a power of ten)")
    return out


def check_rank(rank, shape, structure="nmf"):
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral):
        raise ValueError(f"rank must be an integer, got {rank!r}")
    n, m = shape
    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    if rank >= min(n, m):
        raise ValueError(f"rank must satisfy 1 <= rank < min(n_samples, n_features) = {min(n, m)} "
                         f"for X of shape {shape}, got {rank}; choose a smaller rank")
    return int(rank)


def check_structure(structure):
    if structure not in STRUCTURE_NAMES:
        raise ValueError(f"unknown structure {structure!r}; choose one of {', '.join(STRUCTURE_NAMES)}")
    return structure


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_float(value, name, allow_zero=False):
    ok = (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real) and np.isfinite(value)
          and (value >= 0 if allow_zero else value > 0))
    if not ok:
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return float(value)


def check_init(init, factor_names, shapes, structure):
    """Validate user-given starting factors: names, shapes, finite and non-negative."""
    if not isinstance(init, dict):
        raise ValueError(f"init must be a dict of starting factors {factor_names}, got {type(init).__name__}")
    missing = [k for k in factor_names if k not in init]
    if missing:
        raise ValueError(f"init for structure {structure!r} needs {factor_names}, missing {missing}")
    extra = sorted(set(init) - set(factor_names))
    if extra:
        raise ValueError(f"init for structure {structure!r} takes only {factor_names}, got extra {extra}")
    out = {}
    for k in factor_names:
        a = np.asarray(init[k], dtype=float)
        if a.shape != shapes[k]:
            raise ValueError(f"init[{k!r}] must have shape {shapes[k]} (from X and rank), got {a.shape}; "
                             "the rank must equal the number of components in init")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"init[{k!r}] must be non-negative and finite (it has negative or NaN/inf entries)")
        for axis, what in ((1, "row"), (0, "column")):
            zero = np.flatnonzero(a.sum(axis=axis) == 0)
            if zero.size:
                raise ValueError(f"init[{k!r}] has {zero.size} all-zero {what}(s), e.g. {what} {zero[0]}; a "
                                 "multiplicative update cannot leave zero, so that part of the model would stay "
                                 "empty (0/0): give every row and column a positive entry")
        out[k] = a
    return out


def check_init_scale(X, init):
    """The starting mean ``W @ H`` (``W @ G @ X``) must be representable and within 1e+/-100 of the data's
    scale: a start whose product under- or overflows gives 0/0 or inf in the first update."""
    with np.errstate(all="ignore"):
        mu = init["W"] @ (init["H"] if "H" in init else init["G"] @ X)
        ratio = float(np.mean(mu)) / float(np.mean(X))
    if not np.all(np.isfinite(mu)) or not 1e-100 < ratio < 1e100:
        what = ("overflows (inf)" if not np.all(np.isfinite(mu)) else
                f"has mean {np.mean(mu):.3g}, {'below' if ratio <= 1e-100 else 'above'} 1e+/-100 times X's mean "
                f"{np.mean(X):.3g}" + (" (it underflows)" if np.max(mu) == 0 else ""))
        product = "init['W'] @ init['H']" if "H" in init else "init['W'] @ init['G'] @ X"
        raise ValueError(f"the starting mean {product} {what}; scale the starting factors to the data (e.g. so "
                         "that W @ H is near X) or leave init out")
