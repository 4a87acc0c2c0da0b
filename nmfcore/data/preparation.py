"""Preparation of a registered data set into a samples x features matrix with labels and provenance."""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .channels import DataFormatError, DataWarning
from .fetching import _atomic_write, sha256sum
from .readers import _as_counts, _check_signatures, _read_sbs96, read_ldac, read_orange_tab, read_sigmos_simulated
from .registry import DatasetSpec, get_spec
from .text import TOKEN_PATTERN, _subsample, _tokenise_count, filter_terms

log = logging.getLogger("nmfcore.datasets")

# ----------------------------------------------------------------------------- generic loading


def _resolve_files(spec: DatasetSpec, path: str | os.PathLike) -> dict[str, Path]:
    """Map each file role of ``spec`` to a path, given the primary file, any sibling or the directory."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run `python -m nmfcore.datasets fetch {spec.name} --dest DIR`")
    if len(spec.files) == 1 and path.is_file():
        return {spec.primary.role: path}
    directory = path if path.is_dir() else path.parent
    out = {}
    for dfile in spec.files:
        if path.is_file() and path.name in dfile.filenames:
            found = [path]
        else:
            found = [directory / f for f in dfile.filenames if (directory / f).is_file()]
        if not found:
            raise FileNotFoundError(f"{spec.name}: no {dfile.role!r} file in {directory}; expected one of "
                                    f"{list(dfile.filenames)} (run fetch first)")
        if len(found) > 1:
            raise DataFormatError(f"{spec.name}: ambiguous {dfile.role!r} file in {directory}: "
                                  f"{[p.name for p in found]}; remove all but one")
        out[dfile.role] = found[0]
    return out


def _provenance(files: dict[str, Path]) -> dict[str, Any]:
    out = {}
    for role, p in files.items():
        rec: dict[str, Any] = {"path": str(p), "sha256": sha256sum(p)}
        src = p.with_name(p.name + ".source.json")
        if src.is_file():
            rec["source"] = json.loads(src.read_text())
        out[role] = rec
    return out


def _base_meta(spec: DatasetSpec, files: dict[str, Path]) -> dict[str, Any]:
    return {"dataset": spec.name, "kind": spec.kind, "loader": spec.loader, "description": spec.description,
            "origin": spec.url, "licence": spec.licence, "citation": spec.citation,
            "orientation": "samples x features", "raw_files": _provenance(files)}


def _shape_meta(X: pd.DataFrame) -> dict[str, Any]:
    return {"n_samples": int(X.shape[0]), "n_features": int(X.shape[1]), "total_count": float(X.to_numpy().sum())}


def _load_sbs96(spec: DatasetSpec, files: dict[str, Path]) -> tuple[pd.DataFrame, None, dict[str, Any]]:
    path = files[spec.primary.role]
    if spec.loader == "reference":
        df, info = _read_sbs96(path, "signature")
        X = _check_signatures(df, path)
    else:
        df, info = _read_sbs96(path, "sample")
        X = _as_counts(df, path)
    return X, None, {**_base_meta(spec, files), **info, **_shape_meta(X)}


def _load_sigmos(spec: DatasetSpec, files: dict[str, Path], replicate: int = 1):
    X = read_sigmos_simulated(files[spec.primary.role], replicate)
    return X, None, {**_base_meta(spec, files), "replicate": int(replicate), **_shape_meta(X)}


def _load_text(spec: DatasetSpec, files: dict[str, Path], *, split: str | None = None, n_docs: int | None = None,
               seed: int | None = 0, min_df: float | int = 5, max_df: float | int = 0.5,
               max_features: int | None = None, classes: Sequence[str] | None = None, stratify: bool = True,
               min_len: int = 3, stop_words: bool | Iterable[str] = True, lowercase: bool = True):
    splits = [f.role for f in spec.files if f.role in ("train", "test")]
    if splits:
        split = split or "train"
        if split not in (*splits, "all"):
            raise ValueError(f"split must be one of {splits + ['all']}, not {split!r}")
        roles = splits if split == "all" else [split]
        parts = [(r, *read_orange_tab(files[r])) for r in roles]
        ids = np.array([f"{r}{i:05d}" for r, t, _ in parts for i in range(len(t))], dtype=object)
        texts = pd.concat([t for _, t, _ in parts], ignore_index=True)
        labels = pd.concat([lab for _, _, lab in parts], ignore_index=True) if parts[0][2] is not None else None
        counts0 = vocab0 = None
    else:
        if split not in (None, "all"):
            raise ValueError(f"{spec.name} has no train/test split; use split='all' (or None)")
        split = "all"
        counts0, vocab0 = read_ldac(files["counts"], files["vocab"])
        ids = np.array([f"doc{i:05d}" for i in range(counts0.shape[0])], dtype=object)
        texts, labels = None, None
    n_raw = ids.size
    meta: dict[str, Any] = {"split": split, "n_docs_raw": int(n_raw)}
    if labels is not None:
        meta["n_missing_labels_raw"] = int(labels.isna().sum())
        found = set(labels.dropna())
        if spec.classes and found != set(spec.classes):  # the registry's list is what planning checks against
            raise DataFormatError(f"{spec.name}: the files' class labels {sorted(found)} differ from the registry's "
                                  f"{sorted(spec.classes)}; the registry entry needs correcting")
    rows = np.arange(n_raw)
    if classes is not None:
        if labels is None:
            raise ValueError(f"{spec.name} has no class labels; classes= cannot be used")
        classes = list(classes)
        unknown = sorted(set(classes) - set(labels.dropna()))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}; available: {sorted(set(labels.dropna()))}")
        rows = np.flatnonzero(labels.isin(classes).to_numpy())
    meta["classes"] = classes
    strata = None if labels is None else labels.iloc[rows].fillna("<missing>").to_numpy(dtype=str)
    sub, how = _subsample(rows.size, n_docs, strata, seed, stratify)
    rows = rows[sub]
    meta.update(n_docs_requested=n_docs, seed=seed, sampling=how, n_docs_sampled=int(rows.size))
    if counts0 is not None:
        X, vocab = counts0[rows], vocab0
        meta["tokenisation"] = "none (pre-counted LDA-C)"
    else:
        X, vocab = _tokenise_count(texts.iloc[rows].tolist(), lowercase=lowercase)
        meta["tokenisation"] = {"pattern": TOKEN_PATTERN, "lowercase": lowercase}
    X, vocab, fstats = filter_terms(X, vocab, min_df=min_df, max_df=max_df, max_features=max_features,
                                    min_len=min_len, stop_words=stop_words)
    stop_meta = "builtin" if stop_words is True else (sorted(stop_words) if stop_words else "none")
    meta["filters"] = {"min_df": min_df, "max_df": max_df, "max_features": max_features, "min_len": min_len,
                       "stop_words": stop_meta, **fstats}
    # Remove empty documents, then empty terms, explicitly (NB/Tweedie updates divide by row/column sums).
    nonempty_docs = np.flatnonzero(np.diff(X.indptr) > 0)
    X = X[nonempty_docs]
    nonempty_terms = np.flatnonzero(np.bincount(X.indices, minlength=X.shape[1]) > 0)
    X = X[:, nonempty_terms]
    removed = {"n_empty_docs_removed": int(rows.size - nonempty_docs.size),
               "n_empty_terms_removed": int(len(vocab) - nonempty_terms.size)}
    if removed["n_empty_docs_removed"] or removed["n_empty_terms_removed"]:
        warnings.warn(f"{spec.name}: removed {removed['n_empty_docs_removed']} empty document(s) and "
                      f"{removed['n_empty_terms_removed']} empty term(s) after filtering (recorded in meta)",
                      DataWarning, stacklevel=3)
    rows = rows[nonempty_docs]
    vocab = [vocab[j] for j in nonempty_terms]
    if X.shape[0] * X.shape[1] > 2e8:
        warnings.warn(f"{spec.name}: dense matrix of {X.shape[0]} x {X.shape[1]} cells; consider n_docs or "
                      "max_features", DataWarning, stacklevel=3)
    frame = pd.DataFrame(X.astype(np.int32).toarray(), index=pd.Index(ids[rows].tolist(), name="sample"),
                         columns=pd.Index(vocab, name="term"))
    out_labels = None
    if labels is not None:
        out_labels = pd.Series(labels.iloc[rows].to_numpy(), index=frame.index, name="label")
        meta["n_missing_labels"] = int(out_labels.isna().sum())
        meta["class_counts"] = {str(k): int(v) for k, v in out_labels.value_counts().sort_index().items()}
    meta.update(removed)
    return frame, out_labels, {**_base_meta(spec, files), **meta, **_shape_meta(frame)}


_LOADERS: dict[str, Callable[..., tuple[pd.DataFrame, pd.Series | None, dict[str, Any]]]] = {
    "catalogue": _load_sbs96, "reference": _load_sbs96, "sigmos_simulated": _load_sigmos,
    "ldac": _load_text, "orange_tab": _load_text,
}


def prepare(name: str, path: str | os.PathLike, **options: Any) -> tuple[pd.DataFrame, pd.Series | None, dict]:
    """Load data set ``name`` from ``path`` through its registered reader.

    Parameters
    ----------
    name : str
        Registry key.
    path : path
        The file returned by :func:`fetch`, one of its siblings, or the fetch directory.
    **options
        Reader options: ``replicate`` (SigMoS simulations); the keyword arguments of
        :func:`prepare_text` (text corpora).

    Returns
    -------
    (pandas.DataFrame, pandas.Series or None, dict)
        ``X`` (samples x features), class labels (text corpora with labels) and metadata.
    """
    spec = get_spec(name)
    return _LOADERS[spec.loader](spec, _resolve_files(spec, path), **options)


def load(name: str, path: str | os.PathLike, **options: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load data set ``name`` as ``(X, meta)`` with ``X`` samples x features.

    Catalogues give samples x 96 counts (columns :data:`SBS96_CHANNELS`), the COSMIC reference
    signatures x 96, SigMoS simulations one replicate (``replicate=1``), text corpora the
    document x term counts of :func:`prepare_text` (labels in ``meta['labels']``).
    See :func:`prepare` for the arguments.
    """
    X, labels, meta = prepare(name, path, **options)
    if labels is not None:
        meta["labels"] = labels
    return X, meta


def prepare_text(name: str, path: str | os.PathLike, *, split: str | None = None, n_docs: int | None = None,
                 seed: int | None = 0, min_df: float | int = 5, max_df: float | int = 0.5,
                 max_features: int | None = None, classes: Sequence[str] | None = None, stratify: bool = True,
                 min_len: int = 3, stop_words: bool | Iterable[str] = True,
                 lowercase: bool = True) -> tuple[pd.DataFrame, pd.Series | None, dict[str, Any]]:
    """Documents x terms count matrix of a text data set, with every preprocessing choice recorded.

    Steps: read the split(s); keep ``classes`` (if given); subsample ``n_docs`` documents
    (stratified by class when labels exist and ``stratify``, else plain random; both with
    ``numpy.random.default_rng(seed)``); tokenise and count (:func:`count_words` rules; LDA-C
    data are already counts); filter the vocabulary (:func:`filter_terms`); then remove
    documents and terms left empty, explicitly, recording how many.

    Parameters
    ----------
    name : str
        A text data set ('ap', 'reuters_r8', 'reuters_r52', 'newsgroups20').
    path : path
        Fetched file or directory.
    split : {'train', 'test', 'all'} or None
        Corpus split (default 'train' where there is a split, 'all' for AP).
    n_docs : int or None
        Number of documents to subsample (None = all).
    seed : int
        Seed of the subsample.
    min_df, max_df, max_features, min_len, stop_words, lowercase
        See :func:`filter_terms` / :func:`count_words`.
    classes : sequence of str or None
        Keep only documents of these classes.
    stratify : bool
        Stratify the subsample by class (if labels exist).

    Returns
    -------
    (pandas.DataFrame, pandas.Series or None, dict)
        ``X`` (documents x terms, ``int32``; ids ``train00012``/``doc00012`` = split and row in the raw
        file), labels aligned with ``X`` (None for AP) and metadata.
    """
    spec = get_spec(name)
    if spec.kind != "text":
        raise ValueError(f"{name} is a {spec.kind} data set, not text; use load()")
    return _load_text(spec, _resolve_files(spec, path), split=split, n_docs=n_docs, seed=seed, min_df=min_df,
                      max_df=max_df, max_features=max_features, classes=classes, stratify=stratify,
                      min_len=min_len, stop_words=stop_words, lowercase=lowercase)


def _output_stem(out: Path) -> str:
    return str(out)[: -len(".tsv")] if out.name.endswith(".tsv") else str(out)


def write_prepared(X: pd.DataFrame, labels: pd.Series | None, meta: dict[str, Any], out: str | os.PathLike) -> Path:
    """Write ``OUT.tsv`` (first column ``sample``), ``OUT.meta.json`` and, with labels, ``OUT.labels.tsv``.

    Every file is written to a temporary name and renamed into place. Returns the TSV path.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = _output_stem(out)
    _atomic_write(out, X.to_csv(sep="\t", index_label="sample", float_format="%.10g"))
    meta = {**meta, "output": {"tsv": out.name, "sha256": sha256sum(out), "shape": list(X.shape)},
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    if labels is not None:
        lpath = Path(stem + ".labels.tsv")
        _atomic_write(lpath, labels.rename("label").to_csv(sep="\t", index_label="sample"))
        meta["output"]["labels"] = lpath.name
    meta.pop("labels", None)
    _atomic_write(Path(stem + ".meta.json"), json.dumps(meta, indent=2, default=_json_default) + "\n")
    return out


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Path, set, frozenset, tuple)):
        return str(obj) if isinstance(obj, Path) else list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


