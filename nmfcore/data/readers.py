"""Format readers: SBS96 catalogues (either orientation, channels by label), COSMIC references, SigMoS simulations, LDA-C and Orange tables."""
from __future__ import annotations

import gzip
import itertools
import logging
import os
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._imports import lazy
from .channels import (
    _CHANNEL_SET,
    SBS96_CHANNELS,
    ChannelLabelError,
    DataFormatError,
    DataWarning,
    sbs96_channel,
)

sp = lazy("scipy.sparse")

log = logging.getLogger("nmfcore.datasets")

# ----------------------------------------------------------------------------- low-level parsing


def _read_text(path: str | os.PathLike) -> str:
    """Read a (possibly gzip-compressed) UTF-8 text file, with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; fetch the data set first (python -m nmfcore.datasets fetch)")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataFormatError(f"{path}: truncated or corrupt gzip file ({exc}); re-create it (a downloaded "
                                  "data set: fetch it again)") from None
    if not raw.strip():
        raise DataFormatError(f"{path}: the file is empty; expected a header line and one row per label: check "
                              "that the path names the right file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text ({exc}); is this the right file?") from None


def _to_numbers(cells: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: Path,
                what: tuple[str, str]) -> np.ndarray:
    """Convert a 2-D array of strings to float, failing on non-numeric, missing, infinite or negative cells."""
    flat = pd.to_numeric(pd.Series(cells.ravel(), dtype=object), errors="coerce").to_numpy(dtype=float)
    values = flat.reshape(cells.shape)
    for bad, problem in ((~np.isfinite(values), "non-numeric or missing"), (values < 0, "negative")):
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataFormatError(
                f"{path}: {problem} count {cells[r, c]!r} at {what[0]} {rows[r]!r}, {what[1]} {cols[c]!r} "
                f"({int(bad.sum())} such cell(s)); counts must be non-negative numbers - fix or remove them")
    return values


def _parse_table(path: Path) -> tuple[list[str], list[str], np.ndarray, str]:
    """Parse a delimited table with a label column and a header row.

    Handles a corner cell in the header (SigProfiler, ``N+1`` header fields) or none (R
    ``write.table``: ``N`` header fields, ``N+1`` fields per row), CRLF line ends and a trailing
    delimiter on every line (an empty last column, as in SigProfilerMatrixGenerator's ``.all``).

    Returns ``(row_labels, column_labels, cells, layout)`` with ``cells`` a 2-D array of strings (labels and
    cells without surrounding blanks and double quotes).
    """
    lines = _read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    sep = "\t" if "\t" in lines[0] else ","
    rows = [line.split(sep) for line in lines]
    if len(rows) < 2:
        raise DataFormatError(f"{path}: only a header line; expected a header and one row per label")
    if all(r[-1] == "" for r in rows) and len(rows[0]) > 1:
        rows = [r[:-1] for r in rows]  # trailing delimiter: an empty, unnamed last column on every line
    n_head = len(rows[0])
    lengths = np.fromiter(map(len, rows[1:]), dtype=np.int64, count=len(rows) - 1)
    expected = lengths[0] if lengths[0] in (n_head, n_head + 1) else n_head
    bad = np.flatnonzero(lengths != expected)
    if bad.size or expected not in (n_head, n_head + 1):
        i = int(bad[0]) if bad.size else 0
        raise DataFormatError(
            f"{path}: ragged rows - the header has {n_head} fields but line {i + 2} has {lengths[i]} "
            f"(expected {expected}); every row must have the same number of {sep!r}-separated fields")
    strip = (lambda s: s.strip().strip('"'))
    header = [strip(h) for h in rows[0]]
    layout = "corner_cell" if expected == n_head else "r_write_table"
    cols = header[1:] if layout == "corner_cell" else header
    labels = [strip(r[0]) for r in rows[1:]]
    cells = np.array([[strip(x) for x in r[1:]] for r in rows[1:]], dtype=object)  # "58": every field quoted
    return labels, cols, cells, layout


def _check_unique(labels: Sequence[str], what: str, path: Path, fix: str, where: str = "",
                  error=DataFormatError) -> None:
    idx = pd.Index(labels)
    dup = idx[idx.duplicated()].unique()
    if len(dup):
        raise error(f"{path}: duplicated {what} label(s) {list(dup[:5])}{where}; {fix}")


def _check_channels(labels: Sequence[str], path: Path, where: str = "") -> None:
    """Check that ``labels`` are exactly the 96 SBS channels (each once); ``where``: the axis in the file."""
    _check_unique(labels, "channel", path,
                  "each of the 96 SBS channels must appear exactly once - remove or merge the duplicates", where,
                  ChannelLabelError)
    unknown = [c for c in labels if c not in _CHANNEL_SET]
    if unknown:
        raise ChannelLabelError(
            f"{path}: unknown channel label(s) {unknown[:5]}; expected SBS96 labels such as 'A[C>A]A' "
            "(5' base, [REF>ALT] with a pyrimidine reference C or T, 3' base) - relabel the file")
    missing = [c for c in SBS96_CHANNELS if c not in set(labels)]
    if missing:
        raise ChannelLabelError(
            f"{path}: missing channel(s) - {len(labels)} of 96 SBS channels present{where}, absent: "
            f"{missing[:10]}{' ...' if len(missing) > 10 else ''}; "
            "the catalogue must contain all 96 channels (add the missing ones with zero counts if truly zero)")


def _is_number(text) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _spelled_channels(labels, cols, cells):
    """Channel labels in another spelling (:func:`sbs96_channel`) made canonical, on the axis where at least 90
    of them are channels; and a channel spelled over the leading text columns of each row (Alexandrov et al.
    2013, COSMIC v2: substitution type ``C>A`` and trinucleotide ``ACA``, sometimes also ``A[C>A]A``) made one
    row label, those columns removed. Other labels are left as they are (and named if they are wrong)."""
    def canonical(names):
        mapped = [sbs96_channel(x) for x in names]
        return [m or x for m, x in zip(mapped, names)] if sum(m is not None for m in mapped) >= 90 else None

    text = 0
    while text < cells.shape[1] and not all(_is_number(x) or not x for x in cells[:, text]):
        text += 1
    if text:  # leading text columns: one of them, or two joined, may spell the channel
        columns = [list(labels)] + [list(cells[:, j]) for j in range(text)]
        joined = [[f"{a}:{b}" for a, b in zip(first, second)] for first in columns for second in columns
                  if first is not second]
        for names in columns + joined:
            found = canonical(names)
            if found is not None:
                return found, cols[text:], cells[:, text:]
    return canonical(labels) or labels, canonical(cols) or cols, cells


def _read_sbs96(path: str | os.PathLike, entity: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read any SBS96 table (either orientation) as ``entity`` x 96 floats, columns in SBS96 order."""
    path = Path(path)
    labels, cols, cells, layout = _parse_table(path)
    labels, cols, cells = _spelled_channels(labels, cols, cells)
    hits_rows = sum(lab in _CHANNEL_SET for lab in labels)
    hits_cols = sum(c in _CHANNEL_SET for c in cols)
    if hits_rows == hits_cols == 0:
        raise ChannelLabelError(
            f"{path}: no SBS96 channel labels (e.g. 'A[C>A]A') in the first column or the header; "
            "is this a 96-channel mutational catalogue?")
    channels_in_rows = hits_rows >= hits_cols
    channels, entities = (labels, cols) if channels_in_rows else (cols, labels)
    where = (" in the first column", " in the header") if channels_in_rows else (" in the header", " in the first column")
    _check_channels(channels, path, where[0])
    if not entities:
        raise DataFormatError(f"{path}: no {entity}s (only channel labels); expected one column per {entity}")
    _check_unique(entities, entity, path, f"{entity} ids must be unique - rename or remove the duplicates", where[1])
    values = _to_numbers(cells, labels, cols, path,
                         ("channel", entity) if channels_in_rows else (entity, "channel"))
    if channels_in_rows:
        values = values.T
    df = pd.DataFrame(values, index=pd.Index(entities, name="sample"), columns=pd.Index(channels, name="channel"))
    df = df.reindex(columns=list(SBS96_CHANNELS))  # by label; all 96 present (checked above)
    info = {"layout": layout, "source_orientation": "channels x " + entity + "s" if channels_in_rows
            else entity + "s x channels", "source_channel_order": "alphabetical (SBS96_CHANNELS)"
            if list(channels) == list(SBS96_CHANNELS) else "other (reordered by label)"}
    return df, info


def _as_counts(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    values = df.to_numpy()
    if np.array_equal(values, np.round(values)):
        return df.astype(np.int64)
    warnings.warn(f"{path}: non-integer counts (e.g. {values[values != np.round(values)][0]!r}); "
                  "keeping them as floats", DataWarning, stacklevel=3)
    return df


# ----------------------------------------------------------------------------- public readers


def read_catalogue(path: str | os.PathLike) -> pd.DataFrame:
    """Read a 96-channel SBS mutational catalogue as a samples x 96 DataFrame.

    Accepted layouts (tab- or comma-separated, optionally gzip-compressed):

    * SigProfiler, 96 rows x N samples with a corner cell (``Mutation Types``, ``MutationType``,
      ``Type``...) in the header, rows in any channel order (also the SigMoS TSV in COSMIC
      display order);
    * R ``write.table`` (GEL): the header holds the N sample names only, each row has N+1 fields;
    * samples x 96 (e.g. this project's canonical TSV, first column ``sample``).

    Channels are matched by their ``5'[REF>ALT]3'`` label and the columns are returned in
    :data:`SBS96_CHANNELS` order.

    Parameters
    ----------
    path : path
        Catalogue file.

    Returns
    -------
    pandas.DataFrame
        Index = sample ids (``sample``), columns = :data:`SBS96_CHANNELS`; ``int64`` when every
        count is integral (else float with a :class:`DataWarning`).

    Raises
    ------
    DataFormatError
        Empty file, truncated gzip, ragged rows, duplicated/unknown/missing channel labels,
        duplicated sample ids, non-numeric, missing or negative counts.
    """
    df, _ = _read_sbs96(path, "sample")
    return _as_counts(df, Path(path))


def read_reference(path: str | os.PathLike, *, atol: float = 1e-3) -> pd.DataFrame:
    """Read reference signatures (COSMIC/SigProfiler: 96 rows x signatures) as signatures x 96.

    Parameters
    ----------
    path : path
        Reference file (first column ``Type`` holding the channel labels).
    atol : float
        A :class:`DataWarning` is issued for signatures whose entries do not sum to 1 within ``atol``.

    Returns
    -------
    pandas.DataFrame
        Index = signature names (``signature``), columns = :data:`SBS96_CHANNELS`, float.
    """
    df, _ = _read_sbs96(path, "signature")
    return _check_signatures(df, Path(path), atol)


def _check_signatures(df: pd.DataFrame, path: Path, atol: float = 1e-3) -> pd.DataFrame:
    df.index.name = "signature"
    sums = df.sum(axis=1)
    off = sums[(sums - 1).abs() > atol]
    if len(off):
        warnings.warn(f"{path}: {len(off)} signature(s) do not sum to 1 (e.g. {off.index[0]}: {off.iloc[0]:.6g}); "
                      "they are returned unchanged", DataWarning, stacklevel=3)
    return df


def read_sigmos_simulated(path: str | os.PathLike, replicate: int = 1) -> pd.DataFrame:
    """Read one replicate (100 patients x 96) of a SigMoS published simulation (long CSV).

    Parameters
    ----------
    path : path
        ``SigMoS_SimulatedData*.csv.gz`` with columns ``replicate, patient, <96 channel labels>``.
    replicate : int
        Replicate number (1-based, as in the file).

    Returns
    -------
    pandas.DataFrame
        Index ``r{replicate:03d}_p{patient:03d}``, columns :data:`SBS96_CHANNELS`, int64.
    """
    path = Path(path)
    labels, cols, cells, layout = _parse_table(path)
    header = ["replicate", "patient"]
    if layout != "corner_cell" or cols[:1] != ["patient"] or not cells.size:
        raise DataFormatError(f"{path}: expected a header 'replicate,patient,<96 channels>' and one row per "
                              "(replicate, patient); is this a SigMoS simulation CSV?")
    _check_channels(cols[1:], path)
    ids = _to_numbers(np.column_stack([labels, cells[:, 0]]), labels, header, path, ("row", "column"))
    reps = ids[:, 0].astype(np.int64)
    available = np.unique(reps)
    if replicate not in available:
        raise ValueError(f"{path}: replicate {replicate} not present; available {available.min()}..{available.max()}")
    sel = np.flatnonzero(reps == replicate)
    patients = ids[sel, 1].astype(np.int64)
    index = [f"r{replicate:03d}_p{p:03d}" for p in patients]
    _check_unique(index, "patient", path, "each (replicate, patient) pair must appear once")
    values = _to_numbers(cells[sel, 1:], index, cols[1:], path, ("patient", "channel"))
    df = pd.DataFrame(values, index=pd.Index(index, name="sample"),
                      columns=pd.Index(cols[1:], name="channel")).reindex(columns=list(SBS96_CHANNELS))
    return _as_counts(df, path)


def read_ldac(path: str | os.PathLike, vocab: str | os.PathLike | Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
    """Read an LDA-C sparse count file (``N id:count id:count ...`` per document).

    Parameters
    ----------
    path : path
        LDA-C file, one document per line, 0-based term ids.
    vocab : path or sequence of str
        Vocabulary file (one term per line) or the terms themselves.

    Returns
    -------
    (scipy.sparse.csr_matrix, list of str)
        Documents x terms ``int64`` counts (shape ``n_docs x len(vocab)``) and the vocabulary.
    """
    path = Path(path)
    if isinstance(vocab, (str, os.PathLike)):
        vpath = Path(vocab)
        terms = [t.strip() for t in _read_text(vpath).splitlines()]
        while terms and not terms[-1]:
            terms.pop()
        if not all(terms):
            raise DataFormatError(f"{vpath}: blank line {terms.index('') + 1} in the vocabulary; one term per line")
    else:
        vpath, terms = Path("<vocab>"), list(vocab)
    _check_unique(terms, "term", vpath, "each vocabulary term must appear once")
    lines = _read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    docs = [line.split() for line in lines]
    blank = [i for i, d in enumerate(docs) if not d]
    if blank:
        raise DataFormatError(f"{path}: blank line {blank[0] + 1}; an empty document is written as '0' in LDA-C")
    n_pairs = np.fromiter((len(d) - 1 for d in docs), dtype=np.int64, count=len(docs))
    try:
        declared = np.array([int(d[0]) for d in docs], dtype=np.int64)
        pairs = [p.split(":") for p in itertools.chain.from_iterable(d[1:] for d in docs)]
        ids = np.array([p[0] for p in pairs], dtype=np.int64)
        counts = np.array([p[1] for p in pairs], dtype=np.int64)
    except (ValueError, IndexError):
        raise DataFormatError(f"{path}: malformed LDA-C line (expected 'N id:count ...' with integers)") from None
    bad = np.flatnonzero(declared != n_pairs)
    if bad.size:
        raise DataFormatError(f"{path}: ragged rows - line {bad[0] + 1} declares {declared[bad[0]]} terms but lists "
                              f"{n_pairs[bad[0]]} id:count pairs; the file is truncated or corrupt")
    if ids.size and (ids.min() < 0 or ids.max() >= len(terms)):
        raise DataFormatError(f"{path}: term id {ids.max() if ids.max() >= len(terms) else ids.min()} outside the "
                              f"vocabulary (0..{len(terms) - 1}); wrong vocabulary file?")
    if (counts < 0).any():
        raise DataFormatError(f"{path}: negative count {counts.min()}; counts must be non-negative")
    rows = np.repeat(np.arange(len(docs)), n_pairs)
    if np.unique(rows * len(terms) + ids).size < ids.size:
        raise DataFormatError(f"{path}: a term id repeats within a document; LDA-C lists each term once per line")
    X = sp.csr_matrix((counts, (rows, ids)), shape=(len(docs), len(terms)), dtype=np.int64)
    return X, terms


def read_orange_tab(path: str | os.PathLike) -> tuple[pd.Series, pd.Series | None]:
    """Read an Orange ``.tab`` text corpus (3 header lines: names, types, flags; then one row per document).

    Parameters
    ----------
    path : path
        ``.tab`` or ``.tab.gz`` file.

    Returns
    -------
    (pandas.Series, pandas.Series or None)
        Texts (the first ``string``/``text`` column, preferring one named ``Text``) and class labels
        (the column flagged ``class``; empty labels become ``<NA>``), both indexed 0..n-1 in file order.
        Completely empty lines are not documents and are skipped; a row of empty fields is kept
        as an empty document (removed and counted later by :func:`prepare_text`).
    """
    path = Path(path)
    lines = _read_text(path).splitlines()
    if len(lines) < 3:
        raise DataFormatError(f"{path}: fewer than the 3 Orange header lines (names, types, flags)")
    names, types, flags = (lines[i].split("\t") for i in range(3))
    n = len(names)
    types += [""] * (n - len(types))
    flags += [""] * (n - len(flags))
    text_cols = [i for i in range(n) if types[i] in ("string", "text", "s")]
    if not text_cols:
        raise DataFormatError(f"{path}: no string column in the Orange header {names}; not a text corpus")
    tcol = next((i for i in text_cols if names[i].lower() == "text"), text_cols[0])
    ccol = next((i for i in range(n) if "class" in flags[i].split()), None)
    rows = [line.split("\t") for line in lines[3:] if line]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    bad = np.flatnonzero(lengths != n)
    if bad.size:
        raise DataFormatError(f"{path}: ragged rows - a document row has {lengths[bad[0]]} tab-separated fields, the "
                              f"header has {n}; the text must not contain tabs")
    if not rows:
        raise DataFormatError(f"{path}: no documents after the header")
    texts = pd.Series([r[tcol] for r in rows], dtype=object, name="text")
    labels = None
    if ccol is not None:
        labels = pd.Series([r[ccol].strip() or pd.NA for r in rows], dtype=object, name="label")
    return texts, labels


