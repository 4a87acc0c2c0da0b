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

__all__ = ["read_matrix", "write_result", "read_result", "RESULT_FILES", "check_output_dir"]

#: every file write_result may write; a result folder holds one consistent set of them
RESULT_FILES = ("W.tsv", "H.tsv", "G.tsv", "trace.tsv", "summary.json")


def check_output_dir(outdir, inputs=()):
    """Raise ``ValueError`` (before any work) if ``outdir`` cannot take a result or writing it would
    overwrite one of ``inputs``."""
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


def read_matrix(path, *, transpose=False, orient=True) -> pd.DataFrame:
    """Read a labelled matrix: sample ids in the first column, feature labels in the header.

    Tab- or comma-separated (by the ``.csv`` suffix or the header line), optionally gzipped (``.gz``).
    ``transpose=True`` reads features x samples files (e.g. 96 channels x patients). With ``orient``, a
    file whose *rows* carry the 96 SBS channel labels (SigProfiler's channels x samples layout) is
    transposed to samples x channels (with a warning), and ``transpose=True`` on a file whose columns
    already carry them is an error. Raises ``ValueError`` naming the file for ragged rows, non-numeric
    cells, duplicated or empty labels or an empty table.
    """
    import pandas as pd  # imported on use: `import nmfcore` does not need pandas (~0.2 s)

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file {path} does not exist; check the path")
    if not path.is_file():
        raise ValueError(f"input {path} is a directory, not a file; pass the TSV or CSV file")
    try:
        with _open_text(path) as fh:
            header = fh.readline().rstrip("\r\n")
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc}); if it is gzipped, fetch it again") from None
    csv = path.name.removesuffix(".gz").endswith(".csv") or ("\t" not in header and "," in header)
    sep, what = (",", "CSV") if csv else ("\t", "TSV")
    try:
        df = pd.read_csv(path, sep=sep, index_col=0)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: malformed {what} ({exc}); every row needs the same number of "
                         f"{'comma' if csv else 'tab'}-separated fields as the header") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected a header of feature labels and one row per sample") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc}); if it is gzipped, fetch it again") from None
    labels = [x.strip('"') for x in header.split(sep)[1:]]
    if any(str(x).strip() == "" for x in labels) or any(str(c).startswith("Unnamed:") for c in df.columns):
        raise ValueError(f"{path}: a column has no label in the header; every column needs a unique label")
    if df.index.isna().any() or any(str(i).strip() == "" for i in df.index):
        raise ValueError(f"{path}: a row has no label in the first column; every row needs a unique label")
    dup_header = sorted({x for x in labels if labels.count(x) > 1})
    if dup_header:
        axis = "sample" if transpose else "feature"
        raise ValueError(f"{path}: duplicated {axis} label(s) {dup_header[:5]}; labels must be unique")
    if orient and not transpose and is_sbs96_labels(df.index) and not is_sbs96_labels(df.columns):
        import warnings

        warnings.warn(f"{path}: the rows carry the 96 SBS channel labels, so the file is read as channels x "
                      "samples and transposed to samples x channels", UserWarning, stacklevel=2)
        transpose = True
    elif orient and transpose and is_sbs96_labels(df.columns):
        raise ValueError(f"{path}: the columns already carry the 96 SBS channel labels (samples x channels); "
                         "do not ask to transpose it")
    if transpose:
        df = df.T
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValueError(f"{path} holds no data (shape {df.shape}); expected samples x features")
    for axis, labels in (("sample", df.index), ("feature", df.columns)):
        dup = labels[labels.duplicated()]
        if len(dup):
            raise ValueError(f"{path}: duplicated {axis} label(s) {list(dup[:5])}; labels must be unique")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise ValueError(f"{path}: non-numeric values in column(s) {bad[:5]}; the matrix must hold numbers only "
                         "(sample ids in the first column, feature labels in the header)")
    if df.isna().any().any():
        r, c = np.argwhere(df.isna().to_numpy())[0]
        raise ValueError(f"{path}: missing value at sample {df.index[r]!r}, feature {df.columns[c]!r} "
                         "(ragged row or empty cell); fill or remove it")
    return df


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
    summary = {"row": result.to_row(), "noise": {"label": result.noise.label, **result.noise.params},
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
        with open(out / ".nmfcore.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in RESULT_FILES:
                if name not in texts and (out / name).exists():
                    (out / name).unlink()
            for name in texts:
                os.replace(stage / name, out / name)
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
    """Read back what :func:`write_result` wrote: dict of DataFrames plus ``summary``."""
    import pandas as pd

    out = Path(outdir)
    res = {name: pd.read_csv(out / f"{name}.tsv", sep="\t", index_col=0)
           for name in ("W", "H", "G") if (out / f"{name}.tsv").exists()}
    res["summary"] = json.loads((out / "summary.json").read_text())
    return res
