"""Word counts: tokenising, document-frequency filters and subsampling of labelled corpora."""
from __future__ import annotations

import itertools
import logging
import re
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .._imports import lazy
from .channels import DataWarning

sp = lazy("scipy.sparse")

log = logging.getLogger("nmfcore.datasets")

# ----------------------------------------------------------------------------- word counts

#: Small built-in English stop list (function words; used when ``stop_words=True``).
STOP_WORDS: frozenset[str] = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
said says say mr mrs ms may might must shall upon us s t one two new
""".split())
_TOKEN = re.compile(r"[^\W\d_]+")
TOKEN_PATTERN = _TOKEN.pattern


def _tokenise_count(texts: Sequence[str], *, lowercase: bool = True) -> tuple[sp.csr_matrix, list[str]]:
    """Documents x terms counts of all letter runs; vocabulary sorted alphabetically."""
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"texts must be strings; element {bad[0]} is {type(texts[bad[0]]).__name__}")
    docs = [_TOKEN.findall(t.lower() if lowercase else t) for t in texts]
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    if lengths.sum() == 0:
        raise ValueError("no tokens in any document (the corpus is empty)")
    flat = np.fromiter(itertools.chain.from_iterable(docs), dtype=object, count=int(lengths.sum()))
    codes, vocab = pd.factorize(flat, sort=True)
    X = sp.csr_matrix((np.ones(codes.size, np.int64), (np.repeat(np.arange(len(docs)), lengths), codes)),
                      shape=(len(docs), len(vocab)))
    X.sum_duplicates()
    return X, [str(v) for v in vocab]


def _df_bound(value: float | int, n_docs: int, name: str) -> float:
    """Document-frequency bound: an int is a number of documents, a float in [0, 1] a proportion."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be an int (documents) or a float in [0, 1] (proportion), not {value!r}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} as a float is a proportion and must lie in [0, 1]")
        return float(value) * n_docs
    if value < 0:
        raise ValueError(f"{name}={value} must be >= 0")
    return float(value)


def filter_terms(X: sp.spmatrix, vocab: Sequence[str], *, min_df: float | int = 5, max_df: float | int = 0.5,
                 max_features: int | None = None, min_len: int = 3,
                 stop_words: bool | Iterable[str] = True) -> tuple[sp.csr_matrix, list[str], dict[str, int]]:
    """Filter the vocabulary of a documents x terms count matrix.

    Filters, in order: terms shorter than ``min_len``; stop words; terms in fewer than ``min_df``
    or more than ``max_df`` documents (ints = document counts, floats = proportions, as in
    scikit-learn); then the ``max_features`` most frequent terms (total count, ties broken by
    vocabulary order). The kept terms stay in their input order.

    Returns
    -------
    (scipy.sparse.csr_matrix, list of str, dict)
        Filtered matrix, vocabulary and the number of terms removed by each filter.
    """
    X = sp.csr_matrix(X)
    X.eliminate_zeros()
    terms = np.asarray(list(vocab), dtype=object)
    if terms.size != X.shape[1]:
        raise ValueError(f"vocabulary has {terms.size} terms but the matrix {X.shape[1]} columns")
    n_docs = X.shape[0]
    lo, hi = _df_bound(min_df, n_docs, "min_df"), _df_bound(max_df, n_docs, "max_df")
    if hi < lo:
        raise ValueError(f"max_df ({max_df} -> {hi:g} documents) is below min_df ({min_df} -> {lo:g}); "
                         "no term could be kept")
    stop = STOP_WORDS if stop_words is True else frozenset(stop_words or ())
    df = np.bincount(X.indices, minlength=X.shape[1])
    stats = {"n_terms_in": int(terms.size)}
    keep = np.ones(terms.size, dtype=bool)
    for key, mask in (("removed_short", np.fromiter(map(len, terms), np.int64, terms.size) >= min_len),
                      ("removed_stop_words", ~pd.Index(terms).isin(list(stop))),
                      ("removed_min_df", df >= lo), ("removed_max_df", df <= hi)):
        stats[key] = int((keep & ~mask).sum())
        keep &= mask
    if max_features is not None and keep.sum() > max_features:
        idx = np.flatnonzero(keep)
        totals = np.asarray(X[:, idx].sum(axis=0)).ravel()
        top = idx[np.argsort(-totals, kind="stable")[:max_features]]
        stats["removed_max_features"] = int(keep.sum() - top.size)
        keep = np.zeros_like(keep)
        keep[top] = True
    else:
        stats["removed_max_features"] = 0
    cols = np.flatnonzero(keep)
    if cols.size == 0:
        raise ValueError(f"no terms left after filtering ({stats}); relax min_df/max_df/min_len")
    stats["n_terms_out"] = int(cols.size)
    return X[:, cols].tocsr(), [str(t) for t in terms[cols]], stats


def count_words(texts: Sequence[str], *, min_df: float | int = 5, max_df: float | int = 0.5,
                max_features: int | None = None, min_len: int = 3, stop_words: bool | Iterable[str] = True,
                lowercase: bool = True) -> tuple[sp.csr_matrix, list[str]]:
    """Count words per document.

    Tokens are maximal runs of Unicode letters (``[^\\W\\d_]+``: digits, punctuation and
    underscores separate tokens), optionally lower-cased; the vocabulary is filtered with
    :func:`filter_terms` and sorted alphabetically (deterministic).

    Parameters
    ----------
    texts : sequence of str
        Documents.
    min_df, max_df, max_features, min_len, stop_words
        See :func:`filter_terms` (``stop_words=True`` uses :data:`STOP_WORDS`, ``False`` none,
        or give an iterable of words).
    lowercase : bool
        Lower-case before tokenising.

    Returns
    -------
    (scipy.sparse.csr_matrix, list of str)
        Documents x terms ``int64`` counts (documents may be empty after filtering) and the vocabulary.
    """
    X, vocab = _tokenise_count(texts, lowercase=lowercase)
    X, vocab, _ = filter_terms(X, vocab, min_df=min_df, max_df=max_df, max_features=max_features,
                               min_len=min_len, stop_words=stop_words)
    return X, vocab


def _subsample(n_total: int, n_docs: int | None, labels: np.ndarray | None, seed: int | None,
               stratify: bool) -> tuple[np.ndarray, str]:
    """Row indices (sorted) of a random or class-stratified subsample of size ``n_docs``."""
    if n_docs is None:
        return np.arange(n_total), "none"
    if n_docs <= 0:
        raise ValueError(f"n_docs must be positive, not {n_docs}")
    if n_docs >= n_total:
        warnings.warn(f"n_docs={n_docs} >= the {n_total} available documents; using all of them",
                      DataWarning, stacklevel=3)
        return np.arange(n_total), "none (n_docs >= available)"
    if seed is None:
        raise ValueError("subsampling documents needs an explicit seed")
    rng = np.random.default_rng(seed)
    if labels is None or not stratify:
        return np.sort(rng.choice(n_total, size=n_docs, replace=False)), "random"
    classes, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    quota = n_docs * sizes / n_total
    take = np.floor(quota).astype(np.int64)
    extra = np.argsort(-(quota - take), kind="stable")[: n_docs - take.sum()]  # largest remainders
    take[extra] += 1
    picked = [rng.choice(np.flatnonzero(inverse == k), size=take[k], replace=False) for k in range(classes.size)]
    return np.sort(np.concatenate(picked)), "stratified by class (proportional, largest remainder)"


