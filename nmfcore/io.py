"""Reading labelled matrices and writing fit results (labels kept at the I/O boundary)."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .fit import FitResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_matrix", "read_user_matrix", "write_result", "read_result", "RESULT_FILES", "check_output_dir", "ResultError",
           "is_result_folder"]

#: every file write_result may write; a result folder holds one consistent set of them
RESULT_FILES = ("W.tsv", "H.tsv", "G.tsv", "trace.tsv", "summary.json")
#: what ``python -m nmfcore select`` writes into its folder (besides best/, a result folder)
SELECT_FILES = ("selection.tsv", "selection.png", "cosmic_matches.tsv", "best")
#: the mark of a summary.json written by write_result (earlier versions: its four top-level keys)
RESULT_FORMAT = "nmfcore.result/1"
_LEGACY_SUMMARY_KEYS = {"row", "noise", "nuisance_path", "restarts"}
_SELECTION_HEADER = "noise\tstructure\trank\tseed\t"


class ResultError(ValueError):
    """A result folder that is not a complete, consistent result of :func:`write_result`."""


def _summary(folder: Path):
    """summary.json of ``folder`` as a dict, or None where it is missing or not a JSON object."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def is_result_folder(folder) -> bool:
    """Whether ``folder`` holds a result written by :func:`write_result` (its summary.json says so)."""
    summary = _summary(Path(folder))
    return summary is not None and (summary.get("format") == RESULT_FORMAT or _LEGACY_SUMMARY_KEYS <= set(summary))


def is_select_folder(folder) -> bool:
    """Whether ``folder`` holds the output of an earlier ``select``: its selection.tsv, and best/ a result."""
    folder = Path(folder)
    try:
        with open(folder / "selection.tsv") as fh:
            ok = fh.readline().startswith(_SELECTION_HEADER)
    except (OSError, UnicodeDecodeError):
        return False
    return ok and (not (folder / "best").exists() or is_result_folder(folder / "best"))


def _check_not_foreign(out: Path, select: bool):
    """Refuse a folder holding files a result would replace or delete unless they are an earlier result."""
    names, own = (SELECT_FILES, is_select_folder) if select else (RESULT_FILES, is_result_folder)
    theirs = [name for name in names if (out / name).exists()]
    if theirs and not own(out):
        what = "select output (selection.tsv)" if select else "nmfcore result (summary.json written by nmfcore)"
        raise ValueError(f"output {out} already holds {', '.join(theirs)} and is not an earlier {what}; writing "
                         "there would replace or delete them: choose a new or empty output folder")


def check_output_dir(outdir, inputs=(), select=False):
    """Raise ``ValueError`` (before any work) if ``outdir`` cannot take a result, holds files of something
    else that the result would replace (an earlier result is replaced: documented), or writing it would
    overwrite one of ``inputs``. ``select``: the folder of ``python -m nmfcore select``."""
    if not str(outdir).strip():
        raise ValueError(f"output folder {str(outdir)!r} is empty; give a folder path (e.g. --out fit1)")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} exists and is not a directory; choose a directory path")
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"output {out} cannot be created: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"output {out} cannot be written: no write permission in {ancestor}; choose another "
                         "folder")
    targets = {(out / name).resolve() for name in RESULT_FILES}
    for path in inputs:
        if Path(path).resolve() in targets:
            raise ValueError(f"writing the result to {out} would overwrite the input {path} (a result folder "
                             f"holds {', '.join(RESULT_FILES)}); choose another output folder")
    if out.is_dir():
        _check_not_foreign(out, select)


#: cells read as missing (pandas' defaults); labels are never read as missing
_NA_CELLS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
             "NA", "NULL", "NaN", "None", "n/a", "nan", "null")

_SBS96 = re.compile(r"^[ACGT]\[[CT]>[ACGT]\][ACGT]$")


def is_sbs96_labels(labels) -> bool:
    """Whether ``labels`` are the 96 SBS channel labels (e.g. ``A[C>A]A``), in any order."""
    labels = [str(x) for x in labels]
    return len(labels) == 96 and len(set(labels)) == 96 and all(_SBS96.match(x) for x in labels)


def _open_text(path: Path):
    if path.suffix == ".gz":
        import gzip

        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _check_input(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"input file {path} does not exist; check the path")
    if not path.is_file():
        raise ValueError(f"input {path} is a directory, not a file; pass the TSV or CSV file")


def read_matrix(path, *, transpose=False, orient=True) -> pd.DataFrame:
    """Read a labelled matrix: sample ids in the first column, feature labels in the header.

    Tab- or comma-separated (by the ``.csv`` suffix or the header line), optionally gzipped (``.gz``).
    ``transpose=True`` reads features x samples files (e.g. 96 channels x patients). With ``orient``, a
    file whose *rows* carry the 96 SBS channel labels (SigProfiler's channels x samples layout) is
    transposed to samples x channels (with a warning), and ``transpose=True`` on a file whose columns
    already carry them is an error. Raises ``ValueError`` naming the file, and a cell or label by its row and
    column labels as they are in the file, for ragged rows, non-numeric, missing, negative or infinite cells,
    duplicated or empty labels or an empty table. (:func:`read_user_matrix` also reads catalogues by label.)
    """
    import pandas as pd  # imported on use: `import nmfcore` does not need pandas (~0.2 s)

    path = Path(path)
    _check_input(path)
    try:
        with _open_text(path) as fh:
            header = fh.readline().rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc}); if it is gzipped, re-create or re-download it") from None
    csv = path.name.removesuffix(".gz").endswith(".csv") or ("\t" not in header and "," in header)
    sep, what = (",", "CSV") if csv else ("\t", "TSV")
    _check_separator(path, header)
    try:
        df = _read_labelled(path, sep, len(header.split(sep)))
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: malformed {what} ({exc}); every row needs the same number of "
                         f"{'comma' if csv else 'tab'}-separated fields as the header") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected a header of feature labels and one row per sample") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}: {exc.object[exc.start:exc.end]!r}); "
                         "save it as UTF-8, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8 for a Latin-1 "
                         "file") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc}); if it is gzipped, re-create or re-download it") from None
    labels = [x.strip('"') for x in header.split(sep)[1:]]
    if orient and not transpose and is_sbs96_labels(df.index) and not is_sbs96_labels(labels):
        import warnings

        warnings.warn(f"{path}: the rows carry the 96 SBS channel labels, so the file is read as channels x "
                      "samples and transposed to samples x channels", UserWarning, stacklevel=2)
        transpose = True
    elif orient and transpose and is_sbs96_labels(labels):
        raise ValueError(f"{path}: the columns already carry the 96 SBS channel labels (samples x channels); "
                         "do not ask to transpose it")
    axes = ("feature", "sample") if transpose else ("sample", "feature")  # what the file's rows and columns hold
    _check_labels(path, df, labels, axes)
    if df.shape[0] == 0 or df.shape[1] == 0:
        shape = df.shape[::-1] if transpose else df.shape
        raise ValueError(f"{path} holds no data (shape {shape}); expected samples x features")
    _check_cells(path, df, axes)
    _check_values(path, df, axes)
    return df.T if transpose else df


#: an axis carrying at least this many of the 96 SBS channel labels is a catalogue's channel axis
SBS96_MIN_LABELS = 90


def _label_axes(path: Path):
    """The file's row labels (first column) and column labels (header), read without the cells."""
    with _open_text(path) as fh:
        lines = [line.rstrip("\r\n") for line in fh]
    header = lines[0] if lines else ""
    sep = "," if path.name.removesuffix(".gz").endswith(".csv") or ("\t" not in header and "," in header) else "\t"
    clean = (lambda x: x.strip().strip('"'))
    return [clean(line.split(sep, 1)[0]) for line in lines[1:] if line.strip()], [clean(x) for x in header.split(sep)]


def _sbs96_hits(labels) -> int:
    """How many distinct SBS96 channels ``labels`` name, in any spelling (:func:`~nmfcore.data.channels.sbs96_channel`),
    or how many are substitution types (``C>A``: the channel spelled over two columns, the other the trinucleotide)."""
    from .data.channels import _SUBSTITUTIONS, sbs96_channel

    channels = {sbs96_channel(x) for x in labels} - {None}
    substitutions = sum(str(x).strip().upper() in _SUBSTITUTIONS for x in labels)
    return max(len(channels), substitutions)


def read_user_matrix(path, kind="auto", *, transpose=False):
    """A user's file as samples x features, and how it was read: ``(X, info)``.

    ``kind='catalogue'``: an SBS96 catalogue, channels recognised by label on either axis and put in the
    canonical order (:func:`nmfcore.datasets.read_catalogue`'s rules: every channel once, errors naming the
    file, the cell or label and the fix). ``'counts'``: :func:`read_matrix`, samples x features or, with
    ``transpose``, features x samples. ``'auto'`` (the command line): a catalogue when one axis carries at least
    :data:`SBS96_MIN_LABELS` of the 96 channel labels (a catalogue with a channel missing is refused, naming
    it), else counts. ``info``: ``file_shape`` (rows x columns as in the file, labels excluded),
    ``file_layout`` (what the rows and columns hold), ``read_as``, ``shape`` (samples x features) and, where a
    counts file looks like a catalogue, ``hint``.
    """
    path = Path(path)
    _check_input(path)
    if kind not in ("auto", "catalogue", "counts"):
        raise ValueError(f"kind must be 'auto', 'catalogue' or 'counts', got {kind!r}")
    rows, cols = _label_axes(path) if kind != "catalogue" else ([], [])
    hits = max(_sbs96_hits(rows), _sbs96_hits(cols))
    if kind == "catalogue" or (kind == "auto" and hits >= SBS96_MIN_LABELS):
        return _read_user_catalogue(path, transpose, channels_in_columns=_sbs96_hits(cols) > _sbs96_hits(rows))
    X = read_matrix(path, transpose=transpose)
    turned = transpose or is_sbs96_labels(rows) and not is_sbs96_labels(cols)
    info = {"read_as": "counts", "file_shape": list(X.shape[::-1] if turned else X.shape),
            "file_layout": "features x samples" if turned else "samples x features", "shape": list(X.shape),
            "sbs96_labels_on_an_axis": hits}
    if is_sbs96_labels(rows) and not transpose:
        info["hint"] = (f"{path}: the rows carry the 96 SBS channel labels, so it looks like a channels x samples "
                        "catalogue; it is read turned round (samples x channels, channels in the file's order): say "
                        "so with kind: catalogue (canonical channel order, COSMIC comparison) or transpose: true")
    return X, info


def _read_user_catalogue(path, transpose, channels_in_columns):
    from .data.readers import _as_counts, _read_sbs96

    if transpose and channels_in_columns:
        raise ValueError(f"{path}: the columns already carry the 96 SBS channel labels (samples x channels); "
                         "do not ask to transpose it")
    df, source = _read_sbs96(path, "sample")
    X = _as_counts(df, path)
    in_rows = source["source_orientation"].startswith("channels")
    info = {"read_as": "catalogue", "file_shape": list(X.shape[::-1] if in_rows else X.shape),
            "file_layout": source["source_orientation"], "shape": list(X.shape),
            "channel_order": source["source_channel_order"]}
    return X, info


def _check_labels(path, df, labels, axes):
    """Every row and column labelled, each label once; named by the axis as it is in the file."""
    if any(str(x).strip() == "" for x in labels) or any(str(c).startswith("Unnamed:") for c in df.columns):
        raise ValueError(f"{path}: a column has no label in the header; every column needs a unique label")
    if df.index.isna().any() or any(str(i).strip() == "" for i in df.index):
        raise ValueError(f"{path}: a row has no label in the first column; every row needs a unique label")
    for axis, where, names in ((axes[1], "in the header", labels), (axes[0], "in the first column", list(df.index))):
        dup = sorted({x for x in names if names.count(x) > 1}) if len(set(names)) < len(names) else []
        if dup:
            raise ValueError(f"{path}: duplicated {axis} label(s) {dup[:5]} {where}; labels must be unique: "
                             "rename or remove the duplicates")


def _first_cell(df, mask, axes):
    """'at <row axis> 'r', <column axis> 'c'' of the first True cell of ``mask`` (file order)."""
    r, c = np.argwhere(np.asarray(mask))[0]
    return df.iat[r, c], f"at {axes[0]} {df.index[r]!r}, {axes[1]} {df.columns[c]!r}"


def _check_values(path, df, axes):
    """Missing, infinite and negative cells, named by their labels in the file, with the fix."""
    values = df.to_numpy(dtype=float, na_value=np.nan)
    checks = ((np.isnan(values), "missing value", "(ragged row or empty cell); fill or remove it"),
              (np.isinf(values), "infinite value", "; NMF needs finite data: fix or remove it"),
              (values < 0, "negative value", "; NMF needs non-negative data (counts, not log-ratios or centred "
                                             "values): fix or remove such cells"))
    for bad, problem, fix in checks:
        if bad.any():
            value, where = _first_cell(df, bad, axes)
            shown = "" if problem == "missing value" else f" {value:g}"
            count = f" ({int(bad.sum())} such cell(s))" if problem != "missing value" else ""
            raise ValueError(f"{path}: {problem}{shown} {where}{count} {fix}".replace(" ;", ";"))


def _read_labelled(path, sep, fields):
    """A labelled table: the labels as the strings in the file ('007', 'NA', '1.50' kept), the data cells with
    pandas' missing-value detection."""
    import pandas as pd

    return pd.read_csv(path, sep=sep, index_col=0, dtype={0: str}, keep_default_na=False,
                       na_values={i: _NA_CELLS for i in range(1, fields)})


def _check_separator(path, header):
    """A header with neither a tab nor a comma but another separator (';', '|') would read as one column."""
    if "\t" in header or "," in header:
        return
    for sep in (";", "|"):
        if sep in header:
            raise ValueError(f"{path}: the separator looks like {sep!r}; files are read tab-separated (or comma-"
                             f"separated: .csv, or a header with commas): convert it, e.g. tr '{sep}' '\\t' < FILE")


def _check_cells(path, df, axes=("sample", "feature")):
    """Every data column numeric: TRUE/FALSE columns and integers beyond 64 bits named as such, the first
    non-numeric cell by its labels."""
    import pandas as pd

    logical = [c for c in df.columns if pd.api.types.is_bool_dtype(df[c])]
    if logical:
        raise ValueError(f"{path}: column(s) {logical[:5]} hold TRUE/FALSE values, not numbers; the matrix must "
                         "hold numbers only: write them as 1/0 or remove the column(s)")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    for c in bad:
        text = df[c].dropna().astype(str)
        big = text[text.str.fullmatch(r"\s*\+?\d{20,}\s*")]
        if len(big) and pd.to_numeric(text, errors="coerce").notna().all():
            raise ValueError(f"{path}: column {c!r} holds whole numbers beyond 64-bit integers (e.g. {big.iloc[0]!r} "
                             f"at {axes[0]} {big.index[0]!r}); write them in floating-point notation (e.g. "
                             f"{float(big.iloc[0]):.6e}) or rescale the data")
    if bad:
        cells = df[bad]
        mask = cells.notna() & cells.apply(lambda col: pd.to_numeric(col, errors="coerce")).isna()
        value, where = _first_cell(cells, mask.to_numpy(), axes)
        raise ValueError(f"{path}: non-numeric values in column(s) {bad[:5]}, first {value!r} {where} "
                         f"({int(mask.to_numpy().sum())} such cell(s)); the matrix must hold numbers only (labels "
                         f"in the first column and the header): fix or remove those cells")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write_text(path: Path, text: str):
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``; the file gets the
    mode a plain ``open`` would give it under the process's umask (not mkstemp's 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_result(result: FitResult, outdir, *, samples=None, features=None, extra=None):
    """Write ``W.tsv``, ``H.tsv`` (and ``G.tsv``), ``trace.tsv`` and ``summary.json`` to ``outdir``."""
    import fcntl
    import shutil

    import pandas as pd

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    k = result.rank
    comps = [f"C{i + 1}" for i in range(k)]
    samples = list(samples) if samples is not None else [f"S{i + 1}" for i in range(result.n_samples)]
    features = list(features) if features is not None else [f"F{j + 1}" for j in range(result.n_features)]
    frames = {"W": pd.DataFrame(result.W, index=pd.Index(samples, name="sample"), columns=comps),
              "H": pd.DataFrame(result.H, index=pd.Index(comps, name="component"), columns=features)}
    if result.G is not None:
        frames["G"] = pd.DataFrame(result.G, index=pd.Index(comps, name="component"), columns=samples)
    texts = {f"{name}.tsv": df.to_csv(sep="\t", float_format="%.10g") for name, df in frames.items()}
    trace = pd.DataFrame(result.trace, columns=["iteration", "divergence"])
    texts["trace.tsv"] = trace.to_csv(sep="\t", index=False, float_format="%.12g")
    summary = {"format": RESULT_FORMAT, "row": result.to_row(), "noise": {"label": result.noise.label, **result.noise.params},
               "nuisance_path": result.nuisance_path, "restarts": result.restarts}
    if np.ndim(getattr(result.noise, "alpha", 0)) == 1:
        summary["noise"]["alpha_per_sample"] = dict(zip(samples, map(float, result.noise.alpha)))
    if extra:
        summary["extra"] = extra
    texts["summary.json"] = json.dumps(summary, indent=1, default=_json_default)
    # The set is staged in a temporary folder, then moved in under a lock: two writers into one folder
    # leave the complete set of the later one, and files of an earlier, different fit (e.g. G.tsv of a
    # convex fit under a new NMF fit) are removed, so the folder always holds one consistent result.
    stage = Path(tempfile.mkdtemp(dir=out, prefix=".nmfcore-stage-"))
    try:
        for name, text in texts.items():
            _atomic_write_text(stage / name, text)
        lock = os.open(out, os.O_RDONLY)  # the folder itself is the lock: no lock file left in the result
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in RESULT_FILES:
                if name not in texts and (out / name).exists():
                    (out / name).unlink()
            for name in texts:
                os.replace(stage / name, out / name)
        finally:
            os.close(lock)  # releases the lock
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def read_result(outdir):
    """Read back what :func:`write_result` wrote: dict of DataFrames (``W``, ``H``, and ``G`` for convex NMF and
    the autoencoder) plus ``summary``. Checked against summary.json (structure, rank, shapes, finite values);
    raises :class:`ResultError` (a ``ValueError``) or ``FileNotFoundError`` naming the folder and the file."""
    out = Path(outdir)
    summary = _read_summary(out)
    row = summary["row"]
    names = ("W", "H", "G") if row["structure"] in ("convex", "autoencoder") else ("W", "H")
    if "G" not in names and (out / "G.tsv").exists():
        raise ResultError(f"result {out}: G.tsv beside a {row['structure']} result (only convex NMF and the "
                          "autoencoder have G); the folder mixes two results: fit again into an empty folder")
    n, m, k = row["n_samples"], row["n_features"], row["rank"]
    shapes = {"W": (n, k), "H": (k, m), "G": (k, n)}
    res = {name: _read_factor(out, name, shapes[name]) for name in names}
    res["summary"] = summary
    return res


def _read_summary(out: Path) -> dict:
    if not out.exists():
        raise FileNotFoundError(f"result folder {out} does not exist; check the path")
    if not out.is_dir():
        raise ResultError(f"{out} is a file, not a result folder (W.tsv, H.tsv, trace.tsv, summary.json)")
    if not (out / "summary.json").exists():
        hint = (f"; it looks like select output: read {out / 'best'}" if (out / "selection.tsv").exists()
                else ": it is not an nmfcore result, or an incomplete one (fit again)")
        raise FileNotFoundError(f"result {out}: summary.json is missing{hint}")
    try:
        summary = json.loads((out / "summary.json").read_text())
    except (ValueError, OSError) as exc:
        raise ResultError(f"result {out}: summary.json cannot be read ({exc}); it is truncated or not JSON: "
                          "fit again") from None
    row = summary.get("row") if isinstance(summary, dict) else None
    keys = ("structure", "rank", "n_samples", "n_features")
    if not is_result_folder(out) or not isinstance(row, dict) or any(key not in row for key in keys):
        raise ResultError(f"result {out}: summary.json was not written by nmfcore (no format mark or no "
                          f"row with {', '.join(keys)}); read nmfcore results only")
    return summary


def _read_factor(out: Path, name: str, shape) -> pd.DataFrame:
    import pandas as pd

    path = out / f"{name}.tsv"
    if not path.exists():
        raise FileNotFoundError(f"result {out}: {name}.tsv is missing (summary.json describes a result with it); "
                                "the folder is incomplete: fit again")
    try:
        with open(path) as fh:
            fields = len(fh.readline().split("\t"))
        df = _read_labelled(path, "\t", fields)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ResultError(f"result {out}: {name}.tsv cannot be read ({type(exc).__name__}: {exc}); the folder is "
                          "damaged: fit again") from None
    values = df.to_numpy(dtype=float, na_value=np.nan) if all(map(pd.api.types.is_numeric_dtype, df.dtypes)) else None
    if df.shape != tuple(shape):
        raise ResultError(f"result {out}: {name}.tsv has shape {df.shape}, but summary.json says {tuple(shape)}; "
                          "the files are from different fits or truncated: fit again")
    if values is None or not np.isfinite(values).all():
        raise ResultError(f"result {out}: {name}.tsv has missing, non-numeric or non-finite values (truncated?); "
                          "fit again")
    return df
