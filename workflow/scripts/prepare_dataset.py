"""Write one data set as samples x features X.tsv, labels.tsv (empty when unlabelled) and meta.json."""
import json
import sys
import warnings

sys.stderr = open(snakemake.log[0], "w", buffering=1)  # noqa: F821
warnings.simplefilter("default")

import pandas as pd  # noqa: E402

import nmfcore.datasets as datasets  # noqa: E402
from _raw import name_bundled_copies, raw_folder  # noqa: E402

params = snakemake.params  # noqa: F821
out = snakemake.output  # noqa: F821
options = {k: v for k, v in params.options.items() if v is not None}
if params.path:  # the user's own file (validated when the grid was planned)
    from nmfcore.datasets import sha256sum
    from nmfcore.io import read_user_matrix

    # the reader of the planning checks and of the command line: file_shape is the file's rows x columns,
    # file_layout what they hold, read_shape the samples x features read from it
    X, info = read_user_matrix(params.path, params.kind, transpose=bool(options.get("transpose", False)))
    labels, meta = None, {"path": params.path, "sha256": sha256sum(params.path), "file_shape": info["file_shape"],
                          "file_layout": info["file_layout"], "read_shape": info["shape"]}
    if "hint" in info:
        print(f"note: {info['hint']}", file=sys.stderr)
    if params.kind == "counts":  # features without any count cannot be fitted (their mean would be 0)
        zero = X.columns[X.sum(axis=0) <= 0]
        meta["all_zero_features_removed"] = [str(c) for c in zero]
        X = X.drop(columns=zero)
else:
    with raw_folder(params.source, snakemake.input.raw, params.mode, params.bundled_dir) as raw:  # noqa: F821
        prepare = datasets.prepare_text if params.kind == "text" else datasets.prepare
        X, labels, meta = prepare(params.source, raw, **options)
    meta = name_bundled_copies(meta)
if labels is None:
    labels = pd.Series(index=X.index, dtype=object, name="label").iloc[:0]
# drop samples without any count: no factorisation can explain them and several noise models divide by row sums
empty = X.index[X.sum(axis=1) <= 0]
if len(empty):
    print(f"removing {len(empty)} all-zero sample(s): {list(empty[:10])}", file=sys.stderr)
    X = X.drop(index=empty)
    labels = labels[labels.index.isin(X.index)]
meta = {**meta, "dataset": snakemake.wildcards.dataset, "source": params.source, "kind": params.kind,  # noqa: F821
        "options": params.options, "n_all_zero_samples_removed": int(len(empty)),
        "shape": [int(X.shape[0]), int(X.shape[1])]}
meta.pop("labels", None)
X.to_csv(out.X, sep="\t", index_label="sample", float_format="%.10g")
labels.rename("label").to_csv(out.labels, sep="\t", index_label="sample")
with open(out.meta, "w") as fh:
    json.dump(meta, fh, indent=1, sort_keys=True, default=str)
    fh.write("\n")
