"""Reading labelled matrices and writing fit results (labels kept at the I/O boundary)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .fit import FitResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_matrix", "write_result", "read_result"]


def read_matrix(path, *, transpose=False) -> pd.DataFrame:
    """Read a TSV with sample ids in the first column and feature labels in the header.

    ``transpose=True`` reads features x samples files (e.g. 96 channels x patients).
    Raises ``ValueError`` naming the file for ragged rows, non-numeric cells,
    duplicated labels or an empty table.
    """
    import pandas as pd  # imported on use: `import nmfcore` does not need pandas (~0.2 s)

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file {path} does not exist; check the path")
    if not path.is_file():
        raise ValueError(f"input {path} is a directory, not a file; pass the TSV file")
    with open(path, "rb") as fh:
        header = fh.readline().decode("utf-8", errors="replace").rstrip("\r\n")
    try:
        df = pd.read_csv(path, sep="\t", index_col=0)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: malformed TSV ({exc}); every row needs the same number of tab-separated "
                         "fields as the header") from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected a header of feature labels and one row per sample") from None
    if df.shape[1] == 0 and "," in header:
        raise ValueError(f"{path}: no tab-separated columns (the file looks comma-separated); convert it to a TSV")
    labels = header.split("\t")[1:]
    dup_header = sorted({x for x in labels if labels.count(x) > 1})
    if dup_header:
        axis = "sample" if transpose else "feature"
        raise ValueError(f"{path}: duplicated {axis} label(s) {dup_header[:5]}; labels must be unique")
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


def _atomic_write_text(path: Path, text: str):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_result(result: FitResult, outdir, *, samples=None, features=None, extra=None):
    """Write ``W.tsv``, ``H.tsv`` (and ``G.tsv``), ``trace.tsv`` and ``summary.json`` to ``outdir``."""
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
    for name, df in frames.items():
        _atomic_write_text(out / f"{name}.tsv", df.to_csv(sep="\t", float_format="%.10g"))
    trace = pd.DataFrame(result.trace, columns=["iteration", "divergence"])
    _atomic_write_text(out / "trace.tsv", trace.to_csv(sep="\t", index=False, float_format="%.12g"))
    summary = {"row": result.to_row(), "noise": {"label": result.noise.label, **result.noise.params},
               "nuisance_path": result.nuisance_path, "restarts": result.restarts}
    if np.ndim(getattr(result.noise, "alpha", 0)) == 1:
        summary["noise"]["alpha_per_sample"] = dict(zip(samples, map(float, result.noise.alpha)))
    if extra:
        summary["extra"] = extra
    _atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, default=_json_default))
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
