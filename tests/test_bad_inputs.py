"""Catalogue of bad inputs, at every level, each with the error it must give.

Every case asserts, with ``match=``, a message that names the problem AND the fix, that the
error comes before any work (a tripwire on the fitting driver / no output written) and that
no partial output is left behind. Levels:

* nmfcore API: :func:`nmfcore.fit`, :func:`nmfcore.make_noise`;
* command line ``python -m nmfcore fit FILE --rank K --out DIR`` (exit code 2, message on
  stderr, no traceback, ``DIR`` not created);
* data layer :mod:`nmfcore.datasets` (readers, checksummed fetch, its command line);
* workflow: ``snakemake -n`` with a broken copy of ``.test/config.yaml`` (else
  ``config/config.yaml``): non-zero exit, a message naming the key/value, no ``results/``.

Cases the code does not yet handle are marked ``xfail(strict=True)`` with the fix in
``reason``: they start failing (XPASS) once fixed, so the marker gets removed.
"""
from __future__ import annotations

import dataclasses
import gzip
import importlib
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nmfcore
import nmfcore.datasets as ds
from nmfcore.data import registry as reg
from nmfcore.__main__ import main as cli_main

REPO = Path(__file__).resolve().parents[1]
fitmod = importlib.import_module("nmfcore.fit")  # the module (nmfcore.fit is also the function)
BRCA21 = ds.RESOURCES / "mutational" / "BRCA21_SigMoS.tsv"


def msg(*parts: str) -> str:
    """A regex (for ``match=``) requiring every part somewhere in the message, in any order."""
    return "(?s)" + "".join(f"(?=.*(?:{p}))" for p in parts)


def files_under(path: Path) -> list[Path]:
    """Every file (hidden ones included) under ``path``; [] if it does not exist."""
    return [p for p in Path(path).rglob("*") if p.is_file()] if Path(path).exists() else []


# =============================================================================== nmfcore API

_rng = np.random.default_rng(0)
X = _rng.poisson(5.0, size=(10, 8)).astype(float) + 1.0  # strictly positive counts
DIAG = np.eye(10, 8, dtype=bool)


def _with(value):
    Y = X.copy()
    Y[DIAG] = value
    return Y


def _strings_frame():
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(8)])
    df["f3"] = df["f3"].astype(object)
    df.loc[4, "f3"] = "12 (approx.)"
    return df


xfail = pytest.mark.xfail

# (call, exception, problem regex, fix regex)
API_CASES = [
    # --- the data matrix
    pytest.param(lambda: nmfcore.fit(_with(-1.0), 2), ValueError, r"8 negative value\(s\).*row 0, column 0",
                 r"needs non-negative data", id="fit-negative"),
    pytest.param(lambda: nmfcore.fit(_with(np.nan), 2), ValueError, r"NaN/inf value\(s\), first at row 0, column 0",
                 r"remove or impute", id="fit-nan"),
    pytest.param(lambda: nmfcore.fit(_with(np.inf), 2), ValueError, r"8 NaN/inf value\(s\)", r"remove or impute",
                 id="fit-inf"),
    pytest.param(lambda: nmfcore.fit(_with(-np.inf), 2), ValueError, r"NaN/inf", r"remove or impute",
                 id="fit-minus-inf"),
    pytest.param(lambda: nmfcore.fit([["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]], 1), ValueError,
                 r"must be numeric, got dtype <U1", r"convert labels/strings out of the matrix", id="fit-strings"),
    pytest.param(lambda: nmfcore.fit(_strings_frame(), 2), ValueError, r"must be numeric, got dtype object",
                 r"convert labels/strings", id="fit-dataframe-with-text-cell"),
    pytest.param(lambda: nmfcore.fit([[1.0, 2.0, 3.0], [4.0, 5.0]], 1), ValueError,
                 r"could not be read as a 2-D numeric array", r"pass a rectangular array", id="fit-ragged-list"),
    pytest.param(lambda: nmfcore.fit(np.zeros((0, 5)), 1), ValueError, r"empty \(shape \(0, 5\)\)",
                 r"at least 2 samples and 2 features", id="fit-empty-0x5"),
    pytest.param(lambda: nmfcore.fit([[]], 1), ValueError, r"empty", r"at least 2 samples", id="fit-empty-list"),
    pytest.param(lambda: nmfcore.fit(np.ones(5), 1), ValueError, r"must be 2-D", r"samples x features",
                 id="fit-1d"),
    pytest.param(lambda: nmfcore.fit(np.ones((3, 4, 4)), 1), ValueError, r"must be 2-D.*\(3, 4, 4\)",
                 r"samples x features", id="fit-3d"),
    pytest.param(lambda: nmfcore.fit(np.ones((1, 5)), 1), ValueError, r"\(1, 5\)", r"at least 2 samples",
                 id="fit-single-sample"),
    pytest.param(lambda: nmfcore.fit(np.vstack([X, np.zeros(8)]), 2), ValueError,
                 r"1 all-zero row\(s\) \(samples\), e.g. row 10", r"remove them first", id="fit-zero-row"),
    pytest.param(lambda: nmfcore.fit(np.hstack([X, np.zeros((10, 1))]), 2), ValueError,
                 r"1 all-zero column\(s\) \(features\), e.g. column 8", r"remove them first", id="fit-zero-column"),
    pytest.param(lambda: nmfcore.fit(X.astype(complex) + 1j, 2), ValueError, r"complex", r"real",
                 id="fit-complex"),
    # --- the rank
    pytest.param(lambda: nmfcore.fit(X, 8), ValueError, r"1 <= rank < min\(n_samples, n_features\) = 8.*got 8",
                 r"choose a smaller rank", id="fit-rank-too-large"),
    pytest.param(lambda: nmfcore.fit(X, 50), ValueError, r"got 50", r"choose a smaller rank",
                 id="fit-rank-far-too-large"),
    pytest.param(lambda: nmfcore.fit(X, 0), ValueError, r"rank.*got 0", r"at least 1",
                 id="fit-rank-zero"),
    pytest.param(lambda: nmfcore.fit(X, -2), ValueError, r"rank.*got -2", r"at least 1",
                 id="fit-rank-negative"),
    pytest.param(lambda: nmfcore.fit(X, 2.5), ValueError, r"rank must be an integer, got 2.5", r"integer",
                 id="fit-rank-float"),
    pytest.param(lambda: nmfcore.fit(X, "2"), ValueError, r"rank must be an integer, got '2'", r"integer",
                 id="fit-rank-string"),
    pytest.param(lambda: nmfcore.fit(X, True), ValueError, r"rank must be an integer, got True", r"integer",
                 id="fit-rank-bool"),
    pytest.param(lambda: nmfcore.fit(X, None), ValueError, r"rank must be an integer, got None", r"integer",
                 id="fit-rank-none"),
    # --- noise model and structure
    pytest.param(lambda: nmfcore.fit(X, 2, noise="poison"), ValueError, r"unknown noise model 'poison'",
                 r"choose one of gaussian, poisson, gamma, tweedie, nb", id="fit-unknown-noise"),
    pytest.param(lambda: nmfcore.make_noise("lognormal"), ValueError, r"unknown noise model 'lognormal'",
                 r"choose one of", id="make_noise-unknown"),
    pytest.param(lambda: nmfcore.make_noise(3), ValueError, r"got 3", r"must be one of .*gaussian.*or a NoiseModel",
                 id="make_noise-not-a-string"),
    pytest.param(lambda: nmfcore.make_noise({"power": 1.5}), ValueError, r"got None", r"must be one of",
                 id="make_noise-dict-without-family"),
    pytest.param(lambda: nmfcore.make_noise({"family": "nb", "alpah": 3}), ValueError,
                 r"unknown parameter\(s\) \['alpah'\] for noise model 'nb'", r"allowed: \['alpha', 'dispersion', 'majoriser'\]",
                 id="make_noise-misspelled-parameter"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "nb", "majoriser": "fast"}), ValueError,
                 r"NB majoriser must be 'tight' or 'paper', got 'fast'", r"'tight' or 'paper'",
                 id="fit-unknown-nb-majoriser"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "poisson", "alpha": 3}), ValueError,
                 r"unknown parameter\(s\) \['alpha'\] for noise model 'poisson'", r"allowed: none",
                 id="fit-parameter-for-wrong-family"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="semi"), ValueError, r"unknown structure 'semi'",
                 r"choose one of nmf, convex, autoencoder", id="fit-unknown-structure"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure=None), ValueError, r"unknown structure None",
                 r"choose one of", id="fit-structure-none"),
    pytest.param(lambda: nmfcore.make_noise("tweedie", power=0.5), ValueError,
                 r"got 0.5: no Tweedie distribution exists for 0 < p < 1", r"use p = 0 \(Gaussian\), 1 \(Poisson\)",
                 id="make_noise-tweedie-0.5"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "power": 0.5}), ValueError,
                 r"no Tweedie distribution exists for 0 < p < 1", r"use p = 0", id="fit-tweedie-0.5"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": [1.2, 0.99]}), ValueError,
                 r"got 0.99", r"use p = 0", id="fit-tweedie-grid-with-0.99"),
    pytest.param(lambda: nmfcore.Tweedie(power=3.0), ValueError, r"got 3.0.*p > 2 are not supported",
                 r"or 2 \(Gamma\)", id="Tweedie-power-3"),
    pytest.param(lambda: nmfcore.make_noise("tweedie", power=float("nan")), ValueError, r"got nan", r"use p = 0",
                 id="make_noise-tweedie-nan"),
    pytest.param(lambda: nmfcore.make_noise("nb", alpha=0), ValueError, r"NB alpha must be a positive finite "
                 r"number.*got 0", r"use a large value for near-Poisson", id="make_noise-nb-alpha-0"),
    pytest.param(lambda: nmfcore.make_noise("nb", alpha=-1.0), ValueError, r"got -1.0", r"positive finite",
                 id="make_noise-nb-alpha-negative"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "nb", "alpha": 0.0}), ValueError, r"got 0.0",
                 r"positive finite", id="fit-nb-alpha-0"),
    pytest.param(lambda: nmfcore.make_noise("nb", alpha=[1.0, 0.0, 2.0]), ValueError, r"NB alpha.*1-D array",
                 r"positive finite", id="make_noise-nb-alpha-array-with-0"),
    pytest.param(lambda: nmfcore.make_noise("nb", alpha=float("inf")), ValueError, r"got inf", r"positive finite",
                 id="make_noise-nb-alpha-inf"),
    pytest.param(lambda: nmfcore.make_noise("nb", dispersion="gene"), ValueError, r"got 'gene'",
                 r"must be 'shared' or 'sample'", id="make_noise-nb-bad-dispersion"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise=nmfcore.NegativeBinomial(alpha=np.ones(3), estimate_alpha=False)),
                 ValueError, r"NB alpha has 3 values but X has 10 rows", r"rows \(samples\)",
                 id="fit-nb-alpha-wrong-length"),
    pytest.param(lambda: nmfcore.make_noise("gaussian", phi=0), ValueError, r"phi must be positive and finite",
                 r"got 0", id="make_noise-gaussian-phi-0"),
    pytest.param(lambda: nmfcore.fit(_with(0.0), 2, noise="gamma"), ValueError,
                 r"needs strictly positive data, but X has 8 zero entries", r"use poisson, nb or tweedie",
                 id="fit-gamma-with-zeros"),
    pytest.param(lambda: nmfcore.fit(_with(0.0), 2, noise={"family": "tweedie", "power": 2}), ValueError,
                 r"strictly positive data", r"use poisson, nb or tweedie", id="fit-tweedie-2-with-zeros"),
    pytest.param(lambda: nmfcore.fit(_with(0.0), 2, noise={"family": "tweedie", "powers": [1.5, 2.0]}), ValueError,
                 r"strictly positive data", r"use poisson, nb or tweedie", id="fit-tweedie-grid-reaching-2-with-zeros"),
    # --- other arguments
    pytest.param(lambda: nmfcore.fit(X, 2, n_restarts=0), ValueError, r"n_restarts must be an integer >= 1, got 0",
                 r">= 1", id="fit-restarts-0"),
    pytest.param(lambda: nmfcore.fit(X, 2, max_iter=0), ValueError, r"max_iter must be an integer >= 1, got 0",
                 r">= 1", id="fit-max-iter-0"),
    pytest.param(lambda: nmfcore.fit(X, 2, tol=-1e-3), ValueError, r"tol must be a non-negative number",
                 r"got -0.001", id="fit-tol-negative"),
    pytest.param(lambda: nmfcore.fit(X, 2, tol=float("nan")), ValueError, r"tol must be a non-negative number",
                 r"got nan", id="fit-tol-nan"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="autoencoder", lr=0.0), ValueError,
                 r"lr must be a positive number, got 0.0", r"positive", id="fit-ae-lr-0"),
    pytest.param(lambda: nmfcore.fit(X, 2, solver="lbfgs"), ValueError, r"got 'lbfgs'", r"must be 'mm' or 'adam'",
                 id="fit-unknown-solver"),
    pytest.param(lambda: nmfcore.fit(X, 2, dtype="float16"), ValueError, r"got 'float16'",
                 r"must be 'float64' or 'float32'", id="fit-dtype-float16"),
    pytest.param(lambda: nmfcore.fit(X, 2, init={"W": np.ones((10, 2))}), ValueError,
                 r"missing \['H'\]", r"needs \('W', 'H'\)", id="fit-init-missing-factor"),
    pytest.param(lambda: nmfcore.fit(X, 2, init={"W": np.ones((10, 3)), "H": np.ones((2, 8))}), ValueError,
                 r"init\['W'\].*\(10, 3\)", r"\(10, 2\)", id="fit-init-wrong-shape"),
    pytest.param(lambda: nmfcore.fit(X, 2, init={"W": np.ones((10, 3)), "H": np.ones((3, 8))}, max_iter=5),
                 ValueError, r"init.*rank", r"\(10, 2\)", id="fit-init-rank-mismatch"),
    pytest.param(lambda: nmfcore.fit(X, 2, init={"W": -np.ones((10, 2)), "H": np.ones((2, 8))}, max_iter=5),
                 ValueError, r"init\['W'\].*negative", r"non-negative", id="fit-init-negative"),
    # --- round 2: types that carry meaning, contradictory options (tests/test_bad_inputs.py catalogue)
    pytest.param(lambda: nmfcore.fit(np.ma.masked_array(X, mask=X > 6), 2), ValueError,
                 r"masked array with \d+ masked value", r"remove those samples/features or impute",
                 id="fit-masked-array-with-masked-values"),
    pytest.param(lambda: nmfcore.fit(pd.DataFrame(X).astype("Int64").mask(pd.DataFrame(X) > 6), 2), ValueError,
                 r"contains \d+ NaN/inf value\(s\), first at row", r"remove or impute",
                 id="fit-pandas-nullable-NA"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="autoencoder", solver="mm"), ValueError,
                 r"'autoencoder' is trained by Adam", r"use structure='convex'", id="fit-autoencoder-with-mm"),
    pytest.param(lambda: nmfcore.make_noise("tweedie", power=1.5, powers=[1.2, 1.4]), ValueError,
                 r"either power \(fixed\) or powers", r"not both", id="make_noise-tweedie-power-and-powers"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "nb", "alpha": 5, "dispersion": "sample"}), ValueError,
                 r"dispersion 'sample' has one alpha per sample, but alpha=5 is one value",
                 r"use dispersion 'shared'", id="fit-nb-sample-with-one-fixed-alpha"),
    pytest.param(lambda: nmfcore.fit(X, 2, random_state=1.5), ValueError,
                 r"random_state must be a non-negative whole number", r"got 1.5", id="fit-random-state-float"),
    pytest.param(lambda: nmfcore.fit(X, 2, random_state=-3), ValueError,
                 r"random_state must be a non-negative whole number", r"got -3", id="fit-random-state-negative"),
    # --- round 3: options that MM would silently ignore, contradictory budgets, meaningful pandas types
    pytest.param(lambda: nmfcore.fit(X, 2, lr=0.1), ValueError, r"lr only applies to Adam",
                 r"structure='nmf' take no step size.*remove lr", id="fit-lr-with-nmf"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="convex", ae_constraint="project"), ValueError,
                 r"ae_constraint only applies to Adam", r"remove ae_constraint", id="fit-ae-constraint-with-convex"),
    pytest.param(lambda: nmfcore.fit(X, 2, n_restarts=3, pre_iter=50, max_iter=50), ValueError,
                 r"pre_iter=50 must be below max_iter=50", r"best one continues", id="fit-pre-iter-not-below-max-iter"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": []}), ValueError,
                 r"tweedie powers is empty", r"give one fixed power", id="fit-tweedie-empty-grid"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": [1.2, 1.5, 1.2]}), ValueError,
                 r"tweedie powers lists \[1.2\] more than once", r"list each power once", id="fit-tweedie-grid-duplicate"),
    pytest.param(lambda: nmfcore.fit(pd.DataFrame(X).astype("datetime64[ns]"), 2), ValueError,
                 r"X has date/time values \(datetime64\[ns\]\)", r"pass numeric columns only", id="fit-datetime-frame"),
    pytest.param(lambda: nmfcore.fit(pd.DataFrame(X, columns=list("aabcdefg")), 2), ValueError,
                 r"duplicate feature \(column\) labels \['a'\]", r"merge or rename", id="fit-frame-duplicate-columns"),
    pytest.param(lambda: nmfcore.fit(pd.DataFrame(X, index=["s"] * 5 + list("abcde")), 2), ValueError,
                 r"duplicate sample \(row\) labels \['s'\]", r"merge or rename", id="fit-frame-duplicate-index"),
]


@pytest.fixture
def tripwire(monkeypatch):
    """Make any start of the fitting work fail loudly (so errors must come before it)."""
    calls = []

    def boom(*args, **kwargs):
        calls.append(1)
        raise AssertionError("fitting work started before the input was rejected")

    monkeypatch.setattr(fitmod, "_fit_fixed", boom)
    for structure in set(fitmod.STRUCTURES.values()):
        monkeypatch.setattr(structure, "init", boom)
    return calls


@pytest.mark.parametrize("call, exc, problem, fix", API_CASES)
def test_api_rejects_bad_input_before_any_work(call, exc, problem, fix, tripwire):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        with pytest.raises(exc, match=msg(problem, fix)):
            call()
    assert not tripwire


def test_tripwire_fires_on_good_input(tripwire):
    """Sanity check of the fixture: valid input does reach the fitting driver."""
    with pytest.raises(AssertionError, match="fitting work started"):
        nmfcore.fit(X, 2)
    assert tripwire


def test_bad_input_does_not_modify_the_caller_array():
    Y = _with(-1.0)
    before = Y.copy()
    with pytest.raises(ValueError):
        nmfcore.fit(Y, 2)
    np.testing.assert_array_equal(Y, before)


# =============================================================================== command line

_HEADER = "sample\t" + "\t".join(f"f{j}" for j in range(5))
_ROWS = [f"s{i}\t" + "\t".join(str(int(v)) for v in row) for i, row in enumerate(X[:6, :5])]


def _set_cell(row: int, col: int, value: str, rows=None) -> list[str]:
    rows = list(rows or _ROWS)
    fields = rows[row].split("\t")
    fields[col + 1] = value
    rows[row] = "\t".join(fields)
    return rows


TSV = {  # name -> file content
    "good": [_HEADER, *_ROWS],
    "ragged_long": [_HEADER, *_ROWS[:2], _ROWS[2] + "\t7", *_ROWS[3:]],
    "ragged_short": [_HEADER, *_ROWS[:2], _ROWS[2].rsplit("\t", 1)[0], *_ROWS[3:]],
    "non_numeric": [_HEADER, *_set_cell(2, 0, "abc")],
    "empty_cell": [_HEADER, *_set_cell(3, 1, "")],
    "nan_cell": [_HEADER, *_set_cell(3, 1, "NaN")],
    "inf_cell": [_HEADER, *_set_cell(2, 0, "inf")],
    "negative_cell": [_HEADER, *_set_cell(2, 0, "-3")],
    "dup_sample": [_HEADER, *_ROWS[:2], _ROWS[2].replace("s2", "s1", 1), *_ROWS[3:]],
    "dup_feature": [_HEADER.replace("f1", "f0"), *_ROWS],
    "zero_row": [_HEADER, *_ROWS, "s9\t0\t0\t0\t0\t0"],
    "header_only": [_HEADER],
    "empty": None,
    "comma_separated": [line.replace("\t", ",") for line in (_HEADER, *_ROWS)],
}


def _write_tsv(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.tsv"
    path.write_text("" if TSV[name] is None else "\n".join(TSV[name]) + "\n")
    return path


# (file or special, extra args, problem regex, fix regex)
CLI_CASES = [
    pytest.param("ragged_long", [], r"ragged_long.tsv: malformed TSV.*Expected 6 fields in line 4, saw 7",
                 r"every row needs the same number of tab-separated fields", id="ragged-row-long"),
    pytest.param("ragged_short", [], r"ragged_short.tsv: missing value at sample 's2', feature 'f4'",
                 r"ragged row or empty cell.*fill or remove it", id="ragged-row-short"),
    pytest.param("non_numeric", [], r"non_numeric.tsv: non-numeric values in column\(s\) \['f0'\], first 'abc' at "
                                    r"sample 's2', feature 'f0'", r"must hold numbers only", id="non-numeric-cell"),
    pytest.param("empty_cell", [], r"missing value at sample 's3', feature 'f1'", r"fill or remove it",
                 id="empty-cell"),
    pytest.param("nan_cell", [], r"missing value at sample 's3', feature 'f1'", r"fill or remove it",
                 id="nan-cell"),
    pytest.param("inf_cell", [], r"inf_cell.tsv: infinite value inf at sample 's2', feature 'f0'",
                 r"NMF needs finite data: fix or remove it", id="inf-cell"),
    pytest.param("negative_cell", [], r"negative_cell.tsv: negative value -3 at sample 's2', feature 'f0' \(1 such",
                 r"non-negative data.*fix or remove such cells", id="negative-cell"),
    pytest.param("dup_sample", [], r"dup_sample.tsv: duplicated sample label\(s\) \['s1'\]",
                 r"labels must be unique", id="duplicated-sample"),
    pytest.param("dup_feature", [], r"dup_feature.tsv: duplicated feature label\(s\) \['f0'\]",
                 r"labels must be unique", id="duplicated-feature"),
    pytest.param("zero_row", [], r"all-zero row\(s\) \(samples\), e.g. row 6", r"remove them first",
                 id="all-zero-row"),
    pytest.param("header_only", [], r"header_only.tsv holds no data \(shape \(0, 5\)\)",
                 r"expected samples x features", id="header-only"),
    pytest.param("empty", [], r"empty.tsv is empty", r"expected a header of feature labels and one row per sample",
                 id="empty-file"),
    pytest.param("MISSING", [], r"input file .*nope.tsv does not exist", r"check the path", id="missing-file"),
    pytest.param("DIRECTORY", [], r"is a directory|not a (regular )?file", r"TSV", id="input-is-a-directory"),
    pytest.param("good", ["--rank", "5"], r"1 <= rank < min\(n_samples, n_features\) = 5.*got 5",
                 r"choose a smaller rank", id="rank-too-large"),
    pytest.param("good", ["--rank", "2.5"], r"argument --rank: invalid int value: '2.5'", r"--rank RANK",
                 id="rank-not-integer"),
    pytest.param("good", ["--noise", "poison"], r"unknown noise model 'poison'",
                 r"choose from gaussian, poisson, gamma, nb_shared, nb_sample, tweedie, tweedie_p<p>", id="unknown-noise"),
    pytest.param("good", ["--noise", "tweedie_p0.5"], r"no Tweedie distribution exists for 0 < p < 1", r"p = 0",
                 id="tweedie-label-impossible-power"),
    pytest.param("good", ["--noise", "tweedie_p1.5", "--power", "1.7"], r"--noise tweedie_p1.5 fixes the Tweedie power",
                 r"drop --power", id="tweedie-label-and-power"),
    pytest.param("good", ["--noise", "nb_sample", "--dispersion", "shared"], r"contradict each other",
                 r"give --noise nb_shared alone", id="nb-label-and-dispersion"),
    pytest.param("good", ["--noise", "poisson", "--dispersion", "sample"], r"--dispersion applies to --noise nb only",
                 r"drop it or use --noise nb", id="dispersion-without-nb"),
    pytest.param("good", ["--noise", "poisson", "--alpha", "5"], r"unknown parameter\(s\) \['alpha'\] for noise model 'poisson'",
                 r"allowed: none", id="alpha-without-nb"),
    pytest.param("good", ["--structure", "semi"], r"unknown structure 'semi'",
                 r"choose one of nmf, convex, autoencoder", id="unknown-structure"),
    pytest.param("good", ["--noise", "tweedie", "--power", "0.5"], r"no Tweedie distribution exists for 0 < p < 1",
                 r"use p = 0", id="tweedie-power-0.5"),
    pytest.param("good", ["--noise", "tweedie", "--powers", "1.2,0.5"], r"got 0.5", r"use p = 0",
                 id="tweedie-grid-with-0.5"),
    pytest.param("good", ["--noise", "tweedie", "--powers", "1.5,abc"], r"--powers.*'abc'", r"comma-separated",
                 id="tweedie-grid-not-numbers"),
    pytest.param("good", ["--noise", "nb", "--alpha", "0"], r"NB alpha must be a positive finite number.*got 0.0",
                 r"use a large value", id="nb-alpha-0"),
    pytest.param("good", ["--noise", "nb", "--alpha", "-2"], r"got -2.0", r"positive finite", id="nb-alpha-negative"),
    pytest.param("good", ["--alpha", "3"], r"unknown parameter\(s\) \['alpha'\] for noise model 'poisson'",
                 r"allowed: none", id="alpha-with-poisson"),
    pytest.param("zeros", ["--noise", "gamma"], r"strictly positive data, but X has \d+ zero entries",
                 r"use poisson, nb or tweedie", id="gamma-with-zeros"),
    pytest.param("good", ["--restarts", "0"], r"--restarts must be an integer >= 1, got 0", r">= 1",
                 id="restarts-0"),
    pytest.param("OUT_IS_FILE", [], r"output .*exists and is not a directory", r"director", id="out-is-an-existing-file"),
]


def _cli_args(tmp_path: Path, name: str, extra: list[str]) -> tuple[list[str], Path]:
    out = tmp_path / "fit_out"
    if name == "MISSING":
        counts = tmp_path / "nope.tsv"
    elif name == "DIRECTORY":
        counts = tmp_path / "a_directory"
        counts.mkdir()
    elif name == "zeros":
        counts = tmp_path / "zeros.tsv"
        counts.write_text("\n".join([_HEADER, *_set_cell(1, 1, "0")]) + "\n")
    else:
        counts = _write_tsv(tmp_path, "good" if name == "OUT_IS_FILE" else name)
    if name == "OUT_IS_FILE":
        out = tmp_path / "already_a_file"
        out.write_text("keep me\n")
    args = ["fit", str(counts), "--rank", "2", "--max-iter", "50", *extra, "--out", str(out)]
    if extra[:1] == ["--rank"]:  # the case's own --rank wins (argparse keeps the last)
        args = ["fit", str(counts), "--max-iter", "50", *extra, "--out", str(out)]
    return args, out


def _check_no_output(out: Path, name: str):
    if name == "OUT_IS_FILE":
        assert out.read_text() == "keep me\n"
    else:
        assert not out.exists(), f"{out} was created: {files_under(out)}"


@pytest.mark.parametrize("name, extra, problem, fix", CLI_CASES)
def test_cli_rejects_bad_input(tmp_path, name, extra, problem, fix):
    args, out = _cli_args(tmp_path, name, extra)
    res = subprocess.run([sys.executable, "-m", "nmfcore", *args], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    assert re.search(msg(problem, fix), res.stderr), res.stderr
    assert res.stdout == ""
    _check_no_output(out, name)


@pytest.mark.parametrize("name, extra, problem, fix", CLI_CASES)
def test_cli_rejects_bad_input_before_any_work(tmp_path, name, extra, problem, fix, tripwire, capsys):
    """The same table in-process, with the tripwire on the fitting driver."""
    args, out = _cli_args(tmp_path, name, extra)
    try:
        rc = cli_main(args)
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2, err
    assert re.search(msg(problem, fix), err), err
    assert not tripwire
    _check_no_output(out, name)


def test_cli_good_input_still_works(tmp_path):
    """Control for the table above: the good file fits and writes its outputs."""
    args, out = _cli_args(tmp_path, "good", [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        assert cli_main(args) == 0
    assert {p.name for p in files_under(out)} >= {"W.tsv", "H.tsv", "trace.tsv", "summary.json"}


# =============================================================================== second round (CLI, API, files)

def _run_cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "nmfcore", *map(str, args)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)


def test_cli_never_overwrites_its_input(tmp_path):
    """`fit W.tsv --out .` would write the fitted W over the input: refused before any work."""
    src = _write_tsv(tmp_path, "good")
    data = tmp_path / "W.tsv"
    data.write_text(src.read_text())
    before = data.read_bytes()
    res = _run_cli(tmp_path, "fit", "W.tsv", "--rank", "2", "--max-iter", "20", "--out", ".")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert re.search(msg(r"would overwrite the input W.tsv", r"choose another output folder"), res.stderr), res.stderr
    assert data.read_bytes() == before and not (tmp_path / "H.tsv").exists()


def test_cli_output_under_a_file_is_refused_before_work(tmp_path, tripwire, capsys):
    counts = _write_tsv(tmp_path, "good")
    (tmp_path / "afile").write_text("x")
    assert cli_main(["fit", str(counts), "--rank", "2", "--out", str(tmp_path / "afile" / "sub")]) == 2
    assert re.search(msg(r"afile/sub cannot be created", r"is a file, not a directory"), capsys.readouterr().err)
    assert not tripwire


def test_reused_output_folder_holds_one_consistent_result(tmp_path):
    """A convex fit (W, G, H) then a rank-2 NMF fit into the same folder: no stale G.tsv is left, and
    read_result returns the NMF fit's set."""
    counts = _write_tsv(tmp_path, "good")
    out = tmp_path / "res"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli_main(["fit", str(counts), "--rank", "3", "--structure", "convex", "--max-iter", "30",
                         "--out", str(out)]) == 0
        assert (out / "G.tsv").exists()
        assert cli_main(["fit", str(counts), "--rank", "2", "--max-iter", "30", "--out", str(out)]) == 0
    assert not (out / "G.tsv").exists()
    res = nmfcore.io.read_result(out)
    assert res["summary"]["row"]["structure"] == "nmf" and res["W"].shape[1] == 2 and res["H"].shape[0] == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".nmfcore-stage")]


def test_result_files_respect_the_umask(tmp_path):
    counts = _write_tsv(tmp_path, "good")
    old = os.umask(0o022)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert cli_main(["fit", str(counts), "--rank", "2", "--max-iter", "20", "--out", str(tmp_path / "o")]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "o").iterdir() if not p.name.startswith(".")}
    assert modes and set(modes.values()) == {0o644}, modes


def _catalogue_file(tmp_path, name, sep="\t", channels_as_rows=True):
    rows = [line.split("\t") for line in _catalogue_lines()]  # channels x samples (SigProfiler layout)
    if not channels_as_rows:
        rows = list(zip(*rows))
    path = tmp_path / name
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    return path, len(_catalogue_lines()[0].split("\t")) - 1


@pytest.mark.parametrize("sep, name", [("\t", "cat.tsv"), (",", "cat.csv"), (",", "cat.txt")])
def test_channels_by_samples_catalogue_is_oriented_by_its_labels(tmp_path, sep, name):
    path, n = _catalogue_file(tmp_path, name, sep)
    with pytest.warns(UserWarning, match="rows carry the 96 SBS channel labels"):
        X = nmfcore.io.read_matrix(path)
    assert X.shape == (n, 96) and nmfcore.io.is_sbs96_labels(X.columns)
    plain, _ = _catalogue_file(tmp_path, "plain.tsv", channels_as_rows=False)
    assert nmfcore.io.read_matrix(plain).equals(X)
    with pytest.raises(ValueError, match="already carry the 96 SBS channel labels.*do not ask to transpose"):
        nmfcore.io.read_matrix(plain, transpose=True)


def test_gzipped_csv_is_read(tmp_path):
    import gzip

    plain = _write_tsv(tmp_path, "good")
    gz = tmp_path / "good.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(plain.read_text().replace("\t", ","))
    a, b = nmfcore.io.read_matrix(plain), nmfcore.io.read_matrix(gz)
    assert a.equals(b)


def test_missing_labels_are_refused(tmp_path):
    lines = (tmp_path / "x.tsv")
    lines.write_text("id\tf1\t\tf3\ns1\t1\t2\t3\ns2\t4\t5\t6\n")
    with pytest.raises(ValueError, match="a column has no label"):
        nmfcore.io.read_matrix(lines)
    lines.write_text("id\tf1\tf2\n\t1\t2\ns2\t4\t5\n")
    with pytest.raises(ValueError, match="a row has no label"):
        nmfcore.io.read_matrix(lines)


@pytest.mark.parametrize("structure, bad", [("nmf", "W_row"), ("nmf", "H_col"), ("convex", "G_all")])
def test_degenerate_inits_are_refused_never_nan(structure, bad, tripwire):
    rng = np.random.default_rng(0)
    W0, H0, G0 = rng.uniform(size=(10, 2)), rng.uniform(size=(2, 8)), rng.uniform(size=(2, 10))
    if bad == "W_row":
        W0[3] = 0
    elif bad == "H_col":
        H0[:, 5] = 0
    else:
        G0[:] = 0
    init = {"W": W0, "H": H0} if structure == "nmf" else {"W": W0, "G": G0}
    with pytest.raises(ValueError, match=r"all-zero (row|column).*give every row and column a positive entry"):
        nmfcore.fit(X, 2, structure=structure, init=init)


@pytest.mark.parametrize("scale", [1e120, 1e-120])
def test_values_beyond_float_range_are_refused(scale, tripwire):
    with pytest.raises(ValueError, match=r"values as (large|small) as .*rescale the data"):
        nmfcore.fit(X * scale, 2, noise="gaussian")


@pytest.mark.parametrize("scale", [1e-60, 1e60])
@pytest.mark.parametrize("noise", ["gaussian", "poisson"])
def test_extreme_but_representable_scales_fit_like_the_unscaled_data(scale, noise):
    """Scale equivariance: a Gaussian or Poisson fit of c X is c times the fit of X (no NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        a = nmfcore.fit(X, 2, noise=noise, random_state=0, max_iter=300, tol=0, ae_init="uniform")
        b = nmfcore.fit(X * scale, 2, noise=noise, random_state=0, max_iter=300, tol=0, ae_init="uniform")
    assert np.isfinite(b.W).all() and np.isfinite(b.loglik)
    np.testing.assert_allclose(b.W @ b.H, scale * (a.W @ a.H), rtol=1e-6)


# =============================================================================== data layer

def _catalogue_lines() -> list[str]:
    return BRCA21.read_text().splitlines()


def _catalogue(tmp_path: Path, lines: list[str], name="cat.tsv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _relabel(lines, row, label):
    lines = list(lines)
    lines[row] = label + lines[row][lines[row].index("\t"):]
    return lines


def _cell(lines, row, col, value):
    lines = list(lines)
    fields = lines[row].split("\t")
    fields[col] = value
    lines[row] = "\t".join(fields)
    return lines


def _bad_catalogue(kind: str, tmp_path: Path) -> Path:
    lines = _catalogue_lines()
    if kind == "dup_channel":
        return _catalogue(tmp_path, _relabel(lines, 2, lines[1].split("\t")[0]))
    if kind == "95_channels":
        return _catalogue(tmp_path, lines[:40] + lines[41:])
    if kind == "97_channels":
        return _catalogue(tmp_path, lines + [lines[7]])
    if kind == "unknown_channel":
        return _catalogue(tmp_path, _relabel(lines, 3, "A[C>A]X"))
    if kind == "dup_sample":
        return _catalogue(tmp_path, [lines[0].replace("PD4088a", "PD4194a"), *lines[1:]])
    if kind == "non_numeric":
        return _catalogue(tmp_path, _cell(lines, 5, 3, "n/a"))
    if kind == "negative":
        return _catalogue(tmp_path, _cell(lines, 5, 3, "-4"))
    if kind == "ragged":
        return _catalogue(tmp_path, _cell(lines, 5, 3, "1\t2"))
    if kind == "empty":
        return _catalogue(tmp_path, [""])
    if kind == "truncated_gzip":
        path = tmp_path / "cat.tsv.gz"
        path.write_bytes(gzip.compress(BRCA21.read_bytes())[:600])
        return path
    if kind == "missing":
        return tmp_path / "not_fetched.tsv"
    raise KeyError(kind)


DATA_CASES = [
    pytest.param("dup_channel", ds.DataFormatError, r"cat.tsv: duplicated channel label\(s\) \['A\[C>A\]A'\]",
                 r"must appear exactly once - remove or merge the duplicates", id="duplicated-channel"),
    pytest.param("95_channels", ds.DataFormatError, r"missing channel\(s\) - 95 of 96 SBS channels present",
                 r"add the missing ones with zero counts", id="95-channels"),
    pytest.param("97_channels", ds.DataFormatError, r"duplicated channel label", r"exactly once",
                 id="97-channels-one-repeated"),
    pytest.param("unknown_channel", ds.DataFormatError, r"unknown channel label\(s\) \['A\[C>A\]X'\]",
                 r"relabel the file", id="unknown-channel"),
    pytest.param("dup_sample", ds.DataFormatError, r"duplicated sample label\(s\) \['PD4194a'\]",
                 r"rename or remove the duplicates", id="duplicated-sample"),
    pytest.param("non_numeric", ds.DataFormatError, r"non-numeric or missing count 'n/a'",
                 r"fix or remove them", id="non-numeric-count"),
    pytest.param("negative", ds.DataFormatError, r"negative count '-4'", r"must be non-negative numbers",
                 id="negative-count"),
    pytest.param("ragged", ds.DataFormatError, r"ragged rows - the header has 22 fields but line 6 has 23",
                 r"every row must have the same number", id="ragged-row"),
    pytest.param("empty", ds.DataFormatError, r"cat.tsv: the file is empty", r"check that the path names the right",
                 id="empty-file"),
    pytest.param("truncated_gzip", ds.DataFormatError, r"cat.tsv.gz: truncated or corrupt gzip file",
                 r"re-create it \(a downloaded data set: fetch it again\)", id="truncated-gzip"),
    pytest.param("missing", FileNotFoundError, r"not_fetched.tsv does not exist",
                 r"python -m nmfcore.datasets fetch", id="file-not-fetched"),
]


@pytest.mark.parametrize("kind, exc, problem, fix", [c for c in DATA_CASES if c.id not in ("file-not-fetched",
                                                                                             "truncated-gzip", "empty-file")])
def test_cli_reads_a_catalogue_as_the_workflow_does(tmp_path, kind, exc, problem, fix, tripwire, capsys):
    """fit/select read a file with the SBS channels on an axis by the catalogue reader: the same message (the
    file, the channel and sample of a bad cell, the axis of a duplicated label as in the file, the missing
    channels), exit 2, nothing written; earlier a 95-channel file was fitted as 95 samples x 21 features."""
    path = _bad_catalogue(kind, tmp_path)
    for command in ("fit", "select"):
        args = ["--rank", "2"] if command == "fit" else ["--ranks", "2"]
        assert cli_main([command, str(path), *args, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert re.search(msg(re.escape(str(path)), problem, fix), err), err
    assert not tripwire and not (tmp_path / "o").exists()


def test_cli_names_the_axis_of_a_duplicated_catalogue_label_as_in_the_file(tmp_path, capsys):
    lines = _catalogue_lines()
    dup_channel = [lines[0], lines[1], lines[1], *lines[3:]]
    dup_sample = [lines[0].replace("PD4088a", "PD4194a"), *lines[1:]]
    for name, text, expected in (("dc.tsv", dup_channel, r"duplicated channel label\(s\) \['A\[C>A\]A'\] in the first column"),
                                 ("ds.tsv", dup_sample, r"duplicated sample label\(s\) \['PD4194a'\] in the header")):
        rows = [line.split("\t") for line in text]
        for turned in (False, True):
            path = tmp_path / (("T" if turned else "") + name)
            path.write_text("\n".join("\t".join(r) for r in (list(zip(*rows)) if turned else rows)) + "\n")
            assert cli_main(["fit", str(path), "--rank", "2", "--out", str(tmp_path / "o")]) == 2
            err = capsys.readouterr().err
            if turned:  # the same label, now on the other axis of the file
                expected = expected.replace("in the first column", "IN").replace("in the header", "in the first column")
                expected = expected.replace("IN", "in the header")
            assert re.search(expected, err), (path.name, err)


def test_cli_names_a_bad_cell_of_a_transposed_counts_file_by_its_labels(tmp_path, capsys):
    """--transpose: the cell is named by the file's own row (feature) and column (sample) labels."""
    rows = [line.split("\t") for line in TSV["good"]]
    rows[3][2] = "-3"  # sample s2, feature f1
    rows[5][4] = "high"  # sample s4, feature f3
    path = tmp_path / "ft.tsv"
    path.write_text("\n".join("\t".join(r) for r in zip(*rows)) + "\n")
    assert cli_main(["fit", str(path), "--transpose", "--rank", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"ft.tsv: non-numeric values in column\(s\) \['s4'\], first 'high' at feature 'f3', sample 's4'",
                     err), err
    rows[5][4] = "1"
    path.write_text("\n".join("\t".join(r) for r in zip(*rows)) + "\n")
    assert cli_main(["fit", str(path), "--transpose", "--rank", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert re.search(msg(r"ft.tsv: negative value -3 at feature 'f1', sample 's2'", r"fix or remove"), err), err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind, exc, problem, fix", DATA_CASES)
def test_catalogue_reader_rejects(tmp_path, kind, exc, problem, fix):
    path = _bad_catalogue(kind, tmp_path)
    before = sorted(p.name for p in files_under(tmp_path))
    with pytest.raises(exc, match=msg(problem, fix)):
        ds.read_catalogue(path)
    with pytest.raises(exc, match=msg(problem, fix)):  # the registry loader gives the same error
        ds.load("brca21", path)
    assert sorted(p.name for p in files_under(tmp_path)) == before


@pytest.mark.parametrize("kind, exc, problem, fix", [c for c in DATA_CASES if c.values[0] != "missing"])
def test_datasets_cli_prepare_rejects(tmp_path, kind, exc, problem, fix):
    """``python -m nmfcore.datasets prepare`` on a bad file: exit 1, the same message, nothing written."""
    path = _bad_catalogue(kind, tmp_path)
    out = tmp_path / "prepared" / "brca21.tsv"
    res = subprocess.run([sys.executable, "-m", "nmfcore.datasets", "prepare", "brca21", "--raw", str(path),
                          "--out", str(out)], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    name = "(?:DataFormatError|ChannelLabelError)" if exc is ds.DataFormatError else exc.__name__  # its subclass
    assert re.search(msg(f"error: {name}: ", problem, fix), res.stderr), res.stderr
    assert not out.parent.exists()


def _registry_with_sha(name: str, kind: str, sha: str, **changes) -> ds.DatasetSpec:
    """Copy of registry entry ``name`` whose primary file's ``kind`` source has sha256 ``sha``."""
    spec = ds.DATASETS[name]
    primary = spec.primary
    src = primary.of_kind(kind)[0]
    new = dataclasses.replace(src, sha256=sha, **changes)
    files = (dataclasses.replace(primary, sources=(new,)), *spec.files[1:])
    return dataclasses.replace(spec, files=files)


def test_fetch_checksum_mismatch_in_registry_leaves_nothing(tmp_path, monkeypatch):
    wrong = "f" * 64
    monkeypatch.setitem(ds.DATASETS, "brca21", _registry_with_sha("brca21", "bundled", wrong))
    dest = tmp_path / "raw"
    with pytest.raises(ds.ChecksumError, match=msg(r"checksum mismatch for workflow/resources/data/mutational/"
                                                   r"BRCA21_SigMoS.tsv", f"expected sha256 {wrong}",
                                                   f"got {ds.sha256sum(BRCA21)}", r"Nothing was written",
                                                   r"retry, or obtain the file with another mode")):
        ds.fetch("brca21", dest, mode="bundled", cache_dir=tmp_path / "cache")
    assert files_under(dest) == []  # no data file, no provenance record, no temporary .part file


@pytest.mark.parametrize("mode", ["download", "auto"])
def test_fetch_of_tampered_copy_leaves_nothing(tmp_path, monkeypatch, mode):
    """A download whose bytes differ from the registered hash is an error (never a fallback in auto mode)."""
    tampered = tmp_path / "remote" / "BRCA21_SigMoS.tsv"
    tampered.parent.mkdir()
    data = bytearray(BRCA21.read_bytes())
    data[100:101] = b"9" if data[100:101] != b"9" else b"8"
    tampered.write_bytes(bytes(data))
    good_sha = ds.sha256sum(BRCA21)
    spec = ds.DATASETS["brca21"]
    source = reg._direct(tampered.as_uri(), good_sha, verified=True)
    primary = dataclasses.replace(spec.primary, sources=(source, *spec.primary.sources))
    monkeypatch.setitem(ds.DATASETS, "brca21", dataclasses.replace(spec, files=(primary,)))
    dest = tmp_path / "raw"
    with pytest.raises(ds.ChecksumError, match=msg(r"checksum mismatch", f"expected sha256 {good_sha}",
                                                   f"got {ds.sha256sum(tampered)}", r"Nothing was written",
                                                   r"retry")):
        ds.fetch("brca21", dest, mode=mode, cache_dir=tmp_path / "cache")
    assert files_under(dest) == []


def test_fetch_checksum_mismatch_keeps_an_existing_good_file(tmp_path, monkeypatch):
    dest = tmp_path / "raw"
    good = ds.fetch("brca21", dest, mode="bundled", cache_dir=tmp_path / "cache")
    before = {p.name: p.read_bytes() for p in files_under(dest)}
    monkeypatch.setitem(ds.DATASETS, "brca21", _registry_with_sha("brca21", "bundled", "0" * 64))
    with pytest.raises(ds.ChecksumError):
        ds.fetch("brca21", dest, mode="bundled", cache_dir=tmp_path / "cache")
    assert {p.name: p.read_bytes() for p in files_under(dest)} == before
    assert good.read_bytes() == BRCA21.read_bytes()


def test_fetch_unknown_dataset(tmp_path):
    with pytest.raises(KeyError, match=msg(r"unknown data set 'brca22'", r"known: brca21, ")):
        ds.fetch("brca22", tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_fetch_bad_mode(tmp_path):
    with pytest.raises(ValueError, match=msg(r"not 'ftp'", r"mode must be 'auto', 'download', 'bundled' or 'wheel'")):
        ds.fetch("brca21", tmp_path / "raw", mode="ftp")
    assert not (tmp_path / "raw").exists()


def test_datasets_cli_unknown_dataset(tmp_path):
    res = subprocess.run([sys.executable, "-m", "nmfcore.datasets", "fetch", "brca22", "--dest",
                          str(tmp_path / "raw")], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert res.returncode == 2
    assert re.search(msg(r"invalid choice: 'brca22'", r"choose from .*'brca21'"), res.stderr), res.stderr
    assert not (tmp_path / "raw").exists()


# =============================================================================== workflow (snakemake -n)

SNAKEFILE = REPO / "Snakefile"
TEST_CONFIG = REPO / ".test" / "config.yaml"  # the base config to break (else config/config.yaml)
needs_workflow = pytest.mark.skipif(
    not (SNAKEFILE.is_file() and (TEST_CONFIG.is_file() or (REPO / "config" / "config.yaml").is_file())),
    reason="workflow (Snakefile and .test/config.yaml or config/config.yaml) not in this checkout")


def _base_config() -> dict:
    import yaml

    return yaml.safe_load((TEST_CONFIG if TEST_CONFIG.is_file() else REPO / "config" / "config.yaml").read_text())


def _add_noise(name, spec):
    return lambda c: c["noise_models"].__setitem__(name, spec)


def _misspell_fit_key(c):
    c.setdefault("fit", {})["max_iters"] = 100  # max_iter


def _rank_too_large_for_simulation(c):
    c.setdefault("simulations", {})["tiny"] = {"signatures": ["SBS1", "SBS5"], "n_samples": 10,
                                               "noise": {"family": "poisson"}, "replicate_seeds": [1]}
    c["experiments"]["too_big"] = {"datasets": ["tiny"], "structures": ["nmf"],
                                   "noise_models": [next(iter(c["noise_models"]))], "ranks": [12]}


def _rank_too_large_for_catalogue(c):
    c["datasets"]["cat96"] = {"source": "brca21", "kind": "catalogue"}
    c["experiments"]["too_big"] = {"datasets": ["cat96"], "structures": ["nmf"],
                                   "noise_models": [next(iter(c["noise_models"]))], "ranks": [200]}


def _unknown_source(c):
    c["datasets"]["mystery"] = {"source": "brca22", "kind": "catalogue"}


def _experiment_on_unknown_dataset(c):
    c["experiments"]["orphan"] = {"datasets": ["nowhere"], "structures": ["nmf"],
                                  "noise_models": [next(iter(c["noise_models"]))], "ranks": [2]}


def _rank_above_catalogue_samples(c):
    c["datasets"]["cat21"] = {"source": "brca21", "kind": "catalogue"}
    c["experiments"]["too_big"] = {"datasets": ["cat21"], "structures": ["nmf"],
                                   "noise_models": [next(iter(c["noise_models"]))], "ranks": [25]}


def _rank_above_cv_training_samples(c):
    c["datasets"]["cat21"] = {"source": "brca21", "kind": "catalogue"}
    c["experiments"]["too_big"] = {"datasets": ["cat21"], "splits": ["cv"], "structures": ["nmf"],
                                   "noise_models": [next(iter(c["noise_models"]))], "ranks": [16]}


def _adam_option_in_mm_only_experiment(c):
    c["experiments"]["mm_only"] = {"datasets": [next(iter(c["datasets"]))], "structures": ["nmf"],
                                   "noise_models": [next(iter(c["noise_models"]))], "ranks": [2],
                                   "fit": {"ae_constraint": "project"}}


def _rank_offset_below_one(c):
    c.setdefault("simulations", {})["tiny"] = {"signatures": ["SBS1", "SBS5"], "n_samples": 10,
                                               "noise": {"family": "poisson"}, "replicate_seeds": [1]}
    c["experiments"]["offsets"] = {"datasets": ["tiny"], "structures": ["nmf"],
                                   "noise_models": [next(iter(c["noise_models"]))], "rank_offsets": [-3, 0]}


WORKFLOW_CASES = [
    pytest.param(lambda c: c.setdefault("fit", {}).__setitem__("n_restarts", 2.0),
                 [r"fit.n_restarts: 2.0 must be a whole number", r"e.g. 2"], id="n-restarts-2.0"),
    pytest.param(lambda c: next(iter(c["experiments"].values())).__setitem__("ranks", [2, 3.0]),
                 [r"ranks: 3.0 must be a whole number", r"without a decimal point"], id="rank-3.0"),
    pytest.param(_rank_above_catalogue_samples, [r"too_big", r"rank 25", r"cat21", r"21 samples", r"lower the rank"],
                 id="rank-above-catalogue-samples"),
    pytest.param(_rank_above_cv_training_samples, [r"too_big", r"rank 16", r"cv0", r"trains on 16 samples",
                                                   r"lower the rank"], id="rank-above-cv-training-samples"),
    pytest.param(_misspell_fit_key, [r"Additional properties are not allowed \('max_iters' was unexpected\)",
                                     r"On instance\['fit'\]"], id="misspelled-key"),
    pytest.param(lambda c: c.setdefault("fit", {}).__setitem__("dtype", "float16"),
                 [r"'float16' is not one of \['float64', 'float32'\]", r"On instance\['fit'\]\['dtype'\]"],
                 id="fit-dtype-float16"),
    pytest.param(lambda c: c.__setitem__("noise_model", c.pop("noise_models")),
                 [r"\('noise_model' was unexpected\)", r"'noise_models' is a required property|was unexpected"],
                 id="misspelled-top-level-key"),
    pytest.param(_add_noise("lognormal", {"family": "lognormal"}),
                 [r"'lognormal' is not one of \['gaussian', 'poisson', 'gamma', 'tweedie', 'nb'\]",
                  r"instance\['noise_models'\]\['lognormal'\]\['family'\]"], id="unknown-noise-family"),
    pytest.param(_add_noise("tw_bad", {"family": "tweedie", "power": 0.5}),
                 [r"noise_models.tw_bad: no Tweedie distribution has power 0.5", r"use 0 or 1..2"],
                 id="tweedie-power-0.5"),
    pytest.param(_add_noise("tw_grid", {"family": "tweedie", "powers": [1.2, 0.5]}),
                 [r"noise_models.tw_grid: no Tweedie distribution has power 0.5", r"use 0 or 1..2"],
                 id="tweedie-grid-with-0.5"),
    pytest.param(_add_noise("nb_bad", {"family": "nb", "alpha": 0}),
                 [r"0 is less than or equal to the minimum of 0", r"instance\['noise_models'\]\['nb_bad'\]\['alpha'\]"],
                 id="nb-alpha-0"),
    pytest.param(_add_noise("nb_neg", {"family": "nb", "alpha": -1.5}),
                 [r"-1.5 is less than or equal to the minimum of 0",
                  r"instance\['noise_models'\]\['nb_neg'\]\['alpha'\]"], id="nb-alpha-negative"),
    pytest.param(_rank_too_large_for_simulation, [r"too_big", r"rank 12", r"tiny", r"10 samples", r"lower the rank"],
                 id="rank-above-simulated-samples"),
    pytest.param(_rank_too_large_for_catalogue, [r"too_big", r"rank 200", r"cat96", r"96", r"lower the rank"],
                 id="rank-above-96-channels"),
    pytest.param(_unknown_source, [r"'brca22' is not one of \['brca21'",
                                   r"instance\['datasets'\]\['mystery'\]\['source'\]"],
                 id="dataset-not-in-registry"),
    pytest.param(_experiment_on_unknown_dataset, [r"experiments.orphan: unknown data set 'nowhere'", r"known: \["],
                 id="experiment-on-unknown-dataset"),
    pytest.param(lambda c: next(iter(c["experiments"].values())).__setitem__("ranks", [2, 3, 2]),
                 [r"experiments.rank.ranks: \['2'\] listed more than once", r"list each value once"],
                 id="duplicate-ranks"),
    pytest.param(lambda c: next(iter(c["experiments"].values())).__setitem__("seeds", [1, 1]),
                 [r"experiments.rank.seeds: \['1'\] listed more than once", r"list each value once"],
                 id="duplicate-seeds"),
    pytest.param(_add_noise("tw_both", {"family": "tweedie", "power": 1.5, "powers": [1.2, 1.4]}),
                 [r"noise_models.tw_both: tweedie takes either power \(fixed\) or powers", r"not both"],
                 id="tweedie-power-and-powers"),
    pytest.param(_add_noise("nb_fixed_sample", {"family": "nb", "alpha": 5, "dispersion": "sample"}),
                 [r"noise_models.nb_fixed_sample: nb with dispersion 'sample' has one alpha per sample",
                  r"use dispersion 'shared'"], id="nb-sample-with-one-fixed-alpha"),
    pytest.param(lambda c: c["structures"].__setitem__("nmf", {"lr": 0.01}),
                 [r"structures.nmf.lr: only the autoencoder \(Adam\) has a lr", r"fitted by MM updates: remove it"],
                 id="lr-under-an-mm-structure"),
    pytest.param(_adam_option_in_mm_only_experiment,
                 [r"experiments.mm_only.fit.ae_constraint: only the autoencoder", r"fits \['nmf'\]: remove it"],
                 id="ae-constraint-in-an-experiment-without-autoencoder"),
    pytest.param(lambda c: c.__setitem__("plots", {"signature": []}),
                 [r"Additional properties are not allowed \('signature' was unexpected\)", r"instance\['plots'\]"],
                 id="misspelled-plots-key"),
    pytest.param(lambda c: c.__setitem__("plots", {"signatures": [{"dataset": "brca21", "structure": "nmf",
                                                                   "noise": "gaussian", "rank": 9}]}),
                 [r"plots.signatures\[0\] \(dataset: brca21, structure: nmf, noise: gaussian, rank: 9\)",
                  r"no experiment fits this model", r"add it to an experiment"], id="signature-figure-of-an-unfitted-model"),
    pytest.param(lambda c: c.setdefault("simulations", {}).__setitem__("odd", {
                     "signatures": ["SBS1", "SBS999"], "n_samples": 10, "noise": {"family": "poisson"},
                     "replicate_seeds": [1]}),
                 [r"simulations.odd.signatures: \['SBS999'\] are not in the reference 'cosmic_v3.4'",
                  r"correct the names"], id="simulated-signature-not-in-reference"),
    pytest.param(lambda c: c.setdefault("simulations", {}).__setitem__("twice", {
                     "signatures": ["SBS1", "SBS5", "SBS1"], "n_samples": 10, "noise": {"family": "poisson"},
                     "replicate_seeds": [1]}),
                 [r"simulations.twice.signatures: \['SBS1'\] listed more than once"], id="simulated-signature-twice"),
    pytest.param(lambda c: c["datasets"].__setitem__("words", {"source": "reuters_r8", "kind": "text", "n_docs": 60,
                                                               "min_df": 50, "max_df": 0.01}),
                 [r"datasets.words: min_df=50 asks for terms in more documents than max_df=0.01 allows \(of 60\)",
                  r"lower min_df or raise max_df"], id="text-filters-keep-no-term"),
    pytest.param(_rank_offset_below_one, [r"experiments.offsets: rank -1 on 'sim_tiny_r1'", r"true rank 2",
                                          r"is below 1; remove that offset"], id="rank-offset-below-1"),
]


def _dry_run(tmp_path: Path, config, name: str = "bad.yaml") -> subprocess.CompletedProcess:
    """Dry run of the workflow with ``config`` (a dict, or YAML text written as it is) as ``tmp_path/name``."""
    import yaml

    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    (tmp_path / name).write_text(text)
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(tmp_path),
                           "--configfile", str(tmp_path / name), "-n", "--quiet", "rules"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


@pytest.mark.workflow
@needs_workflow
def test_workflow_rejects_duplicate_yaml_keys(tmp_path):
    """YAML keeps the last of two equal keys: a second `poisson:` (family gaussian) would label Gaussian fits
    as Poisson. Every config file is read again strictly."""
    import yaml

    text = yaml.safe_dump(_base_config(), sort_keys=False)
    text = text.replace("noise_models:\n", "noise_models:\n  poisson:\n    family: gaussian\n", 1)
    res = _dry_run(tmp_path, text, "dup.yaml")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert re.search(msg(r"dup.yaml: key 'poisson' appears twice \(lines \d+ and \d+\)", r"remove or rename"), out), out[-3000:]
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
@needs_workflow
def test_workflow_dry_run_of_the_unmodified_config(tmp_path):
    """Control: the base config itself passes the dry run (so the failures below are the mutations')."""
    res = _dry_run(tmp_path, _base_config())
    assert res.returncode == 0, res.stderr[-3000:]
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
@needs_workflow
@pytest.mark.parametrize("mutate, parts", WORKFLOW_CASES)
def test_workflow_dry_run_rejects_bad_config(tmp_path, mutate, parts):
    _rejected_at_planning(tmp_path, mutate, parts)


def _rejected_at_planning(tmp_path, mutate, parts):
    """The base config with one mutation fails its dry run with a message matching ``parts`` and writes
    nothing; returns the output."""
    config = _base_config()
    mutate(config)
    res = _dry_run(tmp_path, config)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert re.search(msg(*parts), out), out[-3000:]
    assert not (tmp_path / "results").exists()
    return out


def test_meaningful_types_fit_like_their_dense_float_counts():
    """A sparse matrix, a masked array with nothing masked and a pandas frame of numeric strings are the same
    counts: the same fit as the dense float array. A boolean matrix is fitted as 0/1 with a warning."""
    import scipy.sparse as sp
    ref = nmfcore.fit(X, 2, max_iter=50, random_state=0)
    for same in (sp.csr_matrix(X), np.ma.masked_array(X), pd.DataFrame(X.astype(int).astype(str))):
        res = nmfcore.fit(same, 2, max_iter=50, random_state=0)
        np.testing.assert_array_equal(res.W, ref.W)
    with pytest.warns(UserWarning, match="boolean: fitted as 0/1 counts"):
        res = nmfcore.fit(X > 3, 2, max_iter=50, random_state=0)
    assert np.isfinite(res.loglik)


@pytest.mark.parametrize("noise", ["poisson", "nb", {"family": "nb", "dispersion": "sample"}])
def test_count_families_on_non_integer_data_warn(noise):
    with pytest.warns(UserWarning, match="non-integer values: the fit .* is valid, but a Poisson/NB log-likelihood"):
        res = nmfcore.fit(X + 0.25, 2, noise=noise, max_iter=50, random_state=0)
    assert np.isfinite(res.loglik)


# =============================================================================== round 4 (adversarial tester)

@pytest.mark.parametrize("c", [1e-60, 1e60])
@pytest.mark.parametrize("p", [1.2, 1.5, 1.8])
def test_tweedie_fixed_power_phi_and_loglik_follow_the_data_scale(p, c):
    """phi scales as c^(2-p) and a density's log-likelihood shifts by -n m log(c) (phi was searched from a floor
    of 1e-8 in at most 10 widenings: wrong at small scales)."""
    noise = {"family": "tweedie", "power": p}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        a = nmfcore.fit(X, 2, noise=noise, max_iter=300, tol=0, random_state=0)
        b = nmfcore.fit(X * c, 2, noise=noise, max_iter=300, tol=0, random_state=0)
    assert b.noise.params["phi"] / (a.noise.params["phi"] * c ** (2 - p)) == pytest.approx(1, rel=1e-6)
    assert b.loglik == pytest.approx(a.loglik - X.size * np.log(c), rel=1e-6)


def test_tweedie_phi_at_1e_minus_95():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        a = nmfcore.fit(X, 2, noise={"family": "tweedie", "power": 1.5}, max_iter=100, tol=0, random_state=0)
        b = nmfcore.fit(X * 1e-95, 2, noise={"family": "tweedie", "power": 1.5}, max_iter=100, tol=0, random_state=0)
    assert b.noise.params["phi"] / (a.noise.params["phi"] * 1e-95 ** 0.5) == pytest.approx(1, rel=1e-6)


@pytest.mark.parametrize("p, phi", [(1.2, 0.2104434345428705), (1.5, 0.12086916767988846),
                                    (1.8, 0.06940235232655205)])
def test_tweedie_phi_at_ordinary_scale_is_unchanged(p, phi):
    """phi of the code before the scale-aware search (same start, same bracket at ordinary scale)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        a = nmfcore.fit(X, 2, noise={"family": "tweedie", "power": p}, max_iter=300, tol=0, random_state=0)
    assert a.noise.params["phi"] == pytest.approx(phi, rel=1e-8)


@pytest.mark.parametrize("noise, scale", [("gamma", 1e95), ({"family": "tweedie", "power": 1.5}, 1e95),
                                          ("nb", 1e-95)])
def test_extreme_scales_leak_no_numpy_warnings(noise, scale):
    """log of an interval width that rounds to 0 (discretised likelihood), 0/0 in the NB Newton step: intended
    arithmetic, silenced where it happens; the results are finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)
        res = nmfcore.fit(X * scale, 2, noise=noise, max_iter=50, random_state=0)
    assert np.isfinite(res.loglik) and np.isfinite(res.W).all()


def _list_with(value, row=1, col=2):
    rows = X.tolist()
    rows[row][col] = value
    return rows


def _longdouble(value, row=None):
    Y = X.astype(np.longdouble)
    if row is None:
        Y[1, 2] = value
    else:
        Y[row] = value
    return Y


_FLAT = {"W": np.full((10, 2), 1e-300), "H": np.full((2, 8), 1e-300)}
_HUGE = {"W": np.full((10, 2), 1e300), "H": np.full((2, 8), 1e300)}

API_CASES_4 = [
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "nb", "alpha": list(range(1, 11)), "dispersion": "shared"}),
                 r"dispersion 'shared' takes one alpha, but alpha has 10 values",
                 r"use dispersion 'sample' for one alpha per sample", id="nb-shared-with-alpha-per-sample"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": [0, 1, 1.5]}),
                 r"profiled tweedie grid takes powers 1 < p <= 2, got \[0.0, 1.0\]",
                 r"p = 1 and p = 0 are the poisson and gaussian models; fit them as such", id="tweedie-grid-with-0-and-1"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": [1, 1.5]}), r"got \[1.0\]",
                 r"fit them as such", id="tweedie-grid-with-1"),
    pytest.param(lambda: nmfcore.fit(pd.Series(X[:, 0]), 1), r"X must be 2-D", r"samples x features",
                 id="pandas-series"),
    pytest.param(lambda: nmfcore.fit(_list_with(None), 2), r"missing value \(None\) at row 1, column 2",
                 r"remove or impute", id="list-with-None"),
    pytest.param(lambda: nmfcore.fit(_list_with("a"), 2), r"must be numeric", r"convert labels/strings",
                 id="list-with-string"),
    pytest.param(lambda: nmfcore.fit(_longdouble(np.longdouble(10) ** 400), 2),
                 r"1 value\(s\) that overflow float64 .*1e\+400 at row 1, column 2", r"rescale the data",
                 id="longdouble-1e400"),
    pytest.param(lambda: nmfcore.fit(_longdouble(np.longdouble(10) ** -400, row=3), 2),
                 r"8 value\(s\) that underflow float64 .*1e-400 at row 3, column 0", r"rescale the data",
                 id="longdouble-row-of-1e-400"),
    pytest.param(lambda: nmfcore.fit(_list_with(__import__("decimal").Decimal("1e400")), 2),
                 r"overflow float64", r"rescale the data", id="Decimal-1e400"),
    pytest.param(lambda: nmfcore.fit(X, 2, pre_iter=500, n_restarts=1, max_iter=30),
                 r"pre_iter=500 must be below max_iter=30", r"lower pre_iter", id="pre-iter-above-max-iter-one-start"),
    pytest.param(lambda: nmfcore.fit(X, 2, tol=5), r"tol must be in \[0, 1\)", r"got 5", id="tol-5"),
    pytest.param(lambda: nmfcore.fit(X, 2, tol=1.0), r"tol must be in \[0, 1\)", r"e.g. 1e-6", id="tol-1"),
    pytest.param(lambda: nmfcore.fit(X, 2, tol=True), r"tol must be a non-negative number", r"got True",
                 id="tol-bool"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise="nb", nb_tol=True), r"nb_tol must be a positive number",
                 r"got True", id="nb-tol-bool"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "power": True}), r"power must be a number",
                 r"got True", id="tweedie-power-bool"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "nb", "alpha": True}), r"NB alpha must be a positive",
                 r"got True", id="nb-alpha-bool"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": "1.5"}),
                 r"tweedie powers must be a list of numbers", r"got '1.5'", id="tweedie-powers-string"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "tweedie", "powers": [1.5, True]}),
                 r"each tweedie power in powers must be a number", r"got True", id="tweedie-powers-with-bool"),
    pytest.param(lambda: nmfcore.fit(X, 2, noise={"family": "gamma", "phi": "1"}), r"phi must be a number",
                 r"got '1' \(str\)", id="gamma-phi-string"),
    pytest.param(lambda: nmfcore.fit(X, 2, init=_FLAT), r"starting mean init\['W'\] @ init\['H'\] has mean 0.*underflows",
                 r"scale the starting factors to the data", id="init-all-1e-300"),
    pytest.param(lambda: nmfcore.fit(X, 2, init=_HUGE), r"init\['W'\] @ init\['H'\] overflows",
                 r"scale the starting factors to the data", id="init-all-1e300"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="convex", init={"W": np.full((10, 2), 1e200),
                                                                      "G": np.full((2, 10), 1e200)}),
                 r"init\['W'\] @ init\['G'\] @ X overflows", r"scale the starting factors", id="convex-init-huge"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="autoencoder", lr=1e300), r"lr must be in \(0, 1\]",
                 r"got 1e\+300", id="ae-lr-1e300"),
    pytest.param(lambda: nmfcore.fit(X, 2, structure="autoencoder", lr=float("inf")), r"lr must be a positive number",
                 r"got inf", id="ae-lr-inf"),
]


@pytest.mark.parametrize("call, problem, fix", API_CASES_4)
def test_api_round4_rejects_before_any_work(call, problem, fix, tripwire):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # e.g. no "overflow in matmul" from a huge init
        with pytest.raises(ValueError, match=msg(problem, fix)):
            call()
    assert not tripwire


def test_exact_numbers_in_a_list_fit_like_a_frame_and_like_floats():
    """Decimal, Fraction and ints beyond int64 are numbers: converted to float64 from a list as from a frame."""
    from decimal import Decimal
    from fractions import Fraction

    Z = X.copy()
    Z[1, 2], Z[2, 3], Z[3, 4] = 3.5, 2.25, 2.0 ** 70
    rows = X.tolist()
    rows[1][2], rows[2][3], rows[3][4] = Decimal("3.5"), Fraction(9, 4), 2 ** 70
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = nmfcore.fit(Z, 2, max_iter=20, random_state=0)
        for same in (rows, pd.DataFrame(rows)):
            np.testing.assert_array_equal(nmfcore.fit(same, 2, max_iter=20, random_state=0).W, ref.W)


def test_pre_iter_with_one_start_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfcore.ConvergenceWarning)
        with pytest.warns(UserWarning, match=r"pre_iter=5 only applies with n_restarts > 1.*ignored"):
            res = nmfcore.fit(X, 2, pre_iter=5, n_restarts=1, max_iter=30, tol=1e-3)
    assert np.isfinite(res.loglik)


def test_default_tweedie_grid_is_a_valid_profile_grid():
    assert nmfcore.make_noise("tweedie")["powers"] == nmfcore.noise_specs.DEFAULT_TWEEDIE_POWERS
    assert nmfcore.make_noise({"family": "tweedie", "powers": [1.5, 2]})["powers"] == (1.5, 2.0)


def test_a_diverging_adam_fit_names_lr(monkeypatch):
    """Should a fit still end non-finite, the autoencoder's message names lr."""
    real = fitmod._result

    def corrupt(*args, **kwargs):
        res = real(*args, **kwargs)
        res.W[:] = np.nan
        return res

    monkeypatch.setattr(fitmod, "_result", corrupt)
    with pytest.raises(FloatingPointError, match=msg(r"non-finite", r"Adam diverged: lower lr \(now 0.5\)")):
        nmfcore.fit(X, 2, structure="autoencoder", lr=0.5, max_iter=5)


# --- command line: output folders of other tools, select's lists

def _good_file(tmp_path):
    path = tmp_path / "good.tsv"
    df = pd.DataFrame(X, index=pd.Index([f"s{i}" for i in range(10)], name="sample"),
                      columns=[f"f{j}" for j in range(8)])
    df.to_csv(path, sep="\t")
    return path


def test_cli_fit_refuses_a_folder_of_another_tool(tmp_path, tripwire, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "G.tsv").write_text("mine\n")
    (other / "summary.json").write_text('{"mine": 1}')
    assert cli_main(["fit", str(_good_file(tmp_path)), "--rank", "2", "--max-iter", "20", "--out", str(other)]) == 2
    assert re.search(msg(r"already holds G.tsv, summary.json and is not an earlier nmfcore result",
                         r"choose a new or empty output folder"), capsys.readouterr().err)
    assert not tripwire
    assert (other / "G.tsv").read_text() == "mine\n" and (other / "summary.json").read_text() == '{"mine": 1}'


def test_cli_fit_replaces_an_earlier_result(tmp_path):
    counts, out = _good_file(tmp_path), tmp_path / "res"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rank in (3, 2):
            assert cli_main(["fit", str(counts), "--rank", str(rank), "--max-iter", "20", "--out", str(out)]) == 0
    summary = nmfcore.io.read_result(out)["summary"]
    assert summary["format"] == nmfcore.io.RESULT_FORMAT and summary["row"]["rank"] == 2


@pytest.mark.parametrize("command", ["fit", "select"])
def test_cli_refuses_an_empty_output_path(tmp_path, command, tripwire, capsys):
    args = ["--rank", "2"] if command == "fit" else ["--ranks", "2"]
    assert cli_main([command, str(_good_file(tmp_path)), *args, "--out", ""]) == 2
    assert re.search(msg(r"output folder '' is empty", r"give a folder path"), capsys.readouterr().err)
    assert not tripwire and sorted(p.name for p in tmp_path.iterdir()) == ["good.tsv"]


@pytest.mark.parametrize("extra, problem", [
    (["--noise", ""], r"--noise lists no name \(got ''\)"),
    (["--noise", " , "], r"--noise lists no name \(got ' , '\)"),
    (["--structure", ""], r"--structure lists no name"),
    (["--jobs", "-3"], r"--jobs must be an integer >= 1, got -3"),
    (["--noise", "poisson,poisson"], r"--noise lists poisson more than once"),
    (["--structure", "nmf,nmf"], r"--structure lists nmf more than once"),
], ids=["noise-empty", "noise-blank-list", "structure-empty", "jobs-negative", "noise-twice", "structure-twice"])
def test_cli_select_refuses_bad_lists_before_creating_anything(tmp_path, extra, problem, tripwire, capsys):
    out = tmp_path / "so1"
    assert cli_main(["select", str(_good_file(tmp_path)), "--ranks", "2", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(problem, err) and "Traceback" not in err, err
    assert not tripwire and not out.exists()


@pytest.mark.parametrize("content", ["selection.tsv", "best"])
def test_cli_select_refuses_a_folder_that_is_not_select_output(tmp_path, content, tripwire, capsys):
    out = tmp_path / "sel"
    (out / "best").mkdir(parents=True)
    (out / "best" / "W.tsv").write_text("mine\n")
    if content == "selection.tsv":
        (out / "selection.tsv").write_text("mine\n")
    assert cli_main(["select", str(_good_file(tmp_path)), "--ranks", "2", "--out", str(out)]) == 2
    assert re.search(r"already holds .* and is not an earlier (select output|nmfcore result)",
                     capsys.readouterr().err)
    assert not tripwire and (out / "best" / "W.tsv").read_text() == "mine\n"


def test_cli_select_reruns_into_its_own_folder(tmp_path):
    counts, out = _good_file(tmp_path), tmp_path / "sel"
    args = ["select", counts, "--ranks", "2", "--noise", "poisson", "--seeds", "1", "--jobs", "1",
            "--max-iter", "2000", "--tol", "1e-4", "--out", out]
    first = _run_cli(tmp_path, *args)
    assert first.returncode == 0 and (out / "best" / "summary.json").exists(), first.stderr
    again = _run_cli(tmp_path, *args)
    assert again.returncode == 0, again.stderr


# --- reading files: labels as written, messages that name the problem

def _relabelled(tmp_path, ids, name="ids.tsv"):
    lines = _good_file(tmp_path).read_text().splitlines()
    path = tmp_path / name
    path.write_text("\n".join([lines[0]] + [i + line[line.index("\t"):] for i, line in zip(ids, lines[1:])]) + "\n")
    return path


@pytest.mark.parametrize("ids", [[f"{i:03d}" for i in range(10)], ["1.50", "1.5e0"] + [f"s{i}" for i in range(8)],
                                 ["NA", "None", "nan", "null", "TRUE"] + [f"s{i}" for i in range(5)]],
                         ids=["leading-zeros", "equal-as-numbers", "missing-value-words"])
def test_labels_are_read_as_written_and_written_back(tmp_path, ids):
    df = nmfcore.io.read_matrix(_relabelled(tmp_path, ids))
    assert list(df.index) == ids and list(df.columns) == [f"f{j}" for j in range(8)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nmfcore.fit(df, 2, max_iter=10)
    nmfcore.io.write_result(res, tmp_path / "out", samples=df.index, features=df.columns)
    assert (tmp_path / "out" / "W.tsv").read_text().split("\n")[1].split("\t")[0] == ids[0]
    assert list(nmfcore.io.read_result(tmp_path / "out")["W"].index) == ids


def test_missing_data_cells_are_still_reported_with_labels_kept(tmp_path):
    path = _relabelled(tmp_path, ["NA"] + [f"s{i}" for i in range(1, 10)])
    text = path.read_text().splitlines()
    fields = text[2].split("\t")
    fields[3] = "NA"
    text[2] = "\t".join(fields)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ValueError, match=msg(r"missing value at sample 's1', feature 'f2'", r"fill or remove it")):
        nmfcore.io.read_matrix(path)


def _variant(tmp_path, kind):
    lines = _good_file(tmp_path).read_text().splitlines()
    rows = [line.split("\t") for line in lines]
    if kind == "latin1":
        path = tmp_path / "latin1.tsv"
        path.write_bytes(lines[0].encode() + b"\n" + "\n".join(["caf\xe9" + lines[1][2:]] + lines[2:]).encode("latin-1"))
        return path
    if kind == "semicolon":
        text = "\n".join(";".join(r) for r in rows)
    elif kind == "bool_column":
        rows[0].append("flag")
        for i, r in enumerate(rows[1:]):
            r.append("TRUE" if i % 2 else "FALSE")
        text = "\n".join("\t".join(r) for r in rows)
    else:  # an integer matrix with 2**64 in one cell
        rows = [rows[0]] + [[r[0]] + [str(int(float(v))) for v in r[1:]] for r in rows[1:]]
        rows[3][2] = "18446744073709551616"
        text = "\n".join("\t".join(r) for r in rows)
    path = tmp_path / f"{kind}.tsv"
    path.write_text(text + "\n")
    return path


@pytest.mark.parametrize("kind, problem, fix", [
    ("latin1", r"latin1.tsv: not UTF-8 text", r"save it as UTF-8, e.g. iconv -f latin1 -t utf-8"),
    ("semicolon", r"semicolon.tsv: the separator looks like ';'", r"read tab-separated \(or comma-separated"),
    ("bool_column", r"bool_column.tsv: column\(s\) \['flag'\] hold TRUE/FALSE values", r"write them as 1/0"),
    ("big_integer", r"big_integer.tsv: column 'f1' holds whole numbers beyond 64-bit integers "
                    r"\(e.g. '18446744073709551616' at sample 's2'\)", r"floating-point notation"),
])
def test_file_messages_name_the_problem(tmp_path, kind, problem, fix, tripwire, capsys):
    path = _variant(tmp_path, kind)
    with pytest.raises(ValueError, match=msg(problem, fix)):
        nmfcore.io.read_matrix(path)
    assert cli_main(["fit", str(path), "--rank", "2", "--out", str(tmp_path / "o")]) == 2
    assert re.search(msg(problem, fix), capsys.readouterr().err)
    assert not tripwire and not (tmp_path / "o").exists()


# --- read_result checks the folder against its summary.json

def _result_folder(tmp_path, name="res", structure="nmf", rank=2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = nmfcore.fit(X, rank, structure=structure, max_iter=10)
    return nmfcore.io.write_result(res, tmp_path / name)


def _break_result(tmp_path, kind):
    out = _result_folder(tmp_path)
    if kind == "missing_W":
        (out / "W.tsv").unlink()
    elif kind == "W_of_rank_3":
        (out / "W.tsv").write_text((_result_folder(tmp_path, "r3", rank=3) / "W.tsv").read_text())
    elif kind == "W_with_nan":
        lines = (out / "W.tsv").read_text().splitlines()
        lines[3] = lines[3].rsplit("\t", 1)[0] + "\tnan"
        (out / "W.tsv").write_text("\n".join(lines) + "\n")
    elif kind == "truncated_W":
        text = (out / "W.tsv").read_text()
        (out / "W.tsv").write_text(text[: len(text) // 2])
    elif kind == "stray_G":
        (out / "G.tsv").write_text((_result_folder(tmp_path, "c", structure="convex") / "G.tsv").read_text())
    elif kind == "missing_summary":
        (out / "summary.json").unlink()
    elif kind == "truncated_summary":
        (out / "summary.json").write_text((out / "summary.json").read_text()[:60])
    elif kind == "foreign_summary":
        (out / "summary.json").write_text('{"mine": 1}')
    elif kind == "empty_W":
        (out / "W.tsv").write_text("")
    elif kind == "a_file":
        return out / "W.tsv"
    elif kind == "select_output":
        sel = tmp_path / "sel"
        sel.mkdir()
        (sel / "selection.tsv").write_text("noise\tstructure\trank\tseed\n")
        return sel
    return out


@pytest.mark.parametrize("kind, exc, problem", [
    ("missing_W", FileNotFoundError, r"W.tsv is missing"),
    ("W_of_rank_3", nmfcore.io.ResultError, r"W.tsv has shape \(10, 3\), but summary.json says \(10, 2\)"),
    ("W_with_nan", nmfcore.io.ResultError, r"W.tsv has missing, non-numeric or non-finite values"),
    ("truncated_W", nmfcore.io.ResultError, r"W.tsv has shape \(\d, 2\), but summary.json says \(10, 2\)"),
    ("stray_G", nmfcore.io.ResultError, r"G.tsv beside a nmf result"),
    ("missing_summary", FileNotFoundError, r"summary.json is missing"),
    ("truncated_summary", nmfcore.io.ResultError, r"summary.json cannot be read .*truncated or not JSON"),
    ("foreign_summary", nmfcore.io.ResultError, r"summary.json was not written by nmfcore"),
    ("empty_W", nmfcore.io.ResultError, r"W.tsv cannot be read \(EmptyDataError"),
    ("a_file", nmfcore.io.ResultError, r"W.tsv is a file, not a result folder"),
    ("select_output", FileNotFoundError, r"looks like select output: read .*sel/best"),
])
def test_read_result_checks_the_folder(tmp_path, kind, exc, problem):
    path = _break_result(tmp_path, kind)
    with pytest.raises(exc, match=msg(re.escape(str(path)) if kind != "a_file" else "res", problem)):
        nmfcore.io.read_result(path)
    assert issubclass(nmfcore.io.ResultError, ValueError)


# --- workflow planning (round 4)

def _text_classes_twice(c):
    c["datasets"]["words"] = {"source": "reuters_r8", "kind": "text", "classes": ["earn", "earn"], "n_docs": 60}


def _positive_catalogue_with_zeros(c):
    c["datasets"]["cat21"] = {"source": "brca21", "kind": "catalogue", "strictly_positive": True}
    c["noise_models"]["gamma"] = {"family": "gamma"}
    c["experiments"]["gamma_fits"] = {"datasets": ["cat21"], "structures": ["nmf"], "noise_models": ["gamma"],
                                      "ranks": [2]}


def _pre_iter_in_experiment(c):
    c.setdefault("fit", {}).update(n_restarts=2, max_iter=300)
    next(iter(c["experiments"].values())).setdefault("fit", {})["pre_iter"] = 400


WORKFLOW_CASES_4 = [
    pytest.param(_text_classes_twice, [r"datasets.words.classes: \['earn'\] listed more than once",
                                       r"list each class once"], id="text-classes-twice"),
    pytest.param(lambda c: c.__setitem__("fit", {"pre_iter": 500, "max_iter": 300, "n_restarts": 2}),
                 [r"pre_iter=500 must be below max_iter=300", r"set by fit.pre_iter and fit.max_iter",
                  r"lower pre_iter"], id="fit-pre-iter-above-max-iter"),
    pytest.param(_pre_iter_in_experiment, [r"pre_iter=400 must be below max_iter=\d+",
                                           r"set by experiments.\w+.fit.pre_iter"], id="experiment-pre-iter"),
    pytest.param(_positive_catalogue_with_zeros, [r"datasets.cat21.strictly_positive: true, but the data have \d+ "
                                                  r"zero entries", r"remove strictly_positive"],
                 id="strictly-positive-catalogue-with-zeros"),
    pytest.param(lambda c: c["datasets"].__setitem__("cat21", {"source": "brca21", "kind": "catalogue",
                                                               "replicate": 3}),
                 [r"datasets.cat21: \['replicate'\] only apply to kind: simulated", r"remove them"],
                 id="replicate-on-a-catalogue"),
    pytest.param(lambda c: c["datasets"].__setitem__("cat21", {"source": "brca21", "kind": "catalogue",
                                                               "sim_noise": "nb"}),
                 [r"datasets.cat21: \['sim_noise'\] only apply to kind: simulated"], id="sim-noise-on-a-catalogue"),
    pytest.param(_add_noise("tw01", {"family": "tweedie", "powers": [0, 1, 1.5]}),
                 [r"noise_models.tw01: a profiled tweedie grid takes powers 1 < p <= 2, got \[0.0, 1.0\]",
                  r"fit them as such"], id="tweedie-grid-with-0-and-1"),
    pytest.param(_add_noise("nbl", {"family": "nb", "dispersion": "shared", "alpha": [1, 2]}),
                 [r"\[1, 2\] is not of type 'number'", r"instance\['noise_models'\]\['nbl'\]\['alpha'\]"],
                 id="nb-shared-with-alpha-list"),
    pytest.param(lambda c: c.setdefault("fit", {}).__setitem__("tol", 5),
                 [r"5 is greater than or equal to the maximum of 1", r"instance\['fit'\]\['tol'\]"], id="tol-5"),
    pytest.param(lambda c: c["structures"].__setitem__("autoencoder", {"lr": 1e300}),
                 [r"is greater than the maximum of 1", r"\['autoencoder'\]\['lr'\]"], id="lr-1e300"),
]


# --- workflow planning (round 5): text classes known from the registry, checked before any file is read

def _text(**spec):
    return lambda c: c["datasets"].__setitem__("words", {"kind": "text", "n_docs": 60, **spec})


WORKFLOW_CASES_4 += [
    pytest.param(_text(source="reuters_r8", classes=["earn", "eran"]),
                 [r"datasets.words.classes: \['eran'\] are not classes of 'reuters_r8'", r"it has acq, crude, earn"],
                 id="text-class-typo"),
    pytest.param(_text(source="ap", classes=["earn"]),
                 [r"datasets.words.classes: the documents of 'ap' have no class labels", r"remove `classes`"],
                 id="text-classes-on-an-unlabelled-corpus"),
    pytest.param(lambda c: (c["structures"].__setitem__("nmf", {"accelerate": True}),
                            c.setdefault("fit", {}).__setitem__("check_every", 2)),
                 [r"experiments.rank \(structure nmf\): accelerate=True needs check_every >= 3",
                  r"set by structures.nmf.accelerate and fit.check_every"], id="accelerate-with-check-every-2"),
    pytest.param(lambda c: c.__setitem__("reference", "cosmic_v9"),
                 [r"reference: 'cosmic_v9' is not a reference signature catalogue of the registry",
                  r"known: cosmic_v3.4"], id="unknown-reference"),
    pytest.param(lambda c: c["simulations"]["nb_sample"].__setitem__("replicate_seeds", [7, 7]),
                 [r"simulations.nb_sample.replicate_seeds: \[7\] listed more than once",
                  r"give each replicate its own seed"], id="replicate-seeds-twice"),
    pytest.param(lambda c: c["simulations"]["nb_sample"]["noise"].__setitem__("alpha_range", [100, 5]),
                 [r"simulations.nb_sample.noise.alpha_range: \[100, 5\] must be \[low, high\] with low < high"],
                 id="alpha-range-reversed"),
    pytest.param(lambda c: c.setdefault("cv", {}).__setitem__("test_fraction", 0.99),
                 [r"cv.test_fraction: 0.99 leaves 0 of the 21 samples of 'brca21' to train on",
                  r"lower cv.test_fraction"], id="test-fraction-leaves-no-training-sample"),
    pytest.param(lambda c: c["datasets"]["r8_tiny"].__setitem__("max_features", 1),
                 [r"rank 2 on 'r8_tiny' is not below min\(n_samples, n_features\) = 1",
                  r"text 'r8_tiny' keeps at most max_features=1"], id="text-rank-above-max-features"),
]


@pytest.mark.workflow
@needs_workflow
@pytest.mark.parametrize("mutate, parts", WORKFLOW_CASES_4)
def test_workflow_round4_rejects_at_planning(tmp_path, mutate, parts):
    out = _rejected_at_planning(tmp_path, mutate, parts)
    assert "Traceback" not in out or "ConfigError" in out


def _yaml_with_merge(extra_key=""):
    import yaml

    text = yaml.safe_dump(_base_config(), sort_keys=False)
    merged = ("noise_models:\n  nbm: &nbs {family: nb, dispersion: shared}\n"
              f"  nbm_sample: {{<<: *nbs, dispersion: sample{extra_key}}}\n")
    return text.replace("noise_models:\n", merged, 1)


@pytest.mark.workflow
@needs_workflow
def test_workflow_accepts_yaml_merge_keys(tmp_path):
    """`<<: *anchor` merges a mapping; a key given explicitly overrides the merged one (YAML 1.1 merge)."""
    res = _dry_run(tmp_path, _yaml_with_merge(), "merge.yaml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]


@pytest.mark.workflow
@needs_workflow
def test_workflow_merge_keys_keep_rejecting_explicit_duplicates(tmp_path):
    res = _dry_run(tmp_path, _yaml_with_merge(", dispersion: shared"), "merge.yaml")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert re.search(msg(r"merge.yaml: key 'dispersion' appears twice", r"remove or rename"), out), out[-3000:]


def test_two_concurrent_cli_fits_into_one_folder_leave_one_result_and_no_lock_file(tmp_path):
    """Two fits written into one folder at the same time: the folder holds one complete, consistent result (the
    writers are serialised by a lock on the folder) and nothing else: no .nmfcore.lock, no staging folder."""
    counts, out = _good_file(tmp_path), tmp_path / "res"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "nmfcore", "fit", str(counts), "--rank", str(rank),
                               "--structure", structure, "--max-iter", "20", "--threads", "1", "--out", str(out)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank, structure in ((3, "convex"), (2, "nmf"))]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    res = nmfcore.io.read_result(out)
    names = sorted(p.name for p in out.iterdir())
    expected = ["H.tsv", "W.tsv", "summary.json", "trace.tsv"] + (["G.tsv"] if "G" in res else [])
    assert names == sorted(expected), names
    select = tmp_path / "sel"
    assert cli_main(["select", str(counts), "--ranks", "2", "--noise", "poisson", "--max-iter", "50",
                     "--out", str(select)]) in (0, 1)
    assert not [p for p in files_under(select) if p.name.startswith(".")]


@pytest.mark.workflow
@needs_workflow
def test_workflow_accelerate_in_the_fit_defaults_leaves_the_autoencoder_alone(tmp_path):
    """`fit.accelerate: true` applies to the MM structures; the autoencoder's fits drop it (Adam), so a config
    with an autoencoder experiment plans (a planning check once refused it)."""
    config = _base_config()
    config.setdefault("fit", {})["accelerate"] = True
    assert any("autoencoder" in exp["structures"] for exp in config["experiments"].values())
    res = _dry_run(tmp_path, config)
    assert res.returncode == 0, (res.stdout + res.stderr)[-2000:]
